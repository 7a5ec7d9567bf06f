using EmDsl.Families.Priors;
using EmDsl.Numerics;

namespace EmDsl.Families;

/// <summary>Mean directions μ_d (radians) and concentrations κ_d ≥ 0 of D independent von Mises (circular) columns.</summary>
public sealed record VonMisesParameters
{
    private readonly double[] _directions;
    private readonly double[] _kappas;

    /// <summary>
    /// Creates the parameters: one finite mean direction (radians, any real; read modulo 2π) and one finite
    /// concentration ≥ 0 per column. κ = 0 is the uniform distribution on the circle (its direction is immaterial).
    /// </summary>
    public VonMisesParameters(IEnumerable<double> meanDirections, IEnumerable<double> concentrations)
    {
        _directions = FamilyChecks.Vector(meanDirections, -1, nameof(meanDirections), double.IsFinite, "finite");
        _kappas = FamilyChecks.Vector(concentrations, _directions.Length, nameof(concentrations), v => v >= 0 && double.IsFinite(v), "finite and ≥ 0");
    }

    /// <summary>μ_d, the mean directions in radians.</summary>
    public IReadOnlyList<double> MeanDirections => _directions;

    /// <summary>κ_d, the concentrations.</summary>
    public IReadOnlyList<double> Concentrations => _kappas;

    /// <summary>Value equality over the directions and concentrations.</summary>
    public bool Equals(VonMisesParameters? other) =>
        other is not null && _directions.AsSpan().SequenceEqual(other._directions) && _kappas.AsSpan().SequenceEqual(other._kappas);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(FamilyChecks.Hash(_directions), FamilyChecks.Hash(_kappas));

    /// <inheritdoc />
    public override string ToString() =>
        $"VonMisesParameters {{ MeanDirections = {FamilyChecks.Format(_directions)}, Concentrations = {FamilyChecks.Format(_kappas)} }}";
}

/// <summary>
/// D independent von Mises columns of angles in radians (any finite real, read modulo 2π), with mean direction
/// μ_d and concentration κ_d ≥ 0:
/// <code>p(x | μ, κ) = Π_d exp(κ_d cos(x_d − μ_d)) / (2π I₀(κ_d))</code>
/// T(x) = (cos x_0, sin x_0, cos x_1, sin x_1, …) — two statistics per column, interleaved — h(x) = 1,
/// η = (κ_0 cos μ_0, κ_0 sin μ_0, …), κ_d = |η_d|, A(η) = Σ_d log(2π I₀(κ_d)),
/// ∇A(η) = A₁(κ_d) · (cos μ_d, sin μ_d) with A₁ = I₁/I₀ (the mean resultant length).
/// Bessel functions are evaluated exponentially scaled (<see cref="SpecialFunctions.BesselI0Scaled"/>), so
/// concentrations of 10⁴ and far beyond neither overflow nor lose accuracy.
/// <para>
/// (∇A)⁻¹: the direction is atan2 of the mean sine and cosine, and κ = A₁⁻¹(R̄) for the mean resultant length
/// R̄ = |μ| (mean domain: R̄ &lt; 1), solved by Newton in <see cref="FromMeanResultant"/>.
/// </para>
/// <para>
/// Prior: the natural conjugate kernel (<see cref="ConjugatePrior.NaturalKernel"/>), built from ν pseudo-observations
/// like a reference von Mises (<see cref="Conjugate"/>); <see cref="WeakPrior"/> is 0.01 of an observation like
/// the uniform distribution on the circle (φ = 0), which shrinks R̄ by R/(R + ν) and so keeps κ finite when a
/// component holds a single distinct angle.
/// </para>
/// </summary>
public sealed class VonMisesFamily : ExponentialFamily<VonMisesParameters>
{
    /// <summary>Residual |A₁(κ) − R̄| / R̄ at which <see cref="ConcentrationFromMeanResultantLength"/> stops (a few ulps).</summary>
    public const double InverseTolerance = 1e-15;

