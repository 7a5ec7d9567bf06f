using EmDsl.Numerics;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Inference;

namespace EmDsl.Building;

/// <summary>
/// A Normal(0, 1/λ) prior on every slope of a regression or gating network (not on intercepts): ridge
/// regularisation with precision λ &gt; 0. Its normalised log density enters the objective, so a MAP fit still
/// never lowers what it reports.
/// </summary>
public sealed record CoefficientPrior
{
    /// <summary>Creates the prior with precision λ (the ridge penalty is λ/2 · Σ β_j²).</summary>
    public CoefficientPrior(double precision)
    {
        if (!(precision > 0) || double.IsInfinity(precision))
            throw new ArgumentOutOfRangeException(nameof(precision), precision, "The coefficient prior's precision λ must be finite and > 0.");
        Precision = precision;
    }

    /// <summary>λ: the inverse variance of each slope.</summary>
    public double Precision { get; }

    /// <summary>Σ_j log Normal(β_j | 0, 1/λ).</summary>
    public double LogDensity(IEnumerable<double> slopes) =>
        slopes.Sum(b => 0.5 * Math.Log(Precision / (2 * Math.PI)) - 0.5 * Precision * b * b);

    /// <inheritdoc />
    public override string ToString() => FormattableString.Invariant($"Normal(0, 1/{Precision:R}) on each slope");
}

/// <summary>
/// The coefficients of one linear predictor η = β₀ + Σ_j β_j x_j: an intercept (0 for a block declared
/// without one) and one slope per covariate column, in the block's covariate order.
/// </summary>
public sealed record RegressionParameters
{
    private readonly double[] _slopes;

    /// <summary>Creates the coefficients; all must be finite.</summary>
    public RegressionParameters(double intercept, IEnumerable<double> slopes)
    {
        if (!double.IsFinite(intercept)) throw new ArgumentOutOfRangeException(nameof(intercept), intercept, "The intercept must be finite.");
        _slopes = FamilyChecks.Vector(slopes, -1, nameof(slopes), double.IsFinite, "finite");
        Intercept = intercept;
    }

    /// <summary>β₀.</summary>
    public double Intercept { get; }

    /// <summary>β₁ … β_P, one per covariate column.</summary>
    public IReadOnlyList<double> Slopes => _slopes;

    /// <summary>The linear predictor β₀ + Σ_j β_j x_j for covariate values <paramref name="covariates"/>.</summary>
    public double LinearPredictor(IReadOnlyList<double> covariates)
    {
        ArgumentNullException.ThrowIfNull(covariates);
        if (covariates.Count != _slopes.Length)
            throw new ArgumentException($"{covariates.Count} covariate values given; the predictor has {_slopes.Length} slopes.", nameof(covariates));
        double eta = Intercept;
        for (int j = 0; j < _slopes.Length; j++) eta += _slopes[j] * covariates[j];
        return eta;
    }

    /// <summary>Value equality over the intercept and slopes.</summary>
    public bool Equals(RegressionParameters? other) =>
        other is not null && Intercept.Equals(other.Intercept) && _slopes.AsSpan().SequenceEqual(other._slopes);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Intercept, FamilyChecks.Hash(_slopes));

    /// <inheritdoc />
    public override string ToString() =>
        $"RegressionParameters {{ Intercept = {Intercept.ToString("G6", System.Globalization.CultureInfo.InvariantCulture)}, Slopes = {FamilyChecks.Format(_slopes)} }}";
}

/// <summary>
/// One component of a mixture of linear regressions: y | x ~ Normal(β₀ + Σ_j β_j x_j, σ²).
/// </summary>
public sealed record LinearRegressionParameters
{
    /// <summary>Creates the parameters; the variance must be finite and &gt; 0.</summary>
    public LinearRegressionParameters(RegressionParameters coefficients, double variance)
    {
        ArgumentNullException.ThrowIfNull(coefficients);
        if (!(variance > 0) || double.IsInfinity(variance))
            throw new ArgumentOutOfRangeException(nameof(variance), variance, "The residual variance σ² must be finite and > 0.");
        Coefficients = coefficients;
        Variance = variance;
    }

    /// <summary>Creates the parameters from an intercept, slopes and the residual variance.</summary>
    public LinearRegressionParameters(double intercept, IEnumerable<double> slopes, double variance)
        : this(new RegressionParameters(intercept, slopes), variance) { }

    /// <summary>The mean's coefficients.</summary>
    public RegressionParameters Coefficients { get; }

    /// <summary>σ²: the residual variance.</summary>
    public double Variance { get; }

    /// <inheritdoc />
    public override string ToString() =>
        $"LinearRegressionParameters {{ Intercept = {Coefficients.Intercept:G6}, Slopes = {FamilyChecks.Format(Coefficients.Slopes)}, Variance = {Variance:G6} }}";
}

/// <summary>The response distribution of a regression block (a generalised linear model with its canonical link).</summary>
internal enum RegressionKind
{
    /// <summary>Gaussian response, identity link, per-component variance.</summary>
    Linear,
    /// <summary>Binary response, logit link.</summary>
    Logistic,
    /// <summary>Count response, log link.</summary>
    Poisson,
}

