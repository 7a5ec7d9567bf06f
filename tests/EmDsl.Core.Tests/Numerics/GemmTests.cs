using EmDsl.Numerics;
using EmDsl.Tests.Families;
using FsCheck;
using FsCheck.Fluent;

namespace EmDsl.Tests.Numerics;

/// <summary>C ← α·op(A)·op(B) + β·C on every backend against a naive triple loop.</summary>
public class GemmTests
{
    /// <summary>Every backend, and the managed products without their tiles (the fallback of machines without 256-bit vectors).</summary>
    public static TheoryData<string> BackendNames() => new([.. Backends.List(), Backends.ManagedWithoutTiles, Backends.ManagedWith256BitTiles]);

    /// <summary>One GEMM call: shapes, leading dimensions (padding beyond the columns), scalars and a seed for the entries.</summary>
    internal sealed record GemmCase(bool TransA, bool TransB, int M, int N, int K, int PadA, int PadB, int PadC,
        double Alpha, double Beta, bool NaNInC, bool ExactBuffers, int Seed)
    {
        public (int Rows, int Cols) AShape => TransA ? (K, M) : (M, K);
        public (int Rows, int Cols) BShape => TransB ? (N, K) : (K, N);
        public int Lda => AShape.Cols + PadA;
        public int Ldb => BShape.Cols + PadB;
        public int Ldc => N + PadC;
    }

    private static Gen<int> Size => Gen.Frequency((1, Gen.Constant(0)), (1, Gen.Constant(1)), (4, Gen.Choose(2, 12)));

    private static Gen<double> Scalar(params double[] special) =>
        Gen.Frequency((2, Gen.Elements(special)), (1, Gens.Uniform(-2, 2)));

    internal static Arbitrary<GemmCase> Cases() =>
        (from ta in Gen.Elements(false, true)
         from tb in Gen.Elements(false, true)
         from m in Size
         from n in Size
         from k in Size
         from pads in Gen.Choose(0, 3).ArrayOf(3)
         from alpha in Scalar(1, -1, 0.5)
         from beta in Scalar(0, 1, 0)
         from nan in Gen.Elements(false, true)
         from exact in Gen.Elements(false, true)
         from seed in Gens.Seed
         select new GemmCase(ta, tb, m, n, k, pads[0], pads[1], pads[2], alpha, beta, nan, exact, seed)).ToArbitrary();

    /// <summary>Buffer length for a rows×cols matrix with leading dimension ld: all rows, or exactly up to the last used entry.</summary>
    private static int Length(int rows, int cols, int ld, bool exact) =>
        rows == 0 || cols == 0 ? rows * ld : exact ? (rows - 1) * ld + cols : rows * ld;

    private const double Sentinel = -12345.678;

    /// <summary>The case's A, B and C from its seed: C's padding holds a sentinel, its entries NaN when β = 0 and asked for.</summary>
    private static (double[] A, double[] B, double[] C) Operands(GemmCase c)
    {
        var r = new Random(c.Seed);
        var (ar, ac) = c.AShape;
        var (br, bc) = c.BShape;
        var a = new double[Length(ar, ac, c.Lda, c.ExactBuffers)];
        var b = new double[Length(br, bc, c.Ldb, c.ExactBuffers)];
        var cm = new double[Length(c.M, c.N, c.Ldc, c.ExactBuffers)];
        for (int i = 0; i < a.Length; i++) a[i] = r.Uniform(-1, 1);
        for (int i = 0; i < b.Length; i++) b[i] = r.Uniform(-1, 1);
        Array.Fill(cm, Sentinel); // padding between rows must stay as it is
        for (int i = 0; i < c.M; i++)
            for (int j = 0; j < c.N; j++) cm[i * c.Ldc + j] = c.Beta == 0 && c.NaNInC ? double.NaN : r.Uniform(-1, 1);
        return (a, b, cm);
    }

