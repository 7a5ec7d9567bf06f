using EmDsl.Families.Priors;
using EmDsl.Numerics;

namespace EmDsl.Families;

/// <summary>Concentrations α_i &gt; 0 of a Dirichlet distribution over D ≥ 2 proportions.</summary>
public sealed record DirichletParameters
{
    private readonly double[] _alpha;

    /// <summary>Creates the parameters: at least two concentrations, each finite and positive.</summary>
    public DirichletParameters(IEnumerable<double> concentrations)
    {
        _alpha = FamilyChecks.Vector(concentrations, -1, nameof(concentrations), v => v > 0 && double.IsFinite(v), "finite and > 0");
        if (_alpha.Length < 2)
            throw new ArgumentException($"A Dirichlet distribution needs at least two concentrations; got {_alpha.Length}.", nameof(concentrations));
    }

    /// <summary>α_i, the concentrations.</summary>
    public IReadOnlyList<double> Concentrations => _alpha;

    /// <summary>E[x_i] = α_i / Σα.</summary>
    public IReadOnlyList<double> Means
    {
        get
        {
            double total = _alpha.Sum();
            return _alpha.Select(a => a / total).ToArray();
        }
    }

    /// <summary>Value equality over the concentrations.</summary>
    public bool Equals(DirichletParameters? other) => other is not null && _alpha.AsSpan().SequenceEqual(other._alpha);

    /// <inheritdoc />
    public override int GetHashCode() => FamilyChecks.Hash(_alpha);

    /// <inheritdoc />
    public override string ToString() => $"DirichletParameters {{ Concentrations = {FamilyChecks.Format(_alpha)} }}";
}

/// <summary>
/// One observation of D ≥ 2 proportions on the simplex (each x_i in (0, 1), Σ x_i = 1 within
/// <see cref="SimplexTolerance"/>), over D columns:
/// <code>p(x | α) = Γ(Σ α_i) / Π Γ(α_i) · Π x_i^{α_i − 1}</code>
/// T(x) = (log x_1, …, log x_D), h(x) = 1, η = α − 1, A(η) = Σ log Γ(α_i) − log Γ(Σ α_i),
/// ∇A(η) = ψ(α_i) − ψ(Σ α).
/// <para>
/// (∇A)⁻¹ has no closed form. Given mean logs m (mean domain: Σ e^{m_i} &lt; 1, which Jensen's inequality gives for
/// data that are not all equal) <see cref="FromMeanLog"/> solves ψ(α_i) − ψ(Σα) = m_i; see there for the method
/// and tolerance. The density is evaluated at the values given (rows within the tolerance are not renormalised).
/// </para>
/// <para>
/// Prior: the natural conjugate kernel (<see cref="ConjugatePrior.NaturalKernel"/>), built from ν pseudo-observations
/// that look like a reference Dirichlet (<see cref="Conjugate"/>); <see cref="WeakPrior"/> is 0.01 of an observation
/// like the uniform Dirichlet(1, …, 1).
/// </para>
/// </summary>
public sealed class DirichletFamily : ExponentialFamily<DirichletParameters>
{
    /// <summary>How far from 1 the sum of an observation may be (rounding in files): |Σ x_i − 1| ≤ 1e-6.</summary>
    public const double SimplexTolerance = 1e-6;

    /// <summary>
    /// Stopping rule of <see cref="FromMeanLog"/>: the largest residual |m_i − ψ(α_i) + ψ(Σα)| relative to
    /// max(1, |m_i|, |ψ(Σα)|) (below that, ψ itself rounds).
    /// </summary>
    public const double InverseTolerance = 1e-14;

    /// <summary>A family over one observation of <paramref name="dimension"/> ≥ 2 proportions.</summary>
    public DirichletFamily(int dimension)
    {
        if (dimension < 2)
            throw new ArgumentOutOfRangeException(nameof(dimension), dimension, "A Dirichlet family needs at least 2 columns (proportions).");
        Dimension = dimension;
    }

