namespace EmDsl.Numerics;

/// <summary>
/// Eigen-decomposition A = V·diag(λ)·Vᵀ of a small symmetric matrix by the cyclic Jacobi method (Golub &amp;
/// Van Loan §8.5): plane rotations that zero one off-diagonal pair at a time, sweep after sweep, until the
/// off-diagonal mass is negligible against the diagonal. Jacobi is slower than tridiagonalisation for large
/// n but computes small eigenvalues to high relative accuracy, is plain managed code (the same bits on every
/// backend and thread count), and the matrices it serves (a block's D × D scatter) are small.
/// </summary>
internal static class SymmetricEigen
{
    /// <summary>
    /// Decomposes the symmetric n×n row-major <paramref name="a"/> (only read). Writes the eigenvalues in
    /// descending order to <paramref name="values"/> (length n) and the eigenvectors as the columns of the
    /// row-major n×n <paramref name="vectors"/> (column i belongs to values[i]), each with its largest-magnitude
    /// coordinate positive so that the result is unique for distinct eigenvalues.
    /// </summary>
    public static void Decompose(ReadOnlySpan<double> a, int n, Span<double> values, Span<double> vectors)
    {
        var m = a.Slice(0, n * n).ToArray();
        var v = vectors.Slice(0, n * n);
        v.Clear();
        for (int i = 0; i < n; i++) v[i * n + i] = 1;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < i; j++)
            {
                if (!double.IsFinite(m[i * n + j])) throw new ArgumentException("The matrix has a non-finite entry.", nameof(a));
                if (m[i * n + j] != m[j * n + i]) m[i * n + j] = m[j * n + i] = 0.5 * (m[i * n + j] + m[j * n + i]);
            }

        for (int sweep = 0; sweep < 100; sweep++)
        {
            double off = 0, diagonal = 0;
            for (int i = 0; i < n; i++)
            {
                diagonal += m[i * n + i] * m[i * n + i];
                for (int j = i + 1; j < n; j++) off += m[i * n + j] * m[i * n + j];
            }
            if (off == 0 || off <= 1e-34 * diagonal) break;
            for (int p = 0; p < n - 1; p++)
                for (int q = p + 1; q < n; q++)
                    Rotate(m, v, n, p, q);
        }

        // Sort descending (stable on ties: by index), fix signs.
        var order = Enumerable.Range(0, n).OrderByDescending(i => m[i * n + i]).ThenBy(i => i).ToArray();
        var sorted = new double[n * n];
        for (int c = 0; c < n; c++)
        {
            int src = order[c];
            values[c] = m[src * n + src];
            int argmax = 0;
            for (int r = 1; r < n; r++)
                if (Math.Abs(v[r * n + src]) > Math.Abs(v[argmax * n + src])) argmax = r;
            double sign = v[argmax * n + src] < 0 ? -1 : 1;
            for (int r = 0; r < n; r++) sorted[r * n + c] = sign * v[r * n + src];
        }
        sorted.AsSpan().CopyTo(v);
    }

    /// <summary>One Jacobi rotation zeroing m[p,q] (the stable formulas of Golub &amp; Van Loan, Algorithm 8.5.1).</summary>
    private static void Rotate(double[] m, Span<double> v, int n, int p, int q)
    {
        double apq = m[p * n + q];
        if (apq == 0) return;
        double app = m[p * n + p], aqq = m[q * n + q];
        if (Math.Abs(apq) <= 1e-300 || Math.Abs(apq) < 1e-18 * Math.Sqrt(Math.Abs(app * aqq)))
        {
            m[p * n + q] = m[q * n + p] = 0;
            return;
        }
        double tau = (aqq - app) / (2 * apq);
        double t = tau >= 0 ? 1 / (tau + Math.Sqrt(1 + tau * tau)) : -1 / (-tau + Math.Sqrt(1 + tau * tau));
        if (double.IsInfinity(tau * tau)) t = 1 / (2 * tau); // |τ| huge: t ≈ 1/(2τ)
        double c = 1 / Math.Sqrt(1 + t * t), s = t * c;
        for (int k = 0; k < n; k++)
        {
            double mkp = m[k * n + p], mkq = m[k * n + q];
            m[k * n + p] = c * mkp - s * mkq;
            m[k * n + q] = s * mkp + c * mkq;
        }
        for (int k = 0; k < n; k++)
        {
            double mpk = m[p * n + k], mqk = m[q * n + k];
            m[p * n + k] = c * mpk - s * mqk;
            m[q * n + k] = s * mpk + c * mqk;
        }
        m[p * n + q] = m[q * n + p] = 0;
        for (int k = 0; k < n; k++)
        {
            double vkp = v[k * n + p], vkq = v[k * n + q];
            v[k * n + p] = c * vkp - s * vkq;
            v[k * n + q] = s * vkp + c * vkq;
        }
    }
}
