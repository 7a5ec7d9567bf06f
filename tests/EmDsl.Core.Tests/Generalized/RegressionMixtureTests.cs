using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Inference;
using static EmDsl.Tests.Engine.EngineFixtures;
using static EmDsl.Tests.Generalized.RegressionData;

namespace EmDsl.Tests.Generalized;

/// <summary>
/// Mixtures of linear, logistic and Poisson regressions and a mixture of experts: parameter recovery at 10⁵
/// rows, the log-likelihood against an independent evaluation, sample weights, thread invariance and bad input.
/// </summary>
public class RegressionMixtureTests
{
    private const int N = 100_000;

    // The standard error of a coefficient at 10⁵ rows with component weight ≥ 0.3 and unit-scale covariates is
    // below 0.01 (σ/√(n π)); 0.05 is five standard errors or more for every check below.
    private const double Tolerance = 0.05;

    [Fact]
    public void LinearRegressionMixtureRecoversCoefficientsAndVariances()
    {
        var data = Linear(N, 11);
        var block = Blocks.LinearRegression("y", 0, [1, 2]);
        var fit = Mixture.WithComponents(2).Observe(block).Build().Fit(data, FitOptions.Default with { Restarts = 3, Seed = 5 });
        var parameters = fit.Parameters(block);
        var coefficients = parameters.Select(p => Coefficients(p.Coefficients)).ToArray();
        for (int t = 0; t < 2; t++)
        {
            int k = Nearest(coefficients, LinearTruth[t].Beta);
            Near(LinearTruth[t].Beta, coefficients[k], Tolerance, $"component {t} coefficients");
            Near([LinearTruth[t].Variance], [parameters[k].Variance], Tolerance, $"component {t} variance");
            Near([t == 0 ? 0.4 : 0.6], [fit.Weights[k]], 0.01, $"component {t} weight");
        }
        AssertNonDecreasing(fit.ObjectiveTrace);
        Assert.True(fit.Converged);
    }

    [Fact]
    public void LogisticRegressionMixtureRecoversCoefficientsInAJointModel()
    {
        var data = LinearAndLogistic(N, 12);
        var linear = Blocks.LinearRegression("y", 0, [2, 3]);
        var logistic = Blocks.LogisticRegression("b", 1, [2, 3]);
        var fit = Mixture.WithComponents(2).Observe(linear, logistic).Build().Fit(data, FitOptions.Default with { Restarts = 3, Seed = 6 });
        var lin = fit.Parameters(linear).Select(p => Coefficients(p.Coefficients)).ToArray();
        var log = fit.Parameters(logistic).Select(Coefficients).ToArray();
        for (int t = 0; t < 2; t++)
        {
            int k = Nearest(lin, LinearTruth[t].Beta);
            // Logistic coefficients carry about 3× the linear ones' error (Fisher information p(1 − p) ≤ ¼).
            Near(LogisticTruth[t], log[k], 2.5 * Tolerance, $"component {t} logistic coefficients");
        }
        AssertNonDecreasing(fit.ObjectiveTrace);
        Assert.False(fit.Diagnostics.ObjectiveEverDecreased);
    }

    [Fact]
    public void PoissonRegressionMixtureRecoversCoefficients()
    {
        var data = Poisson(N, 13);
        var block = Blocks.PoissonRegression("y", 0, [1]);
        var fit = Mixture.WithComponents(2).Observe(block).Build().Fit(data, FitOptions.Default with { Restarts = 3, Seed = 7 });
        var coefficients = fit.Parameters(block).Select(Coefficients).ToArray();
        for (int t = 0; t < 2; t++)
        {
            int k = Nearest(coefficients, PoissonTruth[t]);
            Near(PoissonTruth[t], coefficients[k], Tolerance, $"component {t} coefficients");
            Near([t == 0 ? 0.3 : 0.7], [fit.Weights[k]], 0.01, $"component {t} weight");
        }
        AssertNonDecreasing(fit.ObjectiveTrace);
    }

