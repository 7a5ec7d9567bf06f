using EmDsl.Building;
using EmDsl.Optimization;

namespace EmDsl.Inference;

/// <summary>
/// Run settings of an EM fit (the model's structure lives in <see cref="MixtureModel"/>). Immutable:
/// derive variants with <c>with</c> in C# or <c>FitOptions(Seed = 3)</c> in F#.
/// </summary>
public sealed record FitOptions
{
    /// <summary>The defaults documented on each property.</summary>
    public static FitOptions Default { get; } = new();

    /// <summary>Options with every default (see each property).</summary>
    public FitOptions() { }

    /// <summary>
    /// A copy of <paramref name="original"/>; with property setters it makes a variant, which is how F# writes
    /// <c>FitOptions(existing, Seed = 3)</c> (C#: <c>existing with { Seed = 3 }</c>).
    /// </summary>
    public FitOptions(FitOptions original)
    {
        ArgumentNullException.ThrowIfNull(original);
        MaxIterations = original.MaxIterations;
        Tolerance = original.Tolerance;
        Restarts = original.Restarts;
        Seed = original.Seed;
        Initialization = original.Initialization;
        CovarianceFloor = original.CovarianceFloor;
        Floors = original.Floors;
        ProbabilityFloor = original.ProbabilityFloor;
        EmptyComponentThreshold = original.EmptyComponentThreshold;
        ChunkRows = original.ChunkRows;
        StartSampleRows = original.StartSampleRows;
        MaxDegreeOfParallelism = original.MaxDegreeOfParallelism;
        MStepOptimizer = original.MStepOptimizer;
        MissingValues = original.MissingValues;
        CheckMSteps = original.CheckMSteps;
        RunAllIterations = original.RunAllIterations;
        KnownLabels = original.KnownLabels;
        Frozen = original.Frozen;
    }

    /// <summary>Maximum number of M-steps per run (default 500). A run that reaches it is reported as not converged.</summary>
    public int MaxIterations { get; init; } = 500;

    /// <summary>
    /// Convergence tolerance (default 1e-6): a run stops when the objective, log p(X | θ) + log p(θ), changes by
    /// at most <c>Tolerance</c> per unit of sample weight (per row, without weights) between two iterations.
    /// With 0 a run stops only when the objective does not change at all (or at <see cref="MaxIterations"/>).
    /// </summary>
    public double Tolerance { get; init; } = 1e-6;

    /// <summary>
    /// Number of runs from different seeded starts (k-means++, or random partitions with short runs; see
    /// <see cref="Initialization"/>); the run with the best final objective is returned (default 1). A given starting
    /// point (parameters, responsibilities, an earlier fit) runs once.
    /// </summary>
    public int Restarts { get; init; } = 1;

    /// <summary>Seed of every random choice (k-means++ seeding, random partitions); the same seed gives the same fit, bit for bit, on any thread count.</summary>
    public int Seed { get; init; }

    /// <summary>
    /// How the first parameters are chosen (default <see cref="Initialization.Auto"/>: k-means++ for every model but
    /// regression mixtures and mixtures of experts, which start from the best of several random partitions).
    /// </summary>
    public Initialization Initialization { get; init; } = Initialization.Auto;

    /// <summary>
    /// Added to every Gaussian variance after each M-step (default 1e-6, as scikit-learn's reg_covar), so that a
    /// component on a handful of points keeps a positive-definite covariance. A linear-regression block's residual
    /// variance is kept at or above it (a floor, not an addition, so that an unconstrained fit is exact maximum
    /// likelihood). 0 turns it off: then EM is exact
    /// and a covariance that is not positive definite makes that M-step keep the previous parameters
    /// (reported in <see cref="FitDiagnostics.Events"/>).
    /// </summary>
    public double CovarianceFloor { get; init; } = 1e-6;

