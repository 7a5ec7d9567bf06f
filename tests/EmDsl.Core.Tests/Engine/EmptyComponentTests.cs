using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Families.Priors;
using EmDsl.Inference;
using static EmDsl.Tests.Engine.EngineFixtures;

namespace EmDsl.Tests.Engine;

/// <summary>
/// FitOptions.EmptyComponentThreshold's policy: an empty component keeps its block parameters exactly, its
/// weight follows the usual M-step (0 under ML), the event is recorded, and nothing becomes NaN.
/// Degenerate data (identical rows, a component on one point without a covariance floor) must not crash.
/// </summary>
public class EmptyComponentTests
{
    private static void AssertAllFinite(MixtureFit fit)
    {
        var values = AllValues(fit);
        Assert.True(values.All(double.IsFinite), "non-finite parameter: " + string.Join(", ", values));
        Assert.True(fit.ObjectiveTrace.All(double.IsFinite));
        Assert.Equal(1.0, fit.Weights.Sum(), 1e-12);
    }

    [Fact]
    public void AComponentFarFromAllDataIsEmptiedAndFrozen()
    {
        var data = TwoClusters(200, seed: 61);
        var gauss = Blocks.Gaussian("g", [0, 1]);
        var model = Mixture.WithComponents(3).Observe(gauss).Build();
        var far = new GaussianParameters([1000, 1000], new double[,] { { 1, 0.2 }, { 0.2, 2 } });
        var init = Initialization.FromParameters([0.4, 0.3, 0.3]).With(gauss,
            [GaussianParameters.WithVariances([0, 0], [1, 1]), GaussianParameters.WithVariances([6, -3], [1, 1]), far]);
        var fit = model.Fit(data, FitOptions.Default with { Initialization = init, MaxIterations = 100 });

        var emptied = fit.Diagnostics.Events.Where(e => e.Kind == FitEventKind.ComponentEmptied).ToArray();
        Assert.Single(emptied);
        Assert.Equal(2, emptied[0].Component);
        Assert.Equal([2], fit.Diagnostics.EmptyComponents);
        Assert.Equal(0.0, fit.Weights[2]);
        var frozen = fit.Parameters(gauss)[2];
        Assert.Equal(far.Mean, frozen.Mean);                                  // exactly as initialised
        Assert.Equal(far.Covariance.ToArray(), frozen.Covariance.ToArray());
        AssertAllFinite(fit);
        AssertNonDecreasing(fit.ObjectiveTrace);
        Assert.False(fit.Diagnostics.ObjectiveEverDecreased);
        Assert.True(fit.Converged);
        // The other two components still fit the two clusters.
        Assert.Equal(1.0, fit.Weights[0] + fit.Weights[1], 1e-12);
        var proba = fit.PredictProba(data);
        for (int i = 0; i < data.Rows; i++) Assert.Equal(0.0, proba[i, 2]);
    }

    [Fact]
    public void EmptiedComponentsOfEveryFamilyKeepTheirParameters()
    {
        var data = MixedModel.Data(150, seed: 62);
        var m = new MixedModel();
        var model = Mixture.WithComponents(3).Observe(m.Gauss).Observe(m.Counts).Observe(m.Colour).Observe(m.Flags).Build();
        var farGauss = GaussianParameters.WithVariances([-500, 500], [0.5, 0.5]);
        var init = Initialization.FromParameters([0.45, 0.45, 0.1])
            .With(m.Gauss, [GaussianParameters.WithVariances([0, 0], [1, 1]), GaussianParameters.WithVariances([3, -1], [1, 1]), farGauss])
            .With(m.Counts, [new PoissonParameters([2]), new PoissonParameters([7]), new PoissonParameters([123])])
            .With(m.Colour, [new CategoricalParameters([0.5, 0.3, 0.2]), new CategoricalParameters([0.1, 0.3, 0.6]), new CategoricalParameters([0.01, 0.01, 0.98])])
            .With(m.Flags, [new BernoulliParameters([0.3, 0.6]), new BernoulliParameters([0.8, 0.2]), new BernoulliParameters([0.999, 0.001])]);
        var fit = model.Fit(data, FitOptions.Default with { Initialization = init, MaxIterations = 60 });
        Assert.Equal([2], fit.Diagnostics.EmptyComponents);
        Assert.Equal(0.0, fit.Weights[2]);
        // "Its block parameters are kept as they were": compare with ==, family by family.
        var changed = new List<string>();
        void Same(string what, IEnumerable<double> initial, IEnumerable<double> final)
        {
            if (!initial.SequenceEqual(final)) changed.Add($"{what}: [{string.Join(", ", initial.Select(v => v.ToString("R")))}] → [{string.Join(", ", final.Select(v => v.ToString("R")))}]");
        }
        Same("gaussian mean", farGauss.Mean, fit.Parameters(m.Gauss)[2].Mean);
        Same("gaussian covariance", farGauss.Covariance.ToArray().Cast<double>(), fit.Parameters(m.Gauss)[2].Covariance.ToArray().Cast<double>());
        Same("poisson rates", [123.0], fit.Parameters(m.Counts)[2].Rates);
        Same("categorical probabilities", [0.01, 0.01, 0.98], fit.Parameters(m.Colour)[2].Probabilities);
        Same("bernoulli probabilities", [0.999, 0.001], fit.Parameters(m.Flags)[2].Probabilities);
        Assert.True(changed.Count == 0, "the empty component's parameters changed: " + string.Join("; ", changed));
        AssertAllFinite(fit);
        AssertNonDecreasing(fit.ObjectiveTrace);
    }

