using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Numerics;

namespace EmDsl.Inference;

/// <summary>
/// The EM loop, for every latent structure: E-step (a pass over the data) → objective and free energy →
/// convergence test → M-step → free energy, for each restart, keeping the run with the best final objective.
/// <para>
/// The objective is log p(X | θ) + log p(θ). The free energy F(q, θ) = E_q[log p(x, z | θ)] + H[q] + log p(θ) is
/// computed after each half-step from the statistics alone: the latent structure's E_q[log p(z | θ)], each block's
/// E_q[log p(x | z, θ)] − log h (in a well-conditioned form), Σ log h, the posterior's entropy and the log prior.
/// After the E-step it equals the objective (the E-step closes the gap; seed 000); the M-step never lowers it; so
/// the objective never falls. A fall of either beyond rounding is recorded, never hidden.
/// </para>
/// </summary>
internal static partial class EmEngine
{
    /// <summary>Fits a mixture (constant weights or a gating network) to independent rows.</summary>
    public static MixtureFit FitMixture(MixtureModel model, DataMatrix data, FitOptions options, IReadOnlyList<double>? sampleWeights,
        IProgress<FitProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(data);
        options.Validate();
        var weights = ValidateWeights(sampleWeights, data.Rows);
        RequireEnoughRows(model.Components, "components", data.Rows, weights);
        model = model.Resolve(data); // blocks declared by name read the data's columns of those names
        CompiledModel.CheckMissing(model, data, options.MissingValues, chain: false);
        var compiled = CompiledModel.Create(model, LatentOf(model, data, weights), data, weights, options.MissingValues);
        var result = new Run(compiled, data, [0, data.Rows], weights, options, progress, cancellationToken).Execute();
        return new MixtureFit(compiled, result);
    }

    /// <summary>The latent structure of a mixture: constant weights, or a gating network over the data's covariates.</summary>
    internal static LatentRuntime LatentOf(MixtureModel model, DataMatrix data, double[]? weights) =>
        model.Gating is null
            ? new MixtureLabelRuntime(model.Components, model.WeightPrior)
            : new GatedLabelRuntime(model.Gating, model.Components, data, weights);

    /// <summary>Fits a hidden Markov model to sequences.</summary>
    public static HiddenMarkovFit FitHiddenMarkov(HiddenMarkovModel model, SequenceData data, FitOptions options, IReadOnlyList<double>? sequenceWeights,
        IProgress<FitProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(data);
        options.Validate();
        var rowWeights = SequenceRowWeights(sequenceWeights, data);
        // k-means++ needs a step per state; from given parameters a chain may have more states than steps.
        if (options.Initialization is KMeansPlusPlusInitialization or AutoInitialization) RequireEnoughRows(model.States, "states", data.Steps, rowWeights);
        model = model.Resolve(data.Data); // blocks declared by name read the data's columns of those names
        CompiledModel.CheckMissing(model, data.Data, options.MissingValues, chain: true);
        var compiled = CompiledModel.Create(model, new MarkovChainRuntime(model), data.Data, rowWeights, options.MissingValues);
        var result = new Run(compiled, data.Data, data.Starts, rowWeights, options, progress, cancellationToken).Execute();
        return new HiddenMarkovFit(compiled, result);
    }

    private static void RequireEnoughRows(int k, string what, int rows, double[]? weights)
    {
        int usable = weights is null ? rows : weights.Count(w => w > 0);
        if (k > usable)
            throw new ArgumentException(
                $"K = {k} {what}, but the data has only {usable} row{(usable == 1 ? "" : "s")}{(weights is null ? "" : " with positive weight")}; K must not exceed the number of rows.");
    }

    internal static double[]? ValidateWeights(IReadOnlyList<double>? weights, int rows)
    {
        if (weights is null) return null;
        if (weights.Count != rows)
            throw new ArgumentException($"{weights.Count} sample weights were given for {rows} rows; give one weight per row.", nameof(weights));
        var w = weights.ToArray();
        for (int i = 0; i < w.Length; i++)
            if (!(w[i] >= 0) || double.IsInfinity(w[i]))
                throw new ArgumentException($"Sample weight of row {i} is {(double.IsNaN(w[i]) ? "NaN" : double.IsPositiveInfinity(w[i]) ? "+∞" : w[i])}; weights must be finite and ≥ 0.", nameof(weights));
        if (!(w.Sum() > 0)) throw new ArgumentException("Every sample weight is zero; at least one row must count.", nameof(weights));
        return w;
    }

