using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EmDsl.Numerics;

/// <summary>
/// C += α·op(A)·op(B) by register tiles: 4 rows × 8 columns of C held in eight 256-bit accumulators while the shared
/// dimension p runs, each step one broadcast of A(i, p) per row and two loads of B(p, j..j+8), eight fused
/// multiply–adds. Where the processor has 512-bit vectors, blocks of 8 rows × 16 (or 8) columns of C in 512-bit
/// accumulators (<see cref="Tile8{TSecond, TExtra}"/>, up to 4 more columns beside them), the rows they leave over
/// 4 × 16 (<see cref="Tile4x16"/>), and the 256-bit tiles for the rest. Made for the E-step's tall, narrow products,
/// which BLAS packs at a cost comparable to the arithmetic: the chunk's statistics times the components' natural parameters (T·Hᵀ: thousands of rows, K columns,
/// S shared) and the responsibilities' statistics (Rᵀ·T: K rows, S columns, thousands shared).
/// <para>
/// op(B) must be contiguous along its columns: a transposed B (a few parameters) is packed, scaled by α, into rows
/// padded to whole vectors; a plain B (the chunk's statistics) is read in place, its last n mod 4 columns by masked
/// loads. Columns go in tiles of two vectors (one tile of one vector first when their number is odd), so the masked
/// vector is the second of the last tile and every tile has eight independent chains; the rows left over from the
/// 4-row tiles run through the same tile with the last row repeated (its sums computed and dropped), so every element
/// of C is summed in the same order whatever its position. The shared dimension runs in blocks of <see cref="SharedBlock"/>, so the rows of B a block reads stay
/// in cache while every tile passes over them; each block's sums are added to C. Every element of C is summed in the
/// same order whatever the thread, so results are reproducible.
/// </para>
/// </summary>
internal static unsafe class TiledGemm
{
    /// <summary>The shared dimension's block: 128 rows of a chunk's statistics (a few tens of kilobytes).</summary>
    private const int SharedBlock = 128;

    /// <summary>Whether the tiles can run here (256-bit vectors and masked loads in hardware); otherwise callers use scalar products.</summary>
    public static bool IsSupported => Avx.IsSupported && Vector256.IsHardwareAccelerated;

    /// <summary>
    /// Whether the OpenBLAS backend should hand a product to the tiles: C narrow (at most 16 rows or columns: a mixture's
    /// components) and the shared dimension long enough (≥ 16) to amortise a tile's stores. Measured with
    /// <c>bench gemm</c>: on the E-step's shapes the tiles run at 23–36 GFLOP/s per core with 256-bit vectors and 55–89
    /// with 512-bit ones, OpenBLAS at 18–29.
    /// </summary>
    public static bool Suits(int m, int n, int k) => IsSupported && Math.Min(m, n) <= 16 && k >= 16;

