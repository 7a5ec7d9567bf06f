using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Inference;
using Xunit.Abstractions;
using static EmDsl.Tests.Engine.EngineFixtures;

namespace EmDsl.Tests.Engine;

/// <summary>
/// EM (and MAP-EM) never lowers log p(X | θ) + log p(θ) (seed 000: the E-step makes the ELBO tight, the
/// M-step maximises it), whatever the blocks, priors, sample weights and data.
/// </summary>
public class MonotonicityProperties(ITestOutputHelper output)
{
    /// <summary>Fits one random case and checks every invariant; throws (with the case) on violation.</summary>
    internal static MixtureFit CheckCase(MixtureCase c)
    {
        var blocks = RandomMixtures.BuildBlocks(c);
        var model = RandomMixtures.BuildModel(c, blocks);
        var data = RandomMixtures.BuildData(c);
        var weights = RandomMixtures.BuildWeights(c);
        var options = FitOptions.Default with { MaxIterations = c.MaxIterations, Tolerance = 0, Seed = c.DataSeed, ChunkRows = c.ChunkRows };
        MixtureFit fit;
        try { fit = model.Fit(data, options, weights); }
        catch (Exception e) { throw new Exception($"Fit threw on {c}: {e.GetType().Name}: {e.Message}", e); }

        var trace = fit.ObjectiveTrace;
        Assert.True(trace.Count == fit.Iterations + 1, $"{c}: trace has {trace.Count} entries after {fit.Iterations} iterations.");
        for (int i = 1; i < trace.Count; i++)
        {
            double prev = trace[i - 1];
            if (!(trace[i] - prev >= -1e-9 * Math.Max(1, Math.Abs(prev))))
                Assert.Fail($"{c}: objective decreased at iteration {i}: {prev:G17} → {trace[i]:G17}. Events: {string.Join(" | ", fit.Diagnostics.Events)}");
        }
        Assert.True(trace.All(double.IsFinite), $"{c}: non-finite objective.");
        var decreased = fit.Diagnostics.Events.Where(e => e.Kind == FitEventKind.ObjectiveDecreased).ToArray();
        Assert.True(decreased.Length == 0, $"{c}: ObjectiveDecreased recorded: {string.Join(" | ", decreased.Select(e => e.ToString()))}");
        Assert.False(fit.Diagnostics.ObjectiveEverDecreased);

        var values = AllValues(fit);
        for (int i = 0; i < values.Length; i++)
            Assert.True(double.IsFinite(values[i]), $"{c}: returned parameter {i} is {values[i]}.");
        Assert.True(Math.Abs(fit.Weights.Sum() - 1) <= 1e-12, $"{c}: weights sum to {fit.Weights.Sum():G17}.");
        Assert.True(fit.Weights.All(w => w >= 0), $"{c}: negative weight.");
        Assert.Equal(fit.LogLikelihood + fit.LogPrior, fit.Objective, 1e-9 * Math.Max(1, Math.Abs(fit.Objective)));
        FreeEnergyChecks.AssertHalfSteps(fit, c.ToString());
        return fit;
    }

    /// <summary>
    /// The exact-mode property of one case: with <see cref="FitOptions.CovarianceFloor"/> 0 every built-in M-step of
    /// these blocks is an exact maximiser, and with <see cref="FitOptions.CheckMSteps"/> off every candidate is taken as
    /// computed, so — unless the data made a floor bind or an estimate degenerate, which the diagnostics count and
    /// which skips the case — no candidate may be rejected and every M half-step must raise the free energy. A guard
    /// that quietly rejects a wrong M-step cannot hide it here. Returns whether the case qualified.
    /// </summary>
    internal static bool CheckExactCase(MixtureCase c, Initialization? start = null)
    {
        var blocks = RandomMixtures.BuildBlocks(c);
        var model = RandomMixtures.BuildModel(c, blocks);
        var data = RandomMixtures.BuildData(c);
        var options = FitOptions.Default with
        {
            MaxIterations = c.MaxIterations, Tolerance = 0, Seed = c.DataSeed, ChunkRows = c.ChunkRows, CovarianceFloor = 0, CheckMSteps = false,
            Initialization = start ?? Initialization.KMeansPlusPlus(),
        };
        MixtureFit fit;
        try { fit = model.Fit(data, options, RandomMixtures.BuildWeights(c)); }
        catch (InvalidOperationException e) when (e.Message.Contains("cannot estimate initial")) { return false; } // a degenerate start
        if (fit.Diagnostics.FlooredEstimates > 0 || fit.Diagnostics.InvalidCandidates > 0 || fit.Diagnostics.EmptyComponents.Count > 0) return false;
        FreeEnergyChecks.AssertExact(fit, c.ToString());
        return true;
    }

