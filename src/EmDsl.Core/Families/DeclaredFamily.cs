using EmDsl.AutoDiff;
using EmDsl.Optimization;

namespace EmDsl.Families;

/// <summary>Where one data column of a declared family may lie (checked on every row before a fit).</summary>
public sealed record ColumnSupport
{
    private readonly Func<double, bool> _contains;

    private ColumnSupport(string description, Func<double, bool> contains)
    {
        Description = description;
        _contains = contains;
    }

    /// <summary>What the values must be, as used in error messages ("> 0").</summary>
    public string Description { get; }

    /// <summary>Any finite real.</summary>
    public static ColumnSupport Real { get; } = new("a finite real", _ => true);

    /// <summary>x &gt; 0.</summary>
    public static ColumnSupport Positive { get; } = new("> 0", v => v > 0);

    /// <summary>x ≥ 0.</summary>
    public static ColumnSupport NonNegative { get; } = new("≥ 0", v => v >= 0);

    /// <summary>0 &lt; x &lt; 1.</summary>
    public static ColumnSupport UnitInterval { get; } = new("in (0, 1)", v => v > 0 && v < 1);

    /// <summary>x ∈ {0, 1, 2, …}, below 2⁵³ (where doubles stop representing every integer).</summary>
    public static ColumnSupport NonNegativeInteger { get; } = new("a non-negative integer below 2⁵³", FamilyChecks.IsNonNegativeInteger);

    /// <summary>x ∈ {0, 1}.</summary>
    public static ColumnSupport Binary { get; } = new("0 or 1", v => v == 0 || v == 1);

    /// <summary>A custom support: <paramref name="contains"/> says whether a (finite) value belongs, <paramref name="description"/> says what it must be.</summary>
    public static ColumnSupport Where(Func<double, bool> contains, string description)
    {
        ArgumentNullException.ThrowIfNull(contains);
        if (string.IsNullOrWhiteSpace(description)) throw new ArgumentException("Describe the support, e.g. \"> 1\".", nameof(description));
        return new ColumnSupport(description, contains);
    }

    /// <summary>Whether a value belongs (non-finite values never do).</summary>
    public bool Contains(double value) => double.IsFinite(value) && _contains(value);

    /// <inheritdoc />
    public override string ToString() => Description;
}

/// <summary>
/// The parameters of one distribution of a declared family: its natural parameter η and its mean parameter
/// μ = ∇A(η) = E[T(x)] (what the fit matched). Convert to a familiar parametrisation in your own code.
/// </summary>
public sealed record NaturalParameters
{
    private readonly double[] _natural;
    private readonly double[] _mean;

    /// <summary>Creates the record from η; μ may be omitted (empty) when only η matters, e.g. for initial values.</summary>
    public NaturalParameters(IEnumerable<double> natural, IEnumerable<double>? mean = null)
    {
        _natural = FamilyChecks.Vector(natural, -1, nameof(natural), double.IsFinite, "finite");
        _mean = mean is null ? [] : FamilyChecks.Vector(mean, -1, nameof(mean), double.IsFinite, "finite");
    }

    /// <summary>η.</summary>
    public IReadOnlyList<double> Natural => _natural;

    /// <summary>μ = ∇A(η) (empty when not computed).</summary>
    public IReadOnlyList<double> Mean => _mean;

    /// <summary>Value equality over η and μ.</summary>
    public bool Equals(NaturalParameters? other) =>
        other is not null && _natural.AsSpan().SequenceEqual(other._natural) && _mean.AsSpan().SequenceEqual(other._mean);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(FamilyChecks.Hash(_natural), FamilyChecks.Hash(_mean));

    /// <inheritdoc />
    public override string ToString() => $"NaturalParameters {{ Natural = {FamilyChecks.Format(_natural)}, Mean = {FamilyChecks.Format(_mean)} }}";
}

