using EmDsl.Data;
using EmDsl.Numerics;

namespace EmDsl.Families;

/// <summary>Which covariance matrices a Gaussian family (one distribution) may have.</summary>
public enum CovarianceStructure
{
    /// <summary>Any symmetric positive-definite matrix.</summary>
    Full,
    /// <summary>A positive diagonal matrix: independent coordinates.</summary>
    Diagonal,
    /// <summary>σ²·I.</summary>
    Spherical,
}

/// <summary>Mean vector and covariance matrix of a multivariate Gaussian.</summary>
public sealed record GaussianParameters
{
    /// <summary>Creates the parameters; the covariance must be square, D×D, finite and symmetric.</summary>
    public GaussianParameters(IEnumerable<double> mean, ReadOnlyMatrix covariance)
    {
        var m = FamilyChecks.Vector(mean, -1, nameof(mean), double.IsFinite, "finite");
        ArgumentNullException.ThrowIfNull(covariance);
        if (covariance.Rows != m.Length || covariance.Columns != m.Length)
            throw new ArgumentException($"The covariance is {covariance.Rows}×{covariance.Columns}; a {m.Length}-dimensional mean needs {m.Length}×{m.Length}.", nameof(covariance));
        for (int i = 0; i < m.Length; i++)
            for (int j = 0; j < m.Length; j++)
            {
                double a = covariance[i, j], b = covariance[j, i];
                if (!double.IsFinite(a)) throw new ArgumentException($"Covariance entry ({i}, {j}) is {a}.", nameof(covariance));
                if (Math.Abs(a - b) > 1e-10 * Math.Max(1, Math.Max(Math.Abs(a), Math.Abs(b))))
                    throw new ArgumentException($"The covariance is not symmetric: ({i}, {j}) = {a} but ({j}, {i}) = {b}.", nameof(covariance));
            }
        Mean = m;
        Covariance = covariance;
    }

    /// <summary>Creates the parameters from a rectangular covariance array (F#: <c>array2D</c>).</summary>
    public GaussianParameters(IEnumerable<double> mean, double[,] covariance) : this(mean, new ReadOnlyMatrix(covariance)) { }

    /// <summary>A Gaussian with independent coordinates of the given variances.</summary>
    public static GaussianParameters WithVariances(IEnumerable<double> mean, IEnumerable<double> variances) =>
        new(mean, ReadOnlyMatrix.Diagonal(variances.ToArray()));

    /// <summary>μ.</summary>
    public IReadOnlyList<double> Mean { get; }

    /// <summary>Σ.</summary>
    public ReadOnlyMatrix Covariance { get; }

    /// <summary>D.</summary>
    public int Dimension => Mean.Count;

    /// <summary>Value equality over the mean and the covariance.</summary>
    public bool Equals(GaussianParameters? other) => other is not null && Mean.SequenceEqual(other.Mean) && Covariance.Equals(other.Covariance);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(FamilyChecks.Hash(Mean), Covariance.GetHashCode());

    /// <inheritdoc />
    public override string ToString() => $"GaussianParameters {{ Mean = {FamilyChecks.Format(Mean)}, Covariance = {Covariance} }}";
}

/// <summary>
/// The D-dimensional Gaussian with full, diagonal or spherical covariance:
/// <code>p(x | μ, Σ) = (2π)^{−D/2} |Σ|^{−1/2} exp( −½ (x − μ)ᵀ Σ⁻¹ (x − μ) )</code>
/// With precision Λ = Σ⁻¹: T(x) = [x, second moments], log h(x) = −(D/2) log 2π, η = [Λμ, second part],
/// A(η) = ½ μᵀΛμ − ½ log|Λ|. The second-moment statistics and their natural parameters depend on the
/// structure: Full — x_i x_j for i ≤ j with η = −½Λ_ii on the diagonal and −Λ_ij off it (S = D + D(D+1)/2);
/// Diagonal — x_i² with η = −½Λ_ii (S = 2D); Spherical — Σ_i x_i² with η = −½λ for Λ = λI (S = D + 1).
/// ∇A gives [μ, E of the second moments] = [μ, Σ + μμᵀ in the same packing]; (∇A)⁻¹ recovers μ, then
/// Σ = E[xxᵀ] − μμᵀ, then Λ through a Cholesky factorisation. Conjugate prior: <see cref="Priors.GaussianPrior"/>.
/// </summary>
public sealed class GaussianFamily : ExponentialFamily<GaussianParameters>
{
    private readonly double _logBase;

