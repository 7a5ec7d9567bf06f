using System.Text.Json;
using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Inference;
using EmDsl.Models;
using MathNet.Numerics.LinearAlgebra;

namespace EmDsl.Models.Tests;

/// <summary>
/// Factor analysis, probabilistic PCA and mixtures of factor analysers through the ready models: against
/// scikit-learn's FactorAnalysis and an independent maximum-likelihood optimiser on real data sets shipped with
/// scikit-learn (tests/fixtures/fa_sklearn.json, written by tests/fixtures/make_fa_fixtures.py), and by recovery of
/// known loadings from sampled data.
/// </summary>
public class FactorAnalysisTests
{
    private static readonly JsonElement Fixture =
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", "fa_sklearn.json"))).RootElement;

    private static double[,] Matrix(JsonElement rows)
    {
        var list = rows.EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToArray();
        var m = new double[list.Length, list[0].Length];
        for (int i = 0; i < list.Length; i++)
            for (int j = 0; j < list[0].Length; j++) m[i, j] = list[i][j];
        return m;
    }

    public static TheoryData<int> FixtureFits() => new(Enumerable.Range(0, Fixture.GetProperty("fits").GetArrayLength()));

    /// <summary>
    /// EmDsl reaches the independently computed maximum-likelihood optimum (to the difference its 1e-12 relative noise
    /// floor makes in Heywood cases, where the optimiser's bound is 1e-12), hence at least scikit-learn's value, which
    /// it matches where scikit-learn converged (wine, q = 2); its implied covariance is the optimum's.
    /// </summary>
    [Theory]
    [MemberData(nameof(FixtureFits))]
    public void ReachesTheMaximumLikelihoodOptimumOfRealData(int index)
    {
        var case_ = Fixture.GetProperty("fits")[index];
        string name = case_.GetProperty("dataset").GetString()!;
        int q = case_.GetProperty("q").GetInt32();
        var data = DataMatrix.From(Matrix(Fixture.GetProperty("datasets").GetProperty(name).GetProperty("X")));
        var fit = new FactorAnalysis(q).Fit(data, new FitOptions { Tolerance = 1e-13, MaxIterations = 2000 });
        var sklearn = case_.GetProperty("sklearn");
        var optimum = case_.GetProperty("optimum");
        double best = optimum.GetProperty("log_likelihood").GetDouble();
        string what = $"{name}, q = {q}";
        Assert.True(fit.LogLikelihood >= sklearn.GetProperty("log_likelihood").GetDouble() - 1e-9 * Math.Abs(best),
            $"{what}: EmDsl {fit.LogLikelihood:G17} below scikit-learn {sklearn.GetProperty("log_likelihood").GetDouble():G17}");
        Assert.True(Math.Abs(fit.LogLikelihood - best) <= 1e-6,
            $"{what}: EmDsl {fit.LogLikelihood:G17} vs the optimum {best:G17} (difference {fit.LogLikelihood - best:G3}); {fit.Result.Iterations} iterations, {fit.Result.Status}");
        var expected = Matrix(optimum.GetProperty("covariance"));
        var implied = fit.ImpliedCovariance;
        for (int i = 0; i < data.Columns; i++)
            for (int j = 0; j < data.Columns; j++)
            {
                double scale = Math.Sqrt(expected[i, i] * expected[j, j]);
                Assert.True(Math.Abs(implied[i, j] - expected[i, j]) <= 1e-4 * scale,
                    $"{what}: implied covariance ({i}, {j}) {implied[i, j]:G10} vs the optimum's {expected[i, j]:G10}");
            }
        if (sklearn.GetProperty("converged").GetBoolean())
            Assert.Equal(sklearn.GetProperty("log_likelihood").GetDouble(), fit.LogLikelihood, 1e-9 * Math.Abs(best));
        // Heywood cases (the optimiser's ψ at its bound, 1e-12): EmDsl's ψ is as negligible against the column's variance,
        // and a reported floor is one of them.
        var heywood = optimum.GetProperty("heywood_indices").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        foreach (int j in heywood)
            Assert.True(fit.NoiseVariances[j] <= 1e-10 * expected[j, j], $"{what}: ψ_{j} = {fit.NoiseVariances[j]:G3} in a Heywood case");
        foreach (var e in fit.Result.Diagnostics.Events.Where(e => e.Kind == FitEventKind.NoiseFloored))
            Assert.Contains(heywood.Concat(optimum.GetProperty("near_heywood_indices").EnumerateArray().Select(x => x.GetInt32())), j => e.Message.Contains($"column {j} "));
        if (heywood.Length > 0) Assert.Contains(fit.Result.Diagnostics.Events, e => e.Kind == FitEventKind.NoiseFloored);
        Assert.All(fit.Result.ObjectiveTrace.Zip(fit.Result.ObjectiveTrace.Skip(1)), p => Assert.True(p.Second >= p.First - 1e-9 * Math.Abs(p.First)));
    }

