using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Families.Priors;

namespace EmDsl.Inference;

/// <summary>
/// The M-step of a block whose family has an inverse mean map (closed form, or iterative for families such as
/// the Gamma or a user-declared one): for each group of states that share parameters,
/// η = (∇A)⁻¹((φ + S)/(ν + R)), with the mean parameter first kept off the domain's boundary by
/// <see cref="FitOptions.ProbabilityFloor"/>. Its statistics are the per-state sums S_k = Σ w q T(x) of the
/// engine's shared product.
/// </summary>
internal sealed class ConjugateRuntime<TParameters> : BlockRuntime<TParameters>
{
    private readonly ExponentialFamily<TParameters> _family;
    private readonly ConjugatePrior? _prior;

    /// <summary>
    /// With missing values in the data: the (weighted) mean of T over the observed values — per column for a family
    /// that separates columns, over the rows with the block observed otherwise —, what a hole contributes to the
    /// statistics before the first M-step, when there are no parameters to take its expectation under.
    /// </summary>
    private readonly Lazy<double[]>? _observedMean;

    public ConjugateRuntime(ConjugateBlock<TParameters> block, int components, DataMatrix? data = null, ReadOnlySpan<double> weights = default)
        : base(block, components)
    {
        _family = block.Family;
        _prior = block.Prior;
        if (data is not null && data.HasMissingValues && Columns.ToArray().Max() < data.Columns)
        {
            // Needed only by a start from responsibilities, and then an error when a column is never observed.
            var w = weights.ToArray();
            _observedMean = new Lazy<double[]>(() => ObservedMean(data, w), LazyThreadSafetyMode.ExecutionAndPublication);
        }
    }

    private double[] ObservedMean(DataMatrix data, double[] weights)
    {
        int d = Dimension, s = StatisticCount;
        var cols = Columns.ToArray();
        var sum = new double[s];
        var total = new double[s];
        var x = new double[d];
        var t = new double[s];
        for (int r = 0; r < data.Rows; r++)
        {
            double w = weights.Length == 0 ? 1 : weights[r];
            var row = data.Row(r);
            int m = MissingCount(row);
            if (m == d || (m > 0 && !_family.SeparatesColumns)) continue;
            for (int j = 0; j < d; j++) x[j] = double.IsNaN(row[cols[j]]) ? 0 : row[cols[j]];
            if (_family.CheckSupport(x) is not null) continue; // Validate reports it
            _family.SufficientStatistics(x, t);
            for (int i = 0; i < s; i++)
            {
                if (_family.SeparatesColumns && double.IsNaN(row[cols[i]])) continue;
                sum[i] += w * t[i];
                total[i] += w;
            }
        }
        for (int i = 0; i < s; i++)
        {
            if (!(total[i] > 0))
                throw new ArgumentException(_family.SeparatesColumns
                    ? $"Block '{Name}': column {cols[i]} has no observed value (with positive weight), so a start from responsibilities cannot estimate it; start from parameters (Initialization.FromParameters) or drop the column."
                    : $"Block '{Name}': no row observes the block's columns (with positive weight), so a start from responsibilities cannot estimate it; start from parameters (Initialization.FromParameters) or drop the block.");
            sum[i] /= total[i];
        }
        return sum;
    }

    public override Statistics CreateStatistics(BlockState? state) => new ComponentStatistics(Components, StatisticCount) { State = state };

    // ---- indicator statistics (the categorical): lookups instead of the shared product ----

    /// <summary>
    /// A family with indicator statistics (<see cref="ExponentialFamily.HasIndicatorStatistics"/>) is evaluated outside the
    /// shared product: T(x_n)·η_k is η_k at x_n's index and the sums add w q_n(k) at that index, so neither the rows × S
    /// matrix T nor the K × S product is formed (S is the number of categories less one, 20 000 for a large vocabulary).
    /// The values are the same as the product's: a sum with one non-zero term.
    /// </summary>
    public override bool SharesFrame => !_family.HasIndicatorStatistics;

    public override bool UsesScratch => false;

