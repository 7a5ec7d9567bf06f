using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Families.Priors;
using EmDsl.Inference;

namespace EmDsl.Tests;

/// <summary>The code shown in README.md, compiled and run, so the README stays true.</summary>
public class ReadmeExamplesTests
{
    [Fact]
    public void MultiBlockModelFromTheReadmeFitsAndRecoversItsGroups()
    {
        // Three groups of patients with distinct vitals, visit counts, smoking and region.
        var random = new Random(7);
        var rows = new List<double[]>();
        var truth = new List<int>();
        double[][] vitalsMean = [[-2, 0, 1], [2, 1, -1], [0, -2, 0]];
        double[] visitRate = [1, 5, 12];
        double[] smokeP = [0.1, 0.5, 0.9];
        for (int i = 0; i < 900; i++)
        {
            int g = i % 3;
            truth.Add(g);
            var row = new double[6];
            for (int j = 0; j < 3; j++) row[j] = vitalsMean[g][j] + 0.5 * MathNet.Numerics.Distributions.Normal.Sample(random, 0, 1);
            row[3] = MathNet.Numerics.Distributions.Poisson.Sample(random, visitRate[g]);
            row[4] = random.NextDouble() < smokeP[g] ? 1 : 0;
            row[5] = random.NextDouble() < 0.7 ? g : random.Next(4);
            rows.Add(row);
        }
        var data = DataMatrix.FromRows(rows);

        // --- as in README.md ---
        var vitals = Blocks.Gaussian("vitals", [0, 1, 2], CovarianceType.Diagonal,
            prior: GaussianPrior.NormalInverseWishart(mean: [0, 0, 0], kappa: 0.01,
                scale: ReadOnlyMatrix.Identity(3), degreesOfFreedom: 5));
        var visits = Blocks.Poisson("visits", [3], prior: new GammaPrior(shape: 2, rate: 1));
        var smoker = Blocks.Bernoulli("smoker", [4], prior: new BetaPrior(1.1, 1.1));
        var region = Blocks.Categorical("region", [5], categories: 4);
        var model = Mixture.WithComponents(3).Observe(vitals).Observe(visits).Observe(smoker).Observe(region)
            .WithWeightPrior(1.1).Build();
        // ---

        var fit = model.Fit(data, FitOptions.Default with { Seed = 3, Restarts = 3 });
        Assert.True(fit.Converged);
        Assert.True(fit.LogPrior != 0);
        Assert.Equal(fit.LogLikelihood + fit.LogPrior, fit.Objective, 9);

        // Each fitted component is one true group: match by visit rate, then check every block.
        var rates = fit.Parameters(visits).Select(p => p.Rates[0]).ToArray();
        var order = Enumerable.Range(0, 3).OrderBy(k => rates[k]).ToArray();
        var labels = fit.Predict(data);
        int agree = labels.Zip(truth).Count(p => order[p.Second] == p.First);
        Assert.True(agree > 0.97 * data.Rows, $"only {agree} of {data.Rows} rows in their true group");
        for (int g = 0; g < 3; g++)
        {
            int k = order[g];
            Assert.Equal(visitRate[g], rates[k], 0.15 * visitRate[g] + 0.3);
            Assert.Equal(smokeP[g], fit.Parameters(smoker)[k].Probabilities[0], 0.08);
            Assert.Equal(0.7 + 0.3 / 4, fit.Parameters(region)[k].Probabilities[g], 0.08);
            for (int j = 0; j < 3; j++) Assert.Equal(vitalsMean[g][j], fit.Parameters(vitals)[k].Mean[j], 0.12);
        }
    }
}
