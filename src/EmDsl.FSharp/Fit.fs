namespace EmDsl.FSharp

open System
open System.Threading
open EmDsl.Building
open EmDsl.Data
open EmDsl.Inference
open EmDsl.Optimization

/// <summary>
/// One setting of a fit, for <see cref="Fit.runWith"/>: <c>[ Seed 3; Restarts 5; MaxIterations 200 ]</c>. Later
/// settings override earlier ones; those not given keep <c>FitOptions</c>' defaults (documented there).
/// </summary>
type FitOption =
    /// Start from these options (the settings after it change a copy).
    | Options of FitOptions
    /// Seed of every random choice (k-means++); the same seed gives the same fit, bit for bit.
    | Seed of int
    /// Runs from different seeded starts; the best final objective wins (default 1).
    | Restarts of int
    /// Most M-steps per run (default 500).
    | MaxIterations of int
    /// Stop when the objective changes by at most this much per unit of sample weight (default 1e-6).
    | Tolerance of float
    /// Added to every Gaussian variance after each M-step (default 1e-6; 0 is exact EM).
    | CovarianceFloor of float
    /// Smallest probability or rate an M-step may produce (default 1e-10).
    | ProbabilityFloor of float
    /// Fraction of the total weight at or below which a component counts as empty (default 1e-12).
    | EmptyComponentThreshold of float
    /// Rows per chunk of the batched E-step (default: chosen per model, 256 to 4096 rows).
    | ChunkRows of int
    /// Most threads for the E-step; −1 (default) is every core. The result does not depend on it.
    | MaxThreads of int
    /// How floored estimates are accepted (default FloorStrategy.KeepObjectiveMonotone).
    | Floors of FloorStrategy
    /// Whether inexact M-step candidates are compared with the previous parameters (default true).
    | CheckMSteps of bool
    /// What a fit does with missing values (default Reject; Marginalize fits the observed-data likelihood exactly).
    | MissingValues of MissingValuePolicy
    /// The optimiser of generalized-EM M-steps (regressions, gating).
    | MStepOptimizer of OptimizerOptions
    /// How the first parameters are chosen (default k-means++).
    | Initialize of Initialization
    /// Start from an earlier fit's parameters (Initialization.FromFit).
    | StartFrom of ModelFit
    /// A non-negative weight per row (mixtures) or per sequence (hidden Markov models); a weight of 2 counts it twice.
    | Weights of float list
    /// Called once per iteration, on the fitting thread, before the next one starts.
    | OnIteration of (FitProgress -> unit)
    /// Stops the fit between chunks (it then raises OperationCanceledException).
    | Cancellation of CancellationToken

/// How an EM run ended.
type Status =
    /// The objective changed by at most the tolerance per unit of weight.
    | Converged
    /// The run stopped at MaxIterations with the objective still moving.
    | IterationLimit
    /// Some parameter sets could not move (every candidate rejected in the last M-step); named here. Not a fixed point of EM.
    | Stalled of parameters: string list