/// <summary>
/// The declaration of an exponential family by its ingredients, written with the autodiff operations
/// (<see cref="Var"/>):
/// <code>p(x | η) = h(x) · exp( T(x) · η − A(η) )</code>
/// <list type="bullet">
/// <item><see cref="Statistics"/>: T, from a rows × D block of observations to rows × S;</item>
/// <item><see cref="LogNormalizer"/>: A, from η (a 1 × S row) to a 1 × 1 value;</item>
/// <item><see cref="Natural"/>: where η lives (S is its size);</item>
/// <item>optionally <see cref="LogBaseMeasure"/> (log h, rows × D → rows × 1; 0 when absent), the support of each
/// column, a test of the mean domain, a starting η for the numeric inverse, and a sampler.</item>
/// </list>
/// <see cref="Build"/> gives a <see cref="DeclaredFamily"/>, which derives ∇A by autodiff and (∇A)⁻¹ numerically,
/// and plugs into the builder like a built-in family (<see cref="Building.Blocks.FromFamily{TParameters}(string, IEnumerable{int}, ExponentialFamily{TParameters}, Priors.ConjugatePrior, Building.Sharing)"/>).
/// Immutable: every <c>With…</c> returns a new declaration.
/// </summary>
/// <param name="Name">Name used in messages.</param>
/// <param name="Dimension">D: columns per observation.</param>
/// <param name="Statistics">T: rows × D → rows × S.</param>
/// <param name="LogNormalizer">A: 1 × S → 1 × 1.</param>
/// <param name="Natural">The natural parameter's domain and size S.</param>
public sealed record FamilyDeclaration(string Name, int Dimension, Func<Var, Var> Statistics, Func<Var, Var> LogNormalizer, NaturalDomain Natural)
{
    /// <summary>log h: rows × D → rows × 1 (null: h = 1).</summary>
    public Func<Var, Var>? LogBaseMeasure { get; init; }

    /// <summary>The support of each column (one entry for all columns, or D entries); null: any finite real.</summary>
    public IReadOnlyList<ColumnSupport>? Support { get; init; }

    /// <summary>Whether expected statistics μ lie in the interior of the mean domain (null: any finite μ is tried).</summary>
    public Func<IReadOnlyList<double>, bool>? MeanDomain { get; init; }

    /// <summary>
    /// Moves estimated expected statistics safely inside the mean domain, given μ and
    /// <see cref="Inference.FitOptions.ProbabilityFloor"/> — the declared family's counterpart of the built-in
    /// families' floors on probabilities and variances (null: μ is used as it is). Without one, a component that
    /// collapses onto a single value can reach natural parameters so extreme that T(x)·η − A(η) loses every digit;
    /// with one, the engine takes a projected estimate only when it does not lower the objective.
    /// </summary>
    public Func<IReadOnlyList<double>, double, double[]>? MeanProjection { get; init; }

    /// <summary>Where the numeric inverse mean map starts (null: u = 0 in the unconstrained coordinates).</summary>
    public IReadOnlyList<double>? Start { get; init; }

    /// <summary>Draws one observation (length D) given η (null: the family cannot sample).</summary>
    public Func<IReadOnlyList<double>, Random, double[]>? Sampler { get; init; }

    /// <summary>Sets log h.</summary>
    public FamilyDeclaration WithLogBaseMeasure(Func<Var, Var> logBaseMeasure) => this with { LogBaseMeasure = logBaseMeasure };

    /// <summary>Sets the support of the columns (one for all, or one per column).</summary>
    public FamilyDeclaration WithSupport(params ColumnSupport[] support) => this with { Support = support };

    /// <summary>Sets the mean-domain test.</summary>
    public FamilyDeclaration WithMeanDomain(Func<IReadOnlyList<double>, bool> meanDomain) => this with { MeanDomain = meanDomain };

    /// <summary>Sets the mean projection (see <see cref="MeanProjection"/>).</summary>
    public FamilyDeclaration WithMeanProjection(Func<IReadOnlyList<double>, double, double[]> projection) => this with { MeanProjection = projection };

    /// <summary>Sets the starting η of the numeric inverse.</summary>
    public FamilyDeclaration WithStart(params double[] eta) => this with { Start = eta };

