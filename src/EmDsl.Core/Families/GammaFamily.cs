using EmDsl.Families.Priors;
using EmDsl.Numerics;

namespace EmDsl.Families;

/// <summary>Shapes α_d &gt; 0 and rates β_d &gt; 0 of D independent Gamma columns (mean α_d/β_d).</summary>
public sealed record GammaParameters
{
    private readonly double[] _shapes;
    private readonly double[] _rates;

    /// <summary>Creates the parameters; shapes and rates must be finite and positive, one of each per column.</summary>
    public GammaParameters(IEnumerable<double> shapes, IEnumerable<double> rates)
    {
        _shapes = FamilyChecks.Vector(shapes, -1, nameof(shapes), v => v > 0 && double.IsFinite(v), "finite and > 0");
        _rates = FamilyChecks.Vector(rates, _shapes.Length, nameof(rates), v => v > 0 && double.IsFinite(v), "finite and > 0");
    }

    /// <summary>α_d, the shapes.</summary>
    public IReadOnlyList<double> Shapes => _shapes;

    /// <summary>β_d, the rates (inverse scales).</summary>
    public IReadOnlyList<double> Rates => _rates;

    /// <summary>E[x_d] = α_d/β_d.</summary>
    public IReadOnlyList<double> Means => _shapes.Zip(_rates, (a, b) => a / b).ToArray();

    /// <summary>Value equality over the shapes and rates.</summary>
    public bool Equals(GammaParameters? other) =>
        other is not null && _shapes.AsSpan().SequenceEqual(other._shapes) && _rates.AsSpan().SequenceEqual(other._rates);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(FamilyChecks.Hash(_shapes), FamilyChecks.Hash(_rates));

    /// <inheritdoc />
    public override string ToString() => $"GammaParameters {{ Shapes = {FamilyChecks.Format(_shapes)}, Rates = {FamilyChecks.Format(_rates)} }}";
}

/// <summary>
/// D independent Gamma columns, x_d &gt; 0, with shape α_d and rate β_d:
/// <code>p(x | α, β) = Π_d β_d^{α_d} x_d^{α_d − 1} e^{−β_d x_d} / Γ(α_d)</code>
/// T(x) = (x_0, log x_0, x_1, log x_1, …) — two statistics per column, interleaved — h(x) = 1,
/// η = (−β_0, α_0 − 1, −β_1, α_1 − 1, …), A(η) = Σ_d log Γ(α_d) − α_d log β_d,
/// ∇A(η) = (α_d/β_d, ψ(α_d) − log β_d) per column.
/// <para>
/// (∇A)⁻¹ has no closed form: given a column's mean m and mean log l (mean domain: m &gt; 0 and log m &gt; l,
/// which Jensen's inequality gives for any data that are not all equal) the shape solves
/// log α − ψ(α) = log m − l and the rate is α/m. <see cref="FromMeanAndMeanLog"/> solves it by Minka's
/// generalized Newton iteration (T. Minka, "Estimating a Gamma distribution", 2002) to a relative residual of
/// 1e-14 in that equation (the gradient of η·μ − A(η); the rate makes the other component exactly zero).
/// </para>
/// <para>
/// Prior: the natural conjugate kernel (<see cref="ConjugatePrior.NaturalKernel"/>), built from ν pseudo-observations
/// that look like a reference Gamma distribution (<see cref="Conjugate"/>); <see cref="WeakPrior"/> is 0.01 of an
/// observation like an Exponential of mean 1, which keeps a component on a single distinct value at a finite shape.
/// Precision: η stores α − 1, so shapes far below 1e-3 keep fewer significant digits after a round trip through η.
/// </para>
/// </summary>
public sealed class GammaFamily : ExponentialFamily<GammaParameters>
{
    /// <summary>Residual |log α − ψ(α) − (log m − l)| / (log m − l) at which <see cref="FromMeanAndMeanLog"/> stops.</summary>
    public const double InverseTolerance = 1e-14;

    /// <summary>A family over <paramref name="dimension"/> positive columns.</summary>
    public GammaFamily(int dimension)
    {
        FamilyChecks.Positive(dimension, nameof(dimension));
        Dimension = dimension;
    }

