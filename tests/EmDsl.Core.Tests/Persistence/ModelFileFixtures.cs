using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Families.Priors;
using EmDsl.Inference;
using EmDsl.Persistence;
using EmDsl.Tests.Generalized;

namespace EmDsl.Tests.Persistence;

/// <summary>Fits of every kind a model file holds, and the checks that a loaded fit is the saved one bit for bit.</summary>
internal static class ModelFileFixtures
{
    public sealed record Case(string Name, ModelFit Fit, DataMatrix? Rows, SequenceData? Sequences, ExponentialFamily[] Families);

    private static readonly FitOptions Quick = FitOptions.Default with { MaxIterations = 25, Seed = 3 };

    /// <summary>Rows of mixed columns: 0–1 Gaussian, 2 binary, 3 count, 4 category code (0..2), 5 positive, 6 in (0,1), 7 angle, 8–10 proportions, 11 positive, 12–13 counts.</summary>
    public static DataMatrix Mixed(int rows, int seed)
    {
        var r = new Random(seed);
        return DataMatrix.FromRows(Enumerable.Range(0, rows).Select(i =>
        {
            int z = i % 2;
            double a = Gauss(r), b = Gauss(r);
            double u = 0.2 + 0.6 * r.NextDouble(), v = r.NextDouble() + 0.5, w = r.NextDouble() + 0.5;
            double s = u + v + w;
            return new[]
            {
                3 * z + a, -2 * z + 0.5 * a + b,
                r.NextDouble() < (z == 0 ? 0.2 : 0.7) ? 1 : 0,
                Math.Floor(r.NextDouble() * (z == 0 ? 3 : 9)),
                Math.Floor(r.NextDouble() * 3),
                0.1 + r.NextDouble() * (z == 0 ? 1 : 4),
                0.05 + 0.9 * r.NextDouble(),
                (z == 0 ? 0.5 : 2.5) + 0.3 * Gauss(r),
                u / s, v / s, w / s,
                0.2 + r.NextDouble() * (z == 0 ? 2 : 5),
                Math.Floor(r.NextDouble() * (z == 0 ? 4 : 12)),
                Math.Floor(r.NextDouble() * 6),
            };
        }));
    }

