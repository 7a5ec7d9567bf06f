using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Families.Priors;
using EmDsl.Numerics;

namespace EmDsl.Inference;

/// <summary>
/// The Gaussian block: E-step terms, statistics and M-step for full, diagonal, spherical and tied
/// covariances, with the <see cref="GaussianPrior"/> and the covariance floor.
/// <para>
/// A component near a shared centre m (the average of the component means) in its own units is evaluated in that
/// shared frame, all of them at once: T(x − m) for the chunk's rows, one product with every such component's
/// natural parameters, and one product Rᵀ·T for the statistics (see GaussianRuntime.SharedFrame.cs). Any other
/// component k is evaluated in its own frame, centred on its current mean c_k = μ_k: the E-step adds
/// T(x − μ_k)·η_k with η_k = [0, −½Λ_k packed], a quadratic form with no cancelling terms, and the
/// statistics Σ r_nk T(x_n − c_k) are second moments about a point next to the component's data. So a tight
/// component far from the others (or from the data's centre) keeps full precision, and shifting the data
/// by 10⁶ changes nothing. Before the first M-step every frame is the block's weighted data mean.
/// </para>
/// </summary>
internal sealed partial class GaussianRuntime : BlockRuntime<GaussianParameters>
{
    private readonly GaussianFamily _family;
    private readonly GaussianPrior? _prior;
    private readonly bool _tied;
    private readonly double[] _origin;
    /// <summary>With missing values: the columns with no observed value (of positive weight), or null when there are none.</summary>
    private readonly bool[]? _neverObserved;
    private readonly double[]? _priorScatter;
    /// <summary>n': the covariance pseudo-count the prior's form gives this block (see <see cref="GaussianPrior"/>).</summary>
    private readonly double _priorCount;

    public GaussianRuntime(GaussianBlock block, int components, DataMatrix data, ReadOnlySpan<double> weights) : base(block, components)
    {
        _family = block.Family;
        _prior = block.Prior;
        _tied = block.Covariance == CovarianceType.Tied;
        _origin = CentredMoments.WeightedMean(block.Columns, data, weights);
        if (data.HasMissingValues && block.Columns.Max() < data.Columns)
        {
            _neverObserved = new bool[block.Columns.Count];
            for (int j = 0; j < _neverObserved.Length; j++)
            {
                int c = block.Columns[j];
                bool seen = false;
                for (int r = 0; r < data.Rows && !seen; r++) seen = !double.IsNaN(data[r, c]) && (weights.IsEmpty || weights[r] > 0);
                _neverObserved[j] = !seen;
            }
            if (!_neverObserved.Contains(true)) _neverObserved = null;
        }
        if (_prior is not null)
        {
            (_priorCount, _priorScatter) = _prior.PseudoObservations(_family.Structure, _tied ? components : 1);
            Restrict(_priorScatter);
        }
    }

    // ---- per-component frames ----

    public override bool SharesFrame => false;

    public override int ProductWidth => SharedFrameAllowed ? SharedWidth : 0;

    public override int ScratchPerRow => Math.Max(2 * Dimension, SharedFrameAllowed ? Dimension + SharedWidth : 0);

    /// <summary>c_k: the component's mean in <paramref name="state"/>, or the data mean before the first M-step.</summary>
    private IReadOnlyList<double> Frame(BlockState? state, int k) => state is null ? _origin : ((GaussianParameters[])state.Usual)[k].Mean;

    /// <summary>W_k = L_k⁻¹ with Σ_k = L_k L_kᵀ (row-major D × D per component), so that (x − μ)ᵀΣ⁻¹(x − μ) = ‖W_k (x − μ)‖².</summary>
    private static double[][] Whiten(GaussianParameters[] usual, int d, string name)
    {
        var matrices = new double[usual.Length][];
        for (int k = 0; k < usual.Length; k++)
        {
            var l = new double[d * d];
            if (!SymmetricMatrix.TryCholesky(usual[k].Covariance.Values, d, l))
                throw new InvalidOperationException($"Block '{name}', component {k}: the covariance does not factor.");
            var w = new double[d * d];
            for (int i = 0; i < d; i++) w[i * d + i] = 1;
            ComputeBackend.Current.SolveLowerInPlace(l, d, w, d, transpose: false);
            matrices[k] = w;
        }
        return matrices;
    }

