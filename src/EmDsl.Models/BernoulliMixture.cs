using EmDsl.Building;
using EmDsl.Families;
using EmDsl.Families.Priors;

namespace EmDsl.Models;

/// <summary>
/// A mixture of independent Bernoulli columns (latent class analysis of binary data),
/// p(x) = Σ_k π_k Π_d p_kd^{x_d} (1 − p_kd)^{1 − x_d}, declared as one <see cref="Blocks.Bernoulli(string, IEnumerable{int}, BetaPrior, Sharing)"/> block.
/// Maximum likelihood by default (no prior: an estimate may reach 0 or 1, and is then floored by
/// <see cref="Inference.FitOptions.ProbabilityFloor"/>); set <see cref="SingleBlockMixture{TParameters, TPrior}.Prior"/> to, say,
/// <c>new BetaPrior(1.1, 1.1)</c> for MAP estimates kept off 0 and 1.
/// </summary>
/// <param name="Components">K ≥ 1.</param>
public sealed record BernoulliMixture(int Components) : SingleBlockMixture<BernoulliParameters, BetaPrior>(Components)
{
    /// <inheritdoc />
    protected override Block<BernoulliParameters> DeclareBlock(int[] columns) => Blocks.Bernoulli("bernoulli", columns, Prior);

    /// <inheritdoc />
    protected override Block<BernoulliParameters> DeclareBlock(IReadOnlyList<string> columnNames) => Blocks.Bernoulli("bernoulli", columnNames, Prior);
}