    /// <summary>Sets the sampler.</summary>
    public FamilyDeclaration WithSampler(Func<IReadOnlyList<double>, Random, double[]> sampler) => this with { Sampler = sampler };

    /// <summary>Checks the declaration (it evaluates A at the start) and builds the family.</summary>
    public DeclaredFamily Build() => new(this);
}

/// <summary>
/// An exponential family declared by its log-normalizer (see <see cref="FamilyDeclaration"/>):
/// <code>p(x | η) = h(x) · exp( T(x) · η − A(η) )</code>
/// ∇A comes from reverse-mode autodiff of A. The inverse mean map (∇A)⁻¹(μ) maximises the concave
/// η·μ − A(η) numerically — L-BFGS with a line search (or Newton, see <see cref="InverseOptions"/>) over the
/// unconstrained coordinates of <see cref="FamilyDeclaration.Natural"/>, then Newton's method on ∇A(η) = μ with the
/// Hessian from finite differences of the exact gradient — and so does the M-step with conjugate pseudo-counts,
/// whose target is (φ + S)/(ν + R). It requires the residual μ − ∇A(η) below 1e-8 relative, and throws <see cref="ArgumentException"/> naming the optimiser's stop reason when μ has no
/// natural parameter (the engine then keeps the previous parameters and reports it). Parameters are reported as
/// <see cref="NaturalParameters"/> (η and μ).
/// </summary>
public sealed class DeclaredFamily : ExponentialFamily<NaturalParameters>
{
    private readonly FamilyDeclaration _declaration;
    private readonly ColumnSupport[] _support;
    private readonly double[] _start;

    internal DeclaredFamily(FamilyDeclaration declaration)
    {
        ArgumentNullException.ThrowIfNull(declaration);
        ArgumentNullException.ThrowIfNull(declaration.Statistics, nameof(declaration.Statistics));
        ArgumentNullException.ThrowIfNull(declaration.LogNormalizer, nameof(declaration.LogNormalizer));
        ArgumentNullException.ThrowIfNull(declaration.Natural, nameof(declaration.Natural));
        if (string.IsNullOrWhiteSpace(declaration.Name)) throw new ArgumentException("A declared family needs a name.", nameof(declaration));
        if (declaration.Dimension < 1) throw new ArgumentOutOfRangeException(nameof(declaration), declaration.Dimension, $"Family '{declaration.Name}': Dimension must be at least 1.");
        _declaration = declaration;
        var support = declaration.Support ?? [ColumnSupport.Real];
        _support = support.Count == 1 ? Enumerable.Repeat(support[0], declaration.Dimension).ToArray()
            : support.Count == declaration.Dimension ? support.ToArray()
            : throw new ArgumentException($"Family '{declaration.Name}': {support.Count} column supports given for {declaration.Dimension} columns; give one for all or one per column.");
        if (declaration.Start is { } start)
        {
            if (!declaration.Natural.Contains(start))
                throw new ArgumentException($"Family '{declaration.Name}': the starting η {FamilyChecks.Format(start)} is not in the natural domain {declaration.Natural}.");
            _start = declaration.Natural.ToUnconstrained(start);
        }
        else _start = new double[declaration.Natural.UnconstrainedSize];
        // Evaluate A once where the inverse starts, so that a shape mistake is reported now, with the family's name.
        double a = EvaluateA(NaturalAt(_start));
        if (!double.IsFinite(a))
            throw new ArgumentException($"Family '{declaration.Name}': A(η) is {a} at the starting η {FamilyChecks.Format(NaturalAt(_start))}; give a start inside the domain with WithStart.");
    }

    /// <summary>Starts a declaration; see <see cref="FamilyDeclaration"/>.</summary>
    /// <param name="name">Name used in messages.</param>
    /// <param name="dimension">D: columns per observation.</param>
    /// <param name="statistics">T: rows × D → rows × S.</param>
    /// <param name="logNormalizer">A: 1 × S → 1 × 1.</param>
    /// <param name="natural">The natural parameter's domain (S is its size).</param>
    public static FamilyDeclaration Declare(string name, int dimension, Func<Var, Var> statistics, Func<Var, Var> logNormalizer, NaturalDomain natural) =>
        new(name, dimension, statistics, logNormalizer, natural);