    /// <summary>The chunk's indicator per row: the index of T's 1, −1 when T = 0, −2 when the block's columns are missing.</summary>
    private void Indicators(DataChunk data, Span<int> index)
    {
        int d = Dimension;
        var cols = Columns;
        int? first = FirstOfContiguousColumns;
        double[]? gathered = first is null ? new double[d] : null;
        for (int i = 0; i < data.Rows; i++)
        {
            var row = data.Row(i);
            if (data.MayHaveMissing && MissingCount(row) > 0) { index[i] = -2; continue; } // Validate allows only whole-block holes here
            ReadOnlySpan<double> x;
            if (first is int f) x = row.Slice(f, d);
            else
            {
                for (int j = 0; j < d; j++) gathered![j] = row[cols[j]];
                x = gathered;
            }
            index[i] = _family.IndicatorIndex(x);
        }
    }

    private int[] RentIndicators(DataChunk data)
    {
        var index = System.Buffers.ArrayPool<int>.Shared.Rent(data.Rows);
        Indicators(data, index);
        return index;
    }

    /// <summary>
    /// Adds η_k at each row's index; a row with the block missing gets A(η_k) back, cancelling the −A(η_k) the engine's
    /// bias gave it, so that it contributes nothing (its marginal over the block is 1).
    /// </summary>
    public override void AddComponentTerms(DataChunk data, BlockState state, Span<double> logJoint, Span<double> scratch)
    {
        int k0 = Components, s = StatisticCount;
        var eta = state.Natural;
        var index = RentIndicators(data);
        try
        {
            for (int i = 0; i < data.Rows; i++)
            {
                int j = index[i];
                if (j == -1) continue;
                var row = logJoint.Slice(i * k0, k0);
                if (j == -2)
                    for (int k = 0; k < k0; k++) row[k] += state.LogNormalizer[k];
                else
                    for (int k = 0; k < k0; k++) row[k] += eta[k * s + j];
            }
        }
        finally { System.Buffers.ArrayPool<int>.Shared.Return(index); }
    }

    /// <summary>Adds w q_n(k) at each row's index of state k's sums (rows with the block missing: <see cref="AccumulateMissing"/>).</summary>
    public override void Accumulate(DataChunk data, ReadOnlySpan<double> posterior, Statistics into, Span<double> scratch)
    {
        int k0 = Components, s = StatisticCount;
        var sums = ((ComponentStatistics)into).Sums;
        var index = RentIndicators(data);
        try
        {
            for (int i = 0; i < data.Rows; i++)
            {
                int j = index[i];
                if (j < 0) continue;
                var r = posterior.Slice(i * k0, k0);
                for (int k = 0; k < k0; k++) sums[k * s + j] += r[k];
            }
        }
        finally { System.Buffers.ArrayPool<int>.Shared.Return(index); }
    }

    public override bool SupportsMissing => true;

    protected override bool FillsHoles => _family.SeparatesColumns;

    /// <summary>
    /// Rows with holes: the engine's product has their missing statistics as 0 and its bias −A(η_k) in full, so the
    /// missing columns' part of A is added back — A_j(η_kj) per missing column of a family that separates columns,
    /// A(η_k) for a row with every column missing —, leaving log p(x_o | z = k) − log h(x_o).
    /// </summary>
    public override void AddMissingTerms(DataChunk data, BlockState state, Span<double> logJoint)
    {
        int k0 = Components, s = StatisticCount, d = Dimension;
        var cols = Columns;
        for (int i = 0; i < data.Rows; i++)
        {
            var row = data.Row(i);
            int m = MissingCount(row);
            if (m == 0) continue;
            for (int k = 0; k < k0; k++)
            {
                double add = 0;
                if (_family.SeparatesColumns)
                {
                    for (int j = 0; j < d; j++)
                        if (double.IsNaN(row[cols[j]])) add += _family.ColumnLogNormalizer(state.Natural[k * s + j]);
                }
                else add = state.LogNormalizer[k];
                logJoint[i * k0 + k] += add;
            }
        }
    }