    /// <summary>How estimates changed by a floor are accepted (default <see cref="FloorStrategy.KeepObjectiveMonotone"/>).</summary>
    public FloorStrategy Floors { get; init; } = FloorStrategy.KeepObjectiveMonotone;

    /// <summary>
    /// Smallest probability or rate an M-step may produce for a discrete or positive family (default 1e-10):
    /// a Bernoulli probability of exactly 0 or 1, a category never seen, or a Poisson rate of 0 would have an
    /// infinite natural parameter. Estimates below the floor are raised to it. The Gamma, Beta, Dirichlet and von
    /// Mises families keep their mean statistics √floor inside their mean domain instead (bounding a shape or
    /// concentration by about 1/(2√floor), 5·10⁴ at the default; each family's ProjectMeanIntoDomain says how).
    /// </summary>
    public double ProbabilityFloor { get; init; } = 1e-10;

    /// <summary>
    /// A component is <em>empty</em> when its total responsibility falls to or below this fraction of the total
    /// sample weight (default 1e-12). Policy: an empty component's block parameters are kept as they were
    /// (nothing is estimated from no data, so no NaN can appear) — for a tied Gaussian covariance, its mean is
    /// kept and the shared covariance is estimated from the other components —, its weight follows the usual
    /// M-step (zero under maximum likelihood, so it stays empty), and the event is recorded in the diagnostics.
    /// </summary>
    public double EmptyComponentThreshold { get; init; } = 1e-12;

    /// <summary>
    /// Rows per chunk of the batched E-step; null (the default) chooses per model: 4096 rows, halved (down to 256)
    /// while the statistics the chunk's two products read exceed 640 KiB, so that they stay in the core's cache between
    /// the two (10⁶ × 8 diagonal Gaussian: 4096; full covariance, D = 8: 1024; D = 16: 512). Results agree across chunk
    /// sizes to rounding; a given chunk size gives the same bits on any number of threads.
    /// </summary>
    public int? ChunkRows { get; init; }

    /// <summary>
    /// For fits to a streamed <see cref="Data.DataSource"/> only: the size of the seeded reservoir sample (uniform
    /// over the rows, drawn in the first pass with <see cref="Seed"/>) that k-means++ and random-partition starts
    /// cluster and take their first M-step from, and whose column means are the Gaussian blocks' frames before that
    /// M-step. Null (the default) means max(20·K·D, 10 000) rows, D the source's columns; a source with no more rows
    /// than the sample size is sampled whole, so its start is the in-memory fit's. Ignored by in-memory fits.
    /// </summary>
    public int? StartSampleRows { get; init; }

    /// <summary>Maximum threads for the E-step; −1 (default) uses every core. The result does not depend on it.</summary>
    public int MaxDegreeOfParallelism { get; init; } = -1;

    /// <summary>
    /// The optimiser of generalized-EM M-steps, where no closed form exists (logistic and Poisson regressions,
    /// the gating of a mixture of experts): L-BFGS with a line search by default, at most 5 inner iterations per
    /// M-step (200 for the very first estimate). A partial M-step is enough for generalized EM; on 10⁵ rows, 5 inner
    /// iterations reached convergence 2–4× sooner than 25 (bench/EmDsl.Bench -- regression). A step is accepted only when the M-step objective (with its log
    /// prior) rises, so any setting keeps the objective monotone; more inner iterations mean fewer EM iterations.
    /// Its <see cref="OptimizerOptions.MaxIterations"/> must be at least 1 (0 would leave those parameters where they
    /// started); an invalid setting is reported as an <see cref="ArgumentOutOfRangeException"/> whose parameter name
    /// is <c>MStepOptimizer.</c> and the property.
    /// </summary>
    public OptimizerOptions MStepOptimizer { get; init; } = new() { MaxIterations = 5 };

