using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Inference;
using static EmDsl.Tests.Engine.EngineFixtures;

namespace EmDsl.Tests.Online;

/// <summary>
/// Streamed and online fits with the rest of issue 10: missing values marginalised over a stream (the in-memory fit
/// with holes, bit for bit), frozen parameters in streamed, incremental and stepwise fits, known labels refused over a
/// stream, and a binary file source end to end.
/// </summary>
public class StreamedIntegrationTests
{
    private static (DataMatrix Data, double[][] Rows) WithHoles(int rows, int seed)
    {
        var clean = TwoClusters(rows, seed);
        var r = new Random(seed);
        var values = clean.ToArray();
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < 2; j++)
                if (r.NextDouble() < 0.15) values[i, j] = double.NaN;
        var data = DataMatrix.From(values, MissingValues.Allow);
        return (data, Enumerable.Range(0, rows).Select(data.GetRow).ToArray());
    }

    [Theory]
    [InlineData(CovarianceType.Full, 1)]
    [InlineData(CovarianceType.Full, 2)]
    [InlineData(CovarianceType.Diagonal, 2)]
    public void MissingValuesOverAStreamGiveTheInMemoryFitBitForBit(CovarianceType covariance, int threads)
    {
        var (data, rows) = WithHoles(700, 5);
        var model = Mixture.WithComponents(2).Observe(Blocks.Gaussian("g", [0, 1], covariance)).Build();
        var options = FitOptions.Default with { MissingValues = MissingValuePolicy.Marginalize, ChunkRows = 64, MaxDegreeOfParallelism = threads, MaxIterations = 30, Tolerance = 0 };
        var inMemory = model.Fit(data, options);
        var streamed = model.Fit(new TrickleSource(rows, 9), options);
        AssertIdentical(inMemory.ObjectiveTrace, streamed.ObjectiveTrace, "trace");
        AssertIdentical(AllValues(inMemory), AllValues(streamed), "parameters");
        AssertNonDecreasing(streamed.ObjectiveTrace);
        Assert.DoesNotContain(streamed.Diagnostics.Events, e => e.Kind == FitEventKind.FreeEnergyDecreased);

        var online = model.FitOnline(new TrickleSource(rows, 9), new OnlineEmOptions { Method = OnlineMethod.Incremental, BatchRows = 100, Passes = 3 }, options);
        AssertNonDecreasing(online.ObjectiveTrace);
        Assert.DoesNotContain(online.Diagnostics.Events, e => e.Kind == FitEventKind.FreeEnergyDecreased);
        Assert.True(AllValues(online).All(double.IsFinite));
    }

    [Fact]
    public void AMissingValueOverAStreamWithoutTheOptionNamesTheRowColumnAndOption()
    {
        var (_, rows) = WithHoles(50, 6);
        int first = Array.FindIndex(rows, r => r.Any(double.IsNaN));
        int column = Array.FindIndex(rows[first], double.IsNaN);
        var model = Mixture.WithComponents(2).Observe(Blocks.Gaussian("g", [0, 1])).Build();
        var error = Assert.Throws<InvalidDataException>(() => model.Fit(new TrickleSource(rows, 4)));
        Assert.Contains($"row {first}, column {column}", error.Message);
        Assert.Contains("FitOptions.MissingValues", error.Message);
    }

    [Fact]
    public void KnownLabelsAreRefusedOverAStream()
    {
        var data = TwoClusters(100, 2);
        var model = Mixture.WithComponents(2).Observe(Blocks.Gaussian("g", [0, 1])).Build();
        var error = Assert.Throws<NotSupportedException>(() => model.Fit(DataSource.FromMatrix(data), FitOptions.Default with { KnownLabels = new int[100] }));
        Assert.Contains("KnownLabels", error.Message);
    }

    [Theory]
    [InlineData(null)]
    [InlineData(OnlineMethod.Incremental)]
    [InlineData(OnlineMethod.Stepwise)]
    public void FrozenParametersStayFixedInStreamedAndOnlineFits(OnlineMethod? method)
    {
        var data = TwoClusters(2000, 4);
        var g = Blocks.Gaussian("g", [0, 1], CovarianceType.Diagonal);
        var model = Mixture.WithComponents(2).Observe(g).Build();
        var given = new[]
        {
            new GaussianParameters([0.0, 0.0], new ReadOnlyMatrix(new[,] { { 1.0, 0 }, { 0, 0.25 } })),
            new GaussianParameters([6.0, -3.0], new ReadOnlyMatrix(new[,] { { 1.0, 0 }, { 0, 0.25 } })),
        };
        var options = FitOptions.Default with
        {
            Initialization = Initialization.FromParameters([0.5, 0.5]).With(g, given),
            Frozen = new FrozenParameters { Blocks = ["g"] },
            MaxIterations = 50,
        };
        var source = new TrickleSource(data, 50);
        var fit = method is { } m
            ? model.FitOnline(source, new OnlineEmOptions { Method = m, BatchRows = 200, Passes = 3 }, options)
            : model.Fit(source, options);
        Assert.Equal(given, fit.Parameters(g));
        Assert.Equal(0.4, fit.Weights[1], 0.05); // TwoClusters puts 40% of the rows in the second cluster
        Assert.Equal(model.FreeParameterCount - 8, fit.FreeParameterCount);
        AssertNonDecreasing(fit.ObjectiveTrace);
    }

    [Fact]
    public void ABinaryFileFitsLikeTheMatrix()
    {
        var data = TwoClusters(3000, 9).WithColumnNames(["x", "y"]);
        string path = Path.GetTempFileName();
        try
        {
            DataSource.WriteBinaryFile(path, data);
            using var file = DataSource.BinaryFile(path, 2, ["x", "y"]);
            var model = Mixture.WithComponents(2).Observe(Blocks.Gaussian("g", ["x", "y"])).Build();
            var options = FitOptions.Default with { ChunkRows = 500 };
            var expected = model.Fit(data, options);
            var streamed = model.Fit(file, options);
            AssertIdentical(expected.ObjectiveTrace, streamed.ObjectiveTrace, "trace");
            AssertIdentical(AllValues(expected), AllValues(streamed), "parameters");
        }
        finally { File.Delete(path); }
    }
}
