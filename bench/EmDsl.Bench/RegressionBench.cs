using System.Diagnostics;
using System.Globalization;
using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Inference;
using EmDsl.Numerics;

namespace EmDsl.Bench;

/// <summary>
/// Times EM on a mixture of two Poisson regressions and on a three-expert Poisson mixture with a softmax gating
/// (the generalized-EM paths), from a fixed start, and optionally exports the data and start so that
/// bench/flexmix_regression.R times flexmix on the same problem.
/// </summary>
internal static class RegressionBench
{
    public static void Run(int rows, int iterations, string? export)
    {
        var random = new Random(11);
        var values = new double[rows][];
        var labels = new int[rows];
        double[][] beta = [[0.5, 1.0, -0.5], [2.0, -0.5, 0.3], [1.2, 0.2, 0.8]];
        for (int i = 0; i < rows; i++)
        {
            double x1 = Normal(random), x2 = Normal(random), g = Normal(random);
            // Gating on g: softmax(0, 1.5 g, −1.5 g).
            double[] logits = [0, 1.5 * g, -1.5 * g];
            double m = logits.Max(), s = logits.Sum(l => Math.Exp(l - m));
            double u = random.NextDouble() * s, c = 0;
            int k = 2;
            for (int j = 0; j < 3; j++) { c += Math.Exp(logits[j] - m); if (u < c) { k = j; break; } }
            labels[i] = k;
            var b = beta[k];
            values[i] = [MathNet.Numerics.Distributions.Poisson.Sample(random, Math.Exp(b[0] + b[1] * x1 + b[2] * x2)), x1, x2, g];
        }
        var data = DataMatrix.FromRows(values);
        // A rough start: each row's true label kept with probability 0.6, otherwise a random one.
        var start = labels.Select(l => random.NextDouble() < 0.6 ? l : random.Next(3)).ToArray();
        if (export is not null)
        {
            Directory.CreateDirectory(export);
            File.WriteAllLines(Path.Combine(export, "regression.csv"),
                new[] { "y,x1,x2,g,start" }.Concat(values.Select((r, i) => string.Join(",", r.Select(v => v.ToString("R", CultureInfo.InvariantCulture))) + "," + start[i])));
            File.WriteAllText(Path.Combine(export, "regression_settings.txt"), $"{iterations}\n");
        }
        Console.WriteLine($"Poisson regression mixtures on {rows} rows, covariates x1, x2 (gating on g), {iterations} EM iterations from a fixed partition, backend {ComputeBackend.Name}, {Environment.ProcessorCount} cores");
        var expert = Blocks.PoissonRegression("y", 0, [1, 2]);
        Time("2 Poisson regressions", Mixture.WithComponents(2).Observe(expert).Build(), data, start.Select(l => Math.Min(l, 1)).ToArray(), 2, iterations);
        Time("3 experts + softmax gating", Mixture.WithComponents(3).Observe(expert).GatedBy([3]).Build(), data, start, 3, iterations);
    }

    private static void Time(string name, MixtureModel model, DataMatrix data, int[] start, int k, int iterations)
    {
        var r = new double[data.Rows, k];
        for (int i = 0; i < data.Rows; i++) r[i, start[i]] = 1;
        var options = FitOptions.Default with { Initialization = Initialization.FromResponsibilities(r), MaxIterations = iterations, Tolerance = 0 };
        model.Fit(data, options with { MaxIterations = 2 }); // warm-up
        var watch = Stopwatch.StartNew();
        var fit = model.Fit(data, options);
        watch.Stop();
        Console.WriteLine($"  {name,-28} {watch.Elapsed.TotalMilliseconds / Math.Max(1, fit.Iterations),8:F1} ms/iteration  ({fit.Iterations} iterations, log-likelihood {fit.LogLikelihood:F4})");
    }

    private static double Normal(Random r) => MathNet.Numerics.Distributions.Normal.Sample(r, 0, 1);
}
