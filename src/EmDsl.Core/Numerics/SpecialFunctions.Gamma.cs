namespace EmDsl.Numerics;

// log Γ, ψ, ψ₁ and log x − ψ(x): EmDsl's own implementations. Coefficient tables (Taylor expansions from exact
// derivatives, Bernoulli numbers) are in SpecialFunctions.Coefficients.g.cs, written by
// tools/make_special_function_coefficients.py. Accuracy is checked against mpmath (50 digits) at ~1000 arguments by
// tests/EmDsl.Core.Tests/Numerics/SpecialFunctionsAccuracyTests.cs.
public static partial class SpecialFunctions
{
    /// <summary>From here on log Γ and ψ use their asymptotic series (below, the recurrence down to [1.75, 2.75)).</summary>
    private const double AsymptoticFrom = 8;

    /// <summary>From here on ψ₁ and log x − ψ(x) use their asymptotic series (below, the recurrence up to it).</summary>
    private const double TrigammaAsymptoticFrom = 10;

    /// <summary>½ log(2π) − ½.</summary>
    private const double HalfLogTwoPiMinusHalf = 0.9189385332046727 - 0.5;

    /// <summary>
    /// log Γ(x), the log of the gamma function, within 2 ulps relative of the exact value for every x &gt; 0 measured
    /// (x from 1e-300 to 1e300 and densely near 1 and 2, where log Γ vanishes: the expansions there carry the factor
    /// (x − 1) or (x − 2) exactly, so the error stays relative to the value however small it is). +∞ at x = 0 and
    /// x = +∞; beyond x ≈ 2.55e305 the value overflows to +∞.
    /// <para>
    /// Method: Taylor expansions (exact coefficients from mpmath) around 1, 1.5, 2 and 2.5 for 0.75 ≤ x &lt; 2.75,
    /// log Γ(x) = log Γ(x + 1) − log x below (for tiny x that is −log x − γx + …), the recurrence
    /// log Γ(x) = log Γ(x − n) + log((x − 1)⋯(x − n)) from 2.75 to 8, and Stirling's series
    /// (x − ½)(log x − 1) + ½ log 2π − ½ + Σ B₂ₖ/(2k(2k − 1)x^(2k−1)) from 8 on.
    /// </para>
    /// <para>
    /// Negative x: log |Γ(x)| by the reflection formula log π − log |sin πx| − log Γ(1 − x) (as C's lgamma), +∞ at
    /// the poles 0, −1, −2, …; there the error is absolute (~1e-16 of the terms' size), not relative near the
    /// zeros of log |Γ| between the poles. NaN gives NaN.
    /// </para>
    /// </summary>
    public static double LogGamma(double x)
    {
        if (x >= 0.75)
        {
            if (x < 2.75) return LogGammaNear1To2(x);
            if (x < AsymptoticFrom)
            {
                // x − n ∈ [1.75, 2.75) is exact (a multiple of x's ulp, smaller than x); so is each factor x − k.
                double product = 1;
                while (x >= 2.75)
                {
                    x -= 1;
                    product *= x;
                }
                return LogGammaNear1To2(x) + Math.Log(product);
            }
            if (double.IsPositiveInfinity(x)) return x;
            double r = 1 / x;
            return (x - 0.5) * (Math.Log(x) - 1) + (r * Polynomial(AsymptoticTerms(StirlingSeries, x), r * r) + HalfLogTwoPiMinusHalf);
        }
        if (x > 0)
        {
            // log Γ(x) = log Γ(1 + x) − log x, with Γ(1 + x) expanded around 1 (exactly in x) or 1.5 (x − 0.5 exact).
            double logGammaOnePlusX = x < 0.25 ? x * Polynomial(LogGammaAt1, x) : Polynomial(LogGammaAt1Half, x - 0.5);
            return logGammaOnePlusX - Math.Log(x);
        }
        if (x == 0) return double.PositiveInfinity;
        if (double.IsNaN(x)) return x;
        if (double.IsNegativeInfinity(x)) return double.PositiveInfinity;
        // log|Γ(x)| = log π − log|sin πx| − log Γ(1 − x); sin πx from the exact reduction x − round(x).
        double reduced = x - Math.Round(x);
        if (reduced == 0) return double.PositiveInfinity;
        return 1.1447298858494002 - Math.Log(Math.Abs(Math.Sin(Math.PI * reduced))) - LogGamma(1 - x);
    }

    /// <summary>log Γ(x) for 0.75 ≤ x &lt; 2.75 by the Taylor expansion around the nearest of 1, 1.5, 2, 2.5 (|z| ≤ ¼).</summary>
    private static double LogGammaNear1To2(double x)
    {
        // Each z = x − c is exact (Sterbenz: x and c are within a factor of two).
        if (x < 1.25)
        {
            double z = x - 1;
            return z * Polynomial(LogGammaAt1, z);
        }
        if (x < 1.75) return Polynomial(LogGammaAt1Half, x - 1.5);
        if (x < 2.25)
        {
            double z = x - 2;
            return z * Polynomial(LogGammaAt2, z);
        }
        return Polynomial(LogGammaAt2Half, x - 2.5);
    }

