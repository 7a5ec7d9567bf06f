using EmDsl.Numerics;
using System.Collections.Immutable;
using EmDsl.Data;
using EmDsl.Families.Priors;
using EmDsl.Inference;

namespace EmDsl.Building;

/// <summary>Entry point of the hidden-Markov builder: <c>HiddenMarkov.WithStates(3).Observe(block).Build()</c>.</summary>
public static class HiddenMarkov
{
    /// <summary>Starts declaring a hidden Markov model with <paramref name="states"/> ≥ 1 hidden states.</summary>
    public static HiddenMarkovBuilder WithStates(int states)
    {
        if (states < 1)
            throw new ArgumentOutOfRangeException(nameof(states), states, "A hidden Markov model needs at least one state (K ≥ 1).");
        ArraySize.Argument(states, states, nameof(states), () => $"A hidden Markov model of {states:N0} states: its K × K transition matrix");
        return new HiddenMarkovBuilder(states, ImmutableList<Block>.Empty, TransitionStructure.Full, null, null, false, null);
    }
}

/// <summary>
/// Immutable fluent builder of a hidden Markov model: K hidden states z_1 … z_T forming a Markov chain, and at
/// every step observed blocks whose parameters depend on the state (the emissions). Any block works as an
/// emission — every family, declared families, regression blocks (an input–output HMM) — and blocks combine as
/// in a mixture: the emission density of state k is the product over blocks.
/// </summary>
public sealed class HiddenMarkovBuilder
{
    private readonly ImmutableList<Block> _blocks;
    private readonly TransitionStructure _structure;
    private readonly double[,]? _transitionPrior;
    private readonly double[]? _initialPrior;
    private readonly bool _tied;
    private readonly double[,]? _fixed;

    internal HiddenMarkovBuilder(int states, ImmutableList<Block> blocks, TransitionStructure structure, double[,]? transitionPrior,
        double[]? initialPrior, bool tied, double[,]? fixedTransitions)
    {
        States = states;
        _blocks = blocks;
        _structure = structure;
        _transitionPrior = transitionPrior;
        _initialPrior = initialPrior;
        _tied = tied;
        _fixed = fixedTransitions;
    }

    /// <summary>K.</summary>
    public int States { get; }

    private HiddenMarkovBuilder With(ImmutableList<Block>? blocks = null, TransitionStructure? structure = null, double[,]? transitionPrior = null,
        double[]? initialPrior = null, bool? tied = null, double[,]? fixedTransitions = null) =>
        new(States, blocks ?? _blocks, structure ?? _structure, transitionPrior ?? _transitionPrior, initialPrior ?? _initialPrior,
            tied ?? _tied, fixedTransitions ?? _fixed);

    /// <summary>Adds observed blocks (declared with <see cref="Blocks"/>), in order: the emissions.</summary>
    public HiddenMarkovBuilder Observe(params Block[] blocks)
    {
        ArgumentNullException.ThrowIfNull(blocks);
        for (int i = 0; i < blocks.Length; i++)
            if (blocks[i] is null) throw new ArgumentNullException(nameof(blocks), $"Block {i} of the {blocks.Length} given is null.");
        return With(blocks: _blocks.AddRange(blocks));
    }

    /// <summary>Which transitions (and initial states) are allowed; the others are structural zeros (default: all allowed).</summary>
    public HiddenMarkovBuilder WithTransitions(TransitionStructure structure)
    {
        ArgumentNullException.ThrowIfNull(structure);
        return With(structure: structure);
    }

    /// <summary>
    /// A Dirichlet(α, …, α) prior on every row of the transition matrix, over the row's allowed entries (α ≥ 1;
    /// α − 1 pseudo-transitions per allowed entry; 1 is maximum likelihood). Its log density enters the objective.
    /// </summary>
    public HiddenMarkovBuilder WithTransitionPrior(double concentration)
    {
        PriorChecks.AtLeastOne(concentration, nameof(concentration), "The transition prior's concentration");
        var alpha = new double[States, States];
        for (int i = 0; i < States; i++)
            for (int j = 0; j < States; j++) alpha[i, j] = concentration;
        return With(transitionPrior: alpha);
    }

