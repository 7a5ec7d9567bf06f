module EmDsl.FSharp.Tests.ModelsFacadeTests

open System
open EmDsl.Building
open EmDsl.Data
open EmDsl.Families.Priors
open EmDsl.Inference
open EmDsl.Models
open Xunit
open EmDsl.FSharp.Tests.TestSupport

[<Fact>]
let ``GaussianMixture with diagonal covariance from F#`` () =
    let data = oldFaithful ()
    let fitted = GaussianMixture(3, Covariance = CovarianceType.Diagonal).Fit(data, FitOptions(Seed = 2))

    Assert.Equal(3, fitted.Components.Count)
    Assert.Equal(1.0, Seq.sum fitted.Weights, 12)
    for c in fitted.Components do
        Assert.Equal(0.0, c.Covariance[0, 1])
        Assert.True(c.Covariance[0, 0] > 0.0 && c.Covariance[1, 1] > 0.0)
    // Diagonal: p = 2 weights + 3 × (2 means + 2 variances).
    Assert.Equal(2 + 3 * 4, fitted.Result.FreeParameterCount)
    Assert.True(isNonDecreasing fitted.Result.ObjectiveTrace)
    let proba = fitted.PredictProba data
    Assert.Equal(data.Rows, Array2D.length1 proba)
    for i in 0 .. data.Rows - 1 do
        Assert.Equal(1.0, Seq.sum proba[i, *], 9)

[<Fact>]
let ``GaussianMixture choices compare by BIC from F#`` () =
    let data = oldFaithful ()
    let bic k = GaussianMixture(k).Fit(data, FitOptions(Seed = 1)).Result.BayesianInformationCriterion
    let best = [ 1..4 ] |> List.minBy bic
    // Old Faithful's two eruption types: BIC prefers K = 2 with full covariances.
    Assert.Equal(2, best)

[<Fact>]
let ``GaussianMixture with a prior and weight concentration from F#`` () =
    let data = oldFaithful ()
    let prior = GaussianPrior([ 3.5; 70.0 ], 0.01, ReadOnlyMatrix.Identity(2, 1.0), 5.0)
    let fitted =
        GaussianMixture(2, Prior = prior, WeightConcentration = 1.1)
            .Fit(data, FitOptions(Seed = 4, Tolerance = 1e-8))

    Assert.True fitted.Result.Converged
    Assert.True(fitted.Result.LogPrior <> 0.0)
    Assert.True(isNonDecreasing fitted.Result.ObjectiveTrace)
    let means = fitted.Components |> Seq.map (fun c -> c.Mean[0]) |> Seq.sort |> List.ofSeq
    Assert.InRange(means[0], 1.84, 2.24)
    Assert.InRange(means[1], 4.09, 4.49)

[<Fact>]
let ``BernoulliMixture from F#`` () =
    let rng = Random(5)
    let profiles = [| [| 0.9; 0.8; 0.1; 0.2 |]; [| 0.1; 0.2; 0.9; 0.7 |] |]
    let rows =
        [ for _ in 1..400 ->
              let p = profiles[rng.Next 2]
              p |> Array.map (fun pd -> if rng.NextDouble() < pd then 1.0 else 0.0) ]
    let fitted = BernoulliMixture(2, Prior = BetaPrior(1.1, 1.1)).Fit(DataMatrix.FromRows rows, FitOptions(Seed = 1))

    let found =
        fitted.Components
        |> Seq.map (fun c -> Array.ofSeq c.Probabilities)
        |> Seq.sortBy (fun p -> -p[0])
        |> Array.ofSeq
    for expected, actual in Array.zip profiles found do
        for e, a in Array.zip expected actual do
            Assert.InRange(a, e - 0.1, e + 0.1)

[<Fact>]
let ``PoissonMixture from F#`` () =
    let rng = Random(6)
    let rates = [| 1.0; 12.0 |]
    let counts = [ for _ in 1..500 -> float (Sample.poisson rng rates[rng.Next 2]) ]
    let fitted = PoissonMixture(2).Fit(DataMatrix.FromColumn counts, FitOptions(Seed = 1))

    let found = fitted.Components |> Seq.map (fun c -> c.Rates[0]) |> Seq.sort |> Array.ofSeq
    Assert.InRange(found[0], 0.7, 1.3)
    Assert.InRange(found[1], 11.0, 13.0)
    // A count of 0 belongs to the low-rate component, a count of 20 to the high-rate one.
    let labels = fitted.Predict(DataMatrix.FromColumn [ 0.0; 20.0 ])
    Assert.True(fitted.Components[labels[0]].Rates[0] < fitted.Components[labels[1]].Rates[0])