    /// <summary>
    /// ψ(x) = d/dx log Γ(x), the digamma function, within 1 ulp relative for every x &gt; 0 measured (1e-300 to
    /// 1e300, and densely around its positive root x₀ = 1.4616321449683623…, where the expansion carries the factor
    /// x − x₀, formed from x₀'s two-double representation, so the error stays relative to the value at the root).
    /// <para>
    /// Method: Taylor expansions (exact coefficients from mpmath) around 1, x₀, 2 and 2.5 for 0.75 ≤ x &lt; 2.75,
    /// ψ(x) = ψ(1 + x) − 1/x below, the recurrence ψ(x) = ψ(x − n) + Σ 1/(x − k) (all terms positive) from 2.75 to 8,
    /// and the asymptotic series log x − 1/(2x) − Σ B₂ₖ/(2k x^(2k)) from 8 on. +∞ at +∞.
    /// </para>
    /// <para>
    /// Negative non-integers: the reflection formula ψ(x) = ψ(1 − x) − π/tan(πx), accurate to ~1e-16 of the terms'
    /// size (absolute, not relative near ψ's negative roots). NaN at the poles 0, −1, −2, … (ψ goes to −∞ on one side
    /// and +∞ on the other) and at −∞; NaN gives NaN.
    /// </para>
    /// </summary>
    public static double Digamma(double x)
    {
        if (x >= 0.75)
        {
            if (x < 2.75) return DigammaNear1To2(x);
            if (x < AsymptoticFrom)
            {
                double sum = 0;
                while (x >= 2.75)
                {
                    x -= 1;
                    sum += 1 / x;
                }
                return DigammaNear1To2(x) + sum;
            }
            if (double.IsPositiveInfinity(x)) return x;
            double r = 1 / x, r2 = r * r;
            return Math.Log(x) - (0.5 * r + r2 * Polynomial(AsymptoticTerms(DigammaSeries, x), r2));
        }
        if (x > 0)
        {
            // ψ(x) = ψ(1 + x) − 1/x, with ψ(1 + x) expanded around 1 (exactly in x) or x₀ (1 + x − x₀ formed as
            // (x − (x₀ − 1)) − x₀'s low part, with x₀ − 1 an exact double).
            double digammaOnePlusX;
            if (x < 0.25) digammaOnePlusX = Polynomial(DigammaAt1, x);
            else
            {
                double z = (x - (DigammaRootHigh - 1)) - DigammaRootLow;
                digammaOnePlusX = z * Polynomial(DigammaAtRoot, z);
            }
            return digammaOnePlusX - 1 / x;
        }
        if (double.IsNaN(x) || double.IsNegativeInfinity(x)) return double.NaN;
        double reduced = x - Math.Round(x);
        if (reduced == 0) return double.NaN;
        return Digamma(1 - x) - Math.PI / Math.Tan(Math.PI * reduced);
    }

    /// <summary>ψ(x) for 0.75 ≤ x &lt; 2.75 by the Taylor expansion around 1 (x &lt; 1.16), x₀ (to 1.75), 2 or 2.5.</summary>
    private static double DigammaNear1To2(double x)
    {
        if (x < 1.16) return Polynomial(DigammaAt1, x - 1);
        if (x < 1.75)
        {
            // x − x₀ to full relative accuracy: x − x₀'s high part is exact (Sterbenz), then its low part.
            double z = (x - DigammaRootHigh) - DigammaRootLow;
            return z * Polynomial(DigammaAtRoot, z);
        }
        if (x < 2.25) return Polynomial(DigammaAt2, x - 2);
        return Polynomial(DigammaAt2Half, x - 2.5);
    }

    /// <summary>
    /// ψ₁(x) = d²/dx² log Γ(x), the trigamma function, for x &gt; 0, within 2 ulps relative for every x measured
    /// (1e-154 to 1e300; it overflows to +∞ below x ≈ 7.5e-155). The recurrence ψ₁(x) = ψ₁(x + 1) + 1/x² up to
    /// x ≥ 10, then the asymptotic series 1/x + 1/(2x²) + Σ_{k=1..12} B₂ₖ/x^(2k+1); the recurrence's terms (all
    /// positive) are added smallest first, and 1/x² is formed as (1/x)² so it does not underflow first. NaN for
    /// x ≤ 0 and NaN; 0 at +∞.
    /// </summary>
    public static double Trigamma(double x)
    {
        if (!(x > 0)) return double.NaN;
        if (double.IsPositiveInfinity(x)) return 0;
        int n = x < TrigammaAsymptoticFrom ? (int)Math.Ceiling(TrigammaAsymptoticFrom - x) : 0;
        double y = x + n;
        double r = 1 / y, r2 = r * r;
        double value = r + r2 * (0.5 + r * Polynomial(TrigammaSeries, r2));
        for (int k = n - 1; k >= 0; k--)
        {
            double t = 1 / (x + k);
            value += t * t;
        }
        return value;
    }

    /// <summary>
    /// The leading terms of an asymptotic series in 1/x² that matter at x ≥ 8: all of them below 50, 5 from 50 on,
    /// 3 from 1000 on (the first term dropped is then below 1e-19 of log Γ's or ψ's value).
    /// </summary>
    private static ReadOnlySpan<double> AsymptoticTerms(double[] series, double x) =>
        x < 50 ? series : series.AsSpan(0, x < 1000 ? 5 : 3);

    /// <summary>Σ c[k] z^k by Horner's rule.</summary>
    private static double Polynomial(ReadOnlySpan<double> c, double z)
    {
        double s = c[^1];
        for (int k = c.Length - 2; k >= 0; k--) s = s * z + c[k];
        return s;
    }
}
