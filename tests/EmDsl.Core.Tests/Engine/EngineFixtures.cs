using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Inference;
using MathNet.Numerics.Distributions;
using MathNet.Numerics.LinearAlgebra;

namespace EmDsl.Tests.Engine;

/// <summary>
/// Shared helpers of the engine tests: seeded samplers that do not use EmDsl, textbook densities (MathNet
/// and a Cholesky-based multivariate normal) as independent oracles, and ways to read every fitted number.
/// </summary>
internal static class EngineFixtures
{
    // ---------------------------------------------------------------- reading fits

    /// <summary>Every number a fit returns for one block, in a fixed order (means then covariances, or probabilities, or rates).</summary>
    public static double[] BlockValues(ModelFit fit, Block block) => block switch
    {
        Block<GaussianParameters> g => fit.Parameters(g).SelectMany(p => p.Mean.Concat(p.Covariance.ToArray().Cast<double>())).ToArray(),
        Block<BernoulliParameters> g => fit.Parameters(g).SelectMany(p => p.Probabilities).ToArray(),
        Block<CategoricalParameters> g => fit.Parameters(g).SelectMany(p => p.Probabilities).ToArray(),
        Block<PoissonParameters> g => fit.Parameters(g).SelectMany(p => p.Rates).ToArray(),
        Block<ExponentialParameters> g => fit.Parameters(g).SelectMany(p => p.Rates).ToArray(),
        Block<FactorParameters> g => fit.Parameters(g).SelectMany(p => p.Mean.Concat(p.Loadings.ToArray().Cast<double>()).Concat(p.NoiseVariances)).ToArray(),
        _ => throw new NotSupportedException(block.GetType().Name),
    };

    /// <summary>Weights followed by every block's values.</summary>
    public static double[] AllValues(MixtureFit fit) =>
        fit.Weights.Concat(fit.Model.Blocks.SelectMany(b => BlockValues(fit, b))).ToArray();

    /// <summary>Initial distribution, transition matrix (row by row), then every block's values.</summary>
    public static double[] AllValues(HiddenMarkovFit fit) =>
        fit.InitialProbabilities.Concat(fit.TransitionMatrix.Cast<double>()).Concat(fit.Model.Blocks.SelectMany(b => BlockValues(fit, b))).ToArray();

    /// <summary>Usual parameters of component k of a block, untyped.</summary>
    public static object ComponentParameters(ModelFit fit, Block block, int k) => block switch
    {
        Block<GaussianParameters> g => fit.Parameters(g)[k],
        Block<BernoulliParameters> g => fit.Parameters(g)[k],
        Block<CategoricalParameters> g => fit.Parameters(g)[k],
        Block<PoissonParameters> g => fit.Parameters(g)[k],
        Block<ExponentialParameters> g => fit.Parameters(g)[k],
        Block<FactorParameters> g => fit.Parameters(g)[k],
        _ => throw new NotSupportedException(block.GetType().Name),
    };

    // ---------------------------------------------------------------- comparisons

    /// <summary>|a − b| ≤ tol·max(1, |a|, |b|), element by element, with a readable failure.</summary>
    public static void AssertClose(IReadOnlyList<double> expected, IReadOnlyList<double> actual, double tolerance, string what)
    {
        Assert.True(expected.Count == actual.Count, $"{what}: {expected.Count} values expected, {actual.Count} found.");
        for (int i = 0; i < expected.Count; i++)
        {
            double a = expected[i], b = actual[i];
            double scale = Math.Max(1, Math.Max(Math.Abs(a), Math.Abs(b)));
            Assert.True(Math.Abs(a - b) <= tolerance * scale,
                $"{what}[{i}]: expected {a:G17}, got {b:G17} (difference {Math.Abs(a - b):G3}, tolerance {tolerance * scale:G3}).");
        }
    }

    /// <summary>Bit-for-bit equality (== on doubles).</summary>
    public static void AssertIdentical(IReadOnlyList<double> expected, IReadOnlyList<double> actual, string what)
    {
        Assert.True(expected.Count == actual.Count, $"{what}: {expected.Count} values expected, {actual.Count} found.");
        for (int i = 0; i < expected.Count; i++)
            Assert.True(expected[i] == actual[i] || (double.IsNaN(expected[i]) && double.IsNaN(actual[i])),
                $"{what}[{i}]: {expected[i]:G17} != {actual[i]:G17}.");
    }

    /// <summary>EM's monotonicity, with the same rounding allowance as the engine uses.</summary>
    public static void AssertNonDecreasing(IReadOnlyList<double> trace, string what = "objective trace")
    {
        for (int i = 1; i < trace.Count; i++)
        {
            double prev = trace[i - 1];
            Assert.True(trace[i] - prev >= -1e-9 * Math.Max(1, Math.Abs(prev)),
                $"{what} decreased at iteration {i}: {prev:G17} → {trace[i]:G17}.");
        }
    }

    // ---------------------------------------------------------------- sampling (independent of EmDsl)

    public static double Normal(Random r) => MathNet.Numerics.Distributions.Normal.Sample(r, 0, 1);

    /// <summary>x = μ + L z with L the (MathNet) Cholesky factor of Σ.</summary>
    public static double[] SampleMvn(Random r, double[] mean, double[,] cov)
    {
        int d = mean.Length;
        var l = Matrix<double>.Build.DenseOfArray(cov).Cholesky().Factor;
        var z = Enumerable.Range(0, d).Select(_ => Normal(r)).ToArray();
        var x = new double[d];
        for (int i = 0; i < d; i++)
        {
            double s = mean[i];
            for (int j = 0; j <= i; j++) s += l[i, j] * z[j];
            x[i] = s;
        }
        return x;
    }

