using EmDsl.Building;
using EmDsl.Numerics;

namespace EmDsl.Inference;

/// <summary>
/// The linear algebra of one factor analyser N(μ, ΛΛᵀ + Ψ), Ψ diagonal, through q × q matrices only:
/// M = I + ΛᵀΨ⁻¹Λ and its Cholesky factor, the determinant lemma log|ΛΛᵀ + Ψ| = log|Ψ| + log|M|, and the posterior
/// of the factors z | x ~ N(M⁻¹ΛᵀΨ⁻¹(x − μ), M⁻¹). The Mahalanobis distance is computed as
/// <code>(x − μ)ᵀ(ΛΛᵀ + Ψ)⁻¹(x − μ) = ‖Ψ^(−½)(x − μ − Λẑ)‖² + ‖ẑ‖²,  ẑ = E[z | x]</code>
/// a sum of two non-negative terms, instead of Woodbury's difference (x−μ)ᵀΨ⁻¹(x−μ) − ‖·‖², which cancels
/// catastrophically when a noise variance is tiny (a Heywood case). Immutable.
/// </summary>
internal sealed class FactorAlgebra
{
    public FactorAlgebra(double[] mean, double[] loadings, double[] noise)
    {
        D = mean.Length;
        Q = loadings.Length / Math.Max(D, 1);
        Mean = mean;
        Loadings = loadings;
        Noise = noise;
        int d = D, q = Q;
        ScaledLoadings = new double[d * q];
        double logDetNoise = 0;
        for (int i = 0; i < d; i++)
        {
            logDetNoise += Math.Log(noise[i]);
            for (int j = 0; j < q; j++) ScaledLoadings[i * q + j] = loadings[i * q + j] / noise[i];
        }
        var m = new double[q * q];
        for (int a = 0; a < q; a++)
            for (int b = 0; b <= a; b++)
            {
                double s = 0;
                for (int i = 0; i < d; i++) s += loadings[i * q + a] * ScaledLoadings[i * q + b];
                m[a * q + b] = m[b * q + a] = s + (a == b ? 1 : 0);
            }
        Factor = new double[q * q];
        if (!ManagedCholesky(m, q, Factor))
            throw new InvalidOperationException("I + ΛᵀΨ⁻¹Λ does not factor: the loadings or noise variances are not finite.");
        LogDeterminant = logDetNoise + LogDetFromFactor(Factor, q);
    }

    /// <summary>The algebra of user-facing parameters.</summary>
    public static FactorAlgebra Of(FactorParameters p) => new(p.Mean.ToArray(), p.Loadings.Values.ToArray(), p.NoiseVariances.ToArray());

    public int D { get; }

    public int Q { get; }

    public double[] Mean { get; }

    /// <summary>Λ, D × q row-major.</summary>
    public double[] Loadings { get; }

    /// <summary>ψ (D).</summary>
    public double[] Noise { get; }

    /// <summary>Ψ⁻¹Λ, D × q row-major.</summary>
    public double[] ScaledLoadings { get; }

    /// <summary>The lower Cholesky factor of M = I + ΛᵀΨ⁻¹Λ (q × q).</summary>
    public double[] Factor { get; }

    /// <summary>log |ΛΛᵀ + Ψ|.</summary>
    public double LogDeterminant { get; }

    public double[] ImpliedCovariance() => Covariance(Loadings, Noise, D, Q);

    /// <summary>ΛΛᵀ + diag(ψ) (D × D) for D × q row-major loadings.</summary>
    public static double[] Covariance(double[] loadings, double[] noise, int d, int q)
    {
        var c = new double[d * d];
        for (int i = 0; i < d; i++)
            for (int j = 0; j <= i; j++)
            {
                double s = 0;
                for (int a = 0; a < q; a++) s += loadings[i * q + a] * loadings[j * q + a];
                c[i * d + j] = c[j * d + i] = s;
            }
        for (int i = 0; i < d; i++) c[i * d + i] += noise[i];
        return c;
    }

    /// <summary>M⁻¹ = Cov(z | x) (q × q): the posterior covariance is itself the wanted quantity.</summary>
    public double[] PosteriorCovariance()
    {
        int q = Q;
        var inv = new double[q * q];
        for (int c = 0; c < q; c++)
        {
            var e = new double[q];
            e[c] = 1;
            SolveWithFactor(Factor, q, e);
            for (int r = 0; r < q; r++) inv[r * q + c] = e[r];
        }
        SymmetricMatrix.Symmetrize(inv, q);
        return inv;
    }

