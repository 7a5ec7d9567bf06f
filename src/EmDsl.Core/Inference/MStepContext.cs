namespace EmDsl.Inference;

/// <summary>How an M-step produced a candidate, which decides how the acceptance policy treats it.</summary>
internal enum CandidateKind
{
    /// <summary>
    /// The exact maximiser of Q (closed form, no floor moved it): taken as it is. If it lowers Q beyond
    /// rounding, that is a bug in the M-step, and it shows in the free-energy trace instead of being hidden.
    /// </summary>
    Exact,
    /// <summary>
    /// Anything else — an estimate moved by a floor, a numerically inverted mean map, an optimiser's partial step:
    /// taken only when it does not lower Q (with the group's log prior).
    /// </summary>
    Approximate,
}

/// <summary>
/// What an M-step needs besides its statistics, and the one acceptance policy every M-step candidate goes
/// through (<see cref="Judge"/>, <see cref="Invalid"/>), with the tallies per parameter set that tell a converged
/// M-step from a stalled one.
/// </summary>
internal sealed class MStepContext(FitOptions options, EventLog log, double emptyMass)
{
    public FitOptions Options { get; } = options;

    public EventLog Log { get; } = log;

    /// <summary>Whether floored estimates are taken even when they lower Q (<see cref="FloorStrategy.MatchScikitLearn"/>).</summary>
    public bool AlwaysTakeFloored => Options.Floors == FloorStrategy.MatchScikitLearn;

    /// <summary>Total responsibility at or below which a state counts as empty (its parameters are kept).</summary>
    public double EmptyMass { get; } = emptyMass;

    private readonly Dictionary<string, Tally> _tallies = new(StringComparer.Ordinal);

    /// <summary>How the candidates of one parameter set (a block, the latent structure) fared in this M-step.</summary>
    private sealed class Tally
    {
        public int Taken, Ties, Rejected;
    }

    private Tally Of(string owner)
    {
        if (!_tallies.TryGetValue(owner, out var t)) _tallies[owner] = t = new Tally();
        return t;
    }

    /// <summary>Starts the counts of a new M-step.</summary>
    public void BeginMStep() => _tallies.Clear();

    /// <summary>M-step estimates a floor moved (<see cref="FitOptions.CovarianceFloor"/>, <see cref="FitOptions.ProbabilityFloor"/>), over the whole fit.</summary>
    public int FlooredEstimates { get; private set; }

    /// <summary>Candidates that could not be formed or were not valid (a covariance that is not positive definite, say), over the whole fit.</summary>
    public int InvalidCandidates { get; private set; }

    /// <summary>Records an estimate moved by a floor (so not the exact maximiser of Q).</summary>
    public void NoteFloored() => FlooredEstimates++;

    /// <summary>
    /// The parameter sets (blocks, or the latent structure's name) that could not move at all in this M-step: every
    /// candidate they proposed was rejected. A fit whose last M-step has any is stalled, not converged.
    /// </summary>
    public IReadOnlyList<string> Stalled =>
        _tallies.Where(p => p.Value.Rejected > 0 && p.Value.Taken == 0 && p.Value.Ties == 0).Select(p => p.Key).ToArray();

    /// <summary>Whether a candidate of this kind must be compared with the previous parameters before it is taken.</summary>
    public bool MustCompare(CandidateKind kind) => kind == CandidateKind.Approximate && !AlwaysTakeFloored && Options.CheckMSteps;

    /// <summary>
    /// The acceptance policy. A candidate whose kind needs no comparison (<see cref="MustCompare"/>) is taken.
    /// Otherwise it is taken when its expected complete-data objective Q (with the group's log prior) is not
    /// below the previous parameters'; when it is below by no more than rounding (<see cref="NegligibleLoss"/>) the
    /// previous parameters are kept silently (a tie); when it is below by more, they are kept and the rejection
    /// is reported. Keeping the previous parameters is a generalized-EM step, which cannot lower the objective.
    /// </summary>
    /// <returns>True to take the candidate, false to keep the previous parameters.</returns>
    /// <param name="kind">How the candidate was made.</param>
    /// <param name="candidate">Q + log prior of the candidate (or its gain over the previous parameters, with <paramref name="previous"/> 0).</param>
    /// <param name="previous">Q + log prior of the previous parameters.</param>
    /// <param name="block">The parameter set (block name, "weights", …).</param>
    /// <param name="component">The state, or null for a shared group.</param>
    /// <param name="what">What the candidate is, for the message.</param>
    /// <param name="scale">The magnitude of Q that rounding is relative to (default: |previous|).</param>
    public bool Judge(CandidateKind kind, double candidate, double previous, string block, int? component, string what = "estimate", double? scale = null)
    {
        var tally = Of(block);
        if (!MustCompare(kind) || candidate >= previous)
        {
            tally.Taken++;
            return true;
        }
        if (previous - candidate <= NegligibleLoss(scale ?? previous))
        {
            tally.Ties++;
            return false;
        }
        tally.Rejected++;
        Log.Add(FitEventKind.MStepRejected, block, component,
            $"the {what} lowers the expected complete-data objective ({candidate:G12} < {previous:G12}); previous parameters kept");
        return false;
    }

    /// <summary>Records a candidate that could not be formed or is not valid (the previous parameters are kept).</summary>
    public void Invalid(string block, int? component, string reason)
    {
        Of(block).Rejected++;
        InvalidCandidates++;
        Log.Add(FitEventKind.MStepRejected, block, component, reason + "; previous parameters kept");
    }

    /// <summary>Records an ascent that found nothing to gain: the parameters stand at their maximum to rounding (a tie).</summary>
    public void AtMaximum(string owner) => Of(owner).Ties++;

    /// <summary>Records a candidate taken without comparison (an exact maximiser).</summary>
    public void TakenWithoutComparison(string owner) => Of(owner).Taken++;

    /// <summary>
    /// A loss too small to report (the same relative threshold as an objective decrease): near convergence a
    /// binding floor routinely loses Q by ~1e-12 relative, which says nothing about the fit.
    /// </summary>
    public static double NegligibleLoss(double value) => 1e-9 * Math.Max(1, Math.Abs(value));
}