    /// <summary>
    /// A Dirichlet prior on each row i of the transition matrix with concentrations
    /// <paramref name="concentrations"/>[i, ·] (K × K, each ≥ 1 on allowed entries; structural zeros are not part
    /// of the row's distribution, so their entries are ignored). Its log density enters the objective.
    /// </summary>
    public HiddenMarkovBuilder WithTransitionPrior(double[,] concentrations)
    {
        ArgumentNullException.ThrowIfNull(concentrations);
        if (concentrations.GetLength(0) != States || concentrations.GetLength(1) != States)
            throw new ArgumentException($"The transition prior is {concentrations.GetLength(0)}×{concentrations.GetLength(1)}; a {States}-state chain needs {States}×{States} concentrations (row i: from state i).", nameof(concentrations));
        return With(transitionPrior: (double[,])concentrations.Clone());
    }

    /// <summary>A symmetric Dirichlet(α, …, α) prior on the initial distribution, over the allowed initial states (α ≥ 1).</summary>
    public HiddenMarkovBuilder WithInitialPrior(double concentration)
    {
        PriorChecks.AtLeastOne(concentration, nameof(concentration), "The initial-state prior's concentration");
        return With(initialPrior: Enumerable.Repeat(concentration, States).ToArray());
    }

    /// <summary>A Dirichlet prior on the initial distribution with one concentration per state (each ≥ 1 where a start is allowed).</summary>
    public HiddenMarkovBuilder WithInitialPrior(IEnumerable<double> concentrations)
    {
        ArgumentNullException.ThrowIfNull(concentrations);
        var alpha = concentrations.ToArray();
        if (alpha.Length != States)
            throw new ArgumentException($"The initial-state prior has {alpha.Length} concentrations; the chain has {States} states.", nameof(concentrations));
        return With(initialPrior: alpha);
    }

    /// <summary>
    /// Ties the chain: every row of the transition matrix is one distribution π over states, which is also the
    /// initial distribution, so the states are drawn independently at every step — a K-component mixture over the
    /// steps. Useful as a null model and to start from. Its prior is the initial-state prior.
    /// </summary>
    public HiddenMarkovBuilder TieTransitions() => With(tied: true);

    /// <summary>Holds the transition matrix fixed at <paramref name="transitions"/> (rows sum to 1); the initial distribution and the emissions are still estimated.</summary>
    public HiddenMarkovBuilder FixTransitions(double[,] transitions)
    {
        ArgumentNullException.ThrowIfNull(transitions);
        MarkovChecks.Stochastic(transitions, States, "The fixed transition matrix");
        return With(fixedTransitions: (double[,])transitions.Clone());
    }

