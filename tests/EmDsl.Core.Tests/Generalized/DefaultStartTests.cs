using System.Text.Json;
using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Inference;
using Xunit.Abstractions;

namespace EmDsl.Tests.Generalized;

/// <summary>
/// The default start (<see cref="Initialization.Auto"/>) of regression mixtures and mixtures of experts reaches the
/// known optimum — the best of many flexmix runs from random partitions, tests/fixtures/r_start_optima.json made by
/// tests/fixtures/make_start_fixtures.R — on flexmix's NPreg (Gaussian and Poisson regressions), flexmix's patent
/// mixture of experts and a simulated mixture of logistic regressions: the log-likelihood to 1e-6 (relative) and the
/// parameters up to label switching. How often it does so over many seeds is measured by
/// <c>dotnet run -c Release --project bench/EmDsl.Bench -- starts</c>, not asserted here.
/// </summary>
public class DefaultStartTests(ITestOutputHelper output)
{
    private static string Fixtures => Path.Combine(AppContext.BaseDirectory, "fixtures");

    private static readonly Lazy<JsonElement> Optima = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(Fixtures, "r_start_optima.json"))).RootElement);

    private static JsonElement Optimum(string name) =>
        Optima.Value.GetProperty("cases").EnumerateArray().Single(c => c.GetProperty("name").GetString() == name).GetProperty("optimum");

    private static (DataMatrix Data, string[] Header) Load(string file)
    {
        var path = Path.Combine(Fixtures, file);
        return (DataMatrix.ReadCsv(path), File.ReadLines(path).First().Split(','));
    }

    private static double[] Vector(JsonElement e) => e.EnumerateArray().Select(v => v.GetDouble()).ToArray();

    private static double[][] Matrix(JsonElement e) => e.EnumerateArray().Select(Vector).ToArray();

    /// <summary>
    /// A case's model and data, and a function giving each component's parameters (fitted, then from the fixture) as
    /// one vector; for a gated mixture, the gating coefficients come last and are compared relative to component 0.
    /// </summary>
    private sealed record Case(MixtureModel Model, DataMatrix Data, Func<MixtureFit, double[][]> Fitted, double[][] Expected, bool Gated);

    private static Case Build(string name)
    {
        var o = Optimum(name);
        double[][] Join(params double[][][] parts) => Enumerable.Range(0, parts[0].Length).Select(k => parts.SelectMany(p => p[k]).ToArray()).ToArray();
        double[][] Weights(MixtureFit f) => f.Weights.Select(w => new[] { w }).ToArray();
        double[][] expectedWeights = o.TryGetProperty("weights", out var w) ? Vector(w).Select(v => new[] { v }).ToArray() : []; // none for experts
        switch (name)
        {
            case "gaussian_npreg":
            {
                var (d, h) = Load("r_npreg.csv");
                int x = Array.IndexOf(h, "x"), yn = Array.IndexOf(h, "yn");
                var data = DataMatrix.FromRows(Enumerable.Range(0, d.Rows).Select(i => new[] { d[i, yn], d[i, x], d[i, x] * d[i, x] }));
                var block = Blocks.LinearRegression("yn", 0, [1, 2]);
                var sigma = Vector(o.GetProperty("sigma")).Select(s => new[] { s }).ToArray();
                return new(Mixture.WithComponents(2).Observe(block).Build(), data,
                    f => Join(f.Parameters(block).Select(p => RegressionData.Coefficients(p.Coefficients)).ToArray(),
                        f.Parameters(block).Select(p => new[] { Math.Sqrt(p.Variance) }).ToArray(), Weights(f)),
                    Join(Matrix(o.GetProperty("coefficients")), sigma, expectedWeights), false);
            }
            case "poisson_npreg":
            {
                var (d, h) = Load("r_npreg.csv");
                var block = Blocks.PoissonRegression("yp", Array.IndexOf(h, "yp"), [Array.IndexOf(h, "x")]);
                return new(Mixture.WithComponents(2).Observe(block).Build(), d,
                    f => Join(f.Parameters(block).Select(RegressionData.Coefficients).ToArray(), Weights(f)),
                    Join(Matrix(o.GetProperty("coefficients")), expectedWeights), false);
            }
            case "experts_patent":
            {
                var (d, h) = Load("r_patent.csv");
                var block = Blocks.PoissonRegression("patents", Array.IndexOf(h, "Patents"), [Array.IndexOf(h, "lgRD")]);
                return new(Mixture.WithComponents(3).Observe(block).GatedBy([Array.IndexOf(h, "RDS")]).Build(), d,
                    f => Join(f.Parameters(block).Select(RegressionData.Coefficients).ToArray(), f.GatingCoefficients.Select(RegressionData.Coefficients).ToArray()),
                    Join(Matrix(o.GetProperty("coefficients")), Matrix(o.GetProperty("gating_coefficients"))), true);
            }
            case "logistic_three":
            {
                var (d, h) = Load("r_logistic_mixture.csv");
                int x = Array.IndexOf(h, "x");
                var blocks = new[] { "y1", "y2", "y3" }.Select(y => Blocks.LogisticRegression(y, Array.IndexOf(h, y), [x])).ToArray();
                return new(Mixture.WithComponents(2).Observe(blocks).Build(), d,
                    f => Join([.. blocks.Select(b => f.Parameters(b).Select(RegressionData.Coefficients).ToArray()), Weights(f)]),
                    Join(Matrix(o.GetProperty("coefficients_y1")), Matrix(o.GetProperty("coefficients_y2")), Matrix(o.GetProperty("coefficients_y3")), expectedWeights), false);
            }
            default:
                throw new ArgumentException(name);
        }
    }

    private static IEnumerable<int[]> Permutations(int k) =>
        k == 1 ? [[0]] : Permutations(k - 1).SelectMany(p => Enumerable.Range(0, k).Select(i => p.Take(i).Append(k - 1).Concat(p.Skip(i)).ToArray()));

    /// <summary>The largest |fitted − expected| / max(1, |expected|) under the best relabelling of the fitted components.</summary>
    private static double ParameterDistance(double[][] fitted, double[][] expected, bool gated)
    {
        int k = fitted.Length, d = fitted[0].Length, gatingStart = gated ? d - 2 : d;
        double best = double.PositiveInfinity;
        foreach (var perm in Permutations(k))
        {
            double worst = 0;
            for (int c = 0; c < k; c++)
                for (int j = 0; j < d; j++)
                {
                    // A relabelled gating is relative to the new reference component.
                    double f = fitted[perm[c]][j] - (j >= gatingStart ? fitted[perm[0]][j] : 0);
                    worst = Math.Max(worst, Math.Abs(f - expected[c][j]) / Math.Max(1, Math.Abs(expected[c][j])));
                }
            best = Math.Min(best, worst);
        }
        return best;
    }

    private static FitOptions Tight(int seed) => FitOptions.Default with { Seed = seed, Tolerance = 1e-10, MaxIterations = 20_000 };

    [Theory]
    [InlineData("gaussian_npreg", 0)]
    [InlineData("gaussian_npreg", 1)]
    [InlineData("gaussian_npreg", 2)]
    [InlineData("poisson_npreg", 0)]
    [InlineData("poisson_npreg", 1)]
    [InlineData("poisson_npreg", 2)]
    [InlineData("experts_patent", 0)]
    [InlineData("experts_patent", 1)]
    [InlineData("experts_patent", 2)]
    [InlineData("logistic_three", 0)]
    [InlineData("logistic_three", 1)]
    [InlineData("logistic_three", 2)]
    public void DefaultStartReachesTheKnownOptimum(string name, int seed)
    {
        var c = Build(name);
        var fit = c.Model.Fit(c.Data, Tight(seed));
        double optimum = Optimum(name).GetProperty("loglik").GetDouble();
        double distance = ParameterDistance(c.Fitted(fit), c.Expected, c.Gated);
        output.WriteLine($"{name}, seed {seed}: log-likelihood {fit.LogLikelihood:G12} (optimum {optimum:G12}), {fit.Iterations} iterations, parameters within {distance:G3}");
        Assert.True(Math.Abs(fit.LogLikelihood - optimum) <= 1e-6 * Math.Abs(optimum),
            $"{name}, seed {seed}: the default start ended at log-likelihood {fit.LogLikelihood:G12}; the optimum is {optimum:G12}");
        Assert.True(distance <= 1e-3, $"{name}, seed {seed}: parameters differ from the optimum's by {distance:G3} (relative, best relabelling)");
        Assert.False(fit.Diagnostics.ObjectiveEverDecreased);
    }
}