    private static (DataMatrix Data, int[] Labels) TwoAnalysers(int rows, int seed, double[][,] loadings, double[][] noise, double[][] means)
    {
        var r = new Random(seed);
        var x = new double[rows][];
        var labels = new int[rows];
        for (int n = 0; n < rows; n++)
        {
            int k = r.NextDouble() < 0.4 ? 0 : 1;
            labels[n] = k;
            int d = means[k].Length, q = loadings[k].GetLength(1);
            var z = Enumerable.Range(0, q).Select(_ => MathNet.Numerics.Distributions.Normal.Sample(r, 0, 1)).ToArray();
            x[n] = Enumerable.Range(0, d).Select(i =>
                means[k][i] + Math.Sqrt(noise[k][i]) * MathNet.Numerics.Distributions.Normal.Sample(r, 0, 1) + Enumerable.Range(0, q).Sum(a => loadings[k][i, a] * z[a])).ToArray();
        }
        return (DataMatrix.FromRows(x), labels);
    }

    private static Matrix<double> Common(double[,] l)
    {
        var m = Matrix<double>.Build.DenseOfArray(l);
        return m * m.Transpose();
    }

    [Fact]
    public void AMixtureOfFactorAnalysersRecoversKnownLoadingsAndNoise()
    {
        var l0 = new double[,] { { 2, 0 }, { 1.5, 0.5 }, { 1, -1 }, { 0, 2 }, { 0.5, 1.5 }, { -1, 1 } };
        var l1 = new double[,] { { 0, 1 }, { 1, 0 }, { -1.5, 0.5 }, { 0.5, -1 }, { 2, 0.5 }, { 1, 1 } };
        double[] psi0 = [0.3, 0.5, 0.4, 0.6, 0.2, 0.5], psi1 = [0.5, 0.3, 0.6, 0.4, 0.5, 0.3];
        double[] m0 = [0, 0, 0, 0, 0, 0], m1 = [6, -6, 6, -6, 6, -6];
        var (data, labels) = TwoAnalysers(40_000, 7, [l0, l1], [psi0, psi1], [m0, m1]);
        var fit = new MixtureOfFactorAnalysers(2, 2).Fit(data, new FitOptions { Seed = 3 });
        var predicted = fit.Predict(data);
        int first = predicted[Array.IndexOf(labels, 0)];
        Assert.True(predicted.Zip(labels).Count(p => (p.First == first) == (p.Second == 0)) > 0.999 * data.Rows, "components not separated");
        var truth = new[] { (l0, psi0, m0), (l1, psi1, m1) };
        for (int k = 0; k < 2; k++)
        {
            var p = fit.Components[k == 0 ? first : 1 - first];
            var (l, psi, m) = truth[k];
            var expected = Common(l);
            var actual = Common(p.Loadings.ToArray());
            for (int i = 0; i < 6; i++)
            {
                Assert.True(Math.Abs(p.NoiseVariances[i] - psi[i]) < 0.08, $"component {k}: ψ_{i} = {p.NoiseVariances[i]:G4}, true {psi[i]}");
                Assert.True(Math.Abs(p.Mean[i] - m[i]) < 0.1, $"component {k}: μ_{i} = {p.Mean[i]:G4}, true {m[i]}");
                for (int j = 0; j < 6; j++)
                    Assert.True(Math.Abs(actual[i, j] - expected[i, j]) < 0.15, $"component {k}: (ΛΛᵀ)_{i}{j} = {actual[i, j]:G4}, true {expected[i, j]}");
            }
        }
        Assert.Equal(0.4, fit.Weights[first], 0.02);
        Assert.All(fit.Result.ObjectiveTrace.Zip(fit.Result.ObjectiveTrace.Skip(1)), p => Assert.True(p.Second >= p.First - 1e-9 * Math.Abs(p.First)));
    }

