using System.Diagnostics;
using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Inference;

namespace EmDsl.Bench;

/// <summary>
/// The cost of marginalising missing values: a fixed number of EM iterations of a K-component, D-dimensional Gaussian
/// mixture (full, diagonal and tied covariance) next to a D-column Poisson block, on the same data complete, with
/// the option on but no holes (the fast path, which must cost the same), and with a fraction of the entries missing
/// completely at random (rows with holes take the per-pattern path: one Cholesky of Σ_oo per pattern and component
/// and chunk, and a triangular solve per row). Prints ms per iteration, best of the repeats.
/// </summary>
internal static class MissingBench
{
    public static void Run(int rows, int dims, int k, int iterations, double missingRate, int repeats)
    {
        var random = new Random(42);
        var values = new double[rows, 2 * dims];
        var observed = new bool[rows, 2 * dims];
        for (int i = 0; i < rows; i++)
        {
            int c = i % k;
            for (int j = 0; j < dims; j++)
            {
                values[i, j] = 3 * c + (j % 2 == 0 ? 1 : -1) * 0.5 * c + MathNet.Numerics.Distributions.Normal.Sample(random, 0, 1);
                values[i, dims + j] = MathNet.Numerics.Distributions.Poisson.Sample(random, 1 + 2 * c);
            }
            for (int j = 0; j < 2 * dims; j++) observed[i, j] = random.NextDouble() >= missingRate;
        }
        var complete = DataMatrix.From(values);
        var allowed = DataMatrix.From(values, MissingValues.Allow);
        var holed = DataMatrix.WithMissing(values, observed);
        Console.WriteLine($"missing values: {rows:N0} rows, Gaussian D = {dims} + Poisson D = {dims}, K = {k}, {iterations} iterations, {missingRate:P0} missing, best of {repeats}");
        foreach (var covariance in new[] { CovarianceType.Full, CovarianceType.Diagonal, CovarianceType.Tied })
        {
            var g = Blocks.Gaussian("g", Enumerable.Range(0, dims), covariance);
            var p = Blocks.Poisson("p", Enumerable.Range(dims, dims));
            var model = Mixture.WithComponents(k).Observe(g).Observe(p).Build();
            var options = FitOptions.Default with { MaxIterations = iterations, Tolerance = 0, Seed = 1 };
            var marginalize = options with { MissingValues = MissingValuePolicy.Marginalize };
            double Time(DataMatrix data, FitOptions o)
            {
                double best = double.MaxValue;
                for (int r = 0; r < repeats; r++)
                {
                    var sw = Stopwatch.StartNew();
                    var fit = model.Fit(data, o);
                    sw.Stop();
                    if (fit.Iterations == 0) throw new InvalidOperationException("no iterations");
                    best = Math.Min(best, sw.Elapsed.TotalMilliseconds / fit.Iterations);
                }
                return best;
            }
            double a = Time(complete, options), b = Time(allowed, marginalize), c = Time(holed, marginalize);
            Console.WriteLine($"  {covariance,-9} complete {a,8:F2} ms/it   option on, no holes {b,8:F2} ms/it   with holes {c,8:F2} ms/it ({c / a:F2}×)");
        }
    }
}