    /// <summary>
    /// C += α·op(A)·op(B); C is m×n, the shared dimension k. The caller checked the shapes. <paramref name="wide"/>: use
    /// the 512-bit tiles where the processor has 512-bit vectors (false: the 256-bit tiles alone; the same bits).
    /// </summary>
    public static void Add(bool transA, bool transB, int m, int n, int k, double alpha,
        ReadOnlySpan<double> a, int lda, ReadOnlySpan<double> b, int ldb, Span<double> c, int ldc, bool wide = true)
    {
        double[]? packed = null;
        try
        {
            // A(i, p) sits at i·rowStep + p·columnStep; B(p, j) at p·bStride + j.
            nint rowStep = transA ? 1 : lda, columnStep = transA ? lda : 1, bStride = ldb;
            double scale = alpha;
            int vectors = (n + 3) / 4, rest = n % 4;
            bool masked = rest != 0;
            if (transB)
            {
                int stride = vectors * 4;
                packed = ArrayPool<double>.Shared.Rent(k * stride);
                for (int p = 0; p < k; p++)
                {
                    for (int j = 0; j < n; j++) packed[p * stride + j] = alpha * b[j * ldb + p];
                    for (int j = n; j < stride; j++) packed[p * stride + j] = 0;
                }
                b = packed.AsSpan(0, k * stride);
                bStride = stride;
                scale = 1;
                masked = false; // the padding makes whole vectors; only the first n columns are stored
            }
            var mask = Vector256.Create(-1L, rest > 1 ? -1L : 0L, rest > 2 ? -1L : 0L, 0L).AsDouble(); // the first n mod 4 lanes
            fixed (double* pinned = b) // masked loads take addresses
            {
                ref double pa = ref MemoryMarshal.GetReference(a);
                ref double pb = ref MemoryMarshal.GetReference(b);
                ref double pc = ref MemoryMarshal.GetReference(c);
                // Where the processor has 512-bit vectors, 8-row blocks of C go through Tile8: 16 columns a tile (two
                // 512-bit vectors a row sharing the broadcasts), one 8-column tile when the number of whole eights is
                // odd, the last tile taking up to 4 columns past them. The rows left over go 4 at a time through
                // Tile4x16, and the rest through the 256-bit tiles. Every element is summed in the same order whichever
                // tile computes it, so the split changes no bit.
                wide &= Vector512.IsHardwareAccelerated;
                int m8 = wide ? m / 8 * 8 : 0, n8 = wide ? n / 8 * 8 : 0;
                if (n8 == 0) m8 = 0;
                int extra = n8 > 0 && n - n8 <= 4 ? n - n8 : 0; // columns the last Tile8 takes past the whole eights
                int last = Math.Max(0, n8 - (n8 % 16 == 0 ? 16 : 8)); // where the last Tile8 starts
                int n16 = wide ? n / 16 * 16 : 0;               // columns Tile4x16 takes from the rows left over
                var tiles = new Tiles(rowStep, columnStep, bStride, scale, ldc, n, mask, masked);
                for (int p0 = 0; p0 < k; p0 += SharedBlock)
                {
                    int depth = Math.Min(SharedBlock, k - p0);
                    ref double ab = ref Unsafe.Add(ref pa, p0 * columnStep);
                    ref double bb = ref Unsafe.Add(ref pb, p0 * bStride);
                    for (int i = 0; i < m8; i += 8)
                    {
                        ref double ai = ref Unsafe.Add(ref ab, i * rowStep);
                        ref double ci = ref Unsafe.Add(ref pc, (nint)i * ldc);
                        for (int j = 0; j < last; j += 16)
                            Tile8<On, NoLoad>(ref ai, rowStep, columnStep, ref Unsafe.Add(ref bb, j), bStride, depth, scale, ref Unsafe.Add(ref ci, j), ldc, 0, mask);
                        ref double bl = ref Unsafe.Add(ref bb, last);
                        ref double cl = ref Unsafe.Add(ref ci, last);
                        if (n8 - last == 16) LastTile8<On>(ref ai, rowStep, columnStep, ref bl, bStride, depth, scale, ref cl, ldc, extra, masked, mask);
                        else LastTile8<Off>(ref ai, rowStep, columnStep, ref bl, bStride, depth, scale, ref cl, ldc, extra, masked, mask);
                    }
                    if (n8 + extra < n) tiles.Rows(ref ab, ref bb, ref pc, depth, 0, m8, n8);
                    // The rows left over (all of them when m < 8): 4 at a time by 16 columns in 512-bit vectors, then the 256-bit tiles.
                    for (int i = m8; i < m && n16 > 0; i += 4)
                    {
                        int rows = Math.Min(4, m - i);
                        var steps = new RowSteps(rowStep, rows);
                        ref double ai = ref Unsafe.Add(ref ab, i * rowStep);
                        ref double ci = ref Unsafe.Add(ref pc, (nint)i * ldc);
                        for (int j = 0; j < n16; j += 16)
                            Tile4x16(ref ai, steps, columnStep, ref Unsafe.Add(ref bb, j), bStride, depth, scale, ref Unsafe.Add(ref ci, j), ldc, rows);
                    }
                    tiles.Rows(ref ab, ref bb, ref pc, depth, m8, m, n16);
                }
            }
        }
        finally
        {
            if (packed is not null) ArrayPool<double>.Shared.Return(packed);
        }
    }

