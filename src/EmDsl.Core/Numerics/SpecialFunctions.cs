namespace EmDsl.Numerics;

/// <summary>
/// Special functions used by families and priors: log Γ, ψ, ψ₁ and log x − ψ(x) (our own, within a few ulps; see
/// SpecialFunctions.Gamma.cs), ψ⁻¹, exponentially scaled Bessel I₀ and I₁, log1p, expm1 and friends.
/// </summary>
public static partial class SpecialFunctions
{
    /// <summary>
    /// ψ⁻¹(y): the x &gt; 0 with ψ(x) = y. Iterates: Newton's method from Minka's starting point
    /// (e^y + ½ for y ≥ −2.22, else −1/(y − ψ(1))), stopping at relative change 1e-15 (about five steps).
    /// </summary>
    public static double InverseDigamma(double y)
    {
        if (!double.IsFinite(y)) return y == double.PositiveInfinity ? double.PositiveInfinity : double.NaN;
        double x = y >= -2.22 ? Math.Exp(y) + 0.5 : -1 / (y + 0.5772156649015329);
        for (int i = 0; i < 50; i++)
        {
            double step = (Digamma(x) - y) / Trigamma(x);
            double next = x - step;
            if (next <= 0) next = x / 2;
            if (Math.Abs(next - x) <= 1e-15 * x) { x = next; break; }
            x = next;
        }
        return x;
    }

    /// <summary>
    /// log x − ψ(x) for x &gt; 0, within 3 ulps relative of the exact value for every x measured, also for huge x,
    /// where subtracting ψ(x) from log x would cancel (log x − ψ(x) ≈ 1/(2x)). It decreases from +∞ (x → 0, where
    /// it behaves like 1/x) to 0 (x → ∞). This is the equation of the Gamma distribution's maximum-likelihood shape:
    /// log α − ψ(α) = log(mean x) − mean(log x).
    /// <para>
    /// Method: below 1, log x − <see cref="Digamma"/>(x) (no cancellation there: ψ(x) &lt; −0.57 and log x &lt; 0);
    /// from 10 on, the asymptotic series 1/(2x) + Σ_{k=1..12} B₂ₖ/(2k x^(2k)); in between, the recurrence
    /// g(x) = g(x + n) + Σ_{k&lt;n} h(1/(x + k)) with h(t) = t − log(1 + t) ≥ 0, every term positive, and h
    /// evaluated without cancellation as t·u − 2u³(1/3 + u²/5 + u⁴/7 + …) with u = t/(2 + t) (from
    /// log(1 + t) = 2 atanh u).
    /// </para>
    /// </summary>
    public static double LogMinusDigamma(double x) => LogMinusDigammaWithDerivative(x, out _);

    /// <summary>1/(2j + 3), j = 0..17: the series 2 atanh(u) − 2u = 2u³ Σ u^(2j)/(2j + 3) for u ≤ ⅓.</summary>
    private static readonly double[] AtanhTail = Enumerable.Range(0, 18).Select(j => 1.0 / (2 * j + 3)).ToArray();

    /// <summary>
    /// log x − ψ(x) and its derivative 1/x − ψ₁(x) (negative), both free of cancellation for large x (the derivative
    /// by the same recurrence: g'(x) = g'(x + n) − Σ_{k&lt;n} 1/(w²(w + 1)) with w = x + k, terms of one sign).
    /// </summary>
    internal static double LogMinusDigammaWithDerivative(double x, out double derivative)
    {
        if (double.IsNaN(x) || x <= 0) { derivative = double.NaN; return double.NaN; }
        if (double.IsPositiveInfinity(x)) { derivative = 0; return 0; }
        if (x < 1)
        {
            derivative = 1 / x - Trigamma(x);
            return Math.Log(x) - Digamma(x);
        }
        int n = x < TrigammaAsymptoticFrom ? (int)Math.Ceiling(TrigammaAsymptoticFrom - x) : 0;
        double y = x + n;
        double r = 1 / y, r2 = r * r;
        double g = 0.5 * r + r2 * Polynomial(DigammaSeries, r2);
        double dg = -r2 * (0.5 + r * Polynomial(TrigammaSeries, r2));
        // Smallest terms first.
        for (int k = n - 1; k >= 0; k--)
        {
            double w = x + k, t = 1 / w, u = 1 / (2 * w + 1), u2 = u * u;
            g += t * u - 2 * u * u2 * Polynomial(AtanhTail, u2);
            dg -= t * t / (w + 1);
        }
        derivative = dg;
        return g;
    }

