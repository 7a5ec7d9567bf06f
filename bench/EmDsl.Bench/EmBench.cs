using System.Diagnostics;
using System.Text.Json;
using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Inference;
using EmDsl.Numerics;

namespace EmDsl.Bench;

/// <summary>
/// The speed benchmark of issue 8, on the files bench/make_em_bench.py writes (NAME.f64: row-major float64;
/// NAME.json: model, shape and start). <c>em NAME N [threads]</c> runs exactly N EM iterations from the start
/// (the floors as scikit-learn's: reg_covar 1e-6, every floored estimate taken) and prints one JSON line; bench/sklearn_em.py
/// prints the same line for scikit-learn (numpy for the Bernoulli mixture). <c>em-default NAME [threads]</c> fits
/// from EmDsl's default start (k-means++) to convergence and times the whole fit.
/// </summary>
internal static class EmBench
{
    public static void Run(string[] args)
    {
        bool defaultStart = args[0] == "em-default";
        string name = args[1];
        int iterations = !defaultStart && args.Length > 2 ? int.Parse(args[2]) : 10;
        int threadsArg = defaultStart ? (args.Length > 2 ? int.Parse(args[2]) : -1) : (args.Length > 3 ? int.Parse(args[3]) : -1);
        var spec = JsonDocument.Parse(File.ReadAllText(name + ".json")).RootElement;
        int n = spec.GetProperty("rows").GetInt32(), d = spec.GetProperty("columns").GetInt32(), k = spec.GetProperty("k").GetInt32();
        string model = spec.GetProperty("model").GetString()!;
        double baseline = ResidentMegabytes(); // the runtime alone, before the data is read
        var data = StreamFitBench.Load(name + ".f64", n, d);

        var columns = Enumerable.Range(0, d).ToArray();
        var weights = Doubles(spec.GetProperty("weights"));
        Block block;
        Initialization start;
        if (model == "bernoulli")
        {
            var b = Blocks.Bernoulli("x", columns);
            block = b;
            start = Initialization.FromParameters(weights).With(b, spec.GetProperty("probabilities").EnumerateArray().Select(p => new BernoulliParameters(Doubles(p))).ToArray());
        }
        else
        {
            var covariance = model switch { "full" => CovarianceType.Full, "diagonal" => CovarianceType.Diagonal, "spherical" => CovarianceType.Spherical, _ => throw new ArgumentException(model) };
            var g = Blocks.Gaussian("x", columns, covariance);
            block = g;
            var means = spec.GetProperty("means").EnumerateArray().Select(Doubles).ToArray();
            var covariances = model == "full"
                ? spec.GetProperty("covariances").EnumerateArray().Select(c => Matrix(c, d)).ToArray()
                : spec.GetProperty("variances").EnumerateArray().Select(v => Diagonal(Doubles(v))).ToArray();
            start = Initialization.FromParameters(weights).With(g, means.Select((m, j) => new GaussianParameters(m, covariances[j])).ToArray());
        }
        var mixture = Mixture.WithComponents(k).Observe(block).Build();
        // EMDSL_BENCH_SEED sets the default start's seed; EMDSL_BENCH_SEEDING_ROWS its k-means++ seeding sample (all: 2147483647).
        int seed = int.TryParse(Environment.GetEnvironmentVariable("EMDSL_BENCH_SEED"), out int s) ? s : FitOptions.Default.Seed;
        int? seedingRows = int.TryParse(Environment.GetEnvironmentVariable("EMDSL_BENCH_SEEDING_ROWS"), out int sr) ? sr : null;
        var options = defaultStart
            ? FitOptions.Default with { MaxDegreeOfParallelism = threadsArg, Seed = seed, Initialization = Initialization.KMeansPlusPlus(seedingRows: seedingRows) }
            : FitOptions.Default with
            {
                Initialization = start, MaxIterations = iterations, RunAllIterations = true, Tolerance = 0,
                Floors = FloorStrategy.MatchScikitLearn, MaxDegreeOfParallelism = threadsArg,
            };
        // EMDSL_BENCH_CHUNK_ROWS overrides FitOptions.ChunkRows, to study its effect.
        if (int.TryParse(Environment.GetEnvironmentVariable("EMDSL_BENCH_CHUNK_ROWS"), out int chunkRows)) options = options with { ChunkRows = chunkRows };
        // Warm-up (given start only; em-default times a cold fit): .NET first compiles a method quickly, then, once it has
        // run often, again with full optimisation on a background thread, which on a two-core machine takes CPU from the
        // fit for the first seconds of a process. A fit timed after one short warm-up measured that as much as EM (10⁶ × 8
        // diagonal: 23–26 against 19–21 ms per iteration), so, as BenchmarkDotNet does, warm up until the process is in
        // its steady state: fits of up to 10 iterations for at least 2 s (the runtime waits for a lull before it starts
        // recompiling) and until one compiles fewer than 16 new methods (at most 10 s). The first (cold) fit's time per
        // iteration is printed too.
        double coldPerIteration = double.NaN, warmupSeconds = 0, warmupPeak = double.NaN;
        int warmupFits = 0;
        if (!defaultStart)
        {
            var warmupOptions = options with { MaxIterations = Math.Min(iterations, 10) };
            long compiled;
            do
            {
                compiled = System.Runtime.JitInfo.GetCompiledMethodCount();
                var warmClock = Stopwatch.StartNew();
                var warm = mixture.Fit(data, warmupOptions);
                double warmSeconds = warmClock.Elapsed.TotalSeconds;
                if (warmupFits == 0) coldPerIteration = warmSeconds / Math.Max(1, warm.Iterations);
                warmupSeconds += warmSeconds;
                warmupFits++;
            } while ((warmupSeconds < 2 || System.Runtime.JitInfo.GetCompiledMethodCount() - compiled >= 16) && warmupSeconds < 10);
            // The warm-up fits' garbage (each fit's workspaces, in the large-object heap) is not the timed fit's: collect
            // and compact it, and restart the peak resident set (VmHWM) from here where Linux allows it, so that
            // peak_memory_mb is the timed fit's (10⁶ × 8 full: 146 MB at the warm-up's peak, 124 MB in the timed fit).
            warmupPeak = PeakResidentMegabytes();
            System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            try { File.WriteAllText("/proc/self/clear_refs", "5"); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var clock = Stopwatch.StartNew();
        var fit = mixture.Fit(data, options);
        double seconds = clock.Elapsed.TotalSeconds;
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        var line = new Dictionary<string, object>
        {
            ["system"] = "emdsl",
            ["dataset"] = Path.GetFileName(name),
            ["rows"] = n, ["columns"] = d, ["k"] = k, ["model"] = model,
            ["start"] = defaultStart ? $"default (k-means++, seed {seed}, seeding rows {(seedingRows?.ToString() ?? "default")})" : "given",
            ["iterations"] = fit.Iterations,
            ["seconds_per_iteration"] = seconds / Math.Max(1, fit.Iterations),
            ["seconds_total"] = seconds,
            ["cold_seconds_per_iteration"] = defaultStart ? null! : coldPerIteration,
            ["warmup_fits"] = warmupFits,
            ["warmup_seconds"] = warmupSeconds,
            ["warmup_peak_memory_mb"] = defaultStart ? null! : warmupPeak,
            ["final_mean_loglik"] = fit.LogLikelihood / n,
            ["status"] = fit.Status.ToString(),
            ["backend"] = ComputeBackend.Name,
            ["threads"] = threadsArg == -1 ? Environment.ProcessorCount : threadsArg,
            ["peak_memory_mb"] = PeakResidentMegabytes(),
            ["baseline_memory_mb"] = baseline,
            ["peak_over_baseline_per_data"] = (PeakResidentMegabytes() - baseline) / (8.0 * n * d / (1 << 20)),
            ["data_mb"] = 8.0 * n * d / (1 << 20),
            ["allocated_mb"] = allocated / (1024.0 * 1024),
            ["gc_heap_peak_mb"] = GC.GetGCMemoryInfo(GCKind.Any).HeapSizeBytes / (1024.0 * 1024),
        };
        Console.WriteLine(JsonSerializer.Serialize(line));
    }

    private static double[] Doubles(JsonElement e) => e.EnumerateArray().Select(v => v.GetDouble()).ToArray();

    private static ReadOnlyMatrix Matrix(JsonElement e, int d)
    {
        var m = new double[d, d];
        int i = 0;
        foreach (var row in e.EnumerateArray())
        {
            int j = 0;
            foreach (var v in row.EnumerateArray()) m[i, j++] = v.GetDouble();
            i++;
        }
        return new ReadOnlyMatrix(m);
    }

    private static ReadOnlyMatrix Diagonal(double[] v)
    {
        var m = new double[v.Length, v.Length];
        for (int i = 0; i < v.Length; i++) m[i, i] = v[i];
        return new ReadOnlyMatrix(m);
    }

    /// <summary>The process's resident set now (VmRSS), in MiB.</summary>
    internal static double ResidentMegabytes() => StatusMegabytes("VmRSS:") ?? Process.GetCurrentProcess().WorkingSet64 / (1024.0 * 1024);

    /// <summary>The process's peak resident set (VmHWM), in MiB.</summary>
    internal static double PeakResidentMegabytes() => StatusMegabytes("VmHWM:") ?? Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024);

    /// <summary>A kB field of /proc/self/status in MiB (null where there is none).</summary>
    private static double? StatusMegabytes(string field)
    {
        if (!File.Exists("/proc/self/status")) return null;
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(field, StringComparison.Ordinal))
                return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024;
        return null;
    }
}
