using EmDsl.Families.Priors;
using EmDsl.Numerics;

namespace EmDsl.Families;

/// <summary>How a categorical observation is laid out in the data.</summary>
public enum CategoricalEncoding
{
    /// <summary>One column holding the category code 0, 1, …, C − 1.</summary>
    Integer,
    /// <summary>C columns of 0/1 with exactly one 1 per row.</summary>
    OneHot,
}

/// <summary>Category probabilities p_0 … p_{C−1} (non-negative, summing to one).</summary>
public sealed record CategoricalParameters
{
    private readonly double[] _p;

    /// <summary>Creates the parameters; probabilities must be in [0, 1] and sum to 1 (within 1e-9).</summary>
    public CategoricalParameters(IEnumerable<double> probabilities)
    {
        _p = FamilyChecks.Vector(probabilities, -1, nameof(probabilities), v => v >= 0 && v <= 1, "in [0, 1]");
        if (_p.Length < 2) throw new ArgumentException("A categorical distribution needs at least two categories.", nameof(probabilities));
        double sum = _p.Sum();
        if (Math.Abs(sum - 1) > 1e-9) throw new ArgumentException($"Category probabilities sum to {sum}, not 1.", nameof(probabilities));
    }

    /// <summary>p_j = P(x = j).</summary>
    public IReadOnlyList<double> Probabilities => _p;

    /// <summary>Value equality over the probabilities.</summary>
    public bool Equals(CategoricalParameters? other) => other is not null && _p.AsSpan().SequenceEqual(other._p);

    /// <inheritdoc />
    public override int GetHashCode() => FamilyChecks.Hash(_p);

    /// <inheritdoc />
    public override string ToString() => $"CategoricalParameters {{ Probabilities = {FamilyChecks.Format(_p)} }}";
}

/// <summary>
/// One categorical observation with C categories, p(x = j) = p_j. In minimal form, with the last
/// category as reference: T(x)_j = [x = j] for j &lt; C − 1 (S = C − 1), h = 1,
/// η_j = log(p_j / p_{C−1}), A(η) = log(1 + Σ_j e^{η_j}) = −log p_{C−1}, ∇A(η)_j = p_j,
/// (∇A)⁻¹(μ)_j = log μ_j − log(1 − Σμ). Conjugate prior: <see cref="DirichletPrior"/>.
/// </summary>
public sealed class CategoricalFamily : ExponentialFamily<CategoricalParameters>
{
    /// <summary>A family over <paramref name="categories"/> ≥ 2 categories in the given encoding.</summary>
    public CategoricalFamily(int categories, CategoricalEncoding encoding = CategoricalEncoding.Integer)
    {
        if (categories < 2) throw new ArgumentOutOfRangeException(nameof(categories), categories, "A categorical family needs at least two categories.");
        Categories = categories;
        Encoding = encoding;
    }

    /// <summary>C: the number of categories.</summary>
    public int Categories { get; }

    /// <summary>The data layout.</summary>
    public CategoricalEncoding Encoding { get; }

    /// <inheritdoc />
    public override string Name => "Categorical";

    /// <inheritdoc />
    public override int Dimension => Encoding == CategoricalEncoding.Integer ? 1 : Categories;

    /// <inheritdoc />
    public override int StatisticCount => Categories - 1;

    // ---- T(x), log h(x), support ----

    private int Category(ReadOnlySpan<double> x) =>
        Encoding == CategoricalEncoding.Integer ? (int)x[0] : x.Slice(0, Categories).IndexOf(1.0);

    internal override bool HasIndicatorStatistics => true;

    internal override int IndicatorIndex(ReadOnlySpan<double> x)
    {
        int c = Category(x);
        return c < Categories - 1 ? c : -1;
    }

    internal override bool LogBaseMeasureIsZero => true;

    /// <inheritdoc />
    public override void SufficientStatistics(ReadOnlySpan<double> x, Span<double> statistics)
    {
        statistics.Slice(0, Categories - 1).Clear();
        int c = Category(x);
        if (c < Categories - 1) statistics[c] = 1;
    }

    /// <inheritdoc />
    public override double LogBaseMeasure(ReadOnlySpan<double> x) => 0;

    /// <inheritdoc />
    public override SupportViolation? CheckSupport(ReadOnlySpan<double> x)
    {
        if (Encoding == CategoricalEncoding.Integer)
        {
            double v = x[0];
            return FamilyChecks.IsNonNegativeInteger(v) && v < Categories
                ? null
                : new SupportViolation(0, $"{FamilyChecks.Show(v)} is not a category code in 0..{Categories - 1}");
        }
        int first = -1;
        for (int j = 0; j < Categories; j++)
        {
            if (x[j] != 0 && x[j] != 1) return new SupportViolation(j, $"{FamilyChecks.Show(x[j])} is not 0 or 1 in a one-hot row");
            if (x[j] != 1) continue;
            if (first >= 0) return new SupportViolation(j, $"a second 1 in a one-hot row (the first is at offset {first}); exactly one is required");
            first = j;
        }
        return first >= 0 ? null : new SupportViolation(0, "the one-hot row has no 1; exactly one is required");
    }

    // ---- A(η), ∇A, (∇A)⁻¹ ----

