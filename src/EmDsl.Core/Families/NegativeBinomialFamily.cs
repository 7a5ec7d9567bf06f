using EmDsl.Families.Priors;
using EmDsl.Numerics;

namespace EmDsl.Families;

/// <summary>
/// Means m_d &gt; 0 of D independent negative binomial count columns. The dispersion r is a property of the
/// family (<see cref="NegativeBinomialFamily.Dispersion"/>), not of these parameters.
/// </summary>
public sealed record NegativeBinomialParameters
{
    private readonly double[] _means;

    /// <summary>Creates the parameters; each mean must be finite and positive.</summary>
    public NegativeBinomialParameters(IEnumerable<double> means) =>
        _means = FamilyChecks.Vector(means, -1, nameof(means), v => v > 0 && double.IsFinite(v), "finite and > 0");

    /// <summary>m_d = E[x_d] = r p_d/(1 − p_d).</summary>
    public IReadOnlyList<double> Means => _means;

    /// <summary>The success probabilities p_d = m_d/(m_d + r) for a given dispersion r (the base of pˣ in the mass function).</summary>
    public IReadOnlyList<double> Probabilities(double dispersion)
    {
        NegativeBinomialFamily.CheckDispersion(dispersion);
        return _means.Select(m => m / (m + dispersion)).ToArray();
    }

    /// <summary>Value equality over the means.</summary>
    public bool Equals(NegativeBinomialParameters? other) => other is not null && _means.AsSpan().SequenceEqual(other._means);

    /// <inheritdoc />
    public override int GetHashCode() => FamilyChecks.Hash(_means);

    /// <inheritdoc />
    public override string ToString() => $"NegativeBinomialParameters {{ Means = {FamilyChecks.Format(_means)} }}";
}

/// <summary>
/// D independent negative binomial count columns, x_d ∈ {0, 1, 2, …}, with a given dispersion r &gt; 0 shared by
/// the columns (r is fixed, not estimated; as r → ∞ the family tends to the Poisson):
/// <code>p(x | p) = Π_d Γ(x_d + r) / (Γ(r) x_d!) · p_d^{x_d} (1 − p_d)^r,   E[x_d] = m_d = r p_d/(1 − p_d)</code>
/// T(x) = x, log h(x) = Σ_d log Γ(x_d + r) − log Γ(r) − log x_d!, η_d = log p_d &lt; 0,
/// A(η) = −r Σ_d log(1 − e^{η_d}) (as −r log(−expm1 η)), ∇A(η) = r/expm1(−η) = m,
/// (∇A)⁻¹(m) = log(m/(m + r)) = −log1p(r/m), closed form. Conjugate prior: <see cref="BetaPrior"/> on each p_d.
/// </summary>
public sealed class NegativeBinomialFamily : ExponentialFamily<NegativeBinomialParameters>
{
    private readonly double _logGammaR;

    /// <summary>A family over <paramref name="dimension"/> count columns with dispersion <paramref name="dispersion"/> (r &gt; 0, finite).</summary>
    public NegativeBinomialFamily(int dimension, double dispersion)
    {
        FamilyChecks.Positive(dimension, nameof(dimension));
        CheckDispersion(dispersion);
        Dimension = dimension;
        Dispersion = dispersion;
        _logGammaR = SpecialFunctions.LogGamma(dispersion);
    }

    internal static void CheckDispersion(double dispersion)
    {
        if (!(dispersion > 0) || !double.IsFinite(dispersion))
            throw new ArgumentOutOfRangeException(nameof(dispersion), dispersion, "The negative binomial dispersion r must be finite and > 0.");
    }

    /// <summary>r, the dispersion (the "number of failures"; Var x = m + m²/r).</summary>
    public double Dispersion { get; }

    /// <inheritdoc />
    public override string Name => "negative binomial";

    /// <inheritdoc />
    public override int Dimension { get; }

    /// <inheritdoc />
    public override int StatisticCount => Dimension;

    // ---- T(x), log h(x), support ----

    /// <inheritdoc />
    public override void SufficientStatistics(ReadOnlySpan<double> x, Span<double> statistics) => x.Slice(0, Dimension).CopyTo(statistics);

    /// <inheritdoc />
    public override double LogBaseMeasure(ReadOnlySpan<double> x)
    {
        double s = 0;
        for (int d = 0; d < Dimension; d++)
            s += SpecialFunctions.LogGamma(x[d] + Dispersion) - _logGammaR - SpecialFunctions.LogGamma(x[d] + 1);
        return s;
    }

    internal override bool? AllValuesInSupport(ReadOnlySpan<double> values) => SupportScan.All<SupportScan.Count>(values);

    /// <inheritdoc />
    public override SupportViolation? CheckSupport(ReadOnlySpan<double> x)
    {
        for (int d = 0; d < Dimension; d++)
            if (FamilyChecks.CountViolation(x[d]) is { } reason) return new SupportViolation(d, reason);
        return null;
    }

