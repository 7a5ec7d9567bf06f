namespace EmDsl.Building;

/// <summary>
/// Which transitions of a hidden Markov chain may have non-zero probability (and which states it may start
/// in). A transition that is not allowed is a structural zero: it is zero in every estimate, and EM keeps it
/// zero. <see cref="Full"/> allows everything; <see cref="LeftToRight"/> is the chain of speech and gesture models
/// that only moves forward; <see cref="FromMask"/> takes any pattern. Checked against the number of states when
/// the model is built: every state must have an allowed successor and be reachable from an allowed start.
/// </summary>
public sealed class TransitionStructure
{
    private readonly bool[,]? _allowed;
    private readonly bool[]? _initial;
    private readonly int _maxJump;

    private TransitionStructure(string description, bool[,]? allowed, bool[]? initial, int maxJump)
    {
        Description = description;
        _allowed = allowed;
        _initial = initial;
        _maxJump = maxJump;
    }

    /// <summary>Every transition and every initial state is allowed (the default).</summary>
    public static TransitionStructure Full { get; } = new("full", null, null, -1);

    /// <summary>
    /// A left-to-right (Bakis) chain: from state i the chain stays or moves forward by at most
    /// <paramref name="maxJump"/> states (i → i, i + 1, …, i + maxJump), and it starts in state 0. The last
    /// state is absorbing.
    /// </summary>
    public static TransitionStructure LeftToRight(int maxJump = 1)
    {
        if (maxJump < 1) throw new ArgumentOutOfRangeException(nameof(maxJump), maxJump, "A left-to-right chain moves forward by at least one state (maxJump ≥ 1).");
        return new($"left-to-right, jumps of at most {maxJump}", null, null, maxJump);
    }

    /// <summary>
    /// Any pattern: <paramref name="allowed"/>[i, j] says whether the chain may move from state i to state j, and
    /// <paramref name="initialStates"/>[i] whether it may start in state i (null: any state).
    /// </summary>
    public static TransitionStructure FromMask(bool[,] allowed, bool[]? initialStates = null)
    {
        ArgumentNullException.ThrowIfNull(allowed);
        if (allowed.GetLength(0) != allowed.GetLength(1))
            throw new ArgumentException($"The transition mask is {allowed.GetLength(0)}×{allowed.GetLength(1)}; it must be square (states × states).", nameof(allowed));
        if (initialStates is not null && initialStates.Length != allowed.GetLength(0))
            throw new ArgumentException($"{initialStates.Length} initial-state flags for a {allowed.GetLength(0)}-state mask.", nameof(initialStates));
        return new("mask", (bool[,])allowed.Clone(), (bool[]?)initialStates?.Clone(), -1);
    }

    /// <summary>A short description ("full", "left-to-right, jumps of at most 1", "mask").</summary>
    public string Description { get; }

    /// <summary>Whether every transition and initial state is allowed.</summary>
    public bool IsFull => _allowed is null && _maxJump < 0;

    /// <summary>The largest forward jump of a left-to-right chain (−1 otherwise); model files save it.</summary>
    internal int MaxJump => _maxJump;

    /// <summary>The mask of a mask structure (null otherwise), not copied.</summary>
    internal bool[,]? AllowedMask => _allowed;

    /// <summary>The allowed initial states of a mask structure (null: all), not copied.</summary>
    internal bool[]? InitialMask => _initial;

    /// <summary>Whether this is a <see cref="LeftToRight"/> chain (its default start segments each sequence uniformly).</summary>
    public bool IsLeftToRight => _allowed is null && _maxJump > 0;

    /// <summary>Whether the chain may move from state <paramref name="from"/> to <paramref name="to"/>.</summary>
    public bool Allows(int from, int to) =>
        _allowed is not null ? _allowed[from, to] : _maxJump < 0 || (to >= from && to - from <= _maxJump);

    /// <summary>Whether the chain may start in <paramref name="state"/>.</summary>
    public bool AllowsStart(int state) =>
        _initial is not null ? _initial[state] : _maxJump < 0 || state == 0;

    /// <summary>
    /// Checks the structure for a chain of <paramref name="states"/> states: the mask's size, at least one allowed
    /// initial state, an allowed successor for every state, every state reachable from an allowed start.
    /// </summary>
    /// <exception cref="InvalidOperationException">The message names the state or the size that is wrong.</exception>
    internal void Validate(int states)
    {
        if (_allowed is not null && _allowed.GetLength(0) != states)
            throw new InvalidOperationException($"The transition mask is {_allowed.GetLength(0)}×{_allowed.GetLength(1)}, but the chain has {states} states.");
        if (!Enumerable.Range(0, states).Any(AllowsStart))
            throw new InvalidOperationException("No initial state is allowed; the chain must be able to start somewhere.");
        for (int i = 0; i < states; i++)
            if (!Enumerable.Range(0, states).Any(j => Allows(i, j)))
                throw new InvalidOperationException($"State {i} has no allowed transition (its row of the mask is all false); every state needs at least one successor (a self-transition, say).");
        var reached = new bool[states];
        var queue = new Queue<int>(Enumerable.Range(0, states).Where(AllowsStart));
        foreach (var s in queue) reached[s] = true;
        while (queue.Count > 0)
        {
            int i = queue.Dequeue();
            for (int j = 0; j < states; j++)
                if (Allows(i, j) && !reached[j]) { reached[j] = true; queue.Enqueue(j); }
        }
        for (int j = 0; j < states; j++)
            if (!reached[j])
                throw new InvalidOperationException($"State {j} is unreachable: no allowed initial state leads to it through allowed transitions. Allow a transition into it, or drop the state.");
    }

    /// <inheritdoc />
    public override string ToString() => Description;
}
