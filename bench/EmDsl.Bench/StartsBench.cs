using System.Diagnostics;
using System.Text.Json;
using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Inference;

namespace EmDsl.Bench;

/// <summary>
/// How often a start reaches the known optimum of a regression mixture or mixture of experts: for each case of
/// tests/fixtures/r_start_optima.json (made by tests/fixtures/make_start_fixtures.R from many flexmix restarts), fits
/// from seeds 0…S−1 with each start, run to a tight tolerance so that only the start decides, and counts the fits whose
/// log-likelihood is within 1e-6 (relative) of the optimum. bench/flexmix_starts.R measures flexmix's own starts.
/// </summary>
internal static class StartsBench
{
    /// <summary>One case: the model and data, by the fixture's name.</summary>
    public static (MixtureModel Model, DataMatrix Data) Case(string name, string fixtures)
    {
        (DataMatrix Data, string[] Header) Load(string file)
        {
            var path = Path.Combine(fixtures, file);
            return (DataMatrix.ReadCsv(path), File.ReadLines(path).First().Split(','));
        }
        switch (name)
        {
            case "gaussian_npreg":
            {
                var (d, h) = Load("r_npreg.csv");
                int x = Array.IndexOf(h, "x"), yn = Array.IndexOf(h, "yn");
                // Columns: yn, x, x².
                var data = DataMatrix.FromRows(Enumerable.Range(0, d.Rows).Select(i => new[] { d[i, yn], d[i, x], d[i, x] * d[i, x] }));
                return (Mixture.WithComponents(2).Observe(Blocks.LinearRegression("yn", 0, [1, 2])).Build(), data);
            }
            case "poisson_npreg":
            {
                var (d, h) = Load("r_npreg.csv");
                return (Mixture.WithComponents(2).Observe(Blocks.PoissonRegression("yp", Array.IndexOf(h, "yp"), [Array.IndexOf(h, "x")])).Build(), d);
            }
            case "experts_patent":
            {
                var (d, h) = Load("r_patent.csv");
                var block = Blocks.PoissonRegression("patents", Array.IndexOf(h, "Patents"), [Array.IndexOf(h, "lgRD")]);
                return (Mixture.WithComponents(3).Observe(block).GatedBy([Array.IndexOf(h, "RDS")]).Build(), d);
            }
            case "logistic_three":
            {
                var (d, h) = Load("r_logistic_mixture.csv");
                int x = Array.IndexOf(h, "x");
                var blocks = new[] { "y1", "y2", "y3" }.Select(y => Blocks.LogisticRegression(y, Array.IndexOf(h, y), [x])).ToArray();
                return (Mixture.WithComponents(2).Observe(blocks).Build(), d);
            }
            default:
                throw new ArgumentException($"Unknown case {name}.");
        }
    }

    public static void Run(int seeds, string fixtures, bool tune)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(fixtures, "r_start_optima.json")));
        var starts = new List<(string Name, Initialization Start)>
        {
            ("Auto (default)", Initialization.Auto),
            ("KMeansPlusPlus() (old default)", Initialization.KMeansPlusPlus()),
        };
        if (tune)
            foreach (int m in new[] { 1, 5, 10, 20 })
                foreach (int s in new[] { 0, 5, 10, 20 })
                    starts.Add(($"RandomPartitions({m}, {s})", Initialization.RandomPartitions(m, s)));
        Console.WriteLine($"Fits reaching the optimum (|Δ log-lik| ≤ 1e-6 relative), seeds 0..{seeds - 1}; Tolerance 1e-10:");
        foreach (var c in json.RootElement.GetProperty("cases").EnumerateArray())
        {
            string name = c.GetProperty("name").GetString()!;
            double optimum = c.GetProperty("optimum").GetProperty("loglik").GetDouble();
            var (model, data) = Case(name, fixtures);
            Console.WriteLine($"{name}: optimum {optimum:F6}");
            foreach (var (label, start) in starts)
            {
                int hits = 0, iterations = 0;
                var ends = new SortedSet<double>();
                var watch = Stopwatch.StartNew();
                for (int seed = 0; seed < seeds; seed++)
                {
                    var fit = model.Fit(data, FitOptions.Default with { Initialization = start, Seed = seed, Tolerance = 1e-10, MaxIterations = 20_000 });
                    iterations += fit.Iterations;
                    if (Math.Abs(fit.LogLikelihood - optimum) <= 1e-6 * Math.Abs(optimum)) hits++;
                    else ends.Add(Math.Round(fit.LogLikelihood, 3));
                }
                Console.WriteLine($"  {label,-32} {hits,3}/{seeds}  {watch.Elapsed.TotalMilliseconds / seeds,8:F1} ms/fit  {iterations / (double)seeds,7:F0} iterations/fit" +
                    (ends.Count == 0 ? "" : $"  elsewhere: {string.Join(", ", ends.Reverse().Take(6))}"));
            }
        }
    }
}
