using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;

namespace EmDsl.Inference;

/// <summary>
/// One block's parameters during and after a fit: natural parameters η_k (K × S, in the block's data frame)
/// and their log-normalizers A(η_k), with the usual parameters cached when known. Immutable once built.
/// </summary>
internal sealed class BlockState
{
    public BlockState(double[] natural, double[] logNormalizer, Array usual, object? evaluation = null)
    {
        Natural = natural;
        LogNormalizer = logNormalizer;
        Usual = usual;
        Evaluation = evaluation;
    }

    /// <summary>K × S natural parameters, row k for component k.</summary>
    public double[] Natural { get; }

    /// <summary>A(η_k) per component.</summary>
    public double[] LogNormalizer { get; }

    /// <summary>The usual parameter records, one per component, in the user's coordinates.</summary>
    public Array Usual { get; }

    /// <summary>Whatever the block precomputes once per state to evaluate it fast (e.g. whitening matrices), or null.</summary>
    public object? Evaluation { get; }
}

/// <summary>What an M-step needs besides the statistics.</summary>
internal sealed class MStepContext(FitOptions options, EventLog log, double emptyMass)
{
    public FitOptions Options { get; } = options;

    public EventLog Log { get; } = log;

    /// <summary>Whether floored estimates are taken even when they lower Q (<see cref="FloorStrategy.MatchScikitLearn"/>).</summary>
    public bool AlwaysTakeFloored => Options.Floors == FloorStrategy.MatchScikitLearn;

    /// <summary>Total responsibility at or below which a component counts as empty.</summary>
    public double EmptyMass { get; } = emptyMass;

    /// <summary>
    /// The E-step's responsibilities times the sample weights (rows × K, training rows), set before each M-step
    /// when a block (<see cref="BlockRuntime.NeedsResponsibilities"/>) or the gating needs them; else null.
    /// </summary>
    public double[]? Responsibilities { get; set; }

    /// <summary>
    /// Whether a candidate's expected complete-data objective Q is no worse than the previous one's. A
    /// closed-form M-step maximises Q, so only a floor or rounding can make it lose; keeping the previous
    /// parameters then is a generalized-EM step, which cannot lower the objective.
    /// </summary>
    public static bool NotWorse(double candidate, double previous) => candidate >= previous;

    /// <summary>
    /// A loss of Q too small to report (the same relative threshold as an objective decrease): near convergence
    /// a binding floor routinely loses Q by ~1e-12 relative, which says nothing about the fit.
    /// </summary>
    public static double NegligibleLoss(double value) => 1e-9 * Math.Max(1, Math.Abs(value));
}

/// <summary>
/// The per-fit machinery of one block: gathering its columns, computing T(x) in its data frame, the
/// M-step with its prior and sharing, its log prior, and conversions to the usual parameters.
/// </summary>
internal abstract class BlockRuntime
{
    private readonly int[] _columns;

    protected BlockRuntime(Block block, int components)
    {
        Block = block;
        Components = components;
        _columns = block.Columns.ToArray();
    }

    public Block Block { get; }

    public string Name => Block.Name;

    public ExponentialFamily Family => Block.Family;

    public int Components { get; }

    public int Dimension => Family.Dimension;

    /// <summary>Statistics the block keeps in the engine's summary per component (0 for blocks that work from responsibilities).</summary>
    public virtual int StatisticCount => Family.StatisticCount;

    /// <summary>
    /// Whether the M-step needs the rows' responsibilities (<see cref="MStepContext.Responsibilities"/>) rather than
    /// additive statistics: blocks with covariates, whose expected log-likelihood has no finite summary.
    /// </summary>
    public virtual bool NeedsResponsibilities => false;