/// <summary>A regression block: a response column modelled given covariate columns.</summary>
internal sealed class RegressionBlock<TParameters> : Block<TParameters>
{
    public RegressionBlock(string name, int response, int[] covariates, RegressionKind kind, bool intercept, CoefficientPrior? prior, Sharing sharing)
        : base(name, [response], FamilyOf(kind), sharing, covariates)
    {
        long p = covariates.Length + (intercept ? 1L : 0);
        ArraySize.Argument(p, p, nameof(covariates), () => $"Block '{name}' has {p:N0} coefficients: its P × P Gram matrix");
        if (covariates.Length == 0 && !intercept)
            throw new ArgumentException($"Block '{name}' has neither covariates nor an intercept: its linear predictor would be 0.", nameof(covariates));
        Kind = kind;
        Intercept = intercept;
        Prior = prior;
    }

    public RegressionKind Kind { get; }

    public bool Intercept { get; }

    public CoefficientPrior? Prior { get; }

    public override string PriorDescription => Prior?.ToString() ?? "none";

    public override int FreeParameterCount(int components) =>
        (Sharing == Sharing.Shared ? 1 : components) * (CovariateCount + (Intercept ? 1 : 0) + (Kind == RegressionKind.Linear ? 1 : 0));

    internal override BlockRuntime CreateRuntime(DataMatrix data, ReadOnlySpan<double> sampleWeights, int components) =>
        new RegressionRuntime<TParameters>(this, components, data, sampleWeights);

    private static ExponentialFamily FamilyOf(RegressionKind kind) => kind switch
    {
        RegressionKind.Linear => new GaussianFamily(1, CovarianceStructure.Full),
        RegressionKind.Logistic => new BernoulliFamily(1),
        _ => new PoissonFamily(1),
    };
}

public static partial class Blocks
{
    /// <summary>
    /// A mixture of linear regressions: in component k, y | x ~ Normal(β_k0 + Σ_j β_kj x_j, σ_k²). The M-step
    /// is weighted least squares in closed form (a Cholesky solve on centred, scaled covariates), then the
    /// weighted residual variance, kept ≥ <see cref="FitOptions.CovarianceFloor"/>.
    /// </summary>
    /// <param name="name">Block name, unique in the model.</param>
    /// <param name="response">The response column y.</param>
    /// <param name="covariates">Covariate columns x (conditioned on, not modelled).</param>
    /// <param name="intercept">Whether the predictor has an intercept β₀.</param>
    /// <param name="prior">Optional ridge prior on the slopes (MAP by conditional maximisation).</param>
    /// <param name="sharing"><see cref="Sharing.Shared"/> gives every component the same regression.</param>
    public static Block<LinearRegressionParameters> LinearRegression(string name, int response, IEnumerable<int> covariates,
        bool intercept = true, CoefficientPrior? prior = null, Sharing sharing = Sharing.PerComponent) =>
        new RegressionBlock<LinearRegressionParameters>(name, response, MaterialiseCovariates(covariates), RegressionKind.Linear, intercept, prior, sharing);

    /// <summary>
    /// A mixture of logistic regressions: in component k, y ∈ {0, 1} with P(y = 1 | x) = σ(β_k0 + Σ_j β_kj x_j).
    /// The M-step has no closed form: generalized-EM steps (<see cref="FitOptions.MStepOptimizer"/>) on the
    /// expected complete-data log-likelihood, differentiated by EmDsl's autodiff, accepted only when it rises.
    /// </summary>
    /// <inheritdoc cref="LinearRegression(string, int, IEnumerable{int}, bool, CoefficientPrior, Sharing)" path="/param"/>
    public static Block<RegressionParameters> LogisticRegression(string name, int response, IEnumerable<int> covariates,
        bool intercept = true, CoefficientPrior? prior = null, Sharing sharing = Sharing.PerComponent) =>
        new RegressionBlock<RegressionParameters>(name, response, MaterialiseCovariates(covariates), RegressionKind.Logistic, intercept, prior, sharing);

    /// <summary>
    /// A mixture of Poisson regressions: in component k, the count y ~ Poisson(exp(β_k0 + Σ_j β_kj x_j)). The
    /// M-step takes generalized-EM steps like <see cref="LogisticRegression(string, int, IEnumerable{int}, bool, CoefficientPrior, Sharing)"/>.
    /// </summary>
    /// <inheritdoc cref="LinearRegression(string, int, IEnumerable{int}, bool, CoefficientPrior, Sharing)" path="/param"/>
    public static Block<RegressionParameters> PoissonRegression(string name, int response, IEnumerable<int> covariates,
        bool intercept = true, CoefficientPrior? prior = null, Sharing sharing = Sharing.PerComponent) =>
        new RegressionBlock<RegressionParameters>(name, response, MaterialiseCovariates(covariates), RegressionKind.Poisson, intercept, prior, sharing);

    private static int[] MaterialiseCovariates(IEnumerable<int> covariates)
    {
        ArgumentNullException.ThrowIfNull(covariates);
        return covariates.ToArray();
    }
}
