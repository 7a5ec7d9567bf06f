using EmDsl.AutoDiff;
using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Numerics;

namespace EmDsl.Inference;

/// <summary>
/// A regression block during a fit: the response y_n given the design z_n (see <see cref="CovariateFrame"/>),
/// with component k's linear predictor η_nk = z_n·γ_k. The block's part of the log-joint is
/// log p(y_n | η_nk) − log h(y_n), added per component; its M-step works from the responsibilities, because
/// a regression's expected log-likelihood has no finite summary beyond the rows themselves (the linear one
/// does, but reading the rows once per M-step costs the same as the E-step and keeps one code path).
/// <list type="bullet">
/// <item>Linear (Gaussian): closed-form weighted least squares by a Cholesky solve, then the weighted residual
/// variance; with a ridge prior, a conditional maximisation (γ given the previous σ², then σ²), which still
/// raises Q.</item>
/// <item>Logistic and Poisson: no closed form; a generalized-EM ascent of
/// Q(Γ) = Σ_n Σ_k r_nk (y_n η_nk − A(η_nk)) + log p(Γ), its gradient by reverse-mode autodiff over the whole
/// design, by the optimiser of <see cref="FitOptions.MStepOptimizer"/>, which only ever accepts increases.</item>
/// </list>
/// State layout: row k of <see cref="BlockState.Natural"/> holds γ_k (P values), then σ²_k for the linear kind.
/// </summary>
internal sealed class RegressionRuntime<TParameters> : BlockRuntime<TParameters>
{
    private readonly RegressionBlock<TParameters> _block;
    private readonly CovariateFrame _frame;
    private readonly double[] _z;
    private readonly double[] _y;
    private readonly int _p;
    private readonly int _width;
    private readonly double[] _precisions;
    private readonly double _logBase;
    private readonly string _who;

    public RegressionRuntime(RegressionBlock<TParameters> block, int components, DataMatrix data, ReadOnlySpan<double> sampleWeights)
        : base(block, components)
    {
        _block = block;
        _who = $"Block '{block.Name}'";
        int response = block.Columns[0];
        if (response >= data.Columns)
            throw new ArgumentException($"{_who} reads response column {response}, but the data has {data.Columns} column{(data.Columns == 1 ? "" : "s")} (0..{data.Columns - 1}).");
        _frame = CovariateFrame.Create(data, block.Covariates, block.Intercept, sampleWeights, _who);
        _p = _frame.Size;
        _width = _p + (block.Kind == RegressionKind.Linear ? 1 : 0);
        _z = _frame.Design(data);
        _y = data.GetColumn(response);
        _precisions = block.Prior is null ? new double[_p] : _frame.FramePrecisions(block.Prior.Precision);
        _logBase = block.Kind == RegressionKind.Linear ? Family.LogBaseMeasure([0.0]) : 0;
    }

    /// <summary>
    /// A runtime for a loaded model: the frame saved with it and no training rows, so it evaluates and converts
    /// parameters but cannot take an M-step.
    /// </summary>
    internal RegressionRuntime(RegressionBlock<TParameters> block, int components, CovariateFrame frame) : base(block, components)
    {
        _block = block;
        _who = $"Block '{block.Name}'";
        _frame = frame;
        _p = _frame.Size;
        _width = _p + (block.Kind == RegressionKind.Linear ? 1 : 0);
        _z = [];
        _y = [];
        _precisions = block.Prior is null ? new double[_p] : _frame.FramePrecisions(block.Prior.Precision);
        _logBase = block.Kind == RegressionKind.Linear ? Family.LogBaseMeasure([0.0]) : 0;
    }

    /// <summary>The covariate frame (saved in model files).</summary>
    internal CovariateFrame Frame => _frame;

    /// <summary>Values per state in <see cref="BlockState.Natural"/>: P coefficients, plus σ² for the linear kind.</summary>
    internal int Width => _width;

