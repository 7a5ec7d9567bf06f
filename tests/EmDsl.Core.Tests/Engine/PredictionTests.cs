using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Inference;
using static EmDsl.Tests.Engine.EngineFixtures;

namespace EmDsl.Tests.Engine;

/// <summary>PredictProba / Predict / ScoreSamples / Score / BIC / AIC consistency, parameter counts, and Sample.</summary>
public class PredictionTests
{
    private static (MixtureFit Fit, DataMatrix Data) MixedFit(int rows = 300, int seed = 81)
    {
        var m = new MixedModel();
        var data = MixedModel.Data(rows, seed);
        return (m.Model.Fit(data, FitOptions.Default with { Seed = 1 }), data);
    }

    [Fact]
    public void ProbabilitiesSumToOneAndPredictIsTheArgmax()
    {
        var (fit, data) = MixedFit();
        var unseen = MixedModel.Data(200, seed: 82);
        foreach (var d in new[] { data, unseen })
        {
            var p = fit.PredictProba(d);
            var labels = fit.Predict(d);
            Assert.Equal(d.Rows, p.GetLength(0));
            Assert.Equal(2, p.GetLength(1));
            for (int i = 0; i < d.Rows; i++)
            {
                Assert.Equal(1.0, p[i, 0] + p[i, 1], 1e-12);
                Assert.True(p[i, 0] >= 0 && p[i, 1] >= 0);
                Assert.Equal(p[i, 1] > p[i, 0] ? 1 : 0, labels[i]);
            }
            Assert.Contains(0, labels);
            Assert.Contains(1, labels);
        }
    }

    [Fact]
    public void PredictBreaksTiesTowardTheLowestComponent()
    {
        var data = TwoClusters(30, seed: 83);
        var g = Blocks.Gaussian("g", [0, 1]);
        var same = GaussianParameters.WithVariances([1, 1], [2, 2]);
        var fit = Mixture.WithComponents(3).Observe(g).Build().Fit(data,
            FitOptions.Default with { MaxIterations = 0, Initialization = Initialization.FromParameters([0.25, 0.5, 0.25]).With(g, [same, same, same]) });
        // Components 0 and 2 are identical with equal weight; component 1 has twice the weight: it always wins.
        Assert.All(fit.Predict(data), l => Assert.Equal(1, l));
        var tie = Mixture.WithComponents(3).Observe(g).Build().Fit(data,
            FitOptions.Default with { MaxIterations = 0, Initialization = Initialization.FromParameters([0.4, 0.2, 0.4]).With(g, [same, same, same]) });
        Assert.All(tie.Predict(data), l => Assert.Equal(0, l));
    }

    [Fact]
    public void ScoreIsTheMeanOfScoreSamplesAndCriteriaFollowTheirDefinitions()
    {
        var (fit, data) = MixedFit();
        var unseen = MixedModel.Data(150, seed: 84);
        foreach (var d in new[] { data, unseen })
        {
            var s = fit.ScoreSamples(d);
            Assert.Equal(s.Average(), fit.Score(d), 1e-12);
            int p = 2 * (2 + 3) + 2 * 1 + 2 * 2 + 2 * 2 + 1; // Gaussian full D = 2, Poisson D = 1, categorical C = 3, Bernoulli D = 2, weights
            Assert.Equal(p, fit.FreeParameterCount);
            Assert.Equal(-2 * s.Sum() + p * Math.Log(d.Rows), fit.Bic(d), 1e-9);
            Assert.Equal(-2 * s.Sum() + 2 * p, fit.Aic(d), 1e-9);
        }
        Assert.Equal(fit.ScoreSamples(data).Sum(), fit.LogLikelihood, 1e-9);
        Assert.Equal(fit.Bic(data), fit.BayesianInformationCriterion, 1e-9);
        Assert.Equal(fit.Aic(data), fit.AkaikeInformationCriterion, 1e-9);
    }