    /// <summary>
    /// Adds T(x − μ_k)·η_k for every row and component: the components of the shared frame through one product
    /// (<see cref="AddSharedTerms"/>), each other one in its own frame, where η_k = [0, −½Λ_k packed], so the term is
    /// −½ (x − μ_k)ᵀΛ_k(x − μ_k) = −½ ‖W_k (x − μ_k)‖², computed as one product Y·W_kᵀ per component.
    /// </summary>
    public override void AddComponentTerms(DataChunk data, BlockState state, Span<double> logJoint, Span<double> scratch)
    {
        int d = Dimension, k0 = Components, rows = data.Rows;
        var evaluation = (Evaluation)state.Evaluation!;
        var done = SharedHere(data, evaluation.Shared);
        if (done is not null) AddSharedTerms(data, evaluation, logJoint, scratch);
        if (done is not null && evaluation.AllShared) return;
        var y = scratch.Slice(0, rows * d);
        var z = scratch.Slice(rows * d, rows * d);
        var whitening = evaluation.Whitening;
        if (_family.Structure != CovarianceStructure.Full)
        {
            AddDiagonalTerms(data, state, whitening, done, logJoint, scratch);
            if (data.MayHaveMissing) AddMarginalTerms(data, state, logJoint);
            return;
        }
        for (int k = 0; k < k0; k++)
        {
            if (done is not null && done[k]) continue;
            CentredMoments.Centred(this, data, Frame(state, k), y);
            var w = whitening[k];
            ComputeBackend.Current.Gemm(false, true, rows, d, d, 1.0, y, d, w, d, 0.0, z, d);
            for (int i = 0; i < rows; i++)
            {
                var zi = z.Slice(i * d, d);
                logJoint[i * k0 + k] -= 0.5 * System.Numerics.Tensors.TensorPrimitives.Dot(zi, zi);
            }
        }
        if (data.MayHaveMissing) AddMarginalTerms(data, state, logJoint);
    }

    /// <summary>
    /// The diagonal and spherical case of <see cref="AddComponentTerms"/>: the block's columns gathered once per chunk,
    /// then per component and row z = (x − μ_k)∘w_k (w_k the whitening's diagonal) and −½ z·z — the same operations on
    /// the same values as the general path, so the same bits. A row with a missing value gets 0 here (its marginal
    /// terms are added separately), as <see cref="CentredMoments.Centred"/> arranges for the general path.
    /// </summary>
    private void AddDiagonalTerms(DataChunk data, BlockState state, double[][] whitening, bool[]? done, Span<double> logJoint, Span<double> scratch)
    {
        int d = Dimension, k0 = Components, rows = data.Rows;
        var x = RowsOf(data, scratch.Slice(0, rows * d));
        var holes = data.MayHaveMissing ? new bool[rows] : null;
        if (holes is not null)
            for (int i = 0; i < rows; i++) holes[i] = x.Slice(i * d, d).ContainsAnyExceptInRange(double.MinValue, double.MaxValue);
        Span<double> centre = d <= StackBuffer.MaxDoubles ? stackalloc double[d] : new double[d];
        Span<double> scale = d <= StackBuffer.MaxDoubles ? stackalloc double[d] : new double[d];
        Span<double> z = d <= StackBuffer.MaxDoubles ? stackalloc double[d] : new double[d];
        for (int k = 0; k < k0; k++)
        {
            if (done is not null && done[k]) continue;
            var frame = Frame(state, k);
            var w = whitening[k];
            for (int j = 0; j < d; j++)
            {
                centre[j] = frame[j];
                scale[j] = w[j * d + j];
            }
            for (int i = 0; i < rows; i++)
            {
                if (holes is not null && holes[i]) continue;
                System.Numerics.Tensors.TensorPrimitives.Subtract(x.Slice(i * d, d), centre, z);
                System.Numerics.Tensors.TensorPrimitives.Multiply(z, scale, z);
                logJoint[i * k0 + k] -= 0.5 * System.Numerics.Tensors.TensorPrimitives.Dot(z, z);
            }
        }
    }

    public override Statistics CreateStatistics(BlockState? state) =>
        new ComponentStatistics(Components, StatisticCount, Enumerable.Range(0, Components).Select(k => StatisticsCentre(state, k)).ToArray()) { State = state };

    // ---- missing values ----

    public override bool SupportsMissing => true;

    protected override bool FillsHoles => true;

    private static readonly double Log2Pi = Math.Log(2 * Math.PI);

    /// <summary>
    /// What one missingness pattern needs under one component's Σ: the Cholesky factor L_o of Σ_oo and log|Σ_oo|,
    /// B = L_o⁻¹Σ_om, and the conditional covariance C = Σ_mm − Σ_mo Σ_oo⁻¹ Σ_om = Σ_mm − BᵀB with log|C|.
    /// </summary>
    private sealed class Pattern
    {
        public required int[] Observed;
        public required int[] Missing;
        public required double[] L;
        public required double LogDetObserved;
        public required double[] B;
        public required double[] C;
        public required double LogDetConditional;
    }

