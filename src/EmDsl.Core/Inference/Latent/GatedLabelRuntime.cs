using EmDsl.AutoDiff;
using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Numerics;

namespace EmDsl.Inference;

/// <summary>The gating coefficients V (P × K, frame coordinates, column 0 zero) and the training rows' average weights.</summary>
internal sealed class GatingState(double[] coefficients, double[] weights) : LatentState
{
    /// <summary>V, row-major P × K.</summary>
    public double[] Coefficients { get; } = coefficients;

    /// <summary>The gating probabilities averaged over the training rows (weighted): the marginal mixing weights.</summary>
    public double[] Weights { get; } = weights;
}

/// <summary>
/// The label of a mixture of experts: z_n ~ Categorical(π(x_n)) with the gating network
/// log π_k(x_n) = (z_n V)_k − log Σ_l exp((z_n V)_l), z_n the design in its <see cref="CovariateFrame"/> and V
/// (P × K, row-major) whose column 0 is fixed at 0. Its statistics are the weighted posterior rows; its M-step
/// maximises Σ_n Σ_k r_nk log π_k(x_n) + log p(V), a softmax regression on soft labels with no closed form, by
/// generalized-EM ascent (<see cref="GeneralizedEm"/>); the gradient comes from the autodiff over the whole design.
/// </summary>
internal sealed class GatedLabelRuntime : LatentRuntime
{
    private readonly Gating _gating;
    private readonly CovariateFrame _frame;
    private readonly double[] _z;
    private readonly double[]? _sampleWeights;
    private readonly double[] _precisions;

    public GatedLabelRuntime(Gating gating, int components, DataMatrix data, double[]? sampleWeights) : base(components)
    {
        _gating = gating;
        _frame = CovariateFrame.Create(data, gating.Covariates, intercept: true, sampleWeights ?? ReadOnlySpan<double>.Empty, "The gating network");
        _z = _frame.Design(data);
        _sampleWeights = sampleWeights;
        _precisions = gating.Prior is null ? new double[_frame.Size] : _frame.FramePrecisions(gating.Prior.Precision);
    }

    /// <summary>A runtime for a loaded model: the saved frame and no training rows (it evaluates, but cannot take an M-step).</summary>
    internal GatedLabelRuntime(Gating gating, int components, CovariateFrame frame) : base(components)
    {
        _gating = gating;
        _frame = frame;
        _z = [];
        _sampleWeights = null;
        _precisions = gating.Prior is null ? new double[_frame.Size] : _frame.FramePrecisions(gating.Prior.Precision);
    }

    /// <summary>The covariate frame (saved in model files).</summary>
    internal CovariateFrame Frame => _frame;

    private int Components => States;

    public override string Name => "gating";

    public override IReadOnlyList<int> Covariates => _gating.Covariates;

    public override void FillBias(LatentState state, Span<double> bias) => bias.Slice(0, States).Clear();

    public override bool AddsRowTerms => true;

    public override bool KeepsRowPosterior => true;

    public override Statistics CreateStatistics() => new RowPosteriorStatistics(States);

    /// <summary>P: the design's width.</summary>
    public int Size => _frame.Size;

    private int Rows => _z.Length / Size;

    /// <summary>Scratch per row for <see cref="AddRowTerms"/>.</summary>
    public override int ScratchPerRow => Size + Components;

    public override void Validate(DataChunk data)
    {
        foreach (var c in _gating.Covariates)
            if (c >= data.Columns)
                throw new ArgumentException($"The gating network reads covariate column {c}, but the data has {data.Columns} column{(data.Columns == 1 ? "" : "s")} (0..{data.Columns - 1}).");
    }

