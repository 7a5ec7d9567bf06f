using System.Text.Json;
using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Inference;

namespace EmDsl.Tests.Hmm;

/// <summary>
/// A real count series — the annual numbers of major earthquakes, 1900–2006 (Zucchini &amp; MacDonald 2009) — against
/// maximum-likelihood fits computed independently of EM: tests/fixtures/hmm_earthquakes_mle.json, written by
/// tests/fixtures/make_hmm_fixtures.py (scipy 1.10.1: direct maximisation of the forward-algorithm likelihood from
/// many starts, BFGS then a Newton polish; the initial distribution free, its optimum a vertex of the simplex), and
/// cross-checked by tests/fixtures/make_hmm_fixtures.R with R's msm (2 states: the same optimum to 1e-13). EmDsl's
/// Poisson HMM from its default start (k-means++ restarts) must reach the same log-likelihood and parameters.
/// </summary>
public class EarthquakeReferenceTests
{
    private static readonly JsonElement Fixture =
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", "hmm_earthquakes_mle.json"))).RootElement;

    internal static DataMatrix Earthquakes() =>
        DataMatrix.FromColumn(File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "data", "earthquakes.csv")).Skip(1)
            .Select(l => double.Parse(l.Split(',')[1], System.Globalization.CultureInfo.InvariantCulture)));

    private static JsonElement Reference(int k) =>
        Fixture.GetProperty("models").EnumerateArray().Single(m => m.GetProperty("K").GetInt32() == k && m.GetProperty("initial_distribution").GetString() == "free_delta");

    [Theory]
    [InlineData(2, 1e-6)]
    [InlineData(3, 2e-4)]
    public void PoissonHmmReachesTheIndependentMaximumLikelihoodFit(int k, double transitionTolerance)
    {
        var reference = Reference(k);
        var data = Earthquakes();
        Assert.Equal(Fixture.GetProperty("n").GetInt32(), data.Rows);
        var quakes = Blocks.Poisson("quakes", [0]);
        var fit = HiddenMarkov.WithStates(k).Observe(quakes).Build()
            .Fit(data, FitOptions.Default with { Restarts = 10, Seed = 1, Tolerance = 1e-12, MaxIterations = 20_000 });

        Assert.Equal(reference.GetProperty("loglik").GetDouble(), fit.LogLikelihood, 1e-6);
        var rates = fit.Parameters(quakes).Select(p => p.Rates[0]).ToArray();
        var order = HmmFixtures.OrderBy(rates);
        var lambda = reference.GetProperty("lambda").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        for (int i = 0; i < k; i++) Assert.Equal(lambda[i], rates[order[i]], 1e-4 * lambda[i]);
        var gamma = reference.GetProperty("gamma").EnumerateArray().Select(r => r.EnumerateArray().Select(e => e.GetDouble()).ToArray()).ToArray();
        var a = HmmFixtures.Permute(fit.TransitionMatrix, order);
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++)
                Assert.True(Math.Abs(gamma[i][j] - a[i, j]) <= transitionTolerance, $"Γ[{i},{j}]: reference {gamma[i][j]:G8}, EmDsl {a[i, j]:G8}");
        var delta = reference.GetProperty("delta").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        for (int i = 0; i < k; i++) Assert.Equal(delta[i], fit.InitialProbabilities[order[i]], 1e-9);
        Assert.True(fit.Converged, fit.Status.ToString());
        // 2 states: 1 + 2 + 2 free parameters; 3 states: 2 + 6 + 3.
        Assert.Equal(k - 1 + k * (k - 1) + k, fit.FreeParameterCount);
    }
}
