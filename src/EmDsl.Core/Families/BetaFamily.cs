using EmDsl.Families.Priors;
using EmDsl.Numerics;

namespace EmDsl.Families;

/// <summary>Shape parameters α_d &gt; 0 and β_d &gt; 0 of D independent Beta columns (mean α_d/(α_d + β_d)).</summary>
public sealed record BetaParameters
{
    private readonly double[] _alphas;
    private readonly double[] _betas;

    /// <summary>Creates the parameters; α and β must be finite and positive, one of each per column.</summary>
    public BetaParameters(IEnumerable<double> alphas, IEnumerable<double> betas)
    {
        _alphas = FamilyChecks.Vector(alphas, -1, nameof(alphas), v => v > 0 && double.IsFinite(v), "finite and > 0");
        _betas = FamilyChecks.Vector(betas, _alphas.Length, nameof(betas), v => v > 0 && double.IsFinite(v), "finite and > 0");
    }

    /// <summary>α_d, the exponents of x (one plus the "successes").</summary>
    public IReadOnlyList<double> Alphas => _alphas;

    /// <summary>β_d, the exponents of 1 − x.</summary>
    public IReadOnlyList<double> Betas => _betas;

    /// <summary>E[x_d] = α_d/(α_d + β_d).</summary>
    public IReadOnlyList<double> Means => _alphas.Zip(_betas, (a, b) => a / (a + b)).ToArray();

    /// <summary>Value equality over α and β.</summary>
    public bool Equals(BetaParameters? other) =>
        other is not null && _alphas.AsSpan().SequenceEqual(other._alphas) && _betas.AsSpan().SequenceEqual(other._betas);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(FamilyChecks.Hash(_alphas), FamilyChecks.Hash(_betas));

    /// <inheritdoc />
    public override string ToString() => $"BetaParameters {{ Alphas = {FamilyChecks.Format(_alphas)}, Betas = {FamilyChecks.Format(_betas)} }}";
}

/// <summary>
/// D independent Beta columns, 0 &lt; x_d &lt; 1:
/// <code>p(x | α, β) = Π_d x_d^{α_d − 1} (1 − x_d)^{β_d − 1} / B(α_d, β_d)</code>
/// T(x) = (log x_0, log(1 − x_0), log x_1, log(1 − x_1), …) — two statistics per column, interleaved — h(x) = 1,
/// η = (α_0 − 1, β_0 − 1, …), A(η) = Σ_d log B(α_d, β_d),
/// ∇A(η) = (ψ(α_d) − ψ(α_d + β_d), ψ(β_d) − ψ(α_d + β_d)) per column.
/// <para>
/// (∇A)⁻¹ has no closed form: it is the two-proportion case of the Dirichlet's (mean domain, per column:
/// e^a + e^b &lt; 1 for mean log a and mean log-complement b), solved by <see cref="FromMeanLogs"/>.
/// </para>
/// <para>
/// Prior: the natural conjugate kernel (<see cref="ConjugatePrior.NaturalKernel"/>), built from ν pseudo-observations
/// like a reference Beta (<see cref="Conjugate"/>); <see cref="WeakPrior"/> is 0.01 of an observation like the
/// uniform Beta(1, 1) per column.
/// </para>
/// </summary>
public sealed class BetaFamily : ExponentialFamily<BetaParameters>
{
    /// <summary>A family over <paramref name="dimension"/> columns of values in (0, 1).</summary>
    public BetaFamily(int dimension)
    {
        FamilyChecks.Positive(dimension, nameof(dimension));
        Dimension = dimension;
    }

    /// <inheritdoc />
    public override string Name => "Beta";

    /// <inheritdoc />
    public override int Dimension { get; }

    /// <inheritdoc />
    public override int StatisticCount => 2 * Dimension;

    // ---- T(x), log h(x), support ----

    /// <inheritdoc />
    public override void SufficientStatistics(ReadOnlySpan<double> x, Span<double> statistics)
    {
        for (int d = 0; d < Dimension; d++)
        {
            statistics[2 * d] = Math.Log(x[d]);
            statistics[2 * d + 1] = Math.Log(1 - x[d]);
        }
    }

    /// <inheritdoc />
    public override double LogBaseMeasure(ReadOnlySpan<double> x) => 0;

    /// <inheritdoc />
    public override SupportViolation? CheckSupport(ReadOnlySpan<double> x)
    {
        for (int d = 0; d < Dimension; d++)
            if (!(x[d] > 0 && x[d] < 1))
                return new SupportViolation(d, $"{FamilyChecks.Show(x[d])} is not in (0, 1); Beta values must be strictly between 0 and 1");
        return null;
    }