    /// <summary>A D-dimensional Gaussian family with the given covariance structure.</summary>
    public GaussianFamily(int dimension, CovarianceStructure structure = CovarianceStructure.Full)
    {
        FamilyChecks.Positive(dimension, nameof(dimension));
        ArraySize.Argument(dimension, dimension, nameof(dimension), () => $"A {dimension}-dimensional Gaussian's D × D covariance");
        Dimension = dimension;
        Structure = structure;
        _logBase = -0.5 * dimension * Math.Log(2 * Math.PI);
    }

    /// <summary>The covariance structure.</summary>
    public CovarianceStructure Structure { get; }

    /// <inheritdoc />
    public override string Name => Structure switch
    {
        CovarianceStructure.Full => "Gaussian (full covariance)",
        CovarianceStructure.Diagonal => "Gaussian (diagonal covariance)",
        _ => "Gaussian (spherical covariance)",
    };

    /// <inheritdoc />
    public override int Dimension { get; }

    /// <summary>Length of the second-moment part of T(x).</summary>
    internal int SecondMomentCount => Structure switch
    {
        CovarianceStructure.Full => Dimension * (Dimension + 1) / 2,
        CovarianceStructure.Diagonal => Dimension,
        _ => 1,
    };

    /// <inheritdoc />
    public override int StatisticCount => Dimension + SecondMomentCount;

    // ---- T(x), log h(x), support ----

    /// <inheritdoc />
    public override void SufficientStatistics(ReadOnlySpan<double> x, Span<double> statistics)
    {
        int d = Dimension;
        x.Slice(0, d).CopyTo(statistics);
        var second = statistics.Slice(d, SecondMomentCount);
        switch (Structure)
        {
            case CovarianceStructure.Full:
                int p = 0;
                for (int i = 0; i < d; i++)
                    for (int j = i; j < d; j++) second[p++] = x[i] * x[j];
                break;
            case CovarianceStructure.Diagonal:
                for (int i = 0; i < d; i++) second[i] = x[i] * x[i];
                break;
            default:
                double s = 0;
                for (int i = 0; i < d; i++) s += x[i] * x[i];
                second[0] = s;
                break;
        }
    }

    /// <inheritdoc />
    public override double LogBaseMeasure(ReadOnlySpan<double> x) => _logBase;

    internal override double? ConstantLogBaseMeasure => _logBase;

    internal override bool? AllValuesInSupport(ReadOnlySpan<double> values) => true;

    /// <inheritdoc />
    public override SupportViolation? CheckSupport(ReadOnlySpan<double> x) => null;

    // ---- packing between the second-moment part and D×D matrices ----

    /// <summary>Unpacks the second natural part into the precision matrix Λ (row-major D×D).</summary>
    internal void PrecisionFromNatural(ReadOnlySpan<double> eta, Span<double> precision)
    {
        int d = Dimension;
        var second = eta.Slice(d, SecondMomentCount);
        precision.Slice(0, d * d).Clear();
        switch (Structure)
        {
            case CovarianceStructure.Full:
                int p = 0;
                for (int i = 0; i < d; i++)
                    for (int j = i; j < d; j++, p++)
                    {
                        double v = i == j ? -2 * second[p] : -second[p];
                        precision[i * d + j] = v;
                        precision[j * d + i] = v;
                    }
                break;
            case CovarianceStructure.Diagonal:
                for (int i = 0; i < d; i++) precision[i * d + i] = -2 * second[i];
                break;
            default:
                for (int i = 0; i < d; i++) precision[i * d + i] = -2 * second[0];
                break;
        }
    }