    /// <summary>E[z | x] = M⁻¹ΛᵀΨ⁻¹(x − μ).</summary>
    public void PosteriorMean(ReadOnlySpan<double> x, Span<double> z)
    {
        int d = D, q = Q;
        z.Slice(0, q).Clear();
        for (int i = 0; i < d; i++)
        {
            double y = x[i] - Mean[i];
            for (int a = 0; a < q; a++) z[a] += ScaledLoadings[i * q + a] * y;
        }
        SolveWithFactor(Factor, q, z);
    }

    /// <summary>log N(x | μ, ΛΛᵀ + Ψ).</summary>
    public double LogDensity(ReadOnlySpan<double> x)
    {
        var y = new double[D];
        for (int i = 0; i < D; i++) y[i] = x[i] - Mean[i];
        var distance = new double[1];
        Mahalanobis(y, 1, new double[Q], distance);
        return -0.5 * (D * Math.Log(2 * Math.PI) + LogDeterminant + distance[0]);
    }

    /// <summary>
    /// (y − 0)ᵀ(ΛΛᵀ + Ψ)⁻¹y for the rows of the centred <paramref name="y"/> (rows × D, overwritten by the residuals
    /// y − Λẑ), through one product Y·Ψ⁻¹Λ, a q × q solve per row and one product Ẑ·Λᵀ. <paramref name="scores"/>
    /// (rows × q) receives ẑ per row.
    /// </summary>
    public void Mahalanobis(Span<double> y, int rows, Span<double> scores, Span<double> distance)
    {
        int d = D, q = Q;
        if (q > 0)
        {
            ComputeBackend.Current.Gemm(false, false, rows, q, d, 1.0, y, d, ScaledLoadings, q, 0.0, scores, q);
            for (int i = 0; i < rows; i++) SolveWithFactor(Factor, q, scores.Slice(i * q, q));
            ComputeBackend.Current.Gemm(false, true, rows, d, q, -1.0, scores, q, Loadings, q, 1.0, y, d);
        }
        for (int i = 0; i < rows; i++)
        {
            double s = 0;
            var r = y.Slice(i * d, d);
            for (int j = 0; j < d; j++) s += r[j] * r[j] / Noise[j];
            var z = scores.Slice(i * q, q);
            for (int a = 0; a < q; a++) s += z[a] * z[a];
            distance[i] = s;
        }
    }

    // ---- small managed q × q helpers (q is small: a few factors) ----

