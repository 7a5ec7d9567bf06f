/// EM never lowers its objective (log-likelihood plus log prior): checked on random small models declared
/// in F# and random data for them.
module EmDsl.FSharp.Tests.ObjectiveProperty

open System
open EmDsl.Building
open EmDsl.Data
open EmDsl.Families.Priors
open EmDsl.Inference
open FsCheck.FSharp
open Xunit
open EmDsl.FSharp.Tests.TestSupport

/// One block of a random model.
type BlockSpec =
    | Gaussian of dims: int * covariance: CovarianceType
    | Poisson of dims: int
    | Bernoulli of dims: int
    | Categorical of categories: int
    | Exponential of dims: int
    member spec.Columns =
        match spec with
        | Gaussian(d, _) | Poisson d | Bernoulli d | Exponential d -> d
        | Categorical _ -> 1

type Case =
    { Components: int
      Blocks: BlockSpec list
      Rows: int
      WithPriors: bool
      DataSeed: int }

let blockSpec =
    Gen.oneof
        [ gen {
              let! d = Gen.choose (1, 3)
              let! cov = Gen.elements [ CovarianceType.Full; CovarianceType.Tied; CovarianceType.Diagonal; CovarianceType.Spherical ]
              return Gaussian(d, cov)
          }
          Gen.choose (1, 3) |> Gen.map Poisson
          Gen.choose (1, 4) |> Gen.map Bernoulli
          Gen.choose (2, 4) |> Gen.map Categorical
          Gen.choose (1, 2) |> Gen.map Exponential ]

let case =
    gen {
        let! k = Gen.choose (1, 4)
        let! blocks = Gen.choose (1, 3) |> Gen.bind (fun n -> Gen.listOfLength n blockSpec)
        let! rows = Gen.choose (max 2 k, 80)
        let! priors = Gen.elements [ false; true ]
        let! seed = Gen.choose (0, Int32.MaxValue)
        return { Components = k; Blocks = blocks; Rows = rows; WithPriors = priors; DataSeed = seed }
    }

/// Declares the blocks of a case side by side, each on the next free columns.
let declare (case: Case) : Block list =
    let declareOne (spec: BlockSpec) index first : Block =
        let name = $"b{index}"
        let cols = Blocks.ColumnRange(first, spec.Columns)
        match spec, case.WithPriors with
        | Gaussian(_, cov), false -> Blocks.Gaussian(name, cols, cov)
        | Gaussian(d, cov), true ->
            let prior = GaussianPrior(List.replicate d 0.0, 0.01, ReadOnlyMatrix.Identity(d, 0.1), float d + 3.0)
            Blocks.Gaussian(name, cols, cov, prior)
        | Poisson _, priors -> Blocks.Poisson(name, cols, ?prior = (if priors then Some(GammaPrior(1.5, 0.5)) else None))
        | Bernoulli _, priors -> Blocks.Bernoulli(name, cols, ?prior = (if priors then Some(BetaPrior(1.2, 1.2)) else None))
        | Categorical c, priors -> Blocks.Categorical(name, cols, c, ?prior = (if priors then Some(DirichletPrior.Symmetric(c, 1.2)) else None))
        | Exponential _, priors -> Blocks.Exponential(name, cols, ?prior = (if priors then Some(GammaPrior(2.0, 1.0)) else None))

    let firstColumns = case.Blocks |> List.scan (fun first spec -> first + spec.Columns) 0
    List.zip case.Blocks (List.truncate case.Blocks.Length firstColumns)
    |> List.mapi (fun index (spec, first) -> declareOne spec index first)

/// Random data in each block's support; rows come from `k` hidden groups so there is structure to find.
let generate (case: Case) =
    let rng = Random(case.DataSeed)
    let groups = case.Components
    let column _ = [| for _ in 1..groups -> rng.NextDouble() |] // per-group parameter in (0, 1)
    let draws =
        case.Blocks
        |> List.collect (fun spec ->
            match spec with
            | Gaussian(d, _) ->
                List.init d (fun _ -> let centre = column () in fun g -> 4.0 * centre[g] + Sample.normal rng)
            | Poisson d -> List.init d (fun _ -> let r = column () in fun g -> float (Sample.poisson rng (0.2 + 6.0 * r[g])))
            | Bernoulli d -> List.init d (fun _ -> let p = column () in fun g -> if rng.NextDouble() < p[g] then 1.0 else 0.0)
            | Categorical c -> [ fun _ -> float (rng.Next c) ]
            | Exponential d -> List.init d (fun _ -> let r = column () in fun g -> Sample.exponential rng (0.2 + 3.0 * r[g])))
    [| for _ in 1..case.Rows ->
           let g = rng.Next groups
           draws |> List.map (fun draw -> draw g) |> Array.ofList |]

[<Fact>]
let ``The objective never decreases on random small models`` () =
    Prop.forAll (Arb.fromGen case) (fun case ->
        let model =
            (Mixture.WithComponents case.Components, declare case)
            ||> List.fold (fun builder block -> builder.Observe block)
            |> fun builder -> if case.WithPriors then builder.WithWeightPrior(1.5) else builder
            |> _.Build()
        let data = generate case |> DataMatrix.FromRows
        let fit = model.Fit(data, FitOptions(Seed = case.DataSeed, MaxIterations = 60, Tolerance = 0.0, MaxDegreeOfParallelism = 1))

        (isNonDecreasing fit.ObjectiveTrace
         && not fit.Diagnostics.ObjectiveEverDecreased
         && Seq.forall Double.IsFinite fit.ObjectiveTrace)
        |> Prop.label $"model:\n{model}\ntrace: %A{List.ofSeq fit.ObjectiveTrace}\nevents: %A{List.ofSeq fit.Diagnostics.Events}")
    |> Properties.check 100

[<Fact>]
let ``The property runner can fail`` () =
    Assert.ThrowsAny<exn>(fun () -> Prop.forAll (Arb.fromGen case) (fun case -> case.Rows < 40) |> Properties.check 100)
    |> ignore