    [Fact]
    public void ObjectiveNeverDecreases_RandomModelsPriorsWeightsAndData()
    {
        PropertyChecks.ForAll(RandomMixtures.Arbitrary, c => { CheckCase(c); }, baseline: 300);
        output.WriteLine($"{PropertyChecks.Cases(300)} random cases");
    }

    /// <summary>Exact mode (no floors binding): no candidate rejected, every M half-step raises F; most cases qualify.</summary>
    [Fact]
    public void ExactModeRejectsNoCandidateAndEveryMStepRaisesTheFreeEnergy()
    {
        int qualified = 0, total = 0;
        PropertyChecks.ForAll(RandomMixtures.ExactArbitrary, c => { total++; if (CheckExactCase(c)) qualified++; }, baseline: 200);
        output.WriteLine($"{qualified} of {total} random cases ran exactly");
        Assert.True(qualified >= 0.6 * total, $"only {qualified} of {total} cases ran without floors or degenerate estimates: the exact-mode property checks too little.");
    }

    /// <summary>
    /// The properties can fail: with a deliberately wrong M-step (every Gaussian mean estimate scaled by 0.8, injected
    /// for this test's flow only) the exact-mode property fails — on a fit started from sound parameters, and over the
    /// random cases — while the default mode's guard quietly rejects the wrong candidates, so that the objective trace
    /// alone would not show it.
    /// </summary>
    [Fact]
    public void ExactModePropertyCatchesAWrongMStep()
    {
        var c = new MixtureCase(2, [new(BlockKind.Gaussian, 2, CovarianceType.Full, false, false, 2, false, 1)], 200, 3, false, false, false, 40, 4096);
        Assert.True(CheckExactCase(c), "the case must qualify without the fault");
        var sound = RandomMixtures.BuildModel(c, RandomMixtures.BuildBlocks(c)).Fit(RandomMixtures.BuildData(c));
        var start = Initialization.FromFit(sound);
        Assert.True(CheckExactCase(c, start), "the case must qualify from the sound start without the fault");
        GaussianRuntimeFault.Set(0.8);
        try
        {
            var e = Assert.ThrowsAny<Exception>(() => CheckExactCase(c, start));
            output.WriteLine(e.Message);
            Assert.ThrowsAny<Exception>(() => PropertyChecks.ForAll(RandomMixtures.ExactArbitrary, x => { CheckExactCase(x); }, baseline: 100));
            // The default mode's guard hides the fault from the objective: the wrong candidates are rejected.
            var guarded = RandomMixtures.BuildModel(c, RandomMixtures.BuildBlocks(c)).Fit(RandomMixtures.BuildData(c), FitOptions.Default with { Initialization = start });
            AssertNonDecreasing(guarded.ObjectiveTrace);
            Assert.True(guarded.Diagnostics.RejectedCandidates > 0, "the guard should have rejected the wrong estimates");
        }
        finally { GaussianRuntimeFault.Set(null); }
    }

    /// <summary>
    /// Regression case from a soak of the exact-mode property: without a covariance floor a component's covariance
    /// came out positive definite but so near singular that its precision matrix no longer factored, and building the
    /// state threw; the log-normalizer now comes from the covariance's own factor there.
    /// </summary>
    [Fact]
    public void ExactModeSurvivesACovarianceWhosePrecisionDoesNotFactor() =>
        CheckExactCase(new MixtureCase(3,
            [new(BlockKind.Poisson, 3, CovarianceType.Full, false, false, 2, false, 1092643994),
             new(BlockKind.Gaussian, 2, CovarianceType.Full, false, false, 2, false, 823651251),
             new(BlockKind.Poisson, 3, CovarianceType.Diagonal, false, true, 2, false, 487243602)],
            166, 418374769, false, false, true, 48, 7));

