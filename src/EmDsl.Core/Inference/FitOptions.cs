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
        CheckMSteps = original.CheckMSteps;
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

    /// <summary>Rows per chunk of the batched E-step (default 4096). Results agree across chunk sizes to rounding.</summary>
    public int ChunkRows { get; init; } = 4096;

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

    internal void Validate()
    {
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
        if (ChunkRows < 1) throw new ArgumentOutOfRangeException(nameof(ChunkRows), ChunkRows, "ChunkRows must be ≥ 1.");
        if (MaxDegreeOfParallelism == 0 || MaxDegreeOfParallelism < -1) throw new ArgumentOutOfRangeException(nameof(MaxDegreeOfParallelism), MaxDegreeOfParallelism, "MaxDegreeOfParallelism must be ≥ 1, or −1 for every core.");
        ArgumentNullException.ThrowIfNull(Initialization, nameof(Initialization));
    }
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

/// <summary>One iteration's report to <see cref="IProgress{T}"/>.</summary>
/// <param name="Restart">Run index, from 0.</param>
/// <param name="Iteration">M-steps done in this run (0 for the initial parameters).</param>
/// <param name="Objective">log p(X | θ) + log p(θ) at the current parameters.</param>
/// <param name="Change">Objective change since the previous iteration, per unit of sample weight (NaN at iteration 0).</param>
public sealed record FitProgress(int Restart, int Iteration, double Objective, double Change);
