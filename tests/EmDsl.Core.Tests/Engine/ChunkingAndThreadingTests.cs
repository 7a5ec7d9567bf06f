using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Inference;
using static EmDsl.Tests.Engine.EngineFixtures;

namespace EmDsl.Tests.Engine;

/// <summary>
/// The batched E-step is an implementation detail: chunk size may change rounding only, and the thread
/// count may change nothing at all (chunk summaries are merged in chunk order).
/// </summary>
public class ChunkingAndThreadingTests
{
    private static readonly int[] ChunkSizes = [1, 7, 64, 4096];

    [Theory]
    [InlineData(CovarianceType.Full)]
    [InlineData(CovarianceType.Tied)]
    [InlineData(CovarianceType.Diagonal)]
    [InlineData(CovarianceType.Spherical)]
    public void ChunkSizeChangesNeitherTraceNorParameters(CovarianceType covariance)
    {
        var m = new MixedModel(covariance);
        var data = MixedModel.Data(301, seed: 11);
        // 12 iterations: still moving, so no run stops early on an objective change of exactly 0 (Tolerance = 0).
        var fits = ChunkSizes.Select(c => m.Model.Fit(data, m.Options(12) with { ChunkRows = c })).ToArray();
        Assert.All(fits, f => Assert.Equal(12, f.Iterations));
        for (int i = 1; i < fits.Length; i++)
        {
            AssertClose(fits[0].ObjectiveTrace, fits[i].ObjectiveTrace, 1e-10, $"trace, chunk {ChunkSizes[i]} vs 1");
            AssertClose(AllValues(fits[0]), AllValues(fits[i]), 1e-10, $"parameters, chunk {ChunkSizes[i]} vs 1");
            Assert.Equal(fits[0].LogLikelihood, fits[i].LogLikelihood, 1e-10 * Math.Abs(fits[0].LogLikelihood));
        }
    }

    [Fact]
    public void ChunkSizeChangesNothingWithSampleWeights()
    {
        var m = new MixedModel();
        var data = MixedModel.Data(150, seed: 12);
        var r = new Random(3);
        var w = Enumerable.Range(0, data.Rows).Select(_ => r.Next(4) * 0.75).ToArray();
        var fits = ChunkSizes.Select(c => m.Model.Fit(data, m.Options(12) with { ChunkRows = c }, w)).ToArray();
        Assert.All(fits, f => Assert.Equal(12, f.Iterations));
        for (int i = 1; i < fits.Length; i++)
        {
            AssertClose(fits[0].ObjectiveTrace, fits[i].ObjectiveTrace, 1e-10, $"weighted trace, chunk {ChunkSizes[i]}");
            AssertClose(AllValues(fits[0]), AllValues(fits[i]), 1e-10, $"weighted parameters, chunk {ChunkSizes[i]}");
        }
    }

    /// <summary>
    /// Without FitOptions.ChunkRows the chunk is 4096 rows, halved (down to 256) while the statistics its two products
    /// read, rows × width doubles, exceed 640 KiB; an explicit ChunkRows is taken as given.
    /// </summary>
    [Theory]
    [InlineData("gaussian", 8, CovarianceType.Diagonal, 4096)]  // [y, y², 1]: 17 doubles a row
    [InlineData("gaussian", 8, CovarianceType.Full, 1024)]      // [y, vech yyᵀ, 1]: 45
    [InlineData("gaussian", 16, CovarianceType.Diagonal, 2048)] // 33
    [InlineData("gaussian", 16, CovarianceType.Full, 512)]      // 153
    [InlineData("gaussian", 40, CovarianceType.Full, 4096)]     // own frames only (D + S > 256): no T formed
    [InlineData("bernoulli", 64, CovarianceType.Full, 1024)]    // the data are T: 64
    [InlineData("bernoulli", 8, CovarianceType.Full, 4096)]
    public void AutomaticChunksKeepTheProductsStatisticsWithinTheirBudget(string family, int d, CovarianceType covariance, int expected)
    {
        var columns = Enumerable.Range(0, d).ToArray();
        var model = family == "gaussian"
            ? Mixture.WithComponents(3).Observe(Blocks.Gaussian("x", columns, covariance)).Build()
            : Mixture.WithComponents(3).Observe(Blocks.Bernoulli("x", columns)).Build();
        var data = DataMatrix.FromRows(Enumerable.Range(0, 50).Select(i => columns.Select(j => (double)((i * 7 + j * 3) % 2)).ToArray()).ToArray());
        var compiled = CompiledModel.Create(model, EmEngine.LatentOf(model, data, null), data, null);
        Assert.Equal(expected, compiled.AutomaticChunkRows);
        Assert.Equal(expected, compiled.ChunkRows(FitOptions.Default, 1_000_000));
        Assert.Equal(50, compiled.ChunkRows(FitOptions.Default, 50));
        Assert.Equal(333, compiled.ChunkRows(FitOptions.Default with { ChunkRows = 333 }, 1_000_000));
    }

