using EmDsl.Families.Priors;
using EmDsl.Numerics;

namespace EmDsl.Families;

/// <summary>Success probabilities p_d of D independent binary columns.</summary>
public sealed record BernoulliParameters
{
    private readonly double[] _p;

    /// <summary>Creates the parameters; each probability must lie in [0, 1].</summary>
    public BernoulliParameters(IEnumerable<double> probabilities) =>
        _p = FamilyChecks.Vector(probabilities, -1, nameof(probabilities), v => v >= 0 && v <= 1, "in [0, 1]");

    /// <summary>p_d = P(x_d = 1).</summary>
    public IReadOnlyList<double> Probabilities => _p;

    /// <summary>Value equality over the probabilities.</summary>
    public bool Equals(BernoulliParameters? other) => other is not null && _p.AsSpan().SequenceEqual(other._p);

    /// <inheritdoc />
    public override int GetHashCode() => FamilyChecks.Hash(_p);

    /// <inheritdoc />
    public override string ToString() => $"BernoulliParameters {{ Probabilities = {FamilyChecks.Format(_p)} }}";
}

/// <summary>
/// D independent Bernoulli columns, x_d ∈ {0, 1}:
/// <code>p(x | p) = Π_d p_d^{x_d} (1 − p_d)^{1 − x_d}</code>
/// T(x) = x, h(x) = 1, η_d = logit p_d, A(η) = Σ_d log(1 + e^{η_d}), ∇A(η) = σ(η) = p,
/// (∇A)⁻¹(μ) = logit μ. Conjugate prior: <see cref="BetaPrior"/> on each p_d.
/// </summary>
public sealed class BernoulliFamily : ExponentialFamily<BernoulliParameters>
{
    /// <summary>A family over <paramref name="dimension"/> binary columns.</summary>
    public BernoulliFamily(int dimension)
    {
        FamilyChecks.Positive(dimension, nameof(dimension));
        Dimension = dimension;
    }

    /// <inheritdoc />
    public override string Name => "Bernoulli";

    /// <inheritdoc />
    public override int Dimension { get; }

    /// <inheritdoc />
    public override int StatisticCount => Dimension;

    // ---- T(x), log h(x), support ----

    /// <inheritdoc />
    public override void SufficientStatistics(ReadOnlySpan<double> x, Span<double> statistics) => x.Slice(0, Dimension).CopyTo(statistics);

    internal override bool StatisticsAreTheValues => true;

    internal override bool LogBaseMeasureIsZero => true;

    /// <inheritdoc />
    public override double LogBaseMeasure(ReadOnlySpan<double> x) => 0;

    internal override bool? AllValuesInSupport(ReadOnlySpan<double> values) => SupportScan.All<SupportScan.ZeroOrOne>(values);

    /// <inheritdoc />
    public override SupportViolation? CheckSupport(ReadOnlySpan<double> x)
    {
        for (int d = 0; d < Dimension; d++)
            if (x[d] != 0 && x[d] != 1) return new SupportViolation(d, $"{FamilyChecks.Show(x[d])} is not 0 or 1");
        return null;
    }

    // ---- A(η), ∇A, (∇A)⁻¹ ----

    /// <inheritdoc />
    public override double LogNormalizer(ReadOnlySpan<double> eta)
    {
        double a = 0;
        for (int d = 0; d < Dimension; d++) a += SpecialFunctions.Log1pExp(eta[d]);
        return a;
    }

    /// <inheritdoc />
    public override void MeanMap(ReadOnlySpan<double> eta, Span<double> mean)
    {
        for (int d = 0; d < Dimension; d++) mean[d] = SpecialFunctions.Logistic(eta[d]);
    }

    internal override bool HasClosedFormInverse => true;

    internal override bool SeparatesColumns => true;

    internal override double ColumnLogNormalizer(double eta) => SpecialFunctions.Log1pExp(eta);

    /// <inheritdoc />
    public override void InverseMeanMap(ReadOnlySpan<double> mean, Span<double> eta)
    {
        if (!IsMeanParameter(mean)) throw new ArgumentException("Bernoulli mean parameters must lie strictly inside (0, 1).", nameof(mean));
        for (int d = 0; d < Dimension; d++) eta[d] = Math.Log(mean[d]) - double.LogP1(-mean[d]);
    }

    /// <inheritdoc />
    public override bool IsNaturalParameter(ReadOnlySpan<double> eta)
    {
        for (int d = 0; d < Dimension; d++) if (!double.IsFinite(eta[d])) return false;
        return true;
    }

    /// <inheritdoc />
    public override bool IsMeanParameter(ReadOnlySpan<double> mean)
    {
        for (int d = 0; d < Dimension; d++) if (!(mean[d] > 0 && mean[d] < 1)) return false;
        return true;
    }

    /// <inheritdoc />
    public override void ProjectMeanIntoDomain(Span<double> mean, double floor)
    {
        for (int d = 0; d < Dimension; d++) mean[d] = Math.Clamp(mean[d], floor, 1 - floor);
    }

    // ---- usual parameters ----

    /// <inheritdoc />
    public override double[] ToNatural(BernoulliParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (parameters.Probabilities.Count != Dimension)
            throw new ArgumentException($"Expected {Dimension} Bernoulli probabilities, got {parameters.Probabilities.Count}.", nameof(parameters));
        var eta = new double[Dimension];
        for (int d = 0; d < Dimension; d++)
        {
            double p = parameters.Probabilities[d];
            if (p <= 0 || p >= 1)
                throw new ArgumentException($"Bernoulli probability {d} is {p}; 0 and 1 have no finite natural parameter (use a value strictly inside (0, 1)).", nameof(parameters));
            eta[d] = Math.Log(p) - double.LogP1(-p);
        }
        return eta;
    }

    /// <inheritdoc />
    public override BernoulliParameters FromNatural(ReadOnlySpan<double> eta)
    {
        var p = new double[Dimension];
        MeanMap(eta, p);
        return new BernoulliParameters(p);
    }

    // ---- conjugate prior ----

    /// <summary>Beta(α, β) on every p_d in pseudo-observation form: φ_d = α − 1, ν = α + β − 2.</summary>
    public ConjugatePrior Conjugate(BetaPrior prior)
    {
        ArgumentNullException.ThrowIfNull(prior);
        return new ConjugatePrior(Enumerable.Repeat(prior.Alpha - 1, Dimension).ToArray(), prior.Alpha + prior.Beta - 2,
            eta =>
            {
                double s = 0;
                for (int d = 0; d < Dimension; d++) s += prior.LogDensity(SpecialFunctions.Logistic(eta[d]));
                return s;
            }, prior.ToString()) { Source = prior };
    }

    // ---- sampling ----

    /// <inheritdoc />
    public override void Sample(ReadOnlySpan<double> eta, Random random, Span<double> x)
    {
        for (int d = 0; d < Dimension; d++) x[d] = random.NextDouble() < SpecialFunctions.Logistic(eta[d]) ? 1 : 0;
    }
}
