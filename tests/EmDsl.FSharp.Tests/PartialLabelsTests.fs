module EmDsl.FSharp.Tests.PartialLabelsTests

open EmDsl.Building
open EmDsl.Data
open EmDsl.Inference
open EmDsl.Families
open Xunit

let private twoGroups () =
    let r = System.Random 3
    DataMatrix.FromRows [ for i in 0..199 -> let shift = if i % 2 = 0 then 0.0 else 5.0 in [| shift + r.NextDouble(); r.NextDouble() |] ]

[<Fact>]
let ``Known labels and frozen parameters from F#`` () =
    let data = twoGroups ()
    let xy = Blocks.Gaussian("xy", [ 0; 1 ], CovarianceType.Diagonal)
    let model = Mixture.WithComponents(2).Observe(xy).Build()
    // Every even row is known to come from component 1, the others are unknown.
    let labels = [| for i in 0..199 -> if i % 2 = 0 then 1 else -1 |]
    let fit = model.Fit(data, FitOptions(KnownLabels = labels))
    Assert.True(fit.Parameters(xy).[1].Mean.[0] < 1.0)
    Assert.True(fit.Parameters(xy).[0].Mean.[0] > 4.0)
    let frozen = model.Fit(data, FitOptions(Initialization = Initialization.FromFit fit, Frozen = FrozenParameters(Blocks = [| "xy" |])))
    Assert.Equal<GaussianParameters>(fit.Parameters(xy), frozen.Parameters(xy))
    Assert.Equal(model.FreeParameterCount - 8, frozen.FreeParameterCount)