    [Fact]
    public void MixtureOfExpertsRecoversGatingAndExperts()
    {
        var data = Experts(N, 14);
        var expert = Blocks.LinearRegression("y", 0, [1]);
        var model = Mixture.WithComponents(2).Observe(expert).GatedBy([1]).Build();
        var fit = model.Fit(data, FitOptions.Default with { Restarts = 3, Seed = 8 });
        var experts = fit.Parameters(expert);
        var coefficients = experts.Select(p => Coefficients(p.Coefficients)).ToArray();
        int k1 = Nearest(coefficients, ExpertTruth[1].Beta), k0 = 1 - k1;
        Near(ExpertTruth[0].Beta, coefficients[k0], Tolerance, "expert 0");
        Near(ExpertTruth[1].Beta, coefficients[k1], Tolerance, "expert 1");
        Near([ExpertTruth[0].Variance], [experts[k0].Variance], Tolerance, "expert 0 variance");
        Near([ExpertTruth[1].Variance], [experts[k1].Variance], Tolerance, "expert 1 variance");
        var gating = fit.GatingCoefficients;
        Assert.Equal(new RegressionParameters(0, [0.0]), gating[0]);
        // The gating is identified up to which component is the reference: component 1's coefficients against
        // component 0 are the truth when the labels match, their negation when they are swapped.
        var g = Coefficients(gating[1]);
        var expected = k1 == 1 ? GatingTruth : GatingTruth.Select(v => -v).ToArray();
        Near(expected, g, 2 * Tolerance, "gating coefficients");
        AssertNonDecreasing(fit.ObjectiveTrace);
        Assert.Equal((2 - 1) * 2 + 2 * 3, fit.FreeParameterCount);
    }

    /// <summary>The reported log-likelihood is Σ_n log Σ_k π_k(x_n) p(y_n | x_n, θ_k), computed here from the returned parameters.</summary>
    [Fact]
    public void LogLikelihoodMatchesAnIndependentEvaluation()
    {
        var data = Experts(400, 21);
        var expert = Blocks.LinearRegression("y", 0, [1]);
        var fit = Mixture.WithComponents(2).Observe(expert).GatedBy([1]).Build().Fit(data, FitOptions.Default with { MaxIterations = 30 });
        var experts = fit.Parameters(expert);
        var gating = fit.GatingCoefficients;
        double ll = 0;
        var perRow = fit.ScoreSamples(data);
        for (int i = 0; i < data.Rows; i++)
        {
            double y = data[i, 0], x = data[i, 1];
            var logits = gating.Select(g => g.LinearPredictor([x])).ToArray();
            double lse = LogSumExp(logits);
            var terms = new double[2];
            for (int k = 0; k < 2; k++)
            {
                double mean = experts[k].Coefficients.LinearPredictor([x]), v = experts[k].Variance;
                terms[k] = logits[k] - lse - 0.5 * Math.Log(2 * Math.PI * v) - (y - mean) * (y - mean) / (2 * v);
            }
            double li = LogSumExp(terms);
            Assert.Equal(li, perRow[i], 1e-9);
            ll += li;
        }
        // The fit's final log-likelihood is that of the returned parameters.
        Assert.Equal(ll, fit.LogLikelihood, 1e-8 * Math.Abs(ll));

        // New rows go through the training frame of the covariates: responsibilities by hand.
        var fresh = Experts(50, 99);
        var proba = fit.PredictProba(fresh);
        for (int i = 0; i < fresh.Rows; i++)
        {
            double y = fresh[i, 0], x = fresh[i, 1];
            var logits = gating.Select(g => g.LinearPredictor([x])).ToArray();
            var terms = Enumerable.Range(0, 2).Select(k =>
            {
                double mean = experts[k].Coefficients.LinearPredictor([x]), v = experts[k].Variance;
                return logits[k] - 0.5 * Math.Log(2 * Math.PI * v) - (y - mean) * (y - mean) / (2 * v);
            }).ToArray();
            double lse = LogSumExp(terms);
            for (int k = 0; k < 2; k++) Assert.Equal(Math.Exp(terms[k] - lse), proba[i, k], 1e-10);
        }
    }

