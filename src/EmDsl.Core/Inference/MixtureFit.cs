using EmDsl.Building;
using EmDsl.Data;

namespace EmDsl.Inference;

/// <summary>A sample drawn from a fitted mixture: the rows and the component each came from.</summary>
/// <param name="Data">Sampled rows with the model's columns (columns no block reads are 0).</param>
/// <param name="Components">The component of each row.</param>
public sealed record MixtureSample(DataMatrix Data, IReadOnlyList<int> Components);

/// <summary>
/// The result of fitting a <see cref="MixtureModel"/>: parameters in their usual form, the objective trace
/// (log-likelihood plus log prior at every iteration), convergence, diagnostics, and predictions.
/// Immutable; safe to share between threads.
/// </summary>
public sealed class MixtureFit
{
    private readonly CompiledMixture _compiled;
    private readonly ModelState _state;
    private readonly double[] _trace;

    internal MixtureFit(CompiledMixture compiled, ModelState state, List<double> trace, int iterations, bool converged,
        double logLikelihood, double logPrior, double totalWeight, FitDiagnostics diagnostics)
    {
        _compiled = compiled;
        _state = state;
        _trace = trace.ToArray();
        Iterations = iterations;
        Converged = converged;
        LogLikelihood = logLikelihood;
        LogPrior = logPrior;
        TotalWeight = totalWeight;
        Diagnostics = diagnostics;
    }

    /// <summary>The model that was fitted.</summary>
    public MixtureModel Model => _compiled.Model;

    /// <summary>
    /// Mixing weights π_k (they sum to one). For a mixture of experts, whose weights depend on covariates, these are
    /// the gating probabilities averaged over the training rows (weighted); see <see cref="GatingCoefficients"/>.
    /// </summary>
    public IReadOnlyList<double> Weights => _state.Weights;

    /// <summary>
    /// The gating network's coefficients of a mixture of experts, one record per component (intercept and one slope
    /// per gating covariate; component 0 is the all-zero reference), or an empty list when the weights are constants.
    /// </summary>
    public IReadOnlyList<RegressionParameters> GatingCoefficients =>
        _state.Gating is null ? [] : Enumerable.Range(0, Model.Components).Select(k => _compiled.Gating!.Coefficients(_state.Gating, k)).ToArray();

    /// <summary>The fitted parameters of <paramref name="block"/>, one record per component (identical records for a shared block).</summary>
    /// <exception cref="ArgumentException">The block is not part of this model.</exception>
    public IReadOnlyList<TParameters> Parameters<TParameters>(Block<TParameters> block)
    {
        int b = IndexOf(block);
        return ((BlockRuntime<TParameters>)_compiled.Blocks[b]).Parameters(_state.Blocks[b]);
    }

    /// <summary>
    /// The fitted parameters of the block named <paramref name="blockName"/>, untyped (each element is the
    /// block family's parameter record), for code that holds blocks only as <see cref="Block"/>.
    /// </summary>
    /// <exception cref="ArgumentException">No block has that name.</exception>
    public IReadOnlyList<object> Parameters(string blockName)
    {
        var block = Model.Blocks.FirstOrDefault(b => b.Name == blockName)
            ?? throw new ArgumentException($"The model has no block named '{blockName}' (its blocks: {string.Join(", ", Model.Blocks.Select(x => x.Name))}).", nameof(blockName));
        return UsualParameters(block).Cast<object>().ToArray();
    }

    internal Array UsualParameters(Block block) => _state.Blocks[IndexOf(block)].Usual;

    private int IndexOf(Block block)
    {
        ArgumentNullException.ThrowIfNull(block);
        for (int b = 0; b < _compiled.Blocks.Length; b++)
        {
            var mine = _compiled.Blocks[b].Block;
            if (ReferenceEquals(mine, block) ||
                (mine.Name == block.Name && mine.Family.GetType() == block.Family.GetType() && mine.Columns.SequenceEqual(block.Columns)))
                return b;
        }
        throw new ArgumentException($"Block '{block.Name}' is not part of this model (its blocks: {string.Join(", ", Model.Blocks.Select(x => x.Name))}).", nameof(block));
    }

    /// <summary>Objective log p(X | θ) + log p(θ) at the initial parameters and after every M-step.</summary>
    public IReadOnlyList<double> ObjectiveTrace => _trace;

    /// <summary>Final objective: <see cref="LogLikelihood"/> + <see cref="LogPrior"/>.</summary>
    public double Objective => _trace[^1];

    /// <summary>Final log p(X | θ) = Σ_n w_n log Σ_k π_k p(x_n | θ_k).</summary>
    public double LogLikelihood { get; }

    /// <summary>Final log p(θ) (0 without priors).</summary>
    public double LogPrior { get; }

    /// <summary>M-steps done in the returned run.</summary>
    public int Iterations { get; }

    /// <summary>Whether the returned run met <see cref="FitOptions.Tolerance"/> before <see cref="FitOptions.MaxIterations"/>.</summary>
    public bool Converged { get; }