    /// <summary>Packs Λ into the second natural part (reads only what the structure keeps).</summary>
    private void NaturalFromPrecision(ReadOnlySpan<double> precision, Span<double> second)
    {
        int d = Dimension;
        switch (Structure)
        {
            case CovarianceStructure.Full:
                int p = 0;
                for (int i = 0; i < d; i++)
                    for (int j = i; j < d; j++) second[p++] = i == j ? -0.5 * precision[i * d + i] : -precision[i * d + j];
                break;
            case CovarianceStructure.Diagonal:
                for (int i = 0; i < d; i++) second[i] = -0.5 * precision[i * d + i];
                break;
            default:
                second[0] = -0.5 * precision[0];
                break;
        }
    }

    /// <summary>Σ = E[second moments] − μμᵀ, unpacked into a D×D matrix (diagonal/spherical: zero off-diagonal).</summary>
    internal void CovarianceFromMean(ReadOnlySpan<double> mean, Span<double> covariance)
    {
        int d = Dimension;
        var mu = mean.Slice(0, d);
        var second = mean.Slice(d, SecondMomentCount);
        covariance.Slice(0, d * d).Clear();
        switch (Structure)
        {
            case CovarianceStructure.Full:
                int p = 0;
                for (int i = 0; i < d; i++)
                    for (int j = i; j < d; j++, p++)
                    {
                        double v = second[p] - mu[i] * mu[j];
                        covariance[i * d + j] = v;
                        covariance[j * d + i] = v;
                    }
                break;
            case CovarianceStructure.Diagonal:
                for (int i = 0; i < d; i++) covariance[i * d + i] = second[i] - mu[i] * mu[i];
                break;
            default:
                double ss = 0;
                for (int i = 0; i < d; i++) ss += mu[i] * mu[i];
                double v2 = (second[0] - ss) / d;
                for (int i = 0; i < d; i++) covariance[i * d + i] = v2;
                break;
        }
    }

    /// <summary>The mean parameter [μ, packed Σ + μμᵀ] of the Gaussian (μ, Σ); Σ must respect the structure.</summary>
    internal void MeanFromMoments(ReadOnlySpan<double> mu, ReadOnlySpan<double> covariance, Span<double> mean)
    {
        int d = Dimension;
        mu.Slice(0, d).CopyTo(mean);
        var second = mean.Slice(d, SecondMomentCount);
        switch (Structure)
        {
            case CovarianceStructure.Full:
                int p = 0;
                for (int i = 0; i < d; i++)
                    for (int j = i; j < d; j++) second[p++] = covariance[i * d + j] + mu[i] * mu[j];
                break;
            case CovarianceStructure.Diagonal:
                for (int i = 0; i < d; i++) second[i] = covariance[i * d + i] + mu[i] * mu[i];
                break;
            default:
                double s = 0;
                for (int i = 0; i < d; i++) s += covariance[i * d + i] + mu[i] * mu[i];
                second[0] = s;
                break;
        }
    }

    // ---- A(η), ∇A, (∇A)⁻¹ ----

    /// <summary>Λ's Cholesky factor and μ = Λ⁻¹η₁ from η; false when Λ is not positive definite.</summary>
    private bool TryMoments(ReadOnlySpan<double> eta, Span<double> precisionFactor, Span<double> mu)
    {
        int d = Dimension;
        PrecisionFromNatural(eta, precisionFactor);
        if (!ComputeBackend.Current.CholeskyInPlace(precisionFactor, d)) return false;
        eta.Slice(0, d).CopyTo(mu);
        SymmetricMatrix.SolveFromCholesky(precisionFactor, d, mu);
        return true;
    }

