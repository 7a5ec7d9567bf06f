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

    /// <summary>K × S natural parameters, row k for state k.</summary>
    public double[] Natural { get; }

    /// <summary>A(η_k) per state.</summary>
    public double[] LogNormalizer { get; }

    /// <summary>The usual parameter records, one per state, in the user's coordinates.</summary>
    public Array Usual { get; }

    /// <summary>Whatever the block precomputes once per state to evaluate it fast (e.g. whitening matrices), or null.</summary>
    public object? Evaluation { get; }
}

/// <summary>
/// An observed block during a fit, whatever latent structure drives it (a mixture label, a gated label, a
/// Markov chain): K latent states, each with its own parameters (or shared ones). Its three duties:
/// <list type="number">
/// <item>E-step: add log p(x_n | z_n = k) − log h(x_n) to the rows × K log-joint of a chunk — through the engine's
/// one shared product T·Hᵀ when its T(x) is the same for every state (<see cref="SharesFrame"/>), or by its own
/// per-state terms (<see cref="AddComponentTerms"/>);</item>
/// <item>statistics: from the weighted posterior of a chunk it is handed, accumulate its own typed, additive
/// <see cref="Statistics"/> (<see cref="CreateStatistics"/>, <see cref="TakeSharedProduct"/>, <see cref="Accumulate"/>);</item>
/// <item>M-step: new parameters from those statistics alone (<see cref="MStep"/>), each candidate judged by
/// the one acceptance policy of <see cref="MStepContext"/>, and its part of the free energy
/// (<see cref="ExpectedLogLikelihood"/>, <see cref="LogPrior"/>).</item>
/// </list>
/// </summary>
internal abstract class BlockRuntime
{
    private readonly int[] _columns;

    protected BlockRuntime(Block block, int components)
    {
        Block = block;
        Components = components;
        _columns = block.Columns.ToArray();
        FirstOfContiguousColumns = Contiguous(_columns);
    }

    public Block Block { get; }

    public string Name => Block.Name;

    public ExponentialFamily Family => Block.Family;

    /// <summary>K: the number of latent states (mixture components, hidden states).</summary>
    public int Components { get; }

    public int Dimension => Family.Dimension;

    /// <summary>S: the width of T(x) per state.</summary>
    public virtual int StatisticCount => Family.StatisticCount;

    /// <summary>The columns this block reads.</summary>
    public ReadOnlySpan<int> Columns => _columns;

    /// <summary>c when the block reads the consecutive columns c, c + 1, …, c + D − 1 (a row's values are then one slice), else null.</summary>
    public int? FirstOfContiguousColumns { get; }

    private static int? Contiguous(int[] columns)
    {
        for (int j = 1; j < columns.Length; j++) if (columns[j] != columns[0] + j) return null;
        return columns.Length == 0 ? null : columns[0];
    }

    // ---- data ----

    /// <summary>
    /// Checks that the chunk has the block's columns and that every row lies in the family's support. A missing value
    /// (possible only under <see cref="MissingValuePolicy.Marginalize"/>) is checked by <see cref="MissingCount"/>'s
    /// rules: a row with all of the block's columns missing is skipped; one with some missing is accepted only by a
    /// block that <see cref="FillsHoles"/>, whose observed values are checked with the holes read as 0.
    /// </summary>
    public virtual void Validate(DataChunk data)
    {
        int max = _columns.Max();
        if (max >= data.Columns)
            throw new ArgumentException(
                $"Block '{Name}' reads column {max}, but the data has {data.Columns} column{(data.Columns == 1 ? "" : "s")} (0..{data.Columns - 1}).");
        if (AllValuesInSupport(data)) return;
        var x = new double[Dimension];
        for (int r = 0; r < data.Rows; r++)
        {
            var row = data.Row(r);
            for (int j = 0; j < _columns.Length; j++) x[j] = row[_columns[j]];
            if (data.MayHaveMissing && MissingCount(row) is int m && m > 0)
            {
                if (m == _columns.Length) continue;
                if (!FillsHoles)
                {
                    int hole = _columns[0];
                    foreach (int c in _columns) if (double.IsNaN(row[c])) { hole = c; break; }
                    throw new NotSupportedException(
                        $"Row {data.FirstRow + r}, column {hole} is missing, but block '{Name}' ({Family.Name}) has statistics that do not separate by column, so it cannot marginalise some of its columns alone: a row must have all of the block's columns {string.Join(", ", _columns)} missing or none.");
                }
                for (int j = 0; j < x.Length; j++) if (double.IsNaN(x[j])) x[j] = 0;
            }
            var violation = Family.CheckSupport(x);
            if (violation is not null)
                throw new ArgumentException(
                    $"Row {data.FirstRow + r}, column {_columns[violation.Offset]} (block '{Name}', {Family.Name}): {violation.Reason}.");
        }
    }

