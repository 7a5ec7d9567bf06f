using EmDsl.Numerics;
using EmDsl.Optimization;
using MathNet.Numerics.LinearAlgebra;

namespace EmDsl.Tests.Optimization;

/// <summary>Objectives with known maxima for the optimiser tests, written with independent formulas.</summary>
internal static class TestObjectives
{
    /// <summary>f(x) = c − ½(x − m)ᵀA(x − m), gradient −A(x − m); the maximum c is at m.</summary>
    public static ObjectiveFunction ConcaveQuadratic(Matrix<double> a, double[] m, double c = 0)
    {
        int n = m.Length;
        var diff = new double[n];
        return (x, g) =>
        {
            for (int i = 0; i < n; i++) diff[i] = x[i] - m[i];
            double q = 0;
            for (int i = 0; i < n; i++)
            {
                double ai = 0;
                for (int j = 0; j < n; j++) ai += a[i, j] * diff[j];
                g[i] = -ai;
                q += diff[i] * ai;
            }
            return c - 0.5 * q;
        };
    }

    /// <summary>Negated chained Rosenbrock −Σᵢ [100(xᵢ₊₁ − xᵢ²)² + (1 − xᵢ)²]; maximum 0 at (1, …, 1).</summary>
    public static double NegatedRosenbrock(double[] x, double[] g)
    {
        int n = x.Length;
        Array.Clear(g);
        double f = 0;
        for (int i = 0; i + 1 < n; i++)
        {
            double t = x[i + 1] - x[i] * x[i], u = 1 - x[i];
            f += 100 * t * t + u * u;
            g[i] += 400 * t * x[i] + 2 * u;
            g[i + 1] -= 200 * t;
        }
        return -f;
    }

    /// <summary>
    /// Σᵢ (log xᵢ − aᵢxᵢ): concave on x &gt; 0 with maximum at xᵢ = 1/aᵢ. Outside the domain it returns −∞
    /// (<paramref name="nanOutside"/> false) or NaN (true), as a log-likelihood evaluated carelessly would.
    /// </summary>
    public static ObjectiveFunction LogBarrier(double[] a, bool nanOutside) => (x, g) =>
    {
        double f = 0;
        for (int i = 0; i < x.Length; i++)
        {
            if (!(x[i] > 0))
            {
                Array.Fill(g, double.NaN);
                return nanOutside ? double.NaN : double.NegativeInfinity;
            }
            f += Math.Log(x[i]) - a[i] * x[i];
            g[i] = 1 / x[i] - a[i];
        }
        return f;
    };

    /// <summary>
    /// Gamma(shape α, rate β) log-likelihood of <paramref name="data"/> in the natural (α, β), −∞ unless both are
    /// positive: n(α log β − log Γ(α)) + (α − 1)Σ log xᵢ − βΣ xᵢ. Jointly concave (its Hessian has determinant
    /// n²(αψ₁(α) − 1)/β² &gt; 0 and a negative diagonal).
    /// </summary>
    public static ObjectiveFunction GammaLogLikelihood(double[] data)
    {
        double n = data.Length, sumX = data.Sum(), sumLogX = data.Sum(Math.Log);
        return (p, g) =>
        {
            double alpha = p[0], beta = p[1];
            if (!(alpha > 0 && beta > 0))
            {
                g[0] = g[1] = double.NaN;
                return double.NegativeInfinity;
            }
            g[0] = n * (Math.Log(beta) - SpecialFunctions.Digamma(alpha)) + sumLogX;
            g[1] = n * alpha / beta - sumX;
            return n * (alpha * Math.Log(beta) - SpecialFunctions.LogGamma(alpha)) + (alpha - 1) * sumLogX - beta * sumX;
        };
    }

    /// <summary>
    /// The Gamma MLE by the profile equation: β = α/x̄ and log α − ψ(α) = log x̄ − mean(log x), whose left side
    /// decreases strictly from +∞ to 0, solved by bisection to the last bit.
    /// </summary>
    public static (double Alpha, double Beta) GammaMle(double[] data)
    {
        double mean = data.Average(), target = Math.Log(mean) - data.Average(Math.Log);
        double lo = 1e-8, hi = 1e8;
        for (int i = 0; i < 400 && lo < hi; i++)
        {
            double mid = Math.Sqrt(lo * hi);
            if (mid <= lo || mid >= hi) break;
            if (Math.Log(mid) - SpecialFunctions.Digamma(mid) > target) lo = mid; else hi = mid;
        }
        double alpha = Math.Sqrt(lo * hi);
        return (alpha, alpha / mean);
    }

    /// <summary>Logistic-regression log-likelihood Σ yᵢηᵢ − log(1 + e^ηᵢ), η = Xβ, and its gradient Xᵀ(y − p).</summary>
    public static ObjectiveFunction LogisticLogLikelihood(Matrix<double> x, double[] y) => (beta, g) =>
    {
        Array.Clear(g);
        double f = 0;
        for (int i = 0; i < x.RowCount; i++)
        {
            double eta = 0;
            for (int j = 0; j < x.ColumnCount; j++) eta += x[i, j] * beta[j];
            f += y[i] * eta - SpecialFunctions.Log1pExp(eta);
            double r = y[i] - SpecialFunctions.Logistic(eta);
            for (int j = 0; j < x.ColumnCount; j++) g[j] += x[i, j] * r;
        }
        return f;
    };

    /// <summary>The logistic-regression MLE by textbook IRLS (Newton–Raphson with MathNet's solver) from β = 0.</summary>
    public static double[] LogisticByIrls(Matrix<double> x, double[] y)
    {
        var beta = Vector<double>.Build.Dense(x.ColumnCount);
        var yv = Vector<double>.Build.DenseOfArray(y);
        for (int iteration = 0; iteration < 100; iteration++)
        {
            var p = (x * beta).Map(SpecialFunctions.Logistic);
            var w = p.Map(v => v * (1 - v));
            var information = x.TransposeThisAndMultiply(Matrix<double>.Build.DenseOfDiagonalVector(w) * x);
            var step = information.Cholesky().Solve(x.TransposeThisAndMultiply(yv - p));
            beta += step;
            if (step.InfinityNorm() <= 1e-15 * Math.Max(1, beta.InfinityNorm())) break;
        }
        return beta.ToArray();
    }
}

/// <summary>Wraps an objective and records every value it returns and how often it was called.</summary>
internal sealed class RecordingObjective(ObjectiveFunction inner)
{
    public List<double> Values { get; } = [];

    public double Invoke(double[] x, double[] g)
    {
        double v = inner(x, g);
        Values.Add(v);
        return v;
    }
}
