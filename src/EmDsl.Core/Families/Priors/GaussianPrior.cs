using EmDsl.Data;
using EmDsl.Numerics;

namespace EmDsl.Families.Priors;

/// <summary>
/// Conjugate prior for a Gaussian's mean and covariance in pseudo-observation form: n pseudo-observations
/// with scatter matrix Ψ, and κ pseudo-observations at mean m. Its log kernel at (μ, Σ) is
/// <code>−(n/2) log|Σ| − ½ tr(Ψ Σ⁻¹) − (κ/2) (μ − m)ᵀ Σ⁻¹ (μ − m)</code>
/// and the MAP estimate from R observations with mean x̄ and scatter W = Σ r (x − x̄)(x − x̄)ᵀ is
/// <code>μ̂ = (κm + R x̄)/(κ + R),   Σ̂ = (Ψ + W + κR/(κ+R) (x̄ − m)(x̄ − m)ᵀ) / (n + R)</code>
/// (diagonal covariance: the diagonal of that; spherical: its trace over D(n + R); tied covariance: Ψ plus
/// the sum over components, over n + Σ R). With κ = n = 0 and Ψ = 0 this is maximum likelihood.
/// <para>
/// It is the Normal-Inverse-Wishart NIW(m, κ, Ψ, ν₀) with ν₀ = n − D − 2 (full covariance), a
/// Normal-Inverse-Gamma per coordinate with shape (n − 3)/2 and scale Ψ_ii/2 (diagonal), or one with shape
/// (D(n − 1) − 2)/2 and scale tr Ψ / 2 (spherical). When those are proper (κ &gt; 0, Ψ positive definite,
/// and shape or ν₀ in range) <see cref="LogDensity(GaussianParameters, CovarianceStructure)"/> is their normalised log density; otherwise the prior is
/// improper and its log kernel is used, which fixes the objective up to an additive constant.
/// </para>
/// </summary>
public sealed record GaussianPrior
{
    private readonly double[] _mean;
    private readonly ReadOnlyMatrix _scatter;

    /// <summary>Creates the prior from its pseudo-observations.</summary>
    /// <param name="mean">m: the mean of the κ pseudo-observations (length D).</param>
    /// <param name="meanPseudoCount">κ ≥ 0: how many observations the prior mean is worth.</param>
    /// <param name="scatter">Ψ: symmetric positive semi-definite D×D pseudo-scatter.</param>
    /// <param name="covariancePseudoCount">n ≥ 0: how many observations Ψ is worth.</param>
    public GaussianPrior(IEnumerable<double> mean, double meanPseudoCount, ReadOnlyMatrix scatter, double covariancePseudoCount)
    {
        _mean = FamilyChecks.Vector(mean, -1, nameof(mean), double.IsFinite, "finite");
        ArgumentNullException.ThrowIfNull(scatter);
        int d = _mean.Length;
        if (d == 0) throw new ArgumentException("The prior mean is empty.", nameof(mean));
        if (scatter.Rows != d || scatter.Columns != d)
            throw new ArgumentException($"The pseudo-scatter Ψ is {scatter.Rows}×{scatter.Columns}; the prior mean has {d} entries.", nameof(scatter));
        if (!(meanPseudoCount >= 0) || double.IsInfinity(meanPseudoCount))
            throw new ArgumentOutOfRangeException(nameof(meanPseudoCount), meanPseudoCount, "κ must be finite and ≥ 0.");
        if (!(covariancePseudoCount >= 0) || double.IsInfinity(covariancePseudoCount))
            throw new ArgumentOutOfRangeException(nameof(covariancePseudoCount), covariancePseudoCount, "n must be finite and ≥ 0.");
        for (int i = 0; i < d; i++)
        {
            if (!(scatter[i, i] >= 0)) throw new ArgumentException($"Ψ[{i},{i}] = {scatter[i, i]} must be ≥ 0.", nameof(scatter));
            for (int j = 0; j < d; j++)
                if (!double.IsFinite(scatter[i, j]) || Math.Abs(scatter[i, j] - scatter[j, i]) > 1e-10 * Math.Max(1, Math.Abs(scatter[i, j])))
                    throw new ArgumentException($"Ψ must be finite and symmetric; entry ({i}, {j}) is {scatter[i, j]} and ({j}, {i}) is {scatter[j, i]}.", nameof(scatter));
        }
        // Positive semi-definite: Ψ + εI must factor for a tiny ε relative to Ψ's scale.
        var ridged = scatter.Values.ToArray();
        double trace = 0;
        for (int i = 0; i < d; i++) trace += ridged[i * d + i];
        for (int i = 0; i < d; i++) ridged[i * d + i] += 1e-12 * Math.Max(trace, 1e-300) + 1e-300;
        if (!SymmetricMatrix.TryCholesky(ridged, d, new double[d * d]))
            throw new ArgumentException("The pseudo-scatter Ψ is not positive semi-definite (it has a negative eigenvalue).", nameof(scatter));
        _scatter = scatter;
        MeanPseudoCount = meanPseudoCount;
        CovariancePseudoCount = covariancePseudoCount;
    }

