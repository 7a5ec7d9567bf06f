using System.Diagnostics;
using EmDsl.Numerics;

namespace EmDsl.Bench;

/// <summary>Times the compute seam's matrix products on the shapes one E-step chunk uses, for both backends.</summary>
internal static class GemmBench
{
    public static void Run()
    {
        {
            var src = Enumerable.Range(0, 65536).Select(i => -30.0 * (i % 97) / 97).ToArray();
            var dst = new double[src.Length];
            for (int w = 0; w < 50; w++) ReproducibleMath.Exp(src, dst);
            var sw0 = Stopwatch.StartNew();
            for (int r = 0; r < 400; r++) ReproducibleMath.Exp(src, dst);
            Console.WriteLine($"  exp: {sw0.Elapsed.TotalSeconds / 400 * 1e9 / src.Length:F2} ns per entry");
        }
        foreach (int cols in new[] { 8, 10, 16 })
        {
            var random = new Random(2);
            int rows = 4096;
            var source = Enumerable.Range(0, rows * cols).Select(_ => -30 * random.NextDouble()).ToArray();
            var logits = new double[rows * cols];
            var lse = new double[rows];
            var entropy = new double[rows];
            for (int w = 0; w < 50; w++) { source.CopyTo(logits, 0); LogSpace.SoftmaxRowsInPlace(logits, rows, cols, lse, entropy); }
            int reps = 400;
            var sw = Stopwatch.StartNew();
            for (int r = 0; r < reps; r++) { source.CopyTo(logits, 0); LogSpace.SoftmaxRowsInPlace(logits, rows, cols, lse, entropy); }
            double seconds = sw.Elapsed.TotalSeconds / reps;
            Console.WriteLine($"  softmax+entropy {rows}×{cols}: {seconds * 1e3:F3} ms, {seconds * 1e9 / (rows * cols):F2} ns per entry");
        }
        var backends = new List<IDenseBackend> { ManagedBackend.Instance };
        if (OpenBlasBackend.TryLoad(out _) is { } blas) backends.Add(blas);
        // (name, transA, transB, m, n, k): chunk rows 4096, D = 8, K = 8, S = 44.
        var shapes = new (string, bool, bool, int, int, int)[]
        {
            ("whiten   Y·Wᵀ      4096×8 · 8×8", false, true, 4096, 8, 8),
            ("moments  (r∘Y)ᵀ·Y  8×4096 · 4096×8", true, false, 8, 8, 4096),
            ("log-joint T·Hᵀ     4096×44 · 44×8", false, true, 4096, 8, 44),
            ("stats    Rᵀ·T      8×4096 · 4096×44", true, false, 8, 44, 4096),
            ("diag log-joint T·Hᵀ 4096×32 · 32×16", false, true, 4096, 16, 32),
            ("diag stats Rᵀ·T    16×4096 · 4096×32", true, false, 16, 32, 4096),
            ("full16 log-joint T·Hᵀ 4096×152 · 152×16", false, true, 4096, 16, 152),
            ("full16 stats Rᵀ·T  16×4096 · 4096×152", true, false, 16, 152, 4096),
            ("bern log-joint T·Hᵀ 4096×64 · 64×10", false, true, 4096, 10, 64),
            ("bern stats Rᵀ·T    10×4096 · 4096×64", true, false, 10, 64, 4096),
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