    /// <summary>One weight per sequence, checked, spread over the sequence's rows (null without weights).</summary>
    private static double[]? SequenceRowWeights(IReadOnlyList<double>? weights, SequenceData data)
    {
        if (weights is null) return null;
        if (weights.Count != data.Count)
            throw new ArgumentException($"{weights.Count} sequence weights were given for {data.Count} sequences; give one weight per sequence.", nameof(weights));
        var rows = new double[data.Steps];
        double total = 0;
        for (int s = 0; s < data.Count; s++)
        {
            double w = weights[s];
            if (!(w >= 0) || double.IsInfinity(w))
                throw new ArgumentException($"The weight of sequence {s} is {w}; weights must be finite and ≥ 0.", nameof(weights));
            rows.AsSpan(data.StartOf(s), data.Lengths[s]).Fill(w);
            total += w;
        }
        if (!(total > 0)) throw new ArgumentException("Every sequence weight is zero; at least one sequence must count.", nameof(weights));
        return rows;
    }

    /// <summary>Everything shared by the restarts of one fit.</summary>
    private sealed class Run
    {
        private readonly CompiledModel _model;
        private readonly DataMatrix _data;
        private readonly int[] _sequences;
        private readonly double[]? _weights;
        private readonly double[]? _logBase;
        private readonly FitOptions _options;
        private readonly EventLog _log = new();
        private readonly IProgress<FitProgress>? _progress;
        private readonly CancellationToken _cancel;
        private readonly MStepContext _context;
        private readonly Initialization _start;
        /// <summary>Known states per row (−1 unknown), or null.</summary>
        private readonly int[]? _labels;
        /// <summary>What <see cref="FitOptions.Frozen"/> holds fixed, checked against the model.</summary>
        private readonly FrozenSet _frozen;
        /// <summary>A streamed source whose passes are the E-steps; <see cref="_data"/> is then its start sample.</summary>
        private readonly StreamedData? _stream;

        public Run(CompiledModel model, DataMatrix data, int[] sequences, double[]? weights, FitOptions options,
            IProgress<FitProgress>? progress, CancellationToken cancel, StreamedData? stream = null)
        {
            _stream = stream;
            _model = model;
            _data = data;
            _sequences = sequences;
            _weights = weights;
            _options = options;
            _progress = progress;
            _cancel = cancel;
            // log h per row, unless every block's is a constant and the rows are independent: then each pass adds it per chunk
            // (no array of the data's length).
            _logBase = model.LogBaseIsConstant && !data.HasMissingValues && model.Latent.RowsIndependent ? null : model.LogBaseMeasure(data);
            TotalWeight = weights?.Sum() ?? stream?.Rows ?? data.Rows;
            _context = new MStepContext(options, _log, options.EmptyComponentThreshold * TotalWeight);
            _start = Resolve(options.Initialization, model);
            // (Over a stream, data is the start sample, whose row numbers are not the source's: no report there.)
            var (empty, first) = stream is null ? model.RowsWithoutObservations(data) : (0, []);
            if (empty > 0)
                _log.Add(FitEventKind.RowsWithoutObservations, null, null,
                    $"{empty} row{(empty == 1 ? " has" : "s have")} every column of the model missing (row{(first.Length == 1 ? "" : "s")} {string.Join(", ", first)}{(empty > first.Length ? ", ..." : "")}); they contribute nothing to the fit");
            if (_start is RandomPartitionsInitialization && model.Latent is MarkovChainRuntime)
                throw new ArgumentException("Initialization.RandomPartitions starts mixtures; a hidden Markov model starts from Initialization.KMeansPlusPlus (its default), given parameters or an earlier fit.");
            _labels = ValidateLabels(options.KnownLabels);
            _frozen = FrozenSet.Resolve(options.Frozen, model);
        }