    private static readonly double LogTwoPi = Math.Log(2 * Math.PI);

    /// <summary>A family over <paramref name="dimension"/> angle columns.</summary>
    public VonMisesFamily(int dimension)
    {
        FamilyChecks.Positive(dimension, nameof(dimension));
        Dimension = dimension;
    }

    /// <inheritdoc />
    public override string Name => "von Mises";

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
            var (sin, cos) = Math.SinCos(x[d]);
            statistics[2 * d] = cos;
            statistics[2 * d + 1] = sin;
        }
    }

    /// <inheritdoc />
    public override double LogBaseMeasure(ReadOnlySpan<double> x) => 0;

    /// <summary>Any finite angle (radians) is in the support.</summary>
    public override SupportViolation? CheckSupport(ReadOnlySpan<double> x)
    {
        for (int d = 0; d < Dimension; d++)
            if (!double.IsFinite(x[d])) return new SupportViolation(d, $"{FamilyChecks.Show(x[d])} is not a finite angle (radians)");
        return null;
    }

    // ---- A(η), ∇A ----

    /// <inheritdoc />
    public override double LogNormalizer(ReadOnlySpan<double> eta)
    {
        double a = 0;
        for (int d = 0; d < Dimension; d++) a += LogTwoPi + SpecialFunctions.LogBesselI0(Kappa(eta, d));
        return a;
    }

    /// <inheritdoc />
    public override void MeanMap(ReadOnlySpan<double> eta, Span<double> mean)
    {
        for (int d = 0; d < Dimension; d++)
        {
            double kappa = Kappa(eta, d);
            if (kappa == 0) { mean[2 * d] = 0; mean[2 * d + 1] = 0; continue; }
            double ratio = MeanResultantLength(kappa) / kappa;
            mean[2 * d] = ratio * eta[2 * d];
            mean[2 * d + 1] = ratio * eta[2 * d + 1];
        }
    }

    private static double Kappa(ReadOnlySpan<double> eta, int d) => double.Hypot(eta[2 * d], eta[2 * d + 1]);

    /// <summary>
    /// A₁(κ) = I₁(κ)/I₀(κ), the mean resultant length E[cos(x − μ)] of a von Mises with concentration κ ≥ 0: 0 at κ = 0,
    /// ≈ κ/2 for small κ, ≈ 1 − 1/(2κ) for large κ.
    /// </summary>
    public static double MeanResultantLength(double concentration)
    {
        if (!(concentration >= 0)) throw new ArgumentOutOfRangeException(nameof(concentration), concentration, "The concentration κ must be ≥ 0.");
        if (double.IsPositiveInfinity(concentration)) return 1;
        return SpecialFunctions.BesselRatioI1I0(concentration, out _);
    }

    // ---- (∇A)⁻¹ ----

    /// <summary>For each column, (μ, κ) = <see cref="FromMeanResultant"/>(μ_2d, μ_2d+1) and η = κ(cos μ, sin μ).</summary>
    /// <exception cref="ArgumentException">μ is outside the mean domain (R̄ ≥ 1), or the iteration did not converge.</exception>
    public override void InverseMeanMap(ReadOnlySpan<double> mean, Span<double> eta)
    {
        if (!IsMeanParameter(mean))
            throw new ArgumentException("von Mises mean parameters (mean cosine, mean sine) must be finite with mean resultant length < 1.", nameof(mean));
        for (int d = 0; d < Dimension; d++)
        {
            double c = mean[2 * d], s = mean[2 * d + 1], rbar = double.Hypot(c, s);
            double kappa = ConcentrationFromMeanResultantLength(rbar);
            // η = κ (c, s)/R̄, the direction without a trigonometric round trip.
            eta[2 * d] = rbar == 0 ? 0 : kappa * (c / rbar);
            eta[2 * d + 1] = rbar == 0 ? 0 : kappa * (s / rbar);
        }
    }

    /// <summary>
    /// The maximum-likelihood von Mises for angles whose mean cosine and mean sine are given: the mean direction is
    /// atan2(<paramref name="meanSin"/>, <paramref name="meanCos"/>) (0 when both are 0) and the concentration is
    /// A₁⁻¹(R̄) for the mean resultant length R̄ = √(meanCos² + meanSin²) &lt; 1
    /// (see <see cref="ConcentrationFromMeanResultantLength"/>).
    /// </summary>
    /// <returns>The mean direction in (−π, π] and the concentration κ ≥ 0.</returns>
    /// <exception cref="ArgumentException">A value is not finite, R̄ ≥ 1, or the iteration did not converge.</exception>
    public static (double MeanDirection, double Concentration) FromMeanResultant(double meanCos, double meanSin)
    {
        if (!double.IsFinite(meanCos) || !double.IsFinite(meanSin))
            throw new ArgumentException($"The mean cosine and sine must be finite; got {meanCos}, {meanSin}.");
        double rbar = double.Hypot(meanCos, meanSin);
        return (rbar == 0 ? 0 : Math.Atan2(meanSin, meanCos), ConcentrationFromMeanResultantLength(rbar));
    }

    /// <summary>
    /// κ = A₁⁻¹(R̄) for 0 ≤ R̄ &lt; 1 (R̄ = 0 gives κ = 0). Newton's method,
    /// κ ← κ − (A₁(κ) − R̄)/A₁′(κ) with A₁′(κ) = 1 − A₁/κ − A₁², from Best and Fisher's (1981) approximation
    /// (2R̄ + R̄³ + 5R̄⁵/6 below 0.53; −0.4 + 1.39R̄ + 0.43/(1 − R̄) below 0.85; 1/(R̄(1 − R̄)(3 − R̄)) above).
    /// A₁ is increasing and concave, so after the first step Newton approaches the root monotonically from below;
    /// a bracket with bisection guards the rest. It stops when |A₁(κ) − R̄| ≤ <see cref="InverseTolerance"/>·R̄
    /// (typically in three to five steps). For large κ, A₁′ ≈ 1/(2κ²) is taken from the asymptotic expansions
    /// of the scaled Bessel functions, not from the cancelling formula.
    /// </summary>
    /// <exception cref="ArgumentException">R̄ is not in [0, 1), or the iteration did not converge.</exception>
    public static double ConcentrationFromMeanResultantLength(double meanResultantLength)
    {
        double rbar = meanResultantLength;
        if (!(rbar >= 0 && rbar < 1))
            throw new ArgumentException($"The mean resultant length must be in [0, 1); got {rbar}.", nameof(meanResultantLength));
        if (rbar == 0) return 0;
        double kappa = rbar < 0.53 ? 2 * rbar + rbar * rbar * rbar + 5 * Math.Pow(rbar, 5) / 6
            : rbar < 0.85 ? -0.4 + 1.39 * rbar + 0.43 / (1 - rbar)
            : 1 / (rbar * (1 - rbar) * (3 - rbar));
        double lo = 0, hi = double.PositiveInfinity; // A₁(lo) < R̄ < A₁(hi)
        double tolerance = InverseTolerance * rbar;
        for (int iteration = 0; iteration < 200; iteration++)
        {
            double a = SpecialFunctions.BesselRatioI1I0(kappa, out double slope);
            double residual = a - rbar;
            if (Math.Abs(residual) <= tolerance) return kappa;
            if (residual < 0) lo = kappa; else hi = kappa;
            double next = kappa - residual / slope;
            if (!(next > lo && next < hi) || !double.IsFinite(next))
                next = double.IsPositiveInfinity(hi) ? 2 * lo : 0.5 * (lo + hi);
            if (next == kappa) break;
            kappa = next;
        }
        double final = SpecialFunctions.BesselRatioI1I0(kappa, out _) - rbar;
        // At the end of the bracket A₁ cannot come closer to R̄ than its own rounding (~1e-16).
        if (Math.Abs(final) <= 1e-13 * rbar) return kappa;
        throw new ArgumentException($"The von Mises concentration iteration for R̄ = {rbar} did not converge (κ = {kappa}, residual {final}).");
    }

    /// <inheritdoc />
    public override bool IsNaturalParameter(ReadOnlySpan<double> eta)
    {
        for (int d = 0; d < Dimension; d++)
            if (!double.IsFinite(eta[2 * d]) || !double.IsFinite(eta[2 * d + 1]) || !double.IsFinite(Kappa(eta, d))) return false;
        return true;
    }

    /// <inheritdoc />
    public override bool IsMeanParameter(ReadOnlySpan<double> mean)
    {
        for (int d = 0; d < Dimension; d++)
        {
            double c = mean[2 * d], s = mean[2 * d + 1];
            if (!double.IsFinite(c) || !double.IsFinite(s) || !(double.Hypot(c, s) < 1)) return false;
        }
        return true;
    }

    /// <summary>
    /// Per column, shrinks the mean resultant vector toward 0 so that R̄ ≤ 1 − √<paramref name="floor"/> (κ stays below
    /// about 1/(2√floor), 5·10⁴ at the default floor 1e-10); the direction and interior means are unchanged.
    /// A component on one distinct angle has no maximum-likelihood κ; this margin bounds it, and a wider bound would
    /// let the engine's log densities η·T(x) − A(η) lose more than ~1e-10 to rounding. Lower
    /// <c>FitOptions.ProbabilityFloor</c> to allow larger concentrations.
    /// </summary>
    public override void ProjectMeanIntoDomain(Span<double> mean, double floor)
    {
        double margin = Math.Sqrt(floor);
        for (int d = 0; d < Dimension; d++)
        {
            double c = mean[2 * d], s = mean[2 * d + 1], rbar = double.Hypot(c, s);
            if (!(rbar > 1 - margin) || !double.IsFinite(rbar)) continue;
            double scale = (1 - margin) / rbar;
            mean[2 * d] = c * scale;
            mean[2 * d + 1] = s * scale;
            while (!(double.Hypot(mean[2 * d], mean[2 * d + 1]) < 1))
            {
                mean[2 * d] = Math.BitDecrement(Math.Abs(mean[2 * d])) * Math.Sign(c);
                mean[2 * d + 1] = Math.BitDecrement(Math.Abs(mean[2 * d + 1])) * Math.Sign(s);
            }
        }
    }

    // ---- usual parameters ----

    /// <inheritdoc />
    public override double[] ToNatural(VonMisesParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (parameters.Concentrations.Count != Dimension)
            throw new ArgumentException($"Expected {Dimension} von Mises (direction, concentration) pairs, got {parameters.Concentrations.Count}.", nameof(parameters));
        var eta = new double[StatisticCount];
        for (int d = 0; d < Dimension; d++)
        {
            var (sin, cos) = Math.SinCos(parameters.MeanDirections[d]);
            eta[2 * d] = parameters.Concentrations[d] * cos;
            eta[2 * d + 1] = parameters.Concentrations[d] * sin;
        }
        return eta;
    }

    /// <summary>κ_d = |η_d| and μ_d = atan2(η_2d+1, η_2d) in (−π, π] (0 when κ_d = 0).</summary>
    public override VonMisesParameters FromNatural(ReadOnlySpan<double> eta)
    {
        var directions = new double[Dimension];
        var kappas = new double[Dimension];
        for (int d = 0; d < Dimension; d++)
        {
            kappas[d] = Kappa(eta, d);
            directions[d] = kappas[d] == 0 ? 0 : Math.Atan2(eta[2 * d + 1], eta[2 * d]);
        }
        return new VonMisesParameters(directions, kappas);
    }

    // ---- conjugate prior ----

    /// <summary>
    /// The natural conjugate prior worth <paramref name="pseudoCount"/> observations that look, on average, like
    /// draws from <paramref name="reference"/>: φ = ν·A₁(κ₀)(cos μ₀, sin μ₀) per column, log p(η) = η·φ − ν A(η)
    /// (in the usual parameters Π_d exp(ν κ_d A₁(κ₀) cos(μ_d − μ₀)) / I₀(κ_d)^ν, up to a constant, Guttorp and
    /// Lockhart's conjugate prior). With no data its MAP estimate is the reference.
    /// </summary>
    /// <exception cref="ArgumentException">The reference has the wrong number of columns, or ν is not finite and positive.</exception>
    public ConjugatePrior Conjugate(VonMisesParameters reference, double pseudoCount)
    {
        ArgumentNullException.ThrowIfNull(reference);
        if (reference.Concentrations.Count != Dimension)
            throw new ArgumentException($"The reference von Mises has {reference.Concentrations.Count} columns; the family has {Dimension}.", nameof(reference));
        var phi = new double[StatisticCount];
        for (int d = 0; d < Dimension; d++)
        {
            double r = pseudoCount * MeanResultantLength(reference.Concentrations[d]);
            var (sin, cos) = Math.SinCos(reference.MeanDirections[d]);
            phi[2 * d] = r * cos;
            phi[2 * d + 1] = r * sin;
        }
        return ConjugatePrior.NaturalKernel(this, phi, pseudoCount, FormattableString.Invariant($"natural conjugate: {pseudoCount:R} pseudo-observations like {reference}"));
    }

    /// <summary>
    /// A weak default prior: <paramref name="pseudoCount"/> (default 0.01) pseudo-observations per column like the
    /// uniform distribution on the circle (φ = 0). The MAP mean resultant vector is S/(R + ν), so κ stays finite for
    /// a component on one distinct angle and moves by a relative ~ν/R otherwise.
    /// </summary>
    public ConjugatePrior WeakPrior(double pseudoCount = 0.01) =>
        Conjugate(new VonMisesParameters(new double[Dimension], new double[Dimension]), pseudoCount);

    // ---- sampling ----

    /// <summary>
    /// Best and Fisher's (1979) wrapped-Cauchy rejection sampler, with NumPy's conventions: κ &lt; 1e-8 draws uniformly,
    /// κ &gt; 1e6 draws the normal approximation μ + N(0, 1/κ) (its mean resultant length differs from A₁(κ) by
    /// about 1/(4κ²)). Angles are returned in [−π, π).
    /// </summary>
    public override void Sample(ReadOnlySpan<double> eta, Random random, Span<double> x)
    {
        for (int d = 0; d < Dimension; d++)
        {
            double kappa = Kappa(eta, d), mu = kappa == 0 ? 0 : Math.Atan2(eta[2 * d + 1], eta[2 * d]);
            x[d] = Wrap(mu + SampleOffset(kappa, random));
        }
    }

    private static double SampleOffset(double kappa, Random random)
    {
        if (kappa < 1e-8) return Math.PI * (2 * random.NextDouble() - 1);
        if (kappa > 1e6) return MathNet.Numerics.Distributions.Normal.Sample(random, 0, 1) / Math.Sqrt(kappa);
        double s;
        if (kappa < 1e-5) s = 1 / kappa + kappa;
        else
        {
            double r = 1 + Math.Sqrt(1 + 4 * kappa * kappa);
            double rho = (r - Math.Sqrt(2 * r)) / (2 * kappa);
            s = (1 + rho * rho) / (2 * rho);
        }
        double w;
        while (true)
        {
            double z = Math.Cos(Math.PI * random.NextDouble());
            w = (1 + s * z) / (s + z);
            double y = kappa * (s - w);
            double v = 1 - random.NextDouble(); // (0, 1]
            if (y * (2 - y) - v >= 0 || Math.Log(y / v) + 1 - y >= 0) break;
        }
        double angle = Math.Acos(Math.Clamp(w, -1, 1));
        return random.NextDouble() < 0.5 ? -angle : angle;
    }

    /// <summary>An angle in [−π, π).</summary>
    private static double Wrap(double angle)
    {
        double t = Math.IEEERemainder(angle, 2 * Math.PI); // in [−π, π]
        return t >= Math.PI ? t - 2 * Math.PI : t;
    }
}