    /// <summary>The declaration this family was built from.</summary>
    public FamilyDeclaration Declaration => _declaration;

    /// <summary>How the numeric inverse mean map optimises (default: L-BFGS, up to 1000 iterations, gradient tolerance 1e-12).</summary>
    public OptimizerOptions InverseOptions { get; init; } = new() { MaxIterations = 1000, GradientTolerance = 1e-12 };

    /// <inheritdoc />
    public override string Name => _declaration.Name;

    /// <inheritdoc />
    public override int Dimension => _declaration.Dimension;

    /// <inheritdoc />
    public override int StatisticCount => _declaration.Natural.Size;

    // ---- T(x), log h(x), support ----

    /// <inheritdoc />
    public override void SufficientStatistics(ReadOnlySpan<double> x, Span<double> statistics) =>
        SufficientStatistics(x.Slice(0, Dimension), 1, statistics, StatisticCount, 0);

    /// <inheritdoc />
    public override void SufficientStatistics(ReadOnlySpan<double> x, int rows, Span<double> statistics, int stride, int offset)
    {
        int s = StatisticCount;
        var t = _declaration.Statistics(Var.Wrap(x.Slice(0, rows * Dimension).ToArray(), rows, Dimension));
        if (t.Rows != rows || t.Cols != s)
            throw new InvalidOperationException($"Family '{Name}': T(x) of {rows} row(s) is {t.Rows}×{t.Cols}; expected {rows}×{s}.");
        var values = t.Values;
        for (int i = 0; i < rows; i++) values.Slice(i * s, s).CopyTo(statistics.Slice(i * stride + offset, s));
    }

    /// <inheritdoc />
    public override double LogBaseMeasure(ReadOnlySpan<double> x)
    {
        Span<double> one = stackalloc double[1];
        one[0] = 0;
        AddLogBaseMeasure(x.Slice(0, Dimension), 1, one);
        return one[0];
    }

    /// <inheritdoc />
    public override void AddLogBaseMeasure(ReadOnlySpan<double> x, int rows, Span<double> logBaseMeasure)
    {
        if (_declaration.LogBaseMeasure is null) return;
        var h = _declaration.LogBaseMeasure(Var.Wrap(x.Slice(0, rows * Dimension).ToArray(), rows, Dimension));
        if (h.Rows != rows || h.Cols != 1)
            throw new InvalidOperationException($"Family '{Name}': log h(x) of {rows} row(s) is {h.Rows}×{h.Cols}; expected {rows}×1.");
        var values = h.Values;
        for (int i = 0; i < rows; i++) logBaseMeasure[i] += values[i];
    }

    /// <inheritdoc />
    public override SupportViolation? CheckSupport(ReadOnlySpan<double> x)
    {
        for (int d = 0; d < Dimension; d++)
            if (!_support[d].Contains(x[d])) return new SupportViolation(d, $"{FamilyChecks.Show(x[d])} is not {_support[d].Description}");
        return null;
    }

    // ---- A(η), ∇A ----

    private double EvaluateA(double[] eta) => Differentiation.Value(_declaration.LogNormalizer, eta, 1, eta.Length);

    /// <summary>η(u), evaluated forward only.</summary>
    private double[] NaturalAt(double[] u) => _declaration.Natural.ToNatural(Var.RowVector(u)).ToArray();

    /// <inheritdoc />
    public override double LogNormalizer(ReadOnlySpan<double> eta) => EvaluateA(eta.Slice(0, StatisticCount).ToArray());

    /// <inheritdoc />
    public override void MeanMap(ReadOnlySpan<double> eta, Span<double> mean)
    {
        var g = Differentiation.ValueAndGradient(_declaration.LogNormalizer, eta.Slice(0, StatisticCount).ToArray(), 1, StatisticCount);
        g.Gradient.CopyTo(mean);
    }

    // ---- (∇A)⁻¹ ----

