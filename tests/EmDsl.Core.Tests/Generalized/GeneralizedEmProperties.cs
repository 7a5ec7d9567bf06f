using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Inference;
using EmDsl.Optimization;
using EmDsl.Tests.Families;
using FsCheck;
using FsCheck.Fluent;
using MathNet.Numerics.Distributions;
using Xunit.Abstractions;
using static EmDsl.Tests.Engine.EngineFixtures;

namespace EmDsl.Tests.Generalized;

/// <summary>
/// Generalized EM never lowers log p(Y | X, θ) + log p(θ): over random mixtures of linear, logistic and Poisson
/// regressions, with or without a gating network, ridge priors, sample weights, either inner optimiser and any
/// number of inner steps (seed 001: any step that raises Q keeps EM's guarantee).
/// </summary>
public class GeneralizedEmProperties(ITestOutputHelper output)
{
    /// <summary>One random case, replayable from its seed.</summary>
    public sealed record Case(int Seed, int Rows, int Components, bool Linear, bool Logistic, bool Poisson, bool Gated,
        bool Ridge, bool Weighted, OptimizerMethod Method, int InnerSteps, bool SharedPoisson)
    {
        public override string ToString() =>
            $"seed {Seed}: {Rows} rows, K = {Components}, blocks [{(Linear ? "linear " : "")}{(Logistic ? "logistic " : "")}{(Poisson ? (SharedPoisson ? "poisson(shared) " : "poisson ") : "")}]" +
            $"{(Gated ? ", gated" : "")}{(Ridge ? ", ridge" : "")}{(Weighted ? ", weighted" : "")}, {Method} × {InnerSteps}";
    }

    private static readonly Gen<Case> Cases =
        from seed in Gens.Seed
        from rows in Gen.Choose(30, 250)
        from k in Gen.Choose(1, 3)
        from kinds in Gen.Choose(1, 7)
        from gated in Gen.Elements(false, true)
        from ridge in Gen.Elements(false, true)
        from weighted in Gen.Elements(false, true)
        from method in Gen.Elements(OptimizerMethod.Lbfgs, OptimizerMethod.Newton)
        from inner in Gen.Choose(1, 30)
        from shared in Gen.Elements(false, true)
        select new Case(seed, rows, gated ? Math.Max(k, 2) : k, (kinds & 1) != 0, (kinds & 2) != 0, (kinds & 4) != 0, gated, ridge, weighted, method, inner, shared);

    /// <summary>Columns [y (Gaussian), b (binary), c (count), x1, x2], from random regressions of random classes.</summary>
    private static DataMatrix Data(Case c, Random r)
    {
        var rows = new double[c.Rows][];
        var classes = Enumerable.Range(0, c.Components).Select(_ => r.Vector(3, -1.5, 1.5)).ToArray();
        for (int i = 0; i < c.Rows; i++)
        {
            double x1 = Normal(r), x2 = 2 * Normal(r);
            var b = classes[r.Next(c.Components)];
            double eta = b[0] + b[1] * x1 + b[2] * x2;
            rows[i] =
            [
                eta + r.Uniform(0.2, 1.5) * Normal(r),
                r.NextDouble() < 1 / (1 + Math.Exp(-eta)) ? 1 : 0,
                Poisson.Sample(r, Math.Exp(Math.Clamp(0.5 * eta, -3, 3))),
                x1, x2,
            ];
        }
        return DataMatrix.FromRows(rows);
    }

    internal static MixtureFit CheckCase(Case c)
    {
        var r = new Random(c.Seed);
        var data = Data(c, r);
        var prior = c.Ridge ? new CoefficientPrior(r.Uniform(0.1, 5)) : null;
        var blocks = new List<Block>();
        if (c.Linear) blocks.Add(Blocks.LinearRegression("y", 0, [3, 4], prior: prior));
        if (c.Logistic) blocks.Add(Blocks.LogisticRegression("b", 1, [3], prior: prior));
        if (c.Poisson) blocks.Add(Blocks.PoissonRegression("c", 2, [3, 4], prior: prior, sharing: c.SharedPoisson ? Sharing.Shared : Sharing.PerComponent));
        var builder = Mixture.WithComponents(c.Components).Observe(blocks.ToArray());
        if (c.Gated) builder = builder.GatedBy([4], prior);
        var weights = c.Weighted ? Enumerable.Range(0, c.Rows).Select(_ => r.Next(4) == 0 ? 0 : r.Uniform(0.2, 3)).ToArray() : null;
        var options = FitOptions.Default with
        {
            Seed = c.Seed, MaxIterations = 25, Tolerance = 0,
            MStepOptimizer = new OptimizerOptions { Method = c.Method, MaxIterations = c.InnerSteps },
        };
        MixtureFit fit;
        try { fit = builder.Build().Fit(data, options, weights); }
        catch (Exception e) { throw new Exception($"Fit threw on {c}: {e.GetType().Name}: {e.Message}", e); }
        AssertNonDecreasing(fit.ObjectiveTrace, c.ToString());
        var decreased = fit.Diagnostics.Events.Where(e => e.Kind == FitEventKind.ObjectiveDecreased).ToArray();
        Assert.True(decreased.Length == 0, $"{c}: {string.Join(" | ", decreased.Select(e => e.ToString()))}");
        Assert.True(fit.ObjectiveTrace.All(double.IsFinite), $"{c}: non-finite objective");
        Assert.Equal(fit.LogLikelihood + fit.LogPrior, fit.Objective, 1e-9 * Math.Max(1, Math.Abs(fit.Objective)));
        foreach (var block in fit.Model.Blocks)
            foreach (var p in fit.Parameters(block.Name))
            {
                var values = p switch
                {
                    LinearRegressionParameters l => RegressionData.Coefficients(l.Coefficients).Append(l.Variance),
                    RegressionParameters g => RegressionData.Coefficients(g),
                    _ => throw new InvalidOperationException(p.GetType().Name),
                };
                Assert.True(values.All(double.IsFinite), $"{c}: block {block.Name} has a non-finite parameter: {p}");
            }
        Assert.True(fit.GatingCoefficients.SelectMany(RegressionData.Coefficients).All(double.IsFinite), $"{c}: non-finite gating");
        Assert.Equal(1, fit.Weights.Sum(), 1e-12);
        return fit;
    }

    [Fact]
    public void ObjectiveNeverDecreases_RandomRegressionAndExpertMixtures()
    {
        PropertyChecks.ForAll(Cases.ToArbitrary(), c => { CheckCase(c); }, baseline: 100);
        output.WriteLine($"{PropertyChecks.Cases(100)} random cases");
    }

    /// <summary>The generator reaches every block kind, the gating, priors, weights and both optimisers.</summary>
    [Fact]
    public void GeneratorCoversEveryKindAndOption()
    {
        // 2 000 draws: the rarest combination (Newton with one inner step, 1 in 60) is missed with probability about
        // 10⁻¹⁵; with 400 it was missed about once in 800 runs, and a local full run drew that.
        var sample = Cases.Sample(2000);
        Assert.Contains(sample, c => c.Linear && c.Logistic && c.Poisson);
        Assert.Contains(sample, c => c.Gated && c.Components == 3);
        Assert.Contains(sample, c => c.Ridge && c.Weighted);
        Assert.Contains(sample, c => c.Method == OptimizerMethod.Newton && c.InnerSteps == 1);
        Assert.Contains(sample, c => c.Components == 1 && !c.Gated);
        Assert.Contains(sample, c => c.Poisson && c.SharedPoisson);
    }
}