    /// <inheritdoc />
    public override double LogNormalizer(ReadOnlySpan<double> eta)
    {
        int d = Dimension;
        var l = new double[d * d];
        var mu = new double[d];
        if (!TryMoments(eta, l, mu)) throw new ArgumentException("The natural parameter's precision matrix is not positive definite.", nameof(eta));
        double quad = 0;
        for (int i = 0; i < d; i++) quad += eta[i] * mu[i];
        return 0.5 * quad - 0.5 * SymmetricMatrix.LogDeterminantFromCholesky(l, d);
    }

    /// <inheritdoc />
    public override void MeanMap(ReadOnlySpan<double> eta, Span<double> mean)
    {
        int d = Dimension;
        var l = new double[d * d];
        var mu = new double[d];
        if (!TryMoments(eta, l, mu)) throw new ArgumentException("The natural parameter's precision matrix is not positive definite.", nameof(eta));
        var cov = new double[d * d];
        SymmetricMatrix.InverseFromCholesky(l, d, cov);
        MeanFromMoments(mu, cov, mean);
    }

    internal override bool HasClosedFormInverse => true;

    /// <inheritdoc />
    public override void InverseMeanMap(ReadOnlySpan<double> mean, Span<double> eta)
    {
        if (!TryInverseMeanMap(mean, eta))
            throw new ArgumentException("The implied covariance E[xxᵀ] − μμᵀ is not positive definite.", nameof(mean));
    }

    /// <summary>(∇A)⁻¹ that reports a covariance that is not positive definite by returning false.</summary>
    internal bool TryInverseMeanMap(ReadOnlySpan<double> mean, Span<double> eta)
    {
        int d = Dimension;
        var cov = new double[d * d];
        CovarianceFromMean(mean, cov);
        return TryNaturalFromMoments(mean.Slice(0, d), cov, eta);
    }

    /// <summary>η from (μ, Σ): Λ = Σ⁻¹ through Cholesky, η₁ = Λμ. False when Σ is not positive definite.</summary>
    internal bool TryNaturalFromMoments(ReadOnlySpan<double> mu, ReadOnlySpan<double> covariance, Span<double> eta)
    {
        int d = Dimension;
        var l = new double[d * d];
        if (!SymmetricMatrix.TryCholesky(covariance, d, l)) return false;
        var precision = new double[d * d];
        SymmetricMatrix.InverseFromCholesky(l, d, precision);
        var first = eta.Slice(0, d);
        mu.Slice(0, d).CopyTo(first);
        SymmetricMatrix.SolveFromCholesky(l, d, first);
        NaturalFromPrecision(precision, eta.Slice(d, SecondMomentCount));
        for (int i = 0; i < StatisticCount; i++) if (!double.IsFinite(eta[i])) return false;
        return true;
    }

    /// <summary>(μ, Σ) of η as row-major arrays; false when Λ is not positive definite.</summary>
    internal bool TryMomentsFromNatural(ReadOnlySpan<double> eta, Span<double> mu, Span<double> covariance)
    {
        int d = Dimension;
        var l = new double[d * d];
        if (!TryMoments(eta, l, mu)) return false;
        SymmetricMatrix.InverseFromCholesky(l, d, covariance);
        return true;
    }

    /// <inheritdoc />
    public override bool IsNaturalParameter(ReadOnlySpan<double> eta)
    {
        for (int i = 0; i < StatisticCount; i++) if (!double.IsFinite(eta[i])) return false;
        int d = Dimension;
        return TryMoments(eta, new double[d * d], new double[d]);
    }

    /// <inheritdoc />
    public override bool IsMeanParameter(ReadOnlySpan<double> mean)
    {
        for (int i = 0; i < StatisticCount; i++) if (!double.IsFinite(mean[i])) return false;
        int d = Dimension;
        var cov = new double[d * d];
        CovarianceFromMean(mean, cov);
        return SymmetricMatrix.TryCholesky(cov, d, new double[d * d]);
    }

