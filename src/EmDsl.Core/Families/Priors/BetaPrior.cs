using EmDsl.Numerics;

namespace EmDsl.Families.Priors;

/// <summary>
/// Beta(α, β) prior on a probability p: density p^(α−1)(1−p)^(β−1) / B(α, β). Its mode, and the MAP
/// estimate with S successes in R trials, is (α − 1 + S)/(α + β − 2 + R): pseudo-observations α − 1,
/// pseudo-count α + β − 2. α, β ≥ 1 keeps the mode inside [0, 1]; Beta(1, 1) is uniform (MAP = ML).
/// </summary>
public sealed record BetaPrior
{
    /// <summary>Creates Beta(α, β); both must be finite and ≥ 1 (the MAP estimate is the mode).</summary>
    public BetaPrior(double alpha, double beta)
    {
        PriorChecks.AtLeastOne(alpha, nameof(alpha), "Beta α");
        PriorChecks.AtLeastOne(beta, nameof(beta), "Beta β");
        Alpha = alpha;
        Beta = beta;
    }

    /// <summary>α: one plus the pseudo-count of successes.</summary>
    public double Alpha { get; }

    /// <summary>β: one plus the pseudo-count of failures.</summary>
    public double Beta { get; }

    /// <summary>log Beta(p | α, β); −∞ outside [0, 1] and at a boundary the density vanishes on.</summary>
    public double LogDensity(double p)
    {
        if (p < 0 || p > 1) return double.NegativeInfinity;
        double lb = SpecialFunctions.LogGamma(Alpha) + SpecialFunctions.LogGamma(Beta) - SpecialFunctions.LogGamma(Alpha + Beta);
        return PriorChecks.XLogY(Alpha - 1, p) + PriorChecks.XLogY(Beta - 1, 1 - p) - lb;
    }

    /// <inheritdoc />
    public override string ToString() => FormattableString.Invariant($"Beta({Alpha:R}, {Beta:R})");
}