    public static double Gauss(Random r) => Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble());

    /// <summary>Rows with a response in column 0 depending on covariates 1 and 2 by component; column 3 a count response, 4 binary.</summary>
    public static DataMatrix Experts(int rows, int seed)
    {
        var r = new Random(seed);
        return DataMatrix.FromRows(Enumerable.Range(0, rows).Select(_ =>
        {
            double x1 = 10 + 4 * Gauss(r), x2 = Gauss(r);
            int z = x2 + 0.3 * Gauss(r) > 0 ? 1 : 0;
            double y = z == 0 ? 1 + 0.5 * x1 + 0.3 * Gauss(r) : -2 - 0.2 * x1 + 0.3 * Gauss(r);
            double count = Math.Floor(Math.Exp(0.5 + 0.1 * x2 * (z + 1)) + r.NextDouble() * 2);
            double binary = r.NextDouble() < 1 / (1 + Math.Exp(-(x2 - 0.5 * z))) ? 1 : 0;
            return new[] { y, x1, x2, count, binary };
        }));
    }

    public static IEnumerable<Case> Cases()
    {
        var mixed = Mixed(240, 1);
        foreach (var covariance in Enum.GetValues<CovarianceType>())
        {
            var g = Blocks.Gaussian("xy", [0, 1], covariance, covariance == CovarianceType.Spherical ? null
                : covariance == CovarianceType.Diagonal ? GaussianPrior.NormalInverseGamma([0.0, 0.0], 0.01, 2, 1.0)
                : GaussianPrior.NormalInverseWishart([0.0, 0.0], 0.01, ReadOnlyMatrix.Identity(2), 4));
            var model = Mixture.WithComponents(3).Observe(g).WithWeightPrior(1.5).Build();
            yield return new($"Gaussian {covariance}", model.Fit(mixed, Quick), mixed, null, []);
        }
        var pseudo = Blocks.Gaussian("xy", [0, 1], prior: new GaussianPrior([0.0, 0.0], 0.5, ReadOnlyMatrix.Identity(2), 3));
        yield return new("Gaussian pseudo-observation prior", Mixture.WithComponents(2).Observe(pseudo).Build().Fit(mixed, Quick), mixed, null, []);

        var all = Mixture.WithComponents(2).Observe(
            Blocks.Gaussian("g", [0, 1], sharing: Sharing.Shared),
            Blocks.Bernoulli("b", [2], new BetaPrior(2, 2)),
            Blocks.Poisson("p", [3], new GammaPrior(2, 0.5)),
            Blocks.Categorical("c", [4], 3, DirichletPrior.Symmetric(3, 2)),
            Blocks.Exponential("e", [5], new GammaPrior(2, 1)),
            Blocks.Gamma("gm", [11], new GammaFamily(1).WeakPrior()),
            Blocks.Beta("bt", [6], new BetaFamily(1).WeakPrior()),
            Blocks.VonMises("vm", [7]),
            Blocks.Dirichlet("d", [8, 9, 10]),
            Blocks.NegativeBinomial("nb", [12], 2.5, new BetaPrior(1.5, 1.5)),
            Blocks.Poisson("shared counts", [13], sharing: Sharing.Shared)).Build();
        yield return new("every conjugate family, priors and shared blocks", all.Fit(mixed, Quick), mixed, null, []);

        var declared = DeclaredFamilies.Poisson();
        var custom = Mixture.WithComponents(2).Observe(Blocks.FromFamily("declared counts", [3], declared, declared.Conjugate([2.0], 1.0))).Build();
        yield return new("declared family", custom.Fit(mixed, Quick), mixed, null, [declared]);

        var experts = Experts(300, 2);
        var moe = Mixture.WithComponents(2)
            .Observe(Blocks.LinearRegression("y", 0, [1, 2], prior: new CoefficientPrior(0.01)),
                Blocks.PoissonRegression("count", 3, [2]),
                Blocks.LogisticRegression("binary", 4, [2], intercept: false))
            .GatedBy([2], new CoefficientPrior(0.1)).Build();
        yield return new("mixture of experts", moe.Fit(experts, Quick), experts, null, []);

        var fa = Mixture.WithComponents(1).Observe(Blocks.Factor("fa", [0, 1, 5, 7], 1)).Build();
        yield return new("factor analysis", fa.Fit(mixed, Quick), mixed, null, []);
        var mfa = Mixture.WithComponents(2).Observe(Blocks.Factor("mfa", [0, 1, 5, 7], 2, NoiseModel.Isotropic, sharedNoise: true, prior: new FactorPrior(2, 0.1, 0.5))).Build();
        yield return new("mixture of factor analysers", mfa.Fit(mixed, Quick), mixed, null, []);

        var sequences = SequenceData.FromLengths(mixed, [100, 80, 60]);
        var hmm = HiddenMarkov.WithStates(3).Observe(Blocks.Gaussian("xy", [0, 1]), Blocks.Poisson("p", [3]))
            .WithTransitionPrior(1.5).WithInitialPrior(2).Build();
        yield return new("hidden Markov", hmm.Fit(sequences, Quick), null, sequences, []);
        var ltr = HiddenMarkov.WithStates(3).Observe(Blocks.Gaussian("xy", [0, 1], CovarianceType.Diagonal))
            .WithTransitions(TransitionStructure.LeftToRight()).Build();
        yield return new("left-to-right hidden Markov", ltr.Fit(sequences, Quick), null, sequences, []);
        var mask = HiddenMarkov.WithStates(2).Observe(Blocks.Bernoulli("b", [2]))
            .WithTransitions(TransitionStructure.FromMask(new[,] { { true, true }, { false, true } }, [true, false])).Build();
        yield return new("masked hidden Markov", mask.Fit(sequences, Quick), null, sequences, []);
        var tied = HiddenMarkov.WithStates(2).Observe(Blocks.Gaussian("xy", [0, 1], CovarianceType.Tied)).TieTransitions().Build();
        yield return new("tied hidden Markov", tied.Fit(sequences, Quick), null, sequences, []);
        var fixedChain = HiddenMarkov.WithStates(2).Observe(Blocks.Gaussian("xy", [0, 1], CovarianceType.Spherical))
            .FixTransitions(new[,] { { 0.9, 0.1 }, { 0.3, 0.7 } }).Build();
        yield return new("fixed-transition hidden Markov", fixedChain.Fit(sequences, Quick), null, sequences, []);
    }

    private static List<Case>? _cases;

    public static IReadOnlyList<Case> All => _cases ??= Cases().ToList();

    public static Case Get(string name) => All.Single(c => c.Name == name);

    public static TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (var c in Cases().Select(c => c.Name)) data.Add(c);
        return data;
    }

    // ---- bit-for-bit comparison ----

    public static void AssertBits(IReadOnlyList<double> expected, IReadOnlyList<double> actual, string what)
    {
        Assert.True(expected.Count == actual.Count, $"{what}: {expected.Count} values saved, {actual.Count} loaded");
        for (int i = 0; i < expected.Count; i++)
            Assert.True(BitConverter.DoubleToInt64Bits(expected[i]) == BitConverter.DoubleToInt64Bits(actual[i]),
                $"{what}[{i}]: saved {expected[i]:R}, loaded {actual[i]:R}");
    }

    public static void AssertBits(double[,] expected, double[,] actual, string what) =>
        AssertBits(expected.Cast<double>().ToArray(), actual.Cast<double>().ToArray(), what);

    /// <summary>Every internal number of the two fits is the same bit for bit, and so is every prediction.</summary>
    public static void AssertSame(Case c, ModelFit loaded)
    {
        var saved = c.Fit;
        Assert.Equal(saved.GetType(), loaded.GetType());
        Assert.Equal(saved.States, loaded.States);
        AssertBits([saved.LogLikelihood, saved.LogPrior, saved.TotalWeight, saved.Objective], [loaded.LogLikelihood, loaded.LogPrior, loaded.TotalWeight, loaded.Objective], "record");
        AssertBits(saved.ObjectiveTrace, loaded.ObjectiveTrace, "objective trace");
        AssertBits(saved.FreeEnergyTrace.Select(p => p.Value).ToArray(), loaded.FreeEnergyTrace.Select(p => p.Value).ToArray(), "free energy trace");
        Assert.Equal(saved.FreeEnergyTrace.Select(p => (p.Iteration, p.After)), loaded.FreeEnergyTrace.Select(p => (p.Iteration, p.After)));
        Assert.Equal(saved.Iterations, loaded.Iterations);
        Assert.Equal(saved.Status, loaded.Status);
        Assert.Equal(saved.FreeParameterCount, loaded.FreeParameterCount);
        Assert.Equal(saved.Diagnostics.Events, loaded.Diagnostics.Events);
        Assert.Equal(saved.Diagnostics.Backend, loaded.Diagnostics.Backend);
        Assert.Equal(saved.Blocks.Select(b => b.ToString()), loaded.Blocks.Select(b => b.ToString()));
        for (int b = 0; b < saved.State.Blocks.Length; b++)
        {
            var (s, l) = (saved.State.Blocks[b], loaded.State.Blocks[b]);
            string who = saved.Blocks[b].Name;
            AssertBits(s.Natural, l.Natural, $"block '{who}' natural parameters");
            AssertBits(s.LogNormalizer, l.LogNormalizer, $"block '{who}' log-normalizers");
            Assert.Equal(s.Usual.GetType(), l.Usual.GetType());
            Assert.Equal(s.Usual.Cast<object>(), l.Usual.Cast<object>());
            Assert.Equal(saved.Parameters(who), loaded.Parameters(who));
        }
        Assert.Equal(saved.ToJson(), loaded.ToJson());
        switch (saved, loaded)
        {
            case (MixtureFit m, MixtureFit n):
                AssertBits(m.Weights, n.Weights, "weights");
                Assert.Equal(m.GatingCoefficients, n.GatingCoefficients);
                Assert.Equal(m.Model.ToString(), n.Model.ToString());
                AssertBits(m.PredictProba(c.Rows!), n.PredictProba(c.Rows!), "PredictProba");
                Assert.Equal(m.Predict(c.Rows!), n.Predict(c.Rows!));
                AssertBits(m.ScoreSamples(c.Rows!), n.ScoreSamples(c.Rows!), "ScoreSamples");
                if (!m.Model.HasCovariates && m.Blocks.All(b => b.Family is not DeclaredFamily)) // a declared family without a sampler cannot draw
                {
                    var (a, z) = (m.Sample(50, seed: 4), n.Sample(50, seed: 4));
                    Assert.Equal(a.Components, z.Components);
                    AssertBits(a.Data.ToArray(), z.Data.ToArray(), "Sample");
                }
                break;
            case (HiddenMarkovFit h, HiddenMarkovFit g):
                AssertBits(h.InitialProbabilities, g.InitialProbabilities, "initial probabilities");
                AssertBits(h.TransitionMatrix, g.TransitionMatrix, "transitions");
                Assert.Equal(h.Model.ToString(), g.Model.ToString());
                var seq = c.Sequences!;
                Assert.Equal(h.Decode(seq), g.Decode(seq));
                AssertBits(h.ScoreSequences(seq), g.ScoreSequences(seq), "ScoreSequences");
                var (pm, pn) = (h.PosteriorMarginals(seq), g.PosteriorMarginals(seq));
                for (int s = 0; s < pm.Count; s++) AssertBits(pm[s], pn[s], $"posterior marginals of sequence {s}");
                var (x, y) = (h.Sample([20, 10], seed: 5), g.Sample([20, 10], seed: 5));
                Assert.Equal(x.States, y.States);
                AssertBits(x.Data.Data.ToArray(), y.Data.Data.ToArray(), "Sample");
                break;
            default:
                Assert.Fail("fit kinds differ");
                break;
        }
    }
}