    /// <summary>Adds log π_k(x_n) to the chunk's rows × K log-joint.</summary>
    public override void AddRowTerms(DataChunk data, LatentState state, Span<double> logJoint, Span<double> scratch)
    {
        int p = Size, k0 = Components, rows = data.Rows;
        var v = ((GatingState)state).Coefficients;
        var z = scratch.Slice(0, rows * p);
        var g = scratch.Slice(rows * p, rows * k0);
        _frame.Fill(data, z);
        ComputeBackend.Current.Gemm(false, false, rows, k0, p, 1.0, z, p, v, k0, 0.0, g, k0);
        for (int i = 0; i < rows; i++)
        {
            var row = g.Slice(i * k0, k0);
            double lse = LogSpace.LogSumExp(row);
            for (int k = 0; k < k0; k++) logJoint[i * k0 + k] += row[k] - lse;
        }
    }

    /// <summary>
    /// The gating M-step from the weighted posterior rows. From <paramref name="previousState"/> it takes ascent
    /// steps that only raise the objective; without one (initialisation) it starts from the intercepts
    /// log(R_k / R_0) and ascends further.
    /// </summary>
    public override LatentState MStep(Statistics statistics, LatentState? previousState, MStepContext context)
    {
        var responsibilities = ((RowPosteriorStatistics)statistics).Dense(Rows);
        var counts = statistics.Counts;
        var previous = (previousState as GatingState)?.Coefficients;
        int p = Size, k0 = Components, free = k0 - 1;
        var start = new double[p * free];
        if (previous is not null)
        {
            for (int j = 0; j < p; j++)
                for (int k = 1; k < k0; k++) start[j * free + k - 1] = previous[j * k0 + k];
        }
        else
        {
            double c0 = Math.Max(counts[0], 1e-300);
            for (int k = 1; k < k0; k++) start[k - 1] = Math.Clamp(Math.Log(Math.Max(counts[k], 1e-300) / c0), -30, 30);
        }
        // Views, not copies (Var.Constant copies): none of these arrays changes during the M-step.
        var z = Var.Wrap(_z, Rows, p);
        var r = Var.Wrap(responsibilities, Rows, k0);
        var zero = Var.Wrap(new double[p], p, 1);
        var precision = Var.Wrap(_precisions, p, 1);
        Func<Var, Var> q = w =>
        {
            var v = Var.ConcatColumns(zero, w);
            return (r * z.MatMul(v).LogSoftmaxRows()).Sum() - 0.5 * (precision * w.Square()).Sum();
        };
        var options = context.Options.MStepOptimizer;
        if (previous is null) options = options with { MaxIterations = Math.Max(options.MaxIterations, 200) };
        var result = GeneralizedEm.Ascend(q, start, p, free, options);
        if (previous is not null) GeneralizedEm.Report(result, context, Name);
        var v = Expand(result.Point);
        return new GatingState(v, AverageWeights(v));
    }

    /// <summary>Σ_n Σ_k w_n q_n(k) log π_k(x_n): the gating's part of E_q[log p(z | θ)], segment by segment of the posterior rows.</summary>
    public override double ExpectedLogJoint(Statistics statistics, LatentState state)
    {
        var v = ((GatingState)state).Coefficients;
        int p = Size, k0 = Components;
        double q = 0;
        foreach (var (first, rows, r) in ((RowPosteriorStatistics)statistics).Segments)
        {
            var logits = new double[ArraySize.Product(rows, k0, () => $"The gating logits of {rows:N0} rows × {k0:N0} components")];
            ComputeBackend.Current.Gemm(false, false, rows, k0, p, 1.0, _z.AsSpan(first * p, rows * p), p, v, k0, 0.0, logits, k0);
            for (int i = 0; i < rows; i++)
            {
                var row = logits.AsSpan(i * k0, k0);
                double lse = LogSpace.LogSumExp(row);
                for (int k = 0; k < k0; k++)
                {
                    double w = r[i * k0 + k];
                    if (w != 0) q += w * (row[k] - lse);
                }
            }
        }
        return q;
    }

