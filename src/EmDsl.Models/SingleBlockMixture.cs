using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Inference;

namespace EmDsl.Models;

/// <summary>
/// The shape of EmDsl's ready-made one-block mixtures: K components over every column of the data (or the columns
/// named in <see cref="ColumnNames"/>), one
/// observed block declared with Core's public builder, an optional prior on that block, and a symmetric
/// Dirichlet on the weights. Derived records only say which block they declare.
/// </summary>
/// <typeparam name="TParameters">The block family's parameter record.</typeparam>
/// <typeparam name="TPrior">The block's prior type.</typeparam>
/// <param name="Components">K ≥ 1.</param>
public abstract record SingleBlockMixture<TParameters, TPrior>(int Components) where TPrior : class
{
    /// <summary>Optional conjugate prior on the block's parameters (MAP estimation); null is maximum likelihood.</summary>
    public TPrior? Prior { get; init; }

    /// <summary>Symmetric Dirichlet concentration on the weights (default 1: maximum likelihood, no prior term).</summary>
    public double WeightConcentration { get; init; } = 1.0;

    /// <summary>
    /// The names of the columns to model, found in the data's <see cref="DataMatrix.ColumnNames"/> (a CSV header, or
    /// <see cref="DataMatrix.WithColumnNames"/>) when fitting, e.g. <c>new GaussianMixture(2) { ColumnNames = ["eruptions", "waiting"] }</c>;
    /// null (the default) models every column of the data.
    /// </summary>
    public IReadOnlyList<string>? ColumnNames { get; init; }

    /// <summary>The block this mixture observes, reading <paramref name="columns"/>.</summary>
    protected abstract Block<TParameters> DeclareBlock(int[] columns);

    /// <summary>The block this mixture observes, reading the columns named <paramref name="columnNames"/>.</summary>
    protected abstract Block<TParameters> DeclareBlock(IReadOnlyList<string> columnNames);

    /// <summary>
    /// Fits the mixture to every column of <paramref name="data"/>, or to the columns named in <see cref="ColumnNames"/>;
    /// see <see cref="MixtureModel.Fit(DataMatrix, FitOptions?, IReadOnlyList{double}?, IProgress{FitProgress}?, CancellationToken)"/> for the arguments.
    /// </summary>
    /// <exception cref="ArgumentException"><see cref="ColumnNames"/> is set and the data has no column names or lacks one (the message lists the data's names).</exception>
    public FittedMixture<TParameters> Fit(DataMatrix data, FitOptions? options = null, IReadOnlyList<double>? sampleWeights = null,
        IProgress<FitProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        var block = ColumnNames is null ? DeclareBlock(Blocks.ColumnRange(0, data.Columns)) : DeclareBlock(ColumnNames);
        var builder = Mixture.WithComponents(Components).Observe(block);
        // Concentration 1 is maximum likelihood: declare no prior, so the objective is the log-likelihood itself.
        var model = (WeightConcentration == 1 ? builder : builder.WithWeightPrior(WeightConcentration)).Build();
        return new FittedMixture<TParameters>(model.Fit(data, options, sampleWeights, progress, cancellationToken), block);
    }
}
