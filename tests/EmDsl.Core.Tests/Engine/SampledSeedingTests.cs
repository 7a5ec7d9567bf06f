using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Inference;

namespace EmDsl.Tests.Engine;

/// <summary>
/// k-means++ seeded on a sample of the rows (the default start on data with more rows than max(20·K·D, 10 000)):
/// the same start on any number of threads, the true clusters found, the sample's size as documented, and bad sizes
/// refused by name.
/// </summary>
public class SampledSeedingTests
{
    /// <summary>Four well-separated round clusters in 2-D (means (±8, ±8), unit variance), 3 000 rows each, shuffled by the seed.</summary>
    private static (DataMatrix Data, double[][] Means) FourClusters(int seed)
    {
        var r = new Random(seed);
        double[][] means = [[-8, -8], [-8, 8], [8, -8], [8, 8]];
        var rows = new List<double[]>();
        for (int k = 0; k < 4; k++)
            for (int i = 0; i < 3000; i++)
                rows.Add([means[k][0] + Normal(r), means[k][1] + Normal(r)]);
        return (DataMatrix.FromRows(rows.OrderBy(_ => r.Next()).ToArray()), means);
    }

    private static double Normal(Random r) => Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble());

    private static (MixtureModel Model, Block<GaussianParameters> Block) Model()
    {
        var block = Blocks.Gaussian("x", [0, 1], CovarianceType.Full);
        return (Mixture.WithComponents(4).Observe(block).Build(), block);
    }

    /// <summary>The sample, its draws and the Lloyd sums are the same on 1 and 2 threads: the start and the fit agree bit for bit.</summary>
    [Fact]
    public void SampledStartIsTheSameOnAnyNumberOfThreads()
    {
        var (data, _) = FourClusters(5);
        var (model, block) = Model();
        MixtureFit Fit(int threads) => model.Fit(data, FitOptions.Default with
        {
            Seed = 3, MaxIterations = 5, MaxDegreeOfParallelism = threads, Initialization = Initialization.KMeansPlusPlus(seedingRows: 500),
        });
        var one = Fit(1);
        var two = Fit(2);
        Assert.Equal(one.ObjectiveTrace, two.ObjectiveTrace);
        for (int k = 0; k < 4; k++) Assert.Equal(one.Parameters(block)[k].Mean, two.Parameters(block)[k].Mean);
    }

    /// <summary>
    /// Seeded on 500 of 12 000 rows, every seed's start finds the four clusters: each true mean has a fitted mean within
    /// 0.2 (the means' standard error is about 0.02) and every weight is within 0.02 of ¼.
    /// </summary>
    [Fact]
    public void SampledStartFindsWellSeparatedClusters()
    {
        var (data, means) = FourClusters(6);
        var (model, block) = Model();
        for (int seed = 0; seed < 6; seed++)
        {
            var fit = model.Fit(data, FitOptions.Default with { Seed = seed, Initialization = Initialization.KMeansPlusPlus(seedingRows: 500) });
            var fitted = fit.Parameters(block).Select(p => p.Mean.ToArray()).ToArray();
            foreach (var mean in means)
                Assert.True(fitted.Any(f => Math.Abs(f[0] - mean[0]) < 0.2 && Math.Abs(f[1] - mean[1]) < 0.2),
                    $"seed {seed}: no fitted mean near ({mean[0]}, {mean[1]}); fitted {string.Join(" ", fitted.Select(f => $"({f[0]:F2}, {f[1]:F2})"))}");
            Assert.All(fit.Weights, w => Assert.InRange(w, 0.23, 0.27));
        }
    }

    /// <summary>The sample's size: the default max(20·K·D, 10 000), at least K, every row when that is not fewer, and every row for very wide data.</summary>
    [Theory]
    [InlineData(1_000_000, 8, 8, null, 10_000)]
    [InlineData(1_000_000, 64, 10, null, 12_800)]
    [InlineData(9_000, 8, 8, null, 9_000)]
    [InlineData(12_000, 2, 4, 500, 500)]
    [InlineData(12_000, 2, 4, 2, 4)]
    [InlineData(12_000, 2, 4, int.MaxValue, 12_000)]
    [InlineData(100_000, 20_000, 5, null, 100_000)]
    public void SampleSizeIsAsDocumented(int rows, int columns, int k, int? requested, int expected) =>
        Assert.Equal(expected, KMeansPlusPlus.SeedingSampleRows(rows, columns, k, requested));

    [Fact]
    public void NonPositiveSeedingRowsAreRefusedByName()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Initialization.KMeansPlusPlus(seedingRows: 0));
        Assert.Equal("seedingRows", e.ParamName);
    }
}