        private string RowWord => _model.Latent is MarkovChainRuntime ? "step" : "row";

        /// <summary>The known labels as an array, checked against the rows and K (null when none are given).</summary>
        private int[]? ValidateLabels(IReadOnlyList<int>? known)
        {
            if (known is null) return null;
            if (known.Count != _data.Rows)
                throw new ArgumentException(
                    $"{known.Count} known labels were given for {_data.Rows} {RowWord}s; give one per {RowWord}, −1 where the state is unknown.", nameof(FitOptions.KnownLabels));
            var labels = known.ToArray();
            for (int i = 0; i < labels.Length; i++)
                if (labels[i] < -1 || labels[i] >= K)
                    throw new ArgumentException(
                        $"The known label of {RowWord} {i} is {labels[i]}; a label must be −1 (unknown) or a state 0…{K - 1} (the model has {Count(K)}).", nameof(FitOptions.KnownLabels));
            return labels.Any(l => l >= 0) ? labels : null;
        }

        private double TotalWeight { get; }

        private int K => _model.States;

        /// <summary>"components" for a mixture, "states" for a hidden Markov model (with the count).</summary>
        private string Count(int k) => $"{k} {(_model.Latent is MarkovChainRuntime ? (k == 1 ? "state" : "states") : (k == 1 ? "component" : "components"))}";

        private sealed record RunResult(ModelState State, List<double> Trace, List<FreeEnergyPoint> FreeEnergy, int Iterations, FitStatus Status,
            double Objective, double LogLikelihood, double LogPrior, int[] EmptyComponents, IReadOnlyList<string> Stalled);

        /// <summary>Runs every restart and returns the best.</summary>
        public EngineResult Execute()
        {
            int restarts = _start is KMeansPlusPlusInitialization or RandomPartitionsInitialization ? _options.Restarts : 1;
            RunResult? best = null;
            int bestIndex = 0;
            var objectives = new List<double>();
            for (int r = 0; r < restarts; r++)
            {
                _log.Restart = r;
                _log.Iteration = 0;
                var result = Execute(r);
                objectives.Add(result.Objective);
                if (best is null || result.Objective > best.Objective) { best = result; bestIndex = r; }
            }
            var diagnostics = new FitDiagnostics(_log.Events, _log.Truncated, objectives, bestIndex, ComputeBackend.Name, best!.EmptyComponents, best.Stalled,
                _context.FlooredEstimates, _context.InvalidCandidates);
            return new EngineResult(best.State, best.Trace.ToArray(), best.FreeEnergy.ToArray(), best.Iterations, best.Status,
                best.LogLikelihood, best.LogPrior, TotalWeight, diagnostics) { FrozenParameterCount = _frozen.Count };
        }

        /// <summary>The start <see cref="Initialization.Auto"/> stands for with this model.</summary>
        private static Initialization Resolve(Initialization start, CompiledModel model) =>
            start is not AutoInitialization ? start
            : model.Latent is not MarkovChainRuntime && (model.Latent is GatedLabelRuntime || model.Blocks.Any(b => b.Block.Covariates.Count > 0))
                ? Initialization.RandomPartitions()
                : Initialization.KMeansPlusPlus();

        private RunResult Execute(int restart)
        {
            Path path;
            if (_start is RandomPartitionsInitialization rp)
            {
                path = BestShortRun(restart, rp);
                if (_progress is not null)
                    for (int i = 0; i < path.Trace.Count; i++)
                        _progress.Report(new FitProgress(restart, i, path.Trace[i], i == 0 ? double.NaN : (path.Trace[i] - path.Trace[i - 1]) / TotalWeight));
            }
            else
            {
                path = new Path(Initialize(restart), K);
                Evaluate(path, restart, report: true);
            }
            Advance(path, restart, int.MaxValue, report: true);
            var emptyList = Enumerable.Range(0, K).Where(k => path.Empty[k]).ToArray();
            return new RunResult(path.State, path.Trace, path.FreeEnergy, path.Iteration, path.Status!.Value, path.Trace[^1], path.Summary!.LogLikelihood,
                path.LogPrior, emptyList, path.Status == FitStatus.Stalled ? path.Stalled : []);
        }

