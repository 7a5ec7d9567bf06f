using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Inference;
using static EmDsl.Tests.Engine.EngineFixtures;

namespace EmDsl.Tests.Engine;

/// <summary>
/// Semi-supervised fits (<see cref="FitOptions.KnownLabels"/>), frozen parameters (<see cref="FitOptions.Frozen"/>) and
/// fixed-length runs (<see cref="FitOptions.RunAllIterations"/>), against oracles computed here independently of the
/// engine: the supervised maximum-likelihood estimates when every row is labelled, the fixed-point equations of the
/// semi-supervised objective with textbook densities, and, for hidden Markov models, the likelihood of the data and
/// the labels by enumerating every state path consistent with the labels.
/// </summary>
public class PartialLabelsAndFrozenTests
{
    private static (DataMatrix Data, int[] Truth) ThreeClusters(int rows, int seed)
    {
        var r = new Random(seed);
        var x = new double[rows][];
        var truth = new int[rows];
        double[][] centres = [[0, 0], [4, 1], [1, 5]];
        for (int i = 0; i < rows; i++)
        {
            int k = r.Next(3);
            truth[i] = k;
            x[i] = [centres[k][0] + Normal(r), centres[k][1] + 0.7 * Normal(r), r.Next(3 + 2 * k)];
        }
        return (DataMatrix.FromRows(x), truth);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void EveryRowLabelledGivesTheSupervisedMaximumLikelihoodEstimates(int seed)
    {
        var (data, truth) = ThreeClusters(300, seed);
        var g = Blocks.Gaussian("g", [0, 1], CovarianceType.Full);
        var n = Blocks.Poisson("n", [2]);
        var fit = Mixture.WithComponents(3).Observe(g).Observe(n).Build()
            .Fit(data, FitOptions.Default with { KnownLabels = truth, Seed = seed, CovarianceFloor = 0 });

        for (int k = 0; k < 3; k++)
        {
            var rows = Enumerable.Range(0, data.Rows).Where(i => truth[i] == k).Select(data.GetRow).ToArray();
            Assert.Equal((double)rows.Length / data.Rows, fit.Weights[k], 1e-12);
            double[] mean = [rows.Average(x => x[0]), rows.Average(x => x[1])];
            var gk = fit.Parameters(g)[k];
            AssertClose(mean, gk.Mean, 1e-10, $"mean {k}");
            for (int a = 0; a < 2; a++)
                for (int b = 0; b < 2; b++)
                    Assert.Equal(rows.Average(x => (x[a] - mean[a]) * (x[b] - mean[b])), gk.Covariance[a, b], 1e-10);
            Assert.Equal(rows.Average(x => x[2]), fit.Parameters(n)[k].Rates[0], 1e-10);
        }
        // The objective is log p(X, Z): Σ_n log π_{z_n} + log p(x_n | z_n), by textbook densities.
        double expected = Enumerable.Range(0, data.Rows).Sum(i => LogJoint(fit, data.GetRow(i))[truth[i]]);
        Assert.Equal(expected, fit.LogLikelihood, 1e-9 * Math.Abs(expected));
        Assert.True(fit.Converged);
    }

    [Theory]
    [InlineData(3, 0.1)]
    [InlineData(4, 0.3)]
    [InlineData(5, 0.02)]
    public void PartlyLabelledFitIsAFixedPointOfTheSemiSupervisedEquations(int seed, double labelled)
    {
        var (data, truth) = ThreeClusters(400, seed);
        var r = new Random(seed + 100);
        var known = truth.Select(t => r.NextDouble() < labelled ? t : -1).ToArray();
        var g = Blocks.Gaussian("g", [0, 1], CovarianceType.Full);
        var n = Blocks.Poisson("n", [2]);
        var fit = Mixture.WithComponents(3).Observe(g).Observe(n).Build()
            .Fit(data, FitOptions.Default with { KnownLabels = known, Seed = seed, Tolerance = 1e-13, MaxIterations = 5000 });
        AssertNonDecreasing(fit.ObjectiveTrace);
        Assert.DoesNotContain(fit.Diagnostics.Events, e => e.Kind is FitEventKind.ObjectiveDecreased or FitEventKind.FreeEnergyDecreased);

        // Posteriors by textbook densities: one-hot on labelled rows, Bayes' rule elsewhere.
        double objective = 0;
        var q = new double[data.Rows, 3];
        for (int i = 0; i < data.Rows; i++)
        {
            var lj = LogJoint(fit, data.GetRow(i));
            if (known[i] >= 0) { q[i, known[i]] = 1; objective += lj[known[i]]; continue; }
            double lse = LogSumExp(lj);
            objective += lse;
            for (int k = 0; k < 3; k++) q[i, k] = Math.Exp(lj[k] - lse);
        }
        Assert.Equal(objective, fit.LogLikelihood, 1e-9 * Math.Abs(objective));
        // At convergence the parameters reproduce themselves through one M-step with those posteriors.
        for (int k = 0; k < 3; k++)
        {
            double rk = Enumerable.Range(0, data.Rows).Sum(i => q[i, k]);
            Assert.Equal(rk / data.Rows, fit.Weights[k], 1e-6);
            double mx = Enumerable.Range(0, data.Rows).Sum(i => q[i, k] * data[i, 0]) / rk;
            double rate = Enumerable.Range(0, data.Rows).Sum(i => q[i, k] * data[i, 2]) / rk;
            Assert.Equal(mx, fit.Parameters(g)[k].Mean[0], 1e-5);
            Assert.Equal(rate, fit.Parameters(n)[k].Rates[0], 1e-5);
        }
        // Labels name the components: the k-means++ start was renumbered to agree with them.
        if (labelled >= 0.1)
            for (int k = 0; k < 3; k++)
            {
                var rows = Enumerable.Range(0, data.Rows).Where(i => known[i] == k).ToArray();
                Assert.True(rows.Count(i => fit.Predict(DataMatrix.FromRows([data.GetRow(i)]))[0] == k) >= 0.9 * rows.Length);
            }
    }

    [Fact]
    public void LabelsConstrainTheStartGivenAsResponsibilitiesToo()
    {
        var (data, truth) = ThreeClusters(60, 7);
        var g = Blocks.Gaussian("g", [0, 1], CovarianceType.Diagonal);
        var uniform = new double[data.Rows, 3];
        for (int i = 0; i < data.Rows; i++)
            for (int k = 0; k < 3; k++) uniform[i, k] = 1.0 / 3;
        var fit = Mixture.WithComponents(3).Observe(g).Build().Fit(data, FitOptions.Default with
        {
            KnownLabels = truth,
            Initialization = Initialization.FromResponsibilities(uniform),
        });
        // Every row labelled: the first estimate is already the supervised one, so one iteration settles it.
        for (int k = 0; k < 3; k++)
            Assert.Equal(Enumerable.Range(0, data.Rows).Where(i => truth[i] == k).Average(i => data[i, 0]), fit.Parameters(g)[k].Mean[0], 1e-10);
        Assert.True(fit.Iterations <= 2, $"{fit.Iterations} iterations");
    }

    [Fact]
    public void BadLabelsAreRejectedNamingTheRow()
    {
        var (data, truth) = ThreeClusters(30, 1);
        var model = Mixture.WithComponents(3).Observe(Blocks.Gaussian("g", [0, 1])).Build();
        var wrongLength = Assert.Throws<ArgumentException>(() => model.Fit(data, FitOptions.Default with { KnownLabels = truth.Take(29).ToArray() }));
        Assert.Contains("29 known labels were given for 30 rows", wrongLength.Message);
        var labels = truth.ToArray();
        labels[17] = 3;
        var outOfRange = Assert.Throws<ArgumentException>(() => model.Fit(data, FitOptions.Default with { KnownLabels = labels }));
        Assert.Contains("row 17 is 3", outOfRange.Message);
        Assert.Contains("0…2", outOfRange.Message);
        labels[17] = -2;
        Assert.Contains("row 17 is -2", Assert.Throws<ArgumentException>(() => model.Fit(data, FitOptions.Default with { KnownLabels = labels })).Message);
    }

    // ---------------------------------------------------------------- hidden Markov models

    private static (HiddenMarkovModel Model, Block Block, Initialization Start) SmallHmm(int seed, int k)
    {
        var r = new Random(seed);
        var block = Blocks.Gaussian("x", [0]);
        var model = HiddenMarkov.WithStates(k).Observe(block).Build();
        var a = new double[k, k];
        for (int i = 0; i < k; i++)
        {
            var row = RandomSimplex(r, k, 0.1);
            for (int j = 0; j < k; j++) a[i, j] = row[j];
        }
        var emissions = Enumerable.Range(0, k).Select(s => new GaussianParameters([2.0 * s + 0.3 * Normal(r)], new ReadOnlyMatrix(new[,] { { 0.5 + r.NextDouble() } }))).ToArray();
        return (model, block, Initialization.FromParameters(RandomSimplex(r, k, 0.1)).WithTransitions(a).With(block, emissions));
    }

    [Theory]
    [InlineData(1, 2)]
    [InlineData(2, 3)]
    [InlineData(3, 3)]
    public void HmmLabelsGiveTheLikelihoodOfTheDataAndTheLabelsByEnumeration(int seed, int k)
    {
        var (model, block, start) = SmallHmm(seed, k);
        var r = new Random(seed);
        int[] lengths = [4, 3];
        var sequences = lengths.Select(t => { var x = new double[t, 1]; for (int s = 0; s < t; s++) x[s, 0] = 2 * k * r.NextDouble(); return x; }).ToArray();
        var data = SequenceData.FromArrays(sequences);
        var known = Enumerable.Range(0, data.Steps).Select(_ => r.NextDouble() < 0.4 ? r.Next(k) : -1).ToArray();
        var fit = model.Fit(data, FitOptions.Default with { Initialization = start, MaxIterations = 0, KnownLabels = known });

        // Σ over the paths that agree with the labels of p(x, z), per sequence.
        var pi = fit.InitialProbabilities;
        var a = fit.TransitionMatrix;
        var emission = fit.Parameters((Block<GaussianParameters>)block);
        double total = 0;
        int offset = 0;
        foreach (var x in sequences)
        {
            int t = x.GetLength(0);
            var terms = new List<double>();
            foreach (var path in Paths(k, t))
            {
                if (Enumerable.Range(0, t).Any(s => known[offset + s] >= 0 && known[offset + s] != path[s])) continue;
                double lp = Math.Log(pi[path[0]]);
                for (int s = 0; s < t; s++)
                {
                    if (s > 0) lp += Math.Log(a[path[s - 1], path[s]]);
                    var e = emission[path[s]];
                    lp += MathNet.Numerics.Distributions.Normal.PDFLn(e.Mean[0], Math.Sqrt(e.Covariance[0, 0]), x[s, 0]);
                }
                terms.Add(lp);
            }
            total += LogSumExp(terms.ToArray());
            offset += t;
        }
        Assert.Equal(total, fit.LogLikelihood, 1e-10 * Math.Abs(total));

        // And EM from there never lowers it.
        var run = model.Fit(data, FitOptions.Default with { Initialization = start, MaxIterations = 50, KnownLabels = known });
        AssertNonDecreasing(run.ObjectiveTrace);
    }

    private static IEnumerable<int[]> Paths(int k, int t)
    {
        var path = new int[t];
        for (long code = 0; code < (long)Math.Pow(k, t); code++)
        {
            long c = code;
            for (int s = 0; s < t; s++) { path[s] = (int)(c % k); c /= k; }
            yield return path;
        }
    }

    [Fact]
    public void EveryStepLabelledGivesTheEmpiricalTransitions()
    {
        var (model, _, _) = SmallHmm(4, 2);
        var r = new Random(4);
        int steps = 200;
        var states = new int[steps];
        var x = new double[steps, 1];
        for (int t = 0; t < steps; t++)
        {
            states[t] = t == 0 ? 0 : r.NextDouble() < 0.8 ? states[t - 1] : 1 - states[t - 1];
            x[t, 0] = 3 * states[t] + Normal(r);
        }
        var fit = model.Fit(SequenceData.FromArrays([x]), FitOptions.Default with { KnownLabels = states });
        for (int i = 0; i < 2; i++)
        {
            int from = Enumerable.Range(0, steps - 1).Count(t => states[t] == i);
            for (int j = 0; j < 2; j++)
                Assert.Equal((double)Enumerable.Range(0, steps - 1).Count(t => states[t] == i && states[t + 1] == j) / from, fit.TransitionMatrix[i, j], 1e-10);
        }
        Assert.Equal(1, fit.InitialProbabilities[0], 1e-12);
    }

    // ---------------------------------------------------------------- frozen parameters

    [Fact]
    public void AFrozenBlockKeepsItsGivenParametersAndTheRestReachTheirConditionalOptimum()
    {
        var (data, _) = ThreeClusters(300, 9);
        var g = Blocks.Gaussian("g", [0, 1], CovarianceType.Full);
        var n = Blocks.Poisson("n", [2]);
        var model = Mixture.WithComponents(3).Observe(g).Observe(n).Build();
        var given = new[]
        {
            new GaussianParameters([0.5, 0.0], new ReadOnlyMatrix(new[,] { { 1.5, 0.2 }, { 0.2, 1.0 } })),
            new GaussianParameters([3.0, 1.5], new ReadOnlyMatrix(new[,] { { 1.0, 0.0 }, { 0.0, 1.0 } })),
            new GaussianParameters([1.0, 4.0], new ReadOnlyMatrix(new[,] { { 2.0, -0.3 }, { -0.3, 0.8 } })),
        };
        var start = Initialization.FromParameters([0.2, 0.3, 0.5]).With(g, given).With(n, [new PoissonParameters([1.0]), new PoissonParameters([2.0]), new PoissonParameters([3.0])]);
        var fit = model.Fit(data, FitOptions.Default with
        {
            Initialization = start,
            Frozen = new FrozenParameters { Blocks = ["g"] },
            Tolerance = 1e-13,
            MaxIterations = 5000,
        });
        for (int k = 0; k < 3; k++) Assert.Equal(given[k], fit.Parameters(g)[k]);
        AssertNonDecreasing(fit.ObjectiveTrace);
        Assert.Equal(model.FreeParameterCount - 3 * (2 + 3), fit.FreeParameterCount);
        // The free parameters satisfy their M-step equations under the posterior at the fit.
        var q = fit.PredictProba(data);
        for (int k = 0; k < 3; k++)
        {
            double rk = Enumerable.Range(0, data.Rows).Sum(i => q[i, k]);
            Assert.Equal(rk / data.Rows, fit.Weights[k], 1e-7);
            Assert.Equal(Enumerable.Range(0, data.Rows).Sum(i => q[i, k] * data[i, 2]) / rk, fit.Parameters(n)[k].Rates[0], 1e-6);
        }
        Assert.NotEqual(0.2, fit.Weights[0]);
    }

    [Fact]
    public void FrozenWeightsKeepTheirGivenValues()
    {
        var (data, _) = ThreeClusters(200, 10);
        var g = Blocks.Gaussian("g", [0, 1], CovarianceType.Diagonal);
        var model = Mixture.WithComponents(3).Observe(g).Build();
        var first = model.Fit(data, FitOptions.Default with { MaxIterations = 3 });
        var weights = new[] { 0.6, 0.3, 0.1 };
        var start = Initialization.FromParameters(weights).With(g, first.Parameters(g));
        var given = model.Fit(data, FitOptions.Default with { Initialization = start, MaxIterations = 0 });
        var fit = model.Fit(data, FitOptions.Default with { Initialization = start, Frozen = new FrozenParameters { Weights = true } });
        AssertIdentical(given.Weights, fit.Weights, "frozen weights");
        AssertClose(weights, fit.Weights, 1e-15, "frozen weights");
        Assert.NotEqual(given.Parameters(g)[0], fit.Parameters(g)[0]);
        AssertNonDecreasing(fit.ObjectiveTrace);
        Assert.Equal(model.FreeParameterCount - 2, fit.FreeParameterCount);
        Assert.True(fit.Converged);
    }

    [Fact]
    public void FrozenTransitionsOfAnHmmStayWhileItsInitialProbabilitiesAndEmissionsMove()
    {
        var (model, block, start) = SmallHmm(5, 3);
        var r = new Random(5);
        var x = new double[300, 1];
        for (int t = 0; t < 300; t++) x[t, 0] = 2 * r.Next(3) + 0.5 * Normal(r);
        var data = SequenceData.FromArrays([x, x]);
        var given = model.Fit(data, FitOptions.Default with { Initialization = start, MaxIterations = 0 });
        var fit = model.Fit(data, FitOptions.Default with { Initialization = start, Frozen = new FrozenParameters { Transitions = true } });
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++) Assert.Equal(given.TransitionMatrix[i, j], fit.TransitionMatrix[i, j]);
        Assert.NotEqual(given.Parameters((Block<GaussianParameters>)block)[0], fit.Parameters((Block<GaussianParameters>)block)[0]);
        Assert.NotEqual(given.InitialProbabilities[0], fit.InitialProbabilities[0]);
        AssertNonDecreasing(fit.ObjectiveTrace);
        Assert.Equal(model.FreeParameterCount - 3 * 2, fit.FreeParameterCount);

        var both = model.Fit(data, FitOptions.Default with { Initialization = start, Frozen = new FrozenParameters { Transitions = true, Weights = true, Blocks = ["x"] } });
        Assert.Equal(given.LogLikelihood, both.LogLikelihood);
        Assert.Equal(0, both.FreeParameterCount);
    }

