using EmDsl.AutoDiff;
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
            prior: GaussianPrior.NormalInverseGamma(mean: [0, 0, 0], kappa: 0.01, shape: 2, scale: 0.5));
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

    [Fact]
    public void DeclaredFamilyFromTheReadmeFitsOldFaithfulWaitingTimes()
    {
        var data = OldFaithfulReferenceTests.OldFaithful();

        // --- as in README.md ---
        var inverseGaussian = DeclaredFamily.Declare("inverse Gaussian", dimension: 1,
                statistics: x => Var.ConcatColumns(x, 1.0 / x),
                logNormalizer: eta => -2 * (eta.Columns(0, 1) * eta.Columns(1, 1)).Sqrt() - 0.5 * (-2 * eta.Columns(1, 1)).Log(),
                natural: NaturalDomain.Coordinates(NaturalConstraint.Negative, NaturalConstraint.Negative))
            .WithLogBaseMeasure(x => -0.5 * Math.Log(2 * Math.PI) - 1.5 * x.Log())
            .WithSupport(ColumnSupport.Positive)
            .WithMeanDomain(m => m[0] > 0 && m[0] * m[1] > 1) // E[x]·E[1/x] > 1 (Jensen)
            .Build();

        var waiting = Blocks.FromFamily("waiting", [1], inverseGaussian);
        var fit = Mixture.WithComponents(2).Observe(waiting).Build().Fit(data, FitOptions.Default with { Restarts = 5, Seed = 1 });
        // --- end ---

        var gaussian = Mixture.WithComponents(2).Observe(Blocks.Gaussian("waiting", [1])).Build().Fit(data, FitOptions.Default with { Restarts = 5, Seed = 1 });
        Assert.Equal(2093.4, fit.BayesianInformationCriterion, 0.05);
        Assert.Equal(2096.0, gaussian.BayesianInformationCriterion, 0.05);
        var means = fit.Parameters(waiting).Select(p => Math.Sqrt(p.Natural[1] / p.Natural[0])).Order().ToArray();
        Assert.Equal(55.2, means[0], 0.1);
        Assert.Equal(80.4, means[1], 0.1);
    }

    [Fact]
    public void MixtureOfExpertsFromTheReadmeRunsOnThePatentData()
    {
        // flexmix's patent data: columns Patents, lgRD, RDS (tests/fixtures/r_patent.csv).
        var data = DataMatrix.ReadCsv(Path.Combine(AppContext.BaseDirectory, "fixtures", "r_patent.csv"));

        // --- as in README.md ---
        var expert = Blocks.PoissonRegression("patents", response: 0, covariates: [1]);
        var model = Mixture.WithComponents(3).Observe(expert).GatedBy([2]).Build();
        var fit = model.Fit(data);
        IReadOnlyList<RegressionParameters> experts = fit.Parameters(expert);   // Intercept, Slopes per component
        IReadOnlyList<RegressionParameters> gating = fit.GatingCoefficients;    // component 0 is all zero
        // --- end ---

        Assert.Equal(3, experts.Count);
        Assert.Equal(new RegressionParameters(0, [0.0]), gating[0]);
        Assert.False(fit.Diagnostics.ObjectiveEverDecreased);
        Assert.True(fit.Converged);
        Assert.Equal(1, fit.Weights.Sum(), 1e-12);
    }

    [Fact]
    public void HiddenMarkovSnippetFromTheReadmeRunsOnTheEarthquakeCounts()
    {
        var counts = Hmm.EarthquakeReferenceTests.Earthquakes().GetColumn(0);

        // --- as in README.md ---
        var data = DataMatrix.FromColumn(counts);                  // one sequence: the rows in order
        var quakes = Blocks.Poisson("quakes", [0]);
        var model = HiddenMarkov.WithStates(3).Observe(quakes).Build();
        var fit = model.Fit(data, FitOptions.Default with { Restarts = 10, Seed = 1 });

        double[,] a = fit.TransitionMatrix;                        // A[i, j] = p(z_{t+1} = j | z_t = i)
        IReadOnlyList<double> pi = fit.InitialProbabilities;
        IReadOnlyList<PoissonParameters> rates = fit.Parameters(quakes);
        int[] path = fit.Decode(data);                             // Viterbi
        double[,] marginals = fit.PosteriorMarginals(data);        // p(z_t = k | x)
        // --- end ---

        Assert.Equal(-328.5275, fit.LogLikelihood, 3);
        Assert.All(rates.Select(r => r.Rates[0]).Order().Zip([13.13, 19.71, 29.71]), p => Assert.Equal(p.Second, p.First, 0.02));
        Assert.Equal(1, pi.Sum(), 12);
        Assert.Equal(1, a[2, 0] + a[2, 1] + a[2, 2], 12);
        Assert.Equal(data.Rows, path.Length);
        Assert.Equal(data.Rows, marginals.GetLength(0));
    }
}
