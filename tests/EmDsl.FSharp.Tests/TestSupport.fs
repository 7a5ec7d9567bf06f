/// Shared helpers: the Old Faithful data, F# samplers for synthetic data, and the FsCheck runner
/// (same contract as tests/EmDsl.Core.Tests/PropertyChecks.cs: EMDSL_PROPERTY_SCALE multiplies the case count).
module EmDsl.FSharp.Tests.TestSupport

open System
open System.Globalization
open System.IO
open EmDsl.Data
open FsCheck

let oldFaithful () =
    DataMatrix.ReadCsv(Path.Combine(AppContext.BaseDirectory, "data", "old_faithful.csv"))

/// EM's objective may only rise, up to rounding: the engine's own threshold (EmEngine) is 1e-9 relative.
let isNonDecreasing (trace: seq<float>) =
    trace |> Seq.pairwise |> Seq.forall (fun (before, after) -> after >= before - 1e-9 * max 1.0 (abs before))

module Sample =
    /// Standard normal by Box–Muller (1 − U keeps the logarithm finite).
    let normal (rng: Random) =
        sqrt (-2.0 * log (1.0 - rng.NextDouble())) * cos (2.0 * Math.PI * rng.NextDouble())

    /// Poisson by Knuth's product of uniforms (fine for the small rates used here).
    let poisson (rng: Random) (rate: float) =
        let limit = exp -rate
        let rec go k p = if p <= limit then k else go (k + 1) (p * rng.NextDouble())
        go 0 (rng.NextDouble())

    /// Index drawn from a probability vector.
    let categorical (rng: Random) (probabilities: float list) =
        let u = rng.NextDouble()
        probabilities
        |> List.scan (+) 0.0
        |> List.tail
        |> List.tryFindIndex (fun c -> u < c)
        |> Option.defaultValue (List.length probabilities - 1)

    let exponential (rng: Random) (rate: float) = -log (1.0 - rng.NextDouble()) / rate

module Properties =
    let scaleVariable = "EMDSL_PROPERTY_SCALE"

    let cases baseline =
        match Environment.GetEnvironmentVariable scaleVariable with
        | null | "" -> baseline
        | raw ->
            match Double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture) with
            | true, scale when scale > 0.0 -> max 1 (int (Math.Round(float baseline * scale)))
            | _ -> invalidOp $"{scaleVariable}='{raw}' is not a positive number."

    /// Runs a property on `baseline` (scaled) cases; throws with the shrunk counterexample on failure.
    let check baseline (property: Property) =
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(cases baseline).WithQuietOnSuccess(true), property)
