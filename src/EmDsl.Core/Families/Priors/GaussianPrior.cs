using EmDsl.Data;
using EmDsl.Numerics;

namespace EmDsl.Families.Priors;

/// <summary>Which density a <see cref="GaussianPrior"/> was declared as.</summary>
public enum GaussianPriorForm
{
    /// <summary>Pseudo-observations (m, κ, Ψ, n): the kernel in the remarks of <see cref="GaussianPrior"/>, for any covariance type.</summary>
    PseudoObservations,
    /// <summary>Normal-Inverse-Wishart NIW(m, κ, Ψ, ν₀), for full and tied covariances.</summary>
    NormalInverseWishart,
    /// <summary>Normal-Inverse-Gamma NIG(m, κ, a, b) on each variance, for diagonal and spherical covariances.</summary>
    NormalInverseGamma,
}

/// <summary>
/// Conjugate prior for a Gaussian's mean and covariance. Three ways to declare it, each meaning exactly its density:
/// <list type="bullet">
/// <item><see cref="NormalInverseWishart"/>(m, κ, Ψ, ν₀) for full and tied covariances: Σ ~ IW(Ψ, ν₀), density
/// <c>|Ψ|^(ν₀/2) / (2^(ν₀D/2) Γ_D(ν₀/2)) · |Σ|^(−(ν₀+D+1)/2) exp(−½ tr ΨΣ⁻¹)</c>, and each mean that uses Σ (one per
/// component; for a tied block, the K means share the one Σ) μ_k | Σ ~ N(m, Σ/κ).</item>
/// <item><see cref="NormalInverseGamma(IEnumerable{double}, double, double, double)"/>(m, κ, a, b) for diagonal and
/// spherical covariances: each variance σ² of the block (D of them for diagonal, one for spherical) ~ InvGamma(a, b),
/// density <c>bᵃ/Γ(a) · σ^(−2(a+1)) exp(−b/σ²)</c>, and μ_i | σ_i² ~ N(m_i, σ_i²/κ).</item>
/// <item>The constructor's pseudo-observations: n pseudo-observations with scatter matrix Ψ and κ pseudo-observations at
/// m, whose log kernel is <c>−(n/2) log|Σ| − ½ tr(Ψ Σ⁻¹) − (κ/2) (μ − m)ᵀ Σ⁻¹ (μ − m)</c> (diagonal and spherical
/// covariances read Ψ's diagonal; a tied block takes the kernel once, with one mean term per component).</item>
/// </list>
/// κ = 0 means a flat prior on the means (the mean terms vanish and the estimate of μ is the data mean).
/// In every form the MAP estimate from R observations with mean x̄ and scatter W = Σ r (x − x̄)(x − x̄)ᵀ is
/// <code>μ̂ = (κm + R x̄)/(κ + R),   Σ̂ = (Ψ' + W + κR/(κ+R) (x̄ − m)(x̄ − m)ᵀ) / (n' + R)</code>
/// (diagonal: the diagonal of that; spherical: its trace over D(n' + R); tied: Ψ' plus the sums over components, over
/// n' + Σ R), where (n', Ψ') are the form's pseudo-observations for the block: NIW: n' = ν₀ + D + 1 + M, Ψ' = Ψ;
/// NIG diagonal: n' = 2a + 2 + M, Ψ' = diag(2b_i); NIG spherical: n' = (2a + 2)/D + M, tr Ψ' = 2b; with M the number of
/// means that share the covariance (1, or K for a tied block) when κ &gt; 0 and 0 when κ = 0. With κ = n = 0 and Ψ = 0
/// the pseudo-observation form is maximum likelihood.
/// <para>
/// <see cref="LogDensity(GaussianParameters, CovarianceStructure?)"/> is the normalised log density of the NIW and NIG
/// forms (the flat mean prior of κ = 0 contributes 0). The pseudo-observation form is the NIW with ν₀ = n − D − 2 (full;
/// tied: n − D − 1 − K), an NIG per coordinate with shape (n − 3)/2 and scale Ψ_ii/2 (diagonal) or one with shape
/// (D(n − 1) − 2)/2 and scale tr Ψ / 2 (spherical); when those are proper (κ &gt; 0, Ψ positive definite, shape or ν₀ in
/// range) its log density is normalised, otherwise its log kernel is used, which fixes the objective up to a constant.
/// </para>
/// </summary>
public sealed record GaussianPrior
{
    private readonly double[] _mean;
    private readonly ReadOnlyMatrix _scatter;
    private readonly double[]? _scales;

