using EmDsl.AutoDiff;
using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Inference;
using static EmDsl.Tests.Engine.EngineFixtures;
using static EmDsl.Tests.Hmm.HmmFixtures;

namespace EmDsl.Tests.Hmm;

/// <summary>
/// Hidden Markov models fitted end to end: recovery of known parameters from long sampled sequences for Gaussian,
/// Poisson and categorical emissions; the tied chain and sequences of length 1 fit exactly like the mixture;
/// structural zeros, fixed and tied transitions, priors, free-parameter counts, starts, sampling and decoding,
/// regression and declared-family emissions, and bit-identical results on any thread count.
/// </summary>
public class HiddenMarkovFitTests
{
    private static readonly double[,] Truth3 = { { 0.90, 0.07, 0.03 }, { 0.05, 0.90, 0.05 }, { 0.10, 0.05, 0.85 } };

    private static void AssertRecovered(HiddenMarkovFit fit, int[] order, double tolerance)
    {
        AssertMatrixClose(Truth3, Permute(fit.TransitionMatrix, order), tolerance, "transition matrix");
        Assert.True(fit.Converged, $"the fit did not converge: {fit.Status}, {fit.Diagnostics}");
        AssertNonDecreasing(fit.ObjectiveTrace);
        Assert.DoesNotContain(fit.Diagnostics.Events, e => e.Kind is FitEventKind.ObjectiveDecreased or FitEventKind.FreeEnergyDecreased);
    }

    [Fact]
    public void RecoversAGaussianHmm()
    {
        var r = new Random(1);
        double[][] means = [[0, 0], [4, 1], [1, 5]];
        var covs = new[] { new double[,] { { 1, 0.5 }, { 0.5, 1 } }, new double[,] { { 0.5, 0 }, { 0, 2 } }, new double[,] { { 1.5, -0.4 }, { -0.4, 0.8 } } };
        var (data, _) = Sample(r, [0.5, 0.3, 0.2], Truth3, [20_000, 15_000, 15_000], k => SampleMvn(r, means[k], covs[k]));
        var block = Blocks.Gaussian("x", [0, 1]);
        var fit = HiddenMarkov.WithStates(3).Observe(block).Build().Fit(data, FitOptions.Default with { Restarts = 3, Seed = 2 });
        var p = fit.Parameters(block);
        var order = OrderBy(p.Select(q => q.Mean[0] + 10 * q.Mean[1]).ToArray()); // truth order: 0, 1, 2 by this key
        AssertRecovered(fit, order, 0.01);
        for (int k = 0; k < 3; k++)
        {
            var q = p[order[k]];
            for (int i = 0; i < 2; i++)
            {
                Assert.Equal(means[k][i], q.Mean[i], 0.05);
                for (int j = 0; j < 2; j++) Assert.Equal(covs[k][i, j], q.Covariance[i, j], 0.08);
            }
        }
    }

    [Fact]
    public void RecoversAPoissonHmm()
    {
        var r = new Random(3);
        double[] rates = [2, 7, 15];
        var (data, _) = Sample(r, [1.0 / 3, 1.0 / 3, 1.0 / 3], Truth3, [40_000], k => [MathNet.Numerics.Distributions.Poisson.Sample(r, rates[k])]);
        var block = Blocks.Poisson("n", [0]);
        var fit = HiddenMarkov.WithStates(3).Observe(block).Build().Fit(data, FitOptions.Default with { Restarts = 3, Seed = 4 });
        var fitted = fit.Parameters(block).Select(q => q.Rates[0]).ToArray();
        var order = OrderBy(fitted);
        AssertRecovered(fit, order, 0.015);
        for (int k = 0; k < 3; k++) Assert.Equal(rates[k], fitted[order[k]], 0.1);
    }