    /// <summary>The usual parameters of frame coefficients (one state's row), as the M-step makes them.</summary>
    internal TParameters UsualOf(ReadOnlySpan<double> row) => ToUsual(row);

    private RegressionKind Kind => _block.Kind;

    public override int StatisticCount => 0;

    public override bool SharesFrame => false;

    public override bool KeepsRowPosterior => true;

    public override int ScratchPerRow => _p + Components;

    public override Statistics CreateStatistics(BlockState? state) => new RowPosteriorStatistics(Components);

    public override void Validate(DataChunk data)
    {
        base.Validate(data);
        foreach (var c in _block.Covariates)
            if (c >= data.Columns)
                throw new ArgumentException($"{_who} reads covariate column {c}, but the data has {data.Columns} column{(data.Columns == 1 ? "" : "s")} (0..{data.Columns - 1}).");
    }

    // ---- E-step ----

    public override void AddComponentTerms(DataChunk data, BlockState state, Span<double> logJoint, Span<double> scratch)
    {
        int k0 = Components, p = _p, rows = data.Rows;
        var z = scratch.Slice(0, rows * p);
        var eta = scratch.Slice(rows * p, rows * k0);
        _frame.Fill(data, z);
        ComputeBackend.Current.Gemm(false, true, rows, k0, p, 1.0, z, p, state.Natural, _width, 0.0, eta, k0);
        int column = Columns[0], stride = data.Columns;
        var values = data.Values;
        bool linear = Kind == RegressionKind.Linear;
        for (int i = 0; i < rows; i++)
        {
            double y = values[i * stride + column];
            for (int k = 0; k < k0; k++)
                logJoint[i * k0 + k] += Term(y, eta[i * k0 + k], linear ? state.Natural[k * _width + _p] : 0);
        }
    }

    /// <summary>log p(y | η) − log h(y) for one row and component (σ² is read only by the linear kind).</summary>
    private double Term(double y, double eta, double variance) => Kind switch
    {
        RegressionKind.Linear => -0.5 * (Math.Log(2 * Math.PI * variance) + (y - eta) * (y - eta) / variance) - _logBase,
        RegressionKind.Logistic => y * eta - SpecialFunctions.Log1pExp(eta),
        _ => y * eta - Math.Exp(eta),
    };

    // ---- M-step ----

    public override BlockState MStep(Statistics statistics, BlockState? previous, MStepContext context)
    {
        var stats = (RowPosteriorStatistics)statistics;
        var groups = Groups();
        var weights = stats.Grouped(_y.Length, groups);
        var natural = new double[Components * _width];
        if (Kind == RegressionKind.Linear) LinearMStep(groups, weights, stats.Counts, previous, context, natural);
        else GeneralizedMStep(groups, weights, stats.Counts, previous, context, natural);
        return State(natural);
    }

    /// <summary>
    /// Σ_n Σ_k w_n q_n(k) (log p(y_n | z_n, θ_k) − log h(y_n)): one pass over the rows with the design, as the E-step
    /// computes each term.
    /// </summary>
    public override double ExpectedLogLikelihood(Statistics statistics, BlockState state)
    {
        int k0 = Components;
        bool linear = Kind == RegressionKind.Linear;
        double q = 0;
        foreach (var (first, rows, r) in ((RowPosteriorStatistics)statistics).Segments)
            for (int i = 0; i < rows; i++)
            {
                var zi = _z.AsSpan((first + i) * _p, _p);
                for (int k = 0; k < k0; k++)
                {
                    double w = r[i * k0 + k];
                    if (w == 0) continue;
                    q += w * Term(_y[first + i], Dot(zi, state.Natural.AsSpan(k * _width, _p)), linear ? state.Natural[k * _width + _p] : 0);
                }
            }
        return q;
    }

    private static double GroupCount(ReadOnlySpan<double> counts, int[] group)
    {
        double c = 0;
        foreach (int k in group) c += counts[k];
        return c;
    }

