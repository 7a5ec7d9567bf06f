using EmDsl.Numerics;

namespace EmDsl.Families.Priors;

/// <summary>
/// Dirichlet(α₁…α_C) prior on a probability vector p: density Π p_j^(α_j−1) / B(α). The MAP estimate from
/// counts n_j is p_j = (α_j − 1 + n_j)/(Σα − C + Σn): pseudo-observations α_j − 1, pseudo-count Σα − C.
/// Every α_j ≥ 1 keeps the mode inside the simplex; Dirichlet(1, …, 1) is uniform (MAP = ML). A weak
/// default such as 1.1 keeps every probability away from zero.
/// </summary>
public sealed record DirichletPrior
{
    private readonly double[] _alpha;

    /// <summary>Creates Dirichlet(α) from one concentration per category, each ≥ 1.</summary>
    public DirichletPrior(IEnumerable<double> concentration)
    {
        ArgumentNullException.ThrowIfNull(concentration);
        _alpha = concentration.ToArray();
        if (_alpha.Length < 2) throw new ArgumentException("A Dirichlet prior needs at least two categories.", nameof(concentration));
        for (int j = 0; j < _alpha.Length; j++) PriorChecks.AtLeastOne(_alpha[j], nameof(concentration), $"Dirichlet α[{j}]");
    }

    /// <summary>The symmetric Dirichlet(α, …, α) over <paramref name="categories"/> categories.</summary>
    public static DirichletPrior Symmetric(int categories, double alpha) =>
        categories < 2
            ? throw new ArgumentOutOfRangeException(nameof(categories), categories, "A Dirichlet prior needs at least two categories.")
            : new DirichletPrior(Enumerable.Repeat(alpha, categories));

    /// <summary>α: one concentration per category.</summary>
    public IReadOnlyList<double> Concentration => _alpha;

    /// <summary>Number of categories.</summary>
    public int Categories => _alpha.Length;

    /// <summary>log Dirichlet(p | α); −∞ off the simplex or at a zero the density vanishes on.</summary>
    public double LogDensity(ReadOnlySpan<double> p)
    {
        if (p.Length != _alpha.Length)
            throw new ArgumentException($"Expected {_alpha.Length} probabilities, got {p.Length}.", nameof(p));
        double s = -SpecialFunctions.LogBeta(_alpha), total = 0;
        for (int j = 0; j < p.Length; j++)
        {
            if (!(p[j] >= 0)) return double.NegativeInfinity;
            total += p[j];
            s += PriorChecks.XLogY(_alpha[j] - 1, p[j]);
        }
        return Math.Abs(total - 1) <= 1e-9 ? s : double.NegativeInfinity;
    }

    /// <summary>
    /// Writes the posterior mode (α_j − 1 + n_j)/(Σα − C + Σn) for counts n; with α = 1 and all counts zero
    /// (nothing to learn from) it writes the uniform distribution.
    /// </summary>
    public void PosteriorMode(ReadOnlySpan<double> counts, Span<double> p)
    {
        double total = 0;
        for (int j = 0; j < _alpha.Length; j++) total += _alpha[j] - 1 + counts[j];
        for (int j = 0; j < _alpha.Length; j++) p[j] = total > 0 ? (_alpha[j] - 1 + counts[j]) / total : 1.0 / _alpha.Length;
    }

    /// <summary>Value equality over the concentrations.</summary>
    public bool Equals(DirichletPrior? other) => other is not null && _alpha.AsSpan().SequenceEqual(other._alpha);

    /// <inheritdoc />
    public override int GetHashCode() => _alpha.Aggregate(17, (h, a) => h * 31 + a.GetHashCode());

    /// <inheritdoc />
    public override string ToString() =>
        _alpha.Distinct().Count() == 1 ? FormattableString.Invariant($"Dirichlet({_alpha[0]:R} × {_alpha.Length})") : $"Dirichlet({string.Join(", ", _alpha.Select(a => a.ToString("R", System.Globalization.CultureInfo.InvariantCulture)))})";
}
