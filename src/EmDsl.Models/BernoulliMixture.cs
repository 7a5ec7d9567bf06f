using EmDsl.Building;
using EmDsl.Families;
using EmDsl.Families.Priors;

namespace EmDsl.Models;

/// <summary>
/// A mixture of independent Bernoulli columns (latent class analysis of binary data),
/// p(x) = Σ_k π_k Π_d p_kd^{x_d} (1 − p_kd)^{1 − x_d}, declared as one <see cref="Blocks.Bernoulli"/> block.
/// A Beta(1.1, 1.1) <see cref="SingleBlockMixture{TParameters, TPrior}.Prior"/> keeps estimates off 0 and 1.
/// </summary>
/// <param name="Components">K ≥ 1.</param>
public sealed record BernoulliMixture(int Components) : SingleBlockMixture<BernoulliParameters, BetaPrior>(Components)
{
    /// <inheritdoc />
    protected override Block<BernoulliParameters> DeclareBlock(int[] columns) => Blocks.Bernoulli("bernoulli", columns, Prior);
}
