using EmDsl.Building;
using EmDsl.Families;
using EmDsl.Families.Priors;

namespace EmDsl.Models;

/// <summary>
/// A mixture of independent Poisson count columns, p(x) = Σ_k π_k Π_d Poisson(x_d | λ_kd), declared as one
/// <see cref="Blocks.Poisson(string, IEnumerable{int}, GammaPrior, Sharing)"/> block, with an optional Gamma prior on every rate.
/// </summary>
/// <param name="Components">K ≥ 1.</param>
public sealed record PoissonMixture(int Components) : SingleBlockMixture<PoissonParameters, GammaPrior>(Components)
{
    /// <inheritdoc />
    protected override Block<PoissonParameters> DeclareBlock(int[] columns) => Blocks.Poisson("poisson", columns, Prior);

    /// <inheritdoc />
    protected override Block<PoissonParameters> DeclareBlock(IReadOnlyList<string> columnNames) => Blocks.Poisson("poisson", columnNames, Prior);
}
