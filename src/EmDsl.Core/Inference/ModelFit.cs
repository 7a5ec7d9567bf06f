using EmDsl.Building;
using EmDsl.Data;

namespace EmDsl.Inference;

/// <summary>How an EM run ended.</summary>
public enum FitStatus
{
    /// <summary>The objective changed by at most <see cref="FitOptions.Tolerance"/> per unit of weight while the parameters could still move.</summary>
    Converged,
    /// <summary>
    /// The run stopped at <see cref="FitOptions.MaxIterations"/> with the objective still changing by more than the
    /// tolerance.
    /// </summary>
    IterationLimit,
    /// <summary>
    /// The objective stopped changing because some parameters could not move: in the last M-step every candidate of
    /// at least one parameter set (<see cref="FitDiagnostics.StalledParameters"/>) was rejected — a floored estimate
    /// that would lower the objective, an optimiser that found no increasing step, an invalid estimate. Not a
    /// fixed point of EM; see the rejections in <see cref="FitDiagnostics.Events"/>.
    /// </summary>
    Stalled,
}

/// <summary>Which half of an EM iteration a free-energy value follows.</summary>
public enum HalfStep
{
    /// <summary>After the E-step: F(q_t, θ_t), with q_t the exact posterior under θ_t, equals the objective at θ_t.</summary>
    Expectation,
    /// <summary>After the M-step: F(q_t, θ_{t+1}), the same posterior with the new parameters.</summary>
    Maximization,
}

/// <summary>
/// One value of the free energy F(q, θ) = E_q[log p(x, z | θ)] + H[q] + log p(θ), the lower bound EM ascends
/// coordinate-wise: the E-step maximises it over q (and then it equals the objective, log p(x | θ) + log p(θ)), the
/// M-step over θ. Neither half-step ever lowers it.
/// </summary>
/// <param name="Iteration">The iteration (M-steps done before the E-step of this value).</param>
/// <param name="After">The half-step it follows.</param>
/// <param name="Value">F(q, θ).</param>
public sealed record FreeEnergyPoint(int Iteration, HalfStep After, double Value);

/// <summary>
/// What every EM fit reports, whatever its latent structure: the objective trace, the free energy after every
/// half-step, the final log-likelihood and log prior, how the run ended, diagnostics, the blocks' fitted parameters
/// and the information criteria. <see cref="MixtureFit"/> and <see cref="HiddenMarkovFit"/> add what their
/// structure has. Immutable; safe to share between threads.
/// </summary>
public abstract class ModelFit
{
    private readonly double[] _trace;
    private readonly FreeEnergyPoint[] _freeEnergy;

    private protected ModelFit(CompiledModel compiled, EngineResult result)
    {
        Compiled = compiled;
        State = result.State;
        _trace = result.Trace;
        _freeEnergy = result.FreeEnergy;
        Iterations = result.Iterations;
        Status = result.Status;
        LogLikelihood = result.LogLikelihood;
        LogPrior = result.LogPrior;
        TotalWeight = result.TotalWeight;
        Diagnostics = result.Diagnostics;
        FrozenParameterCount = result.FrozenParameterCount;
    }

    /// <summary>Parameters the fit held fixed (<see cref="FitOptions.Frozen"/>), excluded from <see cref="FreeParameterCount"/>.</summary>
    private protected int FrozenParameterCount { get; }

    internal CompiledModel Compiled { get; }

    internal ModelState State { get; }

    /// <summary>The observed blocks of the fitted model, in declaration order.</summary>
    public IReadOnlyList<Block> Blocks => Compiled.Model.Blocks;

    /// <summary>K: the number of latent states (mixture components, hidden states).</summary>
    public int States => Compiled.States;

    /// <summary>The fitted parameters of <paramref name="block"/>, one record per state (identical records for a shared block).</summary>
    /// <exception cref="ArgumentException">The block is not part of this model.</exception>
    public IReadOnlyList<TParameters> Parameters<TParameters>(Block<TParameters> block)
    {
        int b = IndexOf(block);
        return ((BlockRuntime<TParameters>)Compiled.Blocks[b]).Parameters(State.Blocks[b]);
    }

    /// <summary>
    /// The fitted parameters of the block named <paramref name="blockName"/>, untyped (each element is the
    /// block family's parameter record), for code that holds blocks only as <see cref="Block"/>.
    /// </summary>
    /// <exception cref="ArgumentException">No block has that name.</exception>
    public IReadOnlyList<object> Parameters(string blockName)
    {
        var block = Blocks.FirstOrDefault(b => b.Name == blockName)
            ?? throw new ArgumentException($"The model has no block named '{blockName}' (its blocks: {string.Join(", ", Blocks.Select(x => x.Name))}).", nameof(blockName));
        return UsualParameters(block).Cast<object>().ToArray();
    }

