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
        return new MixtureBuilder(components, ImmutableList<Block>.Empty, null);
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

    internal MixtureBuilder(int components, ImmutableList<Block> blocks, DirichletPrior? weightPrior)
    {
        Components = components;
        _blocks = blocks;
        _weightPrior = weightPrior;
    }

    /// <summary>K.</summary>
    public int Components { get; }

    /// <summary>Adds observed blocks (declared with <see cref="Blocks"/>), in order.</summary>
    public MixtureBuilder Observe(params Block[] blocks)
    {
        ArgumentNullException.ThrowIfNull(blocks);
        for (int i = 0; i < blocks.Length; i++)
            if (blocks[i] is null) throw new ArgumentNullException(nameof(blocks), $"Block {i} of the {blocks.Length} given is null.");
        return new MixtureBuilder(Components, _blocks.AddRange(blocks), _weightPrior);
    }

    /// <summary>A Dirichlet prior on the mixing weights (one concentration per component, each ≥ 1).</summary>
    public MixtureBuilder WithWeightPrior(DirichletPrior prior)
    {
        ArgumentNullException.ThrowIfNull(prior);
        if (prior.Categories != Components)
            throw new ArgumentException($"The weight prior has {prior.Categories} concentrations; the mixture has {Components} components.", nameof(prior));
        return new MixtureBuilder(Components, _blocks, prior);
    }

    /// <summary>A symmetric Dirichlet(α, …, α) prior on the mixing weights; α = 1 is maximum likelihood, 1.1 a weak default.</summary>
    public MixtureBuilder WithWeightPrior(double concentration) =>
        Components == 1 ? this : WithWeightPrior(DirichletPrior.Symmetric(Components, concentration));

    /// <summary>Checks the declaration and produces the immutable model.</summary>
    /// <exception cref="InvalidOperationException">No blocks, duplicate block names, or two blocks reading one column.</exception>
    public MixtureModel Build()
    {
        if (_blocks.Count == 0) throw new InvalidOperationException("The mixture observes no blocks; add one with Observe(...).");
        var owner = new Dictionary<int, string>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var b in _blocks)
        {
            if (!names.Add(b.Name)) throw new InvalidOperationException($"Two blocks are named '{b.Name}'; block names must be unique.");
            foreach (var c in b.Columns)
            {
                if (owner.TryGetValue(c, out var other))
                    throw new InvalidOperationException($"Column {c} is read by both block '{other}' and block '{b.Name}'; each column belongs to one block.");
                owner[c] = b.Name;
            }
        }
        return new MixtureModel(Components, _blocks, _weightPrior);
    }
}