    /// <summary>The Normal-Inverse-Wishart NIW(m, κ, Ψ, ν₀) for a full covariance: n = ν₀ + D + 2.</summary>
    public static GaussianPrior NormalInverseWishart(IEnumerable<double> mean, double kappa, ReadOnlyMatrix scale, double degreesOfFreedom)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(scale);
        var m = mean.ToArray();
        if (!(degreesOfFreedom > m.Length - 1))
            throw new ArgumentOutOfRangeException(nameof(degreesOfFreedom), degreesOfFreedom, $"An inverse-Wishart over {m.Length}×{m.Length} matrices needs ν₀ > {m.Length - 1}.");
        return new GaussianPrior(m, kappa, scale, degreesOfFreedom + m.Length + 2);
    }

    /// <summary>m.</summary>
    public IReadOnlyList<double> Mean => _mean;

    /// <summary>κ.</summary>
    public double MeanPseudoCount { get; }

    /// <summary>Ψ.</summary>
    public ReadOnlyMatrix Scatter => _scatter;

    /// <summary>n.</summary>
    public double CovariancePseudoCount { get; }

    /// <summary>D.</summary>
    public int Dimension => _mean.Length;

    /// <summary>
    /// Log density (normalised when proper, see the type's remarks) of one component's (μ, Σ) under the
    /// given structure, or of a block of <paramref name="means"/>.Count components sharing one covariance
    /// when <paramref name="tied"/>.
    /// </summary>
    internal double LogDensity(IReadOnlyList<IReadOnlyList<double>> means, ReadOnlySpan<double> covariance, CovarianceStructure structure, bool tied)
    {
        int d = Dimension;
        var l = new double[d * d];
        if (!SymmetricMatrix.TryCholesky(covariance, d, l)) return double.NegativeInfinity;
        int groups = tied ? 1 : means.Count;
        int meanTerms = means.Count;
        double logDet = SymmetricMatrix.LogDeterminantFromCholesky(l, d);
        double trace = structure == CovarianceStructure.Full
            ? SymmetricMatrix.TraceOfInverseTimes(l, d, _scatter.Values)
            : DiagonalTrace(covariance, d);
        double kernel = groups * (-0.5 * CovariancePseudoCount * logDet - 0.5 * trace);
        if (MeanPseudoCount > 0)
        {
            var diff = new double[d];
            foreach (var mu in means)
            {
                for (int i = 0; i < d; i++) diff[i] = mu[i] - _mean[i];
                kernel -= 0.5 * MeanPseudoCount * SymmetricMatrix.InverseQuadraticForm(l, d, diff);
            }
        }
        return kernel + groups * LogNormalizer(structure, tied ? meanTerms : 1);
    }

    /// <summary>Log density of one Gaussian's parameters under a covariance structure (untied).</summary>
    public double LogDensity(GaussianParameters parameters, CovarianceStructure structure = CovarianceStructure.Full)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (parameters.Dimension != Dimension)
            throw new ArgumentException($"The prior is {Dimension}-dimensional; the parameters are {parameters.Dimension}-dimensional.", nameof(parameters));
        return LogDensity([parameters.Mean], parameters.Covariance.Values, structure, tied: false);
    }

    private double DiagonalTrace(ReadOnlySpan<double> covariance, int d)
    {
        double t = 0;
        for (int i = 0; i < d; i++) t += _scatter[i, i] / covariance[i * d + i];
        return t;
    }

    /// <summary>
    /// log of the normalising constant of the proper density the kernel belongs to, for a group of
    /// <paramref name="meansPerCovariance"/> means sharing one covariance; 0 when that density is improper.
    /// </summary>
    private double LogNormalizer(CovarianceStructure structure, int meansPerCovariance)
    {
        int d = Dimension;
        double kappa = MeanPseudoCount, n = CovariancePseudoCount;
        if (!(kappa > 0)) return 0;
        double meanPart = meansPerCovariance * 0.5 * d * (Math.Log(kappa) - Math.Log(2 * Math.PI));
        switch (structure)
        {
            case CovarianceStructure.Full:
            {
                double nu0 = n - d - 1 - meansPerCovariance;
                var l = new double[d * d];
                if (!(nu0 > d - 1) || !SymmetricMatrix.TryCholesky(_scatter.Values, d, l)) return 0;
                double logDetPsi = SymmetricMatrix.LogDeterminantFromCholesky(l, d);
                return meanPart + 0.5 * nu0 * logDetPsi - 0.5 * nu0 * d * Math.Log(2) - SpecialFunctions.LogMultivariateGamma(0.5 * nu0, d);
            }
            case CovarianceStructure.Diagonal:
            {
                // Per coordinate: σ² ~ InvGamma(a, Ψ_ii/2) and μ_i ~ N(m_i, σ²/κ) for each of the means.
                double a = 0.5 * (n - 2 - meansPerCovariance);
                if (!(a > 0)) return 0;
                double s = meanPart;
                for (int i = 0; i < d; i++)
                {
                    double b = 0.5 * _scatter[i, i];
                    if (!(b > 0)) return 0;
                    s += a * Math.Log(b) - SpecialFunctions.LogGamma(a);
                }
                return s;
            }
            default:
            {
                double a = 0.5 * (d * n - 2 - d * meansPerCovariance);
                double b = 0;
                for (int i = 0; i < d; i++) b += 0.5 * _scatter[i, i];
                if (!(a > 0) || !(b > 0)) return 0;
                return meanPart + a * Math.Log(b) - SpecialFunctions.LogGamma(a);
            }
        }
    }

    /// <summary>Value equality over m, κ, Ψ and n.</summary>
    public bool Equals(GaussianPrior? other) =>
        other is not null && _mean.AsSpan().SequenceEqual(other._mean) && MeanPseudoCount == other.MeanPseudoCount &&
        CovariancePseudoCount == other.CovariancePseudoCount && _scatter.Values.SequenceEqual(other._scatter.Values);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Dimension, MeanPseudoCount, CovariancePseudoCount);

    /// <inheritdoc />
    public override string ToString() => $"GaussianPrior(κ = {MeanPseudoCount:G6}, n = {CovariancePseudoCount:G6}, D = {Dimension})";
}
