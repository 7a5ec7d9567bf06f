using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Inference;
using MathNet.Numerics.LinearAlgebra;
using Xunit.Abstractions;
using static EmDsl.Tests.Engine.EngineFixtures;

namespace EmDsl.Tests.Engine;

/// <summary>
/// The Gaussian block's expected complete-data log-likelihood Q, which the acceptance policy compares and the free
/// energy adds up, is evaluated from its centred statistics in the usual parameters (Cholesky factor, log-determinant,
/// triangular solves): equal to the natural-parameter form η·S − R·A(η) on well-conditioned data, and on near-collinear
/// columns at a scale of 10⁵ (condition number near 10¹⁰) equal to the row-by-row textbook sum to the accuracy the
/// statistics themselves carry there (about κ·ε relative in the near-singular direction, so R·κ·ε nats in all).
/// </summary>
public class GaussianExpectedLogLikelihoodTests(ITestOutputHelper output)
{
    [Fact]
    public void QInTheUsualParametersMatchesTheRowByRowSumOnNearCollinearDataFarFromTheOrigin()
    {
        var r = new Random(7);
        int n = 4000;
        var rows = Enumerable.Range(0, n).Select(_ =>
        {
            double a = 1e5 + 300 * Normal(r);
            return new[] { a, a + 1e-2 * Normal(r), 2 * a + 50 * Normal(r) };
        }).ToArray();
        var data = DataMatrix.FromRows(rows);
        var block = Blocks.Gaussian("g", [0, 1, 2]);
        var model = Mixture.WithComponents(1).Observe(block).Build();
        var compiled = CompiledModel.Create(model, EmEngine.LatentOf(model, data, null), data, null);
        var runtime = (GaussianRuntime)compiled.Blocks[0];
        var summary = compiled.Pass(data, [], null, null, null, new CompiledModel.PassOutputs { FixedResponsibilities = Enumerable.Repeat(1.0, n).ToArray() },
            FitOptions.Default, CancellationToken.None);
        var stats = (ComponentStatistics)summary.Blocks[0];
        // Parameters near the maximum: the engine's own M-step, then its covariance slightly inflated.
        var fitted = ((GaussianParameters[])runtime.MStep(stats, null, new MStepContext(FitOptions.Default, new EventLog(), 0)).Usual)[0];
        var cov = Matrix<double>.Build.DenseOfArray(fitted.Covariance.ToArray()) * (1 + 1e-6);
        var p = new GaussianParameters(fitted.Mean, cov.ToArray());
        var state = runtime.FromParameters([p]);

        double usual = runtime.ExpectedLogLikelihood(stats, state);
        // Row by row, as the E-step does it: −½ log|2πΣ| − ½ ‖L⁻¹(x − μ)‖² per row, minus log h = −(D/2) log 2π.
        var chol = cov.Cholesky();
        double logDet = chol.DeterminantLn;
        double rowSum = 0;
        foreach (var x in rows)
        {
            var diff = Vector<double>.Build.Dense(3, j => x[j] - p.Mean[j]);
            var z = chol.Factor.Solve(diff);
            rowSum += -0.5 * logDet - 0.5 * z.DotProduct(z);
        }
        // The natural-parameter form, in the statistics' own frame (as the guard computed it): η·S − R·A(η).
        var family = new GaussianFamily(3);
        var frame = stats.Centres![0];
        var eta = new double[family.StatisticCount];
        Assert.True(family.TryNaturalFromMoments(p.Mean.Select((m, j) => m - frame[j]).ToArray(), p.Covariance.Values, eta));
        double natural = eta.Zip(stats.Of(0).ToArray(), (e, s) => e * s).Sum() - stats.Counts[0] * family.LogNormalizer(eta);

        output.WriteLine($"row by row {rowSum:G17}; usual form {usual:G17} (off by {usual - rowSum:G3}); natural form {natural:G17} (off by {natural - rowSum:G3})");
        // The statistics carry about κ·ε relative error in the near-singular direction, so Q from them is good to about
        // R·κ·ε nats (κ the covariance's condition number): a few 10⁻³ here, whichever backend did the products.
        double kappa = cov.ConditionNumber(), bound = n * kappa * 2.2e-16;
        output.WriteLine($"condition number {kappa:G3}, bound R·κ·ε = {bound:G3}");
        Assert.True(kappa > 1e9, $"the data should be near-collinear (κ = {kappa:G3})");
        Assert.True(Math.Abs(usual - rowSum) <= bound, $"the usual form is off by {usual - rowSum:G3}, more than R·κ·ε = {bound:G3}");
    }

    [Fact]
    public void QInTheUsualParametersEqualsTheNaturalFormOnWellConditionedData()
    {
        var r = new Random(8);
        var rows = Enumerable.Range(0, 500).Select(_ => SampleMvn(r, [1, -2, 0.5], RandomSpd(r, 3, 1.0))).ToArray();
        var data = DataMatrix.FromRows(rows);
        var block = Blocks.Gaussian("g", [0, 1, 2]);
        var model = Mixture.WithComponents(1).Observe(block).Build();
        var compiled = CompiledModel.Create(model, EmEngine.LatentOf(model, data, null), data, null);
        var runtime = (GaussianRuntime)compiled.Blocks[0];
        var stats = (ComponentStatistics)compiled.Pass(data, [], null, null, null,
            new CompiledModel.PassOutputs { FixedResponsibilities = Enumerable.Repeat(1.0, 500).ToArray() }, FitOptions.Default, CancellationToken.None).Blocks[0];
        var p = new GaussianParameters([1.2, -1.9, 0.4], RandomSpd(new Random(9), 3, 1.2));
        double usual = runtime.ExpectedLogLikelihood(stats, runtime.FromParameters([p]));
        var family = new GaussianFamily(3);
        var frame = stats.Centres![0];
        var eta = new double[family.StatisticCount];
        Assert.True(family.TryNaturalFromMoments(p.Mean.Select((m, j) => m - frame[j]).ToArray(), p.Covariance.Values, eta));
        double natural = eta.Zip(stats.Of(0).ToArray(), (e, s) => e * s).Sum() - stats.Counts[0] * family.LogNormalizer(eta);
        Assert.Equal(natural, usual, 1e-10 * Math.Abs(natural));
    }
}
