module EmDsl.FSharp.Tests.BadInputTests

open System
open EmDsl.Building
open EmDsl.Data
open EmDsl.Inference
open EmDsl.Models
open Xunit

[<Fact>]
let ``A NaN in an F# jagged array names its row and column`` () =
    let rows = [| [| 1.0; 2.0 |]; [| 3.0; 4.0 |]; [| 5.0; nan |] |]
    let error = Assert.Throws<ArgumentException>(fun () -> DataMatrix.FromRows rows |> ignore)
    Assert.Contains("Row 2, column 1", error.Message)
    Assert.Contains("NaN", error.Message)

[<Fact>]
let ``Infinity in an F# array2D names its row and column`` () =
    let values = array2D [ [ 1.0; 2.0 ]; [ infinity; 4.0 ] ]
    let error = Assert.Throws<ArgumentException>(fun () -> DataMatrix.From values |> ignore)
    Assert.Contains("Row 1, column 0", error.Message)

[<Fact>]
let ``Ragged F# rows are rejected with both lengths`` () =
    let error = Assert.Throws<ArgumentException>(fun () -> DataMatrix.FromRows [ [| 1.0; 2.0 |]; [| 3.0 |] ] |> ignore)
    Assert.Contains("row 1 has 1 values but row 0 has 2", error.Message)

[<Fact>]
let ``Data outside a block's support is rejected naming the block`` () =
    let counts = Blocks.Poisson("counts", [ 0 ])
    let model = Mixture.WithComponents(2).Observe(counts).Build()
    let data = DataMatrix.FromColumn [ 1.0; 2.0; -3.0; 4.0 ]
    let error = Assert.ThrowsAny<ArgumentException>(fun () -> model.Fit data |> ignore)
    Assert.Contains("counts", error.Message)

[<Fact>]
let ``A model reading a column the data lacks is rejected`` () =
    let geyser = Blocks.Gaussian("geyser", [ 0; 5 ])
    let model = Mixture.WithComponents(2).Observe(geyser).Build()
    let data = DataMatrix.FromRows [ for i in 1..10 -> [| float i; float (i * i) |] ]
    let error = Assert.ThrowsAny<ArgumentException>(fun () -> model.Fit data |> ignore)
    Assert.Contains("geyser", error.Message)

[<Fact>]
let ``Builder mistakes surface as exceptions an F# caller can match`` () =
    let a = Blocks.Gaussian("a", [ 0 ])
    let b = Blocks.Poisson("b", [ 0 ])
    let twoOwners () = Mixture.WithComponents(2).Observe(a).Observe(b).Build() |> ignore
    Assert.Contains("Column 0", Assert.Throws<InvalidOperationException>(twoOwners).Message)
    Assert.Throws<ArgumentOutOfRangeException>(fun () -> Mixture.WithComponents 0 |> ignore) |> ignore
    Assert.Throws<ArgumentOutOfRangeException>(fun () -> GaussianMixture(2).Fit(DataMatrix.FromColumn [ 1.0; 2.0; 3.0 ], FitOptions(Tolerance = -1.0)) |> ignore)
    |> ignore