    /// <summary>A tied block: the empty component's mean is frozen; its covariance is the shared one (it cannot be frozen alone).</summary>
    [Fact]
    public void AnEmptyComponentOfATiedBlockKeepsItsMeanAndSharesTheCovariance()
    {
        var data = TwoClusters(200, seed: 67);
        var gauss = Blocks.Gaussian("g", [0, 1], CovarianceType.Tied);
        var cov = new double[,] { { 1, 0 }, { 0, 1 } };
        var init = Initialization.FromParameters([0.4, 0.4, 0.2]).With(gauss,
            [new GaussianParameters([0, 0], cov), new GaussianParameters([6, -3], cov), new GaussianParameters([-900, 900], cov)]);
        var fit = Mixture.WithComponents(3).Observe(gauss).Build().Fit(data, FitOptions.Default with { Initialization = init, MaxIterations = 50 });
        Assert.Equal([2], fit.Diagnostics.EmptyComponents);
        Assert.Equal(0.0, fit.Weights[2]);
        var p = fit.Parameters(gauss);
        Assert.Equal([-900.0, 900.0], p[2].Mean);
        Assert.Equal(p[0].Covariance.ToArray(), p[2].Covariance.ToArray());
        AssertAllFinite(fit);
        AssertNonDecreasing(fit.ObjectiveTrace);
    }

    /// <summary>Under a weight prior the empty component keeps the prior's mode as its weight, and stays finite.</summary>
    [Fact]
    public void UnderAWeightPriorAnEmptyComponentKeepsThePriorMode()
    {
        var data = TwoClusters(200, seed: 63);
        var gauss = Blocks.Gaussian("g", [0, 1]);
        var model = Mixture.WithComponents(3).Observe(gauss).WithWeightPrior(new DirichletPrior([2, 2, 2])).Build();
        var init = Initialization.FromParameters([0.4, 0.4, 0.2]).With(gauss,
            [GaussianParameters.WithVariances([0, 0], [1, 1]), GaussianParameters.WithVariances([6, -3], [1, 1]), GaussianParameters.WithVariances([1e4, 0], [1, 1])]);
        var fit = model.Fit(data, FitOptions.Default with { Initialization = init, MaxIterations = 50 });
        Assert.Contains(2, fit.Diagnostics.EmptyComponents);
        Assert.Equal(1.0 / (6 - 3 + 200), fit.Weights[2], 1e-12); // (α − 1 + 0)/(Σα − K + N)
        Assert.Equal([1e4, 0], fit.Parameters(gauss)[2].Mean);
        AssertAllFinite(fit);
        AssertNonDecreasing(fit.ObjectiveTrace);
    }

    [Theory]
    [InlineData(BlockKind.Gaussian)]
    [InlineData(BlockKind.Poisson)]
    [InlineData(BlockKind.Exponential)]
    [InlineData(BlockKind.Bernoulli)]
    [InlineData(BlockKind.Categorical)]
    public void IdenticalRowsWithThreeComponentsDoNotThrow(BlockKind kind)
    {
        double[] row = kind switch
        {
            BlockKind.Gaussian => [3.25, -1.5],
            BlockKind.Poisson => [4, 0],
            BlockKind.Exponential => [0, 2.5],
            BlockKind.Bernoulli => [1, 0],
            _ => [0, 1],
        };
        var data = DataMatrix.FromRows(Enumerable.Repeat(row, 20).ToArray());
        Block block = kind switch
        {
            BlockKind.Gaussian => Blocks.Gaussian("x", [0, 1]),
            BlockKind.Poisson => Blocks.Poisson("x", [0, 1]),
            BlockKind.Exponential => Blocks.Exponential("x", [0, 1]),
            BlockKind.Bernoulli => Blocks.Bernoulli("x", [0, 1]),
            _ => Blocks.Categorical("x", [0, 1], 2),
        };
        var fit = Mixture.WithComponents(3).Observe(block).Build().Fit(data, FitOptions.Default with { Restarts = 2 });
        AssertAllFinite(fit);
        AssertNonDecreasing(fit.ObjectiveTrace);
        Assert.All(fit.ScoreSamples(data), s => Assert.True(double.IsFinite(s)));
        if (block is Block<GaussianParameters> g)
            Assert.Contains(fit.Parameters(g), p => p.Mean[0] == 3.25 && p.Mean[1] == -1.5);
    }

