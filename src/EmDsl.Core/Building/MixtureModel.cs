using EmDsl.Data;
using EmDsl.Families.Priors;
using EmDsl.Inference;

namespace EmDsl.Building;

/// <summary>
/// An immutable mixture declaration: K components, each observation's density the product over blocks,
/// <code>p(x) = Σ_k π_k Π_b p_b(x_b | θ_bk)</code>
/// with an optional Dirichlet prior on π and conjugate priors on the blocks. Regression blocks model a response
/// given covariates, and a <see cref="Building.Gating"/> network makes π_k depend on covariates (a mixture of experts). <see cref="Fit"/> runs EM
/// (or MAP-EM when priors are present) and monitors log p(X | θ) + log p(θ).
/// </summary>
public sealed class MixtureModel : ILatentModel
{
    internal MixtureModel(int components, IReadOnlyList<Block> blocks, DirichletPrior? weightPrior, Gating? gating)
    {
        Components = components;
        Blocks = blocks;
        WeightPrior = weightPrior;
        Gating = gating;
    }

    /// <summary>K.</summary>
    public int Components { get; }

    int ILatentModel.States => Components;

    /// <summary>The observed blocks, in declaration order.</summary>
    public IReadOnlyList<Block> Blocks { get; }

    /// <summary>The Dirichlet prior on the weights, or null (maximum likelihood).</summary>
    public DirichletPrior? WeightPrior { get; }

    /// <summary>The gating network of a mixture of experts (weights that depend on covariates), or null (constant weights).</summary>
    public Gating? Gating { get; }

    /// <summary>Whether the model conditions on covariates (regression blocks or a gating network).</summary>
    public bool HasCovariates => Gating is not null || Blocks.Any(b => b.CovariateCount > 0);

    /// <summary>
    /// Whether some block (or the gating) reads its columns by name. Such a model is resolved against the data's
    /// <see cref="DataMatrix.ColumnNames"/> whenever it is fitted; the fit's <see cref="MixtureFit.Model"/> is the
    /// resolved model, with both the names and the indices.
    /// </summary>
    public bool NamesColumns => Blocks.Any(b => b.ColumnNames is not null) || Gating?.CovariateNames is not null;

    /// <summary>The column names of the data a resolved model was resolved against (null for a model declared by index).</summary>
    internal IReadOnlyList<string>? DataColumnNames { get; private init; }

    IReadOnlyList<string>? ILatentModel.DataColumnNames => DataColumnNames;

    /// <summary>
    /// The model bound to <paramref name="data"/>: blocks and gating declared by name replaced by copies reading the
    /// data's columns of those names (the model itself when nothing is named).
    /// </summary>
    /// <exception cref="ArgumentException">A name is not in the data, the data has no names, or two blocks end up reading one column.</exception>
    internal MixtureModel Resolve(DataMatrix data)
    {
        if (!NamesColumns) return this;
        var blocks = Blocks.Select(b => b.Resolve(data)).ToArray();
        try
        {
            BlockChecks.Validate(blocks, "mixture");
        }
        catch (InvalidOperationException e)
        {
            throw new ArgumentException(e.Message, nameof(data), e);
        }
        return new MixtureModel(Components, blocks, WeightPrior, Gating?.Resolve(data)) { DataColumnNames = data.ColumnNames };
    }

    /// <summary>Number of data columns the model needs: one more than the largest column index read (responses and covariates).</summary>
    /// <exception cref="InvalidOperationException">The model reads columns by name and has not been resolved (a fit's <see cref="MixtureFit.Model"/> has).</exception>
    public int RequiredColumns =>
        Blocks.SelectMany(b => b.Columns.Concat(b.Covariates)).Concat(Gating?.Covariates ?? []).Max() + 1;

    /// <summary>Free parameters: K − 1 weights (or the gating's coefficients) plus every block's parameters (used by BIC and AIC).</summary>
    public int FreeParameterCount =>
        (Gating?.FreeParameterCount(Components) ?? Components - 1) + Blocks.Sum(b => b.FreeParameterCount(Components));

    /// <summary>
    /// Fits the model to <paramref name="data"/> by EM.
    /// </summary>
    /// <param name="data">Observations, one per row; the model reads the columns its blocks name.</param>
    /// <param name="options">Run settings; null uses <see cref="FitOptions.Default"/>.</param>
    /// <param name="sampleWeights">Optional non-negative weight per row (a weight of 2 counts a row twice).</param>
    /// <param name="progress">
    /// Receives one report per iteration, on the fitting thread. (<see cref="Progress{T}"/> re-posts reports to a
    /// synchronisation context or the thread pool, so they may arrive after Fit returns; implement
    /// <see cref="IProgress{T}"/> directly to handle them synchronously.)
    /// </param>
    /// <param name="cancellationToken">Stops the fit between chunks (throws <see cref="OperationCanceledException"/>).</param>
    /// <exception cref="ArgumentException">The data or weights do not fit the model (the message names the row, column or block).</exception>
    public MixtureFit Fit(DataMatrix data, FitOptions? options = null, IReadOnlyList<double>? sampleWeights = null,
        IProgress<FitProgress>? progress = null, CancellationToken cancellationToken = default) =>
        EmEngine.FitMixture(this, data, options ?? FitOptions.Default, sampleWeights, progress, cancellationToken);

    /// <inheritdoc />
    public override string ToString() =>
        $"Mixture of {Components} component{(Components == 1 ? "" : "s")}" + (WeightPrior is null ? "" : $", weights ~ {WeightPrior}") +
        (Gating is null ? "" : $", {Gating}") +
        string.Concat(Blocks.Select(b => Environment.NewLine + "  " + b));
}