    [Fact]
    public void FreezingWhatTheModelDoesNotHaveIsAnError()
    {
        var (data, _) = ThreeClusters(30, 1);
        var model = Mixture.WithComponents(2).Observe(Blocks.Gaussian("g", [0, 1])).Build();
        var unknown = Assert.Throws<ArgumentException>(() => model.Fit(data, FitOptions.Default with { Frozen = new FrozenParameters { Blocks = ["h"] } }));
        Assert.Contains("'h'", unknown.Message);
        Assert.Contains("'g'", unknown.Message);
        var transitions = Assert.Throws<ArgumentException>(() => model.Fit(data, FitOptions.Default with { Frozen = new FrozenParameters { Transitions = true } }));
        Assert.Contains("mixture", transitions.Message);
    }

    // ---------------------------------------------------------------- fixed-length runs

    [Fact]
    public void RunAllIterationsDoesExactlyMaxIterationsEvenWhenTheObjectiveRepeats()
    {
        var data = TwoClusters(200, 3);
        var model = Mixture.WithComponents(2).Observe(Blocks.Gaussian("g", [0, 1])).Build();
        var usual = model.Fit(data, FitOptions.Default with { Tolerance = 0, MaxIterations = 2000 });
        Assert.True(usual.Iterations < 2000, "the usual run stops when the objective repeats");
        var exact = model.Fit(data, FitOptions.Default with { Tolerance = 0, MaxIterations = usual.Iterations + 25, RunAllIterations = true });
        Assert.Equal(usual.Iterations + 25, exact.Iterations);
        Assert.Equal(usual.Iterations + 26, exact.ObjectiveTrace.Count);
        Assert.Equal(FitStatus.Converged, exact.Status);
        var (overlapping, _) = ThreeClusters(300, 2);
        var early = Mixture.WithComponents(3).Observe(Blocks.Gaussian("g", [0, 1])).Build()
            .Fit(overlapping, FitOptions.Default with { MaxIterations = 3, Tolerance = 1e-12, RunAllIterations = true });
        Assert.Equal(3, early.Iterations);
        Assert.Equal(FitStatus.IterationLimit, early.Status);
    }
}