    /// <summary>One E-step pass (CompiledModel.Pass) at a fixed state: every summary entry agrees across chunk sizes.</summary>
    [Fact]
    public void PassSummariesAgreeAcrossChunkSizes()
    {
        var m = new MixedModel();
        var data = MixedModel.Data(500, seed: 13);
        var r = new Random(5);
        var weights = Enumerable.Range(0, data.Rows).Select(_ => r.NextDouble() * 2).ToArray();
        foreach (var w in new[] { null, weights })
        {
            var compiled = CompiledModel.Create(m.Model, EmEngine.LatentOf(m.Model, data, w), data, w);
            var state = new ModelState(new WeightsState([0.3, 0.7]), compiled.Blocks.Select(b => b.FromParameters(m.StartRecords(b.Block))).ToArray());
            var logBase = compiled.LogBaseMeasure(data);
            var summaries = ChunkSizes.Select(c =>
                compiled.Pass(data, [], logBase, w, state, new CompiledModel.PassOutputs(), FitOptions.Default with { ChunkRows = c }, CancellationToken.None)).ToArray();
            double total = w?.Sum() ?? data.Rows;
            foreach (var s in summaries)
            {
                Assert.Equal(total, s.Weight, 1e-9);
                Assert.Equal(total, s.Latent.Counts.Sum(), 1e-9); // responsibilities of a row sum to its weight
                Assert.All(s.Blocks, b => AssertClose(s.Latent.Counts, b.Counts, 0, "every block's counts are the latent counts"));
            }
            for (int i = 1; i < summaries.Length; i++)
            {
                AssertClose(summaries[0].Latent.Counts, summaries[i].Latent.Counts, 1e-12, $"counts, chunk {ChunkSizes[i]}");
                for (int b = 0; b < summaries[0].Blocks.Length; b++)
                    AssertClose(((ComponentStatistics)summaries[0].Blocks[b]).Sums, ((ComponentStatistics)summaries[i].Blocks[b]).Sums, 1e-12,
                        $"statistics of block {b}, chunk {ChunkSizes[i]}");
                AssertClose([summaries[0].LogLikelihood], [summaries[i].LogLikelihood], 1e-12, $"log-likelihood, chunk {ChunkSizes[i]}");
                AssertClose([summaries[0].Entropy], [summaries[i].Entropy], 1e-12, $"entropy, chunk {ChunkSizes[i]}");
                AssertClose([summaries[0].LogBase], [summaries[i].LogBase], 1e-12, $"Σ log h, chunk {ChunkSizes[i]}");
            }
            // Without logBase the pass computes log h itself: same log-likelihood.
            var noBase = compiled.Pass(data, [], null, w, state, new CompiledModel.PassOutputs(), FitOptions.Default with { ChunkRows = 33 }, CancellationToken.None);
            AssertClose([summaries[0].LogLikelihood], [noBase.LogLikelihood], 1e-12, "log-likelihood without precomputed log h");
        }
    }

    private static MixtureFit ManyChunkFit(DataMatrix data, MixtureModel model, int threads) =>
        model.Fit(data, FitOptions.Default with { ChunkRows = 128, MaxDegreeOfParallelism = threads, MaxIterations = 40, Tolerance = 0, Seed = 7 });

    [Fact]
    public void ThreadCountChangesNothingBitForBit()
    {
        var m = new MixedModel();
        var data = MixedModel.Data(5000, seed: 14);
        var reference = ManyChunkFit(data, m.Model, 1);
        Assert.True(reference.ObjectiveTrace.Count >= 10, "the comparison should span several iterations");
        foreach (int threads in new[] { 2, 8, -1 })
        {
            var fit = ManyChunkFit(data, m.Model, threads);
            AssertIdentical(reference.ObjectiveTrace, fit.ObjectiveTrace, $"trace with {threads} threads");
            AssertIdentical(AllValues(reference), AllValues(fit), $"parameters with {threads} threads");
            Assert.True(reference.LogLikelihood == fit.LogLikelihood);
            Assert.True(reference.LogPrior == fit.LogPrior);
            Assert.Equal(reference.Iterations, fit.Iterations);
        }
    }

    [Fact]
    public void ThreadCountChangesNothingBitForBit_GaussianOnlyTiedAndWeighted()
    {
        var block = Blocks.Gaussian("g", [0, 1], CovarianceType.Tied);
        var model = Mixture.WithComponents(3).Observe(block).WithWeightPrior(1.5).Build();
        var data = TwoClusters(5000, seed: 15);
        var w = Enumerable.Range(0, data.Rows).Select(i => 0.5 + i % 3).ToArray();
        MixtureFit Run(int threads) => model.Fit(data, FitOptions.Default with { ChunkRows = 128, MaxDegreeOfParallelism = threads, MaxIterations = 30, Tolerance = 0, Seed = 3 }, w);
        var one = Run(1);
        foreach (int threads in new[] { 2, 8 })
        {
            var fit = Run(threads);
            AssertIdentical(one.ObjectiveTrace, fit.ObjectiveTrace, $"trace with {threads} threads");
            AssertIdentical(AllValues(one), AllValues(fit), $"parameters with {threads} threads");
        }
    }

    [Fact]
    public void SameSeedGivesTheSameFitBitForBit()
    {
        var m = new MixedModel();
        var data = MixedModel.Data(400, seed: 16);
        var options = FitOptions.Default with { Seed = 42, Restarts = 3, MaxIterations = 50 };
        var a = m.Model.Fit(data, options);
        var b = m.Model.Fit(data, options);
        AssertIdentical(a.ObjectiveTrace, b.ObjectiveTrace, "trace");
        AssertIdentical(AllValues(a), AllValues(b), "parameters");
        AssertIdentical(a.Diagnostics.RestartObjectives.ToArray(), b.Diagnostics.RestartObjectives.ToArray(), "restart objectives");
    }

    /// <summary>The seed is really used: without Lloyd refinement, k-means++ from different seeds starts from different points.</summary>
    [Fact]
    public void DifferentSeedsReachDifferentStartingPoints()
    {
        var m = new MixedModel();
        var data = MixedModel.Data(400, seed: 17);
        var starts = Enumerable.Range(0, 6)
            .Select(seed => m.Model.Fit(data, FitOptions.Default with { Seed = seed, MaxIterations = 0, Initialization = Initialization.KMeansPlusPlus(0) }).ObjectiveTrace[0])
            .ToArray();
        Assert.True(starts.Distinct().Count() > 1, $"every seed gave the same initial objective {starts[0]:G17}");
    }
}
