// Prototyping EmDsl from F# Interactive, with the F# layer (EmDsl.FSharp). After a Release build,
//
//   dotnet build EmDsl.sln -c Release
//   dotnet fsi examples/prototype.fsx
//
// run from any directory: the paths below are relative to this script. Edit and re-run, or #load it in a session.

#r "../src/EmDsl.FSharp/bin/Release/net10.0/EmDsl.Core.dll"
#r "../src/EmDsl.FSharp/bin/Release/net10.0/EmDsl.Models.dll"
#r "../src/EmDsl.FSharp/bin/Release/net10.0/EmDsl.FSharp.dll"
#r "../src/EmDsl.FSharp/bin/Release/net10.0/MathNet.Numerics.dll"
#r "../src/EmDsl.FSharp/bin/Release/net10.0/CsvHelper.dll"
#r "../src/EmDsl.FSharp/bin/Release/net10.0/System.Numerics.Tensors.dll"

open System.IO
open EmDsl.Families.Priors
open EmDsl.FSharp

let data = Data.readCsv (Path.Combine(__SOURCE_DIRECTORY__, "data", "old_faithful.csv"))
printfn "%d rows, columns %A" (Data.rows data) (Data.columnNames data)

// Old Faithful as two kinds of eruption: a 2-D Gaussian over (eruption minutes, waiting minutes). The block is
// the typed handle the fit returns its parameters through.
let geyser = Block.gaussian "geyser" [ 0; 1 ] Covariance.Full

// Choose K by BIC, each fit from five seeded k-means++ starts.
let fits =
    [ for k in 1..4 ->
        Mixture.create k
        |> Mixture.observe geyser
        |> Mixture.build
        |> Fit.runWith [ Seed 1; Restarts 5 ] data ]

for fit in fits do
    printfn "K = %d   log-likelihood %9.3f   BIC %9.3f   %A after %d iterations"
        (List.length (Fit.weights fit)) (Fit.logLikelihood fit) (Fit.bic fit) (Fit.status fit) (Fit.iterations fit)

let best = fits |> List.minBy Fit.bic
for w, c in List.zip (Fit.weights best) (Fit.parameters geyser best) do
    printfn "π = %.3f   μ = [%s]" w (c.Mean |> Seq.map (sprintf "%.2f") |> String.concat "; ")

// The same model as a computation expression, with a weak prior on the weights and an optional prior on the
// waiting times' variance: None is maximum likelihood.
let waitingPrior: GaussianPrior option = None
let waiting = Block.gaussianWith waitingPrior Sharing.PerComponent "waiting" [ 1 ] Covariance.Diagonal
let model = mixture 2 { observe waiting; weightPrior 1.1 }
let fit = model |> Fit.runWith [ Seed 1 ] data
printfn "\n%O\nwaiting-time means: %A" model (Fit.parameters waiting fit |> List.map (fun p -> p.Mean[0]))
printfn "first rows' components: %A" (Fit.predict data fit |> List.truncate 10)
