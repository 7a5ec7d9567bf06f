// Times EmDsl's EM iterations on a synthetic Gaussian mixture and, optionally, exports the data and the
// initial point so that bench/sklearn_gmm.py can time scikit-learn on exactly the same problem.
//
//   dotnet run -c Release --project bench/EmDsl.Bench -- [rows] [dims] [components] [iterations] [covariance] [export-dir]
//   dotnet run -c Release --project bench/EmDsl.Bench -- csv [file.csv] [repeats]   (DataMatrix.ReadCsv; default a generated 10⁶ × 8 file)
//   dotnet run -c Release --project bench/EmDsl.Bench -- gemm        (the compute seam's products, both backends)
//   dotnet run -c Release --project bench/EmDsl.Bench -- specfun     (log Γ, ψ, ψ₁ against MathNet's, ns per call)
//   dotnet run -c Release --project bench/EmDsl.Bench -- autodiff [rows]   (the AD tape on two M-step objectives; default 100000 rows)
//   dotnet run -c Release --project bench/EmDsl.Bench -- hmm [steps] [iterations]   (8-state HMM, diagonal Gaussian, 8 dims; and its parts)
//   dotnet run -c Release --project bench/EmDsl.Bench -- golden > fits.txt   (every number of a set of reference fits, to diff two builds bit for bit)
//   dotnet run -c Release --project bench/EmDsl.Bench -- fa [path] [factors] [repeats]   (factor analysis on bench/sklearn_fa.py's file)
//   dotnet run -c Release --project bench/EmDsl.Bench -- regression [rows] [iterations] [export-dir]
//        (Poisson regression mixtures and experts; Rscript bench/flexmix_regression.R export-dir times flexmix on the same data)
//   dotnet run -c Release --project bench/EmDsl.Bench -- starts [seeds] [tune]   (tune: also RandomPartitions(m, s) for m in 1, 5, 10, 20 and s in 0, 5, 10, 20)
//        (how often each start reaches the known optima of tests/fixtures/r_start_optima.json; Rscript bench/flexmix_starts.R for flexmix's)
//   dotnet run -c Release --project bench/EmDsl.Bench -- em /tmp/embench/NAME [iterations] [threads]   (one JSON line; the files
//        from bench/make_em_bench.py, the same run by scikit-learn: bench/sklearn_em.py; em-default NAME [threads] fits from the default start)
//   dotnet run -c Release --project bench/EmDsl.Bench -- categorical ROWS CATEGORIES K ITERATIONS [onehot]   (one categorical column with
//        many categories, default start; one JSON line with the time and the peak memory)
//   dotnet run -c Release --project bench/EmDsl.Bench -- stream-fit|memory-fit FILE COLUMNS K ITERATIONS   (a full-covariance mixture
//        streamed from a binary float64 file, or loaded first; one JSON line with the time per pass and the peak memory)
//   dotnet run -c Release --project bench/EmDsl.Bench -- source-make <path.bin|.csv|.parquet> <rows> <columns> <seed>   (a K = 8 Gaussian mixture, streamed to the file)
//   dotnet run -c Release --project bench/EmDsl.Bench -- source <path> [columns] [passes]   (reads it whole through a DataSource, 4096-row buffer: rows, s, MB/s, peak RSS)
//   dotnet run -c Release --project bench/EmDsl.Bench -- missing [rows] [dims] [components] [iterations] [rate] [repeats]
//        (missing values marginalised: complete data, the option on without holes, and with a fraction missing at random)
//   e.g. dotnet run -c Release --project bench/EmDsl.Bench -- 200000 8 8 30 full /tmp/emdsl-bench
//        /usr/bin/python3 bench/sklearn_gmm.py /tmp/emdsl-bench
using System.Diagnostics;
using System.Globalization;
using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Inference;
using EmDsl.Numerics;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
if (args.Length > 0 && args[0] == "csv")
{
    EmDsl.Bench.CsvBench.Run(args.Length > 1 ? args[1] : null, args.Length > 2 ? int.Parse(args[2]) : 5);
    return;
}
if (args.Length > 0 && args[0] is "em" or "em-default")
{
    EmDsl.Bench.EmBench.Run(args);
    return;
}
if (args.Length > 0 && args[0] == "categorical")
{
    EmDsl.Bench.CategoricalBench.Run(args);
    return;
}
if (args.Length > 0 && args[0] is "stream-fit" or "memory-fit")
{
    EmDsl.Bench.StreamFitBench.Run(args);
    return;
}
if (args.Length > 0 && args[0] == "source-make")
{
    EmDsl.Bench.SourceBench.Make(args[1], long.Parse(args[2]), int.Parse(args[3]), int.Parse(args[4]));
    return;
}
if (args.Length > 0 && args[0] == "source")
{
    EmDsl.Bench.SourceBench.Run(args[1], args.Length > 2 ? int.Parse(args[2]) : 0, args.Length > 3 ? int.Parse(args[3]) : 2);
    return;
}
if (args.Length > 0 && args[0] == "gemm")
{
    EmDsl.Bench.GemmBench.Run();
    return;
}
if (args.Length > 0 && args[0] == "specfun")
{
    EmDsl.Bench.SpecialFunctionsBench.Run();
    return;
}
if (args.Length > 0 && args[0] == "autodiff")
{
    EmDsl.Bench.AutoDiffBench.Run(args.Length > 1 ? int.Parse(args[1]) : 100_000);
    return;
}
if (args.Length > 0 && args[0] == "hmm")
{
    EmDsl.Bench.HmmBench.Run(args.Length > 1 ? int.Parse(args[1]) : 1_000_000, args.Length > 2 ? int.Parse(args[2]) : 3);
    return;
}
if (args.Length > 0 && args[0] == "golden")
{
    EmDsl.Bench.GoldenBench.Run(args.Length > 1 ? args[1] : "examples/data/old_faithful.csv");
    return;
}
if (args.Length > 0 && args[0] == "fa")
{
    EmDsl.Bench.FactorBench.Run(args.Length > 1 ? args[1] : "/tmp/fa_100000x50.f64", args.Length > 2 ? int.Parse(args[2]) : 5, args.Length > 3 ? int.Parse(args[3]) : 3);
    return;
}
if (args.Length > 0 && args[0] == "regression")
{
    EmDsl.Bench.RegressionBench.Run(args.Length > 1 ? int.Parse(args[1]) : 100_000, args.Length > 2 ? int.Parse(args[2]) : 20, args.Length > 3 ? args[3] : null);
    return;
}
if (args.Length > 0 && args[0] == "online")
{
    EmDsl.Bench.OnlineBench.Run(args.Length > 1 ? int.Parse(args[1]) : 200_000, args.Length > 2 ? int.Parse(args[2]) : 10, args.Length > 3 ? args[3] : null);
    return;
}
if (args.Length > 0 && args[0] == "starts")
{
    EmDsl.Bench.StartsBench.Run(args.Length > 1 ? int.Parse(args[1]) : 20, "tests/fixtures", args.Length > 2 && args[2] == "tune");
    return;
}
if (args.Length > 0 && args[0] == "missing")
{
    EmDsl.Bench.MissingBench.Run(args.Length > 1 ? int.Parse(args[1]) : 100_000, args.Length > 2 ? int.Parse(args[2]) : 4,
        args.Length > 3 ? int.Parse(args[3]) : 3, args.Length > 4 ? int.Parse(args[4]) : 10,
        args.Length > 5 ? double.Parse(args[5], CultureInfo.InvariantCulture) : 0.2, args.Length > 6 ? int.Parse(args[6]) : 3);
    return;
}
int rows = args.Length > 0 ? int.Parse(args[0]) : 200_000;
int dims = args.Length > 1 ? int.Parse(args[1]) : 8;
int k = args.Length > 2 ? int.Parse(args[2]) : 8;
int iterations = args.Length > 3 ? int.Parse(args[3]) : 30;
var covariance = args.Length > 4 ? Enum.Parse<CovarianceType>(args[4], ignoreCase: true) : CovarianceType.Full;
string? export = args.Length > 5 ? args[5] : null;