/// <summary>
/// Over random mixtures (every built-in family, priors, sample weights, chunk sizes): with random rows labelled and a
/// random choice of blocks and weights frozen, the objective never falls, every half-step keeps the free energy, and
/// frozen parameters never move after the start.
/// </summary>
public class PartialLabelsAndFrozenProperties(Xunit.Abstractions.ITestOutputHelper output)
{
    internal static void CheckCase(MixtureCase c)
    {
        var blocks = RandomMixtures.BuildBlocks(c);
        var model = RandomMixtures.BuildModel(c, blocks);
        var data = RandomMixtures.BuildData(c);
        var weights = RandomMixtures.BuildWeights(c);
        var r = new Random(c.DataSeed);
        var labels = Enumerable.Range(0, data.Rows).Select(_ => r.NextDouble() < 0.3 ? r.Next(c.K) : -1).ToArray();
        var frozen = new FrozenParameters
        {
            Weights = r.NextDouble() < 0.5,
            Blocks = blocks.Where(_ => r.NextDouble() < 0.4).Select(b => b.Name).ToArray(),
        };
        var options = FitOptions.Default with
        {
            MaxIterations = Math.Max(2, c.MaxIterations), Tolerance = 0, Seed = c.DataSeed, ChunkRows = c.ChunkRows,
            KnownLabels = labels, Frozen = frozen,
        };
        MixtureFit fit, first;
        try
        {
            fit = model.Fit(data, options, weights);
            first = model.Fit(data, options with { MaxIterations = 1 }, weights);
        }
        catch (Exception e) { throw new Exception($"Fit threw on {c}: {e.GetType().Name}: {e.Message}", e); }
        var trace = fit.ObjectiveTrace;
        for (int i = 1; i < trace.Count; i++)
            if (!(trace[i] - trace[i - 1] >= -1e-9 * Math.Max(1, Math.Abs(trace[i - 1]))))
                Assert.Fail($"{c} (frozen: {frozen.Weights}, [{string.Join(", ", frozen.Blocks)}]): objective decreased at iteration {i}: {trace[i - 1]:G17} → {trace[i]:G17}.");
        FreeEnergyChecks.AssertHalfSteps(fit, c.ToString());
        Assert.True(AllValues(fit).All(double.IsFinite), $"{c}: a parameter is not finite.");
        if (frozen.Weights) AssertIdentical(first.Weights, fit.Weights, $"{c}: frozen weights");
        foreach (var b in blocks.Where(b => frozen.Blocks.Contains(b.Name)))
            AssertIdentical(BlockValues(first, b), BlockValues(fit, b), $"{c}: frozen block '{b.Name}'");
        Assert.Equal(model.FreeParameterCount - (frozen.Weights ? c.K - 1 : 0) - blocks.Where(b => frozen.Blocks.Contains(b.Name)).Sum(b => b.FreeParameterCount(c.K)),
            fit.FreeParameterCount);
    }

    [Fact]
    public void LabelledAndFrozenFitsNeverLowerTheObjective()
    {
        PropertyChecks.ForAll(RandomMixtures.Arbitrary, c => { CheckCase(c); }, baseline: 100);
        output.WriteLine($"{PropertyChecks.Cases(100)} random cases");
    }
}