    /// <summary>The 256-bit tiles over a range of C's rows, from a column on (a multiple of 4, so the masked lanes stay the same).</summary>
    private readonly struct Tiles(nint rowStep, nint columnStep, nint bStride, double scale, int ldc, int n, Vector256<double> mask, bool masked)
    {
        /// <summary>Rows <paramref name="from"/> to <paramref name="to"/> − 1 of C, columns <paramref name="column"/> to n − 1, one block of the shared dimension.</summary>
        public void Rows(ref double ab, ref double bb, ref double pc, int depth, int from, int to, int column)
        {
            int vectors = (n - column + 3) / 4;
            if (vectors == 0) return;
            for (int i = from; i < to; i += 4)
            {
                int rows = Math.Min(4, to - i);
                ref double ai = ref Unsafe.Add(ref ab, i * rowStep);
                ref double ci = ref Unsafe.Add(ref pc, (nint)i * ldc);
                var steps = new RowSteps(rowStep, rows);
                int j = column, v = 0;
                if (vectors % 2 == 1)
                {
                    bool last = vectors == 1;
                    if (last && masked) Tile4x4<MaskedLoad>(ref ai, steps, columnStep, ref Unsafe.Add(ref bb, j), bStride, depth, scale, ref Unsafe.Add(ref ci, j), ldc, rows, Math.Min(4, n - j), mask);
                    else Tile4x4<WholeLoad>(ref ai, steps, columnStep, ref Unsafe.Add(ref bb, j), bStride, depth, scale, ref Unsafe.Add(ref ci, j), ldc, rows, Math.Min(4, n - j), mask);
                    j += 4;
                    v = 1;
                }
                for (; v < vectors; v += 2, j += 8)
                    if (v + 2 == vectors && masked)
                        Tile4x8<MaskedLoad>(ref ai, steps, columnStep, ref Unsafe.Add(ref bb, j), bStride, depth, scale, ref Unsafe.Add(ref ci, j), ldc, rows, n - j, mask);
                    else
                        Tile4x8<WholeLoad>(ref ai, steps, columnStep, ref Unsafe.Add(ref bb, j), bStride, depth, scale, ref Unsafe.Add(ref ci, j), ldc, rows, Math.Min(8, n - j), mask);
            }
        }
    }