    // ---- modified Bessel functions of the first kind, orders 0 and 1 (the von Mises normaliser) ----

    /// <summary>Where the power series gives way to the asymptotic expansion (both reach ~1e-16 relative there).</summary>
    private const double BesselSeriesLimit = 20;

    /// <summary>
    /// e^{−x} I₀(x) for x ≥ 0 (exponentially scaled, so it never overflows; ≈ 1/√(2πx) for large x). The power
    /// series Σ (x²/4)ᵏ/(k!)² (all terms positive) up to x = 20, the Hankel asymptotic expansion beyond;
    /// relative error ~1e-15 throughout. Negative x uses I₀(−x) = I₀(x).
    /// </summary>
    public static double BesselI0Scaled(double x)
    {
        x = Math.Abs(x);
        if (double.IsNaN(x)) return double.NaN;
        return x <= BesselSeriesLimit ? BesselSeries(x, 0) * Math.Exp(-x) : BesselAsymptotic(x, 0, out _) / Math.Sqrt(2 * Math.PI * x);
    }

    /// <summary>
    /// e^{−|x|} I₁(x) (exponentially scaled; odd in x), by the same series and expansion as
    /// <see cref="BesselI0Scaled"/>.
    /// </summary>
    public static double BesselI1Scaled(double x)
    {
        double a = Math.Abs(x);
        if (double.IsNaN(a)) return double.NaN;
        double v = a <= BesselSeriesLimit ? BesselSeries(a, 1) * Math.Exp(-a) : BesselAsymptotic(a, 1, out _) / Math.Sqrt(2 * Math.PI * a);
        return x < 0 ? -v : v;
    }

    /// <summary>log I₀(x) for any finite x, without overflow (x + log(e^{−x} I₀(x)) beyond the series range).</summary>
    public static double LogBesselI0(double x)
    {
        x = Math.Abs(x);
        if (double.IsNaN(x)) return double.NaN;
        if (double.IsPositiveInfinity(x)) return double.PositiveInfinity;
        return x <= BesselSeriesLimit
            ? Math.Log(BesselSeries(x, 0))
            : x + Math.Log(BesselAsymptotic(x, 0, out _)) - 0.5 * Math.Log(2 * Math.PI * x);
    }

    /// <summary>
    /// A(x) = I₁(x)/I₀(x) for x ≥ 0, the mean resultant length of a von Mises distribution with concentration x,
    /// and its derivative A'(x) = 1 − A/x − A². Past the series range both come from the asymptotic expansions
    /// (A' as (S₁′S₀ − S₁S₀′)/S₀², which does not cancel), so A' stays accurate where 1 − A/x − A² would lose
    /// every digit (A' ≈ 1/(2x²)).
    /// </summary>
    internal static double BesselRatioI1I0(double x, out double derivative)
    {
        if (x == 0) { derivative = 0.5; return 0; }
        if (x <= BesselSeriesLimit)
        {
            double a = BesselSeries(x, 1) / BesselSeries(x, 0);
            derivative = 1 - a / x - a * a;
            return a;
        }
        double s0 = BesselAsymptotic(x, 0, out double d0), s1 = BesselAsymptotic(x, 1, out double d1);
        derivative = (d1 * s0 - s1 * d0) / (s0 * s0);
        return s1 / s0;
    }