    /// <summary>Checks that the data has the block's columns and that every row lies in the family's support.</summary>
    public virtual void Validate(DataMatrix data)
    {
        int max = _columns.Max();
        if (max >= data.Columns)
            throw new ArgumentException(
                $"Block '{Name}' reads column {max}, but the data has {data.Columns} column{(data.Columns == 1 ? "" : "s")} (0..{data.Columns - 1}).");
        var x = new double[Dimension];
        for (int r = 0; r < data.Rows; r++)
        {
            var row = data.Row(r);
            for (int j = 0; j < _columns.Length; j++) x[j] = row[_columns[j]];
            var violation = Family.CheckSupport(x);
            if (violation is not null)
                throw new ArgumentException(
                    $"Row {r}, column {_columns[violation.Offset]} (block '{Name}', {Family.Name}): {violation.Reason}.");
        }
    }

    /// <summary>Copies the block's columns of rows [start, start + rows) into <paramref name="x"/> (rows × D).</summary>
    public void Gather(DataMatrix data, int start, int rows, Span<double> x)
    {
        var values = data.Values;
        int stride = data.Columns, d = _columns.Length;
        for (int i = 0; i < rows; i++)
        {
            int src = (start + i) * stride, dst = i * d;
            for (int j = 0; j < d; j++) x[dst + j] = values[src + _columns[j]];
        }
    }

    /// <summary>Writes T(x) for rows [start, start + rows) into columns [offset, offset + S) of the rows × stride buffer <paramref name="t"/>.</summary>
    public void Statistics(DataMatrix data, int start, int rows, Span<double> gather, Span<double> t, int stride, int offset)
    {
        Gather(data, start, rows, gather);
        Family.SufficientStatistics(gather.Slice(0, rows * Dimension), rows, t, stride, offset);
    }

    /// <summary>Adds log h(x) of rows [start, start + rows) to <paramref name="logBase"/>.</summary>
    public void AddLogBaseMeasure(DataMatrix data, int start, int rows, Span<double> gather, Span<double> logBase)
    {
        Gather(data, start, rows, gather);
        Family.AddLogBaseMeasure(gather.Slice(0, rows * Dimension), rows, logBase);
    }

    // ---- blocks that evaluate each component in its own frame ----

    /// <summary>
    /// Whether the block's T(x) is the same for every component, so that its part of the log-joint is in the
    /// engine's one shared product T·Hᵀ and its statistics in Rᵀ·T. A block that evaluates component k in
    /// its own frame (T(x − c_k), as the Gaussian does for accuracy) returns false and implements
    /// <see cref="AddComponentTerms"/> and <see cref="AccumulateComponentStatistics"/>.
    /// </summary>
    public virtual bool SharesFrame => true;

    /// <summary>Scratch doubles per row that the two methods below need (plus D² more, always provided).</summary>
    public virtual int ScratchPerRow => 0;

    /// <summary>
    /// Adds T_k(x_n)·η_k to <paramref name="logJoint"/> (rows × K) for every row and component; A(η_k) and
    /// log h are added by the engine.
    /// </summary>
    public virtual void AddComponentTerms(DataMatrix data, int start, int rows, BlockState state, Span<double> logJoint, Span<double> scratch) =>
        throw new InvalidOperationException($"Block '{Name}' shares its frame; its terms are in the engine's product.");

    /// <summary>
    /// Adds Σ_n r_nk T_k(x_n) to row k of <paramref name="statistics"/> (K rows, leading dimension
    /// <paramref name="ld"/>), in the frames of <paramref name="state"/> (the initial frame when null).
    /// </summary>
    public virtual void AccumulateComponentStatistics(DataMatrix data, int start, int rows, BlockState? state,
        ReadOnlySpan<double> responsibilities, Span<double> statistics, int ld, Span<double> scratch) =>
        throw new InvalidOperationException($"Block '{Name}' shares its frame; its statistics are in the engine's product.");

    /// <summary>
    /// The M-step: new parameters from this block's K × S expected statistics and the K component counts.
    /// <paramref name="previous"/> is null only when initialising.
    /// </summary>
    public abstract BlockState MStep(ReadOnlySpan<double> statistics, ReadOnlySpan<double> counts, BlockState? previous, MStepContext context);

