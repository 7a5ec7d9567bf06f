namespace EmDsl.Numerics;

/// <summary>Special functions used by families and priors (MathNet.Numerics underneath; not hot loops).</summary>
public static class SpecialFunctions
{
    /// <summary>log Γ(x) for x &gt; 0.</summary>
    public static double LogGamma(double x) => MathNet.Numerics.SpecialFunctions.GammaLn(x);

    /// <summary>ψ(x) = d/dx log Γ(x).</summary>
    public static double Digamma(double x) => MathNet.Numerics.SpecialFunctions.DiGamma(x);

    /// <summary>
    /// ψ₁(x) = d²/dx² log Γ(x), the trigamma function, for x &gt; 0: the recurrence ψ₁(x) = ψ₁(x + 1) + 1/x² up to
    /// x ≥ 10, then the asymptotic series 1/x + 1/(2x²) + Σ B₂ₖ/x^(2k+1).
    /// </summary>
    public static double Trigamma(double x)
    {
        if (double.IsNaN(x) || x <= 0) return double.NaN;
        double acc = 0;
        while (x < 10) { acc += 1 / (x * x); x += 1; }
        double r = 1 / x, r2 = r * r;
        return acc + r + r2 / 2 + r * r2 * (1.0 / 6 - r2 * (1.0 / 30 - r2 * (1.0 / 42 - r2 * (1.0 / 30 - r2 * 5.0 / 66))));
    }

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

    /// <summary>log(1 + exp(x)) without overflow.</summary>
    public static double Log1pExp(double x) => x > 0 ? x + Math.Log(1 + Math.Exp(-x)) : Math.Log(1 + Math.Exp(x));

    /// <summary>1 / (1 + exp(−x)) without overflow.</summary>
    public static double Logistic(double x) => x >= 0 ? 1 / (1 + Math.Exp(-x)) : Math.Exp(x) / (1 + Math.Exp(x));
}