    /// <summary>
    /// The expected statistics of the holes: under state k a missing column's T is its mean ∇A(η_k) (its column for a
    /// family that separates columns, the whole vector for a row with every column missing), weighted by w_n q_n(k).
    /// The returned entropy is Σ w q (A − η·μ) over those parts, so that E_q[log p(x_o, x_m | z)] + H[q(x_m)] is exactly
    /// log p(x_o | z) at the pass's parameters (the base measure cancels). Before the first M-step a hole counts as the
    /// observed mean of its column and adds no entropy.
    /// </summary>
    public override double AccumulateMissing(DataChunk data, ReadOnlySpan<double> posterior, Statistics into)
    {
        var stats = (ComponentStatistics)into;
        int k0 = Components, s = StatisticCount, d = Dimension;
        var cols = Columns;
        var state = stats.State;
        var means = new double[k0 * s];
        if (state is null)
            for (int k = 0; k < k0; k++) _observedMean!.Value.CopyTo(means, k * s);
        else
            for (int k = 0; k < k0; k++) _family.MeanMap(state.Natural.AsSpan(k * s, s), means.AsSpan(k * s, s));
        double entropy = 0;
        for (int i = 0; i < data.Rows; i++)
        {
            var row = data.Row(i);
            int m = MissingCount(row);
            if (m == 0) continue;
            for (int k = 0; k < k0; k++)
            {
                double r = posterior[i * k0 + k];
                if (r == 0) continue;
                var mu = means.AsSpan(k * s, s);
                var sum = stats.Sums.AsSpan(k * s, s);
                if (_family.SeparatesColumns)
                {
                    for (int j = 0; j < d; j++)
                    {
                        if (!double.IsNaN(row[cols[j]])) continue;
                        sum[j] += r * mu[j];
                        if (state is not null)
                        {
                            double eta = state.Natural[k * s + j];
                            entropy += r * (_family.ColumnLogNormalizer(eta) - eta * mu[j]);
                        }
                    }
                }
                else
                {
                    double dot = 0;
                    for (int j = 0; j < s; j++)
                    {
                        sum[j] += r * mu[j];
                        if (state is not null) dot += state.Natural[k * s + j] * mu[j];
                    }
                    if (state is not null) entropy += r * (state.LogNormalizer[k] - dot);
                }
            }
        }
        return entropy;
    }

    public override BlockState MStep(Statistics statistics, BlockState? previous, MStepContext context)
    {
        var stats = (ComponentStatistics)statistics;
        int s = StatisticCount;
        var natural = new double[Components * s];
        var usual = new TParameters[Components];
        var sum = new double[s];
        var eta = new double[s];
        foreach (var group in Groups())
        {
            SumGroup(stats, group, sum, out double count);
            int? component = Member(group);
            string who = component is null ? "the shared parameters" : $"component {component}";
            bool empty = count <= context.EmptyMass;
            if (empty && previous is not null) { KeepPrevious(previous, natural, usual, group); continue; }
            string reason = "no data in the initial responsibilities";
            bool floored = false;
            if ((empty || !TryEstimate(sum, count, context.Options.ProbabilityFloor, eta, out floored, out reason)) && previous is null && component is not null)
            {
                // An initial component with no data, or a degenerate one (one distinct value, say, whose statistics no
                // distribution of a family without floors matches), starts from the estimate on all rows.
                SumGroup(stats, AllComponents(), sum, out count);
                if (TryEstimate(sum, count, context.Options.ProbabilityFloor, eta, out floored, out _))
                {
                    context.Log.Add(FitEventKind.InitializationFallback, Name, component, reason + "; starting from the estimate on all rows");
                    reason = "";
                }
            }
            if (reason.Length > 0)
            {
                if (previous is null)
                    throw new InvalidOperationException($"Block '{Name}': cannot estimate initial parameters of {who}: {reason}.");
                context.Invalid(Name, component, reason);
                KeepPrevious(previous, natural, usual, group);
                continue;
            }
            var parameters = _family.FromNatural(eta);
            foreach (int k in group)
            {
                eta.CopyTo(natural, k * s);
                usual[k] = parameters;
            }
            if (previous is null) continue;
            if (floored) context.NoteFloored();
            var kind = !floored && _family.HasClosedFormInverse ? CandidateKind.Exact : CandidateKind.Approximate;
            if (!context.MustCompare(kind)) { context.TakenWithoutComparison(Name); continue; }
            double qNew = NaturalExpectedLogLikelihood(natural, stats, group) + GroupLogPrior(natural, group[0]);
            double qOld = NaturalExpectedLogLikelihood(previous.Natural, stats, group) + GroupLogPrior(previous.Natural, group[0]);
            if (!context.Judge(kind, qNew, qOld, Name, component, floored ? "floored estimate" : "estimate"))
                KeepPrevious(previous, natural, usual, group);
        }
        return CreateState(natural, usual);
    }