    [Fact]
    public void OneComponentMixtureIsFactorAnalysis()
    {
        var l = new double[,] { { 1, 0.2 }, { 0.8, -0.5 }, { 0.3, 1 }, { -0.7, 0.4 }, { 0.5, 0.5 } };
        var (data, _) = TwoAnalysers(3000, 2, [l, l], [[0.5, 0.4, 0.3, 0.6, 0.5], [0.5, 0.4, 0.3, 0.6, 0.5]], [[1, 2, 3, 4, 5], [1, 2, 3, 4, 5]]);
        var options = new FitOptions { Tolerance = 1e-13, MaxIterations = 500 };
        var fa = new FactorAnalysis(2).Fit(data, options);
        var mfa = new MixtureOfFactorAnalysers(1, 2).Fit(data, options);
        Assert.Equal(fa.LogLikelihood, mfa.LogLikelihood, 1e-10 * Math.Abs(fa.LogLikelihood));
        var a = Common(fa.Loadings.ToArray());
        var b = Common(mfa.Components[0].Loadings.ToArray());
        Assert.True((a - b).Enumerate().All(v => Math.Abs(v) < 1e-7));
        Assert.Equal(fa.FreeParameterCount, mfa.FreeParameterCount);
        Assert.Equal(5 + 10 - 1 + 5, fa.FreeParameterCount);
    }

    [Fact]
    public void AMixtureFitCanStartAMixtureOfFactorAnalysers()
    {
        var l0 = new double[,] { { 1, 0 }, { 0.5, 0.5 }, { 0, 1 }, { 1, 1 } };
        var (data, _) = TwoAnalysers(2000, 4, [l0, l0], [[0.3, 0.3, 0.3, 0.3], [0.4, 0.4, 0.4, 0.4]], [[0, 0, 0, 0], [5, 5, -5, -5]]);
        var gmm = new GaussianMixture(2).Fit(data);
        var mfa = new MixtureOfFactorAnalysers(2, 1).Fit(data, start: gmm.Result);
        Assert.Equal(gmm.Predict(data), mfa.Predict(data));
        Assert.Throws<ArgumentException>(() => new MixtureOfFactorAnalysers(3, 1).Fit(data, start: gmm.Result));
    }

    [Fact]
    public void FactorAnalysisFitReportsScoresSamplesAndCriteria()
    {
        var l = new double[,] { { 1, 0 }, { 0.9, 0.3 }, { 0, 1 }, { 0.4, 0.8 }, { -0.6, 0.5 }, { 0.2, -0.9 } };
        var (data, _) = TwoAnalysers(1000, 9, [l, l], [[0.2, 0.3, 0.2, 0.4, 0.3, 0.2], [0.2, 0.3, 0.2, 0.4, 0.3, 0.2]], [[0, 1, 2, 3, 4, 5], [0, 1, 2, 3, 4, 5]]);
        var fit = new FactorAnalysis(2).Fit(data);
        var scores = fit.Scores(data);
        Assert.Equal(data.Rows, scores.GetLength(0));
        Assert.Equal(2, scores.GetLength(1));
        // The scores' sample covariance plus the posterior covariance is the prior's identity: E[zzᵀ] = I at the ML optimum.
        var z = Matrix<double>.Build.DenseOfArray(scores);
        var second = z.TransposeThisAndMultiply(z) / data.Rows + Matrix<double>.Build.DenseOfArray(fit.ScoreCovariance.ToArray());
        Assert.True((second - Matrix<double>.Build.DenseIdentity(2)).Enumerate().All(v => Math.Abs(v) < 1e-6), $"E[zzᵀ] = {second}");
        Assert.Equal(-2 * fit.LogLikelihood + fit.FreeParameterCount * Math.Log(data.Rows), fit.Bic(data), 1e-8);
        Assert.Equal(-2 * fit.LogLikelihood + 2 * fit.FreeParameterCount, fit.Aic(data), 1e-8);
        var reconstruction = fit.Reconstruct(data);
        Assert.Equal(data.Rows, reconstruction.GetLength(0));
        var sample = fit.Sample(20_000, seed: 1);
        var refit = new FactorAnalysis(2).Fit(sample);
        var a = Common(fit.Loadings.ToArray());
        var b = Common(refit.Loadings.ToArray());
        Assert.True((a - b).Enumerate().All(v => Math.Abs(v) < 0.1), "refit on the model's own samples");
        var rotated = fit.RotatedLoadings;
        Assert.True((Common(rotated.ToArray()) - a).Enumerate().All(v => Math.Abs(v) < 1e-10), "varimax keeps ΛΛᵀ");
        Assert.Contains("Factor analysis with 2 factors", fit.ToString());
    }