    /// <summary>
    /// η = (∇A)⁻¹(μ), by maximising u ↦ η(u)·μ − A(η(u)) from the declared start. Iterates (see the class
    /// summary); throws <see cref="ArgumentException"/> when the optimiser cannot match μ to 1e-8 relative.
    /// </summary>
    public override void InverseMeanMap(ReadOnlySpan<double> mean, Span<double> eta)
    {
        int s = StatisticCount;
        var mu = mean.Slice(0, s).ToArray();
        if (!IsMeanParameter(mu)) throw new ArgumentException($"Family '{Name}': the mean parameter {FamilyChecks.Format(mu)} is outside the mean domain.", nameof(mean));
        var target = Var.RowVector(mu);
        var domain = _declaration.Natural;
        Func<Var, Var> objective = u =>
        {
            var e = domain.ToNatural(u);
            return (e * target).Sum() - _declaration.LogNormalizer(e);
        };
        var result = Maximizer.Maximize((point, gradient) =>
        {
            var g = Differentiation.ValueAndGradient(objective, point, 1, point.Length);
            g.Gradient.CopyTo(gradient, 0);
            return g.Value;
        }, (double[])_start.Clone(), InverseOptions);
        var found = NaturalAt(result.Point);
        var check = new double[s];
        double error = Polish(mu, found, check);
        double scale = 1;
        foreach (var v in mu) scale = Math.Max(scale, Math.Abs(v));
        if (!(error <= 1e-8 * scale) || !domain.Contains(found))
            throw new ArgumentException(
                $"Family '{Name}': no natural parameter has mean {FamilyChecks.Format(mu)} to 1e-8 (closest ∇A(η) = {FamilyChecks.Format(check)}; optimiser: {result.StopReason}).",
                nameof(mean));
        found.CopyTo(eta);
    }

    /// <summary>
    /// Newton's method on ∇A(η) = μ from the optimiser's answer: the optimiser stops when the objective stops
    /// rising to rounding, which leaves ‖μ − ∇A(η)‖ near √ε; Newton steps η += (∇²A)⁻¹(μ − ∇A(η)) — the
    /// optimiser's own <see cref="NewtonDirection"/>, whose Hessian comes from central differences of the autodiff
    /// gradient — are taken while they shrink the residual and stay in the domain (at most 8). Returns the final
    /// max-norm residual; <paramref name="mean"/> receives ∇A(η).
    /// </summary>
    private double Polish(double[] mu, double[] eta, double[] mean)
    {
        int s = StatisticCount;
        var domain = _declaration.Natural;
        // f(η) = η·μ − A(η), whose gradient is the residual μ − ∇A(η); −∞ outside the domain.
        var objective = new CountingObjective((point, gradient) =>
        {
            if (!domain.Contains(point)) return double.NegativeInfinity;
            var g = Differentiation.ValueAndGradient(_declaration.LogNormalizer, point, 1, s);
            double dot = 0;
            for (int i = 0; i < s; i++)
            {
                gradient[i] = mu[i] - g.Gradient[i];
                dot += point[i] * mu[i];
            }
            return dot - g.Value;
        });
        var newton = new NewtonDirection(objective, s);
        var residualVector = new double[s];
        var step = new double[s];
        var trial = new double[s];
        var trialResidual = new double[s];
        double residual = objective.TryEvaluate(eta, residualVector, out _) ? MaxAbs(residualVector) : double.PositiveInfinity;
        for (int iteration = 0; iteration < 8 && residual > 0 && double.IsFinite(residual); iteration++)
        {
            if (!newton.TryCompute(eta, residualVector, step)) break;
            bool improved = false;
            for (double t = 1; t >= 1.0 / 64 && !improved; t /= 2)
            {
                for (int i = 0; i < s; i++) trial[i] = eta[i] + t * step[i];
                if (!objective.TryEvaluate(trial, trialResidual, out _)) continue;
                double r = MaxAbs(trialResidual);
                if (r < residual)
                {
                    trial.CopyTo(eta, 0);
                    trialResidual.CopyTo(residualVector, 0);
                    residual = r;
                    improved = true;
                }
            }
            if (!improved) break;
        }
        MeanMap(eta, mean);
        return MaxDifference(mu, mean);
    }

