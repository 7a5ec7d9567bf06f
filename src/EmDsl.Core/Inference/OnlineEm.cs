using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;

namespace EmDsl.Inference;

/// <summary>
/// Incremental (Neal–Hinton) and stepwise (Cappé–Moulines, Liang–Klein) EM over a streamed source, from a start made
/// like a streamed batch fit's (<see cref="EmEngine.StreamStart"/>). See <see cref="OnlineMethod"/> for the methods.
/// </summary>
internal sealed class OnlineEm
{
    private readonly CompiledModel _model;
    private readonly StreamedData _stream;
    private readonly OnlineEmOptions _online;
    private readonly FitOptions _options;
    private readonly IProgress<FitProgress>? _progress;
    private readonly CancellationToken _cancel;
    private readonly EventLog _log = new();
    private readonly MStepContext _context;
    private readonly FrozenSet _frozen;
    private readonly int _batch;
    private readonly List<double> _trace = [];
    private readonly List<FreeEnergyPoint> _freeEnergy = [];
    private ModelState _state;
    private int _steps;

    private OnlineEm(CompiledModel model, StreamedData stream, EngineResult start, OnlineEmOptions online, FitOptions options,
        IProgress<FitProgress>? progress, CancellationToken cancel)
    {
        _model = model;
        _stream = stream;
        _online = online;
        _options = options;
        _progress = progress;
        _cancel = cancel;
        _state = start.State;
        _batch = Math.Min(online.BatchRows, stream.Rows);
        _context = new MStepContext(options, _log, options.EmptyComponentThreshold * stream.Rows);
        _frozen = FrozenSet.Resolve(options.Frozen, model);
        _trace.Add(start.Trace[0]);
        foreach (var e in start.Diagnostics.Events) _log.AddRange([e]);
    }

    /// <summary>Fits <paramref name="model"/> to <paramref name="source"/> by online or incremental EM.</summary>
    public static MixtureFit Fit(MixtureModel model, DataSource source, OnlineEmOptions online, FitOptions options, IProgress<FitProgress>? progress,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(online);
        online.Validate();
        var (compiled, stream, start) = EmEngine.StreamStart(model, source, options, cancellationToken);
        var run = new OnlineEm(compiled, stream, start, online, options, progress, cancellationToken);
        return new MixtureFit(compiled, run.Execute(start.Diagnostics));
    }

    private int K => _model.States;

    private EngineResult Execute(FitDiagnostics startDiagnostics)
    {
        _progress?.Report(new FitProgress(0, 0, _trace[0], double.NaN));
        if (_online.Method == OnlineMethod.Incremental) Incremental();
        else Stepwise();
        var final = _model.StreamPass(_stream, _state, _options, _cancel);
        double logPrior = LogPrior(_state);
        var empty = Enumerable.Range(0, K).Where(k => final.Latent.Counts[k] <= _context.EmptyMass).ToArray();
        var diagnostics = new FitDiagnostics(_log.Events, _log.Truncated, [_trace[^1]], 0, Numerics.ComputeBackend.Name, empty, [],
            _context.FlooredEstimates + startDiagnostics.FlooredEstimates, _context.InvalidCandidates + startDiagnostics.InvalidCandidates);
        return new EngineResult(_state, _trace.ToArray(), _freeEnergy.ToArray(), _steps, FitStatus.IterationLimit,
            final.LogLikelihood, logPrior, _stream.Rows, diagnostics) { FrozenParameterCount = _frozen.Count };
    }

    /// <summary>After a pass: the objective over the whole data (one more pass), when asked for or after the last pass.</summary>
    private void EndOfPass(int pass, bool last)
    {
        if (!_online.EvaluateEachPass && !last) return;
        var summary = _model.StreamPass(_stream, _state, _options, _cancel);
        double objective = summary.LogLikelihood + LogPrior(_state);
        if (!double.IsFinite(objective))
            throw new InvalidOperationException($"The objective became {objective} after pass {pass}. This is a bug in EmDsl; please report it with the data.");
        double previous = _trace[^1];
        _trace.Add(objective);
        _progress?.Report(new FitProgress(0, pass, objective, (objective - previous) / _stream.Rows));
    }

    // ---------------------------------------------------------------- incremental EM

    private void Incremental()
    {
        int parts = (_stream.Rows + _batch - 1) / _batch;
        var stored = new Summary[parts];
        // The full E-step under the start, storing each part's statistics, and the first M-step.
        foreach (var (index, chunk) in Batches(-1)) stored[index] = _model.SummariseChunk(chunk, _state, _batch);
        var total = Total(stored, _state);
        double f = FreeEnergy(total, _state);
        Record(HalfStep.Expectation, f, double.NaN);
        f = MStep(total, f);
        EndOfPass(1, false);
        for (int pass = 2; pass <= _online.Passes + 1; pass++)
        {
            foreach (var (index, chunk) in Batches(pass))
            {
                _cancel.ThrowIfCancellationRequested();
                stored[index] = _model.SummariseChunk(chunk, _state, _batch); // replaces the part's old contribution
                total = Total(stored, _state);
                double afterE = FreeEnergy(total, _state);
                Record(HalfStep.Expectation, afterE, f);
                f = MStep(total, afterE);
            }
            EndOfPass(pass, pass == _online.Passes + 1);
        }
    }