        /// <summary>
        /// emEM: the candidates' random partitions, each run for the short iterations (or to convergence); the one with
        /// the highest objective, whose events alone are kept.
        /// </summary>
        private Path BestShortRun(int restart, RandomPartitionsInitialization rp)
        {
            var random = new Random(unchecked(_options.Seed * 1_000_003 + restart));
            Path? best = null;
            List<FitEvent>? bestEvents = null;
            for (int c = 0; c < rp.Candidates; c++)
            {
                _cancel.ThrowIfCancellationRequested();
                int mark = _log.Count;
                _log.Iteration = 0;
                var path = new Path(FromLabels(RandomPartition(random)), K);
                Evaluate(path, restart, report: false);
                Advance(path, restart, rp.ShortIterations, report: false);
                var events = _log.TakeSince(mark);
                if (best is null || path.Trace[^1] > best.Trace[^1]) { best = path; bestEvents = events; }
            }
            _log.AddRange(bestEvents!);
            return best!;
        }

        /// <summary>
        /// Labels 0…K−1 for the rows: the rows of positive weight shuffled and dealt out in turn, so that the classes'
        /// sizes differ by at most one; a row of zero weight gets a uniformly random label.
        /// </summary>
        private int[] RandomPartition(Random random)
        {
            int n = _data.Rows;
            var labels = new int[n];
            var order = new List<int>(n);
            for (int i = 0; i < n; i++)
                if (_weights is null || _weights[i] > 0) order.Add(i);
                else labels[i] = random.Next(K);
            for (int i = order.Count - 1; i > 0; i--)
            {
                int j = random.Next(i + 1);
                (order[i], order[j]) = (order[j], order[i]);
            }
            for (int i = 0; i < order.Count; i++) labels[order[i]] = i % K;
            return labels;
        }

        /// <summary>One EM path: the current parameters, the traces, and what the convergence test needs.</summary>
        private sealed class Path(ModelState state, int k)
        {
            public ModelState State = state;
            public readonly List<double> Trace = [];
            public readonly List<FreeEnergyPoint> FreeEnergy = [];
            public readonly bool[] Empty = new bool[k];
            public double Previous = double.NaN, AfterE, AfterM = double.NaN, NextPrior = double.NaN, LogPrior;
            public IReadOnlyList<string> Stalled = [];
            public int Iteration;
            public Summary? Summary;
            public FitStatus? Status;
        }

        /// <summary>
        /// M-step, then E-step and convergence test, until the path stops (converged, stalled, or at
        /// <see cref="FitOptions.MaxIterations"/>) or has done <paramref name="limit"/> M-steps.
        /// </summary>
        private void Advance(Path p, int restart, int limit, bool report)
        {
            while (p.Status is null && p.Iteration < limit)
            {
                _log.Iteration = p.Iteration;
                _context.BeginMStep();
                var next = MStep(p.Summary!, p.State);
                p.Stalled = _context.Stalled;
                p.NextPrior = LogPrior(next);
                p.AfterM = FreeEnergy(p.Summary!, next, p.NextPrior);
                p.FreeEnergy.Add(new FreeEnergyPoint(p.Iteration, HalfStep.Maximization, p.AfterM));
                if (p.AfterE - p.AfterM > MStepContext.NegligibleLoss(p.AfterE))
                    _log.Add(FitEventKind.FreeEnergyDecreased, null, null,
                        $"the M-step lowered the free energy from {p.AfterE:G17} to {p.AfterM:G17}: some M-step does not maximise its expected complete-data objective");
                p.State = next;
                p.Previous = p.Trace[^1];
                p.Iteration++;
                Evaluate(p, restart, report);
            }
        }

