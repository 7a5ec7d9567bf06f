namespace EmDsl.Families.Priors;

/// <summary>The log density of a prior at the distribution with natural parameter η.</summary>
public delegate double NaturalLogDensity(ReadOnlySpan<double> eta);

/// <summary>
/// A conjugate prior in pseudo-observation / pseudo-count form (seed 002, eq. 49–51): it acts like ν
/// extra observations whose sufficient statistics sum to φ, so the MAP estimate is
/// <code>η̂ = (∇A)⁻¹( (φ + S) / (ν + R) )</code>
/// for data with statistic sum S and count (total responsibility) R. With φ = 0 and ν = 0 this is the
/// maximum-likelihood estimate. <see cref="LogDensity"/> is the prior's density over the family's usual
/// parameter (a probability, a rate, …), the parametrisation in which that formula is the posterior mode;
/// for a <see cref="NaturalKernel"/> prior it is the kernel η·φ − νA(η) over η itself, in which it is too.
/// </summary>
public sealed class ConjugatePrior
{
    private readonly double[] _phi;
    private readonly NaturalLogDensity _logDensity;

    /// <summary>Creates a prior from φ (length S), ν ≥ 0 and its log density.</summary>
    public ConjugatePrior(IReadOnlyList<double> pseudoObservations, double pseudoCount, NaturalLogDensity logDensity, string description)
    {
        ArgumentNullException.ThrowIfNull(pseudoObservations);
        ArgumentNullException.ThrowIfNull(logDensity);
        if (!(pseudoCount >= 0) || double.IsInfinity(pseudoCount))
            throw new ArgumentOutOfRangeException(nameof(pseudoCount), pseudoCount, "The pseudo-count ν must be finite and ≥ 0.");
        _phi = pseudoObservations.ToArray();
        for (int i = 0; i < _phi.Length; i++)
            if (!double.IsFinite(_phi[i]))
                throw new ArgumentException($"Pseudo-observation φ[{i}] = {_phi[i]} is not finite.", nameof(pseudoObservations));
        PseudoCount = pseudoCount;
        _logDensity = logDensity;
        Description = description;
    }

    /// <summary>
    /// The natural conjugate prior of <paramref name="family"/>, as an unnormalised kernel in natural coordinates:
    /// <code>log p(η) = η · φ − ν A(η) + const</code>
    /// It acts as ν pseudo-observations whose sufficient statistics sum to φ, and its MAP estimate is exactly
    /// (∇A)⁻¹((φ + S)/(ν + R)) — the maximum of η·(φ + S) − (ν + R) A(η) — so MAP-EM with it keeps its objective
    /// monotone for families whose (∇A)⁻¹ has no closed form. <see cref="LogDensity"/> returns the kernel (the
    /// constant is dropped; it does not move the estimate or change the objective's increments).
    /// <para>
    /// Requires ν &gt; 0 and φ/ν in the interior of the family's mean domain (Diaconis and Ylvisaker's condition
    /// for the kernel to be normalisable). Then (φ + S)/(ν + R) is a convex combination of φ/ν and the data's
    /// mean statistics, so it stays interior even when the data alone are degenerate (one distinct row).
    /// </para>
    /// </summary>
    /// <param name="family">The family whose A(η) the kernel uses.</param>
    /// <param name="pseudoObservations">φ, length <see cref="ExponentialFamily.StatisticCount"/>.</param>
    /// <param name="pseudoCount">ν &gt; 0: how many observations the prior is worth.</param>
    /// <param name="description">What the prior is in familiar terms (shown by blocks and fits).</param>
    /// <exception cref="ArgumentException">φ has the wrong length, ν is not positive and finite, or φ/ν is outside the mean domain.</exception>
    public static ConjugatePrior NaturalKernel(ExponentialFamily family, IReadOnlyList<double> pseudoObservations, double pseudoCount, string description)
    {
        ArgumentNullException.ThrowIfNull(family);
        ArgumentNullException.ThrowIfNull(pseudoObservations);
        ArgumentNullException.ThrowIfNull(description);
        int s = family.StatisticCount;
        if (pseudoObservations.Count != s)
            throw new ArgumentException($"The {family.Name} family has {s} sufficient statistics; got {pseudoObservations.Count} pseudo-observations.", nameof(pseudoObservations));
        if (!(pseudoCount > 0) || double.IsInfinity(pseudoCount))
            throw new ArgumentOutOfRangeException(nameof(pseudoCount), pseudoCount, "The pseudo-count ν of a natural conjugate kernel must be finite and > 0.");
        var phi = pseudoObservations.ToArray();
        var mean = phi.Select(v => v / pseudoCount).ToArray();
        for (int i = 0; i < s; i++)
            if (!double.IsFinite(phi[i]))
                throw new ArgumentException($"Pseudo-observation φ[{i}] = {phi[i]} is not finite.", nameof(pseudoObservations));
        if (!family.IsMeanParameter(mean))
            throw new ArgumentException(
                $"The prior's mean statistics φ/ν = [{string.Join(", ", mean.Select(v => v.ToString("G6", System.Globalization.CultureInfo.InvariantCulture)))}] " +
                $"are outside the interior of the {family.Name} mean domain, so the kernel is not normalisable.", nameof(pseudoObservations));
        return new ConjugatePrior(phi, pseudoCount, eta =>
        {
            double dot = 0;
            for (int i = 0; i < phi.Length; i++) dot += eta[i] * phi[i];
            return dot - pseudoCount * family.LogNormalizer(eta);
        }, description) { Family = family };
    }

    /// <summary>The family a <see cref="NaturalKernel"/> prior was built for (null for other priors); blocks check it.</summary>
    internal ExponentialFamily? Family { get; private init; }

    /// <summary>The familiar prior (a <see cref="BetaPrior"/>, <see cref="GammaPrior"/> or <see cref="DirichletPrior"/>) a family's <c>Conjugate</c> made this from, or null; model files save it.</summary>
    internal object? Source { get; init; }

    /// <summary>φ: the pseudo-observations, a sum of sufficient statistics (length S).</summary>
    public IReadOnlyList<double> PseudoObservations => _phi;

    /// <summary>ν: the pseudo-count.</summary>
    public double PseudoCount { get; }

    /// <summary>What the prior is in familiar terms, e.g. "Beta(2, 2)".</summary>
    public string Description { get; }

    /// <summary>log p(θ) at the distribution with natural parameter η.</summary>
    public double LogDensity(ReadOnlySpan<double> eta) => _logDensity(eta);

    /// <summary>Writes the posterior-mode mean parameter (φ + S) / (ν + R).</summary>
    public void PosteriorMeanParameter(ReadOnlySpan<double> statistics, double count, Span<double> mean)
    {
        double denom = PseudoCount + count;
        for (int i = 0; i < _phi.Length; i++) mean[i] = (_phi[i] + statistics[i]) / denom;
    }

    /// <inheritdoc />
    public override string ToString() => Description;
}