    /// <summary>Lower Cholesky factor of the SPD n × n <paramref name="a"/>; false when it is not positive definite.</summary>
    public static bool ManagedCholesky(ReadOnlySpan<double> a, int n, Span<double> l)
    {
        l.Slice(0, n * n).Clear();
        for (int i = 0; i < n; i++)
            for (int j = 0; j <= i; j++)
            {
                double s = a[i * n + j];
                for (int k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
                if (i == j)
                {
                    if (!(s > 0) || !double.IsFinite(s)) return false;
                    l[i * n + i] = Math.Sqrt(s);
                }
                else l[i * n + j] = s / l[j * n + j];
            }
        return true;
    }

    /// <summary>Solves (LLᵀ) x = b in place.</summary>
    public static void SolveWithFactor(ReadOnlySpan<double> l, int n, Span<double> b)
    {
        for (int i = 0; i < n; i++)
        {
            double s = b[i];
            for (int k = 0; k < i; k++) s -= l[i * n + k] * b[k];
            b[i] = s / l[i * n + i];
        }
        for (int i = n - 1; i >= 0; i--)
        {
            double s = b[i];
            for (int k = i + 1; k < n; k++) s -= l[k * n + i] * b[k];
            b[i] = s / l[i * n + i];
        }
    }

    public static double LogDetFromFactor(ReadOnlySpan<double> l, int n)
    {
        double s = 0;
        for (int i = 0; i < n; i++) s += Math.Log(l[i * n + i]);
        return 2 * s;
    }

    /// <summary>
    /// For fixed Ψ, the loadings that maximise the likelihood of the covariance S (Lawley; Jöreskog 1967): with
    /// Ψ^(−½)SΨ^(−½) = UΘUᵀ (descending), Λ = Ψ^(½)U_q·diag(√max(θ_j − 1, 0)). Unique up to rotation; the
    /// eigenvectors' signs are fixed (largest coordinate positive).
    /// <para>
    /// Only the q leading eigenpairs are needed. With a <paramref name="basis"/> from an earlier call (D × m
    /// orthonormal columns, m = <see cref="BasisWidth"/>), they come from a few rounds of subspace iteration with
    /// Rayleigh–Ritz started there — O(D²m) a round instead of the full decomposition's O(D³) with a large constant —
    /// accepted only when every wanted pair's residual ‖Au − θu‖ is below 10⁻¹¹·max(θ, 1); otherwise (and on the
    /// first call) the full Jacobi decomposition is used, which keeps small eigenvalues accurate even when a tiny ψ
    /// makes the scaled matrix strongly graded. Either way the basis is refreshed for the next call.
    /// </para>
    /// </summary>
    public static void ProfileLoadings(ReadOnlySpan<double> s, ReadOnlySpan<double> noise, int d, int q, Span<double> loadings, double[]? basis = null)
    {
        if (q == 0) return;
        var scaled = new double[d * d];
        var root = new double[d];
        for (int i = 0; i < d; i++) root[i] = Math.Sqrt(noise[i]);
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++) scaled[i * d + j] = s[i * d + j] / (root[i] * root[j]);
        int m = BasisWidth(d, q);
        var values = new double[m];
        var vectors = new double[d * m];
        if (basis is null || !LeadingPairs(scaled, d, q, m, basis, values, vectors))
        {
            var all = new double[d];
            var full = new double[d * d];
            SymmetricEigen.Decompose(scaled, d, all, full);
            for (int i = 0; i < d; i++)
                for (int c = 0; c < m; c++) vectors[i * m + c] = full[i * d + c];
            Array.Copy(all, values, m);
        }
        if (basis is not null) Array.Copy(vectors, basis, d * m);
        for (int a = 0; a < q; a++)
        {
            double f = Math.Sqrt(Math.Max(values[a] - 1, 0));
            int argmax = 0;
            for (int i = 1; i < d; i++) if (Math.Abs(vectors[i * m + a]) > Math.Abs(vectors[argmax * m + a])) argmax = i;
            double sign = vectors[argmax * m + a] < 0 ? -1 : 1;
            for (int i = 0; i < d; i++) loadings[i * q + a] = sign * root[i] * vectors[i * m + a] * f;
        }
    }

    /// <summary>The width of the subspace <see cref="ProfileLoadings"/> iterates: q plus a few guard vectors.</summary>
    public static int BasisWidth(int d, int q) => Math.Min(d, q + 4);

    /// <summary>
    /// The q leading eigenpairs of the symmetric <paramref name="a"/> by subspace iteration from <paramref name="basis"/>
    /// (D × m, orthonormal columns), Rayleigh–Ritz each round; false when the basis is unusable or the residuals do not
    /// reach 10⁻¹¹·max(θ, 1) within the budget (the caller then decomposes in full).
    /// </summary>
    private static bool LeadingPairs(double[] a, int d, int q, int m, double[] basis, double[] values, double[] vectors)
    {
        if (basis.Length != d * m || !double.IsFinite(basis[0])) return false;
        var backend = ComputeBackend.Current;
        var v = basis.ToArray();
        var w = new double[d * m];
        var h = new double[m * m];
        var y = new double[m * m];
        var theta = new double[m];
        var rotated = new double[d * m];
        double previous = double.PositiveInfinity;
        for (int round = 0; round < 60; round++)
        {
            backend.Gemm(false, false, d, m, d, 1.0, a, d, v, m, 0.0, w, m);     // W = A V
            backend.Gemm(true, false, m, m, d, 1.0, v, m, w, m, 0.0, h, m);      // H = Vᵀ A V
            SymmetricMatrix.Symmetrize(h, m);
            SymmetricEigen.Decompose(h, m, theta, y);
            backend.Gemm(false, false, d, m, m, 1.0, v, m, y, m, 0.0, rotated, m); // Ritz vectors
            Array.Copy(rotated, v, d * m);
            backend.Gemm(false, false, d, m, m, 1.0, w, m, y, m, 0.0, rotated, m); // A times them
            Array.Copy(rotated, w, d * m);
            double worst = 0;
            for (int c = 0; c < q; c++)
            {
                double r = 0;
                for (int i = 0; i < d; i++)
                {
                    double e = w[i * m + c] - theta[c] * v[i * m + c];
                    r += e * e;
                }
                worst = Math.Max(worst, Math.Sqrt(r) / Math.Max(Math.Abs(theta[c]), 1));
            }
            if (!double.IsFinite(worst)) return false;
            if (worst <= 1e-11)
            {
                Array.Copy(theta, values, m);
                Array.Copy(v, vectors, d * m);
                return true;
            }
            if (round % 10 == 9)
            {
                if (worst > 0.5 * previous) return false; // stagnating (a strongly graded matrix, or a tiny gap)
                previous = worst;
            }
            // Next power step: V ← orth(W), modified Gram–Schmidt twice.
            Array.Copy(w, v, d * m);
            for (int pass = 0; pass < 2; pass++)
                for (int c = 0; c < m; c++)
                {
                    for (int b = 0; b < c; b++)
                    {
                        double dot = 0;
                        for (int i = 0; i < d; i++) dot += v[i * m + b] * v[i * m + c];
                        for (int i = 0; i < d; i++) v[i * m + c] -= dot * v[i * m + b];
                    }
                    double norm = 0;
                    for (int i = 0; i < d; i++) norm += v[i * m + c] * v[i * m + c];
                    norm = Math.Sqrt(norm);
                    if (!(norm > 1e-300)) return false;
                    for (int i = 0; i < d; i++) v[i * m + c] /= norm;
                }
        }
        return false;
    }

