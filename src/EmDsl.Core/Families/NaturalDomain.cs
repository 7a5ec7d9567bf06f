using EmDsl.AutoDiff;

namespace EmDsl.Families;

/// <summary>
/// Where one coordinate of a natural parameter may lie, and the smooth one-to-one map from an unconstrained
/// real u onto it that the numeric M-step optimises over: ℝ (η = u), (a, ∞) (η = a + eᵘ), (−∞, b)
/// (η = b − eᵘ), or (a, b) (η = a + (b − a)·σ(u)).
/// </summary>
public sealed record NaturalConstraint
{
    private NaturalConstraint(double lower, double upper)
    {
        if (double.IsNaN(lower) || double.IsNaN(upper) || !(lower < upper) || double.IsPositiveInfinity(lower) || double.IsNegativeInfinity(upper))
            throw new ArgumentException($"A natural-parameter interval needs lower < upper; got ({lower}, {upper}).");
        Lower = lower;
        Upper = upper;
    }

    /// <summary>The open interval's lower end (−∞ when unbounded below).</summary>
    public double Lower { get; }

    /// <summary>The open interval's upper end (+∞ when unbounded above).</summary>
    public double Upper { get; }

    /// <summary>Any real value.</summary>
    public static NaturalConstraint Real { get; } = new(double.NegativeInfinity, double.PositiveInfinity);

    /// <summary>η &gt; 0.</summary>
    public static NaturalConstraint Positive { get; } = new(0, double.PositiveInfinity);

    /// <summary>η &lt; 0.</summary>
    public static NaturalConstraint Negative { get; } = new(double.NegativeInfinity, 0);

    /// <summary>η &gt; <paramref name="lower"/>.</summary>
    public static NaturalConstraint GreaterThan(double lower) => new(lower, double.PositiveInfinity);

    /// <summary>η &lt; <paramref name="upper"/>.</summary>
    public static NaturalConstraint LessThan(double upper) => new(double.NegativeInfinity, upper);

    /// <summary><paramref name="lower"/> &lt; η &lt; <paramref name="upper"/>.</summary>
    public static NaturalConstraint Between(double lower, double upper) => new(lower, upper);

    /// <summary>Whether <paramref name="eta"/> lies strictly inside.</summary>
    public bool Contains(double eta) => eta > Lower && eta < Upper;

    internal Var ToNatural(Var u) =>
        (double.IsInfinity(Lower), double.IsInfinity(Upper)) switch
        {
            (true, true) => u,
            (false, true) => Lower + u.Exp(),
            (true, false) => Upper - u.Exp(),
            _ => Lower + (Upper - Lower) * u.Sigmoid(),
        };

    internal double ToUnconstrained(double eta) =>
        (double.IsInfinity(Lower), double.IsInfinity(Upper)) switch
        {
            (true, true) => eta,
            (false, true) => Math.Log(eta - Lower),
            (true, false) => Math.Log(Upper - eta),
            _ => Math.Log((eta - Lower) / (Upper - eta)),
        };

    /// <inheritdoc />
    public override string ToString() =>
        (double.IsInfinity(Lower), double.IsInfinity(Upper)) switch
        {
            (true, true) => "ℝ",
            (false, true) => $"({Lower:G6}, ∞)",
            (true, false) => $"(−∞, {Upper:G6})",
            _ => $"({Lower:G6}, {Upper:G6})",
        };
}

/// <summary>
/// The domain of a declared family's natural parameter η ∈ ℝ^S and a smooth one-to-one map onto it from
/// unconstrained values u ∈ ℝ^U, over which the numeric M-step optimises: either one
/// <see cref="NaturalConstraint"/> per coordinate, or a map written with the autodiff operations (for domains
/// such as "a positive-definite matrix", through a Cholesky factor with a log diagonal).
/// </summary>
public sealed class NaturalDomain
{
    private readonly NaturalConstraint[]? _constraints;
    private readonly Func<Var, Var>? _map;
    private readonly Func<IReadOnlyList<double>, double[]>? _inverse;
    private readonly Func<IReadOnlyList<double>, bool>? _contains;

    private NaturalDomain(int size, int unconstrainedSize, NaturalConstraint[]? constraints, Func<Var, Var>? map,
        Func<IReadOnlyList<double>, double[]>? inverse, Func<IReadOnlyList<double>, bool>? contains)
    {
        Size = size;
        UnconstrainedSize = unconstrainedSize;
        _constraints = constraints;
        _map = map;
        _inverse = inverse;
        _contains = contains;
    }

