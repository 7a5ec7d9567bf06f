/// EmDsl.FSharp, the F# layer: models declared with the pipeline and the computation expressions, fitted with
/// Fit.runWith and read back through typed handles, must be the very models and fits of the C# builder (bit for bit),
/// and each of its settings must reach the engine. The file opens EmDsl.Building as well, so that the layer's
/// Mixture, Block and Hmm modules are shown to resolve next to the C# Mixture and Block types.
module EmDsl.FSharp.Tests.FSharpLayerTests

open System
open System.Threading
open EmDsl.Building
open EmDsl.Data
open EmDsl.Families
open EmDsl.Families.Priors
open EmDsl.Inference
open EmDsl.FSharp
open Xunit
open EmDsl.FSharp.Tests.TestSupport

/// Two fits are the same when their whole objective traces, log-likelihoods and free energies agree exactly.
let assertSameFit (expected: #ModelFit) (actual: #ModelFit) =
    Assert.Equal<float seq>(expected.ObjectiveTrace, actual.ObjectiveTrace)
    Assert.Equal(expected.LogLikelihood, actual.LogLikelihood)
    Assert.Equal(expected.LogPrior, actual.LogPrior)
    Assert.Equal(expected.Iterations, actual.Iterations)
    Assert.Equal<float seq>(expected.FreeEnergyTrace |> Seq.map _.Value, actual.FreeEnergyTrace |> Seq.map _.Value)

/// Rows [x; y; count] from two well-separated groups (Gaussian position, Poisson count), seeded.
let mixedRows seed rows =
    let rng = Random(seed)
    [ for _ in 1..rows ->
        if rng.NextDouble() < 0.4 then
            [ Sample.normal rng; 0.5 * Sample.normal rng; float (Sample.poisson rng 2.0) ]
        else
            [ 5.0 + Sample.normal rng; 3.0 + 0.5 * Sample.normal rng; float (Sample.poisson rng 9.0) ] ]

[<Fact>]
let ``Pipeline, computation expression and C# builder declare the same Gaussian + Poisson mixture and fit it identically`` () =
    let data = Data.ofRows (mixedRows 5 400)
    let position = Block.gaussian "position" [ 0; 1 ] Covariance.Diagonal
    let visits = Block.poisson "visits" [ 2 ]

    let piped =
        Mixture.create 2
        |> Mixture.observe position
        |> Mixture.observe visits
        |> Mixture.weightPrior 1.1
        |> Mixture.build
    let expressed = mixture 2 { observe position; observe visits; weightPrior 1.1 }
    let listed = mixture 2 { observeAll [ position; visits ]; weightPrior 1.1 }
    let pipedList = Mixture.create 2 |> Mixture.observeAll [ position; visits ] |> Mixture.weightPrior 1.1 |> Mixture.build
    let csharp = Mixture.WithComponents(2).Observe(position, visits).WithWeightPrior(1.1).Build()
    for model in [ piped; expressed; listed; pipedList ] do
        Assert.Equal(string csharp, string model)
        Assert.Equal(csharp.FreeParameterCount, model.FreeParameterCount)

    let settings = [ Seed 4; Restarts 3; Tolerance 1e-9 ]
    let reference = csharp.Fit(data, FitOptions(Seed = 4, Restarts = 3, Tolerance = 1e-9))
    for model in [ piped; expressed; listed; pipedList ] do
        let fit = model |> Fit.runWith settings data
        assertSameFit reference fit
        Assert.Equal<GaussianParameters list>(List.ofSeq (reference.Parameters position), Fit.parameters position fit)
        Assert.Equal<PoissonParameters list>(List.ofSeq (reference.Parameters visits), Fit.parameters visits fit)
        Assert.Equal<float list>(List.ofSeq reference.Weights, Fit.weights fit)
        Assert.Equal<int list>(List.ofArray (reference.Predict data), Fit.predict data fit)

    // The typed results are about the data: the group with the larger x has the larger count rate.
    let fit = piped |> Fit.runWith settings data
    let byX = List.zip (Fit.parameters position fit) (Fit.parameters visits fit) |> List.sortBy (fun (g, _) -> g.Mean[0])
    match byX with
    | [ (g0, p0); (g1, p1) ] ->
        Assert.InRange(g0.Mean[0], -0.3, 0.3)
        Assert.InRange(g1.Mean[0], 4.7, 5.3)
        Assert.InRange(p0.Rates[0], 1.5, 2.5)
        Assert.InRange(p1.Rates[0], 8.0, 10.0)
    | other -> failwith $"expected two components, got %A{other}"
    Assert.Equal(Converged, Fit.status fit)
    Assert.True(isNonDecreasing (Fit.objectiveTrace fit))
    Assert.Equal(Fit.logLikelihood fit + Fit.logPrior fit, Fit.objective fit, 9)

[<Fact>]
let ``Old Faithful through the layer: typed parameters, published optimum, and the C# fit bit for bit`` () =
    let data = Data.readCsv (IO.Path.Combine(AppContext.BaseDirectory, "data", "old_faithful.csv"))
    Assert.Equal(Some [ "eruptions"; "waiting" ], Data.columnNames data)
    let geyser = Block.gaussian "geyser" [ 0; 1 ] Covariance.Full
    let fit = Mixture.create 2 |> Mixture.observe geyser |> Mixture.build |> Fit.runWith [ Seed 1; Tolerance 1e-8 ] data
    let reference = Mixture.WithComponents(2).Observe(geyser).Build().Fit(oldFaithful (), FitOptions(Seed = 1, Tolerance = 1e-8))
    assertSameFit reference fit

    // R's mclust and scikit-learn reach log L = −1130.264 with these clusters (see OldFaithfulTests).
    Assert.Equal(-1130.264, Fit.logLikelihood fit, 3)
    let components: GaussianParameters list = Fit.parameters geyser fit
    let short, long =
        match List.zip (Fit.weights fit) components |> List.sortBy (fun (_, c) -> c.Mean[0]) with
        | [ s; l ] -> s, l
        | other -> failwith $"expected two components, got {other.Length}"
    Assert.InRange((snd short).Mean[1], 53.5, 55.5)
    Assert.InRange((snd long).Mean[1], 79.0, 81.0)
    Assert.InRange(fst short, 0.33, 0.38)
    Assert.Equal(11, Fit.freeParameters fit)
    Assert.Equal(-2.0 * Fit.logLikelihood fit + 11.0 * log 272.0, Fit.bic fit, 9)
    Assert.Equal(-2.0 * Fit.logLikelihood fit + 22.0, Fit.aic fit, 9)
    Assert.Empty(Fit.events fit)
    // Responsibilities are rows of K probabilities; their argmax is the prediction.
    let r = Fit.responsibilities data fit
    Assert.Equal(272, r.Length)
    for row, label in List.zip r (Fit.predict data fit) do
        Assert.Equal(1.0, List.sum row, 12)
        Assert.Equal(label, List.findIndex ((=) (List.max row)) row)
    Assert.Equal(Fit.logLikelihood fit, List.sum (Fit.scoreSamples data fit), 8)
    // Untyped access by name gives the same records.
    Assert.Equal<obj list>(components |> List.map (fun c -> c :> obj), Fit.parametersNamed "geyser" fit)

[<Fact>]
let ``Option-typed priors: None is the C# null prior, Some p the C# prior p`` () =
    let data = Data.ofRows (mixedRows 9 300)
    let fitWith (prior: GammaPrior option) =
        let visits = Block.poissonWith prior Sharing.PerComponent "visits" [ 2 ]
        visits, mixture 2 { observe visits } |> Fit.runWith [ Seed 2 ] data

    let plain, none = fitWith None
    let reference = Mixture.WithComponents(2).Observe(Blocks.Poisson("visits", [ 2 ])).Build().Fit(data, FitOptions(Seed = 2))
    assertSameFit reference none
    Assert.Equal(0.0, Fit.logPrior none)
    Assert.Equal<PoissonParameters list>(List.ofSeq (reference.Parameters plain), Fit.parameters plain none)

    let gamma = GammaPrior(3.0, 0.5)
    let withPrior, some = fitWith (Some gamma)
    let referencePrior =
        Mixture.WithComponents(2).Observe(Blocks.Poisson("visits", [ 2 ], gamma)).Build().Fit(data, FitOptions(Seed = 2))
    assertSameFit referencePrior some
    Assert.NotEqual(0.0, Fit.logPrior some)
    Assert.NotEqual(Fit.logLikelihood none, Fit.logLikelihood some)
    Assert.Contains("Gamma", string (mixture 2 { observe withPrior }))

    // The same for a Gaussian block's prior and a categorical block's Dirichlet prior, partially applied.
    let shared = Block.gaussianWith None Sharing.Shared
    let common = shared "common" [ 0 ] Covariance.Spherical
    let fit = mixture 2 { observe common; observe (Block.poisson "n" [ 2 ]) } |> Fit.runWith [ Seed 1 ] data
    match Fit.parameters common fit with
    | [ a; b ] -> Assert.Equal(a, b)
    | other -> failwith $"expected two records, got %A{other}"
    let codes = Data.ofColumn [ 0.0; 1.0; 2.0; 2.0; 1.0; 2.0 ]
    let dirichlet = Block.categoricalWith (Some(DirichletPrior.Symmetric(3, 2.0))) Sharing.PerComponent "c" [ 0 ] 3
    let cfit = mixture 1 { observe dirichlet } |> Fit.run codes
    // MAP with Dirichlet(2, 2, 2): (n_c + 1) / (n + 3) = (1, 2, 3) + 1 over 9.
    let probabilities = (Fit.parameters dirichlet cfit |> List.exactlyOne).Probabilities |> List.ofSeq
    for expected, actual in List.zip [ 2.0 / 9.0; 3.0 / 9.0; 4.0 / 9.0 ] probabilities do
        Assert.Equal(expected, actual, 12)
    Assert.Throws<ArgumentException>(fun () -> Block.categoricalWith (Some(DirichletPrior.Symmetric(2, 2.0))) Sharing.PerComponent "c" [ 0 ] 3 |> ignore)
    |> ignore

[<Fact>]
let ``Hidden Markov models: pipeline and expression fit the earthquakes like the C# builder; decoding is typed`` () =
    let quakes = Block.poisson "quakes" [ 0 ]
    let counts = HiddenMarkovTests.earthquakes ()
    let settings = [ Restarts 5; Seed 1; Tolerance 1e-10 ]
    let piped = Hmm.create 2 |> Hmm.observe quakes |> Hmm.build |> Fit.runWith settings counts
    let expressed = hmm 2 { observe quakes } |> Fit.runWith settings counts
    let reference = HiddenMarkov.WithStates(2).Observe(quakes).Build().Fit(counts, FitOptions(Restarts = 5, Seed = 1, Tolerance = 1e-10))
    assertSameFit reference piped
    assertSameFit reference expressed
    Assert.Equal(-341.8787, Fit.logLikelihood piped, 3)

    let path: int list = Fit.decode counts piped
    Assert.Equal<int list>(List.ofArray (reference.Decode counts), path)
    Assert.Equal(107, path.Length)
    // The state with the higher rate is the one decoded in the busiest year (1943: 41 quakes).
    let rates = Fit.parameters quakes piped |> List.map (fun p -> p.Rates[0])
    let busiest = Data.column 0 counts |> List.indexed |> List.maxBy snd |> fst
    Assert.Equal(List.findIndex ((=) (List.max rates)) rates, path[busiest])
    for row in Fit.transitions piped do Assert.Equal(1.0, List.sum row, 12)
    Assert.Equal(1.0, List.sum (Fit.initial piped), 12)
    for row in Fit.posteriorMarginals counts piped do Assert.Equal(1.0, List.sum row, 12)

    // Several sequences, a left-to-right chain and priors, the same through both styles and the C# builder.
    let rng = Random 3
    let sequences = HiddenMarkovTests.sequences rng 6
    let n = Block.poisson "n" [ 0 ]
    let ltr = hmm 3 { observe n; leftToRight; transitionPrior 1.5; initialPrior 1.2 }
    let ltrPiped = Hmm.create 3 |> Hmm.observe n |> Hmm.leftToRight 1 |> Hmm.transitionPrior 1.5 |> Hmm.initialPrior 1.2 |> Hmm.build
    let csharp = HiddenMarkov.WithStates(3).Observe(n).WithTransitions(TransitionStructure.LeftToRight()).WithTransitionPrior(1.5).WithInitialPrior(1.2).Build()
    let lfit = ltr |> Fit.runWith [ Seed 1 ] sequences
    assertSameFit (csharp.Fit(sequences, FitOptions(Seed = 1))) lfit
    assertSameFit lfit (ltrPiped |> Fit.runWith [ Seed 1 ] sequences)
    let a = Fit.transitions lfit
    Assert.Equal(0.0, a[1][0])
    Assert.Equal(0.0, a[2][1])
    let paths = Fit.decodeAll sequences lfit
    Assert.Equal(6, paths.Length)
    Assert.Equal<int list>(List.ofSeq sequences.Lengths, paths |> List.map List.length)
    // A left-to-right path never goes back.
    for p in paths do Assert.True(p |> List.pairwise |> List.forall (fun (s, t) -> t >= s), $"%A{p}")

    // A fixed transition matrix stays where it was put.
    let fixedA = [ [ 0.9; 0.1 ]; [ 0.2; 0.8 ] ]
    let ffit = hmm 2 { observe quakes; fixTransitions fixedA } |> Fit.run counts
    Assert.Equal<float list list>(fixedA, Fit.transitions ffit)

[<Fact>]
let ``Every fit setting reaches FitOptions; later settings win`` () =
    let start = FitOptions(ChunkRows = Nullable 7)
    let o =
        Fit.options
            [ Options start; Seed 3; Restarts 4; MaxIterations 9; Tolerance 1e-3; CovarianceFloor 1e-4
              ProbabilityFloor 1e-7; EmptyComponentThreshold 1e-5; MaxThreads 2; Floors FloorStrategy.MatchScikitLearn
              CheckMSteps false; MStepOptimizer(EmDsl.Optimization.OptimizerOptions(MaxIterations = 11))
              Initialize(Initialization.KMeansPlusPlus 3); Seed 8; MissingValues MissingValuePolicy.Marginalize ]
    Assert.Equal(Nullable 7, o.ChunkRows)
    Assert.Equal(8, o.Seed)
    Assert.Equal(4, o.Restarts)
    Assert.Equal(9, o.MaxIterations)
    Assert.Equal(1e-3, o.Tolerance)
    Assert.Equal(1e-4, o.CovarianceFloor)
    Assert.Equal(1e-7, o.ProbabilityFloor)
    Assert.Equal(1e-5, o.EmptyComponentThreshold)
    Assert.Equal(2, o.MaxDegreeOfParallelism)
    Assert.Equal(FloorStrategy.MatchScikitLearn, o.Floors)
    Assert.False o.CheckMSteps
    Assert.Equal(MissingValuePolicy.Marginalize, o.MissingValues)
    Assert.Equal(11, o.MStepOptimizer.MaxIterations)
    Assert.Equal(Initialization.KMeansPlusPlus 3, o.Initialization)
    Assert.Equal(FitOptions.Default, Fit.options [])
    Assert.Equal(FitOptions(Seed = 5), Fit.options [ ChunkRows 3; Options(FitOptions(Seed = 5)) ])

[<Fact>]
let ``Run settings: weights, progress, cancellation, a warm start and the status`` () =
    let data = Data.ofRows (mixedRows 2 200)
    let position = Block.gaussian "position" [ 0; 1 ] Covariance.Full
    let model = mixture 2 { observe position }

    // A weight of 2 on every row is the data twice.
    let doubled = model |> Fit.runWith [ Seed 1; Tolerance 1e-12; Weights(List.replicate 200 2.0) ] data
    let twice = model |> Fit.runWith [ Seed 1; Tolerance 1e-12 ] (Data.ofRows (mixedRows 2 200 @ mixedRows 2 200))
    Assert.Equal(400.0, doubled.TotalWeight)
    Assert.Equal(Fit.logLikelihood twice, Fit.logLikelihood doubled, 6)

    // Progress arrives synchronously, once per iteration including the start.
    let reports = Collections.Generic.List<FitProgress>()
    let fit = model |> Fit.runWith [ Seed 1; OnIteration reports.Add ] data
    Assert.Equal(Fit.iterations fit + 1, reports.Count)
    Assert.Equal<float list>(Fit.objectiveTrace fit, [ for r in reports -> r.Objective ])

    use cancelled = new CancellationTokenSource()
    cancelled.Cancel()
    Assert.ThrowsAny<OperationCanceledException>(fun () -> model |> Fit.runWith [ Cancellation cancelled.Token ] data |> ignore) |> ignore

    // From one random partition (both components start near the middle) one iteration is not enough with tolerance 0;
    // starting again from that fit goes on where it stopped. (From k-means++ these clusters are found at once, and
    // whether the first step's change is exactly 0 depends on the last bit.)
    let first = model |> Fit.runWith [ Seed 1; MaxIterations 1; Tolerance 0.0; Initialize(Initialization.RandomPartitions(1, 0)) ] data
    Assert.Equal(IterationLimit, Fit.status first)
    let resumed = model |> Fit.runWith [ StartFrom first ] data
    Assert.Equal(Converged, Fit.status resumed)
    // It starts where the first run ended (up to the rounding of a fresh E-step) and EM does not lower it.
    Assert.Equal(Fit.objective first, List.head (Fit.objectiveTrace resumed), 9)
    Assert.True(isNonDecreasing [ Fit.objective first; Fit.objective resumed ])

    // Sampling is reproducible and labelled.
    let rows, labels = Fit.sample 50 7 fit
    Assert.Equal(50, Data.rows rows)
    Assert.Equal(50, labels.Length)
    Assert.Equal<float list list>(Data.toRows rows, Data.toRows (fst (Fit.sample 50 7 fit)))

[<Fact>]
let ``Data from lists, 2-D arrays, columns and sequences`` () =
    let rows = [ [ 1.0; 2.0 ]; [ 3.0; 4.0 ]; [ 5.0; 6.0 ] ]
    let m = Data.ofRows rows
    Assert.Equal<float list list>(rows, Data.toRows (Data.ofArray2D (array2D rows)))
    Assert.Equal<float list>([ 2.0; 4.0; 6.0 ], Data.column 1 m)
    Assert.Equal<float list>([ 3.0; 4.0 ], Data.row 1 m)
    Assert.Equal((3, 2), (Data.rows m, Data.columns m))
    Assert.Equal(None, Data.columnNames m)
    let named = m |> Data.withColumnNames [ "a"; "b" ]
    Assert.Equal<float list>([ 1.0; 3.0; 5.0 ], Data.columnNamed "a" named)
    Assert.Equal<float list>([ 1.0; 3.0; 5.0 ], Data.column 0 (Data.ofColumn [ 1.0; 3.0; 5.0 ]))
    let e = Assert.Throws<ArgumentException>(fun () -> Data.ofRows [ [ 1.0 ]; [ 1.0; 2.0 ] ] |> ignore)
    Assert.Contains("row 1 has 2 values", e.Message)

    let split = m |> Data.sequencesOfLengths [ 1; 2 ]
    Assert.Equal<int seq>([ 1; 2 ], split.Lengths)
    let ids = Data.ofRows [ [ 7.0; 0.1 ]; [ 7.0; 0.2 ]; [ 9.0; 0.3 ] ] |> Data.sequencesById 0
    Assert.Equal<int seq>([ 2; 1 ], ids.Lengths)
    Assert.Equal(2, (Data.sequences [ m; m ]).Count)
    Assert.Equal(1, (Data.sequence m).Count)

[<Fact>]
let ``Regression, factor and other family blocks through the layer match the C# factories`` () =
    let rng = Random 1
    let rows =
        [ for _ in 1..300 ->
            let x = Sample.normal rng
            let k = rng.Next 2
            let y = (if k = 0 then 1.0 + 2.0 * x else -1.0 - x) + 0.3 * Sample.normal rng
            [ x; y; float (Sample.poisson rng (if k = 0 then 2.0 else 6.0)); abs (Sample.normal rng) + 0.1 ] ]
    let data = Data.ofRows rows
    let line = Block.linearRegression "line" 1 [ 0 ]
    let fit = mixture 2 { observe line } |> Fit.runWith [ Seed 3; Restarts 3 ] data
    let reference = Mixture.WithComponents(2).Observe(Blocks.LinearRegression("line", 1, [ 0 ])).Build().Fit(data, FitOptions(Seed = 3, Restarts = 3))
    assertSameFit reference fit
    let slopes = Fit.parameters line fit |> List.map (fun p -> p.Coefficients.Slopes[0]) |> List.sort
    Assert.InRange(slopes[0], -1.2, -0.8)
    Assert.InRange(slopes[1], 1.8, 2.2)

    let ridge = Block.poissonRegressionWith (Some(CoefficientPrior 1.0)) true Sharing.PerComponent "counts" 2 [ 0 ]
    Assert.Equal(string (Blocks.PoissonRegression("counts", 2, [ 0 ], prior = CoefficientPrior 1.0)), string ridge)
    Assert.Equal(string (Blocks.LogisticRegression("b", 2, [ 0; 1 ])), string (Block.logisticRegression "b" 2 [ 0; 1 ]))
    Assert.Equal(string (Blocks.Exponential("e", [ 3 ])), string (Block.exponential "e" [ 3 ]))
    Assert.Equal(string (Blocks.Gamma("g", [ 3 ])), string (Block.gamma "g" [ 3 ]))
    Assert.Equal(string (Blocks.NegativeBinomial("nb", [ 2 ], 4.0)), string (Block.negativeBinomial "nb" [ 2 ] 4.0))
    Assert.Equal(string (Blocks.Bernoulli("b", [ 0 ])), string (Block.bernoulli "b" [ 0 ]))
    Assert.Equal(string (Blocks.Factor("f", [ 0; 1; 2 ], 1)), string (Block.factor "f" [ 0; 1; 2 ] 1))
    Assert.Equal(string (Blocks.Factor("p", [ 0; 1; 2 ], 1, NoiseModel.Isotropic)), string (Block.ppca "p" [ 0; 1; 2 ] 1))
    let mfa = Block.factorWith { FactorSettings.Default with SharedNoise = true } "mfa" [ 0; 1; 2 ] 1
    Assert.Equal(string (Blocks.Factor("mfa", [ 0; 1; 2 ], 1, sharedNoise = true)), string mfa)
    Assert.Equal("mfa", Block.name mfa)
    Assert.Equal<int list>([ 0; 1; 2 ], Block.columns mfa)

    // A mixture of experts gated by x, declared in the pipeline.
    let gated = Mixture.create 2 |> Mixture.observe (Block.poisson "n" [ 2 ]) |> Mixture.gatedBy [ 0 ] |> Mixture.build
    let gfit = gated |> Fit.runWith [ Seed 1 ] data
    Assert.Equal(2, (Fit.gating gfit).Length)
    Assert.Empty(Fit.gating fit)