    [Fact]
    public void RecoversACategoricalHmm()
    {
        var r = new Random(5);
        double[][] probabilities = [[0.7, 0.1, 0.1, 0.05, 0.05], [0.05, 0.1, 0.7, 0.1, 0.05], [0.05, 0.05, 0.1, 0.1, 0.7]];
        var (data, _) = Sample(r, [0.4, 0.3, 0.3], Truth3, Enumerable.Repeat(1000, 60).ToArray(), k => [SampleIndex(r, probabilities[k])]);
        var block = Blocks.Categorical("c", [0], 5);
        var fit = HiddenMarkov.WithStates(3).Observe(block).Build().Fit(data, FitOptions.Default with { Restarts = 5, Seed = 6 });
        var p = fit.Parameters(block);
        var order = OrderBy(p.Select(q => Enumerable.Range(0, 5).Sum(c => c * q.Probabilities[c])).ToArray());
        AssertRecovered(fit, order, 0.02);
        for (int k = 0; k < 3; k++)
            for (int c = 0; c < 5; c++) Assert.Equal(probabilities[k][c], p[order[k]].Probabilities[c], 0.02);
        // 60 sequences: the initial distribution is estimated too.
        Assert.Equal(0.4, fit.InitialProbabilities[order[0]], 0.15);
    }

    /// <summary>A chain whose every row is the initial distribution is the K-mixture over the steps: same trace and parameters.</summary>
    [Fact]
    public void TiedChainFitsLikeTheMixture()
    {
        var data = TwoClusters(3000, seed: 7);
        var block = Blocks.Gaussian("x", [0, 1]);
        var start = Initialization.FromParameters([0.5, 0.5])
            .With(block, [new GaussianParameters([1, 1], ReadOnlyMatrix.Identity(2)), new GaussianParameters([4, -2], ReadOnlyMatrix.Identity(2))]);
        var options = FitOptions.Default with { Initialization = start, MaxIterations = 40, Tolerance = 0 };
        var mixture = Mixture.WithComponents(2).Observe(block).Build().Fit(data, options);
        var sequences = SequenceData.FromLengths(data, [1000, 700, 1300]);
        var tied = HiddenMarkov.WithStates(2).Observe(block).TieTransitions().Build().Fit(sequences, options);
        AssertTracesClose(mixture.ObjectiveTrace, tied.ObjectiveTrace, 1e-10);
        AssertClose(mixture.Weights, tied.InitialProbabilities, 1e-9, "weights");
        AssertClose(mixture.Weights, Enumerable.Range(0, 2).Select(j => tied.TransitionMatrix[1, j]).ToArray(), 1e-9, "every transition row");
        AssertClose(BlockValues(mixture, block), BlockValues(tied, block), 1e-8, "Gaussian parameters");
        Assert.Equal(mixture.FreeParameterCount, tied.FreeParameterCount);
    }

    /// <summary>Sequences of one step have no transitions: the HMM is the mixture, its initial distribution the weights.</summary>
    [Fact]
    public void LengthOneSequencesFitLikeTheMixture()
    {
        var data = TwoClusters(500, seed: 8);
        var block = Blocks.Gaussian("x", [0, 1], CovarianceType.Diagonal);
        var start = Initialization.FromParameters([0.3, 0.7])
            .With(block, [GaussianParameters.WithVariances([0, 0], [1, 1]), GaussianParameters.WithVariances([5, -2], [2, 2])]);
        var options = FitOptions.Default with { Initialization = start, MaxIterations = 30, Tolerance = 0 };
        var mixture = Mixture.WithComponents(2).Observe(block).Build().Fit(data, options);
        var hmm = HiddenMarkov.WithStates(2).Observe(block).Build().Fit(SequenceData.FromLengths(data, Enumerable.Repeat(1, 500)), options);
        AssertTracesClose(mixture.ObjectiveTrace, hmm.ObjectiveTrace, 1e-10);
        AssertClose(mixture.Weights, hmm.InitialProbabilities, 1e-9, "weights");
        AssertClose(BlockValues(mixture, block), BlockValues(hmm, block), 1e-8, "Gaussian parameters");
        Assert.All(hmm.ScoreSequences(SequenceData.FromLengths(data, Enumerable.Repeat(1, 500))).Zip(mixture.ScoreSamples(data)),
            p => Assert.Equal(p.Second, p.First, 1e-9));
    }

