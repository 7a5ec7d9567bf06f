using System.Diagnostics;
using System.Text.Json;
using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Inference;
using EmDsl.Numerics;

namespace EmDsl.Bench;

/// <summary>
/// A K-component full-covariance Gaussian mixture fitted to a binary float64 file (bench source-make writes one), either
/// streamed from the file (<c>stream-fit FILE COLUMNS K ITERATIONS</c>: the data is never held) or loaded into memory
/// first (<c>memory-fit …</c>), each in its own process so that the peak resident memory is the fit's. Both start from
/// the streamed fit's start (k-means++ on a reservoir sample of the file) and run exactly ITERATIONS EM iterations; the
/// time per pass is (time of ITERATIONS iterations − time of 1 iteration) / (ITERATIONS − 1). Prints one JSON line.
/// </summary>
internal static class StreamFitBench
{
    public static void Run(string[] args)
    {
        bool streamed = args[0] == "stream-fit";
        string path = args[1];
        int d = int.Parse(args[2]), k = int.Parse(args[3]), iterations = int.Parse(args[4]);
        var model = Mixture.WithComponents(k).Observe(Blocks.Gaussian("x", Enumerable.Range(0, d))).Build();
        var options = FitOptions.Default with { RunAllIterations = true, Tolerance = 0 };
        using var file = DataSource.BinaryFile(path, d);
        long rows = file.RowCount!.Value;

        var clock = Stopwatch.StartNew();
        var start = model.Fit(file, options with { MaxIterations = 1 });
        double oneStreamed = clock.Elapsed.TotalSeconds;
        MixtureFit fit;
        double one, all;
        if (streamed)
        {
            clock.Restart();
            fit = model.Fit(file, options with { MaxIterations = iterations });
            all = clock.Elapsed.TotalSeconds;
            one = oneStreamed;
        }
        else
        {
            var data = Load(path, (int)rows, d);
            var given = options with { Initialization = Initialization.FromFit(start) };
            clock.Restart();
            model.Fit(data, given with { MaxIterations = 1 });
            one = clock.Elapsed.TotalSeconds;
            clock.Restart();
            fit = model.Fit(data, given with { MaxIterations = iterations - 1 });
            all = clock.Elapsed.TotalSeconds + one;
        }
        Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["system"] = "emdsl",
            ["mode"] = streamed ? "streamed from the file" : "in memory",
            ["file"] = Path.GetFileName(path),
            ["rows"] = rows, ["columns"] = d, ["k"] = k, ["iterations"] = fit.Iterations,
            ["seconds_total"] = all,
            ["seconds_per_pass"] = (all - one) / Math.Max(1, iterations - 1),
            ["final_mean_loglik"] = fit.LogLikelihood / rows,
            ["backend"] = ComputeBackend.Name,
            ["threads"] = Environment.ProcessorCount,
            ["peak_memory_mb"] = EmBench.PeakResidentMegabytes(),
            ["file_mb"] = 8.0 * rows * d / (1 << 20),
        }));
    }

    /// <summary>The whole file in one matrix (read straight into its storage).</summary>
    internal static DataMatrix Load(string path, int n, int d)
    {
        var values = new double[(long)n * d];
        using var reader = DataSource.BinaryFile(path, d).OpenReader();
        var span = values.AsSpan();
        int done = 0;
        while (done < n)
        {
            int got = reader.Read(span.Slice(done * d, Math.Min(1 << 20, n - done) * d));
            if (got == 0) break;
            done += got;
        }
        return DataMatrix.Wrap(values, n, d);
    }
}
