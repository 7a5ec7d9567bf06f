using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Inference;
using EmDsl.Tests.Engine;
using Xunit.Abstractions;
using static EmDsl.Tests.Engine.EngineFixtures;

namespace EmDsl.Tests.Online;

/// <summary>
/// Incremental EM never lowers the free energy of the whole data (property over random mixtures); stepwise EM ends
/// near the batch optimum on a well-separated problem; both are deterministic for a seed on any thread count; bad
/// settings are named.
/// </summary>
public class OnlineEmTests(ITestOutputHelper output)
{
    /// <summary>Fits one random case by incremental EM and checks F after every half-step; throws with the case on violation.</summary>
    internal static void CheckIncremental(MixtureCase c)
    {
        c = c with { Weighted = false }; // sample weights are not supported over a stream
        var model = RandomMixtures.BuildModel(c, RandomMixtures.BuildBlocks(c));
        var data = RandomMixtures.BuildData(c);
        var online = OnlineEmOptions.Default with { Method = OnlineMethod.Incremental, BatchRows = 1 + c.DataSeed % Math.Max(1, c.Rows / 3), Passes = 3 };
        var options = FitOptions.Default with { Seed = c.DataSeed, ChunkRows = c.ChunkRows };
        MixtureFit fit;
        try { fit = model.FitOnline(new TrickleSource(data, 7), online, options); }
        catch (InvalidOperationException e) when (e.Message.Contains("cannot estimate initial")) { return; } // a degenerate start
        catch (Exception e) { throw new Exception($"FitOnline threw on {c}: {e.GetType().Name}: {e.Message}", e); }
        var f = fit.FreeEnergyTrace;
        int parts = (data.Rows + online.BatchRows - 1) / Math.Min(online.BatchRows, data.Rows);
        Assert.True(f.Count == 2 + 2 * parts * online.Passes, $"{c}: {f.Count} free-energy points for {parts} parts.");
        for (int i = 1; i < f.Count; i++)
            if (!(f[i].Value - f[i - 1].Value >= -1e-9 * Math.Max(1, Math.Abs(f[i - 1].Value))))
                Assert.Fail($"{c}: incremental EM lowered F at point {i} ({f[i].After}): {f[i - 1].Value:G17} → {f[i].Value:G17}.");
        Assert.False(fit.Diagnostics.FreeEnergyEverDecreased, $"{c}: {string.Join(" | ", fit.Diagnostics.Events)}");
        Assert.All(AllValues(fit), v => Assert.True(double.IsFinite(v), $"{c}: a parameter is {v}."));
        Assert.Equal(online.Passes + 2, fit.ObjectiveTrace.Count);
        Assert.All(fit.ObjectiveTrace, v => Assert.True(double.IsFinite(v)));
        // The objective is F at a tight q, so after a full pass it is at least the F before that pass's last E-step ... and
        // never below the start's.
        Assert.True(fit.ObjectiveTrace[^1] >= fit.ObjectiveTrace[0] - 1e-9 * Math.Abs(fit.ObjectiveTrace[0]), $"{c}: objective fell below the start's.");
    }

    [Fact]
    public void IncrementalEmNeverLowersTheFreeEnergy_RandomMixtures()
    {
        PropertyChecks.ForAll(RandomMixtures.Arbitrary, c => { CheckIncremental(c); }, baseline: 120);
        output.WriteLine($"{PropertyChecks.Cases(120)} random cases");
    }

    /// <summary>A hand-picked case of the property for the kinds the brief names: full and diagonal Gaussian, Poisson, Bernoulli.</summary>
    [Theory]
    [InlineData(CovarianceType.Full)]
    [InlineData(CovarianceType.Diagonal)]
    public void IncrementalEmNeverLowersTheFreeEnergy_MixedModel(CovarianceType covariance)
    {
        var c = new MixtureCase(3, [new(BlockKind.Gaussian, 3, covariance, false, true, 2, false, 5), new(BlockKind.Poisson, 2, covariance, false, false, 2, false, 1),
            new(BlockKind.Bernoulli, 2, covariance, false, true, 2, false, 9)], 400, 17, false, false, true, 10, 64);
        CheckIncremental(c);
    }

    private static DataMatrix ThreeClusters(int rows, int seed)
    {
        var r = new Random(seed);
        double[][] centres = [[0, 0], [8, 1], [3, 9]];
        return DataMatrix.FromRows(Enumerable.Range(0, rows).Select(_ =>
        {
            var c = centres[r.Next(3)];
            return new[] { c[0] + Normal(r), c[1] + 0.7 * Normal(r) };
        }));
    }

