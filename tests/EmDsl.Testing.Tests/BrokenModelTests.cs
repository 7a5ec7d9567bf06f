using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Inference;
using EmDsl.Testing;
using Xunit.Abstractions;

namespace MyModels;

/// <summary>
/// The kit's properties fail on broken models, as they must: a family whose hand-written inverse mean map is off by
/// 20 % (a wrong M-step) lowers the free energy in exact mode, and is rejected again and again in the default mode; a
/// family whose mean map is off fails the finite-difference law.
/// </summary>
public class BrokenModelTests(ITestOutputHelper output)
{
    private static DataMatrix Counts(Random r) =>
        DataMatrix.FromRows(Enumerable.Range(0, 300).Select(_ => new double[] { MathNet.Numerics.Distributions.Poisson.Sample(r, r.Next(2) == 0 ? 2 : 9) }));

    [Fact]
    public void AWrongMStepLowersTheFreeEnergyAndTheKitSaysWhere()
    {
        var broken = Blocks.FromFamily("n", [0], new HandWrittenPoisson(meanScale: 0.8));
        var model = Mixture.WithComponents(2).Observe(broken).Build();
        var report = EmProperties.CheckModel(model, Counts, cases: 5);
        output.WriteLine(report.ToString());
        Assert.False(report.Holds);
        Assert.Contains(report.Violations, v => v.Contains("M-step") && v.Contains("lowered F"));
        Assert.Throws<PropertyViolationException>(() => report.ThrowIfViolated());

        // The free-energy trace of one such fit: every M half-step falls back below the E half-step before it.
        var fit = model.Fit(Counts(new Random(0)), EmProperties.ExactMode(iterations: 6));
        foreach (var p in fit.FreeEnergyTrace) output.WriteLine($"{p.Iteration} {p.After,-13} {p.Value:F6}");
        Assert.Contains(fit.Diagnostics.Events, e => e.Kind == FitEventKind.FreeEnergyDecreased);
    }

    [Fact]
    public void InTheDefaultModeTheGuardRejectsTheWrongMStepsAndTheFitStalls()
    {
        var broken = Blocks.FromFamily("n", [0], new HandWrittenPoisson(meanScale: 0.8));
        var fit = Mixture.WithComponents(2).Observe(broken).Build().Fit(Counts(new Random(1)));
        Assert.True(fit.Diagnostics.RejectedCandidates > 0);
        Assert.Equal(FitStatus.Stalled, fit.Status);
        Assert.Contains("n", fit.Diagnostics.StalledParameters);
        Assert.False(EmProperties.NoCandidateRejected(fit).Holds);
    }

    [Fact]
    public void TheFamilyLawsCatchAWrongInverseAndAWrongMeanMap()
    {
        var wrongInverse = EmProperties.CheckFamily(new HandWrittenPoisson(meanScale: 0.8), r => [r.NextDouble()], cases: 5);
        output.WriteLine(wrongInverse.ToString());
        Assert.False(wrongInverse.Holds);
        var wrongMeanMap = EmProperties.MeanMapMatchesFiniteDifferences(new HandWrittenPoisson(meanMapScale: 1.01), [0.3]);
        output.WriteLine(wrongMeanMap.ToString());
        Assert.False(wrongMeanMap.Holds);
        Assert.True(EmProperties.MeanMapMatchesFiniteDifferences(new HandWrittenPoisson(), [0.3]).Holds);
    }
}
