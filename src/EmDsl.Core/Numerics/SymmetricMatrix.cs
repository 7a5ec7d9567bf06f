namespace EmDsl.Numerics;

/// <summary>
/// Small dense operations on symmetric positive-definite matrices (row-major n×n spans), built on the
/// backend's Cholesky and triangular solves. No explicit inverse is formed except where the inverse is
/// itself the wanted quantity (a precision matrix as a natural parameter).
/// </summary>
internal static class SymmetricMatrix
{
    /// <summary>Copies A into <paramref name="factor"/> and factors it; false if A is not positive definite.</summary>
    public static bool TryCholesky(ReadOnlySpan<double> a, int n, Span<double> factor)
    {
        a.Slice(0, n * n).CopyTo(factor);
        return ComputeBackend.Current.CholeskyInPlace(factor, n);
    }

    /// <summary>log det A = 2 Σ log L_ii from A's Cholesky factor L.</summary>
    public static double LogDeterminantFromCholesky(ReadOnlySpan<double> l, int n)
    {
        double s = 0;
        for (int i = 0; i < n; i++) s += Math.Log(l[i * n + i]);
        return 2 * s;
    }

    /// <summary>Writes A⁻¹ = L⁻ᵀL⁻¹ given A's Cholesky factor L, by two triangular solves against I.</summary>
    public static void InverseFromCholesky(ReadOnlySpan<double> l, int n, Span<double> inverse)
    {
        inverse.Slice(0, n * n).Clear();
        for (int i = 0; i < n; i++) inverse[i * n + i] = 1;
        var backend = ComputeBackend.Current;
        backend.SolveLowerInPlace(l, n, inverse, n, transpose: false);
        backend.SolveLowerInPlace(l, n, inverse, n, transpose: true);
        Symmetrize(inverse, n);
    }

    /// <summary>Solves A·x = b in place given A's Cholesky factor.</summary>
    public static void SolveFromCholesky(ReadOnlySpan<double> l, int n, Span<double> b)
    {
        var backend = ComputeBackend.Current;
        backend.SolveLowerInPlace(l, n, b, 1, transpose: false);
        backend.SolveLowerInPlace(l, n, b, 1, transpose: true);
    }

    /// <summary>Replaces A by (A + Aᵀ)/2, removing rounding asymmetry.</summary>
    public static void Symmetrize(Span<double> a, int n)
    {
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++)
            {
                double v = 0.5 * (a[i * n + j] + a[j * n + i]);
                a[i * n + j] = v;
                a[j * n + i] = v;
            }
    }

    /// <summary>xᵀ A⁻¹ x = ‖L⁻¹x‖² given A's Cholesky factor.</summary>
    public static double InverseQuadraticForm(ReadOnlySpan<double> l, int n, ReadOnlySpan<double> x)
    {
        Span<double> y = n <= StackBuffer.MaxDoubles ? stackalloc double[n] : new double[n];
        x.Slice(0, n).CopyTo(y);
        ComputeBackend.Current.SolveLowerInPlace(l, n, y, 1, transpose: false);
        double s = 0;
        foreach (var v in y) s += v * v;
        return s;
    }

    /// <summary>tr(A⁻¹ B) for symmetric B, given A's Cholesky factor: Σ_ij (A⁻¹)_ij B_ij.</summary>
    public static double TraceOfInverseTimes(ReadOnlySpan<double> l, int n, ReadOnlySpan<double> b)
    {
        var inv = new double[n * n];
        InverseFromCholesky(l, n, inv);
        double s = 0;
        for (int i = 0; i < n * n; i++) s += inv[i] * b[i];
        return s;
    }

    /// <summary>
    /// tr(A⁻¹ B) for symmetric B by two triangular solves with A's Cholesky factor L (no inverse is formed):
    /// Y = L⁻¹B, then Z = L⁻¹Yᵀ = L⁻¹BL⁻ᵀ, whose trace is the answer.
    /// </summary>
    public static double TraceOfSolve(ReadOnlySpan<double> l, int n, ReadOnlySpan<double> b)
    {
        var y = b.Slice(0, n * n).ToArray();
        var backend = ComputeBackend.Current;
        backend.SolveLowerInPlace(l, n, y, n, transpose: false);
        var yt = new double[n * n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) yt[j * n + i] = y[i * n + j];
        backend.SolveLowerInPlace(l, n, yt, n, transpose: false);
        double s = 0;
        for (int i = 0; i < n; i++) s += yt[i * n + i];
        return s;
    }
}