    /// <summary>
    /// Whether an M-step candidate that is not an exact maximiser of its expected complete-data objective Q — an
    /// estimate moved by a floor, a numerically inverted mean map (declared families, the Gamma, Beta, Dirichlet and
    /// von Mises families), a family of your own — is compared with the previous parameters and rejected when it
    /// lowers Q (default true; the objective then never falls). False takes every candidate as the M-step computed it:
    /// use it to test an M-step, because a wrong one then shows as a fall of the free energy
    /// (<see cref="FitEventKind.FreeEnergyDecreased"/>, <see cref="ModelFit.FreeEnergyTrace"/>) instead of being
    /// quietly replaced by the previous parameters. Exact closed-form M-steps are never compared.
    /// </summary>
    public bool CheckMSteps { get; init; } = true;

    /// <summary>
    /// Whether every run does exactly <see cref="MaxIterations"/> M-steps, with no convergence test (default false):
    /// for benchmarks and for users who want a fixed amount of work. A run that does them all is reported as
    /// <see cref="FitStatus.Converged"/> when its last change was within <see cref="Tolerance"/>, as
    /// <see cref="FitStatus.IterationLimit"/> otherwise. Without it a run stops at the first iteration whose change is
    /// within <see cref="Tolerance"/>, which with Tolerance 0 is one where the objective repeats exactly.
    /// </summary>
    public bool RunAllIterations { get; init; }

    /// <summary>
    /// Known latent states for semi-supervised fits (default null: every state is inferred). One entry per row of the
    /// data being fitted (for a hidden Markov model, per step of the sequences in order): the state 0…K−1 the row is
    /// known to come from, or −1 where it is unknown. A labelled row's posterior is fixed at its label, so its
    /// contribution to the objective is log p(x_n, z_n = label | θ) (for a Markov chain the labelled steps constrain the
    /// path), and the unlabelled rows' posteriors are inferred as usual; EM then maximises the likelihood of the
    /// observed data and the known labels together, and still never lowers it. A k-means++ start numbers its clusters
    /// to agree with the labels (each cluster takes the label most of its labelled rows carry), then fixes the labelled
    /// rows; random partitions and given responsibilities also have their labelled rows fixed. Labels apply to the fit
    /// only: predictions on new data infer every state.
    /// </summary>
    /// <remarks>The length must equal the number of rows (or steps); an entry outside −1…K−1 is an <see cref="ArgumentException"/> naming the row.</remarks>
    public IReadOnlyList<int>? KnownLabels { get; init; }

    /// <summary>
    /// Parameters held fixed during the fit (default <see cref="FrozenParameters.None"/>): a block's, the mixing weights
    /// (a gating network's coefficients; a hidden Markov model's initial-state probabilities), or a hidden Markov model's
    /// transition matrix. Frozen parameters keep the values the start gave them — usually given ones
    /// (<see cref="Initialization.FromParameters(IEnumerable{double})"/>, <see cref="Initialization.FromFit"/>), otherwise the start's
    /// first estimate — and every later M-step updates only the others (a coordinate-wise M-step, so the objective still
    /// never falls). They are not counted in <see cref="ModelFit.FreeParameterCount"/>.
    /// </summary>
    public FrozenParameters Frozen { get; init; } = FrozenParameters.None;

    /// <summary>
    /// What a fit does with missing values (NaN entries of a <see cref="Data.DataMatrix"/> built with
    /// <see cref="Data.MissingValues.Allow"/> or <see cref="Data.DataMatrix.WithMissing"/>) in the columns the model
    /// reads. Default <see cref="MissingValuePolicy.Reject"/>: such data is an error naming the first missing row and
    /// column. <see cref="MissingValuePolicy.Marginalize"/> fits the observed-data likelihood exactly (see there).
    /// </summary>
    public MissingValuePolicy MissingValues { get; init; } = MissingValuePolicy.Reject;