        /// <summary>The E-step at the path's parameters: objective, free energy, events, and the convergence test.</summary>
        private void Evaluate(Path p, int restart, bool report)
        {
            int iteration = p.Iteration;
            _log.Iteration = iteration;
            p.Summary = EStep(p.State);
            p.LogPrior = iteration == 0 ? LogPrior(p.State) : p.NextPrior; // computed with the M-step's free energy
            double objective = p.Summary.LogLikelihood + p.LogPrior;
            if (!double.IsFinite(objective))
                throw new InvalidOperationException(
                    $"The objective became {objective} at iteration {iteration} (log-likelihood {p.Summary.LogLikelihood}, log prior {p.LogPrior}). This is a bug in EmDsl; please report it with the data.");
            double afterE = FreeEnergy(p.Summary, p.State, p.LogPrior);
            p.AfterE = afterE;
            p.Trace.Add(objective);
            p.FreeEnergy.Add(new FreeEnergyPoint(iteration, HalfStep.Expectation, afterE));
            double change = iteration == 0 ? double.NaN : (objective - p.Previous) / TotalWeight;
            if (report) _progress?.Report(new FitProgress(restart, iteration, objective, change));
            if (iteration > 0 && p.Previous - objective > MStepContext.NegligibleLoss(p.Previous))
                _log.Add(FitEventKind.ObjectiveDecreased, null, null, $"objective fell from {p.Previous:G17} to {objective:G17}");
            if (iteration > 0 && p.AfterM - afterE > MStepContext.NegligibleLoss(p.AfterM))
                _log.Add(FitEventKind.FreeEnergyDecreased, null, null,
                    $"the E-step lowered the free energy from {p.AfterM:G17} to {afterE:G17}: the blocks' statistics disagree with the E-step's log-likelihood, or the computation ran out of digits (a covariance whose condition number nears 1/ε, say)");
            TrackEmpty(p.Summary, p.Empty);
            bool settled = iteration > 0 && Math.Abs(change) <= _options.Tolerance;
            if (settled && !_options.RunAllIterations)
                p.Status = p.Stalled.Count > 0 ? FitStatus.Stalled : FitStatus.Converged;
            else if (iteration >= _options.MaxIterations)
                p.Status = !settled ? FitStatus.IterationLimit : p.Stalled.Count > 0 ? FitStatus.Stalled : FitStatus.Converged;
        }

        private double FreeEnergy(Summary summary, ModelState state, double logPrior) => _model.FreeEnergy(summary, state, logPrior);

        private void TrackEmpty(Summary summary, bool[] empty)
        {
            var counts = summary.Latent.Counts;
            for (int k = 0; k < K; k++)
            {
                bool now = counts[k] <= _context.EmptyMass;
                if (now && !empty[k])
                    _log.Add(FitEventKind.ComponentEmptied, null, k,
                        $"total responsibility {counts[k]:G3} ≤ {_context.EmptyMass:G3}; its parameters are frozen");
                empty[k] = now;
            }
        }

        private Summary EStep(ModelState state) =>
            _stream is not null ? _model.StreamPass(_stream, state, _options, _cancel) :
            _model.Pass(_data, _sequences, _logBase, _weights, state, new CompiledModel.PassOutputs { KnownLabels = _labels }, _options, _cancel);

        private double LogPrior(ModelState state) => _model.LogPrior(state);

        /// <summary>New parameters from the statistics, the frozen ones kept after the start (see <see cref="CompiledModel.MStep"/>).</summary>
        private ModelState MStep(Summary summary, ModelState? previous) => _model.MStep(summary, previous, _context, _frozen);

        // ---------------------------------------------------------------- starts

        private ModelState Initialize(int restart)
        {
            switch (_start)
            {
                case KMeansPlusPlusInitialization km:
                {
                    var random = new Random(unchecked(_options.Seed * 1_000_003 + restart));
                    var columns = _model.Blocks.SelectMany(b => b.Columns.ToArray().Concat(b.Block.Covariates))
                        .Concat(_model.Latent.Covariates).Distinct().Order().ToArray();
                    var labels = _model.Latent.StartLabels(
                        () => KMeansPlusPlus.Cluster(_data, columns, _weights, K, random, km.LloydIterations, _cancel, _options.MaxDegreeOfParallelism, km.SeedingRows), _sequences, random, restart);
                    if (_labels is not null) labels = AgreeWithKnown(labels);
                    if (_model.Latent is not MarkovChainRuntime) return FromLabels(labels);
                    var r = new double[ArraySize.Product(_data.Rows, K, () => $"The responsibilities of {_data.Rows:N0} rows × {K} components")];
                    _model.Latent.StartPosterior(labels, r);
                    return FromResponsibilities(r);
                }
                case ResponsibilityInitialization ri:
                    return FromResponsibilities(ValidateResponsibilities(ri.Responsibilities));
                case ParameterInitialization pi:
                    return FromParameters(pi);
                case FitInitialization fi:
                    return FromFit(fi.Fit);
                default:
                    throw new ArgumentException($"Unknown initialisation {_start}.");
            }
        }