    /// <inheritdoc />
    public override string Name => "Dirichlet";

    /// <inheritdoc />
    public override int Dimension { get; }

    /// <inheritdoc />
    public override int StatisticCount => Dimension;

    // ---- T(x), log h(x), support ----

    /// <inheritdoc />
    public override void SufficientStatistics(ReadOnlySpan<double> x, Span<double> statistics)
    {
        for (int i = 0; i < Dimension; i++) statistics[i] = Math.Log(x[i]);
    }

    /// <inheritdoc />
    public override double LogBaseMeasure(ReadOnlySpan<double> x) => 0;

    /// <summary>
    /// Each value must lie strictly inside (0, 1) (reported at its offset); then the row must sum to 1 within
    /// <see cref="SimplexTolerance"/> (reported at the last offset, with the sum).
    /// </summary>
    public override SupportViolation? CheckSupport(ReadOnlySpan<double> x)
    {
        double sum = 0;
        for (int i = 0; i < Dimension; i++)
        {
            if (!(x[i] > 0 && x[i] < 1))
                return new SupportViolation(i, $"{FamilyChecks.Show(x[i])} is not in (0, 1); Dirichlet proportions must be strictly between 0 and 1");
            sum += x[i];
        }
        if (!(Math.Abs(sum - 1) <= SimplexTolerance))
            return new SupportViolation(Dimension - 1, $"the {Dimension} proportions sum to {FamilyChecks.Show(sum)}, not 1 (tolerance {SimplexTolerance:G2})");
        return null;
    }

    // ---- A(η), ∇A ----

    /// <inheritdoc />
    public override double LogNormalizer(ReadOnlySpan<double> eta)
    {
        double s = 0, total = 0;
        for (int i = 0; i < Dimension; i++)
        {
            double a = eta[i] + 1;
            s += SpecialFunctions.LogGamma(a);
            total += a;
        }
        return s - SpecialFunctions.LogGamma(total);
    }

    /// <inheritdoc />
    public override void MeanMap(ReadOnlySpan<double> eta, Span<double> mean)
    {
        double total = 0;
        for (int i = 0; i < Dimension; i++) total += eta[i] + 1;
        double psiTotal = SpecialFunctions.Digamma(total);
        for (int i = 0; i < Dimension; i++) mean[i] = SpecialFunctions.Digamma(eta[i] + 1) - psiTotal;
    }

    // ---- (∇A)⁻¹ ----

    /// <summary>η = <see cref="FromMeanLog"/>(μ) − 1.</summary>
    /// <exception cref="ArgumentException">μ is outside the mean domain, or the iteration did not converge.</exception>
    public override void InverseMeanMap(ReadOnlySpan<double> mean, Span<double> eta)
    {
        if (!IsMeanParameter(mean))
            throw new ArgumentException($"Dirichlet mean parameters (mean logs) must be finite with Σ exp(m_i) < 1; got {FamilyChecks.Format(mean.ToArray())}.", nameof(mean));
        Span<double> alpha = Dimension <= StackBuffer.MaxDoubles ? stackalloc double[Dimension] : new double[Dimension];
        SolveConcentrations(mean.Slice(0, Dimension), alpha);
        for (int i = 0; i < Dimension; i++) eta[i] = alpha[i] - 1;
    }

