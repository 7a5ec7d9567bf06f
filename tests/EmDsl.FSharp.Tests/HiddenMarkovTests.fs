/// Hidden Markov models declared, fitted and queried from F#, and EmDsl.Testing's properties used from F# (xunit
/// and FsCheck), the way an F# user would.
module EmDsl.FSharp.Tests.HiddenMarkovTests

open System
open System.IO
open EmDsl.Building
open EmDsl.Data
open EmDsl.Families
open EmDsl.Inference
open EmDsl.Testing
open FsCheck
open FsCheck.FSharp
open Xunit
open EmDsl.FSharp.Tests.TestSupport

/// The annual counts of major earthquakes, 1900–2006.
let earthquakes () =
    File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "data", "earthquakes.csv"))
    |> Array.skip 1
    |> Array.map (fun line -> float (line.Split(',')[1]))
    |> DataMatrix.FromColumn

/// Sticky two-state Poisson sequences (rates 2 and 9), `count` of them.
let sequences (rng: Random) count =
    [ for _ in 1..count ->
        let mutable state = rng.Next 2
        array2D [ for _ in 1..(50 + rng.Next 100) ->
                    if rng.NextDouble() < 0.1 then state <- 1 - state
                    [ float (Sample.poisson rng (if state = 0 then 2.0 else 9.0)) ] ] ]
    |> SequenceData.FromArrays

[<Fact>]
let ``A Poisson HMM of the earthquake counts, fitted and decoded from F#`` () =
    let quakes = Blocks.Poisson("quakes", [ 0 ])
    let model = HiddenMarkov.WithStates(2).Observe(quakes).Build()
    let fit = model.Fit(earthquakes (), FitOptions(Restarts = 5, Seed = 1, Tolerance = 1e-10))
    Assert.Equal(-341.8787, fit.LogLikelihood, 3)
    let rates = fit.Parameters quakes |> Seq.map (fun p -> p.Rates[0]) |> Seq.sort |> Seq.toList
    Assert.Equal(15.42, rates[0], 2)
    Assert.Equal(26.02, rates[1], 2)
    let a = fit.TransitionMatrix
    for i in 0..1 do Assert.Equal(1.0, a[i, 0] + a[i, 1], 12)
    let path = fit.Decode(earthquakes ())
    Assert.Equal(107, path.Length)
    Assert.True(path |> Array.forall (fun s -> s = 0 || s = 1))
    Assert.True(fit.Converged, string fit.Status)
    Assert.True(isNonDecreasing (fit.FreeEnergyTrace |> Seq.map (fun p -> p.Value)))

[<Fact>]
let ``Sequences from F# lists, a left-to-right chain, priors and predictions`` () =
    let rng = Random 3
    let data = sequences rng 6
    let counts = Blocks.Poisson("n", [ 0 ])
    let model =
        HiddenMarkov.WithStates(2)
            .Observe(counts)
            .WithTransitionPrior(1.5)
            .WithInitialPrior(1.2)
            .Build()
    let fit = model.Fit(data, FitOptions(Seed = 2))
    Assert.Equal(6, fit.Decode(data).Count)
    Assert.Equal(data.Count, fit.ScoreSequences(data).Length)
    let marginals = fit.PosteriorMarginals(data.Sequence 0)
    Assert.Equal(data.Lengths[0], marginals.GetLength 0)
    let sample = fit.Sample([ 20; 30 ], seed = 4)
    Assert.Equal<int seq>([ 20; 30 ], sample.Data.Lengths)
    let ltr = HiddenMarkov.WithStates(3).Observe(counts).WithTransitions(TransitionStructure.LeftToRight()).Build()
    let lfit = ltr.Fit(data, FitOptions(Seed = 1))
    Assert.Equal(0.0, lfit.TransitionMatrix[1, 0])
    Assert.Equal(0.0, lfit.TransitionMatrix[2, 1])

[<Fact>]
let ``Bad sequence input names the sequence from F#`` () =
    let data = DataMatrix.FromColumn [ 1.0; 2.0; 3.0 ]
    let e = Assert.Throws<ArgumentException>(fun () -> SequenceData.FromLengths(data, [ 2; 0; 1 ]) |> ignore)
    Assert.Contains("Sequence 1", e.Message)
    let e = Assert.Throws<ArgumentException>(fun () -> SequenceData.FromLengths(data, [ 2 ]) |> ignore)
    Assert.Contains("add up to 2", e.Message)

[<Fact>]
let ``EmDsl.Testing checks an F# model's free energy, from xunit`` () =
    let counts = Blocks.Poisson("n", [ 0 ])
    let model = HiddenMarkov.WithStates(2).Observe(counts).Build()
    EmProperties.CheckModel(model, (fun rng -> sequences rng 3), cases = 8).ThrowIfViolated() |> ignore
    let mixture = Mixture.WithComponents(2).Observe(counts).Build()
    let rows (rng: Random) = DataMatrix.FromColumn [ for _ in 1..300 -> float (Sample.poisson rng (if rng.Next 2 = 0 then 2.0 else 9.0)) ]
    EmProperties.CheckModel(mixture, rows, cases = 8).ThrowIfViolated() |> ignore
    EmProperties.CheckFamily(PoissonFamily 1, (fun rng -> [| 4.0 * rng.NextDouble() - 2.0 |])).ThrowIfViolated() |> ignore

[<Fact>]
let ``EmDsl.Testing's guarantees as an FsCheck property over seeds`` () =
    let model = HiddenMarkov.WithStates(2).Observe(Blocks.Poisson("n", [ 0 ])).Build()
    let property seed =
        let fit = model.Fit(sequences (Random seed) 2, EmProperties.ExactMode(iterations = 25))
        (EmProperties.EmGuarantees fit).Holds
    Properties.check 20 (Prop.forAll (Arb.fromGen (Gen.choose (0, 100000))) property)