    /// <summary>log p(θ_block) under the block's prior (0 without one).</summary>
    public abstract double LogPrior(BlockState state);

    /// <summary>State from user-given parameters (an array of the block's parameter records, one per component).</summary>
    public abstract BlockState FromParameters(IReadOnlyList<object> components);

    /// <summary>Draws the block's columns of one observation from component k into <paramref name="x"/> (length D).</summary>
    public virtual void Sample(BlockState state, int k, Random random, Span<double> x) =>
        Family.Sample(state.Natural.AsSpan(k * StatisticCount, StatisticCount), random, x);

    /// <summary>The columns this block reads.</summary>
    public ReadOnlySpan<int> Columns => _columns;

    /// <summary>Builds a state, computing A(η_k) for each component.</summary>
    protected BlockState CreateState(double[] natural, Array usual, object? evaluation = null)
    {
        int s = StatisticCount;
        var a = new double[Components];
        for (int k = 0; k < Components; k++) a[k] = Family.LogNormalizer(natural.AsSpan(k * s, s));
        return new BlockState(natural, a, usual, evaluation);
    }

    /// <summary>Σ_k (η_k · S_k − R_k A(η_k)) over the given components: the data part of Q.</summary>
    protected double ExpectedLogLikelihood(ReadOnlySpan<double> natural, ReadOnlySpan<double> statistics, ReadOnlySpan<double> counts, IEnumerable<int> components)
    {
        int s = StatisticCount;
        double q = 0;
        foreach (int k in components)
        {
            var eta = natural.Slice(k * s, s);
            var stat = statistics.Slice(k * s, s);
            double dot = 0;
            for (int i = 0; i < s; i++) dot += eta[i] * stat[i];
            q += dot - (counts[k] == 0 ? 0 : counts[k] * Family.LogNormalizer(eta));
        }
        return q;
    }

    /// <summary>Component groups that share parameters: one group of all under <see cref="Sharing.Shared"/>, else one per component.</summary>
    protected int[][] Groups() =>
        Block.Sharing == Sharing.Shared
            ? [Enumerable.Range(0, Components).ToArray()]
            : Enumerable.Range(0, Components).Select(k => new[] { k }).ToArray();

    /// <summary>Sums the statistics and counts of a group of components.</summary>
    protected void SumGroup(ReadOnlySpan<double> statistics, ReadOnlySpan<double> counts, int[] group, Span<double> sum, out double count)
    {
        int s = StatisticCount;
        sum.Slice(0, s).Clear();
        count = 0;
        foreach (int k in group)
        {
            count += counts[k];
            var stat = statistics.Slice(k * s, s);
            for (int i = 0; i < s; i++) sum[i] += stat[i];
        }
    }

    /// <summary>All components, as one group (for pooled fall-backs).</summary>
    protected int[] AllComponents() => Enumerable.Range(0, Components).ToArray();
}

/// <summary>A block runtime whose usual parameters are <typeparamref name="TParameters"/>.</summary>
internal abstract class BlockRuntime<TParameters> : BlockRuntime
{
    protected BlockRuntime(Block<TParameters> block, int components) : base(block, components) { }

    /// <summary>The usual parameters of every component.</summary>
    public IReadOnlyList<TParameters> Parameters(BlockState state) => (TParameters[])state.Usual;

    public override BlockState FromParameters(IReadOnlyList<object> components)
    {
        if (components.Count != Components)
            throw new ArgumentException($"Block '{Name}': {components.Count} initial parameter records given; the mixture has {Components} components.");
        var typed = new TParameters[Components];
        for (int k = 0; k < Components; k++)
            typed[k] = components[k] is TParameters p
                ? p
                : throw new ArgumentException($"Block '{Name}': initial parameters of component {k} are not {typeof(TParameters).Name}.");
        return FromTyped(typed);
    }

    /// <summary>State from typed parameters (validated by the family's conversion, with the component named on error).</summary>
    protected abstract BlockState FromTyped(TParameters[] components);
}