    /// <summary>Checks the declaration and produces the immutable model.</summary>
    /// <exception cref="InvalidOperationException">No blocks, duplicate names, a column read twice, an invalid structure (a state with no successor or unreachable), or conflicting options (the message names the state or entry).</exception>
    public HiddenMarkovModel Build()
    {
        BlockChecks.Validate(_blocks, "hidden Markov model");
        _structure.Validate(States);
        if (_tied && !_structure.IsFull)
            throw new InvalidOperationException("A tied chain (TieTransitions) draws every state from one distribution, which structural zeros cannot constrain; use TransitionStructure.Full.");
        if (_tied && _fixed is not null) throw new InvalidOperationException("TieTransitions and FixTransitions exclude each other.");
        if (_tied && _transitionPrior is not null)
            throw new InvalidOperationException("A tied chain has one distribution over states; give its prior with WithInitialPrior, not WithTransitionPrior.");
        if (_fixed is not null && _transitionPrior is not null)
            throw new InvalidOperationException("A fixed transition matrix is not estimated, so it takes no transition prior.");
        if (_fixed is not null)
            for (int i = 0; i < States; i++)
                for (int j = 0; j < States; j++)
                    if (_fixed[i, j] != 0 && !_structure.Allows(i, j))
                        throw new InvalidOperationException($"The fixed transition matrix has probability {_fixed[i, j]} for {i} → {j}, which the transition structure forbids.");
        if (_transitionPrior is not null)
            for (int i = 0; i < States; i++)
                for (int j = 0; j < States; j++)
                    if (_structure.Allows(i, j))
                        PriorChecks.AtLeastOne(_transitionPrior[i, j], "concentrations", $"The transition prior's concentration for {i} → {j}");
        if (_initialPrior is not null)
            for (int i = 0; i < States; i++)
                if (_structure.AllowsStart(i))
                    PriorChecks.AtLeastOne(_initialPrior[i], "concentrations", $"The initial-state prior's concentration for state {i}");
        return new HiddenMarkovModel(States, _blocks, _structure, _transitionPrior, _initialPrior, _tied, _fixed);
    }
}

/// <summary>
/// An immutable hidden Markov model: K hidden states with initial distribution π (π_i = p(z_1 = i)) and
/// transition matrix A (A_ij = p(z_{t+1} = j | z_t = i)), and at each step t the observed blocks' density
/// given the state, Π_b p_b(x_tb | θ_b,z_t). For sequences x⁽¹⁾ … x⁽ˢ⁾,
/// <code>p(x⁽ˢ⁾ | θ) = Σ_z π_{z_1} Π_t A_{z_t z_{t+1}} Π_t Π_b p_b(x_t | θ_b,z_t)</code>
/// <see cref="Fit(SequenceData, FitOptions?, IReadOnlyList{double}?, IProgress{FitProgress}?, CancellationToken)"/>
/// runs EM (Baum–Welch; MAP-EM with priors), whose E-step is forward–backward, and monitors
/// Σ_s w_s log p(x⁽ˢ⁾ | θ) + log p(θ).
/// </summary>
public sealed class HiddenMarkovModel : ILatentModel
{
    internal HiddenMarkovModel(int states, IReadOnlyList<Block> blocks, TransitionStructure structure, double[,]? transitionPrior,
        double[]? initialPrior, bool tied, double[,]? fixedTransitions)
    {
        States = states;
        Blocks = blocks;
        Structure = structure;
        _transitionPrior = transitionPrior;
        _initialPrior = initialPrior;
        TiedTransitions = tied;
        _fixed = fixedTransitions;
    }

    private readonly double[,]? _transitionPrior;
    private readonly double[]? _initialPrior;
    private readonly double[,]? _fixed;

    /// <summary>K.</summary>
    public int States { get; }

    int ILatentModel.States => States;

    /// <summary>The observed blocks (emissions), in declaration order.</summary>
    public IReadOnlyList<Block> Blocks { get; }

    /// <summary>Which transitions and initial states are allowed.</summary>
    public TransitionStructure Structure { get; }

    /// <summary>Whether every row of the transition matrix is the initial distribution (see <see cref="HiddenMarkovBuilder.TieTransitions"/>).</summary>
    public bool TiedTransitions { get; }

    /// <summary>The fixed transition matrix (a copy), or null when it is estimated.</summary>
    public double[,]? FixedTransitions => (double[,]?)_fixed?.Clone();

    /// <summary>The transition prior's concentrations (a copy; K × K), or null (maximum likelihood).</summary>
    public double[,]? TransitionPrior => (double[,]?)_transitionPrior?.Clone();

    /// <summary>The initial-state prior's concentrations (a copy), or null (maximum likelihood).</summary>
    public IReadOnlyList<double>? InitialPrior => _initialPrior?.ToArray();

    internal double[,]? TransitionPriorInternal => _transitionPrior;

    internal double[]? InitialPriorInternal => _initialPrior;

    internal double[,]? FixedInternal => _fixed;