    /// <summary>
    /// Stepwise EM with α = 0.7 over 3 passes of 100-row mini-batches ends within 0.01 nats per row and 0.1 in every mean of
    /// the batch optimum from the same start: with clusters 8 standard deviations apart the posterior is nearly hard,
    /// the last steps ρ ≈ (600)^−0.7 ≈ 0.011 average over ~90 batches of 100 rows, so the means' noise is of order
    /// 1/√(9 000 · π_k) ≈ 0.02 and the per-row log-likelihood's of order 10⁻³; the tolerances are 5–10× that.
    /// </summary>
    [Fact]
    public void StepwiseEndsNearTheBatchOptimum()
    {
        var data = ThreeClusters(20_000, seed: 4);
        var gauss = Blocks.Gaussian("g", [0, 1]);
        var model = Mixture.WithComponents(3).Observe(gauss).Build();
        var options = FitOptions.Default with { Seed = 2, StartSampleRows = 2000 };
        var batch = model.Fit(new TrickleSource(data, 4096), options);
        var stepwise = model.FitOnline(new TrickleSource(data, 4096), OnlineEmOptions.Default with { BatchRows = 100, Alpha = 0.7, Passes = 3 }, options);
        double perRow = (batch.LogLikelihood - stepwise.LogLikelihood) / data.Rows;
        output.WriteLine($"batch {batch.LogLikelihood / data.Rows:F6}, stepwise {stepwise.LogLikelihood / data.Rows:F6} nats per row");
        Assert.InRange(perRow, -1e-9, 0.01); // the batch fit is a (local) maximum: stepwise cannot beat it by more than rounding here
        Assert.Equal(4, stepwise.ObjectiveTrace.Count);
        Assert.True(stepwise.Iterations == 3 * 200, $"{stepwise.Iterations} M-steps");
        for (int k = 0; k < 3; k++)
        {
            var a = batch.Parameters(gauss)[k].Mean;
            var b = stepwise.Parameters(gauss)[k].Mean;
            for (int j = 0; j < 2; j++) Assert.True(Math.Abs(a[j] - b[j]) < 0.1, $"component {k} mean {j}: batch {a[j]}, stepwise {b[j]}");
        }
    }

    /// <summary>
    /// Incremental EM against batch EM from the same start, on a slowly converging problem (batch EM needs hundreds of
    /// iterations): both share the start and the first full E- and M-step, after which incremental EM is ahead after
    /// every data pass, and neither passes the batch optimum (the batch fit run to a tolerance of 10⁻¹²).
    /// </summary>
    [Fact]
    public void IncrementalIsAheadOfBatchPerPassAndBelowTheOptimum()
    {
        var data = ThreeClusters(3000, seed: 9);
        var model = Mixture.WithComponents(3).Observe(Blocks.Gaussian("g", [0, 1], CovarianceType.Diagonal)).Build();
        var options = FitOptions.Default with { Seed = 1 };
        var batch = model.Fit(data, options with { Tolerance = 1e-12, MaxIterations = 2000 });
        var incremental = model.FitOnline(DataSource.FromMatrix(data), OnlineEmOptions.Default with { Method = OnlineMethod.Incremental, BatchRows = 250, Passes = 20 }, options);
        output.WriteLine($"batch {batch.Iterations} iterations to {batch.Objective:G12}; incremental {string.Join(", ", incremental.ObjectiveTrace.Select(v => v.ToString("G12")))}");
        Assert.Equal(batch.ObjectiveTrace[0], incremental.ObjectiveTrace[0]);
        Assert.Equal(batch.ObjectiveTrace[1], incremental.ObjectiveTrace[1], 1e-9 * Math.Abs(batch.ObjectiveTrace[1])); // parts of 250 rows vs chunks of 4096: rounding only
        for (int p = 2; p < incremental.ObjectiveTrace.Count; p++)
            Assert.True(incremental.ObjectiveTrace[p] > batch.ObjectiveTrace[p], $"pass {p}: incremental {incremental.ObjectiveTrace[p]:G17} ≤ batch {batch.ObjectiveTrace[p]:G17}");
        Assert.True(incremental.Objective <= batch.Objective + 1e-9 * Math.Abs(batch.Objective));
        AssertNonDecreasing(incremental.ObjectiveTrace);
    }

