using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace EmDsl.Numerics;

/// <summary>
/// Dense linear algebra in managed code: a cache-blocked matrix product whose inner loops are
/// <see cref="TensorPrimitives"/> vector operations, and textbook Cholesky / triangular solves.
/// Used when OpenBLAS is not on the machine, or when EMDSL_BACKEND=managed.
/// </summary>
internal sealed class ManagedBackend : IDenseBackend
{
    public static readonly ManagedBackend Instance = new(tiles: true, wideTiles: true);

    /// <summary>
    /// The same without <see cref="TiledGemm"/>: the products a machine without 256-bit vectors runs (tests check it
    /// here, where the tiles would otherwise take every product).
    /// </summary>
    internal static readonly ManagedBackend WithoutTiles = new(tiles: false, wideTiles: false);

    /// <summary>
    /// The same with the 256-bit tiles only: what a machine without 512-bit vectors runs (tests check it here, and that
    /// the 512-bit tiles give its bits).
    /// </summary>
    internal static readonly ManagedBackend With256BitTiles = new(tiles: true, wideTiles: false);

    private readonly bool _tiles, _wideTiles;

    private ManagedBackend(bool tiles, bool wideTiles)
    {
        _tiles = tiles;
        _wideTiles = wideTiles;
    }

    private const int BlockK = 256;

    /// <summary>Output widths up to this use plain scalar loops.</summary>
    private const int NarrowColumns = 16;

    public string Name => "managed";

