using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Inference;
using EmDsl.Tests.Engine;
using static EmDsl.Tests.Engine.EngineFixtures;

namespace EmDsl.Tests.Online;

/// <summary>
/// A fit to a streamed source is the in-memory fit of the same rows from the same start, bit for bit, whatever the
/// chunk size and thread count; the starts come from a seeded sample; bad data and unsupported models are named.
/// </summary>
public class StreamedFitTests
{
    private static void AssertSameFit(MixtureFit expected, MixtureFit actual, string what)
    {
        Assert.Equal(expected.Iterations, actual.Iterations);
        AssertIdentical(expected.ObjectiveTrace, actual.ObjectiveTrace, $"{what}: trace");
        AssertIdentical(AllValues(expected), AllValues(actual), $"{what}: parameters");
        AssertIdentical(expected.FreeEnergyTrace.Select(p => p.Value).ToArray(), actual.FreeEnergyTrace.Select(p => p.Value).ToArray(), $"{what}: free energy");
        Assert.Equal(expected.LogLikelihood, actual.LogLikelihood);
    }

    [Theory]
    [InlineData(7, 1)]
    [InlineData(7, 2)]
    [InlineData(64, 1)]
    [InlineData(64, 2)]
    [InlineData(4096, 2)]
    public void StreamedFitIsTheInMemoryFitBitForBit(int chunkRows, int threads)
    {
        var m = new MixedModel();
        var data = MixedModel.Data(613, seed: 21);
        foreach (var start in new Initialization[] { m.Start(), Initialization.KMeansPlusPlus(), Initialization.RandomPartitions(3, 3) })
        {
            var options = FitOptions.Default with { MaxIterations = 15, Tolerance = 0, ChunkRows = chunkRows, MaxDegreeOfParallelism = threads, Initialization = start, Seed = 4 };
            var inMemory = m.Model.Fit(data, options);
            var source = new TrickleSource(data, rowsPerRead: 3);
            var streamed = m.Model.Fit(source, options);
            AssertSameFit(inMemory, streamed, $"{start.GetType().Name}, chunk {chunkRows}, {threads} threads");
            Assert.Equal(inMemory.TotalWeight, streamed.TotalWeight);
            Assert.True(source.ReadersOpened >= 16, $"one pass per E-step expected, {source.ReadersOpened} readers opened");
        }
    }

    [Fact]
    public void MatrixSourceGivesTheInMemoryFit()
    {
        var data = TwoClusters(900, seed: 3);
        var model = Mixture.WithComponents(2).Observe(Blocks.Gaussian("g", [0, 1], CovarianceType.Diagonal)).Build();
        var options = FitOptions.Default with { ChunkRows = 100 };
        AssertSameFit(model.Fit(data, options), model.Fit(DataSource.FromMatrix(data), options), "matrix source");
    }

    /// <summary>Data larger than the start sample: k-means++ on a seeded reservoir sample; the same for any thread count and run.</summary>
    [Fact]
    public void SampledStartIsDeterministicAndFitsWell()
    {
        var data = TwoClusters(6000, seed: 8);
        var model = Mixture.WithComponents(2).Observe(Blocks.Gaussian("g", [0, 1])).Build();
        var options = FitOptions.Default with { StartSampleRows = 300, ChunkRows = 512, Seed = 11 };
        var one = model.Fit(new TrickleSource(data, 1000), options with { MaxDegreeOfParallelism = 1 });
        var two = model.Fit(new TrickleSource(data, 77), options with { MaxDegreeOfParallelism = 2 });
        AssertSameFit(one, two, "1 vs 2 threads");
        var inMemory = model.Fit(data);
        // Both reach the same (well-separated) optimum: the same objective to 1e-6 per row.
        Assert.Equal(inMemory.Objective / data.Rows, one.Objective / data.Rows, 1e-6);
        AssertNonDecreasing(one.ObjectiveTrace);
        // A different seed draws a different sample, so a different start.
        var other = model.Fit(new TrickleSource(data, 1000), options with { Seed = 12, MaxIterations = 0 });
        var first = model.Fit(new TrickleSource(data, 1000), options with { MaxIterations = 0 });
        Assert.NotEqual(AllValues(first), AllValues(other));
    }