    // ---- A(η), ∇A ----

    /// <inheritdoc />
    public override double LogNormalizer(ReadOnlySpan<double> eta)
    {
        double s = 0;
        for (int d = 0; d < Dimension; d++)
        {
            double a = eta[2 * d] + 1, b = eta[2 * d + 1] + 1;
            s += SpecialFunctions.LogGamma(a) + SpecialFunctions.LogGamma(b) - SpecialFunctions.LogGamma(a + b);
        }
        return s;
    }

    /// <inheritdoc />
    public override void MeanMap(ReadOnlySpan<double> eta, Span<double> mean)
    {
        for (int d = 0; d < Dimension; d++)
        {
            double a = eta[2 * d] + 1, b = eta[2 * d + 1] + 1, psiTotal = SpecialFunctions.Digamma(a + b);
            mean[2 * d] = SpecialFunctions.Digamma(a) - psiTotal;
            mean[2 * d + 1] = SpecialFunctions.Digamma(b) - psiTotal;
        }
    }

    // ---- (∇A)⁻¹ ----

    /// <summary>For each column, (α, β) = <see cref="FromMeanLogs"/>(μ_2d, μ_2d+1) and η = (α − 1, β − 1).</summary>
    /// <exception cref="ArgumentException">μ is outside the mean domain, or the iteration did not converge.</exception>
    public override void InverseMeanMap(ReadOnlySpan<double> mean, Span<double> eta)
    {
        if (!IsMeanParameter(mean))
            throw new ArgumentException("Beta mean parameters need, per column, finite mean logs a and b with e^a + e^b < 1.", nameof(mean));
        Span<double> alpha = stackalloc double[2];
        for (int d = 0; d < Dimension; d++)
        {
            DirichletFamily.SolveConcentrations(mean.Slice(2 * d, 2), alpha);
            eta[2 * d] = alpha[0] - 1;
            eta[2 * d + 1] = alpha[1] - 1;
        }
    }

    /// <summary>
    /// The maximum-likelihood Beta for data with mean log <paramref name="meanLog"/> = E[log x] and mean log-complement
    /// <paramref name="meanLog1m"/> = E[log(1 − x)]: the (α, β) with ψ(α) − ψ(α + β) = a and ψ(β) − ψ(α + β) = b.
    /// These are the two-dimensional Dirichlet maximum-likelihood equations; they are solved as
    /// <see cref="DirichletFamily.FromMeanLog"/> describes (Minka's fixed point α = ψ⁻¹(ψ(α + β) + a),
    /// β = ψ⁻¹(ψ(α + β) + b) solved exactly for a given total, and Newton with the trigamma Hessian on the log of
    /// the total), to a residual of <see cref="DirichletFamily.InverseTolerance"/> relative.
    /// </summary>
    /// <returns>α and β.</returns>
    /// <exception cref="ArgumentException">a or b is not finite, e^a + e^b ≥ 1, or the iteration did not converge.</exception>
    public static (double Alpha, double Beta) FromMeanLogs(double meanLog, double meanLog1m)
    {
        if (!double.IsFinite(meanLog) || !double.IsFinite(meanLog1m))
            throw new ArgumentException($"Beta mean logs must be finite; got mean log {meanLog}, mean log(1 − x) {meanLog1m}.");
        double e = Math.Exp(meanLog) + Math.Exp(meanLog1m);
        if (!(e < 1))
            throw new ArgumentException($"exp(mean log x) + exp(mean log(1 − x)) = {e} must be < 1 (data that are all equal have no maximum-likelihood Beta).");
        Span<double> alpha = stackalloc double[2];
        DirichletFamily.SolveConcentrations([meanLog, meanLog1m], alpha);
        return (alpha[0], alpha[1]);
    }

    /// <inheritdoc />
    public override bool IsNaturalParameter(ReadOnlySpan<double> eta)
    {
        for (int i = 0; i < StatisticCount; i++) if (!(eta[i] > -1) || !double.IsFinite(eta[i])) return false;
        return true;
    }

    /// <inheritdoc />
    public override bool IsMeanParameter(ReadOnlySpan<double> mean)
    {
        for (int d = 0; d < Dimension; d++)
        {
            double a = mean[2 * d], b = mean[2 * d + 1];
            if (!double.IsFinite(a) || !double.IsFinite(b) || !(Math.Exp(a) + Math.Exp(b) < 1)) return false;
        }
        return true;
    }

