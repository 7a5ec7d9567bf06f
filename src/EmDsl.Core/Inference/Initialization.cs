using System.Collections.Immutable;
using EmDsl.Building;

namespace EmDsl.Inference;

/// <summary>How an EM run chooses its first parameters.</summary>
public abstract record Initialization
{
    private protected Initialization() { }

    /// <summary>
    /// Seeded k-means++ on the standardised columns the model reads, refined by up to
    /// <paramref name="lloydIterations"/> Lloyd iterations; the hard clusters become the first
    /// responsibilities, from which an M-step gives the first parameters. Each restart reseeds.
    /// <para>
    /// The D² seeding (K passes) runs on a seeded uniform sample of <paramref name="seedingRows"/> rows (null: max(20·K·D,
    /// 10 000), D the columns clustered; never more than 4·10⁶ values, so very wide data is seeded whole), the Lloyd
    /// iterations on every row; data with no more rows than that is seeded whole, as is every row with
    /// <c>int.MaxValue</c>. On 10⁶ rows this takes the seeding from 8 passes over the data to one over 10 000 rows, and
    /// the fits it starts end as well (README, performance: final log-likelihoods over seeds, sampled against whole).
    /// </para>
    /// <para>
    /// For a hidden Markov model the clusters label the steps — renamed to fit a transition structure with
    /// structural zeros; a left-to-right chain instead cuts each sequence into K consecutive segments (evenly for the
    /// first run, at random points for later restarts) — and the start is softened (0.9 on the label, 0.1 spread over
    /// all states), so that no emission probability starts at exactly 0. The first initial distribution and
    /// transition matrix count the labels' starts and transitions plus one pseudo-count per allowed entry, so that no
    /// allowed transition starts at zero, where EM would keep it.
    /// </para>
    /// </summary>
    public static Initialization KMeansPlusPlus(int lloydIterations = 10, int? seedingRows = null) =>
        lloydIterations < 0
            ? throw new ArgumentOutOfRangeException(nameof(lloydIterations), lloydIterations, "Lloyd iterations must be ≥ 0.")
            : seedingRows is < 1
                ? throw new ArgumentOutOfRangeException(nameof(seedingRows), seedingRows, "Seeding rows must be ≥ 1 (or null for the default).")
                : new KMeansPlusPlusInitialization(lloydIterations, seedingRows);

    /// <summary>
    /// The default (<see cref="FitOptions.Initialization"/>): <see cref="RandomPartitions"/> with its defaults for a
    /// mixture whose components read a regression block (a response given covariates) or that has a gating network
    /// (a mixture of experts), and <see cref="KMeansPlusPlus"/> with its defaults for every other model, hidden Markov
    /// models included. k-means++ clusters the columns a model reads, so for a regression mixture it partitions by the
    /// response and covariates rather than by the regression lines, and from there EM often ends at a poor local
    /// maximum; random partitions with short EM runs do not depend on that geometry.
    /// </summary>
    public static Initialization Auto { get; } = new AutoInitialization();

    /// <summary>
    /// "emEM" starts for mixtures (Biernacki, Celeux &amp; Govaert 2003): <paramref name="candidates"/> random
    /// partitions of the rows into K classes of equal size (within one row; rows of zero sample weight get a random
    /// label), each turned into first parameters by an M-step and run for at most <paramref name="shortIterations"/>
    /// EM iterations; the candidate with the highest objective is then run on to convergence as the restart's run
    /// (its objective trace begins at that candidate's first parameters, and the diagnostics keep only its events).
    /// Each of <see cref="FitOptions.Restarts"/> restarts draws its own candidates from <see cref="FitOptions.Seed"/>
    /// and the restart's index, so the fit is the same, bit for bit, on any thread count.
    /// <para>
    /// The default start of regression mixtures and mixtures of experts (<see cref="Auto"/>), as random partitions are
    /// flexmix's and mixtools' default starts. Not available for hidden Markov models.
    /// </para>
    /// </summary>
    /// <param name="candidates">Random partitions tried per restart (≥ 1; default 10).</param>
    /// <param name="shortIterations">EM iterations given to each candidate before they are compared (≥ 0; default 10).</param>
    public static Initialization RandomPartitions(int candidates = 10, int shortIterations = 10) =>
        candidates < 1
            ? throw new ArgumentOutOfRangeException(nameof(candidates), candidates, "Candidates must be ≥ 1.")
            : shortIterations < 0
                ? throw new ArgumentOutOfRangeException(nameof(shortIterations), shortIterations, "Short iterations must be ≥ 0.")
                : new RandomPartitionsInitialization(candidates, shortIterations);

