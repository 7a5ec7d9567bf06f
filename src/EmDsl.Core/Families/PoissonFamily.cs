using EmDsl.Families.Priors;
using EmDsl.Numerics;

namespace EmDsl.Families;

/// <summary>Rates λ_d &gt; 0 of D independent Poisson count columns.</summary>
public sealed record PoissonParameters
{
    private readonly double[] _rates;

    /// <summary>Creates the parameters; each rate must be finite and positive.</summary>
    public PoissonParameters(IEnumerable<double> rates) =>
        _rates = FamilyChecks.Vector(rates, -1, nameof(rates), v => v > 0 && double.IsFinite(v), "finite and > 0");

    /// <summary>λ_d = E[x_d].</summary>
    public IReadOnlyList<double> Rates => _rates;

    /// <summary>Value equality over the rates.</summary>
    public bool Equals(PoissonParameters? other) => other is not null && _rates.AsSpan().SequenceEqual(other._rates);

    /// <inheritdoc />
    public override int GetHashCode() => FamilyChecks.Hash(_rates);

    /// <inheritdoc />
    public override string ToString() => $"PoissonParameters {{ Rates = {FamilyChecks.Format(_rates)} }}";
}

/// <summary>
/// D independent Poisson count columns, x_d ∈ {0, 1, 2, …}:
/// <code>p(x | λ) = Π_d λ_d^{x_d} e^{−λ_d} / x_d!</code>
/// T(x) = x, log h(x) = −Σ_d log x_d!, η_d = log λ_d, A(η) = Σ_d e^{η_d}, ∇A(η) = e^η = λ,
/// (∇A)⁻¹(μ) = log μ. Conjugate prior: <see cref="GammaPrior"/> on each λ_d.
/// </summary>
public sealed class PoissonFamily : ExponentialFamily<PoissonParameters>
{
    /// <summary>A family over <paramref name="dimension"/> count columns.</summary>
    public PoissonFamily(int dimension)
    {
        FamilyChecks.Positive(dimension, nameof(dimension));
        Dimension = dimension;
    }

    /// <inheritdoc />
    public override string Name => "Poisson";

    /// <inheritdoc />
    public override int Dimension { get; }

    /// <inheritdoc />
    public override int StatisticCount => Dimension;

    // ---- T(x), log h(x), support ----

    /// <inheritdoc />
    public override void SufficientStatistics(ReadOnlySpan<double> x, Span<double> statistics) => x.Slice(0, Dimension).CopyTo(statistics);

    internal override bool StatisticsAreTheValues => true;

    /// <inheritdoc />
    public override double LogBaseMeasure(ReadOnlySpan<double> x)
    {
        double s = 0;
        for (int d = 0; d < Dimension; d++) s -= SpecialFunctions.LogGamma(x[d] + 1);
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
        for (int d = 0; d < Dimension; d++) a += Math.Exp(eta[d]);
        return a;
    }

    /// <inheritdoc />
    public override void MeanMap(ReadOnlySpan<double> eta, Span<double> mean)
    {
        for (int d = 0; d < Dimension; d++) mean[d] = Math.Exp(eta[d]);
    }

    internal override bool HasClosedFormInverse => true;

    internal override bool SeparatesColumns => true;

    internal override double ColumnLogNormalizer(double eta) => Math.Exp(eta);

    /// <inheritdoc />
    public override void InverseMeanMap(ReadOnlySpan<double> mean, Span<double> eta)
    {
        if (!IsMeanParameter(mean)) throw new ArgumentException("Poisson mean parameters (rates) must be finite and > 0.", nameof(mean));
        for (int d = 0; d < Dimension; d++) eta[d] = Math.Log(mean[d]);
    }

    /// <inheritdoc />
    public override bool IsNaturalParameter(ReadOnlySpan<double> eta)
    {
        for (int d = 0; d < Dimension; d++) if (!double.IsFinite(eta[d]) || eta[d] > 709) return false;
        return true;
    }

    /// <inheritdoc />
    public override bool IsMeanParameter(ReadOnlySpan<double> mean) => FamilyChecks.AllPositiveFinite(mean, Dimension);

    /// <inheritdoc />
    public override void ProjectMeanIntoDomain(Span<double> mean, double floor) => FamilyChecks.RaiseToFloor(mean, Dimension, floor);

    // ---- usual parameters ----

    /// <inheritdoc />
    public override double[] ToNatural(PoissonParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (parameters.Rates.Count != Dimension)
            throw new ArgumentException($"Expected {Dimension} Poisson rates, got {parameters.Rates.Count}.", nameof(parameters));
        return parameters.Rates.Select(r => Math.Log(r)).ToArray();
    }

    /// <inheritdoc />
    public override PoissonParameters FromNatural(ReadOnlySpan<double> eta)
    {
        var rates = new double[Dimension];
        MeanMap(eta, rates);
        return new PoissonParameters(rates);
    }

    // ---- conjugate prior ----

    /// <summary>Gamma(a, b) on every λ_d in pseudo-observation form: φ_d = a − 1, ν = b.</summary>
    public ConjugatePrior Conjugate(GammaPrior prior)
    {
        ArgumentNullException.ThrowIfNull(prior);
        return new ConjugatePrior(Enumerable.Repeat(prior.Shape - 1, Dimension).ToArray(), prior.Rate,
            eta =>
            {
                double s = 0;
                for (int d = 0; d < Dimension; d++) s += prior.LogDensity(Math.Exp(eta[d]));
                return s;
            }, prior.ToString()) { Source = prior };
    }

    // ---- sampling ----

    /// <inheritdoc />
    public override void Sample(ReadOnlySpan<double> eta, Random random, Span<double> x)
    {
        for (int d = 0; d < Dimension; d++) x[d] = MathNet.Numerics.Distributions.Poisson.Sample(random, Math.Exp(eta[d]));
    }
}