    /// <summary>The observed and missing positions of a gathered row (length D) as a key, or null when nothing is missing.</summary>
    private static string? PatternKey(ReadOnlySpan<double> x)
    {
        bool any = false;
        foreach (double v in x) if (double.IsNaN(v)) { any = true; break; }
        if (!any) return null;
        var key = new char[x.Length];
        for (int j = 0; j < x.Length; j++) key[j] = double.IsNaN(x[j]) ? 'm' : 'o';
        return new string(key);
    }

    /// <summary>Factors a pattern under component <paramref name="k"/>'s covariance (see <see cref="Pattern"/>).</summary>
    private Pattern Factor(string key, GaussianParameters p, int k)
    {
        int d = Dimension;
        var obs = Enumerable.Range(0, d).Where(j => key[j] == 'o').ToArray();
        var mis = Enumerable.Range(0, d).Where(j => key[j] == 'm').ToArray();
        int o = obs.Length, m = mis.Length;
        var sigma = p.Covariance.Values;
        var soo = new double[o * o];
        for (int a = 0; a < o; a++)
            for (int b = 0; b < o; b++) soo[a * o + b] = sigma[obs[a] * d + obs[b]];
        var l = new double[o * o];
        if (o > 0 && !SymmetricMatrix.TryCholesky(soo, o, l))
            throw new InvalidOperationException($"Block '{Name}', component {k}: the covariance of the observed columns does not factor.");
        // B = L⁻¹ Σ_om, column by column (forward substitution).
        var bm = new double[o * m];
        for (int c = 0; c < m; c++)
            for (int a = 0; a < o; a++)
            {
                double v = sigma[obs[a] * d + mis[c]];
                for (int t = 0; t < a; t++) v -= l[a * o + t] * bm[t * m + c];
                bm[a * m + c] = v / l[a * o + a];
            }
        var cond = new double[m * m];
        for (int a = 0; a < m; a++)
            for (int b = 0; b < m; b++)
            {
                double v = sigma[mis[a] * d + mis[b]];
                for (int t = 0; t < o; t++) v -= bm[t * m + a] * bm[t * m + b];
                cond[a * m + b] = v;
            }
        var lc = new double[m * m];
        if (!SymmetricMatrix.TryCholesky(cond, m, lc))
            throw new InvalidOperationException(
                $"Block '{Name}', component {k}: the conditional covariance of the missing columns {string.Join(", ", mis.Select(j => Columns[j]))} given the observed ones is not positive definite (the covariance is near singular; raise FitOptions.CovarianceFloor).");
        return new Pattern
        {
            Observed = obs, Missing = mis, L = l, B = bm, C = cond,
            LogDetObserved = o == 0 ? 0 : SymmetricMatrix.LogDeterminantFromCholesky(l, o),
            LogDetConditional = SymmetricMatrix.LogDeterminantFromCholesky(lc, m),
        };
    }

    /// <summary>The factors of a pattern under component k, made once per chunk.</summary>
    private Pattern Cached(Dictionary<(string, int), Pattern> cache, string key, GaussianParameters[] usual, int k)
    {
        if (!cache.TryGetValue((key, k), out var p)) cache[(key, k)] = p = Factor(key, usual[k], k);
        return p;
    }

    /// <summary>
    /// z = L_o⁻¹(x_o − μ_o) of a row with holes: its squared norm is the Mahalanobis distance of the observed values,
    /// and L_o⁻ᵀz = Σ_oo⁻¹(x_o − μ_o) gives the conditional mean.
    /// </summary>
    private static double[] Whitened(Pattern p, ReadOnlySpan<double> x, IReadOnlyList<double> mean)
    {
        int o = p.Observed.Length;
        var z = new double[o];
        for (int a = 0; a < o; a++)
        {
            double v = x[p.Observed[a]] - mean[p.Observed[a]];
            for (int t = 0; t < a; t++) v -= p.L[a * o + t] * z[t];
            z[a] = v / p.L[a * o + a];
        }
        return z;
    }

