using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Inference;
using static EmDsl.Tests.Engine.EngineFixtures;

namespace EmDsl.Tests.Engine;

/// <summary>Restarts keep the best run; progress reports every iteration of every run; cancellation stops the fit.</summary>
public class RestartProgressCancellationTests
{
    /// <summary>Five overlapping clusters and K = 5: k-means++ without Lloyd steps lands in different local optima.</summary>
    private static DataMatrix FiveClusters(int seed)
    {
        var r = new Random(seed);
        double[][] centres = [[0, 0], [3, 0], [0, 3], [3, 3], [1.5, 6]];
        return DataMatrix.FromRows(Enumerable.Range(0, 300).Select(i =>
        {
            var c = centres[i % 5];
            return new[] { c[0] + Normal(r), c[1] + Normal(r) };
        }).ToArray());
    }

    private static readonly MixtureModel Model = Mixture.WithComponents(5).Observe(Blocks.Gaussian("g", [0, 1])).Build();

    private static FitOptions Options(int restarts, int seed = 9) => FitOptions.Default with
    {
        Restarts = restarts, Seed = seed, MaxIterations = 200, Tolerance = 1e-8, Initialization = Initialization.KMeansPlusPlus(0),
    };

    [Fact]
    public void RestartsReturnTheRunWithTheBestObjective()
    {
        var data = FiveClusters(71);
        var fit = Model.Fit(data, Options(5));
        var objectives = fit.Diagnostics.RestartObjectives;
        Assert.Equal(5, objectives.Count);
        Assert.True(objectives.Distinct().Count() > 1, "all restarts ended at the same objective; the test cannot tell them apart");
        Assert.Equal(objectives.Max(), objectives[fit.Diagnostics.BestRestart]);
        Assert.Equal(objectives.Max(), fit.Objective);
        Assert.Equal(fit.ObjectiveTrace[^1], fit.Objective);
        // Run 0 of a multi-restart fit is the single-run fit with the same seed.
        var single = Model.Fit(data, Options(1));
        Assert.Equal(single.Objective, objectives[0]);
        Assert.True(fit.Objective >= single.Objective);
        Assert.Single(single.Diagnostics.RestartObjectives);
        Assert.Equal(0, single.Diagnostics.BestRestart);
    }

    [Fact]
    public void RestartsAreIgnoredForAFixedStart()
    {
        var data = FiveClusters(72);
        var start = Model.Fit(data, Options(1) with { MaxIterations = 0 });
        var fit = Model.Fit(data, Options(4) with { Initialization = Initialization.FromFit(start) });
        Assert.Single(fit.Diagnostics.RestartObjectives); // documented: each restart reseeds k-means++ only
    }

    [Fact]
    public void ProgressReportsEveryIterationOfEveryRun()
    {
        var data = FiveClusters(73);
        var reports = new List<FitProgress>();
        var fit = Model.Fit(data, Options(3), progress: new SyncProgress<FitProgress>(reports.Add));
        var byRun = reports.GroupBy(p => p.Restart).OrderBy(g => g.Key).ToArray();
        Assert.Equal([0, 1, 2], byRun.Select(g => g.Key));
        for (int r = 0; r < 3; r++)
        {
            var run = byRun[r].ToArray();
            Assert.Equal(Enumerable.Range(0, run.Length), run.Select(p => p.Iteration));
            Assert.True(double.IsNaN(run[0].Change));
            Assert.Equal(fit.Diagnostics.RestartObjectives[r], run[^1].Objective);
            for (int i = 1; i < run.Length; i++)
                Assert.Equal((run[i].Objective - run[i - 1].Objective) / data.Rows, run[i].Change, 1e-15);
        }
        var best = byRun[fit.Diagnostics.BestRestart].ToArray();
        Assert.Equal(fit.Iterations + 1, best.Length);
        Assert.Equal(fit.ObjectiveTrace, best.Select(p => p.Objective));
        Assert.Equal(reports.Count, byRun.Sum(g => g.Count()));
    }

    [Fact]
    public void ConvergedRunStopsWhenThePerWeightChangeMeetsTheTolerance()
    {
        var data = FiveClusters(74);
        var fit = Model.Fit(data, Options(1) with { Tolerance = 1e-4, MaxIterations = 1000 });
        Assert.True(fit.Converged);
        var t = fit.ObjectiveTrace;
        Assert.True(Math.Abs(t[^1] - t[^2]) / data.Rows <= 1e-4);
        for (int i = 1; i < t.Count - 1; i++) Assert.True(Math.Abs(t[i] - t[i - 1]) / data.Rows > 1e-4, $"should have stopped at iteration {i}");
        var capped = Model.Fit(data, Options(1) with { Tolerance = 0, MaxIterations = 3 });
        Assert.False(capped.Converged);
        Assert.Equal(3, capped.Iterations);
        Assert.Equal(4, capped.ObjectiveTrace.Count);
    }

    [Fact]
    public void AnAlreadyCancelledTokenThrows()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => Model.Fit(FiveClusters(75), Options(1), cancellationToken: cts.Token));
    }

    [Fact]
    public void CancellingDuringTheFitThrows()
    {
        using var cts = new CancellationTokenSource();
        int seen = 0;
        var progress = new SyncProgress<FitProgress>(p => { if (++seen == 3) cts.Cancel(); });
        Assert.ThrowsAny<OperationCanceledException>(() =>
            Model.Fit(FiveClusters(76), Options(2) with { Tolerance = 0, MaxIterations = 100, ChunkRows = 16 }, progress: progress, cancellationToken: cts.Token));
        Assert.Equal(3, seen); // it stopped at the next pass, not after the run
    }
}
