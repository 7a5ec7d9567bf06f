using System.Diagnostics;
using System.Text.Json;
using EmDsl.Data;
using EmDsl.Inference;
using EmDsl.Models;
using EmDsl.Numerics;

namespace EmDsl.Bench;

/// <summary>
/// Factor analysis on the data set bench/sklearn_fa.py writes (row-major float64 + a JSON sidecar with rows and
/// columns): EmDsl's FactorAnalysis from its default (PCA) start, timed to convergence, with the log-likelihood reached,
/// to compare with scikit-learn's FactorAnalysis on the same file.
///   /usr/bin/python3 bench/sklearn_fa.py                      (writes /tmp/fa_100000x50.f64, times scikit-learn)
///   dotnet run -c Release --project bench/EmDsl.Bench -- fa /tmp/fa_100000x50.f64 5
/// </summary>
internal static class FactorBench
{
    public static void Run(string path, int factors, int repeats)
    {
        var meta = JsonDocument.Parse(File.ReadAllText(path + ".json")).RootElement;
        int rows = meta.GetProperty("rows").GetInt32(), columns = meta.GetProperty("columns").GetInt32();
        var bytes = File.ReadAllBytes(path);
        var values = new double[rows * columns];
        Buffer.BlockCopy(bytes, 0, values, 0, bytes.Length);
        var data = DataMatrix.Wrap(values, rows, columns);
        for (int run = 0; run < repeats; run++)
        {
            foreach (var tolerance in new[] { 1e-8, 1e-12 })
            {
                var watch = Stopwatch.StartNew();
                var fit = new FactorAnalysis(factors).Fit(data, new FitOptions { Tolerance = tolerance, MaxIterations = 1000 });
                double seconds = watch.Elapsed.TotalSeconds;
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    system = "emdsl",
                    backend = ComputeBackend.Name,
                    threads = Environment.ProcessorCount,
                    tolerance,
                    seconds,
                    iterations = fit.Result.Iterations,
                    status = fit.Result.Status.ToString(),
                    loglik = fit.LogLikelihood,
                    loglik_per_row = fit.LogLikelihood / rows,
                    rows,
                    columns,
                }));
            }
        }
    }
}