    [Fact]
    public void TrainingCriteriaUseTheTotalSampleWeight()
    {
        var m = new MixedModel();
        var data = MixedModel.Data(100, seed: 85);
        var w = Enumerable.Range(0, data.Rows).Select(i => 1 + i % 3 * 0.5).ToArray();
        var fit = m.Model.Fit(data, m.Options(10), w);
        double ll = fit.ScoreSamples(data).Select((s, i) => w[i] * s).Sum();
        Assert.Equal(ll, fit.LogLikelihood, 1e-9);
        Assert.Equal(-2 * ll + fit.FreeParameterCount * Math.Log(w.Sum()), fit.BayesianInformationCriterion, 1e-9);
    }

    /// <summary>Free parameters counted independently (scikit-learn's _n_parameters) for every covariance type.</summary>
    [Theory]
    [InlineData(CovarianceType.Full, 1)]
    [InlineData(CovarianceType.Full, 3)]
    [InlineData(CovarianceType.Tied, 3)]
    [InlineData(CovarianceType.Diagonal, 3)]
    [InlineData(CovarianceType.Spherical, 3)]
    [InlineData(CovarianceType.Tied, 2)]
    [InlineData(CovarianceType.Spherical, 1)]
    public void BicCountsGaussianParametersLikeScikitLearn(CovarianceType type, int d)
    {
        const int k = 3;
        int expected = type switch
        {
            CovarianceType.Full => k * (d + d * (d + 1) / 2) + k - 1,
            CovarianceType.Tied => k * d + d * (d + 1) / 2 + k - 1,
            CovarianceType.Diagonal => 2 * k * d + k - 1,
            _ => k * (d + 1) + k - 1,
        };
        var r = new Random(86);
        var data = DataMatrix.FromRows(Enumerable.Range(0, 90).Select(i => Enumerable.Range(0, d).Select(_ => Normal(r) + 4 * (i % 3)).ToArray()).ToArray());
        var fit = Mixture.WithComponents(k).Observe(Blocks.Gaussian("g", Blocks.ColumnRange(0, d), type)).Build().Fit(data, FitOptions.Default with { MaxIterations = 20 });
        Assert.Equal(expected, fit.FreeParameterCount);
        Assert.Equal(-2 * fit.ScoreSamples(data).Sum() + expected * Math.Log(data.Rows), fit.Bic(data), 1e-9);
    }

    [Fact]
    public void ParameterCountsOfOtherFamiliesAndSharedBlocks()
    {
        const int k = 4;
        var model = Mixture.WithComponents(k)
            .Observe(Blocks.Bernoulli("b", [0, 1, 2]))                                   // K·3
            .Observe(Blocks.Categorical("c", [3], 5))                                    // K·4
            .Observe(Blocks.Categorical("h", [4, 5, 6], 3))                              // K·2
            .Observe(Blocks.Poisson("p", [7, 8]))                                        // K·2
            .Observe(Blocks.Exponential("e", [9]))                                       // K·1
            .Observe(Blocks.Gaussian("s", [10, 11], CovarianceType.Full, sharing: Sharing.Shared))      // 2 + 3
            .Observe(Blocks.Gaussian("d", [12, 13], CovarianceType.Diagonal, sharing: Sharing.Shared))  // 4
            .Observe(Blocks.Poisson("q", [14], sharing: Sharing.Shared))                // 1
            .Build();
        Assert.Equal(k * (3 + 4 + 2 + 2 + 1) + 5 + 4 + 1 + (k - 1), model.FreeParameterCount);
    }

    // ---------------------------------------------------------------- Sample

