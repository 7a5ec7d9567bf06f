using System.Diagnostics;
using System.Globalization;
using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Inference;
using EmDsl.Plotting;

namespace EmDsl.Bench;

/// <summary>
/// Convergence per data pass of batch EM, incremental EM and stepwise EM (two α) from the same start, on a seeded
/// mixture of K full Gaussians in D dimensions; and the time per E-step pass of a streamed batch fit against the
/// in-memory fit of the same data. <c>dotnet run -c Release --project bench/EmDsl.Bench -- online [rows] [passes] [png]</c>.
/// </summary>
internal static class OnlineBench
{
    /// <summary>A source that is not a matrix source: it copies rows out of an array, as a file reader would fill its buffer.</summary>
    private sealed class ArraySource(double[] values, int rows, int columns) : DataSource(columns, null)
    {
        public override long? RowCount => rows;
        public override string Description => "the bench's array source";
        public override DataSourceReader OpenReader() => new Reader(values, rows, Columns);

        private sealed class Reader(double[] values, int rows, int columns) : DataSourceReader
        {
            private int _next;
            public override int Read(Span<double> destination)
            {
                int n = Math.Min(destination.Length / columns, rows - _next);
                values.AsSpan(_next * columns, n * columns).CopyTo(destination);
                _next += n;
                return n;
            }
        }
    }

