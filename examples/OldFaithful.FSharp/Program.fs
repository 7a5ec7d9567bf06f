// Old Faithful: two kinds of eruption. Fits a K = 2 Gaussian mixture with full covariances to
// (eruption minutes, waiting minutes) and prints what came out, written with the F# layer (EmDsl.FSharp).
//
//   dotnet run --project examples/OldFaithful.FSharp

open System
open System.IO
open EmDsl.FSharp

let data = Data.readCsv (Path.Combine(AppContext.BaseDirectory, "old_faithful.csv"))

// Declare: one 2-D Gaussian block over columns 0 and 1, two components. The block is also the typed
// handle through which the fit returns its parameters (a GaussianParameters list, no downcasts).
let geyser = Block.gaussian "geyser" [ 0; 1 ] Covariance.Full
let model = Mixture.create 2 |> Mixture.observe geyser |> Mixture.build

let fit = model |> Fit.runWith [ Seed 42; Tolerance 1e-8 ] data

let vector (xs: seq<float>) = xs |> Seq.map (sprintf "%8.3f") |> String.concat " "

printfn "%O\n\n%d rows, columns %s\n" model (Data.rows data)
    (Data.columnNames data |> Option.map (String.concat ", ") |> Option.defaultValue "unnamed")

for k, (weight, c) in List.indexed (List.zip (Fit.weights fit) (Fit.parameters geyser fit)) do
    printfn "Component %d   weight %.4f" k weight
    printfn "  mean        [%s ]" (vector c.Mean)
    for i in 0 .. c.Dimension - 1 do
        let row = [ for j in 0 .. c.Dimension - 1 -> c.Covariance[i, j] ]
        printfn "  %s [%s ]" (if i = 0 then "covariance " else "           ") (vector row)

printfn "\nObjective (log-likelihood) per iteration:"
Fit.objectiveTrace fit |> List.iteri (printfn "  %3d  %.6f")

let status =
    match Fit.status fit with
    | Converged -> "converged"
    | IterationLimit -> "NOT converged (iteration limit)"
    | Stalled parameters -> $"""stalled ({String.concat ", " parameters})"""

printfn "\n%d iterations, %s" (Fit.iterations fit) status
printfn "log-likelihood %.4f   BIC %.4f   AIC %.4f   (%d free parameters)"
    (Fit.logLikelihood fit) (Fit.bic fit) (Fit.aic fit) (Fit.freeParameters fit)

// Which kind of eruption the first rows are, by their most probable component.
let labels = Fit.predict data fit
printfn "Components of the first 10 eruptions: %s" (labels |> List.truncate 10 |> List.map string |> String.concat " ")

match Fit.events fit with
| [] -> printfn "Diagnostics: no events"
| events -> events |> List.iter (printfn "Diagnostics: %O")

printfn "Backend: %s" fit.Diagnostics.Backend