    private void LinearMStep(int[][] groups, double[] weights, ReadOnlySpan<double> counts, BlockState? previous, MStepContext context, double[] natural)
    {
        int g0 = groups.Length;
        for (int g = 0; g < g0; g++)
        {
            var group = groups[g];
            int? component = group.Length == 1 ? group[0] : null;
            bool empty = GroupCount(counts, group) <= context.EmptyMass;
            if (empty && previous is not null) { CopyGroup(previous.Natural, natural, group); continue; }
            var w = Column(weights, g, g0);
            double? priorVariance = previous?.Natural[group[0] * _width + _p];
            double[] gamma = [];
            double variance = 0;
            string reason = "no data in the initial responsibilities";
            bool floored = false;
            if ((empty || !TryWeightedLeastSquares(w, priorVariance, context.Options.CovarianceFloor, out gamma, out variance, out floored, out reason))
                && previous is null && component is not null
                && TryWeightedLeastSquares(Pooled(weights, g0), null, context.Options.CovarianceFloor, out gamma, out variance, out floored, out _))
            {
                // An initial component with no data, or too few rows for its regression, starts from the regression on all rows.
                context.Log.Add(FitEventKind.InitializationFallback, Name, component, reason + "; starting from the regression on all rows");
                reason = "";
            }
            if (reason.Length > 0)
            {
                if (previous is null)
                    throw new InvalidOperationException($"{_who}: cannot estimate the initial regression of {(component is null ? "the shared parameters" : $"component {component}")}: {reason}.");
                context.Invalid(Name, component, reason);
                CopyGroup(previous.Natural, natural, group);
                continue;
            }
            foreach (int k in group)
            {
                gamma.CopyTo(natural, k * _width);
                natural[k * _width + _p] = variance;
            }
            if (previous is null) continue;
            // Weighted least squares and the residual variance maximise Q exactly, unless the variance floor binds or a
            // ridge prior makes the step a conditional maximisation (γ given the previous σ²).
            if (floored) context.NoteFloored();
            var kind = _block.Prior is null && !floored ? CandidateKind.Exact : CandidateKind.Approximate;
            if (!context.MustCompare(kind)) { context.TakenWithoutComparison(Name); continue; }
            double qNew = LinearQ(natural, group[0], w), qOld = LinearQ(previous.Natural, group[0], w);
            if (!context.Judge(kind, qNew, qOld, Name, component)) CopyGroup(previous.Natural, natural, group);
        }
    }

    /// <summary>
    /// γ = (ZᵀWZ + σ²Λ)⁻¹ ZᵀWy (σ² the previous variance, only when a ridge prior is present), then
    /// σ² = max(Σ w (y − zγ)² / Σ w, floor).
    /// </summary>
    private bool TryWeightedLeastSquares(double[] w, double? previousVariance, double floor, out double[] gamma, out double variance, out bool floored, out string reason)
    {
        floored = false;
        int n = _y.Length, p = _p;
        var gram = new double[p * p];
        gamma = new double[p];
        variance = 0;
        double total = 0;
        const int chunk = 4096;
        var zw = new double[Math.Min(n, chunk) * p];
        var backend = ComputeBackend.Current;
        for (int start = 0; start < n; start += chunk)
        {
            int rows = Math.Min(chunk, n - start);
            for (int i = 0; i < rows; i++)
            {
                double wi = w[start + i];
                total += wi;
                var zi = _z.AsSpan((start + i) * p, p);
                for (int j = 0; j < p; j++)
                {
                    zw[i * p + j] = wi * zi[j];
                    gamma[j] += wi * zi[j] * _y[start + i];
                }
            }
            backend.Gemm(true, false, p, p, rows, 1.0, zw.AsSpan(0, rows * p), p, _z.AsSpan(start * p, rows * p), p, 1.0, gram, p);
        }
        if (!(total > 0)) { reason = "no data"; return false; }
        if (_block.Prior is not null)
        {
            double s2 = previousVariance ?? WeightedVariance(w, total);
            for (int j = 0; j < p; j++) gram[j * p + j] += s2 * _precisions[j];
        }
        double scale = 0;
        for (int j = 0; j < p; j++) scale = Math.Max(scale, gram[j * p + j]);
        if (!backend.CholeskyInPlace(gram, p) || !PivotsClear(gram, p, scale))
        {
            reason = "the weighted design is singular (too few rows with weight, or collinear among them)";
            return false;
        }
        backend.SolveLowerInPlace(gram, p, gamma, 1, false);
        backend.SolveLowerInPlace(gram, p, gamma, 1, true);
        double ss = 0;
        for (int i = 0; i < n; i++)
        {
            if (w[i] == 0) continue;
            double e = _y[i] - Dot(_z.AsSpan(i * p, p), gamma);
            ss += w[i] * e * e;
        }
        variance = Math.Max(ss / total, floor);
        floored = variance != ss / total;
        if (!(variance > 0) || !double.IsFinite(variance) || gamma.Any(v => !double.IsFinite(v)))
        {
            reason = $"the estimate is not finite (variance {variance})";
            return false;
        }
        reason = "";
        return true;
    }