    private static SequenceData ManySequencesAndALongOne(int seed)
    {
        var r = new Random(seed);
        var lengths = new List<int> { 40_000 };
        lengths.AddRange(Enumerable.Range(0, 300).Select(_ => 1 + r.Next(60)));
        return Sample(r, [0.5, 0.5, 0], Truth3, lengths.ToArray(), k => [k + Normal(r), MathNet.Numerics.Distributions.Poisson.Sample(r, 1 + 3 * k)]).Data;
    }

    [Fact]
    public void ThreadCountChangesNothingBitForBit()
    {
        var data = ManySequencesAndALongOne(9);
        var model = HiddenMarkov.WithStates(3).Observe(Blocks.Gaussian("x", [0]), Blocks.Poisson("n", [1])).WithTransitionPrior(1.5).Build();
        HiddenMarkovFit Run(int threads) => model.Fit(data, FitOptions.Default with { Seed = 5, ChunkRows = 512, MaxIterations = 12, Tolerance = 0, MaxDegreeOfParallelism = threads });
        var one = Run(1);
        Assert.Equal(12, one.Iterations);
        foreach (int threads in new[] { 2, 4, -1 })
        {
            var fit = Run(threads);
            AssertIdentical(one.ObjectiveTrace, fit.ObjectiveTrace, $"trace with {threads} threads");
            AssertIdentical(AllValues(one), AllValues(fit), $"parameters with {threads} threads");
            AssertIdentical(one.FreeEnergyTrace.Select(p => p.Value).ToArray(), fit.FreeEnergyTrace.Select(p => p.Value).ToArray(), $"free energy with {threads} threads");
        }
    }

    [Fact]
    public void ChunkSizeChangesOnlyRounding()
    {
        var data = ManySequencesAndALongOne(10);
        var model = HiddenMarkov.WithStates(3).Observe(Blocks.Gaussian("x", [0]), Blocks.Poisson("n", [1])).Build();
        var fits = new[] { 100, 4096, 100_000 }.Select(c => model.Fit(data, FitOptions.Default with { Seed = 5, ChunkRows = c, MaxIterations = 10, Tolerance = 0 })).ToArray();
        for (int i = 1; i < fits.Length; i++)
        {
            AssertClose(fits[0].ObjectiveTrace, fits[i].ObjectiveTrace, 1e-10, "trace");
            AssertClose(AllValues(fits[0]), AllValues(fits[i]), 1e-8, "parameters");
        }
    }

    [Fact]
    public void LeftToRightStructuralZerosStayZero()
    {
        var r = new Random(11);
        double[,] truth = { { 0.9, 0.1, 0 }, { 0, 0.95, 0.05 }, { 0, 0, 1 } };
        var (data, _) = Sample(r, [1, 0, 0], truth, Enumerable.Repeat(120, 40).ToArray(), k => [3 * k + Normal(r)]);
        var model = HiddenMarkov.WithStates(3).Observe(Blocks.Gaussian("x", [0])).WithTransitions(TransitionStructure.LeftToRight()).Build();
        var fit = model.Fit(data, FitOptions.Default with { Seed = 1 });
        var a = fit.TransitionMatrix;
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                if (!model.Structure.Allows(i, j)) Assert.True(a[i, j] == 0, $"forbidden {i} → {j} became {a[i, j]}");
        Assert.Equal([1.0, 0, 0], fit.InitialProbabilities);
        AssertMatrixClose(truth, a, 0.02, "left-to-right transitions");
        // (K − 1)·0 initial + (2 − 1) + (2 − 1) + (1 − 1) transitions + 3·2 Gaussian.
        Assert.Equal(2 + 6, fit.FreeParameterCount);
        Assert.Equal(-2 * fit.LogLikelihood + 8 * Math.Log(data.Steps), fit.BayesianInformationCriterion, 1e-9);
    }

    [Fact]
    public void FixedTransitionsAreNotEstimated()
    {
        var r = new Random(12);
        var (data, _) = Sample(r, [0.5, 0.5], Sticky(2, 0.9), [2000], k => [4 * k + Normal(r)]);
        var fixedMatrix = new double[,] { { 0.8, 0.2 }, { 0.3, 0.7 } };
        var model = HiddenMarkov.WithStates(2).Observe(Blocks.Gaussian("x", [0])).FixTransitions(fixedMatrix).Build();
        var fit = model.Fit(data, FitOptions.Default with { Seed = 1 });
        AssertMatrixClose(fixedMatrix, fit.TransitionMatrix, 0, "fixed transitions");
        Assert.Equal(1 + 4, fit.FreeParameterCount);
        AssertNonDecreasing(fit.ObjectiveTrace);
    }