/// <summary>
/// The overloads behind <see cref="Fit.runWith"/>, one per kind of model and data; call <c>Fit.run</c> or
/// <c>Fit.runWith</c> rather than these.
/// </summary>
[<AbstractClass; Sealed>]
type FitDispatch =
    static member internal Settings(options: FitOption list) =
        let mutable o = FitOptions.Default
        let mutable weights: float list option = None
        let mutable callbacks = []
        let mutable token = CancellationToken.None
        for option in options do
            match option with
            | Options given -> o <- given
            | Seed v -> o <- FitOptions(o, Seed = v)
            | Restarts v -> o <- FitOptions(o, Restarts = v)
            | MaxIterations v -> o <- FitOptions(o, MaxIterations = v)
            | Tolerance v -> o <- FitOptions(o, Tolerance = v)
            | CovarianceFloor v -> o <- FitOptions(o, CovarianceFloor = v)
            | ProbabilityFloor v -> o <- FitOptions(o, ProbabilityFloor = v)
            | EmptyComponentThreshold v -> o <- FitOptions(o, EmptyComponentThreshold = v)
            | ChunkRows v -> o <- FitOptions(o, ChunkRows = Nullable v)
            | MaxThreads v -> o <- FitOptions(o, MaxDegreeOfParallelism = v)
            | Floors v -> o <- FitOptions(o, Floors = v)
            | CheckMSteps v -> o <- FitOptions(o, CheckMSteps = v)
            | MissingValues v -> o <- FitOptions(o, MissingValues = v)
            | MStepOptimizer v -> o <- FitOptions(o, MStepOptimizer = v)
            | Initialize v -> o <- FitOptions(o, Initialization = v)
            | StartFrom fit -> o <- FitOptions(o, Initialization = Initialization.FromFit fit)
            | Weights w -> weights <- Some w
            | OnIteration f -> callbacks <- callbacks @ [ f ]
            | Cancellation t -> token <- t
        let progress: IProgress<FitProgress> | null =
            match callbacks with
            | [] -> null
            | fs -> { new IProgress<FitProgress> with member _.Report p = for f in fs do f p }
        let weightList: Collections.Generic.IReadOnlyList<float> | null =
            match weights with
            | None -> null
            | Some w -> Array.ofList w
        o, weightList, progress, token

    /// Fits a mixture to the rows of a matrix.
    static member Fit(model: MixtureModel, data: DataMatrix, options: FitOption list) : MixtureFit =
        let o, weights, progress, token = FitDispatch.Settings options
        model.Fit(data, o, weights, progress, token)

    /// Fits a hidden Markov model to one sequence: the rows of a matrix, in order.
    static member Fit(model: HiddenMarkovModel, data: DataMatrix, options: FitOption list) : HiddenMarkovFit =
        FitDispatch.Fit(model, SequenceData.Single data, options)

    /// Fits a hidden Markov model to a set of sequences.
    static member Fit(model: HiddenMarkovModel, data: SequenceData, options: FitOption list) : HiddenMarkovFit =
        let o, weights, progress, token = FitDispatch.Settings options
        model.Fit(data, o, weights, progress, token)

    /// Resolves, where <see cref="Fit.runWith"/> is inlined, the <c>Fit</c> overload for its model and data types.
    static member inline Invoke(dispatch: ^Dispatch, model: ^Model, data: ^Data, settings: FitOption list) : ^Fit =
        ((^Dispatch or ^Model): (static member Fit: ^Model * ^Data * FitOption list -> ^Fit) (model, data, settings))

