using EmDsl.Numerics;
using EmDsl.Building;
using EmDsl.Data;

namespace EmDsl.Inference;

/// <summary>Sequences drawn from a fitted hidden Markov model: the observations and the hidden state of every step.</summary>
/// <param name="Data">The sampled sequences (columns no block reads are 0).</param>
/// <param name="States">The hidden state path of each sequence.</param>
public sealed record HiddenMarkovSample(SequenceData Data, IReadOnlyList<int[]> States);

/// <summary>
/// The result of fitting a <see cref="HiddenMarkovModel"/>: the initial distribution, the transition matrix, the
/// emission blocks' parameters per state, the objective and free-energy traces, convergence and diagnostics; and,
/// on any sequences, the most probable state paths (Viterbi), the posterior state marginals, per-sequence
/// log-likelihoods, information criteria, and sampling. Immutable; safe to share between threads.
/// </summary>
public sealed class HiddenMarkovFit : ModelFit
{
    private static readonly FitOptions PredictionOptions = FitOptions.Default;

    internal HiddenMarkovFit(CompiledModel compiled, EngineResult result) : base(compiled, result) { }

    /// <summary>The model that was fitted.</summary>
    public HiddenMarkovModel Model => (HiddenMarkovModel)Compiled.Model;

    private MarkovState Chain => (MarkovState)State.Latent;

    /// <summary>π: π_i = p(z_1 = i).</summary>
    public IReadOnlyList<double> InitialProbabilities => Chain.Initial;

    /// <summary>A (a copy): A[i, j] = p(z_{t+1} = j | z_t = i); each row sums to 1, structural zeros are 0.</summary>
    public double[,] TransitionMatrix
    {
        get
        {
            int k = States;
            var a = new double[k, k];
            for (int i = 0; i < k; i++)
                for (int j = 0; j < k; j++) a[i, j] = Chain.Transitions[i * k + j];
            return a;
        }
    }

    /// <summary>Free parameters (see <see cref="HiddenMarkovModel.FreeParameterCount"/>), less those held fixed by <see cref="FitOptions.Frozen"/>.</summary>
    public override int FreeParameterCount => Model.FreeParameterCount - FrozenParameterCount;

    // ---- inference on sequences ----

    /// <summary>The most probable state path of every sequence (Viterbi, in log space; ties go to the lowest state).</summary>
    public IReadOnlyList<int[]> Decode(SequenceData data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var emissions = Emissions(data);
        int k = States;
        var paths = new int[data.Count][];
        for (int s = 0; s < data.Count; s++)
        {
            int start = data.StartOf(s), length = data.Lengths[s];
            paths[s] = new int[length];
            try { Viterbi.Decode(emissions.AsSpan(start * k, length * k), length, k, Chain.Initial, Chain.Transitions, paths[s]); }
            catch (ImpossibleSequenceException e)
            {
                throw new ArgumentException($"Sequence {s}, step {e.Step} (row {start + e.Step}): no state path has positive probability under the fitted model.", nameof(data), e);
            }
        }
        return paths;
    }

    /// <summary>The most probable state path of one sequence (the rows of <paramref name="sequence"/> in order).</summary>
    public int[] Decode(DataMatrix sequence) => Decode(SequenceData.Single(sequence))[0];

    /// <summary>Posterior state marginals p(z_t = k | x) of every sequence: one steps × K matrix per sequence.</summary>
    public IReadOnlyList<double[,]> PosteriorMarginals(SequenceData data)
    {
        var (posterior, _) = Evaluate(data, marginals: true);
        int k = States;
        var result = new double[data.Count][,];
        for (int s = 0; s < data.Count; s++)
        {
            int start = data.StartOf(s), length = data.Lengths[s];
            var m = new double[length, k];
            for (int t = 0; t < length; t++)
                for (int j = 0; j < k; j++) m[t, j] = posterior![(start + t) * k + j];
            result[s] = m;
        }
        return result;
    }

    /// <summary>Posterior state marginals of one sequence (steps × K).</summary>
    public double[,] PosteriorMarginals(DataMatrix sequence) => PosteriorMarginals(SequenceData.Single(sequence))[0];

    /// <summary>log p(x⁽ˢ⁾ | θ) of every sequence (forward algorithm).</summary>
    public double[] ScoreSequences(SequenceData data) => Evaluate(data, marginals: false).LogLikelihoods;

    /// <summary>Σ_s log p(x⁽ˢ⁾ | θ) over the sequences.</summary>
    public double Score(SequenceData data) => ScoreSequences(data).Sum();

    /// <summary>log p(x | θ) of one sequence.</summary>
    public double Score(DataMatrix sequence) => ScoreSequences(SequenceData.Single(sequence))[0];

    /// <summary>BIC of the fitted parameters on <paramref name="data"/>: −2 Σ_s log p(x⁽ˢ⁾) + p log(steps).</summary>
    public double Bic(SequenceData data) => -2 * Score(data) + FreeParameterCount * Math.Log(data.Steps);