    /// <summary>The generator really produces what the property claims to cover (so a narrow generator cannot hide behind it).</summary>
    [Fact]
    public void GeneratorCoversEveryBlockKindCovarianceTypePriorAndOption()
    {
        var cases = FsCheck.Fluent.Gen.Sample(RandomMixtures.CaseGen, 400);
        var blocks = cases.SelectMany(c => c.Blocks).ToArray();
        foreach (var kind in Enum.GetValues<BlockKind>()) Assert.Contains(blocks, b => b.Kind == kind);
        foreach (var cov in Enum.GetValues<CovarianceType>()) Assert.Contains(blocks, b => b.Kind == BlockKind.Gaussian && b.Covariance == cov);
        Assert.Contains(blocks, b => b.Kind == BlockKind.Gaussian && b.Shared);
        Assert.Contains(blocks, b => b.Kind == BlockKind.Categorical && b.OneHot);
        Assert.Contains(blocks, b => b.Kind == BlockKind.Categorical && !b.OneHot);
        foreach (var kind in Enum.GetValues<BlockKind>()) Assert.Contains(blocks, b => b.Kind == kind && b.WithPrior);
        Assert.Contains(cases, c => c.Weighted);
        Assert.Contains(cases, c => c.WeightPrior && c.K > 1);
        Assert.Contains(cases, c => c.Noise);
        for (int k = 1; k <= 4; k++) Assert.Contains(cases, c => c.K == k);
        for (int d = 1; d <= 3; d++) Assert.Contains(blocks, b => b.Kind == BlockKind.Gaussian && b.Dimension == d);
        Assert.Contains(cases, c => c.Rows <= 10);
        Assert.Contains(cases, c => c.Rows >= 150);
    }

    /// <summary>The property's checker is not vacuous: a trace that goes down is caught.</summary>
    [Fact]
    public void NonDecreasingCheckRejectsADecrease() =>
        Assert.ThrowsAny<Exception>(() => AssertNonDecreasing([-10.0, -9.0, -9.5]));

    /// <summary>
    /// Regression case from a search with rescaled data: a Gaussian column of scale 1e-4 (variances ~1e-8, far
    /// below the default CovarianceFloor 1e-6) next to two Exponential blocks. Floored Gaussian M-steps do not
    /// maximise Q; the engine accepts one whose Q is lower by less than 1e-9·|Q_block| (|Q_block| ≈ 300 while the
    /// objective is ≈ 64), and the objective — recomputed with textbook densities, so not a rounding artefact —
    /// falls by 1.7e-7 at iteration 43.
    /// </summary>
    [Fact]
    public void FlooredGaussianStepsNeverLowerTheObjective_SmallScaleColumn()
    {
        var c = new MixtureCase(4,
            [new(BlockKind.Gaussian, 1, CovarianceType.Spherical, false, false, 4, true, 911148704),
             new(BlockKind.Exponential, 2, CovarianceType.Spherical, false, true, 2, true, 1116161362),
             new(BlockKind.Exponential, 2, CovarianceType.Tied, false, false, 3, false, 1820402692)],
            163, 729408297, false, false, false, 59, 7);
        var blocks = RandomMixtures.BuildBlocks(c);
        var model = RandomMixtures.BuildModel(c, blocks);
        var raw = RandomMixtures.BuildData(c).ToArray();
        for (int i = 0; i < raw.GetLength(0); i++) raw[i, 0] *= 1e-4;
        var data = DataMatrix.From(raw);
        var options = FitOptions.Default with { MaxIterations = 59, Tolerance = 0, Seed = c.DataSeed, ChunkRows = 7 };

        double TextbookObjective(int iterations)
        {
            var f = model.Fit(data, options with { MaxIterations = iterations });
            return Enumerable.Range(0, data.Rows).Sum(i => LogSumExp(LogJoint(f, data.GetRow(i)))) + f.LogPrior;
        }
        double before = TextbookObjective(42), after = TextbookObjective(43);
        Assert.True(after >= before - 1e-9 * Math.Abs(before), $"textbook objective fell from {before:G17} to {after:G17} ({after - before:G3})");
        var fit = model.Fit(data, options);
        AssertNonDecreasing(fit.ObjectiveTrace);
        Assert.False(fit.Diagnostics.ObjectiveEverDecreased);
    }

    /// <summary>Hand-picked hard cases that the random search may rarely hit: tiny N, K = 4, every family, duplicates.</summary>
    [Theory]
    [InlineData(4, 5, 1)]
    [InlineData(4, 6, 2)]
    [InlineData(3, 8, 3)]
    public void ObjectiveNeverDecreases_TinyDataManyComponents(int k, int rows, int seed)
    {
        BlockSpec[] blocks =
        [
            new(BlockKind.Gaussian, 3, CovarianceType.Full, false, true, 2, false, seed),
            new(BlockKind.Categorical, 1, CovarianceType.Full, false, false, 3, true, seed),
            new(BlockKind.Exponential, 2, CovarianceType.Full, false, true, 2, false, seed),
        ];
        CheckCase(new MixtureCase(k, blocks, rows, seed, Noise: true, Weighted: false, WeightPrior: false, MaxIterations: 60, ChunkRows: 4096));
        CheckCase(new MixtureCase(k, blocks, rows, seed, Noise: false, Weighted: true, WeightPrior: true, MaxIterations: 60, ChunkRows: 1));
    }
}