    internal static void Check(IDenseBackend backend, GemmCase c)
    {
        var (a, b, cm) = Operands(c);
        bool overwrite = c.Beta == 0;
        var before = (double[])cm.Clone();
        var aBefore = (double[])a.Clone();
        var bBefore = (double[])b.Clone();

        double A(int i, int p) => c.TransA ? a[p * c.Lda + i] : a[i * c.Lda + p];
        double B(int p, int j) => c.TransB ? b[j * c.Ldb + p] : b[p * c.Ldb + j];

        backend.Gemm(c.TransA, c.TransB, c.M, c.N, c.K, c.Alpha, a, c.Lda, b, c.Ldb, c.Beta, cm, c.Ldc);

        for (int i = 0; i < c.M; i++)
            for (int j = 0; j < c.N; j++)
            {
                double sum = 0, magnitude = 0;
                for (int p = 0; p < c.K; p++)
                {
                    sum += A(i, p) * B(p, j);
                    magnitude += Math.Abs(A(i, p) * B(p, j));
                }
                double expected = c.Alpha * sum + (overwrite ? 0 : c.Beta * before[i * c.Ldc + j]);
                double tol = 4 * (c.K + 2) * 1.2e-16 * (Math.Abs(c.Alpha) * magnitude + (overwrite ? 0 : Math.Abs(c.Beta * before[i * c.Ldc + j]))) + 1e-300;
                double actual = cm[i * c.Ldc + j];
                Assert.True(Math.Abs(actual - expected) <= tol,
                    $"{backend.Name}: C[{i},{j}] = {Fmt.D(actual)}, expected {Fmt.D(expected)} (tolerance {Fmt.D(tol)}) for {c}");
            }
        for (int i = 0; i < cm.Length; i++)
        {
            int row = c.Ldc == 0 ? 0 : i / c.Ldc, col = c.Ldc == 0 ? 0 : i % c.Ldc;
            bool inside = row < c.M && col < c.N;
            if (!inside) Assert.True(cm[i] == Sentinel, $"{backend.Name}: padding C[{i}] (row {row}, column {col}) changed to {cm[i]} for {c}");
        }
        Assert.Equal(aBefore, a);
        Assert.Equal(bBefore, b);
    }

    [Theory, MemberData(nameof(BackendNames))]
    public void GemmMatchesNaiveTripleLoop(string backend)
    {
        var b = Backends.Resolve(backend);
        PropertyChecks.ForAll(Cases(), c => Check(b, c), 300);
    }

    /// <summary>
    /// The E-step's shapes: C narrow on one side (up to 20), long on the other (up to 70: 4-row tiles and their
    /// leftovers), the shared dimension up to 300 (past the tiles' block of 128), every column count mod 4 (masked
    /// loads) and exactly sized buffers; on OpenBLAS these go to the same tiles when k ≥ 16.
    /// </summary>
    [Theory, MemberData(nameof(BackendNames))]
    public void TallNarrowProductsMatchNaiveTripleLoop(string backend)
    {
        var b = Backends.Resolve(backend);
        PropertyChecks.ForAll(TallNarrowCases.ToArbitrary(), c => Check(b, c), 200);
    }

    private static Gen<GemmCase> TallNarrowCases =>
        from ta in Gen.Elements(false, true)
        from tb in Gen.Elements(false, true)
        from wide in Gen.Choose(1, 70)
        from narrow in Gen.Choose(1, 20)
        from narrowRows in Gen.Elements(false, true)
        from k in Gen.Frequency((1, Gen.Choose(1, 20)), (2, Gen.Choose(16, 300)))
        from pads in Gen.Choose(0, 3).ArrayOf(3)
        from alpha in Scalar(1, -1, 0.5)
        from beta in Scalar(0, 1, 0)
        from exact in Gen.Elements(false, true)
        from seed in Gens.Seed
        select new GemmCase(ta, tb, narrowRows ? narrow : wide, narrowRows ? wide : narrow, k, pads[0], pads[1], pads[2], alpha, beta,
            true, exact, seed);

    /// <summary>
    /// The 512-bit tiles (8-row blocks of C, where the processor has them) give bit for bit what the 256-bit tiles give,
    /// on the E-step's shapes (those of <see cref="TallNarrowProductsMatchNaiveTripleLoop"/>): every element is summed in
    /// the same order whichever tile computes it, including the rows and columns the 8-row blocks leave over.
    /// </summary>
    [Fact]
    public void WideTilesGiveTheBitsOfThe256BitTiles() =>
        PropertyChecks.ForAll(TallNarrowCases.ToArbitrary(), c =>
        {
            var (a, b, c0) = Operands(c);
            var wide = (double[])c0.Clone();
            var narrow = (double[])c0.Clone();
            ManagedBackend.Instance.Gemm(c.TransA, c.TransB, c.M, c.N, c.K, c.Alpha, a, c.Lda, b, c.Ldb, c.Beta, wide, c.Ldc);
            ManagedBackend.With256BitTiles.Gemm(c.TransA, c.TransB, c.M, c.N, c.K, c.Alpha, a, c.Lda, b, c.Ldb, c.Beta, narrow, c.Ldc);
            for (int i = 0; i < wide.Length; i++)
                Assert.True(BitConverter.DoubleToInt64Bits(wide[i]) == BitConverter.DoubleToInt64Bits(narrow[i]),
                    $"C[{i / c.Ldc},{i % c.Ldc}] = {wide[i]:R} with the 512-bit tiles, {narrow[i]:R} with the 256-bit ones for {c}");
        }, 300);

    /// <summary>Every transpose combination with β = 0 over C full of NaN: C is overwritten, never read.</summary>
    [Theory, MemberData(nameof(BackendNames))]
    public void BetaZeroOverwritesNaNInEveryTransposeCombination(string backend)
    {
        var b = Backends.Resolve(backend);
        foreach (bool ta in new[] { false, true })
            foreach (bool tb in new[] { false, true })
                foreach (double alpha in new[] { 1.0, -0.75, 0.0 })
                    Check(b, new GemmCase(ta, tb, 5, 4, 3, 1, 2, 3, alpha, 0, NaNInC: true, ExactBuffers: true, Seed: 7));
    }