    /// <summary>
    /// Rows with holes (their terms above are 0): adds log N(x_o; μ_o, Σ_oo) + (D/2) log 2π + ½ log|Σ_k|, which with the
    /// engine's bias −A(η_k) = −½ log|Σ_k| and log h = −(D/2) log 2π (holes read as 0) is the marginal log-density of the
    /// observed columns; 0 from the block for a row with every column missing.
    /// </summary>
    private void AddMarginalTerms(DataChunk data, BlockState state, Span<double> logJoint)
    {
        int d = Dimension, k0 = Components;
        var usual = (GaussianParameters[])state.Usual;
        var cache = new Dictionary<(string, int), Pattern>();
        var x = new double[d];
        var cols = Columns.ToArray();
        for (int i = 0; i < data.Rows; i++)
        {
            var row = data.Row(i);
            for (int j = 0; j < d; j++) x[j] = row[cols[j]];
            if (PatternKey(x) is not { } key) continue;
            for (int k = 0; k < k0; k++)
            {
                var p = Cached(cache, key, usual, k);
                var z = Whitened(p, x, usual[k].Mean);
                int o = p.Observed.Length;
                double logN = -0.5 * (o * Log2Pi + p.LogDetObserved + System.Numerics.Tensors.TensorPrimitives.Dot(z, z));
                logJoint[i * k0 + k] += logN + 0.5 * d * Log2Pi + state.LogNormalizer[k];
            }
        }
    }

    /// <summary>
    /// Rows with holes, left out of <see cref="Accumulate"/>: adds r_nk times the expected statistics about c_k given
    /// x_o and z = k — y = x̂ − c_k with x̂_m = μ_m + Σ_mo Σ_oo⁻¹(x_o − μ_o), and y yᵀ plus the conditional covariance C on
    /// the missing block (restricted to the structure) — and returns Σ r_nk H[N(C)] without the base measure,
    /// ½(m + log|C|) + (m/2) log 2π. Before the first M-step a hole is the frame's value (the observed mean), with no spread.
    /// </summary>
    public override double AccumulateMissing(DataChunk data, ReadOnlySpan<double> posterior, Statistics into)
    {
        var stats = (ComponentStatistics)into;
        int d = Dimension, k0 = Components, s = StatisticCount;
        var usual = (GaussianParameters[]?)stats.State?.Usual;
        var cache = new Dictionary<(string, int), Pattern>();
        var x = new double[d];
        var y = new double[d];
        var spread = new double[d * d];
        var cols = Columns.ToArray();
        double entropy = 0;
        for (int i = 0; i < data.Rows; i++)
        {
            var row = data.Row(i);
            for (int j = 0; j < d; j++) x[j] = row[cols[j]];
            if (PatternKey(x) is not { } key) continue;
            for (int k = 0; k < k0; k++)
            {
                double r = posterior[i * k0 + k];
                if (r == 0) continue;
                var centre = stats.Centres![k];
                Array.Clear(spread);
                if (usual is null)
                {
                    for (int j = 0; j < d; j++)
                        if (_neverObserved is not null && _neverObserved[j])
                            throw new ArgumentException(
                                $"Block '{Name}': column {cols[j]} has no observed value (with positive weight), so a start from responsibilities cannot estimate it; start from parameters (Initialization.FromParameters) or drop the column.");
                    for (int j = 0; j < d; j++) y[j] = double.IsNaN(x[j]) ? 0 : x[j] - centre[j];
                }
                else
                {
                    var p = Cached(cache, key, usual, k);
                    var mean = usual[k].Mean;
                    var z = Whitened(p, x, mean);
                    int o = p.Observed.Length, m = p.Missing.Length;
                    for (int a = 0; a < o; a++) y[p.Observed[a]] = x[p.Observed[a]] - centre[p.Observed[a]];
                    // x̂_m − μ_m = Σ_mo Σ_oo⁻¹(x_o − μ_o) = Bᵀz.
                    for (int c = 0; c < m; c++)
                    {
                        double v = 0;
                        for (int a = 0; a < o; a++) v += p.B[a * m + c] * z[a];
                        y[p.Missing[c]] = mean[p.Missing[c]] + v - centre[p.Missing[c]];
                    }
                    for (int a = 0; a < m; a++)
                        for (int b = 0; b < m; b++) spread[p.Missing[a] * d + p.Missing[b]] = p.C[a * m + b];
                    entropy += r * 0.5 * (m * (1 + Log2Pi) + p.LogDetConditional);
                }
                var target = stats.Sums.AsSpan(k * s, s);
                for (int j = 0; j < d; j++) target[j] += r * y[j];
                var second = target.Slice(d);
                switch (_family.Structure)
                {
                    case CovarianceStructure.Full:
                        int q = 0;
                        for (int a = 0; a < d; a++)
                            for (int b = a; b < d; b++) second[q++] += r * (y[a] * y[b] + spread[a * d + b]);
                        break;
                    case CovarianceStructure.Diagonal:
                        for (int j = 0; j < d; j++) second[j] += r * (y[j] * y[j] + spread[j * d + j]);
                        break;
                    default:
                        double t = 0;
                        for (int j = 0; j < d; j++) t += y[j] * y[j] + spread[j * d + j];
                        second[0] += r * t;
                        break;
                }
            }
        }
        return entropy;
    }