    [Fact]
    public void PoissonAndLogisticTermsMatchTheirDensities()
    {
        var data = LinearAndLogistic(300, 22);
        var logistic = Blocks.LogisticRegression("b", 1, [2, 3]);
        var fit = Mixture.WithComponents(2).Observe(logistic).Build().Fit(data, FitOptions.Default with { MaxIterations = 5 });
        var c = fit.Parameters(logistic);
        var perRow = fit.ScoreSamples(data);
        for (int i = 0; i < data.Rows; i++)
        {
            double b = data[i, 1];
            var terms = Enumerable.Range(0, 2).Select(k =>
            {
                double p = 1 / (1 + Math.Exp(-c[k].LinearPredictor([data[i, 2], data[i, 3]])));
                return Math.Log(fit.Weights[k]) + Math.Log(b == 1 ? p : 1 - p);
            }).ToArray();
            Assert.Equal(LogSumExp(terms), perRow[i], 1e-9);
        }
        var counts = Poisson(300, 23);
        var poisson = Blocks.PoissonRegression("y", 0, [1]);
        var pfit = Mixture.WithComponents(2).Observe(poisson).Build().Fit(counts, FitOptions.Default with { MaxIterations = 5 });
        var pc = pfit.Parameters(poisson);
        var pRow = pfit.ScoreSamples(counts);
        for (int i = 0; i < counts.Rows; i++)
        {
            var terms = Enumerable.Range(0, 2).Select(k =>
                Math.Log(pfit.Weights[k]) + MathNet.Numerics.Distributions.Poisson.PMFLn(Math.Exp(pc[k].LinearPredictor([counts[i, 1]])), (int)counts[i, 0])).ToArray();
            Assert.Equal(LogSumExp(terms), pRow[i], 1e-9);
        }
    }

    /// <summary>Covariates of size 1e6 with a spread of 1: the centred frame keeps the fit identical to the unshifted one.</summary>
    [Fact]
    public void ShiftingCovariatesChangesOnlyTheIntercept()
    {
        var data = Linear(2000, 31);
        var shifted = DataMatrix.FromRows(Enumerable.Range(0, data.Rows).Select(i => new[] { data[i, 0], data[i, 1] + 1e6, data[i, 2] - 1e6 }));
        var block = Blocks.LinearRegression("y", 0, [1, 2]);
        var model = Mixture.WithComponents(2).Observe(block).Build();
        var labels = Enumerable.Range(0, data.Rows).Select(i => i % 2).ToArray();
        var options = Tight(Initialization.FromResponsibilities(OneHot(labels, 2))) with { MaxIterations = 300 };
        var a = model.Fit(data, options);
        var b = model.Fit(shifted, options);
        Assert.Equal(a.LogLikelihood, b.LogLikelihood, 1e-6 * Math.Abs(a.LogLikelihood));
        for (int k = 0; k < 2; k++)
        {
            var pa = a.Parameters(block)[k];
            var pb = b.Parameters(block)[k];
            AssertClose(pa.Coefficients.Slopes, pb.Coefficients.Slopes, 1e-6, $"slopes of component {k}");
            Assert.Equal(pa.Variance, pb.Variance, 1e-6 * pa.Variance);
            double interceptBack = pb.Coefficients.Intercept + pb.Coefficients.Slopes[0] * 1e6 - pb.Coefficients.Slopes[1] * 1e6;
            Assert.Equal(pa.Coefficients.Intercept, interceptBack, 1e-3);
        }
    }