    /// <summary>Σ_n w_n: the number of rows without sample weights.</summary>
    public double TotalWeight { get; }

    /// <summary>Events, restarts and the backend used.</summary>
    public FitDiagnostics Diagnostics { get; }

    /// <summary>Number of free parameters (see <see cref="MixtureModel.FreeParameterCount"/>).</summary>
    public int FreeParameterCount => Model.FreeParameterCount;

    /// <summary>BIC on the training data: −2 log p(X | θ) + p log N, with N the total sample weight. Lower is better.</summary>
    public double BayesianInformationCriterion => -2 * LogLikelihood + FreeParameterCount * Math.Log(TotalWeight);

    /// <summary>AIC on the training data: −2 log p(X | θ) + 2p. Lower is better.</summary>
    public double AkaikeInformationCriterion => -2 * LogLikelihood + 2 * FreeParameterCount;

    private static readonly FitOptions PredictionOptions = FitOptions.Default;

    /// <summary>p(z = k | x_n) for every row: a rows × K matrix.</summary>
    public double[,] PredictProba(DataMatrix data)
    {
        var r = Evaluate(data, responsibilities: true, out _);
        int k0 = Model.Components;
        var result = new double[data.Rows, k0];
        for (int i = 0; i < data.Rows; i++)
            for (int k = 0; k < k0; k++) result[i, k] = r![i * k0 + k];
        return result;
    }

    /// <summary>The most probable component of every row (ties go to the lowest index).</summary>
    public int[] Predict(DataMatrix data)
    {
        var r = Evaluate(data, responsibilities: true, out _)!;
        int k0 = Model.Components;
        var labels = new int[data.Rows];
        for (int i = 0; i < data.Rows; i++)
        {
            int best = 0;
            for (int k = 1; k < k0; k++) if (r[i * k0 + k] > r[i * k0 + best]) best = k;
            labels[i] = best;
        }
        return labels;
    }

    /// <summary>log p(x_n | θ) for every row.</summary>
    public double[] ScoreSamples(DataMatrix data)
    {
        Evaluate(data, responsibilities: false, out var logDensity);
        return logDensity;
    }

    /// <summary>Mean log p(x_n | θ) over the rows (scikit-learn's score).</summary>
    public double Score(DataMatrix data) => ScoreSamples(data).Average();

    /// <summary>BIC of the fitted parameters on <paramref name="data"/>: −2 Σ log p(x_n) + p log(rows).</summary>
    public double Bic(DataMatrix data) => -2 * ScoreSamples(data).Sum() + FreeParameterCount * Math.Log(data.Rows);

    /// <summary>AIC of the fitted parameters on <paramref name="data"/>: −2 Σ log p(x_n) + 2p.</summary>
    public double Aic(DataMatrix data) => -2 * ScoreSamples(data).Sum() + 2 * FreeParameterCount;

    private double[]? Evaluate(DataMatrix data, bool responsibilities, out double[] logDensity)
    {
        ArgumentNullException.ThrowIfNull(data);
        _compiled.Validate(data);
        logDensity = new double[data.Rows];
        var r = responsibilities ? new double[data.Rows * Model.Components] : null;
        _compiled.Pass(data, null, null, _state,
            new CompiledMixture.PassOutputs { Responsibilities = r, LogDensity = logDensity, Accumulate = false },
            PredictionOptions, CancellationToken.None);
        return r;
    }

    /// <summary>Draws <paramref name="count"/> rows from the fitted mixture, reproducibly for a given seed.</summary>
    public MixtureSample Sample(int count, int seed = 0)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "Sample at least one row.");
        if (Model.HasCovariates)
            throw new InvalidOperationException("The model conditions on covariates (regression blocks or a gating network); drawing from it needs covariate values, which Sample does not take.");
        var random = new Random(seed);
        int columns = Model.RequiredColumns, k0 = Model.Components;
        var rows = new double[count * columns];
        var labels = new int[count];
        var buffer = new double[_compiled.MaxDimension];
        for (int i = 0; i < count; i++)
        {
            double u = random.NextDouble(), c = 0;
            int k = k0 - 1;
            for (int j = 0; j < k0; j++)
            {
                c += _state.Weights[j];
                if (u < c) { k = j; break; }
            }
            while (_state.Weights[k] == 0) k--; // rounding at the top end never lands on an empty component
            labels[i] = k;
            foreach (var block in _compiled.Blocks)
            {
                var x = buffer.AsSpan(0, block.Dimension);
                block.Sample(_state.Blocks[Array.IndexOf(_compiled.Blocks, block)], k, random, x);
                for (int j = 0; j < x.Length; j++) rows[i * columns + block.Columns[j]] = x[j];
            }
        }
        return new MixtureSample(DataMatrix.Wrap(rows, count, columns), labels);
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"{Model.Components}-component mixture fit: objective {Objective:G10} after {Iterations} iterations ({(Converged ? "converged" : "not converged")}), " +
        $"weights [{string.Join(", ", Weights.Select(w => w.ToString("G4")))}]";
}
