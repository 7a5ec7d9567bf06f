namespace EmDsl.Families.Priors;

/// <summary>The log density of a prior at the distribution with natural parameter η.</summary>
public delegate double NaturalLogDensity(ReadOnlySpan<double> eta);

/// <summary>
/// A conjugate prior in pseudo-observation / pseudo-count form (seed 002, eq. 49–51): it acts like ν
/// extra observations whose sufficient statistics sum to φ, so the MAP estimate is
/// <code>η̂ = (∇A)⁻¹( (φ + S) / (ν + R) )</code>
/// for data with statistic sum S and count (total responsibility) R. With φ = 0 and ν = 0 this is the
/// maximum-likelihood estimate. <see cref="LogDensity"/> is the prior's density over the family's usual
/// parameter (a probability, a rate, …), the parametrisation in which that formula is the posterior mode.
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
