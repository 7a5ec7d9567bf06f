using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Inference;
using EmDsl.Optimization;
using EmDsl.Tests.Generalized;
using static EmDsl.Tests.Engine.EngineFixtures;

namespace EmDsl.Tests.Engine;

/// <summary>
/// The free energy of every half-step, for every latent structure and kind of block: one value after each E- and
/// M-step, never falling, equal to the objective after each E-step; the acceptance policy's verdicts on near-collinear
/// data far from the origin; and fits that stall reported as stalled, not converged.
/// </summary>
public class FreeEnergyTraceTests
{
    private static void Check(ModelFit fit, string what)
    {
        Assert.True(fit.Iterations >= 2, $"{what}: only {fit.Iterations} iterations");
        FreeEnergyChecks.AssertHalfSteps(fit, what);
    }

    [Theory]
    [InlineData(CovarianceType.Full)]
    [InlineData(CovarianceType.Tied)]
    [InlineData(CovarianceType.Diagonal)]
    [InlineData(CovarianceType.Spherical)]
    public void GaussianMixturesOfEveryCovarianceType(CovarianceType covariance)
    {
        var fit = Mixture.WithComponents(3).Observe(Blocks.Gaussian("g", [0, 1], covariance)).WithWeightPrior(1.2).Build()
            .Fit(OldFaithful(), FitOptions.Default with { Seed = 2, Tolerance = 1e-10 });
        Check(fit, covariance.ToString());
    }

    [Fact]
    public void MixedBlocksWithPriorsAndWeights()
    {
        var m = new MixedModel();
        var data = MixedModel.Data(400, seed: 3);
        var w = Enumerable.Range(0, data.Rows).Select(i => 0.5 + i % 3).ToArray();
        Check(m.Model.Fit(data, m.Options(40), w), "mixed blocks");
    }

    [Fact]
    public void RegressionAndExpertMixtures()
    {
        var data = RegressionData.Experts(3000, seed: 4);
        var y = Blocks.LinearRegression("y", 0, [1]);
        Check(Mixture.WithComponents(2).Observe(y).GatedBy([1]).Build().Fit(data, FitOptions.Default with { Seed = 1, MaxIterations = 30 }), "experts");
        var counts = Blocks.PoissonRegression("n", 0, [1]);
        Check(Mixture.WithComponents(2).Observe(counts).Build().Fit(RegressionData.Poisson(3000, seed: 4), FitOptions.Default with { Seed = 1, MaxIterations = 30 }), "Poisson regressions");
        var linear = Blocks.LinearRegression("y", 0, [1], prior: new CoefficientPrior(0.5));
        Check(Mixture.WithComponents(2).Observe(linear).Build().Fit(data, FitOptions.Default with { Seed = 1, MaxIterations = 30 }), "ridge linear regressions");
    }

    [Fact]
    public void DeclaredAndIterativeFamilies()
    {
        var data = OldFaithful();
        Check(Mixture.WithComponents(2).Observe(Blocks.FromFamily("w", [1], DeclaredFamilies.InverseGaussian())).Build()
            .Fit(data, FitOptions.Default with { Seed = 1, MaxIterations = 30 }), "declared inverse Gaussian");
        Check(Mixture.WithComponents(2).Observe(Blocks.Gamma("w", [1])).Build().Fit(data, FitOptions.Default with { Seed = 1, MaxIterations = 30 }), "Gamma");
    }

    [Fact]
    public void HiddenMarkovModels()
    {
        var fit = HiddenMarkov.WithStates(3).Observe(Blocks.Poisson("n", [0])).WithTransitionPrior(1.5).Build()
            .Fit(Hmm.EarthquakeReferenceTests.Earthquakes(), FitOptions.Default with { Seed = 1, Tolerance = 1e-10 });
        Check(fit, "earthquakes");
    }

    /// <summary>
    /// A block whose every M-step candidate is rejected cannot move at all: stalled, not converged. (An M-step optimiser
    /// allowed no step used to stage this; FitOptions now rejects MStepOptimizer.MaxIterations = 0.) Here a declared
    /// family's mean domain closes after the first E-step, so every later estimate is invalid.
    /// </summary>
    [Fact]
    public void AFitWhoseEveryCandidateIsRejectedIsStalled()
    {
        var rows = Enumerable.Range(0, 200).Select(i => new double[] { i % 2 == 0 ? i % 5 : 20 + i % 7 }).ToArray();
        var data = DataMatrix.FromRows(rows);
        bool closed = false;
        var family = DeclaredFamily.Declare("closing Poisson", 1, x => x, eta => eta.Exp().Sum(), NaturalDomain.Unconstrained(1))
            .WithSupport(ColumnSupport.NonNegativeInteger)
            .WithMeanDomain(m => !closed && m[0] > 0)
            .Build();
        var model = Mixture.WithComponents(2).Observe(Blocks.FromFamily("n", [0], family)).Build();
        var stuck = model.Fit(data, FitOptions.Default with { Seed = 1 }, progress: new Synchronous(_ => closed = true));
        Assert.Equal(FitStatus.Stalled, stuck.Status);
        Assert.False(stuck.Converged);
        Assert.Equal(["n"], stuck.Diagnostics.StalledParameters);
        Assert.Contains("stalled", stuck.ToString());
        closed = false;
        var moving = model.Fit(data, FitOptions.Default with { Seed = 1 });
        Assert.Equal(FitStatus.Converged, moving.Status);
        Assert.Empty(moving.Diagnostics.StalledParameters);
    }

    private sealed class Synchronous(Action<FitProgress> report) : IProgress<FitProgress>
    {
        public void Report(FitProgress value) => report(value);
    }

    [Fact]
    public void TheIterationLimitIsNotConvergence()
    {
        var fit = Mixture.WithComponents(2).Observe(Blocks.Gaussian("g", [0, 1])).Build().Fit(OldFaithful(), FitOptions.Default with { Seed = 1, MaxIterations = 1 });
        Assert.Equal(FitStatus.IterationLimit, fit.Status);
        Assert.Equal(3, fit.FreeEnergyTrace.Count);
    }

    /// <summary>The free energy is a real lower bound: F(q_t, θ_{t+1}) is below the objective at θ_{t+1} (the next E-step closes that gap).</summary>
    [Fact]
    public void AfterTheMStepTheFreeEnergyIsBelowTheNextObjective()
    {
        var fit = Mixture.WithComponents(3).Observe(Blocks.Gaussian("g", [0, 1])).Build().Fit(OldFaithful(), FitOptions.Default with { Seed = 1, MaxIterations = 8, Tolerance = 0 });
        var f = fit.FreeEnergyTrace;
        for (int t = 0; t + 1 < fit.ObjectiveTrace.Count; t++)
        {
            Assert.True(f[2 * t + 1].Value > f[2 * t].Value, $"iteration {t}: the M-step gained nothing");
            Assert.True(f[2 * t + 1].Value <= fit.ObjectiveTrace[t + 1] + 1e-9 * Math.Abs(fit.ObjectiveTrace[t + 1]), $"iteration {t}: F above the next objective");
        }
    }
}