    private static bool PivotsClear(double[] l, int p, double scale)
    {
        for (int j = 0; j < p; j++)
            if (!(l[j * p + j] * l[j * p + j] > 1e-13 * scale)) return false;
        return true;
    }

    private double WeightedVariance(double[] w, double total)
    {
        double m = 0, v = 0;
        for (int i = 0; i < _y.Length; i++) m += w[i] * _y[i];
        m /= total;
        for (int i = 0; i < _y.Length; i++) v += w[i] * (_y[i] - m) * (_y[i] - m);
        return Math.Max(v / total, 1e-300);
    }

    /// <summary>Q of one group (row weights <paramref name="w"/>) for the linear kind, with the group's log prior.</summary>
    private double LinearQ(double[] natural, int k, double[] w)
    {
        var gamma = natural.AsSpan(k * _width, _p);
        double variance = natural[k * _width + _p], q = 0;
        for (int i = 0; i < _y.Length; i++)
            if (w[i] != 0) q += w[i] * Term(_y[i], Dot(_z.AsSpan(i * _p, _p), gamma), variance);
        return q + GroupLogPrior(natural, k);
    }

    private void GeneralizedMStep(int[][] groups, double[] weights, ReadOnlySpan<double> counts, BlockState? previous, MStepContext context, double[] natural)
    {
        int g0 = groups.Length, n = _y.Length, p = _p;
        var start = new double[p * g0]; // P × G: column g is group g's γ
        for (int g = 0; g < g0; g++)
            if (previous is not null)
                for (int j = 0; j < p; j++) start[j * g0 + g] = previous.Natural[groups[g][0] * _width + j];
        if (previous is null) StartingPoint(start, g0);
        // Views, not copies (Var.Constant copies): none of these arrays changes during the M-step.
        var z = Var.Wrap(_z, n, p);
        var y = Var.Wrap(_y, n, 1);
        var w = Var.Wrap(weights, n, g0);
        var precision = Var.Wrap(_precisions, p, 1);
        bool logistic = Kind == RegressionKind.Logistic;
        Func<Var, Var> q = gamma =>
        {
            var eta = z.MatMul(gamma);
            var a = logistic ? eta.Softplus() : eta.Exp();
            return (w * (y * eta - a)).Sum() - 0.5 * (precision * gamma.Square()).Sum();
        };
        var options = context.Options.MStepOptimizer;
        if (previous is null) options = options with { MaxIterations = Math.Max(options.MaxIterations, 200) };
        var result = GeneralizedEm.Ascend(q, start, p, g0, options);
        for (int g = 0; g < g0; g++)
        {
            var group = groups[g];
            bool empty = GroupCount(counts, group) <= context.EmptyMass;
            if (empty && previous is not null) { CopyGroup(previous.Natural, natural, group); continue; }
            foreach (int k in group)
                for (int j = 0; j < p; j++) natural[k * _width + j] = result.Point[j * g0 + g];
        }
        if (previous is not null) GeneralizedEm.Report(result, context, Name);
    }