    /// <summary>Σ of the stored parts in part order, every Gaussian part first rebased (in place) to the centres of <paramref name="state"/>.</summary>
    private Summary Total(Summary[] parts, ModelState state)
    {
        var total = _model.NewSummary(state);
        foreach (var part in parts)
        {
            RebaseTo(part, total);
            total.Add(part);
        }
        return total;
    }

    /// <summary>Re-expresses <paramref name="part"/>'s per-state Gaussian moments about <paramref name="target"/>'s centres.</summary>
    private void RebaseTo(Summary part, Summary target)
    {
        for (int b = 0; b < _model.Blocks.Length; b++)
            if (part.Blocks[b] is ComponentStatistics { Centres: { } mine } stats && target.Blocks[b] is ComponentStatistics { Centres: { } theirs }
                && !Same(mine, theirs))
                stats.Rebase(theirs, _model.Blocks[b].Family is GaussianFamily g ? g.Structure : CovarianceStructure.Full);
    }

    private static bool Same(IReadOnlyList<double>[] a, IReadOnlyList<double>[] b)
    {
        for (int k = 0; k < a.Length; k++)
            if (!ReferenceEquals(a[k], b[k]) && !a[k].SequenceEqual(b[k])) return false;
        return true;
    }

    // ---------------------------------------------------------------- stepwise EM

    private void Stepwise()
    {
        Summary? average = null;
        int updates = 0;
        for (int pass = 1; pass <= _online.Passes; pass++)
        {
            foreach (var (_, chunk) in Batches(pass))
            {
                _cancel.ThrowIfCancellationRequested();
                var batch = _model.SummariseChunk(chunk, _state, _batch);
                Scale(batch, 1.0 / chunk.Rows);
                if (average is null) average = batch;
                else
                {
                    double rho = Math.Pow(++updates + _online.T0, -_online.Alpha);
                    RebaseTo(average, batch);
                    Scale(average, 1 - rho);
                    Scale(batch, rho);
                    average.Add(batch);
                }
                var scaled = _model.NewSummary(_state);
                RebaseTo(average, scaled);
                scaled.Add(average);
                Scale(scaled, _stream.Rows);
                _context.BeginMStep();
                _state = MStepOf(scaled);
                _steps++;
            }
            EndOfPass(pass, pass == _online.Passes);
        }
    }

    private static void Scale(Summary summary, double factor)
    {
        summary.Latent.Scale(factor);
        foreach (var b in summary.Blocks) b.Scale(factor);
        summary.LogLikelihood *= factor;
        summary.Entropy *= factor;
        summary.LogBase *= factor;
        summary.Weight *= factor;
    }

    // ---------------------------------------------------------------- the data, a mini-batch at a time

    /// <summary>
    /// The source's mini-batches (index, rows) in order, or, with shuffling (and <paramref name="pass"/> ≥ 1), in a
    /// seeded random order within windows of consecutive mini-batches. The chunks share buffers: use each before the next.
    /// </summary>
    private IEnumerable<(int Index, DataChunk Chunk)> Batches(int pass)
    {
        var source = _stream.Source;
        int d = source.Columns, n = _stream.Rows;
        bool shuffle = _online.ShufflePerPass && pass >= 1;
        int window = shuffle ? _online.ShuffleWindow : 1;
        var buffers = new double[window][];
        var rows = new int[window];
        var firsts = new int[window];
        var random = shuffle ? new Random(unchecked(_options.Seed * 1_000_003 + 7_777 * pass)) : null;
        using var reader = source.OpenReader();
        int row = 0;
        while (row < n)
        {
            int count = 0;
            for (; count < window && row < n; count++)
            {
                buffers[count] ??= new double[_batch * d];
                int want = Math.Min(_batch, n - row);
                StreamedData.ReadPassRows(reader, buffers[count], want, row, n, source);
                rows[count] = want;
                firsts[count] = row;
                row += want;
            }
            var order = Enumerable.Range(0, count).ToArray();
            if (random is not null) random.Shuffle(order);
            foreach (int c in order)
                yield return (firsts[c] / _batch, new DataChunk(buffers[c].AsMemory(0, rows[c] * d), firsts[c], rows[c], d, _stream.HasMissing));
        }
    }

    // ---------------------------------------------------------------- M-step and free energy

    /// <summary>The M-step on <paramref name="total"/>, recording the free energy after it; returns it.</summary>
    private double MStep(Summary total, double before)
    {
        _context.BeginMStep();
        var next = MStepOf(total);
        _state = next;
        _steps++;
        double after = FreeEnergy(total, next);
        Record(HalfStep.Maximization, after, before);
        return after;
    }

    private ModelState MStepOf(Summary summary) => _model.MStep(summary, _state, _context, _frozen);

    private void Record(HalfStep step, double value, double previous)
    {
        _freeEnergy.Add(new FreeEnergyPoint(_steps, step, value));
        if (previous - value > MStepContext.NegligibleLoss(previous))
            _log.Add(FitEventKind.FreeEnergyDecreased, null, null,
                $"the {(step == HalfStep.Expectation ? "partial E-step" : "M-step")} of incremental EM lowered the free energy from {previous:G17} to {value:G17}");
    }

    /// <summary>F(q, θ) = E_q[log p(x, z | θ)] + H[q] + Σ log h + log p(θ), from the statistics gathered under q.</summary>
    private double FreeEnergy(Summary summary, ModelState state) => _model.FreeEnergy(summary, state, LogPrior(state));

    private double LogPrior(ModelState state) => _model.LogPrior(state);
}
