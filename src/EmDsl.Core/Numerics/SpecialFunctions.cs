namespace EmDsl.Numerics;

/// <summary>Special functions used by families and priors (MathNet.Numerics underneath; not hot loops).</summary>
public static class SpecialFunctions
{
    /// <summary>log Γ(x) for x &gt; 0.</summary>
    public static double LogGamma(double x) => MathNet.Numerics.SpecialFunctions.GammaLn(x);

    /// <summary>ψ(x) = d/dx log Γ(x).</summary>
    public static double Digamma(double x) => MathNet.Numerics.SpecialFunctions.DiGamma(x);

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
