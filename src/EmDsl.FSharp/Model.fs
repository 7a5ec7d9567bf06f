namespace EmDsl.FSharp

open EmDsl.Building
open EmDsl.Families.Priors

/// <summary>
/// Mixture models in a pipeline: <c>Mixture.create 3 |> Mixture.observe vitals |> Mixture.weightPrior 1.1 |> Mixture.build</c>.
/// The joint model is p(x, z = k | θ) = π_k Π_b p_b(x_b | θ_bk): a K-way label z with weights π (or, with
/// <see cref="gatedBy"/>, softmax gating π_k(u) on covariates u) and the observed blocks b independent given z.
/// Every step returns a new immutable <c>MixtureBuilder</c>; <see cref="build"/> checks the declaration.
/// </summary>
[<RequireQualifiedAccess>]
module Mixture =
    /// A mixture with K ≥ 1 components and no blocks yet.
    let create (components: int) : MixtureBuilder = Mixture.WithComponents components

    /// Adds an observed block (declared with <see cref="Block"/>).
    let observe (block: #Block) (builder: MixtureBuilder) : MixtureBuilder = builder.Observe(block :> Block)

    /// Adds observed blocks in order (a list of blocks of different families: <c>[ geyser :> Block; visits ]</c>).
    let observeAll (blocks: Block list) (builder: MixtureBuilder) : MixtureBuilder = builder.Observe(Array.ofList blocks)

    /// A symmetric Dirichlet(α, …, α) prior on the weights π (α ≥ 1; α = 1 is maximum likelihood, 1.1 a weak default).
    let weightPrior (concentration: float) (builder: MixtureBuilder) : MixtureBuilder = builder.WithWeightPrior concentration

    /// A Dirichlet prior on the weights π with one concentration per component, each ≥ 1.
    let weightPriorWith (prior: DirichletPrior) (builder: MixtureBuilder) : MixtureBuilder = builder.WithWeightPrior prior

    /// <summary>
    /// A mixture of experts: the weights depend on covariate columns u through a softmax gate,
    /// π_k(u) = exp(γ_k0 + γ_kᵀu) / Σ_j exp(γ_j0 + γ_jᵀu) with γ_0 = 0, fitted by generalized-EM steps; the optional
    /// prior is N(0, 1/precision) on each gating slope. Not with a weight prior.
    /// </summary>
    let gatedByWith (prior: CoefficientPrior option) (covariates: int list) (builder: MixtureBuilder) : MixtureBuilder =
        builder.GatedBy(covariates, Option.toObj prior)

    /// <summary>A gated mixture of experts without a prior on the gate; see <see cref="gatedByWith"/>.</summary>
    let gatedBy (covariates: int list) (builder: MixtureBuilder) : MixtureBuilder = gatedByWith None covariates builder

    /// Checks the declaration (at least one block, distinct names, …) and returns the immutable model.
    let build (builder: MixtureBuilder) : MixtureModel = builder.Build()

/// <summary>
/// Hidden Markov models in a pipeline: <c>Hmm.create 2 |> Hmm.observe counts |> Hmm.transitionPrior 1.5 |> Hmm.build</c>.
/// The joint model of a sequence is p(x, z | θ) = π_{z₁} Π_t A_{z_{t−1} z_t} Π_t Π_b p_b(x_tb | θ_b z_t): initial
/// probabilities π, a K × K transition matrix A (rows sum to 1) and blocks independent given the state.
/// </summary>
[<RequireQualifiedAccess>]
module Hmm =
    /// A hidden Markov model with K ≥ 1 states, full transitions and no blocks yet.
    let create (states: int) : HiddenMarkovBuilder = HiddenMarkov.WithStates states

    /// Adds an emission block (declared with <see cref="Block"/>).
    let observe (block: #Block) (builder: HiddenMarkovBuilder) : HiddenMarkovBuilder = builder.Observe(block :> Block)

    /// Adds emission blocks in order.
    let observeAll (blocks: Block list) (builder: HiddenMarkovBuilder) : HiddenMarkovBuilder = builder.Observe(Array.ofList blocks)

    /// Restricts the allowed transitions (<c>TransitionStructure.Full</c>, <c>LeftToRight n</c>, <c>FromMask …</c>).
    let transitions (structure: TransitionStructure) (builder: HiddenMarkovBuilder) : HiddenMarkovBuilder =
        builder.WithTransitions structure

    /// A left-to-right (Bakis) chain: from state i only to i, i + 1, …, i + maxJump, starting in state 0.
    let leftToRight (maxJump: int) (builder: HiddenMarkovBuilder) : HiddenMarkovBuilder =
        builder.WithTransitions(TransitionStructure.LeftToRight maxJump)

    /// A symmetric Dirichlet(α) prior on every row of A over its allowed transitions (α ≥ 1).
    let transitionPrior (concentration: float) (builder: HiddenMarkovBuilder) : HiddenMarkovBuilder =
        builder.WithTransitionPrior concentration

    /// A Dirichlet prior on each row of A, row i with concentrations α_i· (K lists of K values, each ≥ 1 on allowed
    /// entries; structural zeros are ignored).
    let transitionPriorWith (concentrations: float list list) (builder: HiddenMarkovBuilder) : HiddenMarkovBuilder =
        builder.WithTransitionPrior(array2D concentrations)

    /// A symmetric Dirichlet(α) prior on the initial probabilities π (α ≥ 1).
    let initialPrior (concentration: float) (builder: HiddenMarkovBuilder) : HiddenMarkovBuilder =
        builder.WithInitialPrior concentration

    /// A Dirichlet prior on the initial probabilities π, one concentration per state (each ≥ 1).
    let initialPriorWith (concentrations: float list) (builder: HiddenMarkovBuilder) : HiddenMarkovBuilder =
        builder.WithInitialPrior concentrations

    /// Ties the chain: every row of A is one distribution π over the states, which is also the initial
    /// distribution, so states are drawn independently at every step (a K-component mixture over the steps; a null
    /// model). Its prior is the initial-state prior.
    let tieTransitions (builder: HiddenMarkovBuilder) : HiddenMarkovBuilder = builder.TieTransitions()

    /// Fixes A to the given K × K row-stochastic matrix (not estimated).
    let fixTransitions (transitions: float list list) (builder: HiddenMarkovBuilder) : HiddenMarkovBuilder =
        builder.FixTransitions(array2D transitions)

    /// Checks the declaration and returns the immutable model.
    let build (builder: HiddenMarkovBuilder) : HiddenMarkovModel = builder.Build()

/// <summary>
/// The computation expression behind <c>mixture k { … }</c>: each custom operation is the <see cref="Mixture"/>
/// pipeline function of the same name, and the expression's value is the built <c>MixtureModel</c>.
/// </summary>
type MixtureExpression(components: int) =
    /// The empty declaration.
    member _.Yield(_: unit) : MixtureBuilder = Mixture.create components

    /// Adds an observed block.
    [<CustomOperation("observe")>]
    member _.Observe(builder: MixtureBuilder, block: Block) : MixtureBuilder = Mixture.observe block builder

    /// Adds observed blocks in order.
    [<CustomOperation("observeAll")>]
    member _.ObserveAll(builder: MixtureBuilder, blocks: Block list) : MixtureBuilder = Mixture.observeAll blocks builder

    /// A symmetric Dirichlet(α) prior on the weights.
    [<CustomOperation("weightPrior")>]
    member _.WeightPrior(builder: MixtureBuilder, concentration: float) : MixtureBuilder = Mixture.weightPrior concentration builder

    /// A Dirichlet prior on the weights.
    [<CustomOperation("weightPriorWith")>]
    member _.WeightPriorWith(builder: MixtureBuilder, prior: DirichletPrior) : MixtureBuilder = Mixture.weightPriorWith prior builder

    /// Softmax gating on covariate columns (a mixture of experts), without a prior.
    [<CustomOperation("gatedBy")>]
    member _.GatedBy(builder: MixtureBuilder, covariates: int list) : MixtureBuilder = Mixture.gatedBy covariates builder

    /// Builds the model.
    member _.Run(builder: MixtureBuilder) : MixtureModel = Mixture.build builder

/// <summary>
/// The computation expression behind <c>hmm k { … }</c>: each custom operation is the <see cref="Hmm"/> pipeline
/// function of the same name (<c>leftToRight</c> takes no argument: jumps of one state), and the expression's value
/// is the built <c>HiddenMarkovModel</c>.
/// </summary>
type HmmExpression(states: int) =
    /// The empty declaration.
    member _.Yield(_: unit) : HiddenMarkovBuilder = Hmm.create states

    /// Adds an emission block.
    [<CustomOperation("observe")>]
    member _.Observe(builder: HiddenMarkovBuilder, block: Block) : HiddenMarkovBuilder = Hmm.observe block builder

    /// Adds emission blocks in order.
    [<CustomOperation("observeAll")>]
    member _.ObserveAll(builder: HiddenMarkovBuilder, blocks: Block list) : HiddenMarkovBuilder = Hmm.observeAll blocks builder

    /// Restricts the allowed transitions.
    [<CustomOperation("transitions")>]
    member _.Transitions(builder: HiddenMarkovBuilder, structure: TransitionStructure) : HiddenMarkovBuilder = Hmm.transitions structure builder

    /// A left-to-right chain with jumps of one state.
    [<CustomOperation("leftToRight")>]
    member _.LeftToRight(builder: HiddenMarkovBuilder) : HiddenMarkovBuilder = Hmm.leftToRight 1 builder

    /// A symmetric Dirichlet(α) prior on every row of the transition matrix.
    [<CustomOperation("transitionPrior")>]
    member _.TransitionPrior(builder: HiddenMarkovBuilder, concentration: float) : HiddenMarkovBuilder = Hmm.transitionPrior concentration builder

    /// A symmetric Dirichlet(α) prior on the initial probabilities.
    [<CustomOperation("initialPrior")>]
    member _.InitialPrior(builder: HiddenMarkovBuilder, concentration: float) : HiddenMarkovBuilder = Hmm.initialPrior concentration builder

    /// Fixes the transition matrix.
    [<CustomOperation("fixTransitions")>]
    member _.FixTransitions(builder: HiddenMarkovBuilder, transitions: float list list) : HiddenMarkovBuilder = Hmm.fixTransitions transitions builder

    /// Builds the model.
    member _.Run(builder: HiddenMarkovBuilder) : HiddenMarkovModel = Hmm.build builder

/// The computation expressions' entry points, opened with <c>EmDsl.FSharp</c>.
[<AutoOpen>]
module ModelExpressions =
    /// <summary>Declares a K-component mixture: <c>mixture 3 { observe vitals; observe visits; weightPrior 1.1 }</c>.</summary>
    let mixture (components: int) = MixtureExpression components

    /// <summary>Declares a K-state hidden Markov model: <c>hmm 2 { observe counts; leftToRight; transitionPrior 1.5 }</c>.</summary>
    let hmm (states: int) = HmmExpression states
