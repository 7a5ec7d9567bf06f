using EmDsl.Building;
using EmDsl.Families.Priors;

namespace EmDsl.Inference;

/// <summary>A Markov chain's initial distribution π (K) and transition matrix A (K × K, row-major, row i: from state i).</summary>
internal sealed class MarkovState(double[] initial, double[] transitions) : LatentState
{
    /// <summary>π_i = p(z_1 = i).</summary>
    public double[] Initial { get; } = initial;

    /// <summary>A_ij = p(z_{t+1} = j | z_t = i), row-major.</summary>
    public double[] Transitions { get; } = transitions;
}

/// <summary>
/// The hidden Markov chain of an HMM: z_1 ~ π, z_{t+1} | z_t ~ A_{z_t ·}, one chain per sequence. The posterior
/// couples the steps of a sequence, so the engine first computes every row's emission log-likelihoods, then this
/// structure runs forward–backward per sequence (<see cref="ForwardBackward"/>), then the blocks take their
/// statistics. Its statistics are the expected starts N⁰_i and transitions N_ij; its M-step is moment matching,
/// π_i ∝ N⁰_i + α⁰_i − 1 and A_ij ∝ N_ij + α_ij − 1 over the allowed entries (structural zeros stay zero), with
/// the Dirichlet priors' pseudo-counts; exact, so taken as it is. A tied chain has one distribution for the start
/// and every row (π_j ∝ Σ_t q(z_t = j) + α_j − 1); a fixed transition matrix is not estimated.
/// </summary>
internal sealed class MarkovChainRuntime : LatentRuntime
{
    private readonly HiddenMarkovModel _model;
    private readonly bool[] _initialAllowed;
    private readonly bool[] _allowed;

