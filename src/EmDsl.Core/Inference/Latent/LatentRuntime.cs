using EmDsl.Data;
using EmDsl.Families.Priors;

namespace EmDsl.Inference;

/// <summary>The parameters of a latent structure at one iteration (weights, gating coefficients, a Markov chain's probabilities). Immutable.</summary>
internal abstract class LatentState;

/// <summary>
/// A latent structure during a fit: the distribution of the hidden states z and how the posterior over them
/// follows from the observed blocks' log-likelihoods. The engine gives it, for a set of rows, the rows × K
/// matrix of log p(x_n | z_n = k) − log h(x_n) (plus <see cref="FillBias"/> and <see cref="AddRowTerms"/>); it
/// turns that into the posterior marginals q_n(k), its own additive statistics, the log-likelihood and the entropy
/// H[q]; it owns its M-step, its part E_q[log p(z | θ)] of the free energy, and its log prior. It knows no family
/// and no block, and the blocks do not know which structure drives them.
/// <list type="bullet">
/// <item><see cref="MixtureLabelRuntime"/>: one label per row, constant weights π;</item>
/// <item><see cref="GatedLabelRuntime"/>: one label per row, weights π_k(x_n) a softmax of covariates;</item>
/// <item><see cref="MarkovChainRuntime"/>: one label per step of each sequence, a Markov chain.</item>
/// </list>
/// </summary>
internal abstract class LatentRuntime(int states)
{
    /// <summary>K.</summary>
    public int States { get; } = states;

    /// <summary>Name used in diagnostics events ("weights", "gating", "transitions").</summary>
    public abstract string Name { get; }

    /// <summary>
    /// Whether each row's posterior depends on that row alone, so that the engine can compute log-joint,
    /// posterior and statistics chunk by chunk in one pass (mixtures); false when rows are coupled (a Markov chain).
    /// </summary>
    public virtual bool RowsIndependent => true;

    /// <summary>Writes the per-state term every row's log-joint starts from (log π_k for a mixture; 0 otherwise).</summary>
    public abstract void FillBias(LatentState state, Span<double> bias);

    /// <summary>Whether the structure adds terms per row (a gating network's log π_k(x_n)).</summary>
    public virtual bool AddsRowTerms => false;

    /// <summary>Scratch per row that <see cref="AddRowTerms"/> needs.</summary>
    public virtual int ScratchPerRow => 0;

    /// <summary>Covariate columns the structure reads (a gating network's), for starts and validation.</summary>
    public virtual IReadOnlyList<int> Covariates => [];

    /// <summary>Checks that the chunk has the columns the structure reads.</summary>
    public virtual void Validate(DataChunk data) { }

    /// <summary>Adds the structure's per-row terms to the chunk's rows × K log-joint, after the blocks' terms.</summary>
    public virtual void AddRowTerms(DataChunk data, LatentState state, Span<double> logJoint, Span<double> scratch) =>
        throw new InvalidOperationException($"The {Name} add no per-row terms.");

    /// <summary>Whether the structure's statistics are the weighted posterior rows themselves (a gating network's M-step).</summary>
    public virtual bool KeepsRowPosterior => false;

    /// <summary>
    /// The labels a k-means++ start begins from: by default the clustering's (<paramref name="cluster"/>). A structure
    /// whose states have an order or forbidden moves may rename them or label the rows itself.
    /// </summary>
    /// <param name="cluster">Runs the seeded k-means++ clustering of the rows.</param>
    /// <param name="sequences">Row offsets of the sequences (a Markov chain's units).</param>
    /// <param name="random">The restart's seeded generator.</param>
    /// <param name="restart">The restart's index, from 0.</param>
    public virtual int[] StartLabels(Func<int[]> cluster, int[] sequences, Random random, int restart) => cluster();

    /// <summary>The first posterior (rows × K) from start labels: by default the labels themselves, one-hot.</summary>
    public virtual void StartPosterior(int[] labels, Span<double> posterior)
    {
        for (int i = 0; i < labels.Length; i++) posterior[i * States + labels[i]] = 1;
    }

    /// <summary>Empty statistics.</summary>
    public abstract Statistics CreateStatistics();

    /// <summary>The M-step: new parameters from the statistics (<paramref name="previous"/> null when initialising).</summary>
    public abstract LatentState MStep(Statistics statistics, LatentState? previous, MStepContext context);

    /// <summary>E_q[log p(z | θ)] from the statistics (0·log 0 = 0).</summary>
    public abstract double ExpectedLogJoint(Statistics statistics, LatentState state);

    /// <summary>log p(θ_latent) (0 without a prior).</summary>
    public abstract double LogPrior(LatentState state);

    /// <summary>
    /// n·log p for an expected count n and the probability p estimated from it, with 0·log 0 = 0 — also when p
    /// underflowed to 0 from a count below 1e-280 (p = n / total with n subnormal): the exact value n·log(n / total) is
    /// then below 1e-277 in magnitude, not −∞. A count that is not negligible against a zero probability stays −∞.
    /// </summary>
    protected static double CountLog(double count, double probability) =>
        count == 0 || (probability == 0 && count < 1e-280) ? 0 : count * Math.Log(probability);
}

/// <summary>Statistics that are only the counts R_k (a mixture label with constant weights needs nothing else).</summary>
internal sealed class CountStatistics(int states) : Statistics(states)
{
    protected override void AddCore(Statistics other) { }

    protected override void ScaleCore(double factor) { }
}

/// <summary>Constant mixing weights π and their logarithms (−∞ for an empty component under maximum likelihood).</summary>
internal sealed class WeightsState : LatentState
{
    public WeightsState(double[] weights)
    {
        Weights = weights;
        LogWeights = weights.Select(w => Math.Log(w)).ToArray();
    }

    /// <summary>π_k.</summary>
    public double[] Weights { get; }

    /// <summary>log π_k.</summary>
    public double[] LogWeights { get; }
}

/// <summary>
/// The label of a finite mixture: z_n ~ Categorical(π) independently for every row. Its statistics are the
/// counts R_k; its M-step π_k = R_k / Σ R (or the Dirichlet prior's posterior mode) is exact.
/// </summary>
internal sealed class MixtureLabelRuntime(int states, DirichletPrior? prior) : LatentRuntime(states)
{
    public override string Name => "weights";

    public DirichletPrior? Prior { get; } = prior;

    public override void FillBias(LatentState state, Span<double> bias) => ((WeightsState)state).LogWeights.CopyTo(bias);

    public override Statistics CreateStatistics() => new CountStatistics(States);

    public override LatentState MStep(Statistics statistics, LatentState? previous, MStepContext context)
    {
        var counts = statistics.Counts;
        var w = new double[counts.Length];
        if (Prior is not null) Prior.PosteriorMode(counts, w);
        else
        {
            double total = counts.Sum();
            for (int k = 0; k < w.Length; k++) w[k] = counts[k] / total;
        }
        if (previous is not null) context.TakenWithoutComparison(Name);
        return new WeightsState(w);
    }

    public override double ExpectedLogJoint(Statistics statistics, LatentState state)
    {
        var w = ((WeightsState)state).Weights;
        double q = 0;
        for (int k = 0; k < w.Length; k++) q += CountLog(statistics.Counts[k], w[k]);
        return q;
    }

    public override double LogPrior(LatentState state) => Prior?.LogDensity(((WeightsState)state).Weights) ?? 0;
}