    /// <summary>I_ν(x) for ν ∈ {0, 1} and 0 ≤ x ≤ 20 by its power series (x/2)^ν Σ (x²/4)ᵏ / (k! (k + ν)!).</summary>
    private static double BesselSeries(double x, int order)
    {
        double q = 0.25 * x * x, term = order == 0 ? 1 : 0.5 * x, sum = term;
        for (int k = 1; k < 200; k++)
        {
            term *= q / (k * (double)(k + order));
            sum += term;
            if (term <= 1e-17 * sum) break;
        }
        return sum;
    }

    /// <summary>
    /// S_ν(x) = Σ_k c_k x^{−k} with c_k = Π_{j≤k} (−(4ν² − (2j − 1)²)) / (k! 8ᵏ), so that
    /// e^{−x} I_ν(x) ≈ S_ν(x)/√(2πx) (Hankel's expansion, x &gt; 20), and its derivative S_ν′(x). The series is
    /// summed until its terms fall below 1e-17 of the sum or start to grow (it is asymptotic, not convergent).
    /// </summary>
    private static double BesselAsymptotic(double x, int order, out double derivative)
    {
        double mu = 4.0 * order * order;
        double term = 1, sum = 1, dsum = 0, previous = double.PositiveInfinity;
        for (int k = 1; k < 500; k++)
        {
            double next = term * -(mu - (2.0 * k - 1) * (2.0 * k - 1)) / (8.0 * k * x);
            if (Math.Abs(next) >= previous) break;
            term = next;
            previous = Math.Abs(term);
            sum += term;
            dsum -= k * term / x;
            if (Math.Abs(term) <= 1e-17 * Math.Abs(sum)) break;
        }
        derivative = dsum;
        return sum;
    }

    /// <summary>log Γ_d(a) = d(d−1)/4 · log π + Σ_{j=1..d} log Γ(a + (1 − j)/2), the multivariate log-gamma.</summary>
    public static double LogMultivariateGamma(double a, int d)
    {
        double s = d * (d - 1) / 4.0 * Math.Log(Math.PI);
        for (int j = 1; j <= d; j++) s += LogGamma(a + (1 - j) / 2.0);
        return s;
    }

    /// <summary>log B(α) = Σ log Γ(α_i) − log Γ(Σ α_i), the log multivariate Beta function.</summary>
    public static double LogBeta(ReadOnlySpan<double> alpha)
    {
        double s = 0, total = 0;
        foreach (var a in alpha) { s += LogGamma(a); total += a; }
        return s - LogGamma(total);
    }

    /// <summary>
    /// log(1 + x) for x &gt; −1, accurate to a few ulps for tiny x too (Goldberg's correction log(u)·x/(u − 1) with
    /// u = 1 + x). .NET's double.LogP1 evaluates log(1 + x) directly, which keeps only ~|log₁₀ x| − 16 digits of
    /// a tiny x (8e-8 relative error at x = 1e-10).
    /// </summary>
    public static double Log1p(double x)
    {
        double u = 1 + x;
        if (u == 1) return x;
        if (double.IsPositiveInfinity(u) || u <= 0) return Math.Log(u);
        return Math.Log(u) * x / (u - 1);
    }

    /// <summary>
    /// e^x − 1, accurate to a few ulps for tiny x too (Kahan's correction (u − 1)·x/log u with u = e^x); .NET's
    /// double.ExpM1 evaluates e^x − 1 directly.
    /// </summary>
    public static double ExpM1(double x)
    {
        if (Math.Abs(x) >= 0.5) return Math.Exp(x) - 1;
        double u = Math.Exp(x);
        if (u == 1) return x;
        return (u - 1) * x / Math.Log(u);
    }

    /// <summary>log(1 + exp(x)) without overflow.</summary>
    public static double Log1pExp(double x) => x > 0 ? x + Math.Log(1 + Math.Exp(-x)) : Math.Log(1 + Math.Exp(x));

    /// <summary>1 / (1 + exp(−x)) without overflow.</summary>
    public static double Logistic(double x) => x >= 0 ? 1 / (1 + Math.Exp(-x)) : Math.Exp(x) / (1 + Math.Exp(x));
}