    [Fact]
    public void RandomStartsWithRestartsReachTheSameOptimumAsThePcaStart()
    {
        var l = new double[,] { { 1, 0.2 }, { 0.8, -0.5 }, { 0.3, 1 }, { -0.7, 0.4 }, { 0.5, 0.5 }, { 0.1, 0.9 } };
        var noise = new double[] { 0.5, 0.4, 0.3, 0.6, 0.5, 0.2 };
        var (data, _) = TwoAnalysers(2000, 5, [l, l], [noise, noise], [[0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]);
        var options = new FitOptions { Tolerance = 1e-13, MaxIterations = 1000, Restarts = 3, Seed = 4 };
        var pca = new FactorAnalysis(2).Fit(data, options);
        var random = new FactorAnalysis(2) { Start = FactorStart.Random }.Fit(data, options);
        Assert.Equal(pca.LogLikelihood, random.LogLikelihood, 1e-8 * Math.Abs(pca.LogLikelihood));
        var given = new FactorAnalysis(2) { StartParameters = random.Parameters }.Fit(data, options);
        Assert.Equal(pca.LogLikelihood, given.LogLikelihood, 1e-8 * Math.Abs(pca.LogLikelihood));
        Assert.Equal(1, given.Result.Iterations);
        var ppca = new ProbabilisticPca(2).Fit(data);
        Assert.True(ppca.LogLikelihood <= pca.LogLikelihood + 1e-9, "PPCA is FA with a constraint");
        Assert.All(ppca.NoiseVariances, v => Assert.Equal(ppca.NoiseVariances[0], v));
    }

    /// <summary>README's factor-analysis snippet, as written there (with its placeholders given values).</summary>
    [Fact]
    public void ReadmeSnippetRuns()
    {
        var l = new double[,] { { 1, 0.2, 0 }, { 0.8, -0.5, 0.3 }, { 0.3, 1, 0 }, { -0.7, 0.4, 0.5 }, { 0.5, 0.5, -0.5 }, { 0.1, 0.9, 0.2 }, { 0.4, 0, 1 } };
        double[] noise = [0.5, 0.4, 0.3, 0.6, 0.5, 0.2, 0.4];
        var (data, _) = TwoAnalysers(3000, 8, [l, l], [noise, noise], [new double[7], Enumerable.Repeat(6.0, 7).ToArray()]);
        var gaussianMixtureFit = new GaussianMixture(3).Fit(data).Result;
        var columns = Blocks.ColumnRange(0, 7);

        var fa = new FactorAnalysis(3).Fit(data);                  // diagonal noise; ProbabilisticPca(3) for σ²I
        ReadOnlyMatrix loadings = fa.Loadings;                     // Λ (D × q), up to rotation; fa.RotatedLoadings: varimax
        IReadOnlyList<double> psi = fa.NoiseVariances;             // ψ_d; fa.ImpliedCovariance = ΛΛᵀ + Ψ
        double[,] scores = fa.Scores(data);                        // E[z | x_n]; fa.ScoreCovariance = Cov(z | x)
        double bic = fa.Bic(data);                                 // free parameters D + Dq − q(q−1)/2 + D

        var mfa = new MixtureOfFactorAnalysers(3, 2) { SharedNoise = true }.Fit(data, start: gaussianMixtureFit);
        var block = Blocks.Factor("chemistry", columns, factors: 2, NoiseModel.Diagonal, prior: new FactorPrior(2, 0.1));

        Assert.Equal(7, loadings.Rows);
        Assert.Equal(7, psi.Count);
        Assert.Equal(3, scores.GetLength(1));
        Assert.True(double.IsFinite(bic));
        Assert.Equal(3, mfa.Components.Count);
        Assert.True(mfa.Components.All(c => c.NoiseVariances.SequenceEqual(mfa.Components[0].NoiseVariances)));
        Assert.Equal("chemistry", block.Name);
    }
}
