// Old Faithful: two kinds of eruption. Fits a K = 2 Gaussian mixture with full covariances to
// (eruption minutes, waiting minutes) and prints what came out.
//
//   dotnet run --project examples/OldFaithful.FSharp

open System
open System.IO
open EmDsl.Building
open EmDsl.Data
open EmDsl.Inference

let data = DataMatrix.ReadCsv(Path.Combine(AppContext.BaseDirectory, "old_faithful.csv"))

// Declare: one 2-D Gaussian block over columns 0 and 1, two components. The block is also the typed
// handle through which the fit returns its parameters.
let geyser = Blocks.Gaussian("geyser", [ 0; 1 ], CovarianceType.Full)
let model = Mixture.WithComponents 2 |> _.Observe(geyser) |> _.Build()

let fit = model.Fit(data, FitOptions(Seed = 42, Tolerance = 1e-8))

let vector (xs: seq<float>) = xs |> Seq.map (sprintf "%8.3f") |> String.concat " "

printfn "%O\n\n%d rows\n" model data.Rows

for k, (weight, c) in Seq.indexed (Seq.zip fit.Weights (fit.Parameters geyser)) do
    printfn "Component %d   weight %.4f" k weight
    printfn "  mean        [%s ]" (vector c.Mean)
    for i in 0 .. c.Dimension - 1 do
        let row = [ for j in 0 .. c.Dimension - 1 -> c.Covariance[i, j] ]
        printfn "  %s [%s ]" (if i = 0 then "covariance " else "           ") (vector row)

printfn "\nObjective (log-likelihood) per iteration:"
fit.ObjectiveTrace |> Seq.iteri (printfn "  %3d  %.6f")

printfn "\n%d iterations, %s" fit.Iterations (if fit.Converged then "converged" else "NOT converged")
printfn "log-likelihood %.4f   BIC %.4f   AIC %.4f   (%d free parameters)"
    fit.LogLikelihood fit.BayesianInformationCriterion fit.AkaikeInformationCriterion fit.FreeParameterCount

match List.ofSeq fit.Diagnostics.Events with
| [] -> printfn "Diagnostics: no events"
| events -> events |> List.iter (printfn "Diagnostics: %O")

printfn "Backend: %s" fit.Diagnostics.Backend