    /// <summary>
    /// CovarianceFloor = 0: a component initialised on an isolated point gets responsibility exactly 1 for that
    /// point and exactly 0 elsewhere, so its ML covariance is 0. The M-step must be rejected (previous
    /// parameters kept) with an MStepRejected event, not crash or return NaN.
    /// </summary>
    [Theory]
    [InlineData(CovarianceType.Full)]
    [InlineData(CovarianceType.Diagonal)]
    [InlineData(CovarianceType.Spherical)]
    public void WithoutAFloorACollapsingComponentIsRejectedNotFatal(CovarianceType type)
    {
        var r = new Random(64);
        var rows = Enumerable.Range(0, 50).Select(_ => new[] { Normal(r), Normal(r) }).Append([800, -800]).ToArray();
        var data = DataMatrix.FromRows(rows);
        var gauss = Blocks.Gaussian("g", [0, 1], type);
        var start = GaussianParameters.WithVariances([800, -800], [1, 1]);
        var init = Initialization.FromParameters([0.9, 0.1]).With(gauss, [GaussianParameters.WithVariances([0, 0], [1, 1]), start]);
        var fit = Mixture.WithComponents(2).Observe(gauss).Build().Fit(data, FitOptions.Default with { Initialization = init, CovarianceFloor = 0, MaxIterations = 20 });

        var rejected = fit.Diagnostics.Events.Where(e => e.Kind == FitEventKind.MStepRejected).ToArray();
        Assert.NotEmpty(rejected);
        Assert.All(rejected, e => { Assert.Equal("g", e.Block); Assert.Equal(1, e.Component); });
        AssertAllFinite(fit);
        AssertNonDecreasing(fit.ObjectiveTrace);
        Assert.Equal(start.Covariance.ToArray(), fit.Parameters(gauss)[1].Covariance.ToArray()); // previous (initial) parameters kept
        Assert.Equal(1.0 / 51, fit.Weights[1], 1e-12);
    }

    [Fact]
    public void WithoutAFloorATiedCovarianceOnCollinearDataIsRejectedNotFatal()
    {
        // Every row on the line y = 2x: the pooled scatter is singular.
        var r = new Random(65);
        var data = DataMatrix.FromRows(Enumerable.Range(0, 30).Select(_ => { double x = Normal(r) + (r.Next(2) == 0 ? 0 : 5); return new[] { x, 2 * x }; }).ToArray());
        var gauss = Blocks.Gaussian("g", [0, 1], CovarianceType.Tied);
        var cov = new double[,] { { 1, 0 }, { 0, 1 } };
        var init = Initialization.FromParameters([0.5, 0.5]).With(gauss, [new GaussianParameters([0, 0], cov), new GaussianParameters([5, 10], cov)]);
        var fit = Mixture.WithComponents(2).Observe(gauss).Build().Fit(data, FitOptions.Default with { Initialization = init, CovarianceFloor = 0, MaxIterations = 10 });
        Assert.Contains(fit.Diagnostics.Events, e => e.Kind == FitEventKind.MStepRejected && e.Block == "g");
        AssertAllFinite(fit);
        AssertNonDecreasing(fit.ObjectiveTrace);
    }

    /// <summary>Initial responsibilities that leave a component without data: documented fall-back, reported.</summary>
    [Fact]
    public void InitialResponsibilitiesWithAnEmptyComponentFallBackToAllRows()
    {
        var data = TwoClusters(40, seed: 66);
        var gauss = Blocks.Gaussian("g", [0, 1]);
        var resp = new double[40, 3];
        for (int i = 0; i < 40; i++) resp[i, i % 2] = 1;
        var fit = Mixture.WithComponents(3).Observe(gauss).Build()
            .Fit(data, FitOptions.Default with { Initialization = Initialization.FromResponsibilities(resp), MaxIterations = 30 });
        Assert.Contains(fit.Diagnostics.Events, e => e.Kind == FitEventKind.InitializationFallback && e.Component == 2 && e.Iteration == 0);
        AssertAllFinite(fit);
        AssertNonDecreasing(fit.ObjectiveTrace);
    }
}