    [Fact]
    public void FreeParameterCountsFollowTheStructure()
    {
        var x = Blocks.Gaussian("x", [0, 1], CovarianceType.Full); // 5 per state
        Assert.Equal(2 + 3 * 2 + 3 * 5, HiddenMarkov.WithStates(3).Observe(x).Build().FreeParameterCount);
        Assert.Equal(2 + 3 * 5, HiddenMarkov.WithStates(3).Observe(x).TieTransitions().Build().FreeParameterCount);
        var mask = new[,] { { true, true, false }, { false, true, true }, { true, false, true } };
        Assert.Equal(2 + 3 * 1 + 3 * 5, HiddenMarkov.WithStates(3).Observe(x).WithTransitions(TransitionStructure.FromMask(mask)).Build().FreeParameterCount);
        // Left-to-right with jumps of 2: one allowed start (0 free); rows allow 3, 2 and 1 successors (2 + 1 + 0 free).
        Assert.Equal(0 + 3 + 3 * 5, HiddenMarkov.WithStates(3).Observe(x).WithTransitions(TransitionStructure.LeftToRight(2)).Build().FreeParameterCount);
    }

    [Fact]
    public void PriorsArePseudoCountsAndEnterTheObjective()
    {
        var r = new Random(13);
        var (data, _) = Sample(r, [0.5, 0.5], Sticky(2, 0.85), [300, 200], k => [MathNet.Numerics.Distributions.Poisson.Sample(r, 2 + 6 * k)]);
        var n = Blocks.Poisson("n", [0]);
        var alpha = new double[,] { { 3, 1.5 }, { 2, 4 } };
        var model = HiddenMarkov.WithStates(2).Observe(n).WithTransitionPrior(alpha).WithInitialPrior([2, 3]).Build();
        var fit = model.Fit(data, FitOptions.Default with { Seed = 2, Tolerance = 1e-14, MaxIterations = 5000 });
        var a = fit.TransitionMatrix;
        static double LogDirichlet(double[] alpha, double[] p) => new MathNet.Numerics.Distributions.Dirichlet(alpha).DensityLn(p);
        double expected = LogDirichlet([2, 3], fit.InitialProbabilities.ToArray())
            + LogDirichlet([3, 1.5], [a[0, 0], a[0, 1]])
            + LogDirichlet([2, 4], [a[1, 0], a[1, 1]]);
        Assert.Equal(expected, fit.LogPrior, 1e-9);
        Assert.Equal(fit.LogLikelihood + fit.LogPrior, fit.Objective, 1e-9);
        AssertNonDecreasing(fit.ObjectiveTrace);
        // The M-step is the posterior mode: (N_ij + α_ij − 1) / Σ_j (N_ij + α_ij − 1) with the final E-step's counts.
        var summary = fit.Compiled.Pass(data.Data, data.Starts, null, null, fit.State, new CompiledModel.PassOutputs(), FitOptions.Default, CancellationToken.None);
        var counts = ((MarkovStatistics)summary.Latent).Transitions;
        for (int i = 0; i < 2; i++)
        {
            double row = counts[i * 2] + alpha[i, 0] - 1 + counts[i * 2 + 1] + alpha[i, 1] - 1;
            Assert.Equal((counts[i * 2] + alpha[i, 0] - 1) / row, a[i, 0], 1e-8); // the last M-step used the previous E-step's counts
        }
    }