    /// <summary>
    /// Adds <paramref name="floor"/> to every variance (the diagonal of Σ), as scikit-learn's reg_covar does:
    /// Σ + floor·I is positive definite whenever Σ is positive semi-definite. Unlike the probability floors
    /// of the discrete families, this applies to every covariance, not only to those on the boundary.
    /// </summary>
    public override void ProjectMeanIntoDomain(Span<double> mean, double floor)
    {
        int d = Dimension;
        var second = mean.Slice(d, SecondMomentCount);
        switch (Structure)
        {
            case CovarianceStructure.Full:
                int p = 0;
                for (int i = 0; i < d; i++)
                    for (int j = i; j < d; j++, p++) if (i == j) second[p] += floor;
                break;
            case CovarianceStructure.Diagonal:
                for (int i = 0; i < d; i++) second[i] += floor;
                break;
            default:
                second[0] += d * floor;
                break;
        }
    }

    // ---- usual parameters ----

    /// <inheritdoc />
    public override double[] ToNatural(GaussianParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        int d = Dimension;
        if (parameters.Dimension != d)
            throw new ArgumentException($"Expected a {d}-dimensional Gaussian, got {parameters.Dimension} dimensions.", nameof(parameters));
        var cov = parameters.Covariance.Values;
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++)
            {
                if (i != j && Structure != CovarianceStructure.Full && cov[i * d + j] != 0)
                    throw new ArgumentException($"A {Structure.ToString().ToLowerInvariant()} covariance must be diagonal, but entry ({i}, {j}) is {cov[i * d + j]}.", nameof(parameters));
                if (i == j && Structure == CovarianceStructure.Spherical && cov[i * d + i] != cov[0])
                    throw new ArgumentException($"A spherical covariance needs equal variances, but entry ({i}, {i}) is {cov[i * d + i]} and (0, 0) is {cov[0]}.", nameof(parameters));
            }
        var eta = new double[StatisticCount];
        if (!TryNaturalFromMoments(parameters.Mean.ToArray(), cov, eta))
            throw new ArgumentException("The covariance is not positive definite.", nameof(parameters));
        return eta;
    }

    /// <inheritdoc />
    public override GaussianParameters FromNatural(ReadOnlySpan<double> eta)
    {
        int d = Dimension;
        var mu = new double[d];
        var cov = new double[d * d];
        if (!TryMomentsFromNatural(eta, mu, cov)) throw new ArgumentException("The natural parameter's precision matrix is not positive definite.", nameof(eta));
        return new GaussianParameters(mu, ReadOnlyMatrix.FromRowMajor(cov, d, d));
    }

    // ---- sampling ----

    /// <inheritdoc />
    public override void Sample(ReadOnlySpan<double> eta, Random random, Span<double> x)
    {
        int d = Dimension;
        var mu = new double[d];
        var cov = new double[d * d];
        if (!TryMomentsFromNatural(eta, mu, cov)) throw new ArgumentException("The natural parameter's precision matrix is not positive definite.", nameof(eta));
        var l = new double[d * d];
        if (!SymmetricMatrix.TryCholesky(cov, d, l))
            throw new ArgumentException("The covariance implied by the natural parameter does not factor (not positive definite in floating point).", nameof(eta));
        SampleWithCholesky(mu, l, random, x);
    }

    /// <summary>x = μ + L·z with z standard normal and Σ = LLᵀ.</summary>
    internal static void SampleWithCholesky(ReadOnlySpan<double> mu, ReadOnlySpan<double> l, Random random, Span<double> x)
    {
        int d = mu.Length;
        Span<double> z = d <= StackBuffer.MaxDoubles ? stackalloc double[d] : new double[d];
        for (int i = 0; i < d; i++) z[i] = MathNet.Numerics.Distributions.Normal.Sample(random, 0, 1);
        for (int i = 0; i < d; i++)
        {
            double s = mu[i];
            for (int j = 0; j <= i; j++) s += l[i * d + j] * z[j];
            x[i] = s;
        }
    }
}
