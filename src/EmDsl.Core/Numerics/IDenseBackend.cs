namespace EmDsl.Numerics;

/// <summary>
/// The compute seam: the only dense linear algebra the engine needs. All matrices are row-major;
/// a leading dimension is the distance between the starts of consecutive rows.
/// Implementations: <see cref="OpenBlasBackend"/> (system OpenBLAS through P/Invoke) and
/// <see cref="ManagedBackend"/>; both must pass the same tests.
/// </summary>
internal interface IDenseBackend
{
    /// <summary>Short name reported to users ("openblas", "managed").</summary>
    string Name { get; }

    /// <summary>
    /// C ← α·op(A)·op(B) + β·C with op(A) m×k, op(B) k×n, C m×n. When β is 0, C is overwritten
    /// (its previous content is never read, so it may hold NaN).
    /// </summary>
    void Gemm(bool transA, bool transB, int m, int n, int k, double alpha,
        ReadOnlySpan<double> a, int lda, ReadOnlySpan<double> b, int ldb,
        double beta, Span<double> c, int ldc);

    /// <summary>
    /// In-place Cholesky factorisation of the symmetric n×n matrix <paramref name="a"/> (only its lower
    /// triangle is read): on success the lower triangle holds L with A = L·Lᵀ and the strict upper triangle
    /// is zeroed. Returns false, leaving <paramref name="a"/> unspecified, when A is not positive definite.
    /// </summary>
    bool CholeskyInPlace(Span<double> a, int n);

    /// <summary>
    /// Solves L·X = B (or Lᵀ·X = B when <paramref name="transpose"/>) in place for the n×nrhs matrix B,
    /// with L the n×n lower-triangular factor from <see cref="CholeskyInPlace"/>.
    /// </summary>
    void SolveLowerInPlace(ReadOnlySpan<double> l, int n, Span<double> b, int nrhs, bool transpose);
}
