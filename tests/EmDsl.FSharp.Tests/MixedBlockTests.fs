module EmDsl.FSharp.Tests.MixedBlockTests

open System
open EmDsl.Building
open EmDsl.Data
open EmDsl.Families
open EmDsl.Families.Priors
open EmDsl.Inference
open Xunit
open EmDsl.FSharp.Tests.TestSupport

/// The true parameters of one component of the synthetic data.
type Truth =
    { Weight: float
      Mean: float * float
      Rate: float
      Categories: float list }

let truth =
    [ { Weight = 0.4; Mean = (0.0, 0.0); Rate = 2.0; Categories = [ 0.7; 0.2; 0.1 ] }
      { Weight = 0.6; Mean = (5.0, 3.0); Rate = 9.0; Categories = [ 0.1; 0.3; 0.6 ] } ]

/// Rows [x; y; count; category] drawn from `truth` with a seeded generator.
let generate rows seed =
    let rng = Random(seed)
    let weights = truth |> List.map _.Weight
    [| for _ in 1..rows ->
           let t = truth[Sample.categorical rng weights]
           let mx, my = t.Mean
           [| mx + Sample.normal rng
              my + 0.5 * Sample.normal rng
              float (Sample.poisson rng t.Rate)
              float (Sample.categorical rng t.Categories) |] |]

[<Fact>]
let ``Gaussian + Poisson + Categorical model recovers its parameters through the typed handles`` () =
    let data = generate 800 7 |> DataMatrix.FromRows
    let position = Blocks.Gaussian("position", [ 0; 1 ], CovarianceType.Diagonal)
    let visits = Blocks.Poisson("visits", [ 2 ])
    let channel = Blocks.Categorical("channel", [ 3 ], categories = 3, prior = DirichletPrior.Symmetric(3, 1.1))

    let model =
        Mixture.WithComponents 2
        |> _.Observe(position)
        |> _.Observe(visits)
        |> _.Observe(channel)
        |> _.WithWeightPrior(1.1)
        |> _.Build()

    let fit = model.Fit(data, FitOptions(Seed = 3, Restarts = 2))

    Assert.True fit.Converged
    Assert.True(isNonDecreasing fit.ObjectiveTrace)
    Assert.Equal(4, model.RequiredColumns)
    // p = 1 weight + 2 × (2 means + 2 variances) + 2 × 1 rate + 2 × 2 free probabilities.
    Assert.Equal(1 + 2 * 4 + 2 * 1 + 2 * 2, fit.FreeParameterCount)
    // With priors the objective adds log p(θ).
    Assert.Equal(fit.LogLikelihood + fit.LogPrior, fit.Objective, 9)

    // Components come back in an arbitrary order: match them to the truth by the x coordinate.
    let components =
        Seq.zip3 (fit.Parameters position) (fit.Parameters visits) (fit.Parameters channel)
        |> Seq.zip fit.Weights
        |> Seq.sortBy (fun (_, (g, _, _)) -> g.Mean[0])
        |> List.ofSeq

    // 800 rows give ~320 and ~480 per component: standard errors are ≈ 0.06 on the means, ≈ 0.15 on the
    // rates, ≈ 0.03 on the probabilities and ≈ 0.02 on the weights; the tolerances are about 4 of those.
    for t, (w, (g, p, c)) in List.zip truth components do
        let mx, my = t.Mean
        Assert.InRange(w, t.Weight - 0.07, t.Weight + 0.07)
        Assert.InRange(g.Mean[0], mx - 0.25, mx + 0.25)
        Assert.InRange(g.Mean[1], my - 0.25, my + 0.25)
        Assert.InRange(g.Covariance[0, 0], 0.75, 1.3)
        Assert.InRange(g.Covariance[1, 1], 0.75 * 0.25, 1.3 * 0.25)
        Assert.Equal(0.0, g.Covariance[0, 1]) // diagonal covariance
        Assert.InRange(p.Rates[0], t.Rate - 0.6, t.Rate + 0.6)
        Assert.Equal(3, c.Probabilities.Count)
        for expected, actual in Seq.zip t.Categories c.Probabilities do
            Assert.InRange(actual, expected - 0.1, expected + 0.1)

    // Predictions line up with the matched components: most rows near (5, 3) go to the second one.
    let labels = fit.Predict data
    let positions = fit.Parameters position
    let secondIndex = if positions[0].Mean[0] > 2.5 then 0 else 1
    let farRows = [ for i in 0 .. data.Rows - 1 do if data[i, 0] > 3.5 then i ]
    let agree = farRows |> List.filter (fun i -> labels[i] = secondIndex) |> List.length
    Assert.True(float agree >= 0.95 * float farRows.Length)

[<Fact>]
let ``Sampling from a mixed fit returns rows in the model's columns`` () =
    let data = generate 300 11 |> DataMatrix.FromRows
    let position = Blocks.Gaussian("position", Blocks.ColumnRange(0, 2))
    let visits = Blocks.Poisson("visits", [ 2 ])
    let channel = Blocks.Categorical("channel", [ 3 ], 3)
    let fit = Mixture.WithComponents(2).Observe(position).Observe(visits).Observe(channel).Build().Fit(data)

    let sample = fit.Sample(200, seed = 5)
    Assert.Equal(200, sample.Data.Rows)
    Assert.Equal(4, sample.Data.Columns)
    for i in 0 .. sample.Data.Rows - 1 do
        let count, category = sample.Data[i, 2], sample.Data[i, 3]
        Assert.True(count >= 0.0 && count = floor count)
        Assert.Contains(category, [ 0.0; 1.0; 2.0 ])
        Assert.InRange(sample.Components[i], 0, 1)