    /// <summary>
    /// True when the family judges values one at a time (<see cref="ExponentialFamily.AllValuesInSupport"/>) and finds
    /// every value of the block's columns in its support, with no missing values possible: the whole check, a vector at a
    /// time. False sends the chunk through the row-by-row check, which finds and names the first bad value.
    /// </summary>
    private bool AllValuesInSupport(DataChunk data)
    {
        if (data.MayHaveMissing || FirstOfContiguousColumns is not int first) return false;
        if (first == 0 && _columns.Length == data.Columns) return Family.AllValuesInSupport(data.Values) == true;
        // A family that does not judge values alone answers null at the first row, which ends the scan there.
        for (int r = 0; r < data.Rows; r++)
            if (Family.AllValuesInSupport(data.Row(r).Slice(first, _columns.Length)) != true) return false;
        return true;
    }

    // ---- missing values (FitOptions.MissingValues = Marginalize) ----

    /// <summary>Whether the block can marginalise missing values in its columns (false: a missing value in them is an error).</summary>
    public virtual bool SupportsMissing => false;

    /// <summary>
    /// Whether a missing column of a row is read as 0 in T(x) and log h(x), which must then drop exactly that column's
    /// part (a family that <see cref="ExponentialFamily.SeparatesColumns"/>, or a block that corrects its own terms, as
    /// the Gaussian does). Otherwise only rows with all of the block's columns missing are allowed; their T and log h are 0.
    /// </summary>
    protected virtual bool FillsHoles => false;

    /// <summary>How many of the block's columns are missing (NaN) in <paramref name="row"/>, a row of the whole data.</summary>
    public int MissingCount(ReadOnlySpan<double> row)
    {
        int m = 0;
        foreach (int c in _columns) if (double.IsNaN(row[c])) m++;
        return m;
    }

    /// <summary>
    /// For a shared-frame block, on a chunk that may have missing values: adds to the log-joint (rows × K) what makes
    /// each row with holes the log-likelihood of its observed columns (the engine's product and bias hold T(x)·η_k − A(η_k)
    /// with the holes' statistics 0, so this adds back the missing columns' part of A(η_k)).
    /// </summary>
    public virtual void AddMissingTerms(DataChunk data, BlockState state, Span<double> logJoint) { }

    /// <summary>
    /// On a chunk that may have missing values: adds the expected statistics of the missing columns of each row given
    /// its observed ones and each state, under the weighted posterior <paramref name="posterior"/>, to
    /// <paramref name="into"/>, and returns Σ_n Σ_k w_n q_n(k) H[p(x_m | x_o, z = k)] (without the base measure, which
    /// cancels against the complete-data expected log h) — the missing values' part of the free energy's entropy.
    /// </summary>
    public virtual double AccumulateMissing(DataChunk data, ReadOnlySpan<double> posterior, Statistics into) => 0;

    /// <summary>
    /// The chunk's rows of the block's columns (rows × D, row-major): the chunk's own values when the block reads every
    /// column in order (no copy), otherwise gathered into <paramref name="buffer"/>.
    /// </summary>
    public ReadOnlySpan<double> RowsOf(DataChunk data, Span<double> buffer)
    {
        int d = _columns.Length;
        if (FirstOfContiguousColumns == 0 && d == data.Columns) return data.Values.Slice(0, data.Rows * d);
        Gather(data, buffer);
        return buffer.Slice(0, data.Rows * d);
    }

    /// <summary>Copies the block's columns of the chunk's rows into <paramref name="x"/> (rows × D).</summary>
    public void Gather(DataChunk data, Span<double> x)
    {
        var values = data.Values;
        int stride = data.Columns, d = _columns.Length;
        if (FirstOfContiguousColumns is int first)
        {
            if (first == 0 && d == stride) values.Slice(0, data.Rows * d).CopyTo(x);
            else
                for (int i = 0; i < data.Rows; i++) values.Slice(i * stride + first, d).CopyTo(x.Slice(i * d, d));
            return;
        }
        for (int i = 0; i < data.Rows; i++)
        {
            int src = i * stride, dst = i * d;
            for (int j = 0; j < d; j++) x[dst + j] = values[src + _columns[j]];
        }
    }