    internal void Validate()
    {
        if (!Enum.IsDefined(MissingValues)) throw new ArgumentOutOfRangeException(nameof(MissingValues), MissingValues, "MissingValues must be Reject or Marginalize.");
        ArgumentNullException.ThrowIfNull(MStepOptimizer, nameof(MStepOptimizer));
        try { MStepOptimizer.Validate(); }
        catch (ArgumentOutOfRangeException e)
        {
            // Name the option as the caller wrote it: MStepOptimizer.MaxIterations, not FitOptions.MaxIterations.
            string name = $"{nameof(MStepOptimizer)}.{e.ParamName}";
            throw new ArgumentOutOfRangeException(name, e.ActualValue, $"{nameof(MStepOptimizer)}.{e.Message.Split(" (Parameter", 2)[0]}");
        }
        if (MStepOptimizer.MaxIterations < 1)
            throw new ArgumentOutOfRangeException($"{nameof(MStepOptimizer)}.{nameof(OptimizerOptions.MaxIterations)}", MStepOptimizer.MaxIterations,
                $"{nameof(MStepOptimizer)}.{nameof(OptimizerOptions.MaxIterations)} must be ≥ 1: with 0 no generalized-EM M-step could move its parameters.");
        if (MaxIterations < 0) throw new ArgumentOutOfRangeException(nameof(MaxIterations), MaxIterations, "MaxIterations must be ≥ 0.");
        if (!(Tolerance >= 0) || double.IsInfinity(Tolerance)) throw new ArgumentOutOfRangeException(nameof(Tolerance), Tolerance, "Tolerance must be finite and ≥ 0.");
        if (Restarts < 1) throw new ArgumentOutOfRangeException(nameof(Restarts), Restarts, "Restarts must be ≥ 1.");
        if (!(CovarianceFloor >= 0) || double.IsInfinity(CovarianceFloor)) throw new ArgumentOutOfRangeException(nameof(CovarianceFloor), CovarianceFloor, "CovarianceFloor must be finite and ≥ 0.");
        if (!(ProbabilityFloor > 0 && ProbabilityFloor < 0.5)) throw new ArgumentOutOfRangeException(nameof(ProbabilityFloor), ProbabilityFloor, "ProbabilityFloor must lie in (0, 0.5).");
        if (!(EmptyComponentThreshold >= 0 && EmptyComponentThreshold < 1)) throw new ArgumentOutOfRangeException(nameof(EmptyComponentThreshold), EmptyComponentThreshold, "EmptyComponentThreshold must lie in [0, 1).");
        if (StartSampleRows < 1) throw new ArgumentOutOfRangeException(nameof(StartSampleRows), StartSampleRows, "StartSampleRows must be ≥ 1 (or null for the default).");
        if (ChunkRows is < 1) throw new ArgumentOutOfRangeException(nameof(ChunkRows), ChunkRows, "ChunkRows must be ≥ 1.");
        if (MaxDegreeOfParallelism == 0 || MaxDegreeOfParallelism < -1) throw new ArgumentOutOfRangeException(nameof(MaxDegreeOfParallelism), MaxDegreeOfParallelism, "MaxDegreeOfParallelism must be ≥ 1, or −1 for every core.");
        ArgumentNullException.ThrowIfNull(Initialization, nameof(Initialization));
        ArgumentNullException.ThrowIfNull(Frozen, nameof(Frozen));
        if (Frozen.Blocks is null || Frozen.Blocks.Any(string.IsNullOrWhiteSpace))
            throw new ArgumentException("Frozen.Blocks must list block names, none of them null or empty.", nameof(Frozen));
    }
}

/// <summary>
/// Which parameters a fit holds fixed (see <see cref="FitOptions.Frozen"/>). Immutable; F#:
/// <c>FrozenParameters(Weights = true, Blocks = [ "geyser" ])</c>.
/// </summary>
public sealed record FrozenParameters
{
    /// <summary>Nothing frozen: every parameter is estimated.</summary>
    public static FrozenParameters None { get; } = new();

    /// <summary>
    /// Whether the latent weights are frozen: a mixture's weights π, a gating network's coefficients, a hidden Markov
    /// model's initial-state probabilities (with tied transitions, the one distribution that is both).
    /// </summary>
    public bool Weights { get; init; }

