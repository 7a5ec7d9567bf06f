module EmDsl.FSharp.Tests.OnlineTests

open System
open EmDsl.Building
open EmDsl.Data
open EmDsl.Inference
open Xunit
open EmDsl.FSharp.Tests.TestSupport

let private model () =
    Mixture.WithComponents(2).Observe(Blocks.Gaussian("geyser", [ 0; 1 ])).Build()

[<Fact>]
let ``A streamed fit from F# equals the in-memory fit`` () =
    let data = oldFaithful ()
    let options = FitOptions(Seed = 1, ChunkRows = Nullable 50)
    let inMemory = model().Fit(data, options)
    let streamed = model().Fit(DataSource.FromMatrix data, options)
    Assert.Equal<float seq>(inMemory.ObjectiveTrace, streamed.ObjectiveTrace)
    Assert.Equal(inMemory.LogLikelihood, streamed.LogLikelihood)

[<Fact>]
let ``FitOnline with incremental EM never lowers the free energy, and stepwise ends near it`` () =
    let data = oldFaithful ()
    use source = DataSource.FromMatrix data
    let incremental =
        model().FitOnline(source, OnlineEmOptions(Method = OnlineMethod.Incremental, BatchRows = 40, Passes = 5), FitOptions(Seed = 1))
    let f = incremental.FreeEnergyTrace |> Seq.map _.Value |> Array.ofSeq
    for i in 1 .. f.Length - 1 do
        Assert.True(f[i] >= f[i - 1] - 1e-9 * abs f[i - 1], sprintf "F fell at %d: %g -> %g" i f[i - 1] f[i])
    Assert.Equal(7, incremental.ObjectiveTrace.Count) // the start, the first full pass, then 5 incremental passes
    let stepwise =
        model().FitOnline(source, OnlineEmOptions(OnlineEmOptions.Default, Alpha = 0.7, BatchRows = 20, Passes = 10), FitOptions(Seed = 1))
    let batch = model().Fit(data, FitOptions(Seed = 1))
    // Old Faithful has two well-separated clusters: stepwise EM ends within 0.02 nats per row of the batch optimum.
    Assert.InRange((batch.LogLikelihood - stepwise.LogLikelihood) / float data.Rows, -1e-9, 0.02)

[<Fact>]
let ``A bad online setting names the option`` () =
    let e =
        Assert.Throws<ArgumentOutOfRangeException>(fun () ->
            model().FitOnline(DataSource.FromMatrix(oldFaithful ()), OnlineEmOptions(Alpha = 0.4)) |> ignore)
    Assert.Equal("Alpha", e.ParamName)
