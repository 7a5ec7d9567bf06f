using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Families.Priors;
using EmDsl.Inference;

namespace EmDsl.Models;

/// <summary>
/// A mixture of independent Bernoulli columns (latent class analysis of binary data),
/// p(x) = Σ_k π_k Π_d p_kd^{x_d} (1 − p_kd)^{1 − x_d}, declared as one <see cref="Blocks.Bernoulli"/> block.
/// </summary>
/// <param name="Components">K ≥ 1.</param>
public sealed record BernoulliMixture(int Components)
{
    /// <summary>Optional Beta prior on every probability (MAP); Beta(1.1, 1.1) keeps estimates off 0 and 1.</summary>
    public BetaPrior? Prior { get; init; }

    /// <summary>Symmetric Dirichlet concentration on the weights (default 1: maximum likelihood).</summary>
    public double WeightConcentration { get; init; } = 1.0;

    /// <summary>Fits the mixture to every column of <paramref name="data"/> (values 0 or 1).</summary>
    public FittedMixture<BernoulliParameters> Fit(DataMatrix data, FitOptions? options = null, IReadOnlyList<double>? sampleWeights = null,
        IProgress<FitProgress>? progress = null, CancellationToken cancellationToken = default) =>
        SingleBlockMixture.Fit(Components, WeightConcentration,
            Blocks.Bernoulli("bernoulli", SingleBlockMixture.AllColumns(data), Prior),
            data, options, sampleWeights, progress, cancellationToken);
}