/// <summary>
/// Fitting in a pipeline and reading typed results: <c>model |> Fit.runWith [ Seed 1 ] data |> Fit.parameters geyser</c>.
/// A fit maximises the objective log p(X | θ) + log p(θ) (the log-likelihood, plus the log prior density when
/// priors are declared) by EM; see EmDsl's <c>ModelFit</c>. Lists come back for per-state results and per-row
/// predictions alike.
/// </summary>
[<RequireQualifiedAccess>]
module Fit =
    /// The <c>FitOptions</c> that a list of settings describes (Weights, OnIteration and Cancellation are not options
    /// and are ignored here), for the C# API: <c>model.Fit(data, Fit.options [ Seed 3 ])</c>.
    let options (settings: FitOption list) : FitOptions =
        let o, _, _, _ = FitDispatch.Settings settings
        o

    /// <summary>
    /// Fits <paramref name="model"/> (a <c>MixtureModel</c> to a <c>DataMatrix</c>; a <c>HiddenMarkovModel</c> to a
    /// <c>DataMatrix</c>, one sequence, or to <c>SequenceData</c>) with the given settings; the result is a
    /// <c>MixtureFit</c> or a <c>HiddenMarkovFit</c> accordingly.
    /// </summary>
    let inline runWith (settings: FitOption list) (data: ^Data) (model: ^Model) : ^Fit =
        FitDispatch.Invoke(Unchecked.defaultof<FitDispatch>, model, data, settings)

    /// <summary>Fits with the default settings (seed 0, one run); see <see cref="runWith"/>.</summary>
    let inline run (data: ^Data) (model: ^Model) : ^Fit = runWith [] data model

    /// The fitted parameters of a block, one record per state (for a Shared block, K equal records), typed by the
    /// block's handle: <c>Fit.parameters geyser fit : GaussianParameters list</c>.
    let parameters (block: Block<'P>) (fit: #ModelFit) : 'P list = List.ofSeq (fit.Parameters block)

    /// The fitted parameters of the block with that name, untyped (each is the family's parameter record).
    let parametersNamed (name: string) (fit: #ModelFit) : obj list = List.ofSeq (fit.Parameters name)

    /// The mixing weights π_k (they sum to 1; for a mixture of experts, the gate averaged over the training rows).
    let weights (fit: MixtureFit) : float list = List.ofSeq fit.Weights

    /// A mixture of experts' gating coefficients, one per component (component 0 the zero reference); [] without gating.
    let gating (fit: MixtureFit) : RegressionParameters list = List.ofSeq fit.GatingCoefficients

    /// The most probable component of every row, argmax_k p(z = k | x) (ties to the lowest index).
    let predict (data: DataMatrix) (fit: MixtureFit) : int list = List.ofArray (fit.Predict data)

    /// The responsibilities p(z = k | x_n): one list of K probabilities per row.
    let responsibilities (data: DataMatrix) (fit: MixtureFit) : float list list =
        let r = fit.PredictProba data
        [ for i in 0 .. Array2D.length1 r - 1 -> [ for k in 0 .. Array2D.length2 r - 1 -> r[i, k] ] ]

    /// log p(x_n | θ) of every row under the fitted mixture.
    let scoreSamples (data: DataMatrix) (fit: MixtureFit) : float list = List.ofArray (fit.ScoreSamples data)

    /// Draws rows from the fitted mixture, reproducibly for a seed: the data and each row's component.
    let sample (count: int) (seed: int) (fit: MixtureFit) : DataMatrix * int list =
        let s = fit.Sample(count, seed)
        s.Data, List.ofSeq s.Components

    /// The most probable state path (Viterbi) of one sequence.
    let decode (sequence: DataMatrix) (fit: HiddenMarkovFit) : int list = List.ofArray (fit.Decode sequence)

    /// The most probable state path (Viterbi) of every sequence.
    let decodeAll (data: SequenceData) (fit: HiddenMarkovFit) : int list list =
        fit.Decode data |> Seq.map List.ofArray |> List.ofSeq

    /// The posterior state probabilities p(z_t = k | x₁…x_T) of one sequence: one list of K per step.
    let posteriorMarginals (sequence: DataMatrix) (fit: HiddenMarkovFit) : float list list =
        let m = fit.PosteriorMarginals sequence
        [ for t in 0 .. Array2D.length1 m - 1 -> [ for k in 0 .. Array2D.length2 m - 1 -> m[t, k] ] ]

    /// The fitted transition matrix A: row i is p(z_{t+1} = · | z_t = i).
    let transitions (fit: HiddenMarkovFit) : float list list =
        let a = fit.TransitionMatrix
        [ for i in 0 .. Array2D.length1 a - 1 -> [ for j in 0 .. Array2D.length2 a - 1 -> a[i, j] ] ]

    /// The fitted initial state probabilities π.
    let initial (fit: HiddenMarkovFit) : float list = List.ofSeq fit.InitialProbabilities

    /// Draws sequences of the given lengths from the fitted chain, reproducibly for a seed: the data and the state paths.
    let sampleSequences (lengths: int list) (seed: int) (fit: HiddenMarkovFit) : SequenceData * int list list =
        let s = fit.Sample(lengths, seed)
        s.Data, s.States |> Seq.map List.ofArray |> List.ofSeq

    /// log p(X | θ̂) at the fitted parameters.
    let logLikelihood (fit: #ModelFit) : float = fit.LogLikelihood

    /// log p(θ̂) of the declared priors (0 without priors).
    let logPrior (fit: #ModelFit) : float = fit.LogPrior

    /// The objective log p(X | θ̂) + log p(θ̂) that EM maximised.
    let objective (fit: #ModelFit) : float = fit.Objective

    /// The objective after every iteration of the returned run (EM never lowers it beyond rounding).
    let objectiveTrace (fit: #ModelFit) : float list = List.ofSeq fit.ObjectiveTrace

    /// The free energy F(q, θ) after every E- and M-half-step of the returned run.
    let freeEnergyTrace (fit: #ModelFit) : FreeEnergyPoint list = List.ofSeq fit.FreeEnergyTrace

    /// M-steps done by the returned run.
    let iterations (fit: #ModelFit) : int = fit.Iterations

    /// How the run ended.
    let status (fit: #ModelFit) : Status =
        match fit.Status with
        | FitStatus.Converged -> Converged
        | FitStatus.IterationLimit -> IterationLimit
        | _ -> Stalled(List.ofSeq fit.Diagnostics.StalledParameters)

    /// The number of free parameters p (weights or transitions, and every block's).
    let freeParameters (fit: #ModelFit) : int = fit.FreeParameterCount

    /// BIC = −2 log p(X | θ̂) + p log n on the training data (n: the total sample weight, rows without weights).
    let bic (fit: #ModelFit) : float = fit.BayesianInformationCriterion

    /// AIC = −2 log p(X | θ̂) + 2p on the training data.
    let aic (fit: #ModelFit) : float = fit.AkaikeInformationCriterion

    /// What happened during the fit that is worth knowing (floors, rejected candidates, empty components …).
    let events (fit: #ModelFit) : FitEvent list = List.ofSeq fit.Diagnostics.Events
