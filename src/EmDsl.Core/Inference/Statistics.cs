using EmDsl.Numerics;
namespace EmDsl.Inference;

/// <summary>
/// Expected statistics of a set of rows under one posterior q: what an M-step needs, and nothing else. Every
/// kind is additive — the statistics of two disjoint sets of rows, added, are the statistics of their union —
/// and can be scaled (online EM). Chunks are summarised independently and added in a fixed order (the chunk
/// order), so a pass gives the same result bit for bit on any number of threads.
/// <para>
/// <see cref="Counts"/> is the zeroth moment R_k = Σ_n w_n q_n(k) of each latent state k over the rows the
/// owner saw; every kind carries it, so a block's M-step finds its own counts in its own statistics.
/// </para>
/// </summary>
internal abstract class Statistics
{
    protected Statistics(int states) => Counts = new double[states];

    /// <summary>R_k, one per latent state.</summary>
    public double[] Counts { get; }

    /// <summary>Adds the statistics of other (disjoint) rows to these.</summary>
    public void Add(Statistics other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.GetType() != GetType() || other.Counts.Length != Counts.Length)
            throw new InvalidOperationException($"Cannot add {other.GetType().Name} ({other.Counts.Length} states) to {GetType().Name} ({Counts.Length} states).");
        for (int k = 0; k < Counts.Length; k++) Counts[k] += other.Counts[k];
        AddCore(other);
    }

    /// <summary>Multiplies every statistic by <paramref name="factor"/> (the weights of online EM).</summary>
    public void Scale(double factor)
    {
        for (int k = 0; k < Counts.Length; k++) Counts[k] *= factor;
        ScaleCore(factor);
    }

    /// <summary>Adds the kind-specific statistics of <paramref name="other"/> (same type, checked).</summary>
    protected abstract void AddCore(Statistics other);

    /// <summary>Scales the kind-specific statistics.</summary>
    protected abstract void ScaleCore(double factor);
}

/// <summary>
/// Per-state sums of sufficient statistics, S_k = Σ_n w_n q_n(k) T(x_n) (K × S, row k for state k), of a family
/// whose M-step needs nothing else. Blocks that compute each state's statistics in a frame of their own (the
/// Gaussian, about each component's current mean) record that frame in <see cref="Centres"/>: statistics in
/// different frames cannot be added until one is rebased (<see cref="Rebase"/>).
/// </summary>
internal sealed class ComponentStatistics : Statistics
{
    public ComponentStatistics(int states, int statisticCount, IReadOnlyList<double>[]? centres = null) : base(states)
    {
        StatisticCount = statisticCount;
        Sums = new double[states * statisticCount];
        Centres = centres;
    }

    /// <summary>S: statistics per state.</summary>
    public int StatisticCount { get; }

    /// <summary>K × S sums, row k for state k.</summary>
    public double[] Sums { get; }

    /// <summary>
    /// For statistics of T(x − c_k) (a Gaussian's first and second moments about c_k): the centre c_k of each
    /// state; null when T(x) is the same for every state.
    /// </summary>
    public IReadOnlyList<double>[]? Centres { get; private set; }

    /// <summary>
    /// The parameters the pass gathering these statistics ran under (null before the first M-step), for the expected
    /// statistics of missing values; set by the block that creates the statistics.
    /// </summary>
    public BlockState? State { get; init; }

    /// <summary>Row k of <see cref="Sums"/>.</summary>
    public ReadOnlySpan<double> Of(int k) => Sums.AsSpan(k * StatisticCount, StatisticCount);

    protected override void AddCore(Statistics other)
    {
        var o = (ComponentStatistics)other;
        if (o.StatisticCount != StatisticCount) throw new InvalidOperationException($"Cannot add statistics of width {o.StatisticCount} to width {StatisticCount}.");
        if (!SameCentres(Centres, o.Centres))
            throw new InvalidOperationException("Cannot add statistics gathered about different centres; rebase one of them first.");
        for (int i = 0; i < Sums.Length; i++) Sums[i] += o.Sums[i];
    }

    protected override void ScaleCore(double factor)
    {
        for (int i = 0; i < Sums.Length; i++) Sums[i] *= factor;
    }