    /// <summary>
    /// Whether some block reads its columns by name. Such a model is resolved against the data's
    /// <see cref="DataMatrix.ColumnNames"/> whenever it is fitted; the fit's <see cref="HiddenMarkovFit.Model"/> is the
    /// resolved model, with both the names and the indices.
    /// </summary>
    public bool NamesColumns => Blocks.Any(b => b.ColumnNames is not null);

    /// <summary>The column names of the data a resolved model was resolved against (null for a model declared by index).</summary>
    internal IReadOnlyList<string>? DataColumnNames { get; private init; }

    IReadOnlyList<string>? ILatentModel.DataColumnNames => DataColumnNames;

    /// <summary>The model bound to <paramref name="data"/> (see <see cref="MixtureModel"/>'s Resolve); the model itself when nothing is named.</summary>
    internal HiddenMarkovModel Resolve(DataMatrix data)
    {
        if (!NamesColumns) return this;
        var blocks = Blocks.Select(b => b.Resolve(data)).ToArray();
        try
        {
            BlockChecks.Validate(blocks, "hidden Markov model");
        }
        catch (InvalidOperationException e)
        {
            throw new ArgumentException(e.Message, nameof(data), e);
        }
        return new HiddenMarkovModel(States, blocks, Structure, _transitionPrior, _initialPrior, TiedTransitions, _fixed) { DataColumnNames = data.ColumnNames };
    }

    /// <summary>Number of data columns the model needs: one more than the largest column index read (responses and covariates).</summary>
    /// <exception cref="InvalidOperationException">The model reads columns by name and has not been resolved (a fit's <see cref="HiddenMarkovFit.Model"/> has).</exception>
    public int RequiredColumns => Blocks.SelectMany(b => b.Columns.Concat(b.Covariates)).Max() + 1;

    /// <summary>
    /// Free parameters (for BIC and AIC): the initial distribution's allowed entries − 1, each transition row's
    /// allowed entries − 1 (none when fixed; K − 1 in all for a tied chain, which shares the initial distribution),
    /// plus every block's parameters for K states.
    /// </summary>
    public int FreeParameterCount
    {
        get
        {
            int k = States;
            return InitialParameterCount + TransitionParameterCount + Blocks.Sum(b => b.FreeParameterCount(k));
        }
    }

    /// <summary>Free initial-state probabilities (a tied chain's one distribution).</summary>
    internal int InitialParameterCount => Enumerable.Range(0, States).Count(Structure.AllowsStart) - 1;

    /// <summary>Free transition probabilities (none when tied or fixed).</summary>
    internal int TransitionParameterCount => TiedTransitions || _fixed is not null ? 0
        : Enumerable.Range(0, States).Sum(i => Enumerable.Range(0, States).Count(j => Structure.Allows(i, j)) - 1);

    /// <summary>Fits the model to sequences by EM (Baum–Welch).</summary>
    /// <param name="data">The sequences (see <see cref="SequenceData"/>); the blocks read their columns at every step.</param>
    /// <param name="options">Run settings; null uses <see cref="FitOptions.Default"/>.</param>
    /// <param name="sequenceWeights">Optional non-negative weight per sequence (a weight of 2 counts a sequence twice).</param>
    /// <param name="progress">Receives one report per iteration, on the fitting thread.</param>
    /// <param name="cancellationToken">Stops the fit between chunks (throws <see cref="OperationCanceledException"/>).</param>
    /// <exception cref="ArgumentException">The data or weights do not fit the model (the message names the sequence, row, column or block).</exception>
    public HiddenMarkovFit Fit(SequenceData data, FitOptions? options = null, IReadOnlyList<double>? sequenceWeights = null,
        IProgress<FitProgress>? progress = null, CancellationToken cancellationToken = default) =>
        EmEngine.FitHiddenMarkov(this, data, options ?? FitOptions.Default, sequenceWeights, progress, cancellationToken);

