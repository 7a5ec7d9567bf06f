using System.Text.Json;
using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Inference;
using Xunit.Abstractions;

namespace EmDsl.Tests.Generalized;

/// <summary>
/// Agreement with established R implementations on data those packages ship (fixtures made by
/// tests/fixtures/make_regression_mixture_fixtures.R): mixtools' regmixEM for mixtures of linear regressions and
/// flexmix for mixtures of Poisson regressions and a mixture of experts with a multinomial-logit gating. Each fit
/// starts from the fixture's initial partition (component j from the rows labelled j), runs to convergence, and is
/// compared with the package's answer polished to a stationary point of the observed log-likelihood (the
/// fixture's <c>mle</c>): the log-likelihood to 1e-6 and every parameter to 1e-3 of its standard error.
/// </summary>
public class RReferenceTests(ITestOutputHelper output)
{
    private static readonly Lazy<JsonElement> Fixture = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", "r_regression_mixtures.json"))).RootElement);

    private static JsonElement Case(string name) =>
        Fixture.Value.GetProperty("cases").EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);

    private static (DataMatrix Data, string[] Header) Load(JsonElement c)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "fixtures", c.GetProperty("data_file").GetString()!);
        var header = File.ReadLines(path).First().Split(',');
        return (DataMatrix.ReadCsv(path), header);
    }

    private static double[] Vector(JsonElement e) => e.EnumerateArray().Select(v => v.GetDouble()).ToArray();

    private static double[][] Matrix(JsonElement e) => e.EnumerateArray().Select(Vector).ToArray();

    private static FitOptions FromPartition(JsonElement c, int rows)
    {
        var labels = c.GetProperty("initial_partition").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        Assert.Equal(rows, labels.Length);
        return FitOptions.Default with
        {
            Initialization = Initialization.FromResponsibilities(RegressionData.OneHot(labels, c.GetProperty("K").GetInt32())),
            Tolerance = 0,
            MaxIterations = 20_000,
            CovarianceFloor = 0,
        };
    }

    private void Compare(string what, double[] expected, double[] standardErrors, IReadOnlyList<double> actual)
    {
        for (int j = 0; j < expected.Length; j++)
        {
            double allowed = 1e-3 * Math.Max(standardErrors[j], 1e-12) + 1e-9 * Math.Abs(expected[j]);
            output.WriteLine($"{what}[{j}]: R {expected[j]:G12}, EmDsl {actual[j]:G12}, |Δ|/SE {Math.Abs(expected[j] - actual[j]) / standardErrors[j]:G3}");
            Assert.True(Math.Abs(expected[j] - actual[j]) <= allowed,
                $"{what}[{j}]: R gives {expected[j]:G12}, EmDsl {actual[j]:G12} (difference {Math.Abs(expected[j] - actual[j]):G3}, allowed {allowed:G3} = 1e-3 standard errors).");
        }
    }

    private void CompareLogLikelihood(JsonElement mle, MixtureFit fit)
    {
        double expected = mle.GetProperty("loglik").GetDouble();
        output.WriteLine($"log-likelihood: R {expected:G15}, EmDsl {fit.LogLikelihood:G15}, {fit.Iterations} iterations, converged {fit.Converged}");
        Assert.True(Math.Abs(expected - fit.LogLikelihood) <= 1e-6, $"log-likelihood: R {expected:G15}, EmDsl {fit.LogLikelihood:G15}");
        Assert.False(fit.Diagnostics.ObjectiveEverDecreased);
    }

    [Theory]
    [InlineData("gaussian_nodata")]
    [InlineData("gaussian_nodata_doc")]
    public void LinearRegressionMixturesAgreeWithMixtoolsRegmixEM(string name)
    {
        var c = Case(name);
        var (data, header) = Load(c);
        int response = Array.IndexOf(header, c.GetProperty("response").GetString());
        var covariates = c.GetProperty("covariates").EnumerateArray().Select(v => Array.IndexOf(header, v.GetString())).ToArray();
        var block = Blocks.LinearRegression("y", response, covariates);
        var fit = Mixture.WithComponents(2).Observe(block).Build().Fit(data, FromPartition(c, data.Rows));
        var mle = c.GetProperty("mle");
        CompareLogLikelihood(mle, fit);
        var beta = Matrix(mle.GetProperty("coefficients"));
        var betaSe = Matrix(mle.GetProperty("coefficient_standard_errors"));
        var sigma = Vector(mle.GetProperty("sigma"));
        var sigmaSe = Vector(mle.GetProperty("sigma_standard_errors"));
        for (int k = 0; k < 2; k++)
        {
            var p = fit.Parameters(block)[k];
            Compare($"component {k} coefficients", beta[k], betaSe[k], RegressionData.Coefficients(p.Coefficients));
            Compare($"component {k} σ", [sigma[k]], [sigmaSe[k]], [Math.Sqrt(p.Variance)]);
        }
        // The weights' standard error is about √(π(1 − π)/n); 1e-3 of it.
        var weights = Vector(mle.GetProperty("weights"));
        Compare("weights", weights, weights.Select(w => Math.Sqrt(w * (1 - w) / data.Rows)).ToArray(), fit.Weights);
    }

    [Fact]
    public void PoissonRegressionMixtureAgreesWithFlexmix()
    {
        var c = Case("poisson_npreg");
        var (data, header) = Load(c);
        var block = Blocks.PoissonRegression("yp", Array.IndexOf(header, "yp"), [Array.IndexOf(header, "x")]);
        var fit = Mixture.WithComponents(2).Observe(block).Build().Fit(data, FromPartition(c, data.Rows));
        var mle = c.GetProperty("mle");
        CompareLogLikelihood(mle, fit);
        var beta = Matrix(mle.GetProperty("coefficients"));
        var se = Matrix(mle.GetProperty("coefficient_standard_errors"));
        for (int k = 0; k < 2; k++)
            Compare($"component {k} coefficients", beta[k], se[k], RegressionData.Coefficients(fit.Parameters(block)[k]));
    }

    [Fact]
    public void MixtureOfExpertsAgreesWithFlexmixConcomitantModel()
    {
        var c = Case("experts_patent");
        var (data, header) = Load(c);
        var block = Blocks.PoissonRegression("patents", Array.IndexOf(header, "Patents"), [Array.IndexOf(header, "lgRD")]);
        var model = Mixture.WithComponents(3).Observe(block).GatedBy([Array.IndexOf(header, "RDS")]).Build();
        var fit = model.Fit(data, FromPartition(c, data.Rows));
        var mle = c.GetProperty("mle");
        CompareLogLikelihood(mle, fit);
        var beta = Matrix(mle.GetProperty("coefficients"));
        var se = Matrix(mle.GetProperty("coefficient_standard_errors"));
        var gating = Matrix(mle.GetProperty("gating_coefficients"));
        var gatingSe = Matrix(mle.GetProperty("gating_standard_errors"));
        for (int k = 0; k < 3; k++)
        {
            Compare($"expert {k} coefficients", beta[k], se[k], RegressionData.Coefficients(fit.Parameters(block)[k]));
            if (k > 0) Compare($"gating {k} coefficients", gating[k], gatingSe[k], RegressionData.Coefficients(fit.GatingCoefficients[k]));
        }
    }

    /// <summary>
    /// Two responses driven by one latent class: a Poisson regression and a logistic regression of NPreg's binary
    /// response (which alone would not identify a mixture), as flexmix fits them with a list of models. The
    /// fixture's maximum is local (the likelihood also rises towards a step-shaped logistic curve); EM from the
    /// same partition reaches the same one.
    /// </summary>
    [Fact]
    public void JointPoissonAndLogisticMixtureAgreesWithFlexmix()
    {
        var c = Case("joint_npreg");
        var (data, header) = Load(c);
        int x = Array.IndexOf(header, "x");
        var counts = Blocks.PoissonRegression("yp", Array.IndexOf(header, "yp"), [x]);
        var binary = Blocks.LogisticRegression("yb", Array.IndexOf(header, "yb"), [x]);
        var fit = Mixture.WithComponents(2).Observe(counts, binary).Build().Fit(data, FromPartition(c, data.Rows));
        var mle = c.GetProperty("mle");
        CompareLogLikelihood(mle, fit);
        var poisson = Matrix(mle.GetProperty("poisson_coefficients"));
        var poissonSe = Matrix(mle.GetProperty("poisson_coefficient_standard_errors"));
        var logistic = Matrix(mle.GetProperty("logistic_coefficients"));
        var logisticSe = Matrix(mle.GetProperty("logistic_coefficient_standard_errors"));
        for (int k = 0; k < 2; k++)
        {
            Compare($"component {k} Poisson coefficients", poisson[k], poissonSe[k], RegressionData.Coefficients(fit.Parameters(counts)[k]));
            Compare($"component {k} logistic coefficients", logistic[k], logisticSe[k], RegressionData.Coefficients(fit.Parameters(binary)[k]));
        }
    }
}