    /// <summary>Raw varimax of the D × q row-major <paramref name="loadings"/> (see <see cref="FactorRotation.Varimax"/>).</summary>
    public static double[] Varimax(double[,] loadings, int d, int q, int maxIterations, double tolerance)
    {
        var lam = new double[d * q];
        for (int i = 0; i < d; i++)
            for (int j = 0; j < q; j++) lam[i * q + j] = loadings[i, j];
        if (q < 2) return lam;
        var rotation = new double[q * q];
        for (int j = 0; j < q; j++) rotation[j * q + j] = 1;
        var current = new double[d * q];
        for (int iteration = 0; iteration < maxIterations; iteration++)
        {
            Multiply(lam, rotation, current, d, q, q);
            var colSq = new double[q];
            for (int i = 0; i < d; i++)
                for (int j = 0; j < q; j++) colSq[j] += current[i * q + j] * current[i * q + j];
            var target = new double[d * q];
            for (int i = 0; i < d; i++)
                for (int j = 0; j < q; j++)
                {
                    double v = current[i * q + j];
                    target[i * q + j] = v * v * v - v * colSq[j] / d;
                }
            var b = new double[q * q]; // Λᵀ·target
            for (int i = 0; i < d; i++)
                for (int a = 0; a < q; a++)
                    for (int c = 0; c < q; c++) b[a * q + c] += lam[i * q + a] * target[i * q + c];
            // Polar factor of B: R = B (BᵀB)^(−½), and the sum of B's singular values.
            var btb = new double[q * q];
            for (int a = 0; a < q; a++)
                for (int c = 0; c < q; c++)
                    for (int k = 0; k < q; k++) btb[a * q + c] += b[k * q + a] * b[k * q + c];
            var values = new double[q];
            var vectors = new double[q * q];
            SymmetricEigen.Decompose(btb, q, values, vectors);
            if (!(values[q - 1] > 1e-300)) break;
            var inverseRoot = new double[q * q];
            double singular = 0;
            for (int k = 0; k < q; k++)
            {
                double sv = Math.Sqrt(values[k]);
                singular += sv;
                for (int a = 0; a < q; a++)
                    for (int c = 0; c < q; c++) inverseRoot[a * q + c] += vectors[a * q + k] * vectors[c * q + k] / sv;
            }
            var next = new double[q * q];
            Multiply(b, inverseRoot, next, q, q, q);
            double moved = 0;
            for (int i = 0; i < q * q; i++) moved = Math.Max(moved, Math.Abs(next[i] - rotation[i]));
            rotation = next;
            if (moved <= tolerance) break;
        }
        Multiply(lam, rotation, current, d, q, q);
        return current;
    }

    private static void Multiply(double[] a, double[] b, double[] c, int m, int k, int n)
    {
        Array.Clear(c);
        for (int i = 0; i < m; i++)
            for (int t = 0; t < k; t++)
            {
                double v = a[i * k + t];
                for (int j = 0; j < n; j++) c[i * n + j] += v * b[t * n + j];
            }
    }
}