    internal Array UsualParameters(Block block) => State.Blocks[IndexOf(block)].Usual;

    private int IndexOf(Block block)
    {
        ArgumentNullException.ThrowIfNull(block);
        for (int b = 0; b < Compiled.Blocks.Length; b++)
        {
            var mine = Compiled.Blocks[b].Block;
            if (ReferenceEquals(mine, block) || ReferenceEquals(mine.Declaration, block) ||
                (mine.Name == block.Name && mine.Family.GetType() == block.Family.GetType() && mine.SameColumns(block)))
                return b;
        }
        throw new ArgumentException($"Block '{block.Name}' is not part of this model (its blocks: {string.Join(", ", Blocks.Select(x => x.Name))}).", nameof(block));
    }

    /// <summary>
    /// New data in the layout of the training data: for a model that reads columns by name, the columns of those names
    /// moved to where the training data had them (the data itself when they are there already, or nothing is named).
    /// </summary>
    /// <exception cref="ArgumentException">The model reads columns by name and the data has no names or lacks one.</exception>
    internal DataMatrix Align(DataMatrix data)
    {
        var model = Compiled.Model;
        var references = model.Blocks.SelectMany(b => b.References().Select(r => (r.Index, r.Name, $"Block '{b.Name}'")))
            .Concat(model.Gating?.References().Select(r => (r.Index, r.Name, "The gating")) ?? [])
            .ToArray();
        return ColumnNaming.Align(data, references, model.DataColumnNames);
    }

    /// <summary>The names of the first <paramref name="columns"/> training columns, for sampled data (null for a model declared by index).</summary>
    private protected string[]? SampleColumnNames(int columns) =>
        Compiled.Model.DataColumnNames is { } names && names.Count >= columns ? names.Take(columns).ToArray() : null;

    /// <summary>Objective log p(X | θ) + log p(θ) at the initial parameters and after every M-step.</summary>
    public IReadOnlyList<double> ObjectiveTrace => _trace;

    /// <summary>
    /// The free energy F(q, θ) after every half-step, in order: after the first E-step, after the first M-step, after
    /// the second E-step, …, after the last E-step. EM never lowers it; after each E-step it equals the objective of
    /// the same iteration (the E-step closes the gap), up to rounding. A fall beyond rounding is recorded as
    /// <see cref="FitEventKind.FreeEnergyDecreased"/>. This is what the properties of <c>EmDsl.Testing</c> check.
    /// </summary>
    public IReadOnlyList<FreeEnergyPoint> FreeEnergyTrace => _freeEnergy;

    /// <summary>Final objective: <see cref="LogLikelihood"/> + <see cref="LogPrior"/>.</summary>
    public double Objective => _trace[^1];

    /// <summary>Final log p(X | θ) (weighted sum over rows, or over sequences).</summary>
    public double LogLikelihood { get; }

    /// <summary>Final log p(θ) (0 without priors).</summary>
    public double LogPrior { get; }

    /// <summary>M-steps done in the returned run.</summary>
    public int Iterations { get; }

    /// <summary>How the returned run ended.</summary>
    public FitStatus Status { get; }

    /// <summary>Whether the returned run converged (<see cref="Status"/> is <see cref="FitStatus.Converged"/>): not at the iteration limit, and not stalled.</summary>
    public bool Converged => Status == FitStatus.Converged;

    /// <summary>Σ w: the number of rows (steps) without sample weights.</summary>
    public double TotalWeight { get; }

    /// <summary>Events, restarts, stalled parameters and the backend used.</summary>
    public FitDiagnostics Diagnostics { get; }

    /// <summary>Number of free parameters of the model (for BIC and AIC).</summary>
    public abstract int FreeParameterCount { get; }

    /// <summary>BIC on the training data: −2 log p(X | θ) + p log N, with N the total sample weight. Lower is better.</summary>
    public double BayesianInformationCriterion => -2 * LogLikelihood + FreeParameterCount * Math.Log(TotalWeight);

    /// <summary>AIC on the training data: −2 log p(X | θ) + 2p. Lower is better.</summary>
    public double AkaikeInformationCriterion => -2 * LogLikelihood + 2 * FreeParameterCount;
}

/// <summary>What the EM engine returns for the best run of a fit.</summary>
internal sealed record EngineResult(ModelState State, double[] Trace, FreeEnergyPoint[] FreeEnergy, int Iterations, FitStatus Status,
    double LogLikelihood, double LogPrior, double TotalWeight, FitDiagnostics Diagnostics)
{
    /// <summary>Parameters held fixed by <see cref="FitOptions.Frozen"/> (not free, so not counted by BIC and AIC).</summary>
    public int FrozenParameterCount { get; init; }
}