    /// <summary>An integer sample weight counts a row that many times.</summary>
    [Fact]
    public void IntegerSampleWeightsEqualRepeatedRows()
    {
        var data = Experts(300, 41);
        var r = new Random(3);
        var weights = Enumerable.Range(0, data.Rows).Select(_ => (double)r.Next(0, 4)).ToArray();
        var expert = Blocks.PoissonRegression("y", 0, [1]);
        var counts = DataMatrix.FromRows(Enumerable.Range(0, data.Rows).Select(i => new[] { Math.Round(Math.Abs(data[i, 0]) * 3), data[i, 1] }));
        var countsRepeated = DataMatrix.FromRows(Enumerable.Range(0, data.Rows).SelectMany(i => Enumerable.Repeat(counts.GetRow(i), (int)weights[i])));
        var model = Mixture.WithComponents(2).Observe(expert).GatedBy([1]).Build();
        var start = Initialization.FromParameters([0.5, 0.5]).With(expert, [new RegressionParameters(0.2, [0.5]), new RegressionParameters(1.0, [-0.5])]);
        var options = FitOptions.Default with { Initialization = start, MaxIterations = 40, Tolerance = 0 };
        var weighted = model.Fit(counts, options, weights);
        var plain = model.Fit(countsRepeated, options);
        Assert.Equal(plain.LogLikelihood, weighted.LogLikelihood, 1e-7 * Math.Abs(plain.LogLikelihood));
        // The same mathematics with different rounding (a weighted sum against repeated rows) inside 40 generalized-EM
        // steps along a flat ridge of the likelihood: the coefficients agree to a few 1e-6 (1.8e-6 seen on the managed
        // backend once the softmax's exponentials became the vectorised reproducible ones), the log-likelihood to 1e-7.
        for (int k = 0; k < 2; k++)
            AssertClose(Coefficients(plain.Parameters(expert)[k]), Coefficients(weighted.Parameters(expert)[k]), 1e-5, $"component {k}");
        AssertClose(Coefficients(plain.GatingCoefficients[1]), Coefficients(weighted.GatingCoefficients[1]), 1e-5, "gating");
    }

    [Fact]
    public void ResultsAreIdenticalForAnyThreadCountAndChunkSize()
    {
        var data = Experts(5000, 51);
        var expert = Blocks.LinearRegression("y", 0, [1]);
        var model = Mixture.WithComponents(2).Observe(expert).GatedBy([1]).Build();
        var options = FitOptions.Default with { MaxIterations = 25, Tolerance = 0, Seed = 2, ChunkRows = 512 };
        var one = model.Fit(data, options with { MaxDegreeOfParallelism = 1 });
        var many = model.Fit(data, options with { MaxDegreeOfParallelism = 4 });
        AssertIdentical(one.ObjectiveTrace, many.ObjectiveTrace, "trace");
        AssertIdentical(Coefficients(one.GatingCoefficients[1]), Coefficients(many.GatingCoefficients[1]), "gating");
    }

    // ---------------------------------------------------------------- bad input

    [Fact]
    public void ACovariateThatDuplicatesAnotherIsReportedByColumn()
    {
        var data = DataMatrix.FromRows(Enumerable.Range(0, 50).Select(i => new[] { i % 3, i * 0.1, i * 0.2 + 1 }));
        var model = Mixture.WithComponents(2).Observe(Blocks.LinearRegression("y", 0, [1, 2])).Build();
        var e = Assert.Throws<ArgumentException>(() => model.Fit(data));
        Assert.Contains("Block 'y'", e.Message);
        Assert.Contains("covariate column 2", e.Message);
        Assert.Contains("singular", e.Message);
    }

    [Fact]
    public void AConstantCovariateBesideTheInterceptIsReported()
    {
        var data = DataMatrix.FromRows(Enumerable.Range(0, 50).Select(i => new[] { i % 3, 7.0, i * 0.2 }));
        var model = Mixture.WithComponents(2).Observe(Blocks.PoissonRegression("y", 0, [1, 2])).Build();
        var e = Assert.Throws<ArgumentException>(() => model.Fit(data));
        Assert.Contains("covariate column 1 is constant", e.Message);
    }

    [Fact]
    public void AGatingCovariateThatIsConstantIsReported()
    {
        var data = DataMatrix.FromRows(Enumerable.Range(0, 50).Select(i => new[] { i * 0.3, 2.0 }));
        var model = Mixture.WithComponents(2).Observe(Blocks.Gaussian("y", [0])).GatedBy([1]).Build();
        var e = Assert.Throws<ArgumentException>(() => model.Fit(data));
        Assert.Contains("gating network", e.Message);
        Assert.Contains("column 1", e.Message);
    }

    [Fact]
    public void AResponseOutsideTheSupportNamesRowAndColumn()
    {
        var rows = Enumerable.Range(0, 20).Select(i => new[] { (double)(i % 2), i * 0.5 }).ToArray();
        rows[7][0] = 2;
        var model = Mixture.WithComponents(2).Observe(Blocks.LogisticRegression("b", 0, [1])).Build();
        var e = Assert.Throws<ArgumentException>(() => model.Fit(DataMatrix.FromRows(rows)));
        Assert.Contains("Row 7, column 0", e.Message);
        rows[7][0] = -1;
        var poisson = Mixture.WithComponents(2).Observe(Blocks.PoissonRegression("c", 0, [1])).Build();
        var p = Assert.Throws<ArgumentException>(() => poisson.Fit(DataMatrix.FromRows(rows)));
        Assert.Contains("Row 7, column 0", p.Message);
    }