    /// <inheritdoc />
    public override string Name => "Gamma";

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
            statistics[2 * d] = x[d];
            statistics[2 * d + 1] = Math.Log(x[d]);
        }
    }

    /// <inheritdoc />
    public override double LogBaseMeasure(ReadOnlySpan<double> x) => 0;

    /// <inheritdoc />
    public override SupportViolation? CheckSupport(ReadOnlySpan<double> x)
    {
        for (int d = 0; d < Dimension; d++)
            if (!(x[d] > 0) || !double.IsFinite(x[d]))
                return new SupportViolation(d, $"{FamilyChecks.Show(x[d])} is not a finite positive number; Gamma values must be > 0");
        return null;
    }

    // ---- A(η), ∇A ----

    /// <inheritdoc />
    public override double LogNormalizer(ReadOnlySpan<double> eta)
    {
        double a = 0;
        for (int d = 0; d < Dimension; d++)
        {
            double shape = eta[2 * d + 1] + 1;
            a += SpecialFunctions.LogGamma(shape) - shape * Math.Log(-eta[2 * d]);
        }
        return a;
    }

    /// <inheritdoc />
    public override void MeanMap(ReadOnlySpan<double> eta, Span<double> mean)
    {
        for (int d = 0; d < Dimension; d++)
        {
            double shape = eta[2 * d + 1] + 1, rate = -eta[2 * d];
            mean[2 * d] = shape / rate;
            mean[2 * d + 1] = SpecialFunctions.Digamma(shape) - Math.Log(rate);
        }
    }

    // ---- (∇A)⁻¹ ----

    /// <summary>
    /// For each column, (shape, rate) = <see cref="FromMeanAndMeanLog"/>(μ_2d, μ_2d+1) and η = (−rate, shape − 1).
    /// </summary>
    /// <exception cref="ArgumentException">μ is outside the mean domain, or the iteration did not converge.</exception>
    public override void InverseMeanMap(ReadOnlySpan<double> mean, Span<double> eta)
    {
        if (!IsMeanParameter(mean))
            throw new ArgumentException("Gamma mean parameters need, per column, a finite mean m > 0 and a finite mean log l < log m.", nameof(mean));
        for (int d = 0; d < Dimension; d++)
        {
            var (shape, rate) = FromMeanAndMeanLog(mean[2 * d], mean[2 * d + 1]);
            eta[2 * d] = -rate;
            eta[2 * d + 1] = shape - 1;
        }
    }

    /// <summary>
    /// The maximum-likelihood Gamma for data with mean <paramref name="mean"/> and mean log <paramref name="meanLog"/>
    /// (the inverse mean map of one column). Solves log α − ψ(α) = s with s = log m − l &gt; 0 by Minka's generalized
    /// Newton iteration, which fits g(α) ≈ c₀ + c₁/α at the current α and jumps to that model's root:
    /// <code>1/α_new = 1/α + (g(α) − s) / (α² g′(α)),   g(α) = log α − ψ(α)</code>
    /// starting from Minka's α₀ = (3 − s + √((s − 3)² + 24 s)) / (12 s). It converges in about four iterations;
    /// it stops when |g(α) − s| ≤ <see cref="InverseTolerance"/>·s, safeguarded by bisection on log α (g is
    /// decreasing). g is evaluated by <see cref="SpecialFunctions.LogMinusDigamma"/>, which is accurate for huge α
    /// (near-constant data, s → 0, α ≈ 1/(2s)) as well as tiny α (s → ∞, α ≈ 1/s). The rate is α/m.
    /// </summary>
    /// <returns>The shape α and rate β.</returns>
    /// <exception cref="ArgumentException">m or l is not finite, m ≤ 0, log m ≤ l, the rate overflows, or the iteration fails to converge.</exception>
    public static (double Shape, double Rate) FromMeanAndMeanLog(double mean, double meanLog)
    {
        if (!(mean > 0) || !double.IsFinite(mean) || !double.IsFinite(meanLog))
            throw new ArgumentException($"A Gamma mean must be finite and > 0 and its mean log finite; got mean {mean}, mean log {meanLog}.");
        double s = Math.Log(mean) - meanLog;
        if (!(s > 0))
            throw new ArgumentException($"log(mean) − mean log = {s} must be > 0 (data that are all equal have no maximum-likelihood Gamma); mean {mean}, mean log {meanLog}.");
        double shape = SolveShape(s);
        double rate = shape / mean;
        if (!(rate > 0) || !double.IsFinite(rate))
            throw new ArgumentException($"The Gamma rate α/m = {shape}/{mean} is not a finite positive number.");
        return (shape, rate);
    }

    /// <summary>The α &gt; 0 with log α − ψ(α) = s, for s &gt; 0 (see <see cref="FromMeanAndMeanLog"/>).</summary>
    internal static double SolveShape(double s)
    {
        double alpha = (3 - s + Math.Sqrt((s - 3) * (s - 3) + 24 * s)) / (12 * s);
        if (!(alpha > 0) || !double.IsFinite(alpha)) alpha = s < 1 ? 0.5 / s : 1 / s;
        double lo = 0, hi = double.PositiveInfinity; // g(lo) > s > g(hi)
        double residual = double.NaN;
        for (int iteration = 0; iteration < 200; iteration++)
        {
            double g = SpecialFunctions.LogMinusDigammaWithDerivative(alpha, out double dg);
            residual = g - s;
            if (Math.Abs(residual) <= InverseTolerance * s) return alpha;
            if (residual > 0) lo = alpha; else hi = alpha;
            double inverse = 1 / alpha + residual / (alpha * alpha * dg);
            double next = 1 / inverse;
            if (!(next > lo && next < hi) || !double.IsFinite(next))
                next = double.IsPositiveInfinity(hi) ? 2 * lo : lo == 0 ? hi / 2 : Math.Sqrt(lo * hi);
            if (next == alpha) break;
            alpha = next;
        }
        // The bracket cannot shrink further: accept only an answer as good as double precision allows.
        double final = SpecialFunctions.LogMinusDigamma(alpha) - s;
        if (Math.Abs(final) <= 1e-12 * s) return alpha;
        throw new ArgumentException($"The Gamma shape iteration for log(mean) − mean log = {s} did not converge (residual {final}, shape {alpha}).");
    }

    /// <inheritdoc />
    public override bool IsNaturalParameter(ReadOnlySpan<double> eta)
    {
        for (int d = 0; d < Dimension; d++)
        {
            double e1 = eta[2 * d], e2 = eta[2 * d + 1];
            if (!(e1 < 0) || !double.IsFinite(e1) || !(e2 > -1) || !double.IsFinite(e2)) return false;
        }
        return true;
    }

    /// <inheritdoc />
    public override bool IsMeanParameter(ReadOnlySpan<double> mean)
    {
        for (int d = 0; d < Dimension; d++)
        {
            double m = mean[2 * d], l = mean[2 * d + 1];
            if (!(m > 0) || !double.IsFinite(m) || !double.IsFinite(l) || !(Math.Log(m) - l > 0)) return false;
        }
        return true;
    }

    /// <summary>
    /// Per column, raises the mean to at least <paramref name="floor"/> and lowers the mean log to at most
    /// log(mean) − √<paramref name="floor"/>, so the shape stays below about 1/(2√floor) + 1/6 (5·10⁴ at the default
    /// floor 1e-10); interior means are unchanged.
    /// A component on one distinct value has no maximum-likelihood estimate; this margin bounds its shape, and a wider
    /// bound would let the engine's log densities η·T(x) − A(η) lose more than ~1e-10 to rounding. Lower
    /// <c>FitOptions.ProbabilityFloor</c> to allow larger shapes.
    /// </summary>
    public override void ProjectMeanIntoDomain(Span<double> mean, double floor)
    {
        double margin = Math.Sqrt(floor);
        for (int d = 0; d < Dimension; d++)
        {
            double m = Math.Max(mean[2 * d], floor);
            mean[2 * d] = m;
            mean[2 * d + 1] = Math.Min(mean[2 * d + 1], Math.Log(m) - margin);
        }
    }

    // ---- usual parameters ----

    /// <inheritdoc />
    public override double[] ToNatural(GammaParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (parameters.Shapes.Count != Dimension)
            throw new ArgumentException($"Expected {Dimension} Gamma shapes and rates, got {parameters.Shapes.Count}.", nameof(parameters));
        var eta = new double[StatisticCount];
        for (int d = 0; d < Dimension; d++)
        {
            eta[2 * d] = -parameters.Rates[d];
            eta[2 * d + 1] = parameters.Shapes[d] - 1;
        }
        return eta;
    }

    /// <inheritdoc />
    public override GammaParameters FromNatural(ReadOnlySpan<double> eta)
    {
        var shapes = new double[Dimension];
        var rates = new double[Dimension];
        for (int d = 0; d < Dimension; d++)
        {
            rates[d] = -eta[2 * d];
            shapes[d] = eta[2 * d + 1] + 1;
        }
        return new GammaParameters(shapes, rates);
    }

    // ---- conjugate prior ----

    /// <summary>
    /// The natural conjugate prior worth <paramref name="pseudoCount"/> observations that look, on average, like
    /// draws from <paramref name="reference"/>: φ = ν·E_ref[T(x)] = ν·(α₀/β₀, ψ(α₀) − log β₀) per column, and
    /// log p(η) = η·φ − ν A(η). With no data its MAP estimate is the reference itself; with data the MAP mean
    /// statistics are (φ + S)/(ν + R). In the usual parameters the kernel is
    /// Π_d β_d^{να_d} e^{−β_d φ_{2d}} e^{(α_d − 1) φ_{2d+1}} / Γ(α_d)^ν.
    /// </summary>
    /// <exception cref="ArgumentException">The reference has the wrong number of columns, or ν is not finite and positive.</exception>
    public ConjugatePrior Conjugate(GammaParameters reference, double pseudoCount)
    {
        ArgumentNullException.ThrowIfNull(reference);
        if (reference.Shapes.Count != Dimension)
            throw new ArgumentException($"The reference Gamma has {reference.Shapes.Count} columns; the family has {Dimension}.", nameof(reference));
        var phi = new double[StatisticCount];
        for (int d = 0; d < Dimension; d++)
        {
            double a = reference.Shapes[d], b = reference.Rates[d];
            phi[2 * d] = pseudoCount * a / b;
            phi[2 * d + 1] = pseudoCount * (SpecialFunctions.Digamma(a) - Math.Log(b));
        }
        return ConjugatePrior.NaturalKernel(this, phi, pseudoCount, FormattableString.Invariant($"natural conjugate: {pseudoCount:R} pseudo-observations like {reference}"));
    }

    /// <summary>
    /// A weak default prior: <paramref name="pseudoCount"/> (default 0.01) pseudo-observations per column that look
    /// like an Exponential with mean <paramref name="typicalValue"/> (Gamma(1, 1/typicalValue)). It barely moves
    /// estimates from many rows, but keeps the shape finite when a component holds a single distinct value.
    /// </summary>
    public ConjugatePrior WeakPrior(double typicalValue = 1, double pseudoCount = 0.01)
    {
        if (!(typicalValue > 0) || !double.IsFinite(typicalValue))
            throw new ArgumentOutOfRangeException(nameof(typicalValue), typicalValue, "The typical value must be finite and > 0.");
        return Conjugate(new GammaParameters(Enumerable.Repeat(1.0, Dimension), Enumerable.Repeat(1 / typicalValue, Dimension)), pseudoCount);
    }

    // ---- sampling ----

    /// <summary>
    /// Draws each column from Gamma(α_d, β_d), in log space (MathNet's Marsaglia–Tsang draw of Gamma(α + 1) times
    /// U^{1/α} for α &lt; 1), so tiny shapes do not round draws to 0; a draw below the smallest positive double
    /// (possible only for shapes ≲ 0.01) is returned as that double.
    /// </summary>
    public override void Sample(ReadOnlySpan<double> eta, Random random, Span<double> x)
    {
        for (int d = 0; d < Dimension; d++)
        {
            double logX = LogStandardGamma(random, eta[2 * d + 1] + 1) - Math.Log(-eta[2 * d]);
            x[d] = Math.Max(Math.Exp(logX), double.Epsilon);
        }
    }

    /// <summary>log of a Gamma(shape, 1) draw, in log space for shape &lt; 1 (shared with the Beta and Dirichlet samplers).</summary>
    internal static double LogStandardGamma(Random random, double shape)
    {
        if (shape >= 1) return Math.Log(MathNet.Numerics.Distributions.Gamma.Sample(random, shape, 1));
        double boosted = MathNet.Numerics.Distributions.Gamma.Sample(random, shape + 1, 1);
        return Math.Log(boosted) + Math.Log(1 - random.NextDouble()) / shape;
    }
}
