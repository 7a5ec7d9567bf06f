using System.Runtime.CompilerServices;
using EmDsl.Numerics;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Inference;

namespace EmDsl.Building;

/// <summary>The noise covariance Ψ of a factor block.</summary>
public enum NoiseModel
{
    /// <summary>Ψ = diag(ψ₁ … ψ_D), one variance per column: factor analysis.</summary>
    Diagonal,
    /// <summary>Ψ = σ²·I, one variance for every column: probabilistic PCA (Tipping &amp; Bishop 1999).</summary>
    Isotropic,
}

/// <summary>
/// An optional prior on a factor block's parameters (maximum a posteriori estimation), its log density part of
/// the objective: an inverse-gamma density on every noise variance (on σ² once for isotropic noise, on each ψ_d
/// for diagonal noise, once per component or once for noise shared by every component),
/// <code>IG(ψ | a, b) = bᵃ / Γ(a) · ψ^(−a−1) · exp(−b/ψ)</code>
/// which acts as 2a + 2 pseudo-observations of squared residual 2b/(2a + 2) and keeps ψ away from zero (the Heywood
/// case); and optionally a Normal(0, 1/λ) density on every loading (ridge shrinkage of Λ). The factor scores'
/// own prior z ~ N(0, I) is part of the model, not of this record.
/// </summary>
public sealed record FactorPrior
{
    /// <summary>Creates the prior.</summary>
    /// <param name="noiseShape">a &gt; 0, the inverse-gamma shape.</param>
    /// <param name="noiseScale">b &gt; 0, the inverse-gamma scale (the mode of ψ alone is b/(a + 1)).</param>
    /// <param name="loadingsPrecision">λ &gt; 0 for a Normal(0, 1/λ) prior on each loading, or null for none.</param>
    public FactorPrior(double noiseShape, double noiseScale, double? loadingsPrecision = null)
    {
        if (!(noiseShape > 0) || double.IsInfinity(noiseShape))
            throw new ArgumentOutOfRangeException(nameof(noiseShape), noiseShape, "The inverse-gamma shape a must be finite and > 0.");
        if (!(noiseScale > 0) || double.IsInfinity(noiseScale))
            throw new ArgumentOutOfRangeException(nameof(noiseScale), noiseScale, "The inverse-gamma scale b must be finite and > 0.");
        if (loadingsPrecision is { } l && (!(l > 0) || double.IsInfinity(l)))
            throw new ArgumentOutOfRangeException(nameof(loadingsPrecision), l, "The loadings' prior precision λ must be finite and > 0 (or null for no prior on the loadings).");
        NoiseShape = noiseShape;
        NoiseScale = noiseScale;
        LoadingsPrecision = loadingsPrecision;
    }

    /// <summary>a: the inverse-gamma shape of each noise variance.</summary>
    public double NoiseShape { get; }

    /// <summary>b: the inverse-gamma scale of each noise variance.</summary>
    public double NoiseScale { get; }

    /// <summary>λ: the precision of the Normal(0, 1/λ) prior on each loading, or null for none.</summary>
    public double? LoadingsPrecision { get; }

    /// <summary>log IG(ψ | a, b).</summary>
    public double NoiseLogDensity(double variance) =>
        NoiseShape * Math.Log(NoiseScale) - Numerics.SpecialFunctions.LogGamma(NoiseShape) - (NoiseShape + 1) * Math.Log(variance) - NoiseScale / variance;

    /// <summary>log Normal(λ_ij | 0, 1/λ) summed over the given loadings (0 without a loadings prior).</summary>
    public double LoadingsLogDensity(IEnumerable<double> loadings) =>
        LoadingsPrecision is not { } p ? 0 : loadings.Sum(v => 0.5 * Math.Log(p / (2 * Math.PI)) - 0.5 * p * v * v);

    /// <inheritdoc />
    public override string ToString() =>
        FormattableString.Invariant($"InverseGamma({NoiseShape:R}, {NoiseScale:R}) on each noise variance") +
        (LoadingsPrecision is { } l ? FormattableString.Invariant($", Normal(0, 1/{l:R}) on each loading") : "");
}

/// <summary>
/// One factor analyser: x = μ + Λz + ε with z ~ N(0, I_q) and ε ~ N(0, Ψ), Ψ diagonal, so that
/// <code>p(x) = N(x | μ, ΛΛᵀ + Ψ)</code>
/// with loadings Λ (D × q, row d for column d) and noise variances ψ_d = Ψ_dd. The loadings are identified only up
/// to an orthogonal rotation Λ → ΛR (compare <see cref="Covariance"/>, or rotate with <see cref="FactorRotation.Varimax"/>).
/// Given x, the factors are Gaussian: z | x ~ N(M⁻¹ΛᵀΨ⁻¹(x − μ), M⁻¹) with M = I + ΛᵀΨ⁻¹Λ.
/// </summary>
public sealed record FactorParameters
{
    private readonly double[] _mean;
    private readonly double[] _noise;
    private FactorAlgebra? _algebra;