    /// <summary>Starts from given responsibilities (rows × K, non-negative, each row summing to 1): the first step is an M-step.</summary>
    public static Initialization FromResponsibilities(double[,] responsibilities)
    {
        ArgumentNullException.ThrowIfNull(responsibilities);
        return new ResponsibilityInitialization((double[,])responsibilities.Clone());
    }

    /// <summary>
    /// Starts from given parameters: the mixing weights here (for a hidden Markov model, the initial distribution),
    /// and each block's per-component parameters added with <see cref="ParameterInitialization.With{TParameters}"/>.
    /// Every block of the model must be given. A hidden Markov model's transition matrix is added with
    /// <see cref="ParameterInitialization.WithTransitions"/> (uniform over the allowed transitions when omitted).
    /// </summary>
    public static ParameterInitialization FromParameters(IEnumerable<double> weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        return new ParameterInitialization(weights.ToImmutableArray(), ImmutableDictionary<string, (Block, object)>.Empty);
    }

    /// <summary>
    /// Starts from the parameters of an earlier fit of a model with the same blocks and number of states: a mixture
    /// or a hidden Markov model. A mixture fit can start a hidden Markov model (its weights become the initial
    /// distribution, the transitions start uniform) and a hidden Markov fit a mixture (its initial distribution
    /// becomes the weights).
    /// </summary>
    public static Initialization FromFit(ModelFit fit)
    {
        ArgumentNullException.ThrowIfNull(fit);
        return new FitInitialization(fit);
    }
}

internal sealed record KMeansPlusPlusInitialization(int LloydIterations, int? SeedingRows = null) : Initialization;

internal sealed record AutoInitialization : Initialization;

internal sealed record RandomPartitionsInitialization(int Candidates, int ShortIterations) : Initialization;

internal sealed record ResponsibilityInitialization(double[,] Responsibilities) : Initialization;

internal sealed record FitInitialization(ModelFit Fit) : Initialization;

/// <summary>Initial parameters: mixing weights and, per block, one parameter record per component.</summary>
public sealed record ParameterInitialization : Initialization
{
    internal ParameterInitialization(ImmutableArray<double> weights, ImmutableDictionary<string, (Block Block, object Components)> blocks,
        ImmutableArray<RegressionParameters>? gating = null, double[,]? transitions = null)
    {
        Weights = weights;
        BlockParameters = blocks;
        GatingCoefficients = gating;
        _transitions = transitions;
    }

    private readonly double[,]? _transitions;

    /// <summary>For a hidden Markov model: the initial transition matrix (a copy; row i: from state i), or null for uniform rows over the allowed transitions.</summary>
    public double[,]? Transitions => (double[,]?)_transitions?.Clone();

    internal double[,]? TransitionsInternal => _transitions;

    /// <summary>
    /// For a mixture of experts: the gating coefficients, one record per component, component 0 the all-zero
    /// reference; null starts the gating from intercepts log(π_k / π_0) and zero slopes.
    /// </summary>
    public ImmutableArray<RegressionParameters>? GatingCoefficients { get; }

    /// <summary>π: the mixing weights, or a hidden Markov model's initial distribution.</summary>
    public ImmutableArray<double> Weights { get; }

    internal ImmutableDictionary<string, (Block Block, object Components)> BlockParameters { get; }

    /// <summary>Adds one block's parameters, one record per component in component order.</summary>
    public ParameterInitialization With<TParameters>(Block<TParameters> block, IEnumerable<TParameters> components)
    {
        ArgumentNullException.ThrowIfNull(block);
        ArgumentNullException.ThrowIfNull(components);
        return WithUntyped(block, components.ToImmutableArray());
    }

    /// <summary>Adds the gating coefficients of a mixture of experts (see <see cref="GatingCoefficients"/>).</summary>
    public ParameterInitialization WithGating(IEnumerable<RegressionParameters> coefficients)
    {
        ArgumentNullException.ThrowIfNull(coefficients);
        return new(Weights, BlockParameters, coefficients.ToImmutableArray(), _transitions);
    }

    /// <summary>Adds a hidden Markov model's initial transition matrix (K × K, rows summing to 1; zeros where the structure forbids a transition).</summary>
    public ParameterInitialization WithTransitions(double[,] transitions)
    {
        ArgumentNullException.ThrowIfNull(transitions);
        return new(Weights, BlockParameters, GatingCoefficients, (double[,])transitions.Clone());
    }

    internal ParameterInitialization WithUntyped(Block block, object components) =>
        new(Weights, BlockParameters.SetItem(block.Name, (block, components)), GatingCoefficients, _transitions);
}