    [Theory]
    [InlineData(OnlineMethod.Stepwise)]
    [InlineData(OnlineMethod.Incremental)]
    public void DeterministicForASeedOnAnyThreadCount(OnlineMethod method)
    {
        var data = new MixedModel();
        var rows = MixedModel.Data(900, seed: 5);
        var online = OnlineEmOptions.Default with { Method = method, BatchRows = 50, Passes = 2, ShufflePerPass = true, ShuffleWindow = 4 };
        var options = FitOptions.Default with { Seed = 3, ChunkRows = 128 };
        var fits = new[] { 1, 2, 2 }.Select(t => data.Model.FitOnline(new TrickleSource(rows, 13), online, options with { MaxDegreeOfParallelism = t })).ToArray();
        for (int i = 1; i < fits.Length; i++)
        {
            AssertIdentical(fits[0].ObjectiveTrace, fits[i].ObjectiveTrace, "trace");
            AssertIdentical(AllValues(fits[0]), AllValues(fits[i]), "parameters");
        }
        // The shuffle matters (a different seed, a different path), and the result is finite.
        var other = data.Model.FitOnline(new TrickleSource(rows, 13), online, options with { Seed = 4 });
        Assert.NotEqual(AllValues(fits[0]), AllValues(other));
        Assert.All(AllValues(fits[0]), v => Assert.True(double.IsFinite(v)));
    }

    [Fact]
    public void EvaluateEachPassControlsTheTrace()
    {
        var data = ThreeClusters(1000, seed: 1);
        var model = Mixture.WithComponents(3).Observe(Blocks.Gaussian("g", [0, 1])).Build();
        var every = model.FitOnline(DataSource.FromMatrix(data), OnlineEmOptions.Default with { Passes = 3, BatchRows = 100 });
        var ends = model.FitOnline(DataSource.FromMatrix(data), OnlineEmOptions.Default with { Passes = 3, BatchRows = 100, EvaluateEachPass = false });
        Assert.Equal(4, every.ObjectiveTrace.Count);
        Assert.Equal(2, ends.ObjectiveTrace.Count);
        Assert.Equal(every.ObjectiveTrace[^1], ends.ObjectiveTrace[^1]);
        Assert.Equal(every.LogLikelihood + every.LogPrior, every.ObjectiveTrace[^1], 1e-9 * Math.Abs(every.ObjectiveTrace[^1]));
        Assert.Equal(FitStatus.IterationLimit, every.Status);
    }

    [Fact]
    public void CopyConstructorCopiesEveryProperty()
    {
        var changed = new OnlineEmOptions
        {
            Method = OnlineMethod.Incremental, BatchRows = 3, Alpha = 0.75, T0 = 5, Passes = 4, ShufflePerPass = true, ShuffleWindow = 2, EvaluateEachPass = false,
        };
        var copy = new OnlineEmOptions(changed);
        foreach (var p in typeof(OnlineEmOptions).GetProperties(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance).Where(p => p.CanWrite))
        {
            Assert.NotEqual(p.GetValue(OnlineEmOptions.Default), p.GetValue(changed));
            Assert.Equal(p.GetValue(changed), p.GetValue(copy));
        }
        Assert.Equal(changed, copy);
    }

    [Theory]
    [InlineData("Alpha", 0.5, "(0.5, 1]")]
    [InlineData("Alpha", 1.01, "(0.5, 1]")]
    [InlineData("Alpha", double.NaN, "(0.5, 1]")]
    [InlineData("T0", -0.1, "≥ 0")]
    [InlineData("BatchRows", 0, "≥ 1")]
    [InlineData("Passes", 0, "≥ 1")]
    [InlineData("ShuffleWindow", 0, "≥ 1")]
    public void InvalidSettingsNameTheOptionAndItsRange(string option, double value, string range)
    {
        var o = option switch
        {
            "Alpha" => OnlineEmOptions.Default with { Alpha = value },
            "T0" => OnlineEmOptions.Default with { T0 = value },
            "BatchRows" => OnlineEmOptions.Default with { BatchRows = (int)value },
            "Passes" => OnlineEmOptions.Default with { Passes = (int)value },
            _ => OnlineEmOptions.Default with { ShuffleWindow = (int)value },
        };
        var model = Mixture.WithComponents(2).Observe(Blocks.Gaussian("g", [0, 1])).Build();
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => model.FitOnline(DataSource.FromMatrix(TwoClusters(50, 1)), o));
        Assert.Equal(option, e.ParamName);
        Assert.Contains(range, e.Message);
        Assert.StartsWith(option, e.Message);
    }
}
