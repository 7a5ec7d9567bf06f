using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Inference;
using MathNet.Numerics.Distributions;

namespace EmDsl.Tests.Generalized;

/// <summary>
/// Seeded simulators of mixtures of regressions and experts (independent of EmDsl: MathNet samplers), with the
/// truth they were drawn from, and helpers to match fitted components to true ones.
/// </summary>
internal static class RegressionData
{
    /// <summary>Two linear regressions y = a + b·x1 + c·x2 + N(0, σ²), weights 0.4 / 0.6. Columns [y, x1, x2].</summary>
    public static readonly (double[] Beta, double Variance)[] LinearTruth = [([1, 2, -1], 0.25), ([-2, 0.5, 1.5], 1.0)];

    public static DataMatrix Linear(int n, int seed)
    {
        var r = new Random(seed);
        var rows = new double[n][];
        for (int i = 0; i < n; i++)
        {
            double x1 = Normal.Sample(r, 0, 1), x2 = Normal.Sample(r, 0, 1);
            var (b, v) = LinearTruth[r.NextDouble() < 0.4 ? 0 : 1];
            rows[i] = [b[0] + b[1] * x1 + b[2] * x2 + Normal.Sample(r, 0, Math.Sqrt(v)), x1, x2];
        }
        return DataMatrix.FromRows(rows);
    }

    /// <summary>
    /// Two components that each carry a linear regression (which identifies the class) and a logistic one:
    /// columns [y (Gaussian), b (binary), x1, x2]. A single binary response per row does not identify a mixture of
    /// logistic regressions, so the class is made visible through the Gaussian response, as in a joint model.
    /// </summary>
    public static readonly double[][] LogisticTruth = [[-1, 3, 0], [2, -2, 1]];

    public static DataMatrix LinearAndLogistic(int n, int seed)
    {
        var r = new Random(seed);
        var rows = new double[n][];
        for (int i = 0; i < n; i++)
        {
            double x1 = Normal.Sample(r, 0, 1), x2 = Normal.Sample(r, 0, 1);
            int k = r.NextDouble() < 0.4 ? 0 : 1;
            var (b, v) = LinearTruth[k];
            var c = LogisticTruth[k];
            double p = 1 / (1 + Math.Exp(-(c[0] + c[1] * x1 + c[2] * x2)));
            rows[i] = [b[0] + b[1] * x1 + b[2] * x2 + Normal.Sample(r, 0, Math.Sqrt(v)), r.NextDouble() < p ? 1 : 0, x1, x2];
        }
        return DataMatrix.FromRows(rows);
    }

    /// <summary>Two Poisson regressions log λ = a + b·x1, weights 0.3 / 0.7. Columns [y, x1].</summary>
    public static readonly double[][] PoissonTruth = [[0.5, 1.0], [2.5, -0.5]];

    public static DataMatrix Poisson(int n, int seed)
    {
        var r = new Random(seed);
        var rows = new double[n][];
        for (int i = 0; i < n; i++)
        {
            double x1 = Normal.Sample(r, 0, 1);
            var b = PoissonTruth[r.NextDouble() < 0.3 ? 0 : 1];
            rows[i] = [MathNet.Numerics.Distributions.Poisson.Sample(r, Math.Exp(b[0] + b[1] * x1)), x1];
        }
        return DataMatrix.FromRows(rows);
    }

    /// <summary>
    /// A mixture of two linear experts y = a + b·x + N(0, σ²) with gating P(k = 1 | x) = σ(g0 + g1·x) (component 0 the
    /// reference). Columns [y, x].
    /// </summary>
    public static readonly (double[] Beta, double Variance)[] ExpertTruth = [([1, 1], 0.09), ([-1, -2], 0.25)];

    public static readonly double[] GatingTruth = [0.5, 2.0];

    public static DataMatrix Experts(int n, int seed)
    {
        var r = new Random(seed);
        var rows = new double[n][];
        for (int i = 0; i < n; i++)
        {
            double x = Normal.Sample(r, 0, 1);
            double p1 = 1 / (1 + Math.Exp(-(GatingTruth[0] + GatingTruth[1] * x)));
            var (b, v) = ExpertTruth[r.NextDouble() < p1 ? 1 : 0];
            rows[i] = [b[0] + b[1] * x + Normal.Sample(r, 0, Math.Sqrt(v)), x];
        }
        return DataMatrix.FromRows(rows);
    }

    /// <summary>[intercept, slopes…] of a regression record.</summary>
    public static double[] Coefficients(RegressionParameters p) => [p.Intercept, .. p.Slopes];

    /// <summary>Index of the fitted component whose coefficients are nearest to <paramref name="truth"/>.</summary>
    public static int Nearest(IReadOnlyList<double[]> fitted, double[] truth) =>
        Enumerable.Range(0, fitted.Count).MinBy(k => fitted[k].Zip(truth, (a, b) => (a - b) * (a - b)).Sum());

    /// <summary>Asserts |fitted − truth| ≤ tolerance entry by entry, naming what differs.</summary>
    public static void Near(double[] truth, IReadOnlyList<double> fitted, double tolerance, string what)
    {
        Assert.Equal(truth.Length, fitted.Count);
        for (int j = 0; j < truth.Length; j++)
            Assert.True(Math.Abs(truth[j] - fitted[j]) <= tolerance,
                $"{what}[{j}]: truth {truth[j]}, fitted {fitted[j]:G6} (tolerance {tolerance}).");
    }

    /// <summary>Responsibilities that put each row in the component its label names (rows × K).</summary>
    public static double[,] OneHot(IReadOnlyList<int> labels, int components)
    {
        var r = new double[labels.Count, components];
        for (int i = 0; i < labels.Count; i++) r[i, labels[i]] = 1;
        return r;
    }

    /// <summary>Options for a fit run to tight convergence from a given start.</summary>
    public static FitOptions Tight(Initialization start) =>
        FitOptions.Default with { Initialization = start, Tolerance = 1e-10, MaxIterations = 5000 };
}
