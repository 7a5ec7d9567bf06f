using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Families.Priors;
using EmDsl.Inference;

namespace EmDsl.Models;

/// <summary>
/// A mixture of independent Poisson count columns, p(x) = Σ_k π_k Π_d Poisson(x_d | λ_kd), declared as one
/// <see cref="Blocks.Poisson"/> block.
/// </summary>
/// <param name="Components">K ≥ 1.</param>
public sealed record PoissonMixture(int Components)
{
    /// <summary>Optional Gamma prior on every rate (MAP).</summary>
    public GammaPrior? Prior { get; init; }

    /// <summary>Symmetric Dirichlet concentration on the weights (default 1: maximum likelihood).</summary>
    public double WeightConcentration { get; init; } = 1.0;

    /// <summary>Fits the mixture to every column of <paramref name="data"/> (non-negative integer counts).</summary>
    public FittedMixture<PoissonParameters> Fit(DataMatrix data, FitOptions? options = null, IReadOnlyList<double>? sampleWeights = null,
        IProgress<FitProgress>? progress = null, CancellationToken cancellationToken = default) =>
        SingleBlockMixture.Fit(Components, WeightConcentration,
            Blocks.Poisson("poisson", SingleBlockMixture.AllColumns(data), Prior),
            data, options, sampleWeights, progress, cancellationToken);
}
