using EmDsl.Families.Priors;
using EmDsl.Numerics;

namespace EmDsl.Families;

/// <summary>Rates λ_d &gt; 0 of D independent Exponential columns (mean 1/λ_d).</summary>
public sealed record ExponentialParameters
{
    private readonly double[] _rates;

    /// <summary>Creates the parameters; each rate must be finite and positive.</summary>
    public ExponentialParameters(IEnumerable<double> rates) =>
        _rates = FamilyChecks.Vector(rates, -1, nameof(rates), v => v > 0 && double.IsFinite(v), "finite and > 0");

    /// <summary>λ_d = 1 / E[x_d].</summary>
    public IReadOnlyList<double> Rates => _rates;

    /// <summary>Value equality over the rates.</summary>
    public bool Equals(ExponentialParameters? other) => other is not null && _rates.AsSpan().SequenceEqual(other._rates);

    /// <inheritdoc />
    public override int GetHashCode() => FamilyChecks.Hash(_rates);

    /// <inheritdoc />
    public override string ToString() => $"ExponentialParameters {{ Rates = {FamilyChecks.Format(_rates)} }}";
}

/// <summary>
/// D independent Exponential columns, x_d ≥ 0:
/// <code>p(x | λ) = Π_d λ_d e^{−λ_d x_d}</code>
/// T(x) = x, h(x) = 1, η_d = −λ_d (&lt; 0), A(η) = −Σ_d log(−η_d), ∇A(η) = −1/η = 1/λ,
/// (∇A)⁻¹(μ) = −1/μ. Conjugate prior: <see cref="GammaPrior"/> on each λ_d.
/// </summary>
public sealed class ExponentialDistributionFamily : ExponentialFamily<ExponentialParameters>
{
    /// <summary>A family over <paramref name="dimension"/> non-negative columns.</summary>
    public ExponentialDistributionFamily(int dimension = 1)
    {
        FamilyChecks.Positive(dimension, nameof(dimension));
        Dimension = dimension;
    }

    /// <inheritdoc />
    public override string Name => "Exponential";

    /// <inheritdoc />
    public override int Dimension { get; }

    /// <inheritdoc />
    public override int StatisticCount => Dimension;

    // ---- T(x), log h(x), support ----

    /// <inheritdoc />
    public override void SufficientStatistics(ReadOnlySpan<double> x, Span<double> statistics) => x.Slice(0, Dimension).CopyTo(statistics);

    /// <inheritdoc />
    public override double LogBaseMeasure(ReadOnlySpan<double> x) => 0;

    /// <inheritdoc />
    public override SupportViolation? CheckSupport(ReadOnlySpan<double> x)
    {
        for (int d = 0; d < Dimension; d++)
            if (!(x[d] >= 0)) return new SupportViolation(d, $"{FamilyChecks.Show(x[d])} is negative; Exponential values must be ≥ 0");
        return null;
    }

    // ---- A(η), ∇A, (∇A)⁻¹ ----

    /// <inheritdoc />
    public override double LogNormalizer(ReadOnlySpan<double> eta)
    {
        double a = 0;
        for (int d = 0; d < Dimension; d++) a -= Math.Log(-eta[d]);
        return a;
    }

    /// <inheritdoc />
    public override void MeanMap(ReadOnlySpan<double> eta, Span<double> mean)
    {
        for (int d = 0; d < Dimension; d++) mean[d] = -1 / eta[d];
    }

    internal override bool HasClosedFormInverse => true;

    /// <inheritdoc />
    public override void InverseMeanMap(ReadOnlySpan<double> mean, Span<double> eta)
    {
        if (!IsMeanParameter(mean)) throw new ArgumentException("Exponential mean parameters must be finite and > 0.", nameof(mean));
        for (int d = 0; d < Dimension; d++) eta[d] = -1 / mean[d];
    }

    /// <inheritdoc />
    public override bool IsNaturalParameter(ReadOnlySpan<double> eta)
    {
        for (int d = 0; d < Dimension; d++) if (!(eta[d] < 0) || double.IsInfinity(eta[d])) return false;
        return true;
    }

    /// <inheritdoc />
    public override bool IsMeanParameter(ReadOnlySpan<double> mean) => FamilyChecks.AllPositiveFinite(mean, Dimension);

    /// <inheritdoc />
    public override void ProjectMeanIntoDomain(Span<double> mean, double floor) => FamilyChecks.RaiseToFloor(mean, Dimension, floor);

    // ---- usual parameters ----

    /// <inheritdoc />
    public override double[] ToNatural(ExponentialParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (parameters.Rates.Count != Dimension)
            throw new ArgumentException($"Expected {Dimension} Exponential rates, got {parameters.Rates.Count}.", nameof(parameters));
        return parameters.Rates.Select(r => -r).ToArray();
    }

    /// <inheritdoc />
    public override ExponentialParameters FromNatural(ReadOnlySpan<double> eta)
    {
        var rates = new double[Dimension];
        for (int d = 0; d < Dimension; d++) rates[d] = -eta[d];
        return new ExponentialParameters(rates);
    }

    // ---- conjugate prior ----

    /// <summary>
    /// Gamma(a, b) on every λ_d in pseudo-observation form. The statistic is x (whose mean is 1/λ), so the
    /// b units of "time" are pseudo-observations and the a − 1 events are pseudo-counts: φ_d = b, ν = a − 1.
    /// MAP: λ_d = (a − 1 + n)/(b + Σx_d).
    /// </summary>
    public ConjugatePrior Conjugate(GammaPrior prior)
    {
        ArgumentNullException.ThrowIfNull(prior);
        return new ConjugatePrior(Enumerable.Repeat(prior.Rate, Dimension).ToArray(), prior.Shape - 1,
            eta =>
            {
                double s = 0;
                for (int d = 0; d < Dimension; d++) s += prior.LogDensity(-eta[d]);
                return s;
            }, prior.ToString()) { Source = prior };
    }

    // ---- sampling ----

    /// <inheritdoc />
    public override void Sample(ReadOnlySpan<double> eta, Random random, Span<double> x)
    {
        for (int d = 0; d < Dimension; d++) x[d] = -Math.Log(1 - random.NextDouble()) / -eta[d];
    }
}