    /// <summary>
    /// The maximum-likelihood Dirichlet concentrations for data whose mean logs are <paramref name="meanLog"/>: the α
    /// with ψ(α_i) − ψ(Σα) = m_i for every i. Requires D ≥ 2, finite m_i and Σ e^{m_i} &lt; 1.
    /// <para>
    /// Method: Minka's fixed-point equations ("Estimating a Dirichlet distribution", 2000/2012, eq. 9),
    /// α_i = ψ⁻¹(ψ(Σα) + m_i), are solved exactly for α given the total s = Σα, which leaves one equation in s:
    /// <code>G(u) = log Σ_i ψ⁻¹(ψ(eᵘ) + m_i) − u = 0,   u = log s</code>
    /// G is positive as s → 0 (it tends to log D) and negative as s → ∞ (it tends to log Σ e^{m_i} &lt; 0), and its
    /// root is the unique maximum of the concave likelihood. It is found by Newton's method on u with
    /// G′(u) = s ψ₁(s) Σ_i (1/ψ₁(α_i)) / Σα − 1 (Minka's trigamma Hessian, reduced to one dimension), safeguarded by
    /// bisection on a bracket, from s₀ = (D − E)/(2(1 − E)) with E = Σ e^{m_i} (from ψ(x) ≈ log(x − ½)). Each step
    /// uses <see cref="SpecialFunctions.InverseDigamma"/> (Minka's Newton) D times; about five to ten steps are usual.
    /// It stops when every residual |m_i − ψ(α_i) + ψ(Σα)| is within <see cref="InverseTolerance"/> of
    /// max(1, |m_i|, |ψ(Σα)|).
    /// </para>
    /// </summary>
    /// <returns>The concentrations α (length D).</returns>
    /// <exception cref="ArgumentException">Fewer than two mean logs, one not finite, Σ e^{m_i} ≥ 1, or no convergence.</exception>
    public static double[] FromMeanLog(IReadOnlyList<double> meanLog)
    {
        ArgumentNullException.ThrowIfNull(meanLog);
        var m = meanLog.ToArray();
        if (m.Length < 2) throw new ArgumentException($"A Dirichlet needs at least two mean logs; got {m.Length}.", nameof(meanLog));
        for (int i = 0; i < m.Length; i++)
            if (!double.IsFinite(m[i])) throw new ArgumentException($"Mean log [{i}] = {m[i]} is not finite.", nameof(meanLog));
        double e = SumExp(m);
        if (!(e < 1))
            throw new ArgumentException($"Σ exp(mean log) = {e} must be < 1 (data that are all equal have no maximum-likelihood Dirichlet).", nameof(meanLog));
        var alpha = new double[m.Length];
        SolveConcentrations(m, alpha);
        return alpha;
    }

    private static double SumExp(ReadOnlySpan<double> m)
    {
        double e = 0;
        foreach (var v in m) e += Math.Exp(v);
        return e;
    }

    /// <summary>
    /// The solver of <see cref="FromMeanLog"/> (also the Beta family's, with D = 2). The mean logs must already be
    /// checked: finite, with Σ e^{m_i} &lt; 1.
    /// </summary>
    internal static void SolveConcentrations(ReadOnlySpan<double> m, Span<double> alpha)
    {
        int d = m.Length;
        double e = SumExp(m), scale = 1;
        foreach (var v in m) scale = Math.Max(scale, Math.Abs(v));
        double s0 = (d - e) / (2 * (1 - e));
        double u = Math.Log(double.IsFinite(s0) && s0 > 0 ? s0 : 1);
        double lo = double.NegativeInfinity, hi = double.PositiveInfinity; // G(lo) > 0 > G(hi)
        double bestResidual = double.PositiveInfinity;
        Span<double> best = d <= StackBuffer.MaxDoubles ? stackalloc double[d] : new double[d];
        for (int iteration = 0; iteration < 300; iteration++)
        {
            double s = Math.Exp(u);
            double psiS = SpecialFunctions.Digamma(s), total = 0, inverseTrigammas = 0;
            for (int i = 0; i < d; i++)
            {
                alpha[i] = SpecialFunctions.InverseDigamma(psiS + m[i]);
                total += alpha[i];
                inverseTrigammas += 1 / SpecialFunctions.Trigamma(alpha[i]);
            }
            if (!(total > 0) || !double.IsFinite(total))
                throw new ArgumentException($"The Dirichlet concentration iteration left the representable range at Σα = {s} for mean logs {FamilyChecks.Format(m.ToArray())}.");
            double residual = Residual(m, alpha, total, scale);
            if (residual < bestResidual)
            {
                bestResidual = residual;
                alpha.CopyTo(best);
            }
            if (residual <= InverseTolerance) return;
            double g = Math.Log(total) - u;
            if (g > 0) lo = u; else hi = u;
            double slope = s * SpecialFunctions.Trigamma(s) * inverseTrigammas / total - 1;
            double next = slope < 0 && double.IsFinite(slope) ? u - g / slope : double.NaN;
            if (double.IsFinite(next)) next = Math.Clamp(next, u - 8, u + 8);
            if (!(next > lo && next < hi))
                next = double.IsNegativeInfinity(lo) ? hi - 2 : double.IsPositiveInfinity(hi) ? lo + 2 : 0.5 * (lo + hi);
            if (next == u || Math.Abs(next - u) <= 1e-16 * Math.Abs(u)) break;
            u = next;
        }
        // The bracket cannot shrink further: keep the best iterate if it is as good as double precision allows.
        best.CopyTo(alpha);
        if (bestResidual <= 1e-11) return;
        throw new ArgumentException(
            $"The Dirichlet concentration iteration did not converge for mean logs {FamilyChecks.Format(m.ToArray())} (relative residual {bestResidual:G3}).");
    }