    public static void Run(int rows, int passes, string? png)
    {
        const int d = 8, k = 8;
        var random = new Random(2026);
        var means = Enumerable.Range(0, k).Select(_ => Enumerable.Range(0, d).Select(_ => 1.2 * Normal(random)).ToArray()).ToArray();
        var factors = Enumerable.Range(0, k).Select(_ => Enumerable.Range(0, d * d).Select(_ => 0.6 * Normal(random)).ToArray()).ToArray();
        var values = new double[rows * d];
        var z = new double[d];
        for (int i = 0; i < rows; i++)
        {
            int c = random.Next(k);
            for (int j = 0; j < d; j++) z[j] = Normal(random);
            for (int a = 0; a < d; a++)
            {
                double v = means[c][a];
                for (int b = 0; b <= a; b++) v += factors[c][a * d + b] * z[b]; // x = μ + L z, L lower triangular
                values[i * d + a] = v + 0.3 * z[a];
            }
        }
        var data = DataMatrix.FromRows(Enumerable.Range(0, rows).Select(i => values.AsSpan(i * d, d).ToArray()));
        var model = Mixture.WithComponents(k).Observe(Blocks.Gaussian("x", Enumerable.Range(0, d))).Build();
        Console.WriteLine($"Online EM bench: {rows:N0} rows × {d}, K = {k} full-covariance Gaussians, {passes} passes, {Environment.ProcessorCount} cores, backend {EmDsl.Numerics.ComputeBackend.Name}");

        // One start for every method: k-means++ on the streamed fit's sample, no EM iteration.
        var start = model.Fit(new ArraySource(values, rows, d), FitOptions.Default with { MaxIterations = 0, Seed = 1 });
        var options = FitOptions.Default with { Initialization = Initialization.FromFit(start), Tolerance = 0 };

        var sw = Stopwatch.StartNew();
        var batch = model.Fit(new ArraySource(values, rows, d), options with { MaxIterations = passes });
        var tBatch = sw.Elapsed.TotalSeconds;
        sw.Restart();
        int parts = Math.Max(1, rows / 100);
        var incremental = model.FitOnline(new ArraySource(values, rows, d), OnlineEmOptions.Default with { Method = OnlineMethod.Incremental, BatchRows = parts, Passes = passes - 1 }, options);
        var tIncremental = sw.Elapsed.TotalSeconds;
        sw.Restart();
        var stepwise6 = model.FitOnline(new ArraySource(values, rows, d), OnlineEmOptions.Default with { BatchRows = 1000, Alpha = 0.6, Passes = passes }, options);
        var tStep6 = sw.Elapsed.TotalSeconds;
        sw.Restart();
        var stepwise9 = model.FitOnline(new ArraySource(values, rows, d), OnlineEmOptions.Default with { BatchRows = 1000, Alpha = 0.9, Passes = passes }, options);
        var tStep9 = sw.Elapsed.TotalSeconds;

        var series = new (string Name, IReadOnlyList<double> Trace, double Seconds)[]
        {
            ("batch EM", batch.ObjectiveTrace, tBatch),
            ($"incremental ({rows / parts} parts)", incremental.ObjectiveTrace, tIncremental),
            ("stepwise α=0.6, m=1000", stepwise6.ObjectiveTrace, tStep6),
            ("stepwise α=0.9, m=1000", stepwise9.ObjectiveTrace, tStep9),
        };
        Console.WriteLine();
        Console.WriteLine("Mean log-likelihood per row after each data pass (pass 0 = the common start):");
        Console.WriteLine("| pass | " + string.Join(" | ", series.Select(s => s.Name)) + " |");
        Console.WriteLine("|---:|" + string.Concat(series.Select(_ => "---:|")));
        for (int p = 0; p <= passes; p++)
            Console.WriteLine($"| {p} | " + string.Join(" | ", series.Select(s => p < s.Trace.Count ? (s.Trace[p] / rows).ToString("F5", CultureInfo.InvariantCulture) : "")) + " |");
        Console.WriteLine($"Batch EM: {batch.Status}, {batch.Iterations} iterations; {batch.Diagnostics}");
        Console.WriteLine("| seconds (incl. evaluation passes) | " + string.Join(" | ", series.Select(s => s.Seconds.ToString("F1", CultureInfo.InvariantCulture))) + " |");

        if (png is not null)
        {
            var plot = new ScottPlot.Plot();
            for (int s = 0; s < series.Length; s++)
            {
                var xs = Enumerable.Range(1, series[s].Trace.Count - 1).Select(i => (double)i).ToArray();
                var ys = xs.Select(x => series[s].Trace[(int)x] / rows).ToArray();
                var line = plot.Add.Scatter(xs, ys);
                line.LegendText = series[s].Name;
                line.Color = PlotFiles.ComponentColor(s);
                line.LineWidth = 2;
                line.MarkerSize = 5;
            }
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
            plot.XLabel("data passes");
            plot.YLabel("mean log-likelihood per row");
            plot.Title($"{rows:N0} rows × {d}, K = {k} full Gaussians, same start");
            plot.ShowLegend(ScottPlot.Alignment.LowerRight);
            Console.WriteLine($"\nPlot: {PlotFiles.Save(plot, png, 720, 450)}");
        }

        // Time per E-step pass: streamed (array source, copied chunk by chunk) against in-memory, same start, same iterations.
        Console.WriteLine();
        const int iterations = 5;
        var timing = options with { MaxIterations = iterations };
        model.Fit(data, timing with { MaxIterations = 1 }); // warm-up
        sw.Restart();
        var inMemory = model.Fit(data, timing);
        double tMemory = sw.Elapsed.TotalSeconds;
        sw.Restart();
        var streamed = model.Fit(new ArraySource(values, rows, d), timing);
        double tStreamed = sw.Elapsed.TotalSeconds;
        bool same = inMemory.ObjectiveTrace.SequenceEqual(streamed.ObjectiveTrace);
        Console.WriteLine($"Batch EM, {iterations} iterations ({iterations + 1} E-step passes): in memory {tMemory:F2} s ({1000 * tMemory / (iterations + 1):F0} ms per pass), " +
                          $"streamed {tStreamed:F2} s ({1000 * tStreamed / (iterations + 2):F0} ms per pass, counting the scan as a pass); traces identical: {same}");
    }

    private static double Normal(Random r) => MathNet.Numerics.Distributions.Normal.Sample(r, 0, 1);
}