    /// <inheritdoc />
    public override double LogNormalizer(ReadOnlySpan<double> eta)
    {
        Span<double> full = Categories <= StackBuffer.MaxDoubles ? stackalloc double[Categories] : new double[Categories];
        eta.Slice(0, Categories - 1).CopyTo(full);
        full[Categories - 1] = 0;
        return LogSpace.LogSumExp(full);
    }

    /// <inheritdoc />
    public override void MeanMap(ReadOnlySpan<double> eta, Span<double> mean)
    {
        double a = LogNormalizer(eta);
        for (int j = 0; j < Categories - 1; j++) mean[j] = Math.Exp(eta[j] - a);
    }

    internal override bool HasClosedFormInverse => true;

    /// <inheritdoc />
    public override void InverseMeanMap(ReadOnlySpan<double> mean, Span<double> eta)
    {
        if (!IsMeanParameter(mean)) throw new ArgumentException("Categorical mean parameters must be > 0 with a sum < 1.", nameof(mean));
        double logLast = Math.Log(LastProbability(mean));
        for (int j = 0; j < Categories - 1; j++) eta[j] = Math.Log(mean[j]) - logLast;
    }

    private double LastProbability(ReadOnlySpan<double> mean)
    {
        double s = 0;
        for (int j = 0; j < Categories - 1; j++) s += mean[j];
        return 1 - s;
    }

    /// <inheritdoc />
    public override bool IsNaturalParameter(ReadOnlySpan<double> eta)
    {
        for (int j = 0; j < Categories - 1; j++) if (!double.IsFinite(eta[j])) return false;
        return true;
    }

    /// <inheritdoc />
    public override bool IsMeanParameter(ReadOnlySpan<double> mean)
    {
        for (int j = 0; j < Categories - 1; j++) if (!(mean[j] > 0)) return false;
        return LastProbability(mean) > 0;
    }

    /// <inheritdoc />
    public override void ProjectMeanIntoDomain(Span<double> mean, double floor)
    {
        // Raise every probability (the implicit last one included) to the floor, then renormalise the
        // others so the full vector still sums to one.
        Span<double> p = Categories <= StackBuffer.MaxDoubles ? stackalloc double[Categories] : new double[Categories];
        mean.Slice(0, Categories - 1).CopyTo(p);
        p[Categories - 1] = LastProbability(mean);
        bool changed = false;
        for (int j = 0; j < Categories; j++)
            if (!(p[j] >= floor)) { p[j] = floor; changed = true; }
        if (!changed) return;
        double s = 0;
        foreach (var v in p) s += v;
        for (int j = 0; j < Categories - 1; j++) mean[j] = p[j] / s;
    }

    // ---- usual parameters ----

    /// <inheritdoc />
    public override double[] ToNatural(CategoricalParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var p = parameters.Probabilities;
        if (p.Count != Categories) throw new ArgumentException($"Expected {Categories} category probabilities, got {p.Count}.", nameof(parameters));
        for (int j = 0; j < Categories; j++)
            if (p[j] <= 0)
                throw new ArgumentException($"Category {j} has probability {p[j]}; zero has no finite natural parameter (use a small positive value).", nameof(parameters));
        var eta = new double[Categories - 1];
        for (int j = 0; j < Categories - 1; j++) eta[j] = Math.Log(p[j]) - Math.Log(p[Categories - 1]);
        return eta;
    }

    /// <inheritdoc />
    public override CategoricalParameters FromNatural(ReadOnlySpan<double> eta)
    {
        var full = new double[Categories];
        eta.Slice(0, Categories - 1).CopyTo(full);
        return new CategoricalParameters(LogSpace.Softmax(full));
    }

    // ---- conjugate prior ----

    /// <summary>Dirichlet(α) in pseudo-observation form: φ_j = α_j − 1 (j &lt; C − 1), ν = Σα − C.</summary>
    public ConjugatePrior Conjugate(DirichletPrior prior)
    {
        ArgumentNullException.ThrowIfNull(prior);
        if (prior.Categories != Categories)
            throw new ArgumentException($"The Dirichlet prior has {prior.Categories} categories; the family has {Categories}.", nameof(prior));
        var phi = prior.Concentration.Take(Categories - 1).Select(a => a - 1).ToArray();
        double nu = prior.Concentration.Sum() - Categories;
        return new ConjugatePrior(phi, nu, eta =>
        {
            var full = new double[Categories];
            eta.Slice(0, Categories - 1).CopyTo(full);
            return prior.LogDensity(LogSpace.Softmax(full));
        }, prior.ToString()) { Source = prior };
    }

    // ---- sampling ----

    /// <inheritdoc />
    public override void Sample(ReadOnlySpan<double> eta, Random random, Span<double> x)
    {
        var full = new double[Categories];
        eta.Slice(0, Categories - 1).CopyTo(full);
        var p = LogSpace.Softmax(full);
        double u = random.NextDouble(), c = 0;
        int category = Categories - 1;
        for (int j = 0; j < Categories; j++)
        {
            c += p[j];
            if (u < c) { category = j; break; }
        }
        if (Encoding == CategoricalEncoding.Integer) x[0] = category;
        else
        {
            x.Slice(0, Categories).Clear();
            x[category] = 1;
        }
    }
}