    /// <summary>Adds Σ_n r_nk T(x_n − c_k) to row k of the statistics (see <see cref="CentredMoments.Accumulate"/>).</summary>
    public override void Accumulate(DataChunk data, ReadOnlySpan<double> responsibilities, Statistics into, Span<double> scratch) =>
        AccumulateFrames(data, responsibilities, (ComponentStatistics)into, scratch, afterTerms: false);

    /// <summary>Keeps only what the covariance structure allows: the diagonal, or its average times I.</summary>
    private void Restrict(Span<double> m)
    {
        int d = Dimension;
        if (_family.Structure == CovarianceStructure.Full) return;
        double avg = 0;
        for (int i = 0; i < d; i++) avg += m[i * d + i] / d;
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++)
                if (i != j) m[i * d + j] = 0;
                else if (_family.Structure == CovarianceStructure.Spherical) m[i * d + i] = avg;
    }

    // ---- M-step ----

    public override BlockState MStep(Statistics statistics, BlockState? previous, MStepContext context)
    {
        var stats = (ComponentStatistics)statistics;
        var usual = new GaussianParameters[Components];
        if (_tied) TiedMStep(stats, previous, context, usual);
        else
            foreach (var group in Groups()) GroupMStep(stats, previous, context, group, usual);
        return StateOf(usual);
    }

    /// <summary>Exact unless the covariance floor moved the estimate (with a prior, the MAP is exact too).</summary>
    private static CandidateKind KindOf(MStepContext context) =>
        context.Options.CovarianceFloor == 0 ? CandidateKind.Exact : CandidateKind.Approximate;

    private void GroupMStep(ComponentStatistics stats, BlockState? previous, MStepContext context, int[] group, GaussianParameters[] usual)
    {
        int d = Dimension, s = StatisticCount;
        var sum = new double[s];
        SumGroup(stats, group, sum, out double count); // one frame: a group shares its mean
        var frame = stats.Centres![group[0]];
        int? component = Member(group);
        string who = component is null ? "the shared parameters" : $"component {component}";
        if (count <= context.EmptyMass && previous is not null) { KeepPrevious(previous, group, usual); return; }

        var mu = new double[d];
        var cov = new double[d * d];
        string? reason = count <= context.EmptyMass ? "no data in the initial responsibilities" : Estimate(sum, count, frame, context.Options.CovarianceFloor, mu, cov);
        if (reason is not null && previous is null)
        {
            // Initialisation: fall back to the estimate on all rows (every frame is the data mean here).
            context.Log.Add(FitEventKind.InitializationFallback, Name, component, reason + "; starting from the estimate on all rows");
            SumGroup(stats, AllComponents(), sum, out count);
            reason = Estimate(sum, count, frame, context.Options.CovarianceFloor, mu, cov);
            if (reason is not null) throw new InvalidOperationException($"Block '{Name}': cannot estimate initial parameters of {who}: {reason}.");
        }
        if (reason is not null)
        {
            context.Invalid(Name, component, reason);
            KeepPrevious(previous!, group, usual);
            return;
        }
        var candidate = ToUser(mu, cov, frame);
        foreach (int k in group) usual[k] = candidate;
        if (previous is null) return;
        if (!Accept(stats, group, usual, (GaussianParameters[])previous.Usual, context, component))
            KeepPrevious(previous, group, usual);
    }

    /// <summary>
    /// The MAP (or ML) mean and covariance, relative to <paramref name="frame"/>, of R observations whose
    /// statistics about the frame sum to S; null, or why it cannot be computed. Covariance:
    /// (Ψ + W + κR/(κ+R)(x̄ − m)(x̄ − m)ᵀ)/(n + R) + floor·I restricted to the structure; without a prior
    /// W/R + floor·I.
    /// </summary>
    private string? Estimate(ReadOnlySpan<double> sum, double count, IReadOnlyList<double> frame, double floor, Span<double> mu, Span<double> cov)
    {
        int d = Dimension;
        if (!Scatter(sum, count, frame, mu, cov, out double divisor)) return "no data and no prior";
        if (!(divisor > 0)) return "no data and no covariance pseudo-count";
        for (int i = 0; i < d * d; i++) cov[i] /= divisor;
        for (int i = 0; i < d; i++) cov[i * d + i] += floor;
        for (int i = 0; i < d * d; i++) if (!double.IsFinite(cov[i])) return "the estimated covariance is not finite";
        for (int i = 0; i < d; i++) if (!double.IsFinite(mu[i])) return "the estimated mean is not finite";
        var l = new double[d * d];
        if (!SymmetricMatrix.TryCholesky(cov, d, l))
            return "the estimated covariance is not positive definite (raise FitOptions.CovarianceFloor or add a prior)";
        return null;
    }

    /// <summary>
    /// Writes the estimated mean (relative to the frame) and the un-normalised scatter Ψ + W + shrinkage
    /// (restricted to the structure), and the divisor n + R. False when there is neither data nor a prior mean.
    /// </summary>
    private bool Scatter(ReadOnlySpan<double> sum, double count, IReadOnlyList<double> frame, Span<double> mu, Span<double> scatter, out double divisor)
    {
        int d = Dimension, s = StatisticCount;
        scatter.Slice(0, d * d).Clear();
        var xbar = new double[d];
        if (count > 0)
        {
            var meanParameter = new double[s];
            for (int i = 0; i < s; i++) meanParameter[i] = sum[i] / count;
            _family.CovarianceFromMean(meanParameter, scatter);
            for (int i = 0; i < d * d; i++) scatter[i] *= count;
            meanParameter.AsSpan(0, d).CopyTo(xbar);
        }
        if (_prior is null)
        {
            divisor = count;
            xbar.CopyTo(mu);
            return count > 0;
        }
        double kappa = _prior.MeanPseudoCount;
        divisor = _priorCount + count;
        for (int i = 0; i < d * d; i++) scatter[i] += _priorScatter![i];
        if (!(kappa + count > 0)) return false;
        var m = new double[d];
        for (int i = 0; i < d; i++) m[i] = _prior.Mean[i] - frame[i];
        for (int i = 0; i < d; i++) mu[i] = (kappa * m[i] + count * xbar[i]) / (kappa + count);
        if (kappa > 0 && count > 0)
        {
            var shrink = new double[d * d];
            double f = kappa * count / (kappa + count);
            for (int i = 0; i < d; i++)
                for (int j = 0; j < d; j++) shrink[i * d + j] = f * (xbar[i] - m[i]) * (xbar[j] - m[j]);
            Restrict(shrink);
            for (int i = 0; i < d * d; i++) scatter[i] += shrink[i];
        }
        return true;
    }

    private void TiedMStep(ComponentStatistics stats, BlockState? previous, MStepContext context, GaussianParameters[] usual)
    {
        int d = Dimension, s = StatisticCount, k0 = Components;
        var means = new double[k0][];
        var pooled = new double[d * d];
        var scatter = new double[d * d];
        double divisor = _prior is null ? 0 : _priorCount;
        if (_prior is not null) _priorScatter.AsSpan().CopyTo(pooled);
        for (int k = 0; k < k0; k++)
        {
            var frame = stats.Centres![k];
            double count = stats.Counts[k];
            if (count <= context.EmptyMass)
            {
                if (previous is not null) means[k] = ((GaussianParameters[])previous.Usual)[k].Mean.ToArray();
                else
                {
                    var all = new double[s];
                    SumGroup(stats, AllComponents(), all, out double total);
                    means[k] = Enumerable.Range(0, d).Select(i => frame[i] + all[i] / total).ToArray();
                    context.Log.Add(FitEventKind.InitializationFallback, Name, k, "no data in the initial responsibilities; starting from the mean of all rows");
                }
                continue;
            }
            var mu = new double[d];
            Scatter(stats.Of(k), count, frame, mu, scatter, out _);
            // Scatter() added Ψ for this component; the tied covariance takes Ψ once (already in pooled).
            for (int i = 0; i < d * d; i++) pooled[i] += scatter[i] - (_priorScatter?[i] ?? 0);
            divisor += count;
            means[k] = Enumerable.Range(0, d).Select(i => (frame[i] + mu[i]) * (SeededMeanFault.Value ?? 1)).ToArray();
        }
        var cov = new double[d * d];
        string? reason = divisor > 0 ? null : "no data and no covariance pseudo-count";
        if (reason is null)
        {
            for (int i = 0; i < d * d; i++) cov[i] = pooled[i] / divisor;
            for (int i = 0; i < d; i++) cov[i * d + i] += context.Options.CovarianceFloor;
            if (!SymmetricMatrix.TryCholesky(cov, d, new double[d * d]))
                reason = "the tied covariance is not positive definite (raise FitOptions.CovarianceFloor or add a prior)";
        }
        var everyone = AllComponents();
        if (reason is not null)
        {
            if (previous is null) throw new InvalidOperationException($"Block '{Name}': cannot estimate the initial tied covariance: {reason}.");
            context.Invalid(Name, null, reason);
            KeepPrevious(previous, everyone, usual);
            return;
        }
        var shared = ReadOnlyMatrix.FromRowMajor(cov, d, d);
        for (int k = 0; k < k0; k++) usual[k] = new GaussianParameters(means[k], shared);
        if (previous is not null && !Accept(stats, everyone, usual, (GaussianParameters[])previous.Usual, context, null))
            KeepPrevious(previous, everyone, usual);
    }

    /// <summary>
    /// The acceptance policy applied to the candidate parameters of <paramref name="group"/>: Q + log prior of the
    /// candidate against the previous parameters, Q evaluated in the well-conditioned usual form
    /// (<see cref="GroupExpectedLogLikelihood"/>). Without a floor the M-step is exact and taken as it is.
    /// </summary>
    private bool Accept(ComponentStatistics stats, int[] group, GaussianParameters[] candidate, GaussianParameters[] old, MStepContext context, int? component)
    {
        var kind = KindOf(context);
        if (kind == CandidateKind.Approximate) context.NoteFloored();
        if (!context.MustCompare(kind)) { context.TakenWithoutComparison(Name); return true; }
        double qNew = GroupExpectedLogLikelihood(stats, candidate, group) + LogPrior(candidate, group);
        double qOld = GroupExpectedLogLikelihood(stats, old, group) + LogPrior(old, group);
        return context.Judge(kind, qNew, qOld, Name, component, "floored estimate");
    }

    /// <summary>
    /// Σ_{k ∈ group} E_q[log N(x | μ_k, Σ_k)] − R_k log h in the usual parameters, from statistics about the centres
    /// c_k: with x̄_k − c_k = S₁/R, the centred covariance C_k/R (the family's CovarianceFromMean of S/R, restricted to
    /// the structure) and d = x̄_k − μ_k,
    /// <code>Q_k = −½ R_k log|Σ_k| − ½ R_k tr(Σ_k⁻¹ C_k/R_k) − ½ R_k dᵀΣ_k⁻¹d</code>
    /// through the Cholesky factor of Σ_k — the very factor the E-step whitens with, so that Q and the E-step's
    /// log-likelihood agree to the accuracy of that factor — a log-determinant and triangular solves; no inverse, and no
    /// natural parameters, whose terms cancel catastrophically for near-singular covariances far from the origin.
    /// </summary>
    private double GroupExpectedLogLikelihood(ComponentStatistics stats, GaussianParameters[] parameters, IEnumerable<int> group)
    {
        int d = Dimension, s = StatisticCount;
        double q = 0;
        var meanParameter = new double[s];
        var centred = new double[d * d];
        var diff = new double[d];
        var l = new double[d * d];
        foreach (int k in group)
        {
            double r = stats.Counts[k];
            if (r == 0) continue;
            var p = parameters[k];
            if (!SymmetricMatrix.TryCholesky(p.Covariance.Values, d, l)) return double.NegativeInfinity;
            var sum = stats.Of(k);
            for (int i = 0; i < s; i++) meanParameter[i] = sum[i] / r;
            _family.CovarianceFromMean(meanParameter, centred);
            var frame = stats.Centres![k];
            for (int i = 0; i < d; i++) diff[i] = frame[i] + meanParameter[i] - p.Mean[i];
            q += -0.5 * r * (SymmetricMatrix.LogDeterminantFromCholesky(l, d) + SymmetricMatrix.TraceOfSolve(l, d, centred) + MeanTerm(l, diff));
        }
        return q;
    }

    /// <summary>dᵀΣ⁻¹d for d = x̄ − μ and Σ's Cholesky factor <paramref name="l"/>, restricted to the covariance structure (its trace part for diagonal and spherical).</summary>
    private double MeanTerm(ReadOnlySpan<double> l, double[] diff)
    {
        int d = Dimension;
        if (_family.Structure == CovarianceStructure.Full) return SymmetricMatrix.InverseQuadraticForm(l, d, diff);
        var spread = new double[d * d];
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++) spread[i * d + j] = diff[i] * diff[j];
        Restrict(spread);
        return SymmetricMatrix.TraceOfSolve(l, d, spread);
    }

    public override double ExpectedLogLikelihood(Statistics statistics, BlockState state) =>
        GroupExpectedLogLikelihood((ComponentStatistics)statistics, (GaussianParameters[])state.Usual, AllComponents());

    /// <summary>
    /// Test-only fault injection, per asynchronous flow (so concurrent tests are unaffected): when set, every Gaussian
    /// mean estimate is multiplied by this factor — a deliberately wrong M-step, with which the test suite proves that
    /// its monotonicity properties can fail. Never set outside tests.
    /// </summary>
    internal static readonly AsyncLocal<double?> SeededMeanFault = new();

    private static GaussianParameters ToUser(ReadOnlySpan<double> mu, ReadOnlySpan<double> cov, IReadOnlyList<double> frame)
    {
        int d = mu.Length;
        var mean = new double[d];
        for (int i = 0; i < d; i++) mean[i] = mu[i] + frame[i];
        if (SeededMeanFault.Value is { } fault)
            for (int i = 0; i < d; i++) mean[i] *= fault;
        return new GaussianParameters(mean, ReadOnlyMatrix.FromRowMajor(cov, d, d));
    }

    private static void KeepPrevious(BlockState previous, int[] group, GaussianParameters[] usual)
    {
        var old = (GaussianParameters[])previous.Usual;
        foreach (int k in group) usual[k] = old[k];
    }

    /// <summary>The state of usual parameters: η_k in component k's own frame, [0, −½Λ_k packed], and A(η_k).</summary>
    private BlockState StateOf(GaussianParameters[] usual)
    {
        int d = Dimension, s = StatisticCount;
        var natural = new double[Components * s];
        var zero = new double[d];
        var logNormalizer = new double[Components];
        var l = new double[d * d];
        for (int k = 0; k < Components; k++)
        {
            var eta = natural.AsSpan(k * s, s);
            if (!_family.TryNaturalFromMoments(zero, usual[k].Covariance.Values, eta))
                throw new InvalidOperationException($"Block '{Name}', component {k}: the covariance does not factor.");
            // In the component's own frame A(η) = ½ log|Σ|. Through η it needs the Cholesky factor of Λ = Σ⁻¹, which a
            // covariance near singular (a condition number near 1/ε, possible without a covariance floor) may lose to
            // rounding although Σ itself factors: then A comes from Σ's own factor.
            if (_family.IsNaturalParameter(eta)) logNormalizer[k] = _family.LogNormalizer(eta);
            else if (SymmetricMatrix.TryCholesky(usual[k].Covariance.Values, d, l)) logNormalizer[k] = 0.5 * SymmetricMatrix.LogDeterminantFromCholesky(l, d);
            else throw new InvalidOperationException($"Block '{Name}', component {k}: the covariance does not factor.");
        }
        return new BlockState(natural, logNormalizer, usual, Evaluate(usual));
    }

    // ---- prior, user parameters, sampling ----

    private double LogPrior(GaussianParameters[] usual, int[] group)
    {
        if (_prior is null) return 0;
        if (_tied) return _prior.LogDensity(usual.Select(u => u.Mean).ToArray(), usual[0].Covariance.Values, CovarianceStructure.Full, tied: true);
        return _prior.LogDensity([usual[group[0]].Mean], usual[group[0]].Covariance.Values, _family.Structure, tied: false);
    }

    public override double LogPrior(BlockState state)
    {
        var usual = (GaussianParameters[])state.Usual;
        if (_prior is null) return 0;
        if (_tied) return LogPrior(usual, AllComponents());
        return Groups().Sum(g => LogPrior(usual, g));
    }

    protected override BlockState FromTyped(GaussianParameters[] components)
    {
        int d = Dimension;
        for (int k = 0; k < Components; k++)
        {
            var p = components[k];
            if (p.Dimension != d) throw new ArgumentException($"Block '{Name}', component {k}: expected a {d}-dimensional Gaussian, got {p.Dimension} dimensions.");
            bool sameCovariance = p.Covariance.Equals(components[0].Covariance);
            if (_tied && !sameCovariance)
                throw new ArgumentException($"Block '{Name}' has a tied covariance, but component {k}'s covariance differs from component 0's.");
            if (Block.Sharing == Sharing.Shared && !(sameCovariance && p.Mean.SequenceEqual(components[0].Mean)))
                throw new ArgumentException($"Block '{Name}' is shared, but initial parameters of component {k} differ from component 0.");
            try { _family.ToNatural(p); }
            catch (ArgumentException e) { throw new ArgumentException($"Block '{Name}', component {k}: {e.Message}", e); }
        }
        return StateOf(components.ToArray());
    }

    public override void Sample(BlockState state, int k, Random random, Span<double> x)
    {
        var p = ((GaussianParameters[])state.Usual)[k];
        int d = Dimension;
        var l = new double[d * d];
        if (!SymmetricMatrix.TryCholesky(p.Covariance.Values, d, l))
            throw new InvalidOperationException($"Block '{Name}', component {k}: the covariance does not factor.");
        GaussianFamily.SampleWithCholesky(p.Mean.ToArray(), l, random, x);
    }
}