        /// <summary>
        /// The first estimate from hard labels of independent rows (a mixture's start), labelled rows taking their known
        /// label: each chunk's one-hot posterior is made as the chunk is processed, so no rows × K array is held.
        /// </summary>
        private ModelState FromLabels(int[] labels)
        {
            if (_labels is not null)
                for (int i = 0; i < labels.Length; i++)
                    if (_labels[i] >= 0) labels[i] = _labels[i];
            var summary = _model.Pass(_data, _sequences, _logBase, _weights, null, new CompiledModel.PassOutputs { FixedLabels = labels }, _options, _cancel);
            return MStep(summary, null);
        }

        private ModelState FromResponsibilities(double[] r)
        {
            if (_labels is not null) FixKnown(r);
            var summary = _model.Pass(_data, _sequences, _logBase, _weights, null, new CompiledModel.PassOutputs { FixedResponsibilities = r }, _options, _cancel);
            return MStep(summary, null);
        }

        /// <summary>Sets the posterior of every labelled row to its label (one-hot).</summary>
        private void FixKnown(double[] r)
        {
            for (int i = 0; i < _labels!.Length; i++)
                if (_labels[i] >= 0)
                {
                    var row = r.AsSpan(i * K, K);
                    row.Clear();
                    row[_labels[i]] = 1;
                }
        }

        /// <summary>
        /// Renumbers start clusters to agree with the known labels: the pairs (cluster, label) are taken greedily by how
        /// many labelled rows they share, largest first (ties: lower cluster, then lower label); clusters left over take
        /// the labels left over in order. Deterministic.
        /// </summary>
        private int[] AgreeWithKnown(int[] clusters)
        {
            var shared = new long[K, K];
            for (int i = 0; i < clusters.Length; i++)
                if (_labels![i] >= 0) shared[clusters[i], _labels[i]]++;
            var map = Enumerable.Repeat(-1, K).ToArray();
            var taken = new bool[K];
            var pairs = new List<(long Count, int Cluster, int Label)>();
            for (int c = 0; c < K; c++)
                for (int l = 0; l < K; l++)
                    if (shared[c, l] > 0) pairs.Add((shared[c, l], c, l));
            foreach (var (_, c, l) in pairs.OrderByDescending(p => p.Count).ThenBy(p => p.Cluster).ThenBy(p => p.Label))
                if (map[c] < 0 && !taken[l]) { map[c] = l; taken[l] = true; }
            int next = 0;
            for (int c = 0; c < K; c++)
                if (map[c] < 0)
                {
                    while (taken[next]) next++;
                    map[c] = next;
                    taken[next] = true;
                }
            return clusters.Select(c => map[c]).ToArray();
        }

        private double[] ValidateResponsibilities(double[,] given)
        {
            if (given.GetLength(0) != _data.Rows || given.GetLength(1) != K)
                throw new ArgumentException($"Initial responsibilities are {given.GetLength(0)}×{given.GetLength(1)}; expected {_data.Rows}×{K} (rows × components).");
            var r = new double[ArraySize.Product(_data.Rows, K, () => $"The responsibilities of {_data.Rows:N0} rows × {K} components")];
            for (int i = 0; i < _data.Rows; i++)
            {
                double sum = 0;
                for (int k = 0; k < K; k++)
                {
                    double v = given[i, k];
                    if (!(v >= 0) || double.IsInfinity(v))
                        throw new ArgumentException($"Initial responsibility of row {i}, component {k} is {v}; it must be finite and ≥ 0.");
                    r[i * K + k] = v;
                    sum += v;
                }
                if (Math.Abs(sum - 1) > 1e-6)
                    throw new ArgumentException($"Initial responsibilities of row {i} sum to {sum}; each row must sum to 1.");
            }
            return r;
        }

