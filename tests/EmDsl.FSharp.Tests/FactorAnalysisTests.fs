/// Factor analysis, probabilistic PCA and a factor block inside a mixture, declared and fitted from F#.
module EmDsl.FSharp.Tests.FactorAnalysisTests

open System
open System.IO
open EmDsl.Building
open EmDsl.Data
open EmDsl.Inference
open EmDsl.Models
open EmDsl.Testing
open Xunit

/// The wine data (13 chemical measurements of 178 wines), standardised.
let wine () =
    let lines = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "data", "wine.csv")) |> Array.skip 1
    let raw = lines |> Array.map (fun l -> l.Split(',') |> Array.map float)
    let d = raw[0].Length
    let standardised =
        [| for j in 0 .. d - 1 ->
             let column = raw |> Array.map (fun r -> r[j])
             let mean = Array.average column
             let sd = sqrt (column |> Array.averageBy (fun v -> (v - mean) ** 2.0))
             column |> Array.map (fun v -> (v - mean) / sd) |]
    Array2D.init raw.Length d (fun i j -> standardised[j][i]) |> DataMatrix.From

[<Fact>]
let ``Factor analysis of the wine data from F#: BIC picks a model, loadings rotate, scores come back`` () =
    let data = wine ()
    let fits = [ for q in 1 .. 4 -> FactorAnalysis(q).Fit(data, FitOptions(Tolerance = 1e-10)) ]
    let bics = fits |> List.map (fun f -> f.Bic data)
    // More factors never lower the maximised likelihood.
    fits |> List.pairwise |> List.iter (fun (a, b) -> Assert.True(b.LogLikelihood >= a.LogLikelihood - 1e-6))
    let best = fits[bics |> List.indexed |> List.minBy snd |> fst]
    Assert.Equal(13, best.Parameters.Dimension)
    let scores = best.Scores data
    Assert.Equal(178, Array2D.length1 scores)
    Assert.Equal(best.Parameters.Factors, Array2D.length2 scores)
    let common (l: ReadOnlyMatrix) =
        Array2D.init l.Rows l.Rows (fun i j -> Seq.sum (seq { for a in 0 .. l.Columns - 1 -> l[i, a] * l[j, a] }))
    let before, after = common best.Loadings, common best.RotatedLoadings
    before |> Array2D.iteri (fun i j v -> Assert.Equal(v, after[i, j], 10))
    Assert.True(best.Result.FreeEnergyTrace.Count > 0)

[<Fact>]
let ``A factor block composes with a Poisson block in a mixture, and EmDsl.Testing checks it`` () =
    let factors = Blocks.Factor("chemistry", [ 0; 1; 2; 3 ], 1)
    let counts = Blocks.Poisson("visits", [ 4 ])
    let model = Mixture.WithComponents(2).Observe(factors).Observe(counts).Build()
    let generate (rng: Random) =
        array2D [ for i in 1 .. 300 ->
                    let k = i % 2
                    let z = MathNet.Numerics.Distributions.Normal.Sample(rng, 0.0, 1.0)
                    [ for d in 0 .. 3 -> float (3 * k) + (0.5 + 0.2 * float d) * z + 0.6 * MathNet.Numerics.Distributions.Normal.Sample(rng, 0.0, 1.0) ]
                    @ [ float (MathNet.Numerics.Distributions.Poisson.Sample(rng, if k = 0 then 2.0 else 8.0)) ] ]
        |> DataMatrix.From
    let report = EmProperties.CheckModel(model, Func<Random, DataMatrix> generate, cases = 5)
    Assert.True(report.Holds, string report)
    let fit = model.Fit(generate (Random 3))
    let loadings = fit.Parameters factors |> Seq.map (fun p -> p.Loadings[0, 0]) |> Seq.toList
    Assert.Equal(2, loadings.Length)

[<Fact>]
let ``Probabilistic PCA from F# has one noise variance`` () =
    let fit = ProbabilisticPca(2).Fit(wine ())
    Assert.Equal(1, fit.NoiseVariances |> Seq.distinct |> Seq.length)
    Assert.Equal(13 + 13 * 2 - 1 + 1, fit.FreeParameterCount)
