using System.Diagnostics;
using EmDsl.Numerics;

namespace EmDsl.Bench;

/// <summary>Times the compute seam's matrix products on the shapes one E-step chunk uses, for both backends.</summary>
internal static class GemmBench
{
    public static void Run()
    {
        var backends = new List<IDenseBackend> { ManagedBackend.Instance };
        if (OpenBlasBackend.TryLoad(out _) is { } blas) backends.Add(blas);
        // (name, transA, transB, m, n, k): chunk rows 4096, D = 8, K = 8, S = 44.
        var shapes = new (string, bool, bool, int, int, int)[]
        {
            ("whiten   Y·Wᵀ      4096×8 · 8×8", false, true, 4096, 8, 8),
            ("moments  (r∘Y)ᵀ·Y  8×4096 · 4096×8", true, false, 8, 8, 4096),
            ("log-joint T·Hᵀ     4096×44 · 44×8", false, true, 4096, 8, 44),
            ("stats    Rᵀ·T      8×4096 · 4096×44", true, false, 8, 44, 4096),
            ("square   512×512 · 512×512", false, false, 512, 512, 512),
        };
        foreach (var (name, ta, tb, m, n, k) in shapes)
            foreach (var backend in backends)
            {
                var random = new Random(1);
                var a = Enumerable.Range(0, m * k).Select(_ => random.NextDouble()).ToArray();
                var b = Enumerable.Range(0, k * n).Select(_ => random.NextDouble()).ToArray();
                var c = new double[m * n];
                int lda = ta ? m : k, ldb = tb ? k : n;
                for (int w = 0; w < 20; w++) backend.Gemm(ta, tb, m, n, k, 1, a, lda, b, ldb, 0, c, n);
                int reps = 200;
                var sw = Stopwatch.StartNew();
                for (int r = 0; r < reps; r++) backend.Gemm(ta, tb, m, n, k, 1, a, lda, b, ldb, 0, c, n);
                double seconds = sw.Elapsed.TotalSeconds / reps;
                Console.WriteLine($"  {name,-36} {backend.Name,-9} {seconds * 1e3,8:F3} ms  {2.0 * m * n * k / seconds / 1e9,6:F2} GFLOP/s");
            }
    }
}
