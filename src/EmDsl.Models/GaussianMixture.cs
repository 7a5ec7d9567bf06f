using EmDsl.Building;
using EmDsl.Families;
using EmDsl.Families.Priors;

namespace EmDsl.Models;

/// <summary>
/// A Gaussian mixture over every column of the data, p(x) = Σ_k π_k N(x | μ_k, Σ_k), declared with Core's
/// builder as one <see cref="Blocks.Gaussian(string, IEnumerable{int}, CovarianceType, GaussianPrior, Sharing)"/> block. The scikit-learn GaussianMixture of EmDsl:
/// <c>new GaussianMixture(3) { Covariance = CovarianceType.Diagonal }.Fit(data)</c>.
/// </summary>
/// <param name="Components">K ≥ 1.</param>
public sealed record GaussianMixture(int Components) : SingleBlockMixture<GaussianParameters, GaussianPrior>(Components)
{
    /// <summary>Covariance parametrisation (default full).</summary>
    public CovarianceType Covariance { get; init; } = CovarianceType.Full;

    /// <inheritdoc />
    protected override Block<GaussianParameters> DeclareBlock(int[] columns) => Blocks.Gaussian("gaussian", columns, Covariance, Prior);

    /// <inheritdoc />
    protected override Block<GaussianParameters> DeclareBlock(IReadOnlyList<string> columnNames) => Blocks.Gaussian("gaussian", columnNames, Covariance, Prior);
}
