using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families.Priors;
using EmDsl.Numerics;

namespace EmDsl.Inference;

/// <summary>
/// The EM loop: E-step (a pass over the data) → objective → convergence test → M-step, for each restart,
/// keeping the run with the best final objective. The objective is log p(X | θ) + log p(θ); after an exact
/// E-step it equals the ELBO, so EM never lowers it (seed 000); a decrease beyond rounding is recorded.
/// </summary>
internal static class EmRunner
{
    public static MixtureFit Fit(MixtureModel model, DataMatrix data, FitOptions options, IReadOnlyList<double>? sampleWeights,
        IProgress<FitProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(data);
        options.Validate();
        var weights = ValidateWeights(sampleWeights, data.Rows);
        int usable = weights is null ? data.Rows : weights.Count(w => w > 0);
        if (model.Components > usable)
            throw new ArgumentException(
                $"K = {model.Components} components, but the data has only {usable} row{(usable == 1 ? "" : "s")}{(weights is null ? "" : " with positive weight")}; K must not exceed the number of rows.");
        var compiled = CompiledMixture.Create(model, data, weights);
        var logBase = compiled.LogBaseMeasure(data);
        var log = new EventLog();
        var run = new Run(compiled, data, weights, logBase, options, log, progress, cancellationToken);

        int restarts = options.Initialization is KMeansPlusPlusInitialization ? options.Restarts : 1;
        RunResult? best = null;
        int bestIndex = 0;
        var objectives = new List<double>();
        for (int r = 0; r < restarts; r++)
        {
            log.Restart = r;
            log.Iteration = 0;
            var result = run.Execute(r);
            objectives.Add(result.Objective);
            if (best is null || result.Objective > best.Objective) { best = result; bestIndex = r; }
        }
        var diagnostics = new FitDiagnostics(log.Events, log.Truncated, objectives, bestIndex, ComputeBackend.Name, best!.EmptyComponents);
        return new MixtureFit(compiled, best.State, best.Trace, best.Iterations, best.Converged, best.LogLikelihood, best.LogPrior,
            run.TotalWeight, diagnostics);
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

    private sealed record RunResult(ModelState State, List<double> Trace, int Iterations, bool Converged,
        double Objective, double LogLikelihood, double LogPrior, int[] EmptyComponents);

    /// <summary>Everything shared by the restarts of one fit.</summary>
    private sealed class Run
    {
        private readonly CompiledMixture _model;
        private readonly DataMatrix _data;
        private readonly double[]? _weights;
        private readonly double[] _logBase;
        private readonly FitOptions _options;
        private readonly EventLog _log;
        private readonly IProgress<FitProgress>? _progress;
        private readonly CancellationToken _cancel;
        private readonly MStepContext _context;
        private readonly double[]? _responsibilities;

        public Run(CompiledMixture model, DataMatrix data, double[]? weights, double[] logBase, FitOptions options, EventLog log,
            IProgress<FitProgress>? progress, CancellationToken cancel)
        {
            _model = model;
            _data = data;
            _weights = weights;
            _logBase = logBase;
            _options = options;
            _log = log;
            _progress = progress;
            _cancel = cancel;
            TotalWeight = weights?.Sum() ?? data.Rows;
            _context = new MStepContext(options, log, options.EmptyComponentThreshold * TotalWeight);
            _responsibilities = model.NeedsResponsibilities ? new double[data.Rows * model.Components] : null;
        }

        public double TotalWeight { get; }

        private int K => _model.Components;

        public RunResult Execute(int restart)
        {
            var state = Initialize(restart);
            var trace = new List<double>();
            var empty = new bool[K];
            double previous = double.NaN;
            bool converged = false;
            int iteration = 0;
            Summary summary;
            double logPrior;
            while (true)
            {
                _log.Iteration = iteration;
                summary = EStep(state);
                if (_responsibilities is not null) _context.Responsibilities = _responsibilities;
                logPrior = LogPrior(state);
                double objective = summary.LogLikelihood + logPrior;
                if (!double.IsFinite(objective))
                    throw new InvalidOperationException(
                        $"The objective became {objective} at iteration {iteration} (log-likelihood {summary.LogLikelihood}, log prior {logPrior}). This is a bug in EmDsl; please report it with the data.");
                trace.Add(objective);
                double change = iteration == 0 ? double.NaN : (objective - previous) / TotalWeight;
                _progress?.Report(new FitProgress(restart, iteration, objective, change));
                if (iteration > 0 && previous - objective > MStepContext.NegligibleLoss(previous))
                    _log.Add(FitEventKind.ObjectiveDecreased, null, null, $"objective fell from {previous:G17} to {objective:G17}");
                TrackEmpty(summary, empty);
                if (iteration > 0 && Math.Abs(change) <= _options.Tolerance) { converged = true; break; }
                if (iteration >= _options.MaxIterations) break;
                state = MStep(summary, state);
                previous = objective;
                iteration++;
            }
            var emptyList = Enumerable.Range(0, K).Where(k => empty[k]).ToArray();
            return new RunResult(state, trace, iteration, converged, trace[^1], summary.LogLikelihood, logPrior, emptyList);
        }

        private void TrackEmpty(Summary summary, bool[] empty)
        {
            for (int k = 0; k < K; k++)
            {
                bool now = summary.Counts[k] <= _context.EmptyMass;
                if (now && !empty[k])
                    _log.Add(FitEventKind.ComponentEmptied, null, k,
                        $"total responsibility {summary.Counts[k]:G3} ≤ {_context.EmptyMass:G3}; its parameters are frozen and its weight is {(_model.Model.WeightPrior is null ? "0" : "the prior's mode")}");
                empty[k] = now;
            }
        }

        private Summary EStep(ModelState state)
        {
            var summary = _model.Pass(_data, _logBase, _weights, state, new CompiledMixture.PassOutputs { Responsibilities = _responsibilities }, _options, _cancel);
            if (_responsibilities is not null) WeighResponsibilities(_responsibilities);
            return summary;
        }

        /// <summary>Multiplies each row's responsibilities by its sample weight (what the M-steps sum over).</summary>
        private void WeighResponsibilities(double[] r)
        {
            if (_weights is null) return;
            for (int i = 0; i < _weights.Length; i++)
                for (int k = 0; k < K; k++) r[i * K + k] *= _weights[i];
        }

        private double LogPrior(ModelState state)
        {
            double lp = _model.Model.WeightPrior?.LogDensity(state.Weights) ?? 0;
            if (state.Gating is not null) lp += _model.Gating!.LogPrior(state.Gating);
            for (int b = 0; b < _model.Blocks.Length; b++) lp += _model.Blocks[b].LogPrior(state.Blocks[b]);
            return lp;
        }

        public ModelState MStep(Summary summary, ModelState? previous)
        {
            double[] weights;
            double[]? gating = null;
            if (_model.Gating is { } g)
            {
                gating = g.MStep(_context.Responsibilities!, summary.Counts, previous?.Gating, _context);
                weights = g.AverageWeights(gating);
            }
            else weights = WeightMStep(summary.Counts, _model.Model.WeightPrior);
            var blocks = new BlockState[_model.Blocks.Length];
            for (int b = 0; b < blocks.Length; b++)
            {
                var rt = _model.Blocks[b];
                blocks[b] = rt.MStep(summary.BlockStatistics(_model.Offset(b), rt.StatisticCount), summary.Counts, previous?.Blocks[b], _context);
            }
            return new ModelState(weights, blocks, gating);
        }

        private static double[] WeightMStep(double[] counts, DirichletPrior? prior)
        {
            var w = new double[counts.Length];
            if (prior is not null) prior.PosteriorMode(counts, w);
            else
            {
                double total = counts.Sum();
                for (int k = 0; k < w.Length; k++) w[k] = counts[k] / total;
            }
            return w;
        }

        private ModelState Initialize(int restart)
        {
            switch (_options.Initialization)
            {
                case KMeansPlusPlusInitialization km:
                {
                    var random = new Random(unchecked(_options.Seed * 1_000_003 + restart));
                    var columns = _model.Blocks.SelectMany(b => b.Columns.ToArray().Concat(b.Block.Covariates))
                        .Concat(_model.Model.Gating?.Covariates ?? []).Distinct().Order().ToArray();
                    var labels = KMeansPlusPlus.Cluster(_data, columns, _weights, K, random, km.LloydIterations, _cancel);
                    var r = new double[_data.Rows * K];
                    for (int i = 0; i < labels.Length; i++) r[i * K + labels[i]] = 1;
                    return FromResponsibilities(r);
                }
                case ResponsibilityInitialization ri:
                    return FromResponsibilities(ValidateResponsibilities(ri.Responsibilities));
                case ParameterInitialization pi:
                    return FromParameters(pi);
                case FitInitialization fi:
                    return FromFit(fi.Fit);
                default:
                    throw new ArgumentException($"Unknown initialisation {_options.Initialization}.");
            }
        }

        private ModelState FromResponsibilities(double[] r)
        {
            if (_responsibilities is not null)
            {
                r.CopyTo(_responsibilities, 0);
                WeighResponsibilities(_responsibilities);
                _context.Responsibilities = _responsibilities;
            }
            var summary = _model.Pass(_data, _logBase, _weights, null, new CompiledMixture.PassOutputs { FixedResponsibilities = r }, _options, _cancel);
            return MStep(summary, null);
        }

        private double[] ValidateResponsibilities(double[,] given)
        {
            if (given.GetLength(0) != _data.Rows || given.GetLength(1) != K)
                throw new ArgumentException($"Initial responsibilities are {given.GetLength(0)}×{given.GetLength(1)}; expected {_data.Rows}×{K} (rows × components).");
            var r = new double[_data.Rows * K];
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
            if (w.Length != K) throw new ArgumentException($"{w.Length} initial weights were given; the mixture has {K} components.");
            for (int k = 0; k < K; k++)
                if (!(w[k] >= 0) || double.IsInfinity(w[k])) throw new ArgumentException($"Initial weight of component {k} is {w[k]}; weights must be finite and ≥ 0.");
            double total = w.Sum();
            if (Math.Abs(total - 1) > 1e-6) throw new ArgumentException($"Initial weights sum to {total}; they must sum to 1.");
            var blocks = new BlockState[_model.Blocks.Length];
            for (int b = 0; b < blocks.Length; b++)
            {
                var rt = _model.Blocks[b];
                if (!init.BlockParameters.TryGetValue(rt.Name, out var entry))
                    throw new ArgumentException($"Initial parameters for block '{rt.Name}' are missing; give every block's parameters with .With(block, ...).");
                if (!ReferenceEquals(entry.Block, rt.Block) && entry.Block.Family.GetType() != rt.Family.GetType())
                    throw new ArgumentException($"Initial parameters for block '{rt.Name}' were given for a different family ({entry.Block.Family.Name}).");
                blocks[b] = rt.FromParameters(((System.Collections.IEnumerable)entry.Components).Cast<object>().ToArray());
            }
            var unknown = init.BlockParameters.Keys.Except(_model.Blocks.Select(b => b.Name)).ToArray();
            if (unknown.Length > 0) throw new ArgumentException($"Initial parameters name block(s) the model does not have: {string.Join(", ", unknown)}.");
            var weights = w.Select(v => v / total).ToArray();
            if (_model.Gating is not { } g)
            {
                if (init.GatingCoefficients is not null) throw new ArgumentException("Initial gating coefficients were given, but the model has no gating network.");
                return new ModelState(weights, blocks);
            }
            var v = init.GatingCoefficients is { } c ? g.FromCoefficients(c) : g.FromWeights(weights);
            return new ModelState(g.AverageWeights(v), blocks, v);
        }

        private ModelState FromFit(MixtureFit fit)
        {
            if (fit.Model.Components != K) throw new ArgumentException($"The earlier fit has {fit.Model.Components} components; this model has {K}.");
            var init = Initialization.FromParameters(fit.Weights);
            foreach (var b in _model.Blocks)
            {
                var match = fit.Model.Blocks.FirstOrDefault(o => o.Name == b.Name)
                    ?? throw new ArgumentException($"The earlier fit has no block '{b.Name}'.");
                init = init.WithUntyped(match, fit.UsualParameters(match));
            }
            if (fit.GatingCoefficients.Count > 0 && _model.Gating is not null) init = init.WithGating(fit.GatingCoefficients);
            return FromParameters(init);
        }
    }
}