    [Fact]
    public void SamplesAreReproducibleAndDecodingFindsTheStates()
    {
        var r = new Random(14);
        var (data, _) = Sample(r, [0.5, 0.5], Sticky(2, 0.95), [5000], k => [5 * k + Normal(r)]);
        var block = Blocks.Gaussian("x", [0]);
        var fit = HiddenMarkov.WithStates(2).Observe(block).Build().Fit(data, FitOptions.Default with { Seed = 1 });
        var a = fit.Sample([300, 200], seed: 7);
        var b = fit.Sample([300, 200], seed: 7);
        Assert.Equal(a.Data.Data.ToArray(), b.Data.Data.ToArray());
        Assert.Equal([300, 200], a.Data.Lengths);
        var decoded = fit.Decode(a.Data);
        double agreement = decoded.Zip(a.States).Sum(p => p.First.Zip(p.Second).Count(q => q.First == q.Second)) / 500.0;
        Assert.True(agreement > 0.97, $"Viterbi agrees with the sampled states on only {agreement:P1} of the steps");
        var marginals = fit.PosteriorMarginals(a.Data);
        for (int t = 0; t < 300; t++) Assert.Equal(1, marginals[0][t, 0] + marginals[0][t, 1], 1e-12);
        Assert.Equal(fit.ScoreSequences(a.Data).Sum(), fit.Score(a.Data), 1e-9);
        Assert.Equal(fit.Score(a.Data.Sequence(1)), fit.ScoreSequences(a.Data)[1], 1e-9);
    }

    [Fact]
    public void StartsFromAMixtureFitAndFromAnEarlierHmmFit()
    {
        var r = new Random(15);
        var (data, _) = Sample(r, [0.5, 0.5], Sticky(2, 0.9), [3000], k => [4 * k + Normal(r), 2 * k + Normal(r)]);
        var block = Blocks.Gaussian("x", [0, 1]);
        var mixture = Mixture.WithComponents(2).Observe(block).Build().Fit(data.Data, FitOptions.Default with { Seed = 1 });
        var model = HiddenMarkov.WithStates(2).Observe(block).Build();
        var fromMixture = model.Fit(data, FitOptions.Default with { Initialization = Initialization.FromFit(mixture) });
        Assert.True(fromMixture.Converged);
        AssertClose(BlockValues(mixture, block), BlockValues(fromMixture, block), 0.1, "close to the mixture clusters");
        var again = model.Fit(data, FitOptions.Default with { Initialization = Initialization.FromFit(fromMixture), MaxIterations = 0 });
        AssertIdentical(AllValues(fromMixture), AllValues(again), "an HMM fit restarts from itself");
        var backToMixture = Mixture.WithComponents(2).Observe(block).Build().Fit(data.Data, FitOptions.Default with { Initialization = Initialization.FromFit(fromMixture), MaxIterations = 0 });
        AssertIdentical(fromMixture.InitialProbabilities.ToArray(), backToMixture.Weights.ToArray(), "initial distribution → weights");
    }

    [Fact]
    public void RestartsKeepTheBestRunAndReportEachObjective()
    {
        var r = new Random(16);
        var (data, _) = Sample(r, [0.4, 0.3, 0.3], Truth3, [2000], k => [3 * k + Normal(r)]);
        var fit = HiddenMarkov.WithStates(3).Observe(Blocks.Gaussian("x", [0])).Build().Fit(data, FitOptions.Default with { Restarts = 4, Seed = 3 });
        Assert.Equal(4, fit.Diagnostics.RestartObjectives.Count);
        Assert.Equal(fit.Diagnostics.RestartObjectives.Max(), fit.Objective);
        Assert.Equal(fit.Diagnostics.RestartObjectives[fit.Diagnostics.BestRestart], fit.Objective);
    }

    /// <summary>An input–output HMM: each state is a linear regression of y on x; the regression block is the emission.</summary>
    [Fact]
    public void RegressionEmissionsMakeAnInputOutputHmm()
    {
        var r = new Random(17);
        double[] intercept = [1, -2], slope = [2, -1];
        var (data, _) = Sample(r, [0.5, 0.5], Sticky(2, 0.95), [4000, 4000], k =>
        {
            double x = Normal(r);
            return [intercept[k] + slope[k] * x + 0.3 * Normal(r), x];
        });
        var regression = Blocks.LinearRegression("y", 0, [1]);
        var fit = HiddenMarkov.WithStates(2).Observe(regression).Build().Fit(data, FitOptions.Default with { Restarts = 3, Seed = 1 });
        var p = fit.Parameters(regression);
        var order = OrderBy(p.Select(q => -q.Coefficients.Slopes[0]).ToArray());
        for (int k = 0; k < 2; k++)
        {
            Assert.Equal(intercept[k], p[order[k]].Coefficients.Intercept, 0.03);
            Assert.Equal(slope[k], p[order[k]].Coefficients.Slopes[0], 0.03);
            Assert.Equal(0.09, p[order[k]].Variance, 0.01);
        }
        AssertMatrixClose(Sticky(2, 0.95), Permute(fit.TransitionMatrix, order), 0.015, "transitions");
        AssertNonDecreasing(fit.FreeEnergyTrace.Select(q => q.Value).ToArray(), "free energy");
    }