    /// <summary>max_i |m_i − ψ(α_i) + ψ(Σα)| / max(1, max|m|, |ψ(Σα)|).</summary>
    private static double Residual(ReadOnlySpan<double> m, ReadOnlySpan<double> alpha, double total, double scale)
    {
        double psiTotal = SpecialFunctions.Digamma(total), worst = 0;
        for (int i = 0; i < m.Length; i++) worst = Math.Max(worst, Math.Abs(m[i] - SpecialFunctions.Digamma(alpha[i]) + psiTotal));
        return worst / Math.Max(scale, Math.Abs(psiTotal));
    }

    /// <inheritdoc />
    public override bool IsNaturalParameter(ReadOnlySpan<double> eta)
    {
        for (int i = 0; i < Dimension; i++) if (!(eta[i] > -1) || !double.IsFinite(eta[i])) return false;
        return true;
    }

    /// <inheritdoc />
    public override bool IsMeanParameter(ReadOnlySpan<double> mean)
    {
        for (int i = 0; i < Dimension; i++) if (!double.IsFinite(mean[i])) return false;
        return SumExp(mean.Slice(0, Dimension)) < 1;
    }

    /// <summary>
    /// Keeps Σ e^{m_i} ≤ 1 − √<paramref name="floor"/>: if it is larger, every mean log is lowered by the same amount
    /// log((1 − √floor)/Σ e^{m_i}) (the geometric means shrink in proportion), which bounds Σα by about D/(2√floor)
    /// (D·5·10⁴ at the default floor 1e-10); interior means are unchanged.
    /// A component on one distinct row has no maximum-likelihood estimate; this margin bounds its concentrations, and
    /// a wider bound would let the engine's log densities η·T(x) − A(η) lose more than ~1e-10 to rounding. Lower
    /// <c>FitOptions.ProbabilityFloor</c> to allow larger concentrations.
    /// </summary>
    public override void ProjectMeanIntoDomain(Span<double> mean, double floor) => ShrinkMeanLogs(mean.Slice(0, Dimension), Math.Sqrt(floor));

    /// <summary>
    /// Lowers all mean logs by one common amount so that Σ e^{m_i} ≤ 1 − <paramref name="margin"/> (and &lt; 1 after
    /// rounding); the projection of <see cref="ProjectMeanIntoDomain"/>, shared with the Beta family.
    /// </summary>
    internal static void ShrinkMeanLogs(Span<double> m, double margin)
    {
        double e = 0;
        foreach (var v in m) e += Math.Exp(v);
        if (!(e > 1 - margin) || !double.IsFinite(e)) return;
        double shift = SpecialFunctions.Log1p(-margin) - Math.Log(e);
        for (int i = 0; i < m.Length; i++) m[i] += shift;
        // Rounding may leave the sum a hair above 1 − floor; step down by ulps until it is not.
        e = 0;
        foreach (var v in m) e += Math.Exp(v);
        while (e >= 1)
        {
            e = 0;
            for (int i = 0; i < m.Length; i++)
            {
                m[i] = Math.BitDecrement(m[i]);
                e += Math.Exp(m[i]);
            }
        }
    }