    /// <summary>Creates the parameters; all finite, noise variances &gt; 0, loadings D × q.</summary>
    public FactorParameters(IEnumerable<double> mean, ReadOnlyMatrix loadings, IEnumerable<double> noiseVariances)
    {
        _mean = FamilyChecks.Vector(mean, -1, nameof(mean), double.IsFinite, "finite");
        ArgumentNullException.ThrowIfNull(loadings);
        if (loadings.Rows != _mean.Length)
            throw new ArgumentException($"The loadings have {loadings.Rows} rows; a {_mean.Length}-dimensional mean needs {_mean.Length} (one per column).", nameof(loadings));
        for (int i = 0; i < loadings.Rows; i++)
            for (int j = 0; j < loadings.Columns; j++)
                if (!double.IsFinite(loadings[i, j])) throw new ArgumentException($"Loading ({i}, {j}) is {loadings[i, j]}.", nameof(loadings));
        _noise = FamilyChecks.Vector(noiseVariances, _mean.Length, nameof(noiseVariances), v => v > 0 && double.IsFinite(v), "finite and > 0");
        Loadings = loadings;
    }

    /// <summary>Creates the parameters from a rectangular loadings array (F#: <c>array2D</c>).</summary>
    public FactorParameters(IEnumerable<double> mean, double[,] loadings, IEnumerable<double> noiseVariances)
        : this(mean, new ReadOnlyMatrix(loadings), noiseVariances) { }

    /// <summary>μ (D).</summary>
    public IReadOnlyList<double> Mean => _mean;

    /// <summary>Λ (D × q).</summary>
    public ReadOnlyMatrix Loadings { get; }

    /// <summary>ψ₁ … ψ_D, the diagonal of Ψ.</summary>
    public IReadOnlyList<double> NoiseVariances => _noise;

    /// <summary>D.</summary>
    public int Dimension => _mean.Length;

    /// <summary>q, the number of factors.</summary>
    public int Factors => Loadings.Columns;

    /// <summary>The implied covariance ΛΛᵀ + Ψ (D × D).</summary>
    public ReadOnlyMatrix Covariance => ReadOnlyMatrix.FromRowMajor(Algebra.ImpliedCovariance(), Dimension, Dimension);

    /// <summary>The q × q algebra of these parameters (M's Cholesky factor, Ψ⁻¹Λ, log|C|), built once on first use.</summary>
    internal FactorAlgebra Algebra => _algebra ??= FactorAlgebra.Of(this);

    /// <summary>Per column, the share of its variance the factors explain: (ΛΛᵀ)_dd / (ΛΛᵀ + Ψ)_dd.</summary>
    public IReadOnlyList<double> Communalities
    {
        get
        {
            var c = new double[Dimension];
            for (int d = 0; d < Dimension; d++)
            {
                double common = 0;
                for (int j = 0; j < Factors; j++) common += Loadings[d, j] * Loadings[d, j];
                c[d] = common / (common + _noise[d]);
            }
            return c;
        }
    }

    /// <summary>Cov(z | x) = M⁻¹ (q × q), the same for every x.</summary>
    public ReadOnlyMatrix ScoreCovariance => ReadOnlyMatrix.FromRowMajor(Algebra.PosteriorCovariance(), Factors, Factors);

    /// <summary>E[z | x] = M⁻¹ΛᵀΨ⁻¹(x − μ) for one observation (length D).</summary>
    public double[] Scores(IReadOnlyList<double> x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Count != Dimension) throw new ArgumentException($"{x.Count} values given; the factor model has {Dimension} columns.", nameof(x));
        var scores = new double[Factors];
        Algebra.PosteriorMean(x.ToArray(), scores);
        return scores;
    }

    /// <summary>log N(x | μ, ΛΛᵀ + Ψ) for one observation (length D), through q × q solves only.</summary>
    public double LogDensity(IReadOnlyList<double> x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Count != Dimension) throw new ArgumentException($"{x.Count} values given; the factor model has {Dimension} columns.", nameof(x));
        return Algebra.LogDensity(x.ToArray());
    }

    /// <summary>Value equality over the mean, loadings and noise variances.</summary>
    public bool Equals(FactorParameters? other) =>
        other is not null && _mean.AsSpan().SequenceEqual(other._mean) && Loadings.Equals(other.Loadings) && _noise.AsSpan().SequenceEqual(other._noise);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(FamilyChecks.Hash(_mean), Loadings, FamilyChecks.Hash(_noise));

    /// <inheritdoc />
    public override string ToString() =>
        $"FactorParameters {{ Mean = {FamilyChecks.Format(_mean)}, Loadings = {Loadings}, NoiseVariances = {FamilyChecks.Format(_noise)} }}";
}

