using System.Diagnostics;
using System.Text.Json;
using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Inference;
using EmDsl.Numerics;

namespace EmDsl.Bench;

/// <summary>
/// A mixture over one categorical column with many categories (issue 8's sparse statistics): <c>categorical ROWS
/// CATEGORIES K ITERATIONS [onehot]</c> draws ROWS codes from K components, each concentrated on its own slice of the
/// categories, fits from the default start for exactly ITERATIONS iterations and prints one JSON line with the time
/// and the peak resident memory (one-hot: the codes as CATEGORIES 0/1 columns).
/// </summary>
internal static class CategoricalBench
{
    public static void Run(string[] args)
    {
        int n = int.Parse(args[1]), c = int.Parse(args[2]), k = int.Parse(args[3]), iterations = int.Parse(args[4]);
        bool oneHot = args.Length > 5 && args[5] == "onehot";
        var random = new Random(7);
        var codes = new int[n];
        for (int i = 0; i < n; i++)
        {
            int component = random.Next(k);
            // Component j puts 80 % of its mass on its own slice of the categories, the rest anywhere.
            int width = Math.Max(1, c / k);
            codes[i] = random.NextDouble() < 0.8 ? Math.Min(c - 1, component * width + random.Next(width)) : random.Next(c);
        }
        DataMatrix data;
        if (oneHot)
        {
            var values = new double[n, c];
            for (int i = 0; i < n; i++) values[i, codes[i]] = 1;
            data = DataMatrix.From(values);
        }
        else
        {
            var values = new double[n, 1];
            for (int i = 0; i < n; i++) values[i, 0] = codes[i];
            data = DataMatrix.From(values);
        }
        var block = oneHot ? Blocks.Categorical("x", Enumerable.Range(0, c), c) : Blocks.Categorical("x", [0], c);
        var model = Mixture.WithComponents(k).Observe(block).Build();
        var options = FitOptions.Default with { MaxIterations = iterations, RunAllIterations = true, Tolerance = 0 };
        var clock = Stopwatch.StartNew();
        var fit = model.Fit(data, options);
        double seconds = clock.Elapsed.TotalSeconds;
        Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["system"] = "emdsl", ["model"] = oneHot ? "categorical-onehot" : "categorical", ["rows"] = n, ["categories"] = c, ["k"] = k,
            ["iterations"] = fit.Iterations, ["seconds_total"] = seconds, ["seconds_per_iteration"] = seconds / Math.Max(1, fit.Iterations),
            ["final_mean_loglik"] = fit.LogLikelihood / n, ["backend"] = ComputeBackend.Name,
            ["peak_memory_mb"] = EmBench.PeakResidentMegabytes(), ["data_mb"] = 8.0 * n * (oneHot ? c : 1) / (1 << 20),
        }));
    }
}