    /// <summary>
    /// Per column, keeps e^a + e^b ≤ 1 − √<paramref name="floor"/>: if it is larger, a and b are lowered by the same
    /// amount (as <see cref="DirichletFamily.ProjectMeanIntoDomain"/> does, and for the same reason), which bounds
    /// α + β by about 1/√floor (10⁵ at the default floor 1e-10); interior means are unchanged.
    /// </summary>
    public override void ProjectMeanIntoDomain(Span<double> mean, double floor)
    {
        double margin = Math.Sqrt(floor);
        for (int d = 0; d < Dimension; d++) DirichletFamily.ShrinkMeanLogs(mean.Slice(2 * d, 2), margin);
    }

    // ---- usual parameters ----

    /// <inheritdoc />
    public override double[] ToNatural(BetaParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (parameters.Alphas.Count != Dimension)
            throw new ArgumentException($"Expected {Dimension} Beta (α, β) pairs, got {parameters.Alphas.Count}.", nameof(parameters));
        var eta = new double[StatisticCount];
        for (int d = 0; d < Dimension; d++)
        {
            eta[2 * d] = parameters.Alphas[d] - 1;
            eta[2 * d + 1] = parameters.Betas[d] - 1;
        }
        return eta;
    }

    /// <inheritdoc />
    public override BetaParameters FromNatural(ReadOnlySpan<double> eta)
    {
        var alphas = new double[Dimension];
        var betas = new double[Dimension];
        for (int d = 0; d < Dimension; d++)
        {
            alphas[d] = eta[2 * d] + 1;
            betas[d] = eta[2 * d + 1] + 1;
        }
        return new BetaParameters(alphas, betas);
    }

    // ---- conjugate prior ----

    /// <summary>
    /// The natural conjugate prior worth <paramref name="pseudoCount"/> observations that look, on average, like
    /// draws from <paramref name="reference"/>: φ = ν·(ψ(α₀) − ψ(α₀ + β₀), ψ(β₀) − ψ(α₀ + β₀)) per column and
    /// log p(η) = η·φ − ν A(η); in the usual parameters Π_d e^{(α_d − 1)φ_{2d} + (β_d − 1)φ_{2d+1}} / B(α_d, β_d)^ν.
    /// With no data its MAP estimate is the reference.
    /// </summary>
    /// <exception cref="ArgumentException">The reference has the wrong number of columns, or ν is not finite and positive.</exception>
    public ConjugatePrior Conjugate(BetaParameters reference, double pseudoCount)
    {
        ArgumentNullException.ThrowIfNull(reference);
        if (reference.Alphas.Count != Dimension)
            throw new ArgumentException($"The reference Beta has {reference.Alphas.Count} columns; the family has {Dimension}.", nameof(reference));
        var phi = new double[StatisticCount];
        for (int d = 0; d < Dimension; d++)
        {
            double a = reference.Alphas[d], b = reference.Betas[d], psiTotal = SpecialFunctions.Digamma(a + b);
            phi[2 * d] = pseudoCount * (SpecialFunctions.Digamma(a) - psiTotal);
            phi[2 * d + 1] = pseudoCount * (SpecialFunctions.Digamma(b) - psiTotal);
        }
        return ConjugatePrior.NaturalKernel(this, phi, pseudoCount, FormattableString.Invariant($"natural conjugate: {pseudoCount:R} pseudo-observations like {reference}"));
    }

    /// <summary>
    /// A weak default prior: <paramref name="pseudoCount"/> (default 0.01) pseudo-observations per column like the
    /// uniform Beta(1, 1) (mean logs −1, −1). It keeps α and β finite when a component holds one distinct value.
    /// </summary>
    public ConjugatePrior WeakPrior(double pseudoCount = 0.01) =>
        Conjugate(new BetaParameters(Enumerable.Repeat(1.0, Dimension), Enumerable.Repeat(1.0, Dimension)), pseudoCount);

    // ---- sampling ----

    /// <summary>
    /// x = G_α/(G_α + G_β) from two Gamma draws, in log space; kept inside the representable interior of (0, 1).
    /// </summary>
    public override void Sample(ReadOnlySpan<double> eta, Random random, Span<double> x)
    {
        for (int d = 0; d < Dimension; d++)
        {
            double la = GammaFamily.LogStandardGamma(random, eta[2 * d] + 1);
            double lb = GammaFamily.LogStandardGamma(random, eta[2 * d + 1] + 1);
            // x = 1/(1 + e^{lb − la}), without overflow.
            x[d] = Math.Clamp(SpecialFunctions.Logistic(la - lb), double.Epsilon, Math.BitDecrement(1.0));
        }
    }
}