    [Fact]
    public void SampleIsReproducibleAndDependsOnTheSeed()
    {
        var (fit, _) = MixedFit();
        var a = fit.Sample(500, seed: 3);
        var b = fit.Sample(500, seed: 3);
        var c = fit.Sample(500, seed: 4);
        Assert.Equal(a.Data.ToArray(), b.Data.ToArray());
        Assert.Equal(a.Components, b.Components);
        Assert.NotEqual(a.Data.ToArray(), c.Data.ToArray());
        Assert.Equal(6, a.Data.Columns);
        Assert.Equal(500, a.Data.Rows);
    }

    [Fact]
    public void UnreadColumnsOfASampleAreZero()
    {
        var g = Blocks.Gaussian("g", [0]);
        var p = Blocks.Poisson("p", [3]);
        var data = DataMatrix.FromRows(Enumerable.Range(0, 40).Select(i => new double[] { i % 7, 99, -5, i % 4 }).ToArray());
        var fit = Mixture.WithComponents(2).Observe(g).Observe(p).Build().Fit(data);
        var sample = fit.Sample(50, 1).Data;
        Assert.Equal(4, sample.Columns);
        Assert.All(sample.GetColumn(1), v => Assert.Equal(0.0, v));
        Assert.All(sample.GetColumn(2), v => Assert.Equal(0.0, v));
    }

    /// <summary>Within each sampled label the rows follow that component's distribution (moments within 5 standard errors).</summary>
    [Fact]
    public void SampledLabelsAndRowsFollowTheFittedMixture()
    {
        var (fit, _) = MixedFit();
        var m = new MixedModel();
        const int n = 40_000;
        var s = fit.Sample(n, seed: 11);
        var labels = s.Components;
        for (int k = 0; k < 2; k++)
        {
            var rows = Enumerable.Range(0, n).Where(i => labels[i] == k).Select(s.Data.GetRow).ToArray();
            double pi = fit.Weights[k];
            Assert.True(Math.Abs(rows.Length - n * pi) <= 5 * Math.Sqrt(n * pi * (1 - pi)), $"component {k}: {rows.Length} rows, expected {n * pi:F0}");
            int nk = rows.Length;

            var g = fit.Parameters((Block<GaussianParameters>)fit.Model.Blocks[0])[k];
            for (int i = 0; i < 2; i++)
            {
                double mean = rows.Average(x => x[i]);
                Assert.True(Math.Abs(mean - g.Mean[i]) <= 5 * Math.Sqrt(g.Covariance[i, i] / nk), $"component {k}: Gaussian mean {i} {mean:G6} vs {g.Mean[i]:G6}");
                for (int j = 0; j <= i; j++)
                {
                    double cov = rows.Sum(x => (x[i] - g.Mean[i]) * (x[j] - g.Mean[j])) / nk;
                    double se = Math.Sqrt((g.Covariance[i, i] * g.Covariance[j, j] + g.Covariance[i, j] * g.Covariance[i, j]) / nk);
                    Assert.True(Math.Abs(cov - g.Covariance[i, j]) <= 5 * se, $"component {k}: covariance ({i},{j}) {cov:G6} vs {g.Covariance[i, j]:G6}");
                }
            }
            double rate = fit.Parameters((Block<PoissonParameters>)fit.Model.Blocks[1])[k].Rates[0];
            Assert.True(Math.Abs(rows.Average(x => x[2]) - rate) <= 5 * Math.Sqrt(rate / nk));
            Assert.All(rows, x => Assert.True(x[2] >= 0 && x[2] == Math.Floor(x[2])));
            var cat = fit.Parameters((Block<CategoricalParameters>)fit.Model.Blocks[2])[k].Probabilities;
            for (int c = 0; c < 3; c++)
            {
                double f = rows.Count(x => x[3] == c) / (double)nk;
                Assert.True(Math.Abs(f - cat[c]) <= 5 * Math.Sqrt(cat[c] * (1 - cat[c]) / nk) + 1e-9, $"component {k}: category {c} frequency {f:G4} vs {cat[c]:G4}");
            }
            var flags = fit.Parameters((Block<BernoulliParameters>)fit.Model.Blocks[3])[k].Probabilities;
            for (int j = 0; j < 2; j++)
            {
                double f = rows.Average(x => x[4 + j]);
                Assert.True(Math.Abs(f - flags[j]) <= 5 * Math.Sqrt(flags[j] * (1 - flags[j]) / nk) + 1e-9);
            }
        }
    }