    /// <summary>Starts a GLM at the intercept that fits the pooled mean response (0 without an intercept).</summary>
    private void StartingPoint(double[] start, int g0)
    {
        if (!_frame.Intercept) return;
        double mean = _y.Average();
        double intercept = Kind == RegressionKind.Logistic
            ? Math.Log(Math.Clamp(mean, 1e-3, 1 - 1e-3) / (1 - Math.Clamp(mean, 1e-3, 1 - 1e-3)))
            : Math.Log(Math.Max(mean, 1e-3));
        for (int g = 0; g < g0; g++) start[g] = intercept;
    }

    private void CopyGroup(double[] from, double[] to, int[] group)
    {
        foreach (int k in group) Array.Copy(from, k * _width, to, k * _width, _width);
    }

    private static double[] Column(double[] m, int g, int g0)
    {
        var c = new double[m.Length / g0];
        for (int i = 0; i < c.Length; i++) c[i] = m[i * g0 + g];
        return c;
    }

    private static double[] Pooled(double[] m, int g0)
    {
        var c = new double[m.Length / g0];
        for (int i = 0; i < c.Length; i++)
            for (int g = 0; g < g0; g++) c[i] += m[i * g0 + g];
        return c;
    }

    private static double Dot(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += a[i] * b[i];
        return s;
    }

    // ---- state, prior, conversions ----

    private BlockState State(double[] natural)
    {
        var usual = new TParameters[Components];
        for (int k = 0; k < Components; k++) usual[k] = ToUsual(natural.AsSpan(k * _width, _width));
        return new BlockState(natural, new double[Components], usual);
    }

    private TParameters ToUsual(ReadOnlySpan<double> row)
    {
        var coefficients = _frame.ToUser(row.Slice(0, _p));
        object result = Kind == RegressionKind.Linear ? new LinearRegressionParameters(coefficients, row[_p]) : coefficients;
        return (TParameters)result;
    }

    private double GroupLogPrior(double[] natural, int k)
    {
        if (_block.Prior is null) return 0;
        return _block.Prior.LogDensity(_frame.ToUser(natural.AsSpan(k * _width, _p)).Slopes);
    }

    public override double LogPrior(BlockState state) =>
        _block.Prior is null ? 0 : Groups().Sum(g => GroupLogPrior(state.Natural, g[0]));

    public override void Sample(BlockState state, int k, Random random, Span<double> x) =>
        throw new InvalidOperationException($"{_who} is a regression: drawing its response needs covariate values, which a mixture sample does not have.");

    protected override BlockState FromTyped(TParameters[] components)
    {
        var natural = new double[Components * _width];
        for (int k = 0; k < Components; k++)
        {
            string who = $"{_who}, component {k}";
            (RegressionParameters coefficients, double variance) = components[k] switch
            {
                LinearRegressionParameters l => (l.Coefficients, l.Variance),
                RegressionParameters c => (c, 0.0),
                _ => throw new ArgumentException($"{who}: unexpected parameter record {components[k]}."),
            };
            _frame.FromUser(coefficients.Intercept, coefficients.Slopes, who).CopyTo(natural, k * _width);
            if (Kind == RegressionKind.Linear) natural[k * _width + _p] = variance;
        }
        if (Block.Sharing == Sharing.Shared)
            for (int k = 1; k < Components; k++)
                if (!natural.AsSpan(k * _width, _width).SequenceEqual(natural.AsSpan(0, _width)))
                    throw new ArgumentException($"{_who} is shared, but initial parameters of component {k} differ from component 0.");
        var usual = new TParameters[Components];
        for (int k = 0; k < Components; k++) usual[k] = components[k];
        return new BlockState(natural, new double[Components], usual);
    }
}