    /// <summary>Whether a hidden Markov model's transition matrix is frozen (with tied transitions, the one distribution).</summary>
    public bool Transitions { get; init; }

    /// <summary>Names of the blocks whose parameters are frozen (every component's, and a shared or tied block's shared part).</summary>
    public IReadOnlyList<string> Blocks { get; init; } = [];

    /// <summary>Whether nothing is frozen.</summary>
    public bool IsEmpty => !Weights && !Transitions && Blocks.Count == 0;
}

/// <summary>
/// What an M-step does with an estimate that <see cref="FitOptions.CovarianceFloor"/> or
/// <see cref="FitOptions.ProbabilityFloor"/> moved away from the exact maximiser of the expected
/// complete-data objective Q. Near convergence such a step can lower Q, and with it the objective, by a
/// second-order amount, because the floored iteration's fixed point is not a maximum of the objective.
/// </summary>
public enum FloorStrategy
{
    /// <summary>
    /// Take the floored estimate only if it does not lower Q; otherwise keep the previous parameters of that
    /// component (a generalized-EM step, reported as <see cref="FitEventKind.MStepRejected"/> when the loss is
    /// beyond rounding). The objective never decreases. The default.
    /// </summary>
    KeepObjectiveMonotone,
    /// <summary>
    /// Always take the floored estimate, as scikit-learn's GaussianMixture does with reg_covar, so that a fit
    /// reaches scikit-learn's fixed point exactly. The objective may then fall by tiny amounts near convergence;
    /// falls beyond rounding are reported as <see cref="FitEventKind.ObjectiveDecreased"/>.
    /// </summary>
    MatchScikitLearn,
}

/// <summary>What a fit does with missing values (see <see cref="FitOptions.MissingValues"/>).</summary>
public enum MissingValuePolicy
{
    /// <summary>A missing value in a column the model reads is an error (the default).</summary>
    Reject,

    /// <summary>
    /// Missing values are marginalised exactly: the E-step uses each row's likelihood of its observed values,
    /// p(x_o | z = k) — for a Gaussian block N(x_o; μ_o, Σ_oo), for a block of independent columns (Poisson,
    /// Bernoulli) the product over the observed columns — and the M-step is EM for incomplete data: the expected
    /// complete-data statistics given x_o and z (for a Gaussian E[x_m | x_o, z = k] = μ_m + Σ_mo Σ_oo⁻¹(x_o − μ_o)
    /// and the conditional covariance Σ_mm − Σ_mo Σ_oo⁻¹ Σ_om; for an independent column its mean under the
    /// component). The objective is the observed-data log-likelihood (plus log prior) and never decreases. A row
    /// with every column of the model missing contributes nothing (its posterior is the weights) and is reported as
    /// <see cref="FitEventKind.RowsWithoutObservations"/>. Supported for mixtures and hidden Markov models whose
    /// blocks are Gaussian or conjugate exponential families (for an HMM a step with nothing observed has emission
    /// probability 1 in every state); a block of a family whose statistics do not separate by column (categorical
    /// one-hot, multinomial, a declared family, Gamma, ...) accepts only rows with all of its columns missing or none;
    /// regressions and factor blocks (response or covariate) and gating covariates reject missing values with an
    /// error naming the block, row and column. Predictions of a fit made with this option accept holes the same way
    /// (a model loaded from a file rejects them).
    /// </summary>
    Marginalize,
}

/// <summary>One iteration's report to <see cref="IProgress{T}"/>.</summary>
/// <param name="Restart">Run index, from 0.</param>
/// <param name="Iteration">M-steps done in this run (0 for the initial parameters).</param>
/// <param name="Objective">log p(X | θ) + log p(θ) at the current parameters.</param>
/// <param name="Change">Objective change since the previous iteration, per unit of sample weight (NaN at iteration 0).</param>
public sealed record FitProgress(int Restart, int Iteration, double Objective, double Change);