    /// <summary>A random symmetric positive-definite D×D matrix with eigenvalues roughly in [floor, scale²·D].</summary>
    public static double[,] RandomSpd(Random r, int d, double scale, double floor = 0.05)
    {
        var a = new double[d, d];
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++) a[i, j] = scale * Normal(r);
        var s = new double[d, d];
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++)
            {
                double v = 0;
                for (int p = 0; p < d; p++) v += a[i, p] * a[j, p];
                s[i, j] = v + (i == j ? floor * scale * scale : 0);
            }
        return s;
    }

    public static int SampleIndex(Random r, IReadOnlyList<double> p)
    {
        double u = r.NextDouble() * p.Sum(), c = 0;
        for (int i = 0; i < p.Count; i++)
        {
            c += p[i];
            if (u < c) return i;
        }
        return p.Count - 1;
    }

    /// <summary>Random probability vector with every entry ≥ <paramref name="minimum"/>.</summary>
    public static double[] RandomSimplex(Random r, int n, double minimum = 0.05)
    {
        var v = Enumerable.Range(0, n).Select(_ => minimum + r.NextDouble()).ToArray();
        double s = v.Sum();
        return v.Select(x => x / s).ToArray();
    }

    // ---------------------------------------------------------------- textbook densities (oracles)

    /// <summary>log N(x | μ, Σ) with MathNet's Cholesky: −½(D log 2π + log|Σ| + (x−μ)ᵀΣ⁻¹(x−μ)).</summary>
    public static double LogMvn(IReadOnlyList<double> x, IReadOnlyList<double> mean, ReadOnlyMatrix covariance)
    {
        int d = mean.Count;
        var chol = Matrix<double>.Build.DenseOfArray(covariance.ToArray()).Cholesky();
        var diff = Vector<double>.Build.Dense(d, i => x[i] - mean[i]);
        double quad = diff.DotProduct(chol.Solve(diff));
        return -0.5 * (d * Math.Log(2 * Math.PI) + chol.DeterminantLn + quad);
    }

    /// <summary>ΛΛᵀ + Ψ by MathNet, independently of EmDsl's factor algebra.</summary>
    public static ReadOnlyMatrix FactorCovariance(FactorParameters f)
    {
        var l = Matrix<double>.Build.DenseOfArray(f.Loadings.ToArray());
        var c = l * l.Transpose() + Matrix<double>.Build.DenseDiagonal(f.Dimension, f.Dimension, i => f.NoiseVariances[i]);
        return new ReadOnlyMatrix(c.ToArray());
    }

    /// <summary>log p_b(x_b | θ) for one block, from the usual parameters, by textbook densities.</summary>
    public static double BlockLogDensity(Block block, object parameters, double[] row)
    {
        var x = block.Columns.Select(c => row[c]).ToArray();
        switch (parameters)
        {
            case GaussianParameters g:
                return x.Length == 1
                    ? MathNet.Numerics.Distributions.Normal.PDFLn(g.Mean[0], Math.Sqrt(g.Covariance[0, 0]), x[0])
                    : LogMvn(x, g.Mean, g.Covariance);
            case BernoulliParameters b:
                return x.Select((v, i) => Bernoulli.PMFLn(b.Probabilities[i], (int)v)).Sum();
            case CategoricalParameters c:
            {
                int code = x.Length == 1 ? (int)x[0] : Array.IndexOf(x, 1.0);
                return Categorical.PMFLn(c.Probabilities.ToArray(), code);
            }
            case PoissonParameters p:
                return x.Select((v, i) => Poisson.PMFLn(p.Rates[i], (int)v)).Sum();
            case ExponentialParameters e:
                return x.Select((v, i) => Exponential.PDFLn(e.Rates[i], v)).Sum();
            case FactorParameters f:
                return LogMvn(x, f.Mean, FactorCovariance(f));
            default:
                throw new NotSupportedException(parameters.GetType().Name);
        }
    }

    /// <summary>log π_k + Σ_b log p_b(x | θ_bk) for every component k.</summary>
    public static double[] LogJoint(MixtureFit fit, double[] row)
    {
        int k0 = fit.Model.Components;
        var lj = new double[k0];
        for (int k = 0; k < k0; k++)
        {
            lj[k] = Math.Log(fit.Weights[k]);
            foreach (var b in fit.Model.Blocks) lj[k] += BlockLogDensity(b, ComponentParameters(fit, b, k), row);
        }
        return lj;
    }

    public static double LogSumExp(double[] v)
    {
        double m = v.Max();
        if (double.IsNegativeInfinity(m)) return m;
        return m + Math.Log(v.Sum(x => Math.Exp(x - m)));
    }

    // ---------------------------------------------------------------- data

    public static DataMatrix OldFaithful() => OldFaithfulReferenceTests.OldFaithful();

    /// <summary>Two well-separated 2-D Gaussian clusters (plus nothing else), seeded.</summary>
    public static DataMatrix TwoClusters(int rows, int seed, double separation = 6)
    {
        var r = new Random(seed);
        var data = new double[rows][];
        for (int i = 0; i < rows; i++)
        {
            bool second = r.NextDouble() < 0.4;
            data[i] = [Normal(r) + (second ? separation : 0), 0.5 * Normal(r) + (second ? -separation / 2 : 0)];
        }
        return DataMatrix.FromRows(data);
    }

    /// <summary>Appends columns to a matrix.</summary>
    public static DataMatrix Concat(DataMatrix a, DataMatrix b)
    {
        var rows = new double[a.Rows][];
        for (int i = 0; i < a.Rows; i++) rows[i] = a.GetRow(i).Concat(b.GetRow(i)).ToArray();
        return DataMatrix.FromRows(rows);
    }

    /// <summary>A synchronous <see cref="IProgress{T}"/> (System.Progress posts to a context and may run late).</summary>
    public sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
