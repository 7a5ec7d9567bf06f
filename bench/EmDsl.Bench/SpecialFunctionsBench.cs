using System.Diagnostics;
using EmDsl.Numerics;
using MathNetSf = MathNet.Numerics.SpecialFunctions;

namespace EmDsl.Bench;

/// <summary>
/// Nanoseconds per call of EmDsl's log Γ, ψ, ψ₁ and log x − ψ(x) against MathNet's GammaLn and DiGamma, on
/// arguments log-uniform in [0.01, 1e4] (Beta and Dirichlet concentrations), counts + 1 in [1, 100] (Poisson and
/// negative binomial base measures) and log-uniform in [1e4, 1e12]. Best of five passes over one million arguments.
/// </summary>
public static class SpecialFunctionsBench
{
    public static void Run()
    {
        var random = new Random(11);
        const int n = 1_000_000;
        var sets = new (string Name, double[] X)[]
        {
            ("concentrations 0.01..1e4", Enumerable.Range(0, n).Select(_ => Math.Pow(10, -2 + 6 * random.NextDouble())).ToArray()),
            ("counts + 1, 1..100", Enumerable.Range(0, n).Select(_ => (double)random.Next(1, 101)).ToArray()),
            ("large 1e4..1e12", Enumerable.Range(0, n).Select(_ => Math.Pow(10, 4 + 8 * random.NextDouble())).ToArray()),
        };
        var functions = new (string Name, Func<double, double> F)[]
        {
            ("EmDsl LogGamma", SpecialFunctions.LogGamma),
            ("MathNet GammaLn", MathNetSf.GammaLn),
            ("EmDsl Digamma", SpecialFunctions.Digamma),
            ("MathNet DiGamma", MathNetSf.DiGamma),
            ("EmDsl Trigamma", SpecialFunctions.Trigamma),
            ("EmDsl LogMinusDigamma", SpecialFunctions.LogMinusDigamma),
        };
        foreach (var (setName, x) in sets)
        {
            Console.WriteLine(setName);
            foreach (var (name, f) in functions)
            {
                double best = double.PositiveInfinity, sink = 0;
                for (int pass = 0; pass < 5; pass++)
                {
                    var watch = Stopwatch.StartNew();
                    for (int i = 0; i < x.Length; i++) sink += f(x[i]);
                    best = Math.Min(best, watch.Elapsed.TotalNanoseconds / x.Length);
                }
                Console.WriteLine($"  {name,-22} {best,6:F1} ns/call   (checksum {sink:G6})");
            }
        }
    }
}