    private static bool SameCentres(IReadOnlyList<double>[]? a, IReadOnlyList<double>[]? b)
    {
        if (ReferenceEquals(a, b)) return true;
        if (a is null || b is null || a.Length != b.Length) return false;
        for (int k = 0; k < a.Length; k++)
            if (!ReferenceEquals(a[k], b[k]) && !a[k].SequenceEqual(b[k])) return false;
        return true;
    }

    /// <summary>
    /// Re-expresses Gaussian moment statistics about new centres c'_k: with δ = c_k − c'_k,
    /// Σ r (x − c') = S₁ + R δ and Σ r (x − c')(x − c')ᵀ = S₂ + δS₁ᵀ + S₁δᵀ + R δδᵀ, in the packed layout of
    /// <paramref name="layout"/> (full: upper triangle row by row; diagonal: the D squares; spherical: their sum).
    /// </summary>
    public void Rebase(IReadOnlyList<double>[] centres, Families.CovarianceStructure layout)
    {
        ArgumentNullException.ThrowIfNull(centres);
        if (Centres is null) throw new InvalidOperationException("These statistics are not about per-state centres.");
        if (centres.Length != Counts.Length) throw new ArgumentException($"{centres.Length} centres for {Counts.Length} states.", nameof(centres));
        int d = centres[0].Count;
        var delta = new double[d];
        for (int k = 0; k < Counts.Length; k++)
        {
            for (int j = 0; j < d; j++) delta[j] = Centres[k][j] - centres[k][j];
            var s = Sums.AsSpan(k * StatisticCount, StatisticCount);
            var first = s.Slice(0, d);
            var second = s.Slice(d);
            double r = Counts[k];
            switch (layout)
            {
                case Families.CovarianceStructure.Full:
                    int p = 0;
                    for (int i = 0; i < d; i++)
                        for (int j = i; j < d; j++, p++)
                            second[p] += delta[i] * first[j] + first[i] * delta[j] + r * delta[i] * delta[j];
                    break;
                case Families.CovarianceStructure.Diagonal:
                    for (int i = 0; i < d; i++) second[i] += 2 * delta[i] * first[i] + r * delta[i] * delta[i];
                    break;
                default:
                    for (int i = 0; i < d; i++) second[0] += 2 * delta[i] * first[i] + r * delta[i] * delta[i];
                    break;
            }
            for (int j = 0; j < d; j++) first[j] += r * delta[j];
        }
        Centres = centres;
    }
}

/// <summary>
/// The posterior itself, row by row (w_n q_n(k), rows × K), for M-steps whose expected log-likelihood has no
/// finite summary beyond the rows (logistic and Poisson regressions, the gating of a mixture of experts). It is
/// additive as a union: adding the statistics of later rows appends them. Segments are never modified after
/// they are added (scaling makes new ones), so the statistics of several blocks may share them.
/// </summary>
internal sealed class RowPosteriorStatistics : Statistics
{
    private readonly List<(int FirstRow, int Rows, double[] Values)> _segments = [];

    public RowPosteriorStatistics(int states) : base(states) { }

    /// <summary>Adds the weighted posterior of rows [firstRow, firstRow + rows) (rows × K, not copied: the caller gives up the array).</summary>
    public void AddRows(int firstRow, int rows, double[] weightedPosterior)
    {
        if (weightedPosterior.Length != rows * Counts.Length)
            throw new ArgumentException($"{weightedPosterior.Length} values for {rows} rows × {Counts.Length} states.", nameof(weightedPosterior));
        if (_segments.Count > 0 && _segments[^1].FirstRow + _segments[^1].Rows > firstRow)
            throw new InvalidOperationException($"Rows from {firstRow} overlap or precede rows already summarised (up to {_segments[^1].FirstRow + _segments[^1].Rows}).");
        _segments.Add((firstRow, rows, weightedPosterior));
    }

    /// <summary>The segments, in row order: first row, rows, and the rows × K weighted posterior (not to be modified).</summary>
    public IReadOnlyList<(int FirstRow, int Rows, double[] Values)> Segments => _segments;

    /// <summary>Rows summarised.</summary>
    public int RowCount => _segments.Sum(s => s.Rows);