    /// <summary>S: the length of η (and of T(x)).</summary>
    public int Size { get; }

    /// <summary>U: the length of the unconstrained parameter the optimiser sees.</summary>
    public int UnconstrainedSize { get; }

    /// <summary>A domain given coordinate by coordinate; S = U = the number of constraints.</summary>
    public static NaturalDomain Coordinates(params NaturalConstraint[] constraints)
    {
        ArgumentNullException.ThrowIfNull(constraints);
        if (constraints.Length == 0) throw new ArgumentException("A natural parameter needs at least one coordinate.", nameof(constraints));
        for (int i = 0; i < constraints.Length; i++)
            if (constraints[i] is null) throw new ArgumentNullException(nameof(constraints), $"Constraint {i} is null.");
        return new NaturalDomain(constraints.Length, constraints.Length, (NaturalConstraint[])constraints.Clone(), null, null, null);
    }

    /// <summary>S unconstrained coordinates (η ∈ ℝ^S).</summary>
    public static NaturalDomain Unconstrained(int size) =>
        size < 1 ? throw new ArgumentOutOfRangeException(nameof(size), size, "A natural parameter needs at least one coordinate.")
            : Coordinates(Enumerable.Repeat(NaturalConstraint.Real, size).ToArray());

    /// <summary>
    /// A domain given by a map from u (a 1 × <paramref name="unconstrainedSize"/> row) to η (a 1 × <paramref name="size"/>
    /// row), written with the autodiff operations, with its inverse (for starting points and user-given parameters)
    /// and a membership test.
    /// </summary>
    public static NaturalDomain FromMap(int size, int unconstrainedSize, Func<Var, Var> toNatural,
        Func<IReadOnlyList<double>, double[]> toUnconstrained, Func<IReadOnlyList<double>, bool> contains)
    {
        ArgumentNullException.ThrowIfNull(toNatural);
        ArgumentNullException.ThrowIfNull(toUnconstrained);
        ArgumentNullException.ThrowIfNull(contains);
        if (size < 1) throw new ArgumentOutOfRangeException(nameof(size), size, "A natural parameter needs at least one coordinate.");
        if (unconstrainedSize < 1) throw new ArgumentOutOfRangeException(nameof(unconstrainedSize), unconstrainedSize, "The unconstrained parameter needs at least one coordinate.");
        return new NaturalDomain(size, unconstrainedSize, null, toNatural, toUnconstrained, contains);
    }

    /// <summary>Whether η lies in the domain.</summary>
    public bool Contains(IReadOnlyList<double> eta)
    {
        ArgumentNullException.ThrowIfNull(eta);
        if (eta.Count != Size) return false;
        for (int i = 0; i < Size; i++) if (!double.IsFinite(eta[i])) return false;
        if (_constraints is not null)
        {
            for (int i = 0; i < Size; i++) if (!_constraints[i].Contains(eta[i])) return false;
            return true;
        }
        return _contains!(eta);
    }

    /// <summary>η (1 × S) from u (1 × U).</summary>
    internal Var ToNatural(Var u)
    {
        if (_map is not null)
        {
            var eta = _map(u);
            if (eta.Rows != 1 || eta.Cols != Size)
                throw new InvalidOperationException($"The natural-domain map returned a {eta.Rows}×{eta.Cols} value; expected 1×{Size}.");
            return eta;
        }
        if (Size == 1) return _constraints![0].ToNatural(u);
        var parts = new Var[Size];
        for (int i = 0; i < Size; i++) parts[i] = _constraints![i].ToNatural(u.Columns(i, 1));
        return Var.ConcatColumns(parts);
    }

    /// <summary>u from η (η must be in the domain).</summary>
    internal double[] ToUnconstrained(IReadOnlyList<double> eta)
    {
        if (_inverse is not null)
        {
            var u = _inverse(eta);
            if (u.Length != UnconstrainedSize)
                throw new InvalidOperationException($"The natural-domain inverse returned {u.Length} values; expected {UnconstrainedSize}.");
            return u;
        }
        var result = new double[Size];
        for (int i = 0; i < Size; i++) result[i] = _constraints![i].ToUnconstrained(eta[i]);
        return result;
    }

    /// <inheritdoc />
    public override string ToString() =>
        _constraints is not null ? string.Join(" × ", _constraints.Select(c => c.ToString())) : $"a mapped domain in ℝ^{Size}";
}
