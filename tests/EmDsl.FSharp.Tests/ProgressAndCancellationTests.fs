module EmDsl.FSharp.Tests.ProgressAndCancellationTests

open System
open System.Collections.Concurrent
open System.Threading
open EmDsl.Building
open EmDsl.Inference
open Xunit
open EmDsl.FSharp.Tests.TestSupport

let model () =
    let geyser = Blocks.Gaussian("geyser", [ 0; 1 ])
    Mixture.WithComponents(2).Observe(geyser).Build()

[<Fact>]
let ``An IProgress object expression sees every iteration synchronously`` () =
    let reports = ResizeArray<FitProgress>()
    let progress = { new IProgress<FitProgress> with member _.Report p = reports.Add p }

    let fit = model().Fit(oldFaithful (), FitOptions(Seed = 1), progress = progress)

    Assert.Equal(fit.ObjectiveTrace.Count, reports.Count)
    Assert.Equal<float seq>(fit.ObjectiveTrace, reports |> Seq.map _.Objective)
    Assert.Equal<int seq>([ 0 .. fit.Iterations ], reports |> Seq.map _.Iteration)
    Assert.True(Double.IsNaN reports[0].Change)

[<Fact>]
let ``Progress of T reports arrive asynchronously on the thread pool`` () =
    let reports = ConcurrentQueue<FitProgress>()
    let fit = model().Fit(oldFaithful (), FitOptions(Seed = 1), progress = Progress<_>(fun p -> reports.Enqueue p))
    // Progress<T> posts to the captured SynchronizationContext (the thread pool here), so the reports may
    // land after Fit returns: wait for them.
    // The deadline only guards against a hang; it is not a speed requirement.
    Assert.True(SpinWait.SpinUntil((fun () -> reports.Count = fit.ObjectiveTrace.Count), TimeSpan.FromMinutes 5.0))

[<Fact>]
let ``A cancelled token stops the fit`` () =
    use cts = new CancellationTokenSource()
    cts.Cancel()
    Assert.ThrowsAny<OperationCanceledException>(fun () -> model().Fit(oldFaithful (), cancellationToken = cts.Token) |> ignore)
    |> ignore

[<Fact>]
let ``Cancelling from the progress callback stops the fit between iterations`` () =
    use cts = new CancellationTokenSource()
    let mutable last = -1
    let progress =
        { new IProgress<FitProgress> with
            member _.Report p =
                last <- p.Iteration
                if p.Iteration = 3 then cts.Cancel() }
    let options = FitOptions(Seed = 1, Tolerance = 0.0, MaxIterations = 1000)
    Assert.ThrowsAny<OperationCanceledException>(fun () ->
        model().Fit(oldFaithful (), options, progress = progress, cancellationToken = cts.Token) |> ignore)
    |> ignore
    Assert.Equal(3, last)