    /// <summary>The last <see cref="Tile8{TSecond, TExtra}"/> of a block of rows: with its <paramref name="extra"/> columns (0–4), whole or masked.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void LastTile8<TSecond>(ref double a, nint rowStep, nint columnStep, ref double b, nint bStride, int depth, double scale,
        ref double c, int ldc, int extra, bool masked, Vector256<double> mask) where TSecond : struct, ISwitch
    {
        if (extra == 0) Tile8<TSecond, NoLoad>(ref a, rowStep, columnStep, ref b, bStride, depth, scale, ref c, ldc, 0, mask);
        else if (masked) Tile8<TSecond, MaskedLoad>(ref a, rowStep, columnStep, ref b, bStride, depth, scale, ref c, ldc, extra, mask);
        else Tile8<TSecond, WholeLoad>(ref a, rowStep, columnStep, ref b, bStride, depth, scale, ref c, ldc, extra, mask);
    }

    /// <summary>
    /// An 8 × 8 block of C in eight 512-bit accumulators, one per row: each step one load of B(p, j..j+8) and eight
    /// broadcasts of A(i..i+8, p), eight fused multiply–adds; C += α·sum (β already applied) by one more per row. With
    /// <typeparamref name="TSecond"/> <see cref="On"/>, 8 more columns in a second 512-bit accumulator per row (16 columns sharing
    /// the broadcasts); with <typeparamref name="TExtra"/> a load, 1–4 more columns (<paramref name="extra"/>) in a
    /// 256-bit one, from the lower half of the same broadcasts (a mixture's K = 10 or 12 in one tile). The JIT drops the
    /// parts of <see cref="NoLoad"/>. Each element's chain is the 256-bit tiles' chain, so the bits are theirs.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static void Tile8<TSecond, TExtra>(ref double a, nint rowStep, nint columnStep, ref double b, nint bStride, int depth, double scale,
        ref double c, int ldc, int extra, Vector256<double> mask) where TSecond : struct, ISwitch where TExtra : struct, IVectorLoad
    {
        Vector512<double> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        Vector512<double> e0 = default, e1 = default, e2 = default, e3 = default, e4 = default, e5 = default, e6 = default, e7 = default;
        Vector256<double> d0 = default, d1 = default, d2 = default, d3 = default, d4 = default, d5 = default, d6 = default, d7 = default;
        ref double a1 = ref Unsafe.Add(ref a, rowStep);
        ref double a2 = ref Unsafe.Add(ref a, 2 * rowStep);
        ref double a3 = ref Unsafe.Add(ref a, 3 * rowStep);
        ref double a4 = ref Unsafe.Add(ref a, 4 * rowStep);
        ref double a5 = ref Unsafe.Add(ref a, 5 * rowStep);
        ref double a6 = ref Unsafe.Add(ref a, 6 * rowStep);
        ref double a7 = ref Unsafe.Add(ref a, 7 * rowStep);
        int width = TSecond.Active ? 16 : 8; // where the extra columns start
        nint ap = 0, bo = 0; // offsets rather than advancing references, which would end past the arrays
        for (int p = 0; p < depth; p++, ap += columnStep, bo += bStride)
        {
            ref double bp = ref Unsafe.Add(ref b, bo);
            var lo = Vector512.LoadUnsafe(ref bp);
            var mid = TSecond.Active ? Vector512.LoadUnsafe(ref bp, 8) : default;
            var hi = TExtra.Active ? TExtra.Load(ref Unsafe.Add(ref bp, width), mask) : default;
            var x0 = Vector512.Create(Unsafe.Add(ref a, ap));
            c0 = Vector512.FusedMultiplyAdd(x0, lo, c0);
            if (TSecond.Active) e0 = Vector512.FusedMultiplyAdd(x0, mid, e0);
            if (TExtra.Active) d0 = Vector256.FusedMultiplyAdd(x0.GetLower(), hi, d0);
            var x1 = Vector512.Create(Unsafe.Add(ref a1, ap));
            c1 = Vector512.FusedMultiplyAdd(x1, lo, c1);
            if (TSecond.Active) e1 = Vector512.FusedMultiplyAdd(x1, mid, e1);
            if (TExtra.Active) d1 = Vector256.FusedMultiplyAdd(x1.GetLower(), hi, d1);
            var x2 = Vector512.Create(Unsafe.Add(ref a2, ap));
            c2 = Vector512.FusedMultiplyAdd(x2, lo, c2);
            if (TSecond.Active) e2 = Vector512.FusedMultiplyAdd(x2, mid, e2);
            if (TExtra.Active) d2 = Vector256.FusedMultiplyAdd(x2.GetLower(), hi, d2);
            var x3 = Vector512.Create(Unsafe.Add(ref a3, ap));
            c3 = Vector512.FusedMultiplyAdd(x3, lo, c3);
            if (TSecond.Active) e3 = Vector512.FusedMultiplyAdd(x3, mid, e3);
            if (TExtra.Active) d3 = Vector256.FusedMultiplyAdd(x3.GetLower(), hi, d3);
            var x4 = Vector512.Create(Unsafe.Add(ref a4, ap));
            c4 = Vector512.FusedMultiplyAdd(x4, lo, c4);
            if (TSecond.Active) e4 = Vector512.FusedMultiplyAdd(x4, mid, e4);
            if (TExtra.Active) d4 = Vector256.FusedMultiplyAdd(x4.GetLower(), hi, d4);
            var x5 = Vector512.Create(Unsafe.Add(ref a5, ap));
            c5 = Vector512.FusedMultiplyAdd(x5, lo, c5);
            if (TSecond.Active) e5 = Vector512.FusedMultiplyAdd(x5, mid, e5);
            if (TExtra.Active) d5 = Vector256.FusedMultiplyAdd(x5.GetLower(), hi, d5);
            var x6 = Vector512.Create(Unsafe.Add(ref a6, ap));
            c6 = Vector512.FusedMultiplyAdd(x6, lo, c6);
            if (TSecond.Active) e6 = Vector512.FusedMultiplyAdd(x6, mid, e6);
            if (TExtra.Active) d6 = Vector256.FusedMultiplyAdd(x6.GetLower(), hi, d6);
            var x7 = Vector512.Create(Unsafe.Add(ref a7, ap));
            c7 = Vector512.FusedMultiplyAdd(x7, lo, c7);
            if (TSecond.Active) e7 = Vector512.FusedMultiplyAdd(x7, mid, e7);
            if (TExtra.Active) d7 = Vector256.FusedMultiplyAdd(x7.GetLower(), hi, d7);
        }
        StoreRow<TSecond, TExtra>(c0, e0, d0, scale, ref c, extra);
        StoreRow<TSecond, TExtra>(c1, e1, d1, scale, ref Unsafe.Add(ref c, ldc), extra);
        StoreRow<TSecond, TExtra>(c2, e2, d2, scale, ref Unsafe.Add(ref c, 2 * ldc), extra);
        StoreRow<TSecond, TExtra>(c3, e3, d3, scale, ref Unsafe.Add(ref c, 3 * ldc), extra);
        StoreRow<TSecond, TExtra>(c4, e4, d4, scale, ref Unsafe.Add(ref c, 4 * ldc), extra);
        StoreRow<TSecond, TExtra>(c5, e5, d5, scale, ref Unsafe.Add(ref c, 5 * ldc), extra);
        StoreRow<TSecond, TExtra>(c6, e6, d6, scale, ref Unsafe.Add(ref c, 6 * ldc), extra);
        StoreRow<TSecond, TExtra>(c7, e7, d7, scale, ref Unsafe.Add(ref c, 7 * ldc), extra);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow<TSecond, TExtra>(Vector512<double> sum, Vector512<double> second, Vector256<double> extraSum, double scale,
        ref double c, int extra) where TSecond : struct, ISwitch where TExtra : struct, IVectorLoad
    {
        var s = Vector512.Create(scale);
        Vector512.FusedMultiplyAdd(sum, s, Vector512.LoadUnsafe(ref c)).StoreUnsafe(ref c);
        if (TSecond.Active) Vector512.FusedMultiplyAdd(second, s, Vector512.LoadUnsafe(ref c, 8)).StoreUnsafe(ref c, 8);
        if (TExtra.Active) Store(extraSum, scale, ref Unsafe.Add(ref c, TSecond.Active ? 16 : 8), extra);
    }

    /// <summary>
    /// 4 rows × 16 columns of C in eight 512-bit accumulators, for the rows the 8 × 8 blocks leave over (a mixture's
    /// K mod 8 in Rᵀ·T): each step two loads of B and four broadcasts, eight fused multiply–adds; rows past the last real
    /// one repeat it, as in the 256-bit tiles.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static void Tile4x16(ref double a, RowSteps steps, nint columnStep, ref double b, nint bStride, int depth, double scale, ref double c,
        int ldc, int rows)
    {
        Vector512<double> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        ref double a1 = ref Unsafe.Add(ref a, steps.One);
        ref double a2 = ref Unsafe.Add(ref a, steps.Two);
        ref double a3 = ref Unsafe.Add(ref a, steps.Three);
        nint ap = 0, bo = 0; // offsets rather than advancing references, which would end past the arrays
        for (int p = 0; p < depth; p++, ap += columnStep, bo += bStride)
        {
            ref double bp = ref Unsafe.Add(ref b, bo);
            var b0 = Vector512.LoadUnsafe(ref bp);
            var b1 = Vector512.LoadUnsafe(ref bp, 8);
            var x = Vector512.Create(Unsafe.Add(ref a, ap));
            c00 = Vector512.FusedMultiplyAdd(x, b0, c00);
            c01 = Vector512.FusedMultiplyAdd(x, b1, c01);
            x = Vector512.Create(Unsafe.Add(ref a1, ap));
            c10 = Vector512.FusedMultiplyAdd(x, b0, c10);
            c11 = Vector512.FusedMultiplyAdd(x, b1, c11);
            x = Vector512.Create(Unsafe.Add(ref a2, ap));
            c20 = Vector512.FusedMultiplyAdd(x, b0, c20);
            c21 = Vector512.FusedMultiplyAdd(x, b1, c21);
            x = Vector512.Create(Unsafe.Add(ref a3, ap));
            c30 = Vector512.FusedMultiplyAdd(x, b0, c30);
            c31 = Vector512.FusedMultiplyAdd(x, b1, c31);
        }
        var s = Vector512.Create(scale);
        for (int r = 0; r < rows; r++)
        {
            var (lo, hi) = r switch { 0 => (c00, c01), 1 => (c10, c11), 2 => (c20, c21), _ => (c30, c31) };
            ref double cr = ref Unsafe.Add(ref c, r * ldc);
            Vector512.FusedMultiplyAdd(lo, s, Vector512.LoadUnsafe(ref cr)).StoreUnsafe(ref cr);
            Vector512.FusedMultiplyAdd(hi, s, Vector512.LoadUnsafe(ref cr, 8)).StoreUnsafe(ref cr, 8);
        }
    }

    /// <summary>A part of a tile that is there or not, fixed per instantiation (the JIT drops the code of an absent one).</summary>
    private interface ISwitch
    {
        static abstract bool Active { get; }
    }

    private struct On : ISwitch
    {
        public static bool Active => true;
    }

    private struct Off : ISwitch
    {
        public static bool Active => false;
    }

    /// <summary>How a tile reads a vector of B: whole, or its first n mod 4 lanes (a masked load, which cannot fault past them); none for <see cref="NoLoad"/>.</summary>
    private interface IVectorLoad : ISwitch
    {
        static abstract Vector256<double> Load(ref double at, Vector256<double> mask);
    }

    private struct WholeLoad : IVectorLoad
    {
        public static bool Active => true;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<double> Load(ref double at, Vector256<double> mask) => Vector256.LoadUnsafe(ref at);
    }

    private struct MaskedLoad : IVectorLoad
    {
        public static bool Active => true;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<double> Load(ref double at, Vector256<double> mask) => Avx.MaskLoad((double*)Unsafe.AsPointer(ref at), mask);
    }

    private struct NoLoad : IVectorLoad
    {
        public static bool Active => false;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<double> Load(ref double at, Vector256<double> mask) => default;
    }

    /// <summary>Offsets of a tile's rows 1–3 from row 0; rows past the last real one repeat it.</summary>
    private readonly struct RowSteps(nint rowStep, int rows)
    {
        public readonly nint One = Math.Min(1, rows - 1) * rowStep, Two = Math.Min(2, rows - 1) * rowStep, Three = Math.Min(3, rows - 1) * rowStep;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static void Tile4x8<THigh>(ref double a, RowSteps steps, nint columnStep, ref double b, nint bStride, int depth,
        double scale, ref double c, int ldc, int rows, int columns, Vector256<double> mask) where THigh : struct, IVectorLoad
    {
        Vector256<double> c00 = default, c01 = default, c10 = default, c11 = default,
            c20 = default, c21 = default, c30 = default, c31 = default;
        ref double a1 = ref Unsafe.Add(ref a, steps.One);
        ref double a2 = ref Unsafe.Add(ref a, steps.Two);
        ref double a3 = ref Unsafe.Add(ref a, steps.Three);
        nint ap = 0, bo = 0; // offsets rather than advancing references, which would end past the arrays
        for (int p = 0; p < depth; p++, ap += columnStep, bo += bStride)
        {
            ref double bp = ref Unsafe.Add(ref b, bo);
            var b0 = Vector256.LoadUnsafe(ref bp);
            var b1 = THigh.Load(ref Unsafe.Add(ref bp, 4), mask);
            var x = Vector256.Create(Unsafe.Add(ref a, ap));
            c00 = Vector256.FusedMultiplyAdd(x, b0, c00);
            c01 = Vector256.FusedMultiplyAdd(x, b1, c01);
            x = Vector256.Create(Unsafe.Add(ref a1, ap));
            c10 = Vector256.FusedMultiplyAdd(x, b0, c10);
            c11 = Vector256.FusedMultiplyAdd(x, b1, c11);
            x = Vector256.Create(Unsafe.Add(ref a2, ap));
            c20 = Vector256.FusedMultiplyAdd(x, b0, c20);
            c21 = Vector256.FusedMultiplyAdd(x, b1, c21);
            x = Vector256.Create(Unsafe.Add(ref a3, ap));
            c30 = Vector256.FusedMultiplyAdd(x, b0, c30);
            c31 = Vector256.FusedMultiplyAdd(x, b1, c31);
        }
        Store(c00, c01, scale, ref c, columns);
        if (rows > 1) Store(c10, c11, scale, ref Unsafe.Add(ref c, ldc), columns);
        if (rows > 2) Store(c20, c21, scale, ref Unsafe.Add(ref c, 2 * ldc), columns);
        if (rows > 3) Store(c30, c31, scale, ref Unsafe.Add(ref c, 3 * ldc), columns);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static void Tile4x4<TLoad>(ref double a, RowSteps steps, nint columnStep, ref double b, nint bStride, int depth,
        double scale, ref double c, int ldc, int rows, int columns, Vector256<double> mask) where TLoad : struct, IVectorLoad
    {
        Vector256<double> c0 = default, c1 = default, c2 = default, c3 = default;
        ref double a1 = ref Unsafe.Add(ref a, steps.One);
        ref double a2 = ref Unsafe.Add(ref a, steps.Two);
        ref double a3 = ref Unsafe.Add(ref a, steps.Three);
        nint ap = 0, bo = 0; // offsets rather than advancing references, which would end past the arrays
        for (int p = 0; p < depth; p++, ap += columnStep, bo += bStride)
        {
            ref double bp = ref Unsafe.Add(ref b, bo);
            var b0 = TLoad.Load(ref bp, mask);
            c0 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref a, ap)), b0, c0);
            c1 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref a1, ap)), b0, c1);
            c2 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref a2, ap)), b0, c2);
            c3 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref a3, ap)), b0, c3);
        }
        Store(c0, scale, ref c, columns);
        if (rows > 1) Store(c1, scale, ref Unsafe.Add(ref c, ldc), columns);
        if (rows > 2) Store(c2, scale, ref Unsafe.Add(ref c, 2 * ldc), columns);
        if (rows > 3) Store(c3, scale, ref Unsafe.Add(ref c, 3 * ldc), columns);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector256<double> lo, Vector256<double> hi, double scale, ref double c, int columns)
    {
        if (columns == 8)
        {
            Vector256.FusedMultiplyAdd(lo, Vector256.Create(scale), Vector256.LoadUnsafe(ref c)).StoreUnsafe(ref c);
            Vector256.FusedMultiplyAdd(hi, Vector256.Create(scale), Vector256.LoadUnsafe(ref c, 4)).StoreUnsafe(ref c, 4);
            return;
        }
        Store(lo, scale, ref c, Math.Min(4, columns));
        if (columns > 4) Store(hi, scale, ref Unsafe.Add(ref c, 4), columns - 4);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector256<double> v, double scale, ref double c, int columns)
    {
        if (columns == 4)
        {
            Vector256.FusedMultiplyAdd(v, Vector256.Create(scale), Vector256.LoadUnsafe(ref c)).StoreUnsafe(ref c);
            return;
        }
        for (int j = 0; j < columns; j++) Unsafe.Add(ref c, j) = Math.FusedMultiplyAdd(v.GetElement(j), scale, Unsafe.Add(ref c, j));
    }
}
