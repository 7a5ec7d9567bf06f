using EmDsl.Numerics;

namespace EmDsl.Families.Priors;

/// <summary>
/// Gamma(shape a, rate b) prior on a positive rate λ: density bᵃ λ^(a−1) e^(−bλ) / Γ(a). Conjugate to the
/// Poisson rate (MAP λ = (a − 1 + Σx)/(b + n)) and to the Exponential rate (MAP λ = (a − 1 + n)/(b + Σx)).
/// a ≥ 1 keeps the mode at a finite non-negative rate; b = 0 is allowed and makes the prior improper
/// (then only its kernel enters the objective).
/// </summary>
public sealed record GammaPrior
{
    /// <summary>Creates Gamma(shape, rate) with shape ≥ 1 and rate ≥ 0.</summary>
    public GammaPrior(double shape, double rate)
    {
        PriorChecks.AtLeastOne(shape, nameof(shape), "Gamma shape");
        if (!(rate >= 0) || double.IsInfinity(rate))
            throw new ArgumentOutOfRangeException(nameof(rate), rate, "The Gamma rate must be finite and ≥ 0.");
        Shape = shape;
        Rate = rate;
    }

    /// <summary>a: the shape.</summary>
    public double Shape { get; }

    /// <summary>b: the rate (inverse scale).</summary>
    public double Rate { get; }

    /// <summary>Whether the density is normalisable (rate &gt; 0).</summary>
    public bool IsProper => Rate > 0;

    /// <summary>log Gamma(λ | a, b), or the log kernel (a−1) log λ − bλ when the prior is improper.</summary>
    public double LogDensity(double lambda)
    {
        if (lambda < 0) return double.NegativeInfinity;
        double kernel = PriorChecks.XLogY(Shape - 1, lambda) - Rate * lambda;
        return IsProper ? kernel + Shape * Math.Log(Rate) - SpecialFunctions.LogGamma(Shape) : kernel;
    }

    /// <inheritdoc />
    public override string ToString() => FormattableString.Invariant($"Gamma(shape {Shape:R}, rate {Rate:R})");
}