    [Fact]
    public void ExponentialAndOneHotSamplesFollowTheirParameters()
    {
        var e = Blocks.Exponential("e", [0]);
        var h = Blocks.Categorical("h", [1, 2, 3], 3);
        var model = Mixture.WithComponents(1).Observe(e).Observe(h).Build();
        var data = DataMatrix.FromRows([[0.5, 1, 0, 0], [2.0, 0, 1, 0], [1.0, 0, 0, 1], [0.1, 0, 1, 0]]);
        var fit = model.Fit(data);
        const int n = 20_000;
        var s = fit.Sample(n, 5).Data;
        double rate = fit.Parameters(e)[0].Rates[0];
        Assert.Equal(4 / 3.6, rate, 1e-12);
        Assert.True(Math.Abs(s.GetColumn(0).Average() - 1 / rate) <= 5 / rate / Math.Sqrt(n));
        for (int i = 0; i < n; i++) Assert.Equal(1.0, s[i, 1] + s[i, 2] + s[i, 3]);
        Assert.True(Math.Abs(s.GetColumn(2).Average() - 0.5) <= 5 * 0.5 / Math.Sqrt(n));
    }

    [Fact]
    public void RefittingOnALargeSampleRecoversTheParameters()
    {
        var geyser = Blocks.Gaussian("geyser", [0, 1]);
        var model = Mixture.WithComponents(2).Observe(geyser).Build();
        var truth = model.Fit(OldFaithful(), FitOptions.Default with { Seed = 2 });
        const int n = 20_000;
        var sample = truth.Sample(n, seed: 8);
        var refit = model.Fit(sample.Data, FitOptions.Default with { Initialization = Initialization.FromFit(truth) });
        for (int k = 0; k < 2; k++)
        {
            double pi = truth.Weights[k];
            Assert.True(Math.Abs(refit.Weights[k] - pi) <= 5 * Math.Sqrt(pi * (1 - pi) / n) + 0.005);
            var a = truth.Parameters(geyser)[k];
            var b = refit.Parameters(geyser)[k];
            double nk = n * pi;
            for (int i = 0; i < 2; i++)
            {
                Assert.True(Math.Abs(a.Mean[i] - b.Mean[i]) <= 5 * Math.Sqrt(a.Covariance[i, i] / nk), $"mean {k},{i}: {b.Mean[i]:G6} vs {a.Mean[i]:G6}");
                for (int j = 0; j < 2; j++)
                {
                    double se = Math.Sqrt((a.Covariance[i, i] * a.Covariance[j, j] + a.Covariance[i, j] * a.Covariance[i, j]) / nk);
                    Assert.True(Math.Abs(a.Covariance[i, j] - b.Covariance[i, j]) <= 6 * se, $"covariance {k},({i},{j}): {b.Covariance[i, j]:G6} vs {a.Covariance[i, j]:G6}");
                }
            }
        }
    }

    [Fact]
    public void PredictionsRejectDataTheModelCannotRead()
    {
        var (fit, _) = MixedFit();
        var narrow = DataMatrix.FromRows([[0.0, 1, 2]]);
        var e = Assert.Throws<ArgumentException>(() => fit.PredictProba(narrow));
        Assert.Contains("column", e.Message);
        var badCount = DataMatrix.FromRows([[0.0, 1, -2, 0, 0, 1]]);
        e = Assert.Throws<ArgumentException>(() => fit.ScoreSamples(badCount));
        Assert.Contains("Row 0", e.Message);
        Assert.Contains("column 2", e.Message);
        Assert.Contains("counts", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => fit.Sample(0));
    }
}
