module EmDsl.FSharp.Tests.MissingValueTests

open System
open EmDsl.Building
open EmDsl.Data
open EmDsl.Families
open EmDsl.Inference
open Xunit

/// Two Gaussian clusters in 2-D with a Poisson count column, a quarter of the entries missing at random.
let private holedData (seed: int) =
    let random = Random seed
    let normal () = MathNet.Numerics.Distributions.Normal.Sample(random, 0.0, 1.0)
    let n = 1200
    let values = Array2D.zeroCreate n 3
    let seen = Array2D.init n 3 (fun _ _ -> random.NextDouble() >= 0.25)
    for i in 0 .. n - 1 do
        let k = i % 2
        values[i, 0] <- (if k = 0 then -3.0 else 3.0) + normal ()
        values[i, 1] <- (if k = 0 then 1.0 else -1.0) + 0.5 * normal ()
        values[i, 2] <- float (MathNet.Numerics.Distributions.Poisson.Sample(random, (if k = 0 then 2.0 else 8.0)))
    values, seen

[<Fact>]
let ``An F# fit marginalises missing values and recovers the clusters`` () =
    let values, seen = holedData 17
    let data = DataMatrix.WithMissing(values, seen)
    Assert.True data.HasMissingValues
    let g = Blocks.Gaussian("g", [ 0; 1 ], CovarianceType.Full)
    let p = Blocks.Poisson("p", [ 2 ])
    let model = Mixture.WithComponents(2).Observe(g).Observe(p).Build()
    let fit = model.Fit(data, FitOptions(MissingValues = MissingValuePolicy.Marginalize, Seed = 1))
    Assert.False fit.Diagnostics.FreeEnergyEverDecreased
    Assert.False fit.Diagnostics.ObjectiveEverDecreased
    let means = fit.Parameters g |> Seq.map (fun c -> c.Mean[0]) |> Seq.sort |> List.ofSeq
    // ≈ 450 observed values per cluster and column: a mean's standard error is ≈ 0.05.
    Assert.InRange(means[0], -3.2, -2.8)
    Assert.InRange(means[1], 2.8, 3.2)
    let rates = fit.Parameters p |> Seq.map (fun c -> c.Rates[0]) |> Seq.sort |> List.ofSeq
    Assert.InRange(rates[0], 1.7, 2.3)
    Assert.InRange(rates[1], 7.4, 8.6)
    let scores = fit.ScoreSamples data
    Assert.All(scores, fun s -> Assert.True(Double.IsFinite s))
    Assert.Equal(fit.LogLikelihood, Array.sum scores, 6)

[<Fact>]
let ``Without the option a hole names its row, column and the option`` () =
    let data = DataMatrix.From(array2D [ [ 1.0; 2.0 ]; [ nan; 4.0 ]; [ 0.0; 1.0 ] ], MissingValues.Allow)
    let model = Mixture.WithComponents(1).Observe(Blocks.Gaussian("g", [ 0; 1 ])).Build()
    let error = Assert.Throws<ArgumentException>(fun () -> model.Fit(data) |> ignore)
    Assert.Contains("Row 1, column 0", error.Message)
    Assert.Contains("FitOptions.MissingValues", error.Message)

[<Fact>]
let ``The F# layer fits with missing values through Data.withMissing and the MissingValues setting`` () =
    let values, seen = holedData 23
    let g = EmDsl.FSharp.Block.gaussian "g" [ 0; 1 ] EmDsl.FSharp.Covariance.Full
    let fit =
        EmDsl.FSharp.Mixture.create 2
        |> EmDsl.FSharp.Mixture.observe g
        |> EmDsl.FSharp.Mixture.build
        |> EmDsl.FSharp.Fit.runWith [ EmDsl.FSharp.Seed 1; EmDsl.FSharp.MissingValues MissingValuePolicy.Marginalize ] (EmDsl.FSharp.Data.withMissing values seen)
    let means = EmDsl.FSharp.Fit.parameters g fit |> List.map (fun c -> c.Mean[0]) |> List.sort
    Assert.InRange(means[0], -3.2, -2.8)
    Assert.InRange(means[1], 2.8, 3.2)