    /// <summary>β = 1 accumulates; β = 1 with α = 0 or k = 0 leaves C unchanged.</summary>
    [Theory, MemberData(nameof(BackendNames))]
    public void BetaOneAccumulates(string backend)
    {
        var b = Backends.Resolve(backend);
        foreach (bool ta in new[] { false, true })
            foreach (bool tb in new[] { false, true })
            {
                Check(b, new GemmCase(ta, tb, 4, 6, 5, 0, 1, 2, 1.5, 1, false, false, 11));
                Check(b, new GemmCase(ta, tb, 4, 6, 5, 0, 1, 2, 0, 1, false, false, 12));
                Check(b, new GemmCase(ta, tb, 4, 6, 0, 0, 1, 2, 2, 1, false, false, 13));
            }
    }

    /// <summary>Inner dimensions past the managed block size (256) and past its stack buffer (1024).</summary>
    [Theory, MemberData(nameof(BackendNames))]
    public void GemmWithLongInnerDimension(string backend)
    {
        var b = Backends.Resolve(backend);
        int seed = 100;
        foreach (int k in new[] { 255, 257, 600, 1100 })
            foreach (bool ta in new[] { false, true })
                foreach (bool tb in new[] { false, true })
                    Check(b, new GemmCase(ta, tb, 3, 2, k, 1, 0, 1, 0.5, seed % 2 == 0 ? 0 : 1, true, true, seed++));
    }

    /// <summary>Running the same product twice gives bit-identical results (no dependence on threads or state).</summary>
    [Theory, MemberData(nameof(BackendNames))]
    public void GemmIsDeterministic(string backend)
    {
        var b = Backends.Resolve(backend);
        var r = new Random(3);
        int m = 40, n = 30, k = 50;
        var a = r.Vector(m * k, -1, 1);
        var bb = r.Vector(k * n, -1, 1);
        var c1 = new double[m * n];
        var c2 = new double[m * n];
        b.Gemm(false, false, m, n, k, 1, a, k, bb, n, 0, c1, n);
        b.Gemm(false, false, m, n, k, 1, a, k, bb, n, 0, c2, n);
        Assert.Equal(c1, c2);
    }

    /// <summary>
    /// An empty product (n = 0) with the smallest buffers the argument checks accept: C has no entries, so an
    /// empty buffer with any leading dimension is valid, and the call must be a no-op on every backend.
    /// </summary>
    [Theory, MemberData(nameof(BackendNames))]
    public void GemmAcceptsEmptyBuffersForEmptyProducts(string backend)
    {
        var b = Backends.Resolve(backend);
        foreach (double beta in new[] { 0.0, 1.0, 2.0 })
        {
            var ex = Record.Exception(() => b.Gemm(false, false, 3, 0, 2, 1, new double[6], 2, [], 1, beta, [], 1));
            Assert.True(ex is null, $"{b.Name}: m = 3, n = 0, k = 2, β = {beta} with an empty C threw {ex?.GetType().Name}: {ex?.Message}");
        }
    }

    [Theory, MemberData(nameof(BackendNames))]
    public void GemmRejectsInvalidArgumentsLikeEveryBackend(string backend)
    {
        var b = Backends.Resolve(backend);
        var a = new double[12];
        var bb = new double[12];
        var c = new double[12];
        Assert.ThrowsAny<ArgumentException>(() => b.Gemm(false, false, -1, 2, 2, 1, a, 2, bb, 2, 0, c, 2));
        Assert.ThrowsAny<ArgumentException>(() => b.Gemm(false, false, 3, 2, 4, 1, a, 3, bb, 2, 0, c, 2)); // lda < k
        Assert.ThrowsAny<ArgumentException>(() => b.Gemm(false, false, 3, 2, 4, 1, a, 4, bb, 2, 0, c, 1)); // ldc < n
        Assert.ThrowsAny<ArgumentException>(() => b.Gemm(false, false, 4, 2, 4, 1, a, 4, bb, 2, 0, c, 2)); // A too small
        Assert.ThrowsAny<ArgumentException>(() => b.Gemm(true, false, 3, 4, 2, 1, a, 2, bb, 4, 0, c, 4)); // op(A) = Aᵀ with A 2×3: lda < 3
        Assert.ThrowsAny<ArgumentException>(() => b.Gemm(false, false, 3, 5, 2, 1, a, 2, bb, 5, 0, c, 5)); // C (3×5) needs 15 > 12
        Assert.ThrowsAny<ArgumentException>(() => b.Gemm(false, true, 3, 7, 2, 1, a, 2, bb, 2, 0, c, 7)); // B (7×2) needs 14 > 12
    }
}