    public void Gemm(bool transA, bool transB, int m, int n, int k, double alpha,
        ReadOnlySpan<double> a, int lda, ReadOnlySpan<double> b, int ldb,
        double beta, Span<double> c, int ldc)
    {
        BackendChecks.Gemm(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        if (m == 0 || n == 0) return;
        if (beta != 1)
        {
            if (ldc == n) // C contiguous: one call, not one per row (thousands of rows in a chunk's log-joint)
            {
                if (beta == 0) c.Slice(0, m * n).Clear();
                else TensorPrimitives.Multiply(c.Slice(0, m * n), beta, c.Slice(0, m * n));
            }
            else
                for (int i = 0; i < m; i++)
                {
                    var ci = c.Slice(i * ldc, n);
                    if (beta == 0) ci.Clear();
                    else TensorPrimitives.Multiply(ci, beta, ci);
                }
        }
        if (m == 0 || n == 0 || k == 0 || alpha == 0) return;

        if (n == 1)
        {
            // Matrix–vector: C[i] += α·dot(op(A) row i, b), with b gathered once into a contiguous vector.
            Span<double> vec = k <= StackBuffer.MaxDoubles ? stackalloc double[k] : new double[k];
            for (int p = 0; p < k; p++) vec[p] = transB ? b[p] : b[p * ldb];
            Span<double> row = transA ? (k <= StackBuffer.MaxDoubles ? stackalloc double[k] : new double[k]) : default;
            for (int i = 0; i < m; i++)
            {
                scoped ReadOnlySpan<double> ai;
                if (transA)
                {
                    for (int p = 0; p < k; p++) row[p] = a[p * lda + i];
                    ai = row;
                }
                else ai = a.Slice(i * lda, k);
                c[i * ldc] += alpha * TensorPrimitives.Dot(ai, vec);
            }
            return;
        }

        if (_tiles && TiledGemm.IsSupported)
        {
            TiledGemm.Add(transA, transB, m, n, k, alpha, a, lda, b, ldb, c, ldc, _wideTiles);
            return;
        }

        if (n <= NarrowColumns)
        {
            NarrowGemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, c, ldc);
            return;
        }

        WideGemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, c, ldc);
    }

    /// <summary>
    /// C += α·op(A)·op(B) for a wide C: op(B) rows made contiguous (packed when B is transposed), then each
    /// (row of C, p) pair is one vectorised axpy over the row; the loop over p is blocked so a block of B stays
    /// in cache, and runs outermost when A is transposed so that A is read row by row.
    /// </summary>
    private static void WideGemm(bool transA, bool transB, int m, int n, int k, double alpha,
        ReadOnlySpan<double> a, int lda, ReadOnlySpan<double> b, int ldb, Span<double> c, int ldc)
    {
        double[]? packed = null;
        try
        {
            int bStride = ldb;
            if (transB)
            {
                packed = ArrayPool<double>.Shared.Rent(k * n);
                for (int j = 0; j < n; j++)
                    for (int p = 0; p < k; p++) packed[p * n + j] = b[j * ldb + p];
                b = packed.AsSpan(0, k * n);
                bStride = n;
            }
            ref double pb = ref MemoryMarshal.GetReference(b);
            ref double pc = ref MemoryMarshal.GetReference(c);
            for (int p0 = 0; p0 < k; p0 += BlockK)
            {
                int p1 = Math.Min(k, p0 + BlockK);
                if (transA)
                    for (int p = p0; p < p1; p++)
                    {
                        var ap = a.Slice(p * lda, m);
                        ref double bp = ref Unsafe.Add(ref pb, (nuint)(p * bStride));
                        for (int i = 0; i < m; i++)
                            if (ap[i] != 0) Axpy(alpha * ap[i], ref bp, ref Unsafe.Add(ref pc, (nuint)(i * ldc)), n);
                    }
                else
                    for (int i = 0; i < m; i++)
                    {
                        var ai = a.Slice(i * lda, k);
                        ref double ci = ref Unsafe.Add(ref pc, (nuint)(i * ldc));
                        for (int p = p0; p < p1; p++)
                            if (ai[p] != 0) Axpy(alpha * ai[p], ref Unsafe.Add(ref pb, (nuint)(p * bStride)), ref ci, n);
                    }
            }
        }
        finally
        {
            if (packed is not null) ArrayPool<double>.Shared.Return(packed);
        }
    }

    /// <summary>y[0..n) += s·x[0..n) in hardware vectors, then a scalar tail. Callers guarantee the bounds.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Axpy(double s, ref double x, ref double y, int n)
    {
        int j = 0, w = Vector<double>.Count;
        var sv = new Vector<double>(s);
        for (; j <= n - w; j += w)
            (Vector.LoadUnsafe(ref y, (nuint)j) + sv * Vector.LoadUnsafe(ref x, (nuint)j)).StoreUnsafe(ref y, (nuint)j);
        for (; j < n; j++) Unsafe.Add(ref y, j) += s * Unsafe.Add(ref x, j);
    }

    /// <summary>
    /// C += α·op(A)·op(B) for a narrow C (n ≤ <see cref="NarrowColumns"/>: a mixture's K components, a block's D
    /// dimensions). α·op(B) is packed once into k rows of whole hardware vectors (zero-padded); each row of C
    /// is then accumulated in vector registers over all k before a single store.
    /// </summary>
    private static void NarrowGemm(bool transA, bool transB, int m, int n, int k, double alpha,
        ReadOnlySpan<double> a, int lda, ReadOnlySpan<double> b, int ldb, Span<double> c, int ldc)
    {
        int w = Vector<double>.Count, vectors = (n + w - 1) / w, stride = vectors * w;
        double[] packed = ArrayPool<double>.Shared.Rent(k * stride);
        try
        {
            Array.Clear(packed, 0, k * stride);
            for (int p = 0; p < k; p++)
                for (int j = 0; j < n; j++) packed[p * stride + j] = alpha * (transB ? b[j * ldb + p] : b[p * ldb + j]);
            Span<double> row = stride <= StackBuffer.MaxDoubles ? stackalloc double[stride] : new double[stride];
            ref double pb = ref MemoryMarshal.GetArrayDataReference(packed);
            ref double pa = ref MemoryMarshal.GetReference(a);
            // A(i, p) sits at i·rowStep + p·columnStep.
            nuint rowStep = (nuint)(transA ? 1 : lda), columnStep = (nuint)(transA ? lda : 1);
            for (int i = 0; i < m; i++)
            {
                ref double ai = ref Unsafe.Add(ref pa, (nuint)i * rowStep);
                if (vectors == 1)
                {
                    var acc = Vector<double>.Zero;
                    for (int p = 0; p < k; p++)
                        acc += new Vector<double>(Unsafe.Add(ref ai, (nuint)p * columnStep)) * Vector.LoadUnsafe(ref pb, (nuint)(p * stride));
                    acc.StoreUnsafe(ref MemoryMarshal.GetReference(row));
                }
                else if (vectors == 2)
                {
                    Vector<double> acc0 = Vector<double>.Zero, acc1 = Vector<double>.Zero;
                    for (int p = 0; p < k; p++)
                    {
                        var s = new Vector<double>(Unsafe.Add(ref ai, (nuint)p * columnStep));
                        nuint o = (nuint)(p * stride);
                        acc0 += s * Vector.LoadUnsafe(ref pb, o);
                        acc1 += s * Vector.LoadUnsafe(ref pb, o + (nuint)w);
                    }
                    acc0.StoreUnsafe(ref MemoryMarshal.GetReference(row));
                    acc1.StoreUnsafe(ref MemoryMarshal.GetReference(row), (nuint)w);
                }
                else if (vectors == 3)
                {
                    Vector<double> acc0 = Vector<double>.Zero, acc1 = Vector<double>.Zero, acc2 = Vector<double>.Zero;
                    for (int p = 0; p < k; p++)
                    {
                        var s = new Vector<double>(Unsafe.Add(ref ai, (nuint)p * columnStep));
                        nuint o = (nuint)(p * stride);
                        acc0 += s * Vector.LoadUnsafe(ref pb, o);
                        acc1 += s * Vector.LoadUnsafe(ref pb, o + (nuint)w);
                        acc2 += s * Vector.LoadUnsafe(ref pb, o + (nuint)(2 * w));
                    }
                    acc0.StoreUnsafe(ref MemoryMarshal.GetReference(row));
                    acc1.StoreUnsafe(ref MemoryMarshal.GetReference(row), (nuint)w);
                    acc2.StoreUnsafe(ref MemoryMarshal.GetReference(row), (nuint)(2 * w));
                }
                else if (vectors == 4)
                {
                    // 16 columns on AVX2 (a block's D, a mixture's K): four accumulators held in registers.
                    Vector<double> acc0 = Vector<double>.Zero, acc1 = Vector<double>.Zero, acc2 = Vector<double>.Zero, acc3 = Vector<double>.Zero;
                    for (int p = 0; p < k; p++)
                    {
                        var s = new Vector<double>(Unsafe.Add(ref ai, (nuint)p * columnStep));
                        nuint o = (nuint)(p * stride);
                        acc0 += s * Vector.LoadUnsafe(ref pb, o);
                        acc1 += s * Vector.LoadUnsafe(ref pb, o + (nuint)w);
                        acc2 += s * Vector.LoadUnsafe(ref pb, o + (nuint)(2 * w));
                        acc3 += s * Vector.LoadUnsafe(ref pb, o + (nuint)(3 * w));
                    }
                    acc0.StoreUnsafe(ref MemoryMarshal.GetReference(row));
                    acc1.StoreUnsafe(ref MemoryMarshal.GetReference(row), (nuint)w);
                    acc2.StoreUnsafe(ref MemoryMarshal.GetReference(row), (nuint)(2 * w));
                    acc3.StoreUnsafe(ref MemoryMarshal.GetReference(row), (nuint)(3 * w));
                }
                else
                {
                    // Each column's sum in the same order as the vectorised cases (multiply, then add, p ascending).
                    row.Clear();
                    ref double pr = ref MemoryMarshal.GetReference(row);
                    for (int p = 0; p < k; p++)
                    {
                        var s = new Vector<double>(Unsafe.Add(ref ai, (nuint)p * columnStep));
                        nuint o = (nuint)(p * stride);
                        for (int v = 0; v < vectors; v++)
                            (Vector.LoadUnsafe(ref pr, (nuint)(v * w)) + s * Vector.LoadUnsafe(ref pb, o + (nuint)(v * w))).StoreUnsafe(ref pr, (nuint)(v * w));
                    }
                }
                var ci = c.Slice(i * ldc, n);
                for (int j = 0; j < n; j++) ci[j] += row[j];
            }
        }
        finally
        {
            ArrayPool<double>.Shared.Return(packed);
        }
    }

    public bool CholeskyInPlace(Span<double> a, int n)
    {
        if (a.Length < n * n) throw new ArgumentException("Matrix buffer is smaller than n×n.", nameof(a));
        for (int j = 0; j < n; j++)
        {
            var rowJ = a.Slice(j * n, j);
            double d = a[j * n + j] - TensorPrimitives.Dot(rowJ, rowJ);
            if (!(d > 0) || double.IsInfinity(d)) return false;
            double ljj = Math.Sqrt(d);
            a[j * n + j] = ljj;
            for (int i = j + 1; i < n; i++)
            {
                double s = a[i * n + j] - TensorPrimitives.Dot(a.Slice(i * n, j), rowJ);
                a[i * n + j] = s / ljj;
            }
        }
        for (int i = 0; i < n; i++) a.Slice(i * n + i + 1, n - i - 1).Clear();
        return true;
    }

    public void SolveLowerInPlace(ReadOnlySpan<double> l, int n, Span<double> b, int nrhs, bool transpose)
    {
        if (l.Length < n * n || b.Length < n * nrhs) throw new ArgumentException("Buffer too small for the solve.");
        if (!transpose)
        {
            // Forward substitution, row by row of B: B[i,:] = (B[i,:] − Σ_{p<i} L[i,p]·B[p,:]) / L[i,i].
            for (int i = 0; i < n; i++)
            {
                var bi = b.Slice(i * nrhs, nrhs);
                for (int p = 0; p < i; p++)
                {
                    double lip = l[i * n + p];
                    if (lip != 0) TensorPrimitives.MultiplyAdd(b.Slice(p * nrhs, nrhs), -lip, bi, bi);
                }
                TensorPrimitives.Divide(bi, l[i * n + i], bi);
            }
        }
        else
        {
            // Back substitution with Lᵀ: B[i,:] = (B[i,:] − Σ_{p>i} L[p,i]·B[p,:]) / L[i,i].
            for (int i = n - 1; i >= 0; i--)
            {
                var bi = b.Slice(i * nrhs, nrhs);
                for (int p = i + 1; p < n; p++)
                {
                    double lpi = l[p * n + i];
                    if (lpi != 0) TensorPrimitives.MultiplyAdd(b.Slice(p * nrhs, nrhs), -lpi, bi, bi);
                }
                TensorPrimitives.Divide(bi, l[i * n + i], bi);
            }
        }
    }
}

/// <summary>Argument checks shared by every backend, so both fail the same way on a bad call.</summary>
internal static class BackendChecks
{
    public static void Gemm(bool transA, bool transB, int m, int n, int k,
        int aLength, int lda, int bLength, int ldb, int cLength, int ldc)
    {
        if (m < 0 || n < 0 || k < 0) throw new ArgumentOutOfRangeException(nameof(m), "GEMM dimensions must be non-negative.");
        int aRows = transA ? k : m, aCols = transA ? m : k;
        int bRows = transB ? n : k, bCols = transB ? k : n;
        Require(aRows, aCols, aLength, lda, "A");
        Require(bRows, bCols, bLength, ldb, "B");
        Require(m, n, cLength, ldc, "C");
    }

    private static void Require(int rows, int cols, int length, int ld, string name)
    {
        if (rows == 0 || cols == 0) return;
        if (ld < cols) throw new ArgumentException($"GEMM: leading dimension of {name} ({ld}) is smaller than its {cols} columns.");
        if ((long)(rows - 1) * ld + cols > length)
            throw new ArgumentException($"GEMM: buffer for {name} holds {length} values, too few for {rows}×{cols} with leading dimension {ld}.");
    }
}