    /// <summary>Carries a group's previous parameters over exactly (natural and usual, no round trip).</summary>
    private void KeepPrevious(BlockState previous, double[] natural, TParameters[] usual, int[] group)
    {
        int s = StatisticCount;
        var old = (TParameters[])previous.Usual;
        foreach (int k in group)
        {
            Array.Copy(previous.Natural, k * s, natural, k * s, s);
            usual[k] = old[k];
        }
    }

    /// <summary>
    /// η for a group's summed statistics, its mean parameter first projected into the domain; <paramref name="floored"/>
    /// says whether the projection moved it (then the estimate is not the exact maximiser of Q).
    /// </summary>
    private bool TryEstimate(ReadOnlySpan<double> sum, double count, double floor, Span<double> eta, out bool floored, out string reason)
    {
        int s = StatisticCount;
        floored = false;
        var mean = new double[s];
        if (_prior is not null)
        {
            if (!(_prior.PseudoCount + count > 0)) { reason = "no data and no prior pseudo-counts"; return false; }
            _prior.PosteriorMeanParameter(sum, count, mean);
        }
        else
        {
            if (!(count > 0)) { reason = "no data"; return false; }
            for (int i = 0; i < s; i++) mean[i] = sum[i] / count;
        }
        var before = (double[])mean.Clone();
        _family.ProjectMeanIntoDomain(mean, floor);
        floored = !before.AsSpan().SequenceEqual(mean);
        if (!_family.IsMeanParameter(mean)) { reason = "the expected statistics are outside the family's mean domain"; return false; }
        try { _family.InverseMeanMap(mean, eta); }
        catch (ArgumentException e)
        {
            // A numeric inverse that cannot reach these statistics says why; the M-step keeps the previous parameters.
            reason = e.Message.TrimEnd('.');
            return false;
        }
        if (!_family.IsNaturalParameter(eta)) { reason = "the estimate has no finite natural parameter"; return false; }
        reason = "";
        return true;
    }

    private double GroupLogPrior(ReadOnlySpan<double> natural, int k) =>
        _prior is null ? 0 : _prior.LogDensity(natural.Slice(k * StatisticCount, StatisticCount));

    public override double ExpectedLogLikelihood(Statistics statistics, BlockState state) =>
        NaturalExpectedLogLikelihood(state.Natural, (ComponentStatistics)statistics, AllComponents());

    public override double LogPrior(BlockState state)
    {
        if (_prior is null) return 0;
        return Groups().Sum(g => GroupLogPrior(state.Natural, g[0]));
    }

    protected override BlockState FromTyped(TParameters[] components)
    {
        int s = StatisticCount;
        var natural = new double[Components * s];
        for (int k = 0; k < Components; k++)
        {
            double[] eta;
            try { eta = _family.ToNatural(components[k]); }
            catch (ArgumentException e) { throw new ArgumentException($"Block '{Name}', component {k}: {e.Message}", e); }
            eta.CopyTo(natural, k * s);
        }
        if (Block.Sharing == Sharing.Shared)
            for (int k = 1; k < Components; k++)
                if (!natural.AsSpan(k * s, s).SequenceEqual(natural.AsSpan(0, s)))
                    throw new ArgumentException($"Block '{Name}' is shared, but initial parameters of component {k} differ from component 0.");
        return CreateState(natural, components.ToArray());
    }
}