    // ---- usual parameters ----

    /// <inheritdoc />
    public override double[] ToNatural(DirichletParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (parameters.Concentrations.Count != Dimension)
            throw new ArgumentException($"Expected {Dimension} Dirichlet concentrations, got {parameters.Concentrations.Count}.", nameof(parameters));
        return parameters.Concentrations.Select(a => a - 1).ToArray();
    }

    /// <inheritdoc />
    public override DirichletParameters FromNatural(ReadOnlySpan<double> eta)
    {
        var alpha = new double[Dimension];
        for (int i = 0; i < Dimension; i++) alpha[i] = eta[i] + 1;
        return new DirichletParameters(alpha);
    }

    // ---- conjugate prior ----

    /// <summary>
    /// The natural conjugate prior worth <paramref name="pseudoCount"/> observations that look, on average, like
    /// draws from <paramref name="reference"/>: φ_i = ν·(ψ(α₀_i) − ψ(Σα₀)), log p(η) = η·φ − ν A(η). With no data its
    /// MAP estimate is the reference; in the usual parameters the kernel is (Γ(Σα)/Π Γ(α_i))^ν Π e^{(α_i − 1) φ_i}.
    /// </summary>
    /// <exception cref="ArgumentException">The reference has the wrong number of proportions, or ν is not finite and positive.</exception>
    public ConjugatePrior Conjugate(DirichletParameters reference, double pseudoCount)
    {
        ArgumentNullException.ThrowIfNull(reference);
        if (reference.Concentrations.Count != Dimension)
            throw new ArgumentException($"The reference Dirichlet has {reference.Concentrations.Count} concentrations; the family has {Dimension}.", nameof(reference));
        double psiTotal = SpecialFunctions.Digamma(reference.Concentrations.Sum());
        var phi = reference.Concentrations.Select(a => pseudoCount * (SpecialFunctions.Digamma(a) - psiTotal)).ToArray();
        return ConjugatePrior.NaturalKernel(this, phi, pseudoCount, FormattableString.Invariant($"natural conjugate: {pseudoCount:R} pseudo-observations like {reference}"));
    }

    /// <summary>
    /// A weak default prior: <paramref name="pseudoCount"/> (default 0.01) pseudo-observations like the uniform
    /// Dirichlet(1, …, 1) (mean logs ψ(1) − ψ(D)). It keeps the concentrations finite when a component holds one
    /// distinct row and barely moves estimates from many rows.
    /// </summary>
    public ConjugatePrior WeakPrior(double pseudoCount = 0.01) => Conjugate(new DirichletParameters(Enumerable.Repeat(1.0, Dimension)), pseudoCount);

    // ---- sampling ----

    /// <summary>
    /// Normalised Gamma(α_i, 1) draws, computed in log space (so tiny concentrations do not give 0/0); each
    /// proportion is kept inside the representable interior of (0, 1).
    /// </summary>
    public override void Sample(ReadOnlySpan<double> eta, Random random, Span<double> x)
    {
        Span<double> logG = Dimension <= StackBuffer.MaxDoubles ? stackalloc double[Dimension] : new double[Dimension];
        double max = double.NegativeInfinity;
        for (int i = 0; i < Dimension; i++)
        {
            logG[i] = GammaFamily.LogStandardGamma(random, eta[i] + 1);
            max = Math.Max(max, logG[i]);
        }
        double sum = 0;
        for (int i = 0; i < Dimension; i++) sum += Math.Exp(logG[i] - max);
        double logTotal = max + Math.Log(sum);
        for (int i = 0; i < Dimension; i++) x[i] = Math.Clamp(Math.Exp(logG[i] - logTotal), double.Epsilon, Math.BitDecrement(1.0));
    }
}
