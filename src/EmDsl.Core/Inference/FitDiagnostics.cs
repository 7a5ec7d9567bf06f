namespace EmDsl.Inference;

/// <summary>What a diagnostics event reports.</summary>
public enum FitEventKind
{
    /// <summary>A component's total responsibility fell to the empty threshold; its block parameters are frozen (see <see cref="FitOptions.EmptyComponentThreshold"/>).</summary>
    ComponentEmptied,
    /// <summary>An M-step candidate was invalid (not positive definite, not finite) or lowered the expected complete-data objective, so the previous parameters were kept.</summary>
    MStepRejected,
    /// <summary>The objective decreased by more than rounding between two iterations. EM should never do this; please report it.</summary>
    ObjectiveDecreased,
    /// <summary>Initialisation gave a component no data; it starts from parameters estimated on all the data.</summary>
    InitializationFallback,
    /// <summary>
    /// A half-step lowered the free energy F(q, θ) beyond rounding (see <see cref="ModelFit.FreeEnergyTrace"/>): an
    /// M-step that does not maximise what it claims to, or an E-step inconsistent with the blocks' statistics. EM
    /// should never do this; please report it (for a model of your own, check its M-step and its log-normalizer).
    /// </summary>
    FreeEnergyDecreased,
    /// <summary>
    /// A factor block's noise variance reached its floor (see <see cref="Building.Blocks.Factor(string, IEnumerable{int}, int, Building.NoiseModel, bool, Building.FactorPrior, Building.Sharing, double, int)"/>): a Heywood case,
    /// where the factors explain a column almost entirely and the likelihood's supremum lies at ψ = 0. The fit is the
    /// maximum with the variance held at the floor.
    /// </summary>
    NoiseFloored,
    /// <summary>
    /// Under <see cref="MissingValuePolicy.Marginalize"/>: rows with every column the model reads missing. They
    /// contribute nothing (log-likelihood 0, posterior equal to the weights); the message gives their number and the first few.
    /// </summary>
    RowsWithoutObservations,
}

/// <summary>One diagnostics event.</summary>
/// <param name="Kind">What happened.</param>
/// <param name="Restart">Run index, from 0.</param>
/// <param name="Iteration">Iteration (M-steps done) at which it happened.</param>
/// <param name="Block">The block concerned, or null for the weights or the whole model.</param>
/// <param name="Component">The component concerned, or null.</param>
/// <param name="Message">A readable explanation with the numbers involved.</param>
public sealed record FitEvent(FitEventKind Kind, int Restart, int Iteration, string? Block, int? Component, string Message)
{
    /// <inheritdoc />
    public override string ToString() =>
        $"[run {Restart}, iteration {Iteration}] {Kind}" + (Block is null ? "" : $" block '{Block}'") +
        (Component is null ? "" : $" component {Component}") + $": {Message}";
}

/// <summary>Everything a fit noticed besides its parameters.</summary>
/// <param name="Events">Events of every run, in order (at most <see cref="MaxEvents"/>).</param>
/// <param name="EventsTruncated">Whether more events happened than were kept.</param>
/// <param name="RestartObjectives">Final objective of each run; the best one is returned.</param>
/// <param name="BestRestart">Index of the run returned.</param>
/// <param name="Backend">Compute backend used ("openblas" or "managed").</param>
/// <param name="EmptyComponents">Components (states) empty at the end of the returned run.</param>
/// <param name="StalledParameters">
/// The parameter sets (block names, "weights", "gating" or "transitions") whose every candidate was rejected in the
/// returned run's last M-step; when any is, <see cref="ModelFit.Status"/> is <see cref="FitStatus.Stalled"/>.
/// </param>
/// <param name="FlooredEstimates">
/// M-step estimates that a floor moved (<see cref="FitOptions.CovarianceFloor"/> moves every Gaussian estimate when it
/// is above 0; <see cref="FitOptions.ProbabilityFloor"/> only estimates at the boundary), over every run. A floored
/// estimate is not the exact maximiser of the M-step; with none, EM ran exactly.
/// </param>
/// <param name="InvalidCandidates">M-step candidates that could not be formed or were not valid (a covariance that is not positive definite, say), over every run.</param>
public sealed record FitDiagnostics(
    IReadOnlyList<FitEvent> Events,
    bool EventsTruncated,
    IReadOnlyList<double> RestartObjectives,
    int BestRestart,
    string Backend,
    IReadOnlyList<int> EmptyComponents,
    IReadOnlyList<string> StalledParameters,
    int FlooredEstimates,
    int InvalidCandidates)
{
    /// <summary>Most events kept per fit.</summary>
    public const int MaxEvents = 10_000;

    /// <summary>Whether any iteration lowered the objective beyond rounding.</summary>
    public bool ObjectiveEverDecreased => Events.Any(e => e.Kind == FitEventKind.ObjectiveDecreased);

    /// <summary>Whether any half-step lowered the free energy beyond rounding.</summary>
    public bool FreeEnergyEverDecreased => Events.Any(e => e.Kind == FitEventKind.FreeEnergyDecreased);

    /// <summary>Number of M-step candidates rejected (invalid, or lowering the expected complete-data objective beyond rounding).</summary>
    public int RejectedCandidates => Events.Count(e => e.Kind == FitEventKind.MStepRejected);

    /// <inheritdoc />
    public override string ToString() =>
        $"FitDiagnostics {{ Backend = {Backend}, BestRestart = {BestRestart}, RestartObjectives = {Families.FamilyChecks.Format(RestartObjectives)}, " +
        $"EmptyComponents = [{string.Join(", ", EmptyComponents)}], " +
        (StalledParameters.Count == 0 ? "" : $"StalledParameters = [{string.Join(", ", StalledParameters)}], ") + $"Events = {Events.Count}" +
        (Events.Count == 0 ? "" : " (" + string.Join(", ", Events.GroupBy(e => e.Kind).Select(g => $"{g.Key}: {g.Count()}")) + ")") +
        (EventsTruncated ? ", truncated" : "") + " }";
}

/// <summary>Collects events during a fit, bounded.</summary>
internal sealed class EventLog
{
    private readonly List<FitEvent> _events = [];

    public int Restart { get; set; }

    public int Iteration { get; set; }

    public bool Truncated { get; private set; }

    public IReadOnlyList<FitEvent> Events => _events;

    public void Add(FitEventKind kind, string? block, int? component, string message)
    {
        if (_events.Count >= FitDiagnostics.MaxEvents) { Truncated = true; return; }
        _events.Add(new FitEvent(kind, Restart, Iteration, block, component, message));
    }

    /// <summary>The number of events so far, to take back the events logged after it with <see cref="TakeSince"/>.</summary>
    public int Count => _events.Count;

    /// <summary>Removes and returns the events logged since <paramref name="mark"/> (a <see cref="Count"/>).</summary>
    public List<FitEvent> TakeSince(int mark)
    {
        var taken = _events.GetRange(mark, _events.Count - mark);
        _events.RemoveRange(mark, _events.Count - mark);
        return taken;
    }

    /// <summary>Logs events taken back earlier (up to <see cref="FitDiagnostics.MaxEvents"/>).</summary>
    public void AddRange(IEnumerable<FitEvent> events)
    {
        foreach (var e in events)
        {
            if (_events.Count >= FitDiagnostics.MaxEvents) { Truncated = true; return; }
            _events.Add(e);
        }
    }
}
