using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Families.Priors;
using EmDsl.Inference;

namespace EmDsl.Models;

/// <summary>
/// A Gaussian mixture over every column of the data, p(x) = Σ_k π_k N(x | μ_k, Σ_k), declared with Core's
/// builder as one <see cref="Blocks.Gaussian"/> block. The scikit-learn GaussianMixture of EmDsl:
/// <c>new GaussianMixture(3) { Covariance = CovarianceType.Diagonal }.Fit(data)</c>.
/// </summary>
/// <param name="Components">K ≥ 1.</param>
public sealed record GaussianMixture(int Components)
{
    /// <summary>Covariance parametrisation (default full).</summary>
    public CovarianceType Covariance { get; init; } = CovarianceType.Full;

    /// <summary>Optional conjugate prior on each component's mean and covariance (MAP).</summary>
    public GaussianPrior? Prior { get; init; }

    /// <summary>Symmetric Dirichlet concentration on the weights (default 1: maximum likelihood).</summary>
    public double WeightConcentration { get; init; } = 1.0;

    /// <summary>Fits the mixture to every column of <paramref name="data"/>.</summary>
    public FittedMixture<GaussianParameters> Fit(DataMatrix data, FitOptions? options = null, IReadOnlyList<double>? sampleWeights = null,
        IProgress<FitProgress>? progress = null, CancellationToken cancellationToken = default) =>
        SingleBlockMixture.Fit(Components, WeightConcentration,
            Blocks.Gaussian("gaussian", SingleBlockMixture.AllColumns(data), Covariance, Prior),
            data, options, sampleWeights, progress, cancellationToken);
}