        private ModelState FromParameters(ParameterInitialization init)
        {
            var w = init.Weights;
            string what = _model.Latent is MarkovChainRuntime ? "initial-state probabilities" : "initial weights";
            if (w.Length != K) throw new ArgumentException($"{w.Length} {what} were given; the model has {Count(K)}.");
            for (int k = 0; k < K; k++)
                if (!(w[k] >= 0) || double.IsInfinity(w[k])) throw new ArgumentException($"Initial weight of component {k} is {w[k]}; weights must be finite and ≥ 0.");
            double total = w.Sum();
            if (Math.Abs(total - 1) > 1e-6) throw new ArgumentException($"The {what} sum to {total}; they must sum to 1.");
            var blocks = new BlockState[_model.Blocks.Length];
            for (int b = 0; b < blocks.Length; b++)
            {
                var rt = _model.Blocks[b];
                if (!init.BlockParameters.TryGetValue(rt.Name, out var entry))
                    throw new ArgumentException($"Initial parameters for block '{rt.Name}' are missing; give every block's parameters with .With(block, ...).");
                if (!ReferenceEquals(entry.Block, rt.Block) && entry.Block.Family.GetType() != rt.Family.GetType())
                    throw new ArgumentException($"Initial parameters for block '{rt.Name}' were given for a different family ({entry.Block.Family.Name}).");
                var records = ((System.Collections.IEnumerable)entry.Components).Cast<object>().ToArray();
                if (records.Length != K)
                    throw new ArgumentException($"Block '{rt.Name}': {records.Length} initial parameter records given; the model has {Count(K)}.");
                blocks[b] = rt.FromParameters(records);
            }
            var unknown = init.BlockParameters.Keys.Except(_model.Blocks.Select(b => b.Name)).ToArray();
            if (unknown.Length > 0) throw new ArgumentException($"Initial parameters name block(s) the model does not have: {string.Join(", ", unknown)}.");
            var weights = w.Select(v => v / total).ToArray();
            if (init.GatingCoefficients is not null && _model.Latent is not GatedLabelRuntime)
                throw new ArgumentException("Initial gating coefficients were given, but the model has no gating network.");
            if (init.TransitionsInternal is not null && _model.Latent is not MarkovChainRuntime)
                throw new ArgumentException("An initial transition matrix was given, but the model is not a hidden Markov model.");
            LatentState latent = _model.Latent switch
            {
                GatedLabelRuntime g => g.StateOf(init.GatingCoefficients is { } c ? g.FromCoefficients(c) : g.FromWeights(weights)),
                MarkovChainRuntime m => m.FromParameters(w, init.TransitionsInternal),
                _ => new WeightsState(weights),
            };
            return new ModelState(latent, blocks);
        }

        private ModelState FromFit(ModelFit fit)
        {
            if (fit.States != K)
                throw new ArgumentException($"The earlier fit has {fit.States} {(fit is HiddenMarkovFit ? "states" : "components")}; this model has {Count(K)}.");
            var start = fit switch
            {
                MixtureFit m => m.Weights,
                HiddenMarkovFit h => h.InitialProbabilities,
                _ => throw new ArgumentException($"Cannot start from a {fit.GetType().Name}."),
            };
            var init = Initialization.FromParameters(start);
            foreach (var b in _model.Blocks)
            {
                var match = fit.Blocks.FirstOrDefault(o => o.Name == b.Name)
                    ?? throw new ArgumentException($"The earlier fit has no block '{b.Name}'.");
                init = init.WithUntyped(match, fit.UsualParameters(match));
            }
            if (fit is MixtureFit mf && mf.GatingCoefficients.Count > 0 && _model.Latent is GatedLabelRuntime) init = init.WithGating(mf.GatingCoefficients);
            if (fit is HiddenMarkovFit hf && _model.Latent is MarkovChainRuntime && ((HiddenMarkovModel)_model.Model).FixedInternal is null)
                init = init.WithTransitions(hf.TransitionMatrix);
            return FromParameters(init);
        }
    }
}