/// <summary>Rotations of factor loadings for reporting (the likelihood is invariant under them).</summary>
public static class FactorRotation
{
    /// <summary>
    /// Kaiser's varimax rotation (raw, without row normalisation): the orthogonal R maximising the variance of the
    /// squared loadings of ΛR per factor, found by the classical SVD iteration. Returns ΛR (D × q); ΛRRᵀΛᵀ = ΛΛᵀ.
    /// </summary>
    /// <param name="loadings">Λ (D × q).</param>
    /// <param name="maxIterations">Iteration cap.</param>
    /// <param name="tolerance">Stops when no entry of the rotation moves by more than this in an iteration.</param>
    public static ReadOnlyMatrix Varimax(ReadOnlyMatrix loadings, int maxIterations = 500, double tolerance = 1e-12)
    {
        ArgumentNullException.ThrowIfNull(loadings);
        if (maxIterations < 1) throw new ArgumentOutOfRangeException(nameof(maxIterations), maxIterations, "maxIterations must be ≥ 1.");
        if (!(tolerance >= 0)) throw new ArgumentOutOfRangeException(nameof(tolerance), tolerance, "tolerance must be ≥ 0.");
        var rotated = FactorAlgebra.Varimax(loadings.ToArray(), loadings.Rows, loadings.Columns, maxIterations, tolerance);
        return ReadOnlyMatrix.FromRowMajor(rotated, loadings.Rows, loadings.Columns);
    }
}

public static partial class Blocks
{
    /// <summary>
    /// A factor block: the columns are a Gaussian with a low-rank-plus-noise covariance, p(x | state k) =
    /// N(x | μ_k, Λ_kΛ_kᵀ + Ψ_k), from a continuous latent z ~ N(0, I_q) per observation with x = μ_k + Λ_k z + ε
    /// (see <see cref="FactorParameters"/>). Alone in a one-component mixture it is factor analysis (or probabilistic
    /// PCA with <see cref="NoiseModel.Isotropic"/>); in a K-component mixture, a mixture of factor analysers; in a
    /// hidden Markov model, factor-analysed emissions. It composes with other blocks like any block.
    /// <para>
    /// The factors z are integrated out exactly: the E-step adds log N(x | μ_k, Λ_kΛ_kᵀ + Ψ_k) through q × q solves
    /// (Woodbury and the determinant lemma; never a D × D inverse), and the statistics are the responsibility-weighted
    /// centred moments of x. The M-step takes μ_k as the weighted mean (exact) and improves (Λ_k, Ψ_k) by up to
    /// <paramref name="mStepIterations"/> rounds of an ECME scheme on the weighted covariance S_k: Λ given Ψ at its
    /// exact maximiser (the eigenvectors of Ψ^(−½)S_kΨ^(−½), Jöreskog's profile), then Ψ by the factor-analysis EM
    /// update. Every round raises the objective, so the fit stays monotone while converging far faster than plain
    /// factor-analysis EM. Isotropic noise without a prior is solved in closed form (Tipping &amp; Bishop).
    /// </para>
    /// <para>
    /// Heywood cases (a ψ_d tending to 0) are held at a floor: ψ_d ≥ <paramref name="noiseFloor"/> × the variance of
    /// column d over all rows; a variance reaching the floor is reported once as <see cref="FitEventKind.NoiseFloored"/>.
    /// A constant column, or fewer rows than columns, is an error. <see cref="Inference.FitOptions.CovarianceFloor"/>
    /// does not apply to factor blocks.
    /// </para>
    /// </summary>
    /// <param name="name">Block name, unique in the model.</param>
    /// <param name="columns">Data columns read (D of them).</param>
    /// <param name="factors">q, with 0 ≤ q &lt; D (q = 0 is a diagonal Gaussian).</param>
    /// <param name="noise">Diagonal (factor analysis) or isotropic (probabilistic PCA) noise.</param>
    /// <param name="sharedNoise">One Ψ for every component (Ghahramani &amp; Hinton's mixture of factor analysers) instead of one per component.</param>
    /// <param name="prior">Optional prior (MAP); null is maximum likelihood.</param>
    /// <param name="sharing"><see cref="Sharing.Shared"/> gives every component the same μ, Λ and Ψ.</param>
    /// <param name="noiseFloor">The floor on each noise variance, relative to its column's variance (isotropic: to the average column variance); in (0, 1).</param>
    /// <param name="mStepIterations">ECME rounds per M-step, ≥ 1 (it stops earlier when the noise variances stop moving).</param>
    [OverloadResolutionPriority(1)] // `[]` binds here, not to the overload taking names
    public static Block<FactorParameters> Factor(string name, IEnumerable<int> columns, int factors,
        NoiseModel noise = NoiseModel.Diagonal, bool sharedNoise = false, FactorPrior? prior = null,
        Sharing sharing = Sharing.PerComponent, double noiseFloor = 1e-12, int mStepIterations = 50)
    {
        var cols = Materialise(name, columns);
        ArraySize.Argument(cols.Length, cols.Length, nameof(columns), () => $"Block '{name}' has {cols.Length:N0} columns: its D × D moment statistics");
        if (factors < 0) throw new ArgumentOutOfRangeException(nameof(factors), factors, $"Block '{name}': the number of factors q must be ≥ 0.");
        if (factors >= cols.Length)
            throw new ArgumentOutOfRangeException(nameof(factors), factors,
                $"Block '{name}': {factors} factors for {cols.Length} columns; a factor model needs q < D (q = D − 1 at most; use a full-covariance Gaussian block for an unrestricted covariance).");
        if (!(noiseFloor > 0 && noiseFloor < 1))
            throw new ArgumentOutOfRangeException(nameof(noiseFloor), noiseFloor, $"Block '{name}': the relative noise floor must be in (0, 1): a noise variance of 0 makes the density degenerate.");
        if (mStepIterations < 1)
            throw new ArgumentOutOfRangeException(nameof(mStepIterations), mStepIterations, $"Block '{name}': mStepIterations must be ≥ 1.");
        if (sharedNoise && sharing == Sharing.Shared)
            throw new ArgumentException($"Block '{name}': a Shared block already shares its noise; sharedNoise is for per-component loadings with one Ψ.", nameof(sharedNoise));
        return new FactorBlock(name, cols, factors, noise, sharedNoise, prior, sharing, noiseFloor, mStepIterations);
    }
}