    [Fact]
    public void NamedColumnsResolveAgainstTheSourcesNames()
    {
        var data = TwoClusters(400, seed: 5);
        var named = DataMatrix.FromRows(Enumerable.Range(0, data.Rows).Select(i => new[] { 7.0, data[i, 1], data[i, 0] })).WithColumnNames(["pad", "y", "x"]);
        var byName = Mixture.WithComponents(2).Observe(Blocks.Gaussian("g", ["x", "y"])).Build();
        var byIndex = Mixture.WithComponents(2).Observe(Blocks.Gaussian("g", [2, 1])).Build();
        AssertSameFit(byIndex.Fit(named), byName.Fit(new TrickleSource(named)), "named");
        var e = Assert.Throws<ArgumentException>(() => Mixture.WithComponents(2).Observe(Blocks.Gaussian("g", ["x", "zz"])).Build().Fit(new TrickleSource(named)));
        Assert.Contains("zz", e.Message);
    }

    [Fact]
    public void NonFiniteValueNamesSourceRowAndColumn()
    {
        var rows = TwoClusters(300, seed: 2);
        var values = Enumerable.Range(0, rows.Rows).Select(rows.GetRow).ToArray();
        values[217][1] = double.NaN;
        var model = Mixture.WithComponents(2).Observe(Blocks.Gaussian("g", [0, 1])).Build();
        var e = Assert.Throws<InvalidDataException>(() => model.Fit(new TrickleSource(values)));
        Assert.Contains("trickle source", e.Message);
        Assert.Contains("row 217, column 1", e.Message);
    }

    [Fact]
    public void SupportViolationOutsideTheSampleNamesTheRowInTheSource()
    {
        var r = new Random(1);
        var values = Enumerable.Range(0, 3000).Select(_ => new[] { (double)r.Next(10) }).ToArray();
        values[2811][0] = -1;
        var model = Mixture.WithComponents(2).Observe(Blocks.Poisson("n", [0])).Build();
        // Whether or not the sample holds the bad row, the message names the row in the source.
        foreach (int sample in new[] { 100, 3000 })
        {
            var e = Assert.Throws<ArgumentException>(() => model.Fit(new TrickleSource(DataMatrix.FromRows(values), 64), FitOptions.Default with { StartSampleRows = sample }));
            Assert.Contains("trickle source", e.Message);
            Assert.Contains("Row 2811, column 0", e.Message);
        }
    }

    [Fact]
    public void UnsupportedModelsAndStartsSayWhy()
    {
        var r = new Random(3);
        var data = DataMatrix.FromRows(Enumerable.Range(0, 200).Select(_ => new[] { r.NextDouble(), (double)r.Next(5) }));
        var regression = Mixture.WithComponents(2).Observe(Blocks.PoissonRegression("yp", 1, [0])).Build();
        var e = Assert.Throws<NotSupportedException>(() => regression.Fit(new TrickleSource(data)));
        Assert.Contains("'yp' is a regression", e.Message);
        Assert.Throws<NotSupportedException>(() => regression.FitOnline(new TrickleSource(data)));
        var gated = Mixture.WithComponents(2).Observe(Blocks.Gaussian("g", [1])).GatedBy([0]).Build();
        e = Assert.Throws<NotSupportedException>(() => gated.Fit(new TrickleSource(data)));
        Assert.Contains("gating network", e.Message);
        e = Assert.Throws<NotSupportedException>(() => gated.FitOnline(new TrickleSource(data), OnlineEmOptions.Default with { Method = OnlineMethod.Incremental }));
        Assert.Contains("gating network", e.Message);
        var gaussian = Mixture.WithComponents(2).Observe(Blocks.Gaussian("g", [0])).Build();
        var given = Initialization.FromResponsibilities(new double[200, 2]);
        e = Assert.Throws<NotSupportedException>(() => gaussian.Fit(new TrickleSource(data), FitOptions.Default with { Initialization = given }));
        Assert.Contains("FromResponsibilities", e.Message);
        var o = Assert.Throws<ArgumentOutOfRangeException>(() => gaussian.Fit(new TrickleSource(data), FitOptions.Default with { StartSampleRows = 0 }));
        Assert.Equal("StartSampleRows", o.ParamName);
    }

    [Fact]
    public void SourceThatChangesBetweenPassesIsReported()
    {
        var data = TwoClusters(300, seed: 2);
        var model = Mixture.WithComponents(2).Observe(Blocks.Gaussian("g", [0, 1])).Build();
        var e = Assert.Throws<InvalidDataException>(() => model.Fit(new ShrinkingSource(data)));
        Assert.Contains("same rows on every pass", e.Message);
    }

    /// <summary>A broken source: each reader gives one row fewer than the last.</summary>
    private sealed class ShrinkingSource(DataMatrix data) : DataSource(data.Columns, null)
    {
        private int _opened;
        public override long? RowCount => null;
        public override string Description => "the shrinking source";
        public override DataSourceReader OpenReader() =>
            DataSource.FromMatrix(DataMatrix.FromRows(Enumerable.Range(0, data.Rows - _opened++).Select(data.GetRow))).OpenReader();
    }
}