    /// <summary>AIC of the fitted parameters on <paramref name="data"/>: −2 Σ_s log p(x⁽ˢ⁾) + 2p.</summary>
    public double Aic(SequenceData data) => -2 * Score(data) + 2 * FreeParameterCount;

    private (double[]? Posterior, double[] LogLikelihoods) Evaluate(SequenceData data, bool marginals)
    {
        ArgumentNullException.ThrowIfNull(data);
        data = Aligned(data);
        Compiled.Validate(data.Data);
        var logLikelihoods = new double[data.Count];
        var posterior = marginals ? new double[ArraySize.Product(data.Steps, States, () => $"The posterior marginals of {data.Steps:N0} steps × {States} states")] : null;
        Compiled.Pass(data.Data, data.Starts, null, null, State,
            new CompiledModel.PassOutputs { Responsibilities = posterior, SequenceLogLikelihood = logLikelihoods, Accumulate = false },
            PredictionOptions, CancellationToken.None);
        return (posterior, logLikelihoods);
    }

    /// <summary>log p(x_t | z_t = k) − log h(x_t) for every step (steps × K).</summary>
    private double[] Emissions(SequenceData data)
    {
        data = Aligned(data);
        Compiled.Validate(data.Data);
        return Compiled.LogEmissions(data.Data, State, PredictionOptions);
    }

    /// <summary>The sequences with their steps in the training data's column layout (see <see cref="ModelFit"/>'s Align).</summary>
    private SequenceData Aligned(SequenceData data)
    {
        var aligned = Align(data.Data);
        return ReferenceEquals(aligned, data.Data) ? data : SequenceData.FromLengths(aligned, data.Lengths);
    }

    // ---- sampling ----

    /// <summary>Draws sequences of the given lengths from the fitted model, reproducibly for a given seed.</summary>
    /// <exception cref="InvalidOperationException">A block conditions on covariates (a regression), which sampling cannot supply.</exception>
    public HiddenMarkovSample Sample(IEnumerable<int> lengths, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(lengths);
        var l = lengths.ToArray();
        if (l.Length == 0) throw new ArgumentException("Give at least one sequence length.", nameof(lengths));
        for (int s = 0; s < l.Length; s++)
            if (l[s] < 1) throw new ArgumentOutOfRangeException(nameof(lengths), l[s], $"Sequence {s} would have length {l[s]}; every sequence needs at least one step.");
        if (Blocks.Any(b => b.CovariateCount > 0))
            throw new InvalidOperationException("The model has regression blocks; drawing their responses needs covariate values, which Sample does not take.");
        int columns = Model.RequiredColumns, k = States;
        long total = l.Sum(v => (long)v);
        var values = new double[ArraySize.Argument(total, columns, nameof(lengths), () => $"Sampling {total:N0} steps × {columns:N0} columns")];
        var random = new Random(seed);
        var paths = new int[l.Length][];
        var buffer = new double[Compiled.Blocks.Max(b => b.Dimension)];
        int row = 0;
        for (int s = 0; s < l.Length; s++)
        {
            paths[s] = new int[l[s]];
            int z = Draw(Chain.Initial, random);
            for (int t = 0; t < l[s]; t++, row++)
            {
                if (t > 0) z = Draw(Chain.Transitions.AsSpan(z * k, k), random);
                paths[s][t] = z;
                for (int b = 0; b < Compiled.Blocks.Length; b++)
                {
                    var block = Compiled.Blocks[b];
                    var x = buffer.AsSpan(0, block.Dimension);
                    block.Sample(State.Blocks[b], z, random, x);
                    for (int j = 0; j < x.Length; j++) values[(long)row * columns + block.Columns[j]] = x[j];
                }
            }
        }
        return new HiddenMarkovSample(SequenceData.FromLengths(DataMatrix.Wrap(values, (int)total, columns, SampleColumnNames(columns)), l), paths);
    }

    /// <summary>Draws one sequence of <paramref name="length"/> steps.</summary>
    public HiddenMarkovSample Sample(int length, int seed = 0) => Sample([length], seed);

    /// <summary>Inverse-CDF draw from a probability vector (never lands on a zero entry).</summary>
    private static int Draw(ReadOnlySpan<double> p, Random random)
    {
        double u = random.NextDouble(), c = 0;
        int last = -1;
        for (int j = 0; j < p.Length; j++)
        {
            if (p[j] <= 0) continue;
            last = j;
            c += p[j];
            if (u < c) return j;
        }
        return last;
    }

    /// <summary>
    /// A summary in the manner of R's <c>print</c>: the model's declaration, the initial distribution, the transition
    /// matrix and each emission block's parameters in tables (columns: states), then the log-likelihood, log prior,
    /// objective, iterations, status, free parameters, BIC, AIC and the diagnostics. Culture-invariant.
    /// </summary>
    public override string ToString() => FitSummary.Of(this);
}
