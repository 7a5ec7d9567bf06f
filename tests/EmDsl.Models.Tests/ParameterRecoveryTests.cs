using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Inference;
using EmDsl.Models;
using MathNet.Numerics.LinearAlgebra;

namespace EmDsl.Models.Tests;

/// <summary>
/// The façades recover known parameters from ~20 000 rows sampled (seeded, without EmDsl) from them, within a
/// few standard errors of the complete-data estimates, up to a permutation of the components.
/// </summary>
public class ParameterRecoveryTests
{
    private const int Rows = 20_000;
    private const double Z = 5; // standard errors allowed per parameter

    private static double Normal(Random r) => MathNet.Numerics.Distributions.Normal.Sample(r, 0, 1);

    private static double[] Mvn(Random r, double[] mean, double[,] cov)
    {
        var l = Matrix<double>.Build.DenseOfArray(cov).Cholesky().Factor;
        var z = mean.Select(_ => Normal(r)).ToArray();
        return mean.Select((m, i) => m + Enumerable.Range(0, i + 1).Sum(j => l[i, j] * z[j])).ToArray();
    }

    private static int Draw(Random r, double[] p)
    {
        double u = r.NextDouble(), c = 0;
        for (int i = 0; i < p.Length; i++) if (u < (c += p[i])) return i;
        return p.Length - 1;
    }

    /// <summary>The permutation σ minimising Σ_k cost(k, σ(k)): fitted component σ(k) is true component k.</summary>
    internal static int[] BestPermutation(int k, Func<int, int, double> cost)
    {
        int[]? best = null;
        double bestCost = double.PositiveInfinity;
        foreach (var p in Permutations(Enumerable.Range(0, k).ToArray()))
        {
            double c = Enumerable.Range(0, k).Sum(i => cost(i, p[i]));
            if (c < bestCost) { bestCost = c; best = p; }
        }
        return best!;
    }

    private static IEnumerable<int[]> Permutations(int[] items)
    {
        if (items.Length <= 1) { yield return items; yield break; }
        for (int i = 0; i < items.Length; i++)
            foreach (var rest in Permutations(items.Where((_, j) => j != i).ToArray()))
                yield return [items[i], .. rest];
    }

    private static void Within(double truth, double estimate, double se, string what) =>
        Assert.True(Math.Abs(estimate - truth) <= Z * se, $"{what}: estimate {estimate:G6}, truth {truth:G6}, |diff| {Math.Abs(estimate - truth):G3} > {Z}·SE = {Z * se:G3}");

    // ---------------------------------------------------------------- Gaussian

    private static readonly double[] TrueWeights = [0.5, 0.3, 0.2];
    private static readonly double[][] TrueMeans = [[0, 0], [6, 1], [1, 7]];

    private static double[][,] TrueCovariances(CovarianceType type) => type switch
    {
        CovarianceType.Full => [new double[,] { { 1, 0.5 }, { 0.5, 2 } }, new double[,] { { 0.8, -0.3 }, { -0.3, 0.6 } }, new double[,] { { 1.5, 0 }, { 0, 0.5 } }],
        CovarianceType.Tied => Enumerable.Repeat(new double[,] { { 1.2, 0.4 }, { 0.4, 0.9 } }, 3).ToArray(),
        CovarianceType.Diagonal => [new double[,] { { 1, 0 }, { 0, 2 } }, new double[,] { { 0.5, 0 }, { 0, 0.8 } }, new double[,] { { 1.6, 0 }, { 0, 0.4 } }],
        _ => [new double[,] { { 1, 0 }, { 0, 1 } }, new double[,] { { 0.5, 0 }, { 0, 0.5 } }, new double[,] { { 2, 0 }, { 0, 2 } }],
    };