    /// <summary>
    /// The weighted posterior of rows 0 … <paramref name="totalRows"/> − 1, summed over each group of states:
    /// rows × G, column g = Σ_{k ∈ groups[g]} w_n q_n(k). Rows not summarised are 0.
    /// </summary>
    public double[] Grouped(int totalRows, int[][] groups)
    {
        int k0 = Counts.Length, g0 = groups.Length;
        var w = new double[ArraySize.Product(totalRows, g0, () => $"The posterior of {totalRows:N0} rows × {g0:N0} groups")];
        foreach (var (first, rows, values) in _segments)
            for (int i = 0; i < rows; i++)
                for (int g = 0; g < g0; g++)
                {
                    double s = 0;
                    foreach (int k in groups[g]) s += values[i * k0 + k];
                    w[(first + i) * g0 + g] = s;
                }
        return w;
    }

    /// <summary>The weighted posterior of rows 0 … <paramref name="totalRows"/> − 1 (rows × K).</summary>
    public double[] Dense(int totalRows)
    {
        int k0 = Counts.Length;
        var w = new double[ArraySize.Product(totalRows, k0, () => $"The posterior of {totalRows:N0} rows × {k0:N0} components")];
        foreach (var (first, rows, values) in _segments) values.AsSpan(0, rows * k0).CopyTo(w.AsSpan(first * k0));
        return w;
    }

    protected override void AddCore(Statistics other)
    {
        foreach (var (first, rows, values) in ((RowPosteriorStatistics)other)._segments) AddRows(first, rows, values);
    }

    protected override void ScaleCore(double factor)
    {
        for (int s = 0; s < _segments.Count; s++)
        {
            var (first, rows, values) = _segments[s];
            _segments[s] = (first, rows, values.Select(v => v * factor).ToArray());
        }
    }
}

/// <summary>
/// Expected statistics of a Markov chain over K states: the expected number of sequences that start in each state,
/// Σ_s w_s q_s(z_1 = i), and of transitions i → j, Σ_s w_s Σ_t q_s(z_t = i, z_{t+1} = j); <see cref="Statistics.Counts"/>
/// is the expected occupancy Σ_s w_s Σ_t q_s(z_t = k).
/// </summary>
internal sealed class MarkovStatistics : Statistics
{
    public MarkovStatistics(int states) : base(states)
    {
        Initial = new double[states];
        Transitions = new double[states * states];
    }

    /// <summary>Expected starts per state (K).</summary>
    public double[] Initial { get; }

    /// <summary>Expected transitions, K × K row-major (row i: from state i).</summary>
    public double[] Transitions { get; }

    protected override void AddCore(Statistics other)
    {
        var o = (MarkovStatistics)other;
        for (int i = 0; i < Initial.Length; i++) Initial[i] += o.Initial[i];
        for (int i = 0; i < Transitions.Length; i++) Transitions[i] += o.Transitions[i];
    }

    protected override void ScaleCore(double factor)
    {
        for (int i = 0; i < Initial.Length; i++) Initial[i] *= factor;
        for (int i = 0; i < Transitions.Length; i++) Transitions[i] *= factor;
    }
}

/// <summary>
/// Everything one pass over a set of rows produces: the latent structure's statistics, each observed block's
/// statistics (in model order), and the scalars of the free energy — the weighted log-likelihood Σ w log p(x),
/// the entropy of the posterior H[q], Σ w log h(x) and the total weight. Additive like its parts.
/// </summary>
internal sealed class Summary
{
    public Summary(Statistics latent, Statistics[] blocks)
    {
        Latent = latent;
        Blocks = blocks;
    }

    /// <summary>The latent structure's statistics.</summary>
    public Statistics Latent { get; }

    /// <summary>One per observed block, in model order.</summary>
    public Statistics[] Blocks { get; }

    /// <summary>Σ_n w_n log p(x_n) (a sequence's log-likelihood counts once per sequence).</summary>
    public double LogLikelihood { get; set; }

    /// <summary>H[q] = −E_q[log q(z)], weighted like the log-likelihood.</summary>
    public double Entropy { get; set; }

    /// <summary>Σ_n w_n log h(x_n): the part of log p(x, z) that depends on neither z nor θ.</summary>
    public double LogBase { get; set; }

    /// <summary>Σ_n w_n.</summary>
    public double Weight { get; set; }

    /// <summary>Adds the summary of other rows.</summary>
    public void Add(Summary other)
    {
        Latent.Add(other.Latent);
        for (int b = 0; b < Blocks.Length; b++) Blocks[b].Add(other.Blocks[b]);
        LogLikelihood += other.LogLikelihood;
        Entropy += other.Entropy;
        LogBase += other.LogBase;
        Weight += other.Weight;
    }
}