    /// <summary>A Poisson family declared only by T, log h and A fits an HMM exactly like the built-in one.</summary>
    [Fact]
    public void DeclaredFamilyEmissionsFitLikeTheBuiltInFamily()
    {
        var declared = EmDsl.Tests.Generalized.DeclaredFamilies.Poisson();
        var r = new Random(18);
        var (data, _) = Sample(r, [0.5, 0.5], Sticky(2, 0.9), [1500], k => [MathNet.Numerics.Distributions.Poisson.Sample(r, 2 + 5 * k)]);
        var builtIn = Blocks.Poisson("n", [0]);
        var mine = Blocks.FromFamily("n", [0], declared);
        var options = FitOptions.Default with { MaxIterations = 25, Tolerance = 0 };
        var a = HiddenMarkov.WithStates(2).Observe(builtIn).Build().Fit(data, options with
        {
            Initialization = Initialization.FromParameters([0.5, 0.5]).With(builtIn, [new PoissonParameters([1.0]), new PoissonParameters([9.0])]),
        });
        var b = HiddenMarkov.WithStates(2).Observe(mine).Build().Fit(data, options with
        {
            Initialization = Initialization.FromParameters([0.5, 0.5]).With(mine, [new NaturalParameters([0.0]), new NaturalParameters([Math.Log(9)])]),
        });
        AssertTracesClose(a.ObjectiveTrace, b.ObjectiveTrace, 1e-8);
        AssertClose(a.Parameters(builtIn).Select(p => p.Rates[0]).ToArray(), b.Parameters(mine).Select(p => p.Mean[0]).ToArray(), 1e-6, "rates");
    }

    /// <summary>Every state path the chain allows has positive probability, so Viterbi never picks a forbidden transition.</summary>
    [Fact]
    public void DecodingRespectsStructuralZeros()
    {
        var r = new Random(19);
        double[,] truth = { { 0.8, 0.2, 0 }, { 0, 0.8, 0.2 }, { 0, 0, 1 } };
        var (data, _) = Sample(r, [1, 0, 0], truth, Enumerable.Repeat(50, 30).ToArray(), k => [2 * k + Normal(r)]);
        var fit = HiddenMarkov.WithStates(3).Observe(Blocks.Gaussian("x", [0])).WithTransitions(TransitionStructure.LeftToRight()).Build()
            .Fit(data, FitOptions.Default with { Seed = 1 });
        foreach (var path in fit.Decode(data))
        {
            Assert.Equal(0, path[0]);
            for (int t = 1; t < path.Length; t++) Assert.True(path[t] == path[t - 1] || path[t] == path[t - 1] + 1, $"decoded a forbidden move {path[t - 1]} → {path[t]}");
        }
    }

    [Fact]
    public void MoreStatesThanStepsFromGivenParameters()
    {
        var block = Blocks.Poisson("n", [0]);
        var data = SequenceData.FromArrays([new double[,] { { 3 } }, new double[,] { { 5 } }]);
        var init = Initialization.FromParameters([0.25, 0.25, 0.25, 0.25]).With(block, Enumerable.Range(1, 4).Select(v => new PoissonParameters([v * 1.5])));
        var fit = HiddenMarkov.WithStates(4).Observe(block).Build().Fit(data, FitOptions.Default with { Initialization = init, MaxIterations = 5 });
        Assert.True(double.IsFinite(fit.LogLikelihood));
        Assert.All(AllValues(fit), v => Assert.True(double.IsFinite(v)));
    }
}