    public MarkovChainRuntime(HiddenMarkovModel model) : base(model.States)
    {
        _model = model;
        int k = States;
        _initialAllowed = Enumerable.Range(0, k).Select(model.Structure.AllowsStart).ToArray();
        _allowed = new bool[k * k];
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++) _allowed[i * k + j] = model.Structure.Allows(i, j);
    }

    public override string Name => "transitions";

    public override bool RowsIndependent => false;

    public override void FillBias(LatentState state, Span<double> bias) => bias.Slice(0, States).Clear();

    public override Statistics CreateStatistics() => new MarkovStatistics(States);


    // ---- E-step ----

    /// <summary>
    /// Forward–backward over one sequence whose rows × K log-emissions are in <paramref name="buffer"/> from
    /// <paramref name="offset"/>; leaves the posterior marginals there, adds the weighted expected starts and
    /// transitions to <paramref name="statistics"/>, and returns the sequence's log-likelihood (without log h) and
    /// the entropy of its posterior.
    /// </summary>
    public SequencePosterior Posterior(double[] buffer, int offset, int length, MarkovState state, MarkovStatistics statistics, double weight, bool parallel) =>
        ForwardBackward.Run(buffer, offset, length, States, state.Initial, state.Transitions, statistics.Initial, statistics.Transitions, weight, parallel);

    /// <summary>
    /// The chain's statistics under a given (not inferred) posterior of one sequence, as starts use them: the
    /// expected start γ_1 and, treating consecutive steps as independent, the expected transitions Σ_t γ_t γ_{t+1}ᵀ
    /// on allowed entries. With hard labels these are the label sequence's counts.
    /// </summary>
    public void AccumulateGiven(ReadOnlySpan<double> posterior, int length, MarkovStatistics statistics, double weight)
    {
        int k = States;
        for (int i = 0; i < k; i++) statistics.Initial[i] += weight * posterior[i];
        for (int t = 0; t + 1 < length; t++)
        {
            var a = posterior.Slice(t * k, k);
            var b = posterior.Slice((t + 1) * k, k);
            for (int i = 0; i < k; i++)
            {
                if (a[i] == 0) continue;
                for (int j = 0; j < k; j++)
                    if (_allowed[i * k + j]) statistics.Transitions[i * k + j] += weight * a[i] * b[j];
            }
        }
    }

    // ---- starts ----

    /// <summary>
    /// A left-to-right chain segments each sequence (<see cref="SegmentLabels"/>); any other structure takes the
    /// clustering's labels, renamed to fit its structural zeros (<see cref="FitLabelsToStructure"/>).
    /// </summary>
    public override int[] StartLabels(Func<int[]> cluster, int[] sequences, Random random, int restart) =>
        _model.Structure.IsLeftToRight ? SegmentLabels(sequences, restart == 0 ? null : random) : FitLabelsToStructure(cluster(), sequences);

    /// <summary>
    /// Softened labels: 0.9 on the label, 0.1 spread over all states. Hard labels make emission probabilities of exactly
    /// 0 (a category a cluster never saw), and a chain of hard posteriors can hold on to such a start for ever.
    /// </summary>
    public override void StartPosterior(int[] labels, Span<double> posterior)
    {
        const double soft = 0.1;
        int k0 = States;
        for (int i = 0; i < labels.Length; i++)
            for (int k = 0; k < k0; k++) posterior[i * k0 + k] = (k == labels[i] ? 1 - soft : 0) + soft / k0;
    }

    /// <summary>
    /// Labels for the default start of a left-to-right chain: each sequence cut into K consecutive segments, state k
    /// on the k-th (the classic uniform segmentation; a clustering's labels would ignore the chain's order). The
    /// first restart cuts evenly, later ones at random points drawn from <paramref name="random"/>.
    /// </summary>
    private int[] SegmentLabels(ReadOnlySpan<int> sequences, Random? random)
    {
        int k = States, n = sequences[^1];
        var labels = new int[n];
        for (int s = 0; s + 1 < sequences.Length; s++)
        {
            int start = sequences[s], length = sequences[s + 1] - start;
            var cuts = new double[k + 1];
            for (int j = 0; j <= k; j++) cuts[j] = (double)j / k;
            if (random is not null)
            {
                for (int j = 1; j < k; j++) cuts[j] = random.NextDouble();
                Array.Sort(cuts, 1, k - 1);
            }
            for (int t = 0, state = 0; t < length; t++)
            {
                double position = (t + 0.5) / length;
                while (state < k - 1 && position >= cuts[state + 1]) state++;
                labels[start + t] = state;
            }
        }
        return labels;
    }

    /// <summary>
    /// Renames a clustering's labels so that they fit the chain's structure best: the permutation σ of the K labels
    /// (all of them, for K ≤ 7) that maximises the number of starts in allowed initial states plus consecutive label
    /// pairs whose renamed transition is allowed. A full structure keeps the labels as they are.
    /// </summary>
    private int[] FitLabelsToStructure(int[] labels, ReadOnlySpan<int> sequences)
    {
        int k = States;
        if (_model.Structure.IsFull || k > 7) return labels;
        var starts = new double[k];
        var pairs = new double[k * k];
        for (int s = 0; s + 1 < sequences.Length; s++)
        {
            starts[labels[sequences[s]]]++;
            for (int t = sequences[s] + 1; t < sequences[s + 1]; t++) pairs[labels[t - 1] * k + labels[t]]++;
        }
        int[]? best = null;
        double bestScore = double.NegativeInfinity;
        foreach (var sigma in Permutations(k))
        {
            double score = 0;
            for (int a = 0; a < k; a++)
            {
                if (_initialAllowed[sigma[a]]) score += starts[a];
                for (int b = 0; b < k; b++)
                    if (_allowed[sigma[a] * k + sigma[b]]) score += pairs[a * k + b];
            }
            if (score > bestScore) { bestScore = score; best = sigma; }
        }
        return labels.Select(l => best![l]).ToArray();
    }

    /// <summary>Every permutation of 0…n−1, the identity first (so ties keep the labels).</summary>
    private static IEnumerable<int[]> Permutations(int n)
    {
        var p = Enumerable.Range(0, n).ToArray();
        while (true)
        {
            yield return (int[])p.Clone();
            int i = n - 2;
            while (i >= 0 && p[i] >= p[i + 1]) i--;
            if (i < 0) yield break;
            int j = n - 1;
            while (p[j] <= p[i]) j--;
            (p[i], p[j]) = (p[j], p[i]);
            Array.Reverse(p, i + 1, n - i - 1);
        }
    }

    // ---- M-step ----

    public override LatentState MStep(Statistics statistics, LatentState? previous, MStepContext context)
    {
        var stats = (MarkovStatistics)statistics;
        var old = previous as MarkovState;
        int k = States;
        // A first estimate (from a start's labels) smooths with one pseudo-count per allowed entry, so that no
        // allowed transition starts at zero, where EM would keep it for ever.
        double smoothing = old is null ? 1 : 0;
        double[] initial, transitions;
        if (_model.TiedTransitions)
        {
            initial = Normalised(stats.Counts, _model.InitialPriorInternal, _initialAllowed, smoothing, old?.Initial);
            transitions = new double[k * k];
            for (int i = 0; i < k; i++) initial.CopyTo(transitions, i * k);
        }
        else
        {
            initial = Normalised(stats.Initial, _model.InitialPriorInternal, _initialAllowed, smoothing, old?.Initial);
            transitions = new double[k * k];
            if (_model.FixedInternal is { } fixedMatrix)
                for (int i = 0; i < k; i++)
                    for (int j = 0; j < k; j++) transitions[i * k + j] = fixedMatrix[i, j];
            else
                for (int i = 0; i < k; i++)
                {
                    var alpha = _model.TransitionPriorInternal is { } tp ? Enumerable.Range(0, k).Select(j => tp[i, j]).ToArray() : null;
                    var row = Normalised(stats.Transitions.AsSpan(i * k, k), alpha, _allowed.AsSpan(i * k, k).ToArray(), smoothing,
                        old?.Transitions.AsSpan(i * k, k).ToArray());
                    row.CopyTo(transitions, i * k);
                }
        }
        if (old is not null) context.TakenWithoutComparison(Name);
        return new MarkovState(initial, transitions);
    }

    /// <summary>
    /// p_j ∝ n_j + α_j − 1 + smoothing over the allowed entries (0 elsewhere). When there is nothing to normalise
    /// (a state never left, with no prior), the previous row is kept, or the uniform one over allowed entries.
    /// </summary>
    private static double[] Normalised(ReadOnlySpan<double> counts, double[]? alpha, bool[] allowed, double smoothing, double[]? previous)
    {
        int k = allowed.Length;
        var p = new double[k];
        double total = 0;
        for (int j = 0; j < k; j++)
            if (allowed[j])
            {
                p[j] = counts[j] + (alpha?[j] - 1 ?? 0) + smoothing;
                total += p[j];
            }
        if (total > 0)
        {
            for (int j = 0; j < k; j++) p[j] /= total;
            return p;
        }
        if (previous is not null) return previous.ToArray();
        int n = allowed.Count(a => a);
        for (int j = 0; j < k; j++) p[j] = allowed[j] ? 1.0 / n : 0;
        return p;
    }

    // ---- free energy, prior ----

    /// <summary>Σ_i N⁰_i log π_i + Σ_ij N_ij log A_ij (0·log 0 = 0; see <see cref="LatentRuntime.CountLog"/>).</summary>
    public override double ExpectedLogJoint(Statistics statistics, LatentState state)
    {
        var stats = (MarkovStatistics)statistics;
        var s = (MarkovState)state;
        double q = 0;
        for (int i = 0; i < States; i++) q += CountLog(stats.Initial[i], s.Initial[i]);
        for (int i = 0; i < s.Transitions.Length; i++) q += CountLog(stats.Transitions[i], s.Transitions[i]);
        return q;
    }

    /// <summary>The Dirichlet log densities of the initial distribution and of every estimated row, over allowed entries.</summary>
    public override double LogPrior(LatentState state)
    {
        var s = (MarkovState)state;
        int k = States;
        double lp = 0;
        if (_model.InitialPriorInternal is { } a0) lp += LogDirichlet(s.Initial, a0, _initialAllowed);
        if (_model.TransitionPriorInternal is { } tp)
            for (int i = 0; i < k; i++)
                lp += LogDirichlet(s.Transitions.AsSpan(i * k, k).ToArray(), Enumerable.Range(0, k).Select(j => tp[i, j]).ToArray(),
                    _allowed.AsSpan(i * k, k).ToArray());
        return lp;
    }

    /// <summary>log Dirichlet(p restricted to the allowed entries | α restricted likewise); 0 when fewer than two entries are allowed.</summary>
    private static double LogDirichlet(double[] p, double[] alpha, bool[] allowed)
    {
        var idx = Enumerable.Range(0, p.Length).Where(j => allowed[j]).ToArray();
        if (idx.Length < 2) return 0;
        return new DirichletPrior(idx.Select(j => alpha[j])).LogDensity(idx.Select(j => p[j]).ToArray());
    }

    // ---- user parameters ----

    /// <summary>
    /// The state of a user's initial distribution and transition matrix (uniform over the allowed transitions when
    /// <paramref name="transitions"/> is null), checked against the structure: a positive probability where the
    /// structure has a zero is an error naming the entry.
    /// </summary>
    public MarkovState FromParameters(IReadOnlyList<double> initial, double[,]? transitions)
    {
        int k = States;
        MarkovChecks.Distribution(initial, k, "The initial distribution");
        for (int i = 0; i < k; i++)
            if (initial[i] != 0 && !_initialAllowed[i])
                throw new ArgumentException($"The initial distribution gives state {i} probability {initial[i]}, but the transition structure does not allow the chain to start there.");
        var a = new double[k * k];
        if (_model.FixedInternal is { } fixedMatrix)
        {
            if (transitions is not null) throw new ArgumentException("The model's transition matrix is fixed; give no initial transitions.");
            transitions = fixedMatrix;
        }
        if (transitions is null && _model.TiedTransitions)
        {
            for (int i = 0; i < k; i++)
                for (int j = 0; j < k; j++) a[i * k + j] = initial[j];
        }
        else if (transitions is null)
        {
            for (int i = 0; i < k; i++)
            {
                int n = Enumerable.Range(0, k).Count(j => _allowed[i * k + j]);
                for (int j = 0; j < k; j++) a[i * k + j] = _allowed[i * k + j] ? 1.0 / n : 0;
            }
        }
        else
        {
            MarkovChecks.Stochastic(transitions, k, "The initial transition matrix");
            for (int i = 0; i < k; i++)
                for (int j = 0; j < k; j++)
                {
                    if (transitions[i, j] != 0 && !_allowed[i * k + j])
                        throw new ArgumentException($"The initial transition matrix gives {i} → {j} probability {transitions[i, j]}, but the transition structure forbids that transition.");
                    a[i * k + j] = transitions[i, j];
                }
        }
        var p = initial.ToArray();
        if (_model.TiedTransitions)
            for (int i = 0; i < k; i++)
                for (int j = 0; j < k; j++)
                    if (Math.Abs(a[i * k + j] - p[j]) > 1e-9)
                        throw new ArgumentException($"The chain is tied (every row is the initial distribution), but row {i} of the initial transition matrix differs from it at state {j}.");
        double sum = p.Sum();
        return new MarkovState(p.Select(v => v / sum).ToArray(), a);
    }
}