    /// <summary>P × (K − 1) free coefficients → P × K with column 0 zero.</summary>
    private double[] Expand(double[] w)
    {
        int p = Size, k0 = Components, free = k0 - 1;
        var v = new double[p * k0];
        for (int j = 0; j < p; j++)
            for (int k = 1; k < k0; k++) v[j * k0 + k] = w[j * free + k - 1];
        return v;
    }

    /// <summary>The training rows' average gating probabilities (weighted): the marginal mixing weights.</summary>
    public double[] AverageWeights(double[] v)
    {
        int n = Rows, p = Size, k0 = Components;
        const int chunk = 4096;
        var avg = new double[k0];
        var g = new double[Math.Min(n, chunk) * k0];
        var lse = new double[Math.Min(n, chunk)];
        double total = 0;
        for (int start = 0; start < n; start += chunk)
        {
            int rows = Math.Min(chunk, n - start);
            var probabilities = g.AsSpan(0, rows * k0);
            ComputeBackend.Current.Gemm(false, false, rows, k0, p, 1.0, _z.AsSpan(start * p, rows * p), p, v, k0, 0.0, probabilities, k0);
            LogSpace.SoftmaxRowsInPlace(probabilities, rows, k0, lse);
            for (int i = 0; i < rows; i++)
            {
                double w = _sampleWeights is null ? 1 : _sampleWeights[start + i];
                total += w;
                for (int k = 0; k < k0; k++) avg[k] += w * probabilities[i * k0 + k];
            }
        }
        for (int k = 0; k < k0; k++) avg[k] /= total;
        return avg;
    }

    /// <summary>Σ_{k ≥ 1} log p(slopes of component k) under the gating's prior (0 without one).</summary>
    public override double LogPrior(LatentState state)
    {
        var v = ((GatingState)state).Coefficients;
        return _gating.Prior is null ? 0 : Enumerable.Range(1, Components - 1).Sum(k => _gating.Prior.LogDensity(Coefficients(v, k).Slopes));
    }

    /// <summary>The user's coefficients of component k (component 0 is the reference: all zero).</summary>
    public RegressionParameters Coefficients(double[] v, int k)
    {
        int p = Size, k0 = Components;
        var column = new double[p];
        for (int j = 0; j < p; j++) column[j] = v[j * k0 + k];
        return _frame.ToUser(column);
    }

    /// <summary>The state of coefficients V (with the average weights they imply on the training rows).</summary>
    public GatingState StateOf(double[] v) => new(v, AverageWeights(v));

    /// <summary>V from the user's per-component coefficients; component 0 must be the zero reference.</summary>
    public double[] FromCoefficients(IReadOnlyList<RegressionParameters> coefficients)
    {
        int p = Size, k0 = Components;
        if (coefficients.Count != k0)
            throw new ArgumentException($"{coefficients.Count} gating coefficient records given; the mixture has {k0} components.");
        var first = coefficients[0];
        if (first.Intercept != 0 || first.Slopes.Any(s => s != 0))
            throw new ArgumentException("Gating component 0 is the reference: its intercept and slopes must be 0.");
        var v = new double[p * k0];
        for (int k = 1; k < k0; k++)
        {
            var gamma = _frame.FromUser(coefficients[k].Intercept, coefficients[k].Slopes, $"Gating coefficients of component {k}");
            for (int j = 0; j < p; j++) v[j * k0 + k] = gamma[j];
        }
        return v;
    }

    /// <summary>V whose weights are <paramref name="weights"/> everywhere: intercepts log(π_k / π_0), slopes 0.</summary>
    public double[] FromWeights(IReadOnlyList<double> weights)
    {
        int p = Size, k0 = Components;
        if (!(weights[0] > 0)) throw new ArgumentException("A gated mixture's initial weight of component 0 (the reference) must be > 0.");
        var v = new double[p * k0];
        for (int k = 1; k < k0; k++)
        {
            if (!(weights[k] > 0)) throw new ArgumentException($"A gated mixture's initial weights must be > 0; component {k} has {weights[k]}.");
            v[k] = Math.Log(weights[k] / weights[0]);
        }
        return v;
    }
}