    /// <summary>Writes T(x) of the chunk's rows into columns [offset, offset + S) of the rows × stride buffer <paramref name="t"/>.</summary>
    public void Statistics(DataChunk data, Span<double> gather, Span<double> t, int stride, int offset)
    {
        Gather(data, gather);
        int d = Dimension, s = StatisticCount;
        if (data.MayHaveMissing)
        {
            // Row by row: holes read as 0 in a block that fills them; a row with every column missing has T = 0.
            for (int i = 0; i < data.Rows; i++)
            {
                var x = gather.Slice(i * d, d);
                if (!FillHoles(x))
                {
                    t.Slice(i * stride + offset, s).Clear();
                    continue;
                }
                try { Family.SufficientStatistics(x, 1, t.Slice(i * stride), stride, offset); }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    throw new InvalidOperationException($"Row {data.FirstRow + i} (block '{Name}', family '{Family.Name}'): T(x) failed: {e.Message}", e);
                }
            }
        }
        else
        {
            try { Family.SufficientStatistics(gather.Slice(0, data.Rows * d), data.Rows, t, stride, offset); }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                throw FamilyFailure(data, gather, "T(x)", e, (x, one) => Family.SufficientStatistics(x, 1, one, s, 0), s);
            }
        }
        for (int i = 0; i < data.Rows; i++)
        {
            if (!t.Slice(i * stride + offset, s).ContainsAnyExceptInRange(double.MinValue, double.MaxValue)) continue;
            for (int j = 0; j < s; j++)
                if (!double.IsFinite(t[i * stride + offset + j]))
                    throw new InvalidOperationException(
                        $"Row {data.FirstRow + i} (block '{Name}', family '{Family.Name}'): T(x) entry {j} is {FamilyChecks.Show(t[i * stride + offset + j])}; sufficient statistics must be finite on the support.");
        }
    }

    /// <summary>
    /// Prepares one gathered row (length D) with holes: reads them as 0 in a block that <see cref="FillsHoles"/>
    /// (true), or says the row is to be skipped (false) when it has every column missing; a row without holes is left as it is.
    /// </summary>
    private bool FillHoles(Span<double> x)
    {
        int m = 0;
        for (int j = 0; j < x.Length; j++) if (double.IsNaN(x[j])) m++;
        if (m == 0) return true;
        if (!FillsHoles) return m < x.Length; // partial holes were rejected by Validate
        for (int j = 0; j < x.Length; j++) if (double.IsNaN(x[j])) x[j] = 0;
        return true;
    }

    /// <summary>Adds log h(x) of the chunk's rows to <paramref name="logBase"/> (which must be finite on entry).</summary>
    public void AddLogBaseMeasure(DataChunk data, Span<double> gather, Span<double> logBase)
    {
        if (Family.LogBaseMeasureIsZero) return;
        if (!data.MayHaveMissing && Family.ConstantLogBaseMeasure is double constant)
        {
            System.Numerics.Tensors.TensorPrimitives.Add(logBase.Slice(0, data.Rows), constant, logBase.Slice(0, data.Rows));
            return;
        }
        Gather(data, gather);
        if (data.MayHaveMissing)
        {
            int d = Dimension;
            for (int i = 0; i < data.Rows; i++)
            {
                var x = gather.Slice(i * d, d);
                if (!FillHoles(x)) continue; // every column missing: this block contributes nothing
                try { Family.AddLogBaseMeasure(x, 1, logBase.Slice(i, 1)); }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    throw new InvalidOperationException($"Row {data.FirstRow + i} (block '{Name}', family '{Family.Name}'): log h(x) failed: {e.Message}", e);
                }
            }
        }
        else
        {
            try { Family.AddLogBaseMeasure(gather.Slice(0, data.Rows * Dimension), data.Rows, logBase); }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                throw FamilyFailure(data, gather, "log h(x)", e, (x, one) => Family.AddLogBaseMeasure(x, 1, one), 1);
            }
        }
        for (int i = 0; i < data.Rows; i++)
            if (!double.IsFinite(logBase[i]))
                throw new InvalidOperationException(
                    $"Row {data.FirstRow + i} (block '{Name}', family '{Family.Name}'): log h(x) is {FamilyChecks.Show(logBase[i])}; it must be finite on the support.");
    }

    /// <summary>
    /// The family's code failed on a chunk: finds the first row on which it fails alone and reports it, with the block,
    /// the family and the original exception (inner). When no single row fails, the chunk's rows are named.
    /// </summary>
    private InvalidOperationException FamilyFailure(DataChunk data, Span<double> gather, string what, Exception error, RowEvaluation evaluate, int width)
    {
        int d = Dimension;
        var one = new double[width];
        for (int i = 0; i < data.Rows; i++)
        {
            try { evaluate(gather.Slice(i * d, d), one); }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                return new InvalidOperationException($"Row {data.FirstRow + i} (block '{Name}', family '{Family.Name}'): {what} failed: {e.Message}", e);
            }
        }
        return new InvalidOperationException(
            $"Rows {data.FirstRow}..{data.FirstRow + data.Rows - 1} (block '{Name}', family '{Family.Name}'): {what} failed on these rows together: {error.Message}", error);
    }

    private delegate void RowEvaluation(ReadOnlySpan<double> x, Span<double> into);

    // ---- E-step ----

    /// <summary>
    /// Whether the block's T(x) is the same for every state, so that its part of the log-joint is in the
    /// engine's one shared product T·Hᵀ and its statistics in Rᵀ·T (<see cref="TakeSharedProduct"/>). A block
    /// that evaluates state k in its own frame (T(x − c_k), as the Gaussian does for accuracy), or per row
    /// (regressions), returns false and implements <see cref="AddComponentTerms"/> and <see cref="Accumulate"/>.
    /// </summary>
    public virtual bool SharesFrame => true;

    /// <summary>
    /// Doubles per row of the statistics matrix that <see cref="AddComponentTerms"/> forms in the scratch and the
    /// products read twice (the Gaussian shared frame's [T, 1]); 0 for a block that forms none. It sizes the automatic chunk.
    /// </summary>
    public virtual int ProductWidth => 0;

    /// <summary>Scratch doubles per row that <see cref="AddComponentTerms"/> and <see cref="Accumulate"/> need (plus D² more, provided when <see cref="UsesScratch"/>).</summary>
    public virtual int ScratchPerRow => 0;

    /// <summary>
    /// Whether a block that does not share the frame uses the engine's scratch (its rows × <see cref="ScratchPerRow"/>
    /// and a D × D square); false for one whose terms and statistics are lookups (indicator statistics).
    /// </summary>
    public virtual bool UsesScratch => !SharesFrame;

    /// <summary>
    /// Adds T_k(x_n)·η_k (per-row blocks: log p(x_n | z_n = k) − log h(x_n) in full) to <paramref name="logJoint"/>
    /// (rows × K); A(η_k) and log h are added by the engine.
    /// </summary>
    public virtual void AddComponentTerms(DataChunk data, BlockState state, Span<double> logJoint, Span<double> scratch) =>
        throw new InvalidOperationException($"Block '{Name}' shares its frame; its terms are in the engine's product.");

    // ---- statistics ----

    /// <summary>Empty statistics for a pass under <paramref name="state"/> (the initial frame when null).</summary>
    public abstract Statistics CreateStatistics(BlockState? state);

    /// <summary>
    /// For a shared-frame block: adds its columns [offset, offset + S) of the engine's K × ld product Rᵀ·T of a
    /// chunk to <paramref name="into"/>.
    /// </summary>
    public void TakeSharedProduct(ReadOnlySpan<double> product, int ld, int offset, Statistics into)
    {
        var sums = ((ComponentStatistics)into).Sums;
        int s = StatisticCount;
        for (int k = 0; k < Components; k++)
        {
            var source = product.Slice(k * ld + offset, s);
            var target = sums.AsSpan(k * s, s);
            for (int i = 0; i < s; i++) target[i] += source[i];
        }
    }

    /// <summary>
    /// For a block that does not share the frame: adds the chunk's statistics under the weighted posterior
    /// <paramref name="posterior"/> (rows × K, w_n q_n(k)) to <paramref name="into"/>. The counts are added by the engine.
    /// </summary>
    public virtual void Accumulate(DataChunk data, ReadOnlySpan<double> posterior, Statistics into, Span<double> scratch) =>
        throw new InvalidOperationException($"Block '{Name}' shares its frame; its statistics are in the engine's product.");

    /// <summary>
    /// <see cref="Accumulate"/>, called right after this block's <see cref="AddComponentTerms"/> on the same chunk with
    /// nothing else having used <paramref name="scratch"/> in between, so that what the terms left there may be reused.
    /// </summary>
    public virtual void AccumulateAfterTerms(DataChunk data, ReadOnlySpan<double> posterior, Statistics into, Span<double> scratch) =>
        Accumulate(data, posterior, into, scratch);

    /// <summary>
    /// Gives the block the weighted posterior of a chunk as an array it may keep (rows × K, never modified
    /// afterwards), for blocks whose statistics are the posterior rows themselves; false when it does not want it.
    /// </summary>
    public virtual bool KeepsRowPosterior => false;

    // ---- M-step and free energy ----

    /// <summary>
    /// The M-step: new parameters from this block's statistics. <paramref name="previous"/> is null only when
    /// initialising. Every candidate goes through <see cref="MStepContext.Judge"/>.
    /// </summary>
    public abstract BlockState MStep(Statistics statistics, BlockState? previous, MStepContext context);

    /// <summary>
    /// The block's part of E_q[log p(x, z | θ)] without log h: Σ_k Σ_n w_n q_n(k) (log p(x_n | θ_k) − log h(x_n)),
    /// from its statistics, in a well-conditioned form (no natural parameters that cancel).
    /// </summary>
    public abstract double ExpectedLogLikelihood(Statistics statistics, BlockState state);

    /// <summary>log p(θ_block) under the block's prior (0 without one).</summary>
    public abstract double LogPrior(BlockState state);

    /// <summary>State from user-given parameters (an array of the block's parameter records, one per state).</summary>
    public abstract BlockState FromParameters(IReadOnlyList<object> components);

    /// <summary>Draws the block's columns of one observation from state k into <paramref name="x"/> (length D).</summary>
    public virtual void Sample(BlockState state, int k, Random random, Span<double> x) =>
        Family.Sample(state.Natural.AsSpan(k * StatisticCount, StatisticCount), random, x);

    /// <summary>Builds a state, computing A(η_k) for each state.</summary>
    protected BlockState CreateState(double[] natural, Array usual, object? evaluation = null)
    {
        int s = StatisticCount;
        var a = new double[Components];
        for (int k = 0; k < Components; k++) a[k] = Family.LogNormalizer(natural.AsSpan(k * s, s));
        return new BlockState(natural, a, usual, evaluation);
    }

    /// <summary>Σ_k (η_k · S_k − R_k A(η_k)) over the given states: the data part of Q in natural parameters.</summary>
    protected double NaturalExpectedLogLikelihood(ReadOnlySpan<double> natural, ComponentStatistics statistics, IEnumerable<int> components)
    {
        int s = StatisticCount;
        double q = 0;
        foreach (int k in components)
        {
            var eta = natural.Slice(k * s, s);
            var stat = statistics.Of(k);
            double dot = 0;
            for (int i = 0; i < s; i++) dot += eta[i] * stat[i];
            double count = statistics.Counts[k];
            q += dot - (count == 0 ? 0 : count * Family.LogNormalizer(eta));
        }
        return q;
    }

    /// <summary>State groups that share parameters: one group of all under <see cref="Sharing.Shared"/>, else one per state.</summary>
    protected int[][] Groups() =>
        Block.Sharing == Sharing.Shared
            ? [Enumerable.Range(0, Components).ToArray()]
            : Enumerable.Range(0, Components).Select(k => new[] { k }).ToArray();

    /// <summary>Sums the statistics and counts of a group of states.</summary>
    protected static void SumGroup(ComponentStatistics statistics, int[] group, Span<double> sum, out double count)
    {
        int s = statistics.StatisticCount;
        sum.Slice(0, s).Clear();
        count = 0;
        foreach (int k in group)
        {
            count += statistics.Counts[k];
            var stat = statistics.Of(k);
            for (int i = 0; i < s; i++) sum[i] += stat[i];
        }
    }

    /// <summary>All states, as one group (for pooled fall-backs).</summary>
    protected int[] AllComponents() => Enumerable.Range(0, Components).ToArray();

    /// <summary>Who a group is, for messages: "component k" or "the shared parameters".</summary>
    protected static int? Member(int[] group) => group.Length == 1 ? group[0] : null;
}

/// <summary>A block runtime whose usual parameters are <typeparamref name="TParameters"/>.</summary>
internal abstract class BlockRuntime<TParameters> : BlockRuntime
{
    protected BlockRuntime(Block<TParameters> block, int components) : base(block, components) { }

    /// <summary>The usual parameters of every state.</summary>
    public IReadOnlyList<TParameters> Parameters(BlockState state) => (TParameters[])state.Usual;

    public override BlockState FromParameters(IReadOnlyList<object> components)
    {
        if (components.Count != Components)
            throw new ArgumentException($"Block '{Name}': {components.Count} initial parameter records given; the model has {Components} {(Components == 1 ? "state" : "states")}.");
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