    /// <summary>Fits the model to one sequence: the rows of <paramref name="data"/> in order.</summary>
    public HiddenMarkovFit Fit(DataMatrix data, FitOptions? options = null, IProgress<FitProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Fit(SequenceData.Single(data), options, null, progress, cancellationToken);

    /// <inheritdoc />
    public override string ToString() =>
        $"Hidden Markov model with {States} states, {(TiedTransitions ? "tied" : _fixed is not null ? "fixed" : Structure.Description)} transitions" +
        (_transitionPrior is null ? "" : ", transition prior") + (_initialPrior is null ? "" : ", initial-state prior") +
        string.Concat(Blocks.Select(b => Environment.NewLine + "  " + b));
}

/// <summary>Checks shared by the builders.</summary>
internal static class BlockChecks
{
    /// <summary>At least one block, unique names, each column read by one block (by name for blocks not yet resolved).</summary>
    public static void Validate(IReadOnlyList<Block> blocks, string what)
    {
        if (blocks.Count == 0) throw new InvalidOperationException($"The {what} observes no blocks; add one with Observe(...).");
        var owner = new Dictionary<int, string>();
        var byName = new Dictionary<string, string>(StringComparer.Ordinal);
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var b in blocks)
        {
            if (!names.Add(b.Name)) throw new InvalidOperationException($"Two blocks are named '{b.Name}'; block names must be unique.");
            if (!b.IsResolved)
            {
                // Declared by name: checked by name now, and by index again when the model is fitted.
                foreach (var c in b.ColumnNames!)
                {
                    if (byName.TryGetValue(c, out var other))
                        throw new InvalidOperationException($"Column '{c}' is read by both block '{other}' and block '{b.Name}'; each column belongs to one block.");
                    byName[c] = b.Name;
                }
                continue;
            }
            foreach (var c in b.Columns)
            {
                if (owner.TryGetValue(c, out var other))
                    throw new InvalidOperationException($"Column {c} is read by both block '{other}' and block '{b.Name}'; each column belongs to one block.");
                owner[c] = b.Name;
            }
        }
    }
}

/// <summary>Checks of probability vectors and stochastic matrices.</summary>
internal static class MarkovChecks
{
    /// <summary>A K × K matrix of finite non-negative entries whose rows sum to 1 (to 1e-6); the message names the entry or row.</summary>
    public static void Stochastic(double[,] m, int states, string what)
    {
        if (m.GetLength(0) != states || m.GetLength(1) != states)
            throw new ArgumentException($"{what} is {m.GetLength(0)}×{m.GetLength(1)}; a {states}-state chain needs {states}×{states} (row i: from state i).");
        for (int i = 0; i < states; i++)
        {
            double sum = 0;
            for (int j = 0; j < states; j++)
            {
                double v = m[i, j];
                if (!(v >= 0) || double.IsInfinity(v))
                    throw new ArgumentException($"{what}: entry {i} → {j} is {v}; probabilities must be finite and ≥ 0.");
                sum += v;
            }
            if (Math.Abs(sum - 1) > 1e-6)
                throw new ArgumentException($"{what}: row {i} (from state {i}) sums to {sum:G10}; each row must sum to 1.");
        }
    }

    /// <summary>A probability vector of length K summing to 1 (to 1e-6); the message names the entry.</summary>
    public static void Distribution(IReadOnlyList<double> p, int states, string what)
    {
        if (p.Count != states) throw new ArgumentException($"{what} has {p.Count} entries; the chain has {states} states.");
        double sum = 0;
        for (int i = 0; i < states; i++)
        {
            if (!(p[i] >= 0) || double.IsInfinity(p[i])) throw new ArgumentException($"{what}: entry {i} is {p[i]}; probabilities must be finite and ≥ 0.");
            sum += p[i];
        }
        if (Math.Abs(sum - 1) > 1e-6) throw new ArgumentException($"{what} sums to {sum:G10}; it must sum to 1.");
    }
}