    private static double MaxAbs(double[] v)
    {
        double m = 0;
        foreach (var x in v) m = Math.Max(m, Math.Abs(x));
        return double.IsNaN(m) ? double.PositiveInfinity : m;
    }

    private static double MaxDifference(double[] a, double[] b)
    {
        double m = 0;
        for (int i = 0; i < a.Length; i++) m = Math.Max(m, Math.Abs(a[i] - b[i]));
        return double.IsNaN(m) ? double.PositiveInfinity : m;
    }

    /// <inheritdoc />
    public override bool IsNaturalParameter(ReadOnlySpan<double> eta)
    {
        var e = eta.Slice(0, StatisticCount).ToArray();
        return _declaration.Natural.Contains(e) && double.IsFinite(EvaluateA(e));
    }

    /// <inheritdoc />
    public override bool IsMeanParameter(ReadOnlySpan<double> mean)
    {
        var m = mean.Slice(0, StatisticCount).ToArray();
        foreach (var v in m) if (!double.IsFinite(v)) return false;
        return _declaration.MeanDomain?.Invoke(m) ?? true;
    }

    /// <summary>Applies the declared <see cref="FamilyDeclaration.MeanProjection"/>, if any (otherwise μ is left unchanged).</summary>
    public override void ProjectMeanIntoDomain(Span<double> mean, double floor)
    {
        if (_declaration.MeanProjection is not { } project) return;
        var projected = project(mean.Slice(0, StatisticCount).ToArray(), floor);
        if (projected.Length != StatisticCount)
            throw new InvalidOperationException($"Family '{Name}': the mean projection returned {projected.Length} values; expected {StatisticCount}.");
        projected.CopyTo(mean);
    }

    // ---- usual parameters ----

    /// <inheritdoc />
    public override double[] ToNatural(NaturalParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (parameters.Natural.Count != StatisticCount)
            throw new ArgumentException($"Family '{Name}': {parameters.Natural.Count} natural-parameter values given; expected {StatisticCount}.", nameof(parameters));
        if (!_declaration.Natural.Contains(parameters.Natural))
            throw new ArgumentException($"Family '{Name}': η = {FamilyChecks.Format(parameters.Natural)} is outside the natural domain {_declaration.Natural}.", nameof(parameters));
        return parameters.Natural.ToArray();
    }

    /// <inheritdoc />
    public override NaturalParameters FromNatural(ReadOnlySpan<double> eta)
    {
        var mean = new double[StatisticCount];
        MeanMap(eta, mean);
        return new NaturalParameters(eta.Slice(0, StatisticCount).ToArray(), mean);
    }

    // ---- conjugate prior ----

    /// <summary>
    /// The natural conjugate prior log p(η) = η·φ − ν A(η) (an unnormalised kernel in natural coordinates): it acts
    /// as ν pseudo-observations whose statistics sum to φ, so the MAP is (∇A)⁻¹((φ + S)/(ν + R)).
    /// </summary>
    public Priors.ConjugatePrior Conjugate(IReadOnlyList<double> pseudoObservations, double pseudoCount) =>
        Priors.ConjugatePrior.NaturalKernel(this, pseudoObservations, pseudoCount,
            $"natural conjugate (φ = {FamilyChecks.Format(pseudoObservations)}, ν = {pseudoCount:G6})");

    // ---- sampling ----

    /// <inheritdoc />
    public override void Sample(ReadOnlySpan<double> eta, Random random, Span<double> x)
    {
        var sampler = _declaration.Sampler
            ?? throw new NotSupportedException($"Family '{Name}' was declared without a sampler; add one with WithSampler to draw from it.");
        var draw = sampler(eta.Slice(0, StatisticCount).ToArray(), random);
        if (draw.Length != Dimension) throw new InvalidOperationException($"Family '{Name}': the sampler returned {draw.Length} values; expected {Dimension}.");
        draw.CopyTo(x);
    }
}