// Data: K overlapping Gaussians with random correlated covariances (seeded).
var random = new Random(42);
var centres = Enumerable.Range(0, k).Select(_ => Enumerable.Range(0, dims).Select(_ => random.NextDouble() * 6 - 3).ToArray()).ToArray();
var values = new double[rows][];
for (int i = 0; i < rows; i++)
{
    var c = centres[i % k];
    var z = Enumerable.Range(0, dims).Select(_ => MathNet.Numerics.Distributions.Normal.Sample(random, 0, 1)).ToArray();
    values[i] = Enumerable.Range(0, dims).Select(j => c[j] + z[j] + 0.5 * z[(j + 1) % dims]).ToArray();
}
var data = DataMatrix.FromRows(values);

// A fixed, deliberately rough initial point: centres jittered, identity covariances, equal weights.
var means0 = centres.Select(c => c.Select(v => v + random.NextDouble() - 0.5).ToArray()).ToArray();
var block = Blocks.Gaussian("x", Blocks.ColumnRange(0, dims), covariance);
var model = Mixture.WithComponents(k).Observe(block).Build();
var init = Initialization.FromParameters(Enumerable.Repeat(1.0 / k, k))
    .With(block, means0.Select(m => GaussianParameters.WithVariances(m, Enumerable.Repeat(1.0, dims))));

if (export is not null)
{
    Directory.CreateDirectory(export);
    File.WriteAllLines(Path.Combine(export, "data.csv"), values.Select(r => string.Join(",", r.Select(v => v.ToString("R")))));
    File.WriteAllLines(Path.Combine(export, "means0.csv"), means0.Select(r => string.Join(",", r.Select(v => v.ToString("R")))));
    File.WriteAllText(Path.Combine(export, "settings.txt"), $"{k} {iterations} {covariance.ToString().ToLowerInvariant().Replace("diagonal", "diag")}\n");
}

Console.WriteLine($"EmDsl EM on {rows} × {dims}, K = {k}, {covariance} covariance, {iterations} iterations, backend {ComputeBackend.Name}, {Environment.ProcessorCount} cores");
foreach (int threads in new[] { 1, -1 })
{
    var options = FitOptions.Default with { Initialization = init, MaxIterations = iterations, Tolerance = 0, MaxDegreeOfParallelism = threads };
    model.Fit(data, options with { MaxIterations = 2 }); // warm-up (JIT)
    var best = double.PositiveInfinity;
    MixtureFit? fit = null;
    for (int rep = 0; rep < 3; rep++)
    {
        var sw = Stopwatch.StartNew();
        fit = model.Fit(data, options);
        best = Math.Min(best, sw.Elapsed.TotalSeconds);
    }
    // The trace has one E-step per iteration plus the final one.
    double perIteration = best / (fit!.Iterations + 1);
    foreach (var e in fit.Diagnostics.Events.Take(5)) Console.WriteLine("    " + e);
    Console.WriteLine($"  threads {(threads < 0 ? "all" : threads.ToString()),3}: {best:F3} s for {fit.Iterations} iterations " +
                      $"= {perIteration * 1e3:F2} ms per iteration; final log-likelihood {fit.LogLikelihood:F4}");
}