/// <summary>The factor block's declaration (see <see cref="Blocks.Factor(string, IEnumerable{int}, int, NoiseModel, bool, FactorPrior, Sharing, double, int)"/>).</summary>
internal sealed class FactorBlock : Block<FactorParameters>
{
    public FactorBlock(string name, int[] columns, int factors, NoiseModel noise, bool sharedNoise, FactorPrior? prior, Sharing sharing,
        double noiseFloor, int mStepIterations)
        : base(name, columns, new GaussianFamily(columns.Length, CovarianceStructure.Full), sharing)
    {
        Factors = factors;
        Noise = noise;
        SharedNoise = sharedNoise;
        Prior = prior;
        NoiseFloor = noiseFloor;
        MStepIterations = mStepIterations;
    }

    public int Factors { get; }

    public NoiseModel Noise { get; }

    public bool SharedNoise { get; }

    public FactorPrior? Prior { get; }

    public double NoiseFloor { get; }

    public int MStepIterations { get; }

    public override string PriorDescription => Prior?.ToString() ?? "none";

    /// <summary>
    /// Per group of components with its own parameters: D means and Dq − q(q − 1)/2 loadings (the rotation freedom
    /// subtracted); noise: D (diagonal) or 1 (isotropic) per group, or once when shared.
    /// </summary>
    public override int FreeParameterCount(int components)
    {
        int d = ColumnCount, q = Factors;
        int groups = Sharing == Sharing.Shared ? 1 : components;
        int noise = Noise == NoiseModel.Diagonal ? d : 1;
        return groups * (d + d * q - q * (q - 1) / 2) + (SharedNoise ? 1 : groups) * noise;
    }

    internal override BlockRuntime CreateRuntime(DataMatrix data, ReadOnlySpan<double> sampleWeights, int components) =>
        new FactorRuntime(this, components, data, sampleWeights);

    public override string ToString() =>
        base.ToString() + $", {Factors} factor{(Factors == 1 ? "" : "s")}, {(Noise == NoiseModel.Diagonal ? "diagonal" : "isotropic")} noise" +
        (SharedNoise ? " shared by every component" : "");
}