    [Fact]
    public void CovariatesWithNaNAreRejectedWhenTheDataIsBuilt()
    {
        var rows = Enumerable.Range(0, 10).Select(i => new[] { 1.0, i }).ToArray();
        rows[4][1] = double.NaN;
        var e = Assert.Throws<ArgumentException>(() => DataMatrix.FromRows(rows));
        Assert.Contains("row 4", e.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("column 1", e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void MissingCovariateColumnsAreNamed()
    {
        var data = DataMatrix.FromRows(Enumerable.Range(0, 10).Select(i => new[] { 1.0 * (i % 3), i }));
        var model = Mixture.WithComponents(2).Observe(Blocks.LinearRegression("y", 0, [1, 4])).Build();
        var e = Assert.Throws<ArgumentException>(() => model.Fit(data));
        Assert.Contains("covariate column 4", e.Message);
        var gated = Mixture.WithComponents(2).Observe(Blocks.Gaussian("y", [0])).GatedBy([3]).Build();
        Assert.Contains("column 3", Assert.Throws<ArgumentException>(() => gated.Fit(data)).Message);
    }

    [Fact]
    public void DeclarationsThatCannotWorkAreRejectedAtOnce()
    {
        Assert.Contains("both a response and a covariate",
            Assert.Throws<ArgumentException>(() => Blocks.LinearRegression("y", 0, [0, 1])).Message);
        Assert.Contains("neither covariates nor an intercept",
            Assert.Throws<ArgumentException>(() => Blocks.PoissonRegression("y", 0, [], intercept: false)).Message);
        Assert.Contains("weight",
            Assert.Throws<InvalidOperationException>(() => Mixture.WithComponents(2).Observe(Blocks.Gaussian("y", [0])).WithWeightPrior(2).GatedBy([1]).Build()).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new CoefficientPrior(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LinearRegressionParameters(0, [1.0], -1));
    }

    [Fact]
    public void SamplingAModelWithCovariatesSaysWhyItCannot()
    {
        var data = Linear(200, 61);
        var fit = Mixture.WithComponents(2).Observe(Blocks.LinearRegression("y", 0, [1, 2])).Build().Fit(data, FitOptions.Default with { MaxIterations = 3 });
        var e = Assert.Throws<InvalidOperationException>(() => fit.Sample(10));
        Assert.Contains("covariate", e.Message);
    }

    [Fact]
    public void ARidgePriorShrinksSlopesAndEntersTheObjective()
    {
        var data = Linear(300, 71);
        var plain = Blocks.LinearRegression("y", 0, [1, 2]);
        var ridge = Blocks.LinearRegression("y", 0, [1, 2], prior: new CoefficientPrior(50));
        var labels = Enumerable.Range(0, data.Rows).Select(i => i % 2).ToArray();
        var options = Tight(Initialization.FromResponsibilities(OneHot(labels, 2))) with { MaxIterations = 200 };
        var a = Mixture.WithComponents(2).Observe(plain).Build().Fit(data, options);
        var b = Mixture.WithComponents(2).Observe(ridge).Build().Fit(data, options);
        Assert.Equal(0, a.LogPrior);
        Assert.True(b.LogPrior < 0);
        double sa = a.Parameters(plain).Sum(p => p.Coefficients.Slopes.Sum(s => s * s));
        double sb = b.Parameters(ridge).Sum(p => p.Coefficients.Slopes.Sum(s => s * s));
        Assert.True(sb < sa, $"ridge slopes² {sb} not below plain {sa}");
        AssertNonDecreasing(b.ObjectiveTrace);
        double logPrior = b.Parameters(ridge).Sum(p => new CoefficientPrior(50).LogDensity(p.Coefficients.Slopes));
        Assert.Equal(logPrior, b.LogPrior, 1e-9);
    }
}
