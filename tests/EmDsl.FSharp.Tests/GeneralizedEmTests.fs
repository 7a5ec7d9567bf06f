module EmDsl.FSharp.Tests.GeneralizedEmTests

open System
open EmDsl.AutoDiff
open EmDsl.Building
open EmDsl.Data
open EmDsl.Families
open EmDsl.Inference
open EmDsl.Optimization
open Xunit

/// The inverse Gaussian declared from F#: T, log h and A are plain F# lambdas over Var.
let inverseGaussian () =
    DeclaredFamily
        .Declare(
            "inverse Gaussian",
            1,
            (fun x -> Var.ConcatColumns(x, 1.0 / x)),
            (fun eta -> -2.0 * (eta.Columns(0, 1) * eta.Columns(1, 1)).Sqrt() - 0.5 * (-2.0 * eta.Columns(1, 1)).Log()),
            NaturalDomain.Coordinates(NaturalConstraint.Negative, NaturalConstraint.Negative))
        .WithLogBaseMeasure(fun x -> -0.5 * Math.Log(2.0 * Math.PI) - 1.5 * x.Log())
        .WithSupport(ColumnSupport.Positive)
        .WithMeanDomain(fun m -> m[0] > 0.0 && m[0] * m[1] > 1.0)
        .Build()

[<Fact>]
let ``A family declared in F# fits a mixture and never lowers its objective`` () =
    let rng = Random 5
    let draw mean shape = MathNet.Numerics.Distributions.InverseGaussian.Sample(rng, mean, shape)
    let values = [ for i in 1..4000 -> if i % 3 = 0 then draw 1.0 6.0 else draw 5.0 40.0 ]
    let block = Blocks.FromFamily("w", [ 0 ], inverseGaussian ())
    let fit = Mixture.WithComponents(2).Observe(block).Build().Fit(DataMatrix.FromColumn values, FitOptions(Seed = 2))
    let means =
        fit.Parameters(block)
        |> Seq.map (fun p -> sqrt (p.Natural[1] / p.Natural[0]))
        |> Seq.sort
        |> Seq.toArray
    Assert.InRange(means[0], 0.9, 1.1)
    Assert.InRange(means[1], 4.7, 5.3)
    fit.ObjectiveTrace |> Seq.pairwise |> Seq.iter (fun (a, b) -> Assert.True(b >= a - 1e-9 * abs a))

[<Fact>]
let ``Autodiff and the gradient check are usable from F#`` () =
    let f (x: Var) = (x.Exp() + x.Square()).Sum()
    let result = Differentiation.ValueAndGradient(Func<Var, Var> f, [| 0.5; -1.0 |])
    Assert.Equal(exp 0.5 + exp -1.0 + 0.25 + 1.0, result.Value, 12)
    Assert.Equal(exp 0.5 + 1.0, result.Gradient[0], 12)
    let report = GradientCheck.Run(Func<Var, Var> f, [| 0.5; -1.0 |])
    Assert.True(report.Agrees 1e-7, string report)

[<Fact>]
let ``The optimiser maximises an F# objective`` () =
    let objective =
        ObjectiveFunction(fun p g ->
            g[0] <- -2.0 * (p[0] - 3.0)
            g[1] <- -4.0 * (p[1] + 1.0)
            -((p[0] - 3.0) ** 2.0) - 2.0 * (p[1] + 1.0) ** 2.0)
    let result = Maximizer.Maximize(objective, [| 0.0; 0.0 |])
    Assert.True(result.Converged, result.StopReason)
    Assert.Equal(3.0, result.Point[0], 6)
    Assert.Equal(-1.0, result.Point[1], 6)

[<Fact>]
let ``A mixture of experts is declared and read from F#`` () =
    let rng = Random 7
    let rows =
        [| for _ in 1..3000 ->
               let x = MathNet.Numerics.Distributions.Normal.Sample(rng, 0.0, 1.0)
               let p1 = 1.0 / (1.0 + exp (-(2.0 * x)))
               let y = if rng.NextDouble() < p1 then -1.0 - 2.0 * x else 1.0 + x
               [| y + 0.3 * MathNet.Numerics.Distributions.Normal.Sample(rng, 0.0, 1.0); x |] |]
    let expert = Blocks.LinearRegression("y", 0, [ 1 ])
    let model = Mixture.WithComponents(2).Observe(expert).GatedBy([ 1 ]).Build()
    let fit = model.Fit(DataMatrix.FromRows rows, FitOptions(Seed = 3, MStepOptimizer = OptimizerOptions(Method = OptimizerMethod.Newton)))
    let gating = fit.GatingCoefficients
    Assert.Equal(2, gating.Count)
    Assert.Equal(0.0, gating[0].Intercept)
    let slopes = fit.Parameters(expert) |> Seq.map (fun p -> p.Coefficients.Slopes[0]) |> Seq.sort |> Seq.toArray
    Assert.InRange(slopes[0], -2.15, -1.85)
    Assert.InRange(slopes[1], 0.85, 1.15)
    Assert.InRange(abs gating[1].Slopes[0], 1.6, 2.4)
