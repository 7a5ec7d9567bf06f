using System.Numerics.Tensors;

namespace EmDsl.Numerics;

/// <summary>
/// Dense linear algebra in managed code: a cache-blocked matrix product whose inner loops are
/// <see cref="TensorPrimitives"/> vector operations, and textbook Cholesky / triangular solves.
/// Used when OpenBLAS is not on the machine, or when EMDSL_BACKEND=managed.
/// </summary>
internal sealed class ManagedBackend : IDenseBackend
{
    public static readonly ManagedBackend Instance = new();

    private const int BlockK = 256;

    public string Name => "managed";

    public void Gemm(bool transA, bool transB, int m, int n, int k, double alpha,
        ReadOnlySpan<double> a, int lda, ReadOnlySpan<double> b, int ldb,
        double beta, Span<double> c, int ldc)
    {
        BackendChecks.Gemm(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        if (m == 0 || n == 0) return;
        for (int i = 0; i < m; i++)
        {
            var ci = c.Slice(i * ldc, n);
            if (beta == 0) ci.Clear();
            else if (beta != 1) TensorPrimitives.Multiply(ci, beta, ci);
        }
        if (m == 0 || n == 0 || k == 0 || alpha == 0) return;

        if (n == 1)
        {
            // Matrix–vector: C[i] += α·dot(op(A) row i, b), with b gathered once into a contiguous vector.
            Span<double> vec = k <= 1024 ? stackalloc double[k] : new double[k];
            for (int p = 0; p < k; p++) vec[p] = transB ? b[p] : b[p * ldb];
            Span<double> row = transA ? (k <= 1024 ? stackalloc double[k] : new double[k]) : default;
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

        if (!transB)
        {
            // C[i,:] += α·A(i,p)·B[p,:]: each inner step is one contiguous axpy over a row of B.
            for (int p0 = 0; p0 < k; p0 += BlockK)
            {
                int p1 = Math.Min(k, p0 + BlockK);
                for (int i = 0; i < m; i++)
                {
                    var ci = c.Slice(i * ldc, n);
                    for (int p = p0; p < p1; p++)
                    {
                        double aip = alpha * (transA ? a[p * lda + i] : a[i * lda + p]);
                        if (aip == 0) continue;
                        TensorPrimitives.MultiplyAdd(b.Slice(p * ldb, n), aip, ci, ci);
                    }
                }
            }
        }
        else
        {
            // op(B) = Bᵀ: C[i,j] += α·dot(A(i,:), B[j,:]); gather A's row once when A is transposed.
            Span<double> rowA = k <= 1024 ? stackalloc double[k] : new double[k];
            for (int i = 0; i < m; i++)
            {
                if (transA) for (int p = 0; p < k; p++) rowA[p] = a[p * lda + i];
                else a.Slice(i * lda, k).CopyTo(rowA);
                var ci = c.Slice(i * ldc, n);
                for (int j = 0; j < n; j++)
                    ci[j] += alpha * TensorPrimitives.Dot(rowA, b.Slice(j * ldb, k));
            }
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
