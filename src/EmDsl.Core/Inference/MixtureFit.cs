using EmDsl.Numerics;
using EmDsl.Building;
using EmDsl.Data;

namespace EmDsl.Inference;

/// <summary>A sample drawn from a fitted mixture: the rows and the component each came from.</summary>
/// <param name="Data">Sampled rows with the model's columns (columns no block reads are 0), named as the training data's were when the model reads columns by name.</param>
/// <param name="Components">The component of each row.</param>
public sealed record MixtureSample(DataMatrix Data, IReadOnlyList<int> Components);

/// <summary>
/// The result of fitting a <see cref="MixtureModel"/>: the mixing weights (or gating), the blocks' parameters in
/// their usual form, the objective and free-energy traces, convergence, diagnostics, and predictions.
/// Immutable; safe to share between threads.
/// </summary>
public sealed class MixtureFit : ModelFit
{
    internal MixtureFit(CompiledModel compiled, EngineResult result) : base(compiled, result) { }

    /// <summary>The model that was fitted.</summary>
    public MixtureModel Model => (MixtureModel)Compiled.Model;

    /// <summary>
    /// Mixing weights π_k (they sum to one). For a mixture of experts, whose weights depend on covariates, these are
    /// the gating probabilities averaged over the training rows (weighted); see <see cref="GatingCoefficients"/>.
    /// </summary>
    public IReadOnlyList<double> Weights => State.Latent switch
    {
        WeightsState w => w.Weights,
        GatingState g => g.Weights,
        _ => throw new InvalidOperationException("A mixture fit without mixture weights."),
    };

    /// <summary>
    /// The gating network's coefficients of a mixture of experts, one record per component (intercept and one slope
    /// per gating covariate; component 0 is the all-zero reference), or an empty list when the weights are constants.
    /// </summary>
    public IReadOnlyList<RegressionParameters> GatingCoefficients =>
        State.Latent is GatingState g
            ? Enumerable.Range(0, Model.Components).Select(k => ((GatedLabelRuntime)Compiled.Latent).Coefficients(g.Coefficients, k)).ToArray()
            : [];

    /// <summary>Number of free parameters (see <see cref="MixtureModel.FreeParameterCount"/>), less those held fixed by <see cref="FitOptions.Frozen"/>.</summary>
    public override int FreeParameterCount => Model.FreeParameterCount - FrozenParameterCount;

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
        data = Align(data);
        Compiled.Validate(data);
        logDensity = new double[data.Rows];
        var r = responsibilities ? new double[ArraySize.Product(data.Rows, Model.Components, () => $"The responsibilities of {data.Rows:N0} rows × {Model.Components} components")] : null;
        Compiled.Pass(data, [], null, null, State,
            new CompiledModel.PassOutputs { Responsibilities = r, LogDensity = logDensity, Accumulate = false },
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
        var rows = new double[ArraySize.Argument(count, columns, nameof(count), () => $"Sampling {count:N0} rows × {columns:N0} columns")];
        var labels = new int[count];
        var buffer = new double[Compiled.Blocks.Max(b => b.Dimension)];
        var weights = Weights;
        for (int i = 0; i < count; i++)
        {
            double u = random.NextDouble(), c = 0;
            int k = k0 - 1;
            for (int j = 0; j < k0; j++)
            {
                c += weights[j];
                if (u < c) { k = j; break; }
            }
            while (weights[k] == 0) k--; // rounding at the top end never lands on an empty component
            labels[i] = k;
            foreach (var block in Compiled.Blocks)
            {
                var x = buffer.AsSpan(0, block.Dimension);
                block.Sample(State.Blocks[Array.IndexOf(Compiled.Blocks, block)], k, random, x);
                for (int j = 0; j < x.Length; j++) rows[i * columns + block.Columns[j]] = x[j];
            }
        }
        return new MixtureSample(DataMatrix.Wrap(rows, count, columns, SampleColumnNames(columns)), labels);
    }

    /// <summary>
    /// A summary in the manner of R's <c>print</c>: the model's declaration, the weights and each block's parameters
    /// in tables (rows: parameters, columns: components), then the log-likelihood, log prior, objective, iterations,
    /// status, free parameters, BIC, AIC and the diagnostics. Culture-invariant.
    /// </summary>
    public override string ToString() => FitSummary.Of(this);
}