    // ---- A(η), ∇A, (∇A)⁻¹ ----

    /// <inheritdoc />
    public override double LogNormalizer(ReadOnlySpan<double> eta)
    {
        double a = 0;
        for (int d = 0; d < Dimension; d++) a -= Dispersion * Math.Log(-SpecialFunctions.ExpM1(eta[d]));
        return a;
    }

    /// <inheritdoc />
    public override void MeanMap(ReadOnlySpan<double> eta, Span<double> mean)
    {
        for (int d = 0; d < Dimension; d++) mean[d] = Dispersion / SpecialFunctions.ExpM1(-eta[d]);
    }

    internal override bool HasClosedFormInverse => true;

    /// <inheritdoc />
    public override void InverseMeanMap(ReadOnlySpan<double> mean, Span<double> eta)
    {
        if (!IsMeanParameter(mean)) throw new ArgumentException("Negative binomial mean parameters (means) must be finite and > 0.", nameof(mean));
        for (int d = 0; d < Dimension; d++) eta[d] = -SpecialFunctions.Log1p(Dispersion / mean[d]);
    }

    /// <summary>η_d &lt; 0 and finite, with a finite mean r/expm1(−η_d) (η_d not within ~r·1e-308 of 0).</summary>
    public override bool IsNaturalParameter(ReadOnlySpan<double> eta)
    {
        for (int d = 0; d < Dimension; d++)
            if (!(eta[d] < 0) || !double.IsFinite(eta[d]) || !double.IsFinite(Dispersion / SpecialFunctions.ExpM1(-eta[d]))) return false;
        return true;
    }

    /// <inheritdoc />
    public override bool IsMeanParameter(ReadOnlySpan<double> mean) => FamilyChecks.AllPositiveFinite(mean, Dimension);

    /// <summary>Raises means below <paramref name="floor"/> to it (leaving others unchanged), as the Poisson family does.</summary>
    public override void ProjectMeanIntoDomain(Span<double> mean, double floor) => FamilyChecks.RaiseToFloor(mean, Dimension, floor);

    // ---- usual parameters ----

    /// <inheritdoc />
    public override double[] ToNatural(NegativeBinomialParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (parameters.Means.Count != Dimension)
            throw new ArgumentException($"Expected {Dimension} negative binomial means, got {parameters.Means.Count}.", nameof(parameters));
        return parameters.Means.Select(m => -SpecialFunctions.Log1p(Dispersion / m)).ToArray();
    }

    /// <inheritdoc />
    public override NegativeBinomialParameters FromNatural(ReadOnlySpan<double> eta)
    {
        var means = new double[Dimension];
        MeanMap(eta, means);
        return new NegativeBinomialParameters(means);
    }

    // ---- conjugate prior ----

    /// <summary>
    /// Beta(a, b) on every p_d in pseudo-observation form. Its log density, (a − 1) log p + (b − 1) log(1 − p) − log B(a, b),
    /// is (a − 1) η − ((b − 1)/r) A(η) − log B(a, b) in η = log p (since log(1 − p) = −A/r), so φ_d = a − 1 and
    /// ν = (b − 1)/r. MAP: m_d = (a − 1 + Σx_d)/((b − 1)/r + n), i.e. p_d = (a − 1 + Σx_d)/(a − 1 + Σx_d + b − 1 + n r),
    /// the mode of the Beta(a + Σx_d, b + n r) posterior.
    /// </summary>
    public ConjugatePrior Conjugate(BetaPrior prior)
    {
        ArgumentNullException.ThrowIfNull(prior);
        return new ConjugatePrior(Enumerable.Repeat(prior.Alpha - 1, Dimension).ToArray(), (prior.Beta - 1) / Dispersion,
            eta =>
            {
                double s = 0;
                for (int d = 0; d < Dimension; d++) s += prior.LogDensity(Math.Exp(eta[d]));
                return s;
            }, prior.ToString()) { Source = prior };
    }

    // ---- sampling ----

    /// <summary>
    /// The Gamma–Poisson mixture: λ ~ Gamma(r, rate (1 − p)/p = expm1(−η)), x ~ Poisson(λ), with MathNet's Gamma and
    /// Poisson samplers. (MathNet 5.0's NegativeBinomial.Sample(r, q) is not used: its draws have mean r/q, not r(1 − q)/q.)
    /// </summary>
    public override void Sample(ReadOnlySpan<double> eta, Random random, Span<double> x)
    {
        for (int d = 0; d < Dimension; d++)
        {
            double lambda = MathNet.Numerics.Distributions.Gamma.Sample(random, Dispersion, SpecialFunctions.ExpM1(-eta[d]));
            x[d] = MathNet.Numerics.Distributions.Poisson.Sample(random, lambda);
        }
    }
}
