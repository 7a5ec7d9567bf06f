using System.Runtime.CompilerServices;
using EmDsl.Numerics;
using System.Collections.Immutable;
using EmDsl.Families.Priors;

namespace EmDsl.Building;

/// <summary>Entry point of the fluent builder: <c>Mixture.WithComponents(2).Observe(block).Build()</c>.</summary>
public static class Mixture
{
    /// <summary>Starts declaring a mixture of <paramref name="components"/> ≥ 1 components.</summary>
    public static MixtureBuilder WithComponents(int components)
    {
        if (components < 1)
            throw new ArgumentOutOfRangeException(nameof(components), components, "A mixture needs at least one component (K ≥ 1).");
        return new MixtureBuilder(components, ImmutableList<Block>.Empty, null, null);
    }
}

/// <summary>
/// Immutable fluent builder of a K-component mixture over observed blocks: every call returns a new
/// builder, so partial declarations can be shared and extended safely.
/// </summary>
public sealed class MixtureBuilder
{
    private readonly ImmutableList<Block> _blocks;
    private readonly DirichletPrior? _weightPrior;
    private readonly Gating? _gating;

    internal MixtureBuilder(int components, ImmutableList<Block> blocks, DirichletPrior? weightPrior, Gating? gating)
    {
        Components = components;
        _blocks = blocks;
        _weightPrior = weightPrior;
        _gating = gating;
    }

    /// <summary>K.</summary>
    public int Components { get; }

    /// <summary>Adds observed blocks (declared with <see cref="Blocks"/>), in order.</summary>
    public MixtureBuilder Observe(params Block[] blocks)
    {
        ArgumentNullException.ThrowIfNull(blocks);
        for (int i = 0; i < blocks.Length; i++)
            if (blocks[i] is null) throw new ArgumentNullException(nameof(blocks), $"Block {i} of the {blocks.Length} given is null.");
        return new MixtureBuilder(Components, _blocks.AddRange(blocks), _weightPrior, _gating);
    }

    /// <summary>A Dirichlet prior on the mixing weights (one concentration per component, each ≥ 1).</summary>
    public MixtureBuilder WithWeightPrior(DirichletPrior prior)
    {
        ArgumentNullException.ThrowIfNull(prior);
        if (prior.Categories != Components)
            throw new ArgumentException($"The weight prior has {prior.Categories} concentrations; the mixture has {Components} components.", nameof(prior));
        return new MixtureBuilder(Components, _blocks, prior, _gating);
    }

    /// <summary>A symmetric Dirichlet(α, …, α) prior on the mixing weights; α = 1 is maximum likelihood, 1.1 a weak default.</summary>
    public MixtureBuilder WithWeightPrior(double concentration) =>
        Components == 1 ? this : WithWeightPrior(DirichletPrior.Symmetric(Components, concentration));

    /// <summary>
    /// Makes this a mixture of experts: the mixing weights become a softmax of the covariate columns (see
    /// <see cref="Gating"/>) instead of constants. A gated mixture has no weight prior; regularise the gating
    /// with <paramref name="prior"/> instead.
    /// </summary>
    /// <param name="covariates">Covariate columns of the gating network (an intercept is always included).</param>
    /// <param name="prior">Optional ridge prior on the gating slopes.</param>
    [OverloadResolutionPriority(1)] // `[]` binds here, not to the overload taking names
    public MixtureBuilder GatedBy(IEnumerable<int> covariates, CoefficientPrior? prior = null)
    {
        ArgumentNullException.ThrowIfNull(covariates);
        var cols = covariates.ToArray();
        for (int i = 0; i < cols.Length; i++)
        {
            if (cols[i] < 0) throw new ArgumentOutOfRangeException(nameof(covariates), cols[i], $"Gating covariate column index {cols[i]} is negative.");
            if (Array.IndexOf(cols, cols[i]) != i) throw new ArgumentException($"The gating lists covariate column {cols[i]} twice.", nameof(covariates));
        }
        long p = cols.Length + 1L;
        ArraySize.Argument(p, p, "covariates", () => $"A gating network on {cols.Length:N0} covariates: its P × P curvature");
        ArraySize.Argument(p, Components, "covariates", () => $"A gating network on {cols.Length:N0} covariates for {Components:N0} components: its P × K coefficients");
        return new MixtureBuilder(Components, _blocks, _weightPrior, new Gating(cols, prior));
    }

    /// <summary>
    /// Makes this a mixture of experts whose gating network reads the covariate columns named
    /// <paramref name="covariates"/> (found in the data's <see cref="Data.DataMatrix.ColumnNames"/> when the model is
    /// fitted); otherwise as <see cref="GatedBy(IEnumerable{int}, CoefficientPrior)"/>.
    /// </summary>
    /// <param name="covariates">Names of the gating network's covariate columns (an intercept is always included).</param>
    /// <param name="prior">Optional ridge prior on the gating slopes.</param>
    public MixtureBuilder GatedBy(IEnumerable<string> covariates, CoefficientPrior? prior = null)
    {
        var names = ColumnNaming.Checked("The gating", "covariate column", covariates, nameof(covariates));
        GatedBy(ColumnNaming.Placeholders(names.Length), prior); // the size checks, on placeholder indices
        return new MixtureBuilder(Components, _blocks, _weightPrior, new Gating(ColumnNaming.Placeholders(names.Length), prior, names, unresolved: true));
    }

    /// <summary>Checks the declaration and produces the immutable model.</summary>
    /// <exception cref="InvalidOperationException">No blocks, duplicate block names, two blocks modelling one column, or a gating with a weight prior.</exception>
    public MixtureModel Build()
    {
        BlockChecks.Validate(_blocks, "mixture");
        if (_gating is not null && _weightPrior is not null)
            throw new InvalidOperationException("A gated mixture (GatedBy) has no constant weights to put a Dirichlet prior on; give the gating a CoefficientPrior instead.");
        if (_gating is not null && Components == 1)
            throw new InvalidOperationException("A gating network needs at least two components.");
        return new MixtureModel(Components, _blocks, _weightPrior, _gating);
    }
}