    /// <summary>Creates the prior from its pseudo-observations (<see cref="GaussianPriorForm.PseudoObservations"/>).</summary>
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
        Form = GaussianPriorForm.PseudoObservations;
    }

    private GaussianPrior(GaussianPrior pseudo, GaussianPriorForm form, double? degreesOfFreedom, double? shape, double[]? scales)
        : this(pseudo._mean, pseudo.MeanPseudoCount, pseudo._scatter, pseudo.CovariancePseudoCount)
    {
        Form = form;
        DegreesOfFreedom = degreesOfFreedom;
        Shape = shape;
        _scales = scales;
    }

    /// <summary>
    /// The Normal-Inverse-Wishart NIW(m, κ, Ψ, ν₀) for a block with full or tied covariance: Σ ~ IW(Ψ, ν₀) and each
    /// mean μ_k | Σ ~ N(m, Σ/κ) (see the type's remarks). A diagonal or spherical block rejects it: use
    /// <see cref="NormalInverseGamma(IEnumerable{double}, double, double, double)"/> there.
    /// </summary>
    /// <param name="mean">m (length D).</param>
    /// <param name="kappa">κ ≥ 0 (0: a flat prior on the means).</param>
    /// <param name="scale">Ψ: the D × D symmetric positive definite scale matrix; the prior mode of Σ is Ψ/(ν₀ + D + 1).</param>
    /// <param name="degreesOfFreedom">ν₀ &gt; D − 1.</param>
    public static GaussianPrior NormalInverseWishart(IEnumerable<double> mean, double kappa, ReadOnlyMatrix scale, double degreesOfFreedom)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(scale);
        var m = mean.ToArray();
        if (!(degreesOfFreedom > m.Length - 1) || double.IsInfinity(degreesOfFreedom))
            throw new ArgumentOutOfRangeException(nameof(degreesOfFreedom), degreesOfFreedom, $"An inverse-Wishart over {m.Length}×{m.Length} matrices needs finite ν₀ > {m.Length - 1}.");
        var pseudo = new GaussianPrior(m, kappa, scale, degreesOfFreedom + m.Length + 2);
        int d = m.Length;
        if (!SymmetricMatrix.TryCholesky(scale.Values, d, new double[d * d]))
            throw new ArgumentException("The inverse-Wishart scale Ψ must be positive definite (it is singular).", nameof(scale));
        return new GaussianPrior(pseudo, GaussianPriorForm.NormalInverseWishart, degreesOfFreedom, null, null);
    }

    /// <summary>
    /// The Normal-Inverse-Gamma NIG(m, κ, a, b) for a block with diagonal or spherical covariance: every variance of the
    /// block ~ InvGamma(a, b) (shape a, scale b: mean b/(a − 1), mode b/(a + 1)) and each mean coordinate
    /// μ_i | σ_i² ~ N(m_i, σ_i²/κ). A full or tied block rejects it: use <see cref="NormalInverseWishart"/> there.
    /// </summary>
    /// <param name="mean">m (length D).</param>
    /// <param name="kappa">κ ≥ 0 (0: a flat prior on the means).</param>
    /// <param name="shape">a &gt; 0.</param>
    /// <param name="scale">b &gt; 0, the same for every coordinate.</param>
    public static GaussianPrior NormalInverseGamma(IEnumerable<double> mean, double kappa, double shape, double scale)
    {
        ArgumentNullException.ThrowIfNull(mean);
        var m = mean.ToArray();
        return NormalInverseGamma(m, kappa, shape, Enumerable.Repeat(scale, m.Length));
    }

    /// <summary>
    /// The Normal-Inverse-Gamma with a scale per coordinate, for a diagonal block: σ_i² ~ InvGamma(a, b_i) and
    /// μ_i | σ_i² ~ N(m_i, σ_i²/κ). A spherical block (one variance) accepts it only when every b_i is equal.
    /// </summary>
    /// <param name="mean">m (length D).</param>
    /// <param name="kappa">κ ≥ 0 (0: a flat prior on the means).</param>
    /// <param name="shape">a &gt; 0.</param>
    /// <param name="scales">b_i &gt; 0 (length D).</param>
    public static GaussianPrior NormalInverseGamma(IEnumerable<double> mean, double kappa, double shape, IEnumerable<double> scales)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(scales);
        var m = mean.ToArray();
        if (!(shape > 0) || double.IsInfinity(shape))
            throw new ArgumentOutOfRangeException(nameof(shape), shape, "The inverse-gamma shape a must be finite and > 0.");
        var b = FamilyChecks.Vector(scales, m.Length, nameof(scales), v => v > 0 && double.IsFinite(v), "finite and > 0");
        var psi = new double[m.Length, m.Length];
        for (int i = 0; i < m.Length; i++) psi[i, i] = 2 * b[i];
        var pseudo = new GaussianPrior(m, kappa, new ReadOnlyMatrix(psi), 2 * shape + 3);
        return new GaussianPrior(pseudo, GaussianPriorForm.NormalInverseGamma, null, shape, b);
    }

    /// <summary>Which density this prior was declared as.</summary>
    public GaussianPriorForm Form { get; }

    /// <summary>ν₀ of a <see cref="GaussianPriorForm.NormalInverseWishart"/> prior; null otherwise.</summary>
    public double? DegreesOfFreedom { get; }

    /// <summary>The inverse-gamma shape a of a <see cref="GaussianPriorForm.NormalInverseGamma"/> prior; null otherwise.</summary>
    public double? Shape { get; }

    /// <summary>The inverse-gamma scales b_i (one per coordinate) of a <see cref="GaussianPriorForm.NormalInverseGamma"/> prior; null otherwise.</summary>
    public IReadOnlyList<double>? Scales => _scales;

    /// <summary>m.</summary>
    public IReadOnlyList<double> Mean => _mean;

    /// <summary>κ.</summary>
    public double MeanPseudoCount { get; }

    /// <summary>
    /// Ψ: the pseudo-scatter; for NIW its scale matrix; for NIG the equivalent diag(2b_i) of a diagonal block (see the
    /// type's remarks for the pseudo-observations each form uses per covariance type).
    /// </summary>
    public ReadOnlyMatrix Scatter => _scatter;

    /// <summary>n: the covariance pseudo-count; for NIW ν₀ + D + 2 and for NIG 2a + 3, their values for one untied component with κ &gt; 0.</summary>
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
        switch (Form)
        {
            case GaussianPriorForm.NormalInverseWishart: return NormalInverseWishartLogDensity(means, l);
            case GaussianPriorForm.NormalInverseGamma: return NormalInverseGammaLogDensity(means, covariance, structure);
        }
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

    /// <summary>
    /// Log density of one Gaussian's parameters (one untied component) under a covariance structure; by default the
    /// structure the form belongs to (NIW and pseudo-observations: full; NIG: diagonal). NIW needs
    /// <see cref="CovarianceStructure.Full"/>, NIG diagonal or spherical.
    /// </summary>
    public double LogDensity(GaussianParameters parameters, CovarianceStructure? structure = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (parameters.Dimension != Dimension)
            throw new ArgumentException($"The prior is {Dimension}-dimensional; the parameters are {parameters.Dimension}-dimensional.", nameof(parameters));
        var s = structure ?? (Form == GaussianPriorForm.NormalInverseGamma ? CovarianceStructure.Diagonal : CovarianceStructure.Full);
        if (Mismatch(s) is { } why) throw new ArgumentException(why, nameof(structure));
        return LogDensity([parameters.Mean], parameters.Covariance.Values, s, tied: false);
    }

    /// <summary>Why this prior cannot be the prior of a covariance of structure <paramref name="structure"/>, or null when it can.</summary>
    internal string? Mismatch(CovarianceStructure structure)
    {
        string type = structure.ToString().ToLowerInvariant();
        if (Form == GaussianPriorForm.NormalInverseWishart && structure != CovarianceStructure.Full)
            return $"NormalInverseWishart is a prior over full covariance matrices, not {type} ones: use GaussianPrior.NormalInverseGamma(mean, kappa, shape, scale), " +
                   "whose inverse-gamma is the conjugate prior of each variance.";
        if (Form == GaussianPriorForm.NormalInverseGamma && structure == CovarianceStructure.Full)
            return "NormalInverseGamma is a prior over variances (diagonal or spherical covariance), not full covariance matrices: " +
                   "use GaussianPrior.NormalInverseWishart(mean, kappa, scale, degreesOfFreedom).";
        if (Form == GaussianPriorForm.NormalInverseGamma && structure == CovarianceStructure.Spherical && _scales!.Distinct().Count() > 1)
            return $"a spherical covariance has one variance, but this NormalInverseGamma has {_scales!.Length} different scales " +
                   $"[{string.Join(", ", _scales.Select(Text))}]: give one scale.";
        return null;
    }

    /// <summary>
    /// (n', Ψ'): the pseudo-observations the MAP estimate uses for a covariance of <paramref name="structure"/> shared by
    /// <paramref name="meansPerCovariance"/> means (see the type's remarks). Ψ' is row-major D × D.
    /// </summary>
    internal (double Count, double[] Scatter) PseudoObservations(CovarianceStructure structure, int meansPerCovariance)
    {
        int d = Dimension;
        int means = MeanPseudoCount > 0 ? meansPerCovariance : 0;
        switch (Form)
        {
            case GaussianPriorForm.NormalInverseWishart:
                return (DegreesOfFreedom!.Value + d + 1 + means, _scatter.Values.ToArray());
            case GaussianPriorForm.NormalInverseGamma when structure == CovarianceStructure.Spherical:
            {
                var psi = new double[d * d];
                for (int i = 0; i < d; i++) psi[i * d + i] = 2 * _scales![0] / d;
                return ((2 * Shape!.Value + 2) / d + means, psi);
            }
            case GaussianPriorForm.NormalInverseGamma:
                return (2 * Shape!.Value + 2 + means, _scatter.Values.ToArray());
            default:
                return (CovariancePseudoCount, _scatter.Values.ToArray());
        }
    }

    /// <summary>log IW(Σ | Ψ, ν₀) + Σ_k log N(μ_k | m, Σ/κ) (no mean terms when κ = 0), Σ = LLᵀ.</summary>
    private double NormalInverseWishartLogDensity(IReadOnlyList<IReadOnlyList<double>> means, double[] l)
    {
        int d = Dimension;
        double nu0 = DegreesOfFreedom!.Value;
        var lPsi = new double[d * d];
        SymmetricMatrix.TryCholesky(_scatter.Values, d, lPsi);
        double logDetPsi = SymmetricMatrix.LogDeterminantFromCholesky(lPsi, d);
        double logDet = SymmetricMatrix.LogDeterminantFromCholesky(l, d);
        double value = 0.5 * nu0 * logDetPsi - 0.5 * nu0 * d * Math.Log(2) - SpecialFunctions.LogMultivariateGamma(0.5 * nu0, d)
                       - 0.5 * (nu0 + d + 1) * logDet - 0.5 * SymmetricMatrix.TraceOfInverseTimes(l, d, _scatter.Values);
        if (MeanPseudoCount > 0)
        {
            var diff = new double[d];
            foreach (var mu in means)
            {
                for (int i = 0; i < d; i++) diff[i] = mu[i] - _mean[i];
                value += 0.5 * d * Math.Log(MeanPseudoCount / (2 * Math.PI)) - 0.5 * logDet
                         - 0.5 * MeanPseudoCount * SymmetricMatrix.InverseQuadraticForm(l, d, diff);
            }
        }
        return value;
    }

    /// <summary>
    /// Σ over the block's variances of log InvGamma(σ² | a, b) + Σ_k log N(μ_k | m, σ²/κ) coordinate-wise (no mean terms
    /// when κ = 0); diagonal: D variances σ_i² = Σ_ii with scales b_i; spherical: one variance σ² = Σ_00 with scale b.
    /// </summary>
    private double NormalInverseGammaLogDensity(IReadOnlyList<IReadOnlyList<double>> means, ReadOnlySpan<double> covariance, CovarianceStructure structure)
    {
        int d = Dimension;
        double a = Shape!.Value;
        double InverseGamma(double b, double v) => a * Math.Log(b) - SpecialFunctions.LogGamma(a) - (a + 1) * Math.Log(v) - b / v;
        double value = structure == CovarianceStructure.Spherical ? InverseGamma(_scales![0], covariance[0]) : 0;
        for (int i = 0; i < d; i++)
        {
            double v = covariance[i * d + i];
            if (structure != CovarianceStructure.Spherical) value += InverseGamma(_scales![i], v);
            if (!(MeanPseudoCount > 0)) continue;
            foreach (var mu in means)
            {
                double diff = mu[i] - _mean[i];
                value += 0.5 * Math.Log(MeanPseudoCount / (2 * Math.PI * v)) - 0.5 * MeanPseudoCount * diff * diff / v;
            }
        }
        return value;
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

    /// <summary>Value equality over the form and every number the prior was declared with.</summary>
    public bool Equals(GaussianPrior? other) =>
        other is not null && Form == other.Form && _mean.AsSpan().SequenceEqual(other._mean) && MeanPseudoCount == other.MeanPseudoCount &&
        CovariancePseudoCount == other.CovariancePseudoCount && _scatter.Values.SequenceEqual(other._scatter.Values) &&
        DegreesOfFreedom == other.DegreesOfFreedom && Shape == other.Shape;

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Form, Dimension, MeanPseudoCount, CovariancePseudoCount);

    /// <summary>The prior as declared, with the numbers the user gave (shortest round-trip form).</summary>
    public override string ToString()
    {
        string m = Vector(_mean), kappa = Text(MeanPseudoCount);
        return Form switch
        {
            GaussianPriorForm.NormalInverseWishart => $"NormalInverseWishart(m = {m}, κ = {kappa}, Ψ = {Matrix()}, ν₀ = {Text(DegreesOfFreedom!.Value)})",
            GaussianPriorForm.NormalInverseGamma =>
                $"NormalInverseGamma(m = {m}, κ = {kappa}, a = {Text(Shape!.Value)}, b = {(_scales!.Distinct().Count() == 1 ? Text(_scales![0]) : Vector(_scales!))})",
            _ => $"GaussianPrior(m = {m}, κ = {kappa}, Ψ = {Matrix()}, n = {Text(CovariancePseudoCount)})",
        };
    }

    private static string Text(double value) => value.ToString("R", System.Globalization.CultureInfo.InvariantCulture);

    private static string Vector(IEnumerable<double> values) => "[" + string.Join(", ", values.Select(Text)) + "]";

    private string Matrix() =>
        "[" + string.Join("; ", Enumerable.Range(0, Dimension).Select(i => string.Join(", ", Enumerable.Range(0, Dimension).Select(j => Text(_scatter[i, j]))))) + "]";
}