    [Theory]
    [InlineData(CovarianceType.Full)]
    [InlineData(CovarianceType.Tied)]
    [InlineData(CovarianceType.Diagonal)]
    [InlineData(CovarianceType.Spherical)]
    public void GaussianMixtureRecoversKnownParameters(CovarianceType type)
    {
        var covs = TrueCovariances(type);
        var r = new Random(1000 + (int)type);
        var data = DataMatrix.FromRows(Enumerable.Range(0, Rows).Select(_ => { int k = Draw(r, TrueWeights); return Mvn(r, TrueMeans[k], covs[k]); }).ToArray());

        var fitted = new GaussianMixture(3) { Covariance = type }.Fit(data, FitOptions.Default with { Seed = 3, Restarts = 3 });
        Assert.True(fitted.Result.Converged);
        var comps = fitted.Components;
        var perm = BestPermutation(3, (k, j) => Math.Pow(comps[j].Mean[0] - TrueMeans[k][0], 2) + Math.Pow(comps[j].Mean[1] - TrueMeans[k][1], 2));
        for (int k = 0; k < 3; k++)
        {
            var est = comps[perm[k]];
            double pi = TrueWeights[k], nk = Rows * pi;
            Within(pi, fitted.Weights[perm[k]], Math.Sqrt(pi * (1 - pi) / Rows), $"{type} weight {k}");
            for (int i = 0; i < 2; i++) Within(TrueMeans[k][i], est.Mean[i], Math.Sqrt(covs[k][i, i] / nk), $"{type} mean {k},{i}");
            var s = covs[k];
            double n = type == CovarianceType.Tied ? Rows : nk; // a tied covariance is pooled over every row
            switch (type)
            {
                case CovarianceType.Spherical:
                    Within(s[0, 0], est.Covariance[0, 0], s[0, 0] * Math.Sqrt(2.0 / (2 * nk)), $"spherical variance {k}");
                    Assert.Equal(est.Covariance[0, 0], est.Covariance[1, 1]);
                    Assert.Equal(0.0, est.Covariance[0, 1]);
                    break;
                case CovarianceType.Diagonal:
                    for (int i = 0; i < 2; i++) Within(s[i, i], est.Covariance[i, i], s[i, i] * Math.Sqrt(2.0 / nk), $"diagonal variance {k},{i}");
                    Assert.Equal(0.0, est.Covariance[0, 1]);
                    break;
                default:
                    for (int i = 0; i < 2; i++)
                        for (int j = 0; j <= i; j++)
                            Within(s[i, j], est.Covariance[i, j], Math.Sqrt((s[i, i] * s[j, j] + s[i, j] * s[i, j]) / n), $"{type} covariance {k},({i},{j})");
                    break;
            }
        }
        if (type == CovarianceType.Tied)
            Assert.All(comps, c => Assert.Equal(comps[0].Covariance.ToArray(), c.Covariance.ToArray()));
        // The façade's typed view is the general result's.
        Assert.Equal(fitted.Result.Parameters(fitted.Block), fitted.Components);
    }

    // ---------------------------------------------------------------- Bernoulli

    [Fact]
    public void BernoulliMixtureRecoversKnownParameters()
    {
        double[] weights = [0.6, 0.4];
        double[][] p = [[0.9, 0.8, 0.2, 0.1, 0.7, 0.5], [0.1, 0.3, 0.8, 0.9, 0.6, 0.05]];
        var r = new Random(2000);
        var data = DataMatrix.FromRows(Enumerable.Range(0, Rows).Select(_ =>
        {
            int k = Draw(r, weights);
            return p[k].Select(q => r.NextDouble() < q ? 1.0 : 0.0).ToArray();
        }).ToArray());
        var fitted = new BernoulliMixture(2).Fit(data, FitOptions.Default with { Seed = 5, Restarts = 2 });
        var comps = fitted.Components;
        var perm = BestPermutation(2, (k, j) => comps[j].Probabilities.Select((q, d) => Math.Pow(q - p[k][d], 2)).Sum());
        for (int k = 0; k < 2; k++)
        {
            double nk = Rows * weights[k];
            Within(weights[k], fitted.Weights[perm[k]], Math.Sqrt(weights[k] * (1 - weights[k]) / Rows), $"weight {k}");
            for (int d = 0; d < 6; d++)
                Within(p[k][d], comps[perm[k]].Probabilities[d], Math.Sqrt(p[k][d] * (1 - p[k][d]) / nk), $"p[{k},{d}]");
        }
    }

    // ---------------------------------------------------------------- Poisson

    [Fact]
    public void PoissonMixtureRecoversKnownParameters()
    {
        double[] weights = [0.25, 0.45, 0.3];
        double[][] rates = [[1, 12], [6, 2], [15, 9]];
        var r = new Random(3000);
        var data = DataMatrix.FromRows(Enumerable.Range(0, Rows).Select(_ =>
        {
            int k = Draw(r, weights);
            return rates[k].Select(l => (double)MathNet.Numerics.Distributions.Poisson.Sample(r, l)).ToArray();
        }).ToArray());
        var fitted = new PoissonMixture(3).Fit(data, FitOptions.Default with { Seed = 7, Restarts = 3 });
        var comps = fitted.Components;
        var perm = BestPermutation(3, (k, j) => comps[j].Rates.Select((l, d) => Math.Pow(l - rates[k][d], 2)).Sum());
        for (int k = 0; k < 3; k++)
        {
            double nk = Rows * weights[k];
            Within(weights[k], fitted.Weights[perm[k]], Math.Sqrt(weights[k] * (1 - weights[k]) / Rows), $"weight {k}");
            for (int d = 0; d < 2; d++)
                Within(rates[k][d], comps[perm[k]].Rates[d], Math.Sqrt(rates[k][d] / nk), $"rate[{k},{d}]");
        }
    }

    /// <summary>The recovery check itself can fail: wrong truth is rejected.</summary>
    [Fact]
    public void RecoveryCheckRejectsAWrongAnswer() =>
        Assert.ThrowsAny<Exception>(() => Within(1.0, 1.1, 0.01, "deliberately wrong"));
}
