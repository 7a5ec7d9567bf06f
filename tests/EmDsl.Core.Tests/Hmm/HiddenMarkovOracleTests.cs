using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Inference;
using FsCheck;
using FsCheck.Fluent;
using static EmDsl.Tests.Engine.EngineFixtures;

namespace EmDsl.Tests.Hmm;

/// <summary>
/// A brute-force oracle for whole hidden Markov models: on small models (K ≤ 3 states, sequences of ≤ 6 steps)
/// every state path is enumerated, with emission densities from MathNet, and the engine's log-likelihood, posterior
/// marginals, expected starts and transitions, posterior entropy, free energy and Viterbi path must agree with it.
/// Emissions mix Gaussian, Poisson and categorical blocks; some chains are left-to-right (structural zeros).
/// </summary>
public class HiddenMarkovOracleTests
{
    /// <summary>One random small model and its sequences: the generator's seed decides everything.</summary>
    public sealed record OracleCase(int Seed, int States, int Sequences, bool LeftToRight, bool Weighted)
    {
        public override string ToString() => $"new OracleCase({Seed}, {States}, {Sequences}, {LeftToRight.ToString().ToLowerInvariant()}, {Weighted.ToString().ToLowerInvariant()})";
    }

    private static readonly Arbitrary<OracleCase> Cases = Arb.From(
        from seed in Gen.Choose(0, int.MaxValue)
        from k in Gen.Choose(1, 3)
        from n in Gen.Choose(1, 4)
        from ltr in Gen.Elements(false, false, true)
        from weighted in Gen.Elements(false, true)
        select new OracleCase(seed, k, n, ltr, weighted));

    private sealed record Instance(HiddenMarkovModel Model, Block[] Blocks, SequenceData Data, double[]? Weights, HiddenMarkovFit Fit);

    /// <summary>A model with given (random) parameters, held by a fit with no iterations, and its sequences.</summary>
    private static Instance Build(OracleCase c)
    {
        var r = new Random(c.Seed);
        int k = c.States;
        var gauss = Blocks.Gaussian("g", [0, 1], CovarianceType.Full);
        var counts = Blocks.Poisson("n", [2]);
        var category = Blocks.Categorical("c", [3], 3);
        Block[] blocks = [gauss, counts, category];
        var builder = HiddenMarkov.WithStates(k).Observe(blocks);
        if (c.LeftToRight) builder = builder.WithTransitions(TransitionStructure.LeftToRight());
        var model = builder.Build();

        double[] initial = c.LeftToRight ? [1, .. new double[k - 1]] : RandomSimplex(r, k, 0.05);
        var transitions = new double[k, k];
        for (int i = 0; i < k; i++)
        {
            var allowed = Enumerable.Range(0, k).Where(j => model.Structure.Allows(i, j)).ToArray();
            var p = RandomSimplex(r, allowed.Length, 0.05);
            for (int a = 0; a < allowed.Length; a++) transitions[i, allowed[a]] = p[a];
        }
        var g = Enumerable.Range(0, k).Select(_ => new GaussianParameters([3 * Normal(r), 3 * Normal(r)], RandomSpd(r, 2, 1.0))).ToArray();
        var n = Enumerable.Range(0, k).Select(_ => new PoissonParameters([0.5 + 6 * r.NextDouble()])).ToArray();
        var cat = Enumerable.Range(0, k).Select(_ => new CategoricalParameters(RandomSimplex(r, 3, 0.05))).ToArray();

        var sequences = new List<double[,]>();
        for (int s = 0; s < c.Sequences; s++)
        {
            int length = 1 + r.Next(6);
            var x = new double[length, 4];
            for (int t = 0; t < length; t++)
            {
                x[t, 0] = 4 * Normal(r);
                x[t, 1] = 4 * Normal(r);
                x[t, 2] = r.Next(10);
                x[t, 3] = r.Next(3);
            }
            sequences.Add(x);
        }
        var data = SequenceData.FromArrays(sequences);
        double[]? weights = c.Weighted ? Enumerable.Range(0, c.Sequences).Select(_ => 0.5 + 2 * r.NextDouble()).ToArray() : null;
        var init = Initialization.FromParameters(initial).WithTransitions(transitions).With(gauss, g).With(counts, n).With(category, cat);
        var fit = model.Fit(data, FitOptions.Default with { Initialization = init, MaxIterations = 0 }, weights);
        return new Instance(model, blocks, data, weights, fit);
    }

    /// <summary>Everything the oracle knows about one sequence, by enumerating its K^T paths.</summary>
    private sealed record Enumerated(double LogLikelihood, double[,] Marginals, double[] Starts, double[,] Transitions, double Entropy, int[] Best, double BestValue);

    private static Enumerated Enumerate(Instance m, int sequence)
    {
        var fit = m.Fit;
        int k = fit.States, start = m.Data.StartOf(sequence), length = m.Data.Lengths[sequence];
        var a = fit.TransitionMatrix;
        var emission = new double[length, k];
        for (int t = 0; t < length; t++)
        {
            var row = m.Data.Data.GetRow(start + t);
            for (int j = 0; j < k; j++)
                emission[t, j] = m.Blocks.Sum(b => BlockLogDensity(b, fit.Parameters(b.Name)[j], row));
        }
        int paths = (int)Math.Pow(k, length);
        var logJoint = new double[paths];
        var z = new int[length];
        for (int p = 0; p < paths; p++)
        {
            for (int t = 0, v = p; t < length; t++, v /= k) z[t] = v % k;
            double lj = Math.Log(fit.InitialProbabilities[z[0]]) + emission[0, z[0]];
            for (int t = 1; t < length; t++) lj += Math.Log(a[z[t - 1], z[t]]) + emission[t, z[t]];
            logJoint[p] = lj;
        }
        double ll = LogSumExp(logJoint);
        var marginals = new double[length, k];
        var starts = new double[k];
        var transitions = new double[k, k];
        double entropy = 0, bestValue = double.NegativeInfinity;
        int best = 0;
        for (int p = 0; p < paths; p++)
        {
            if (logJoint[p] > bestValue) { bestValue = logJoint[p]; best = p; }
            if (double.IsNegativeInfinity(logJoint[p])) continue;
            double q = Math.Exp(logJoint[p] - ll);
            for (int t = 0, v = p; t < length; t++, v /= k) z[t] = v % k;
            for (int t = 0; t < length; t++) marginals[t, z[t]] += q;
            starts[z[0]] += q;
            for (int t = 1; t < length; t++) transitions[z[t - 1], z[t]] += q;
            if (q > 0) entropy -= q * (logJoint[p] - ll);
        }
        var bestPath = new int[length];
        for (int t = 0, v = best; t < length; t++, v /= k) bestPath[t] = v % k;
        return new Enumerated(ll, marginals, starts, transitions, entropy, bestPath, bestValue);
    }

    private static void Check(OracleCase c)
    {
        var m = Build(c);
        var fit = m.Fit;
        int k = fit.States;
        var scores = fit.ScoreSequences(m.Data);
        var marginals = fit.PosteriorMarginals(m.Data);
        var paths = fit.Decode(m.Data);
        // The engine's pass at the fit's parameters, for what the public API does not show: expected starts and
        // transitions, and the entropy.
        var summary = fit.Compiled.Pass(m.Data.Data, m.Data.Starts, null, m.Weights is null ? null : Expand(m.Weights, m.Data), fit.State,
            new CompiledModel.PassOutputs(), FitOptions.Default, CancellationToken.None);
        var stats = (MarkovStatistics)summary.Latent;
        var starts = new double[k];
        var transitions = new double[k, k];
        double entropy = 0, total = 0;
        for (int s = 0; s < m.Data.Count; s++)
        {
            var e = Enumerate(m, s);
            double w = m.Weights?[s] ?? 1;
            Close(e.LogLikelihood, scores[s], 1e-10, $"{c}: log-likelihood of sequence {s}");
            for (int t = 0; t < m.Data.Lengths[s]; t++)
                for (int j = 0; j < k; j++) Close(e.Marginals[t, j], marginals[s][t, j], 1e-10, $"{c}: p(z_{t} = {j}) of sequence {s}");
            Assert.True(e.Best.SequenceEqual(paths[s]), $"{c}: Viterbi path of sequence {s} is [{string.Join(",", paths[s])}], the best path is [{string.Join(",", e.Best)}].");
            for (int i = 0; i < k; i++)
            {
                starts[i] += w * e.Starts[i];
                for (int j = 0; j < k; j++) transitions[i, j] += w * e.Transitions[i, j];
            }
            entropy += w * e.Entropy;
            total += w * e.LogLikelihood;
        }
        for (int i = 0; i < k; i++)
        {
            Close(starts[i], stats.Initial[i], 1e-10, $"{c}: expected starts in state {i}");
            for (int j = 0; j < k; j++)
            {
                Close(transitions[i, j], stats.Transitions[i * k + j], 1e-10, $"{c}: expected transitions {i} → {j}");
                if (!m.Model.Structure.Allows(i, j)) Assert.True(stats.Transitions[i * k + j] == 0, $"{c}: a forbidden transition {i} → {j} has expected count {stats.Transitions[i * k + j]}.");
            }
        }
        Close(entropy, summary.Entropy, 1e-9, $"{c}: entropy of the posterior over paths");
        Close(total, summary.LogLikelihood, 1e-10, $"{c}: total log-likelihood");
        Close(total, fit.LogLikelihood, 1e-10, $"{c}: the fit's log-likelihood");
        // After the E-step the free energy, computed from the statistics and the entropy, is the log-likelihood.
        Close(total, fit.FreeEnergyTrace[0].Value, 1e-9, $"{c}: free energy after the E-step");
    }

    private static double[] Expand(double[] sequenceWeights, SequenceData data)
    {
        var w = new double[data.Steps];
        for (int s = 0; s < data.Count; s++) w.AsSpan(data.StartOf(s), data.Lengths[s]).Fill(sequenceWeights[s]);
        return w;
    }

    private static void Close(double expected, double actual, double tolerance, string what) =>
        Assert.True(Math.Abs(expected - actual) <= tolerance * Math.Max(1, Math.Abs(expected)),
            $"{what}: expected {expected:G17}, got {actual:G17} (difference {Math.Abs(expected - actual):G3}).");

    [Fact]
    public void EveryQuantityMatchesEnumerationOfAllPaths() => PropertyChecks.ForAll(Cases, Check, baseline: 150);

    [Theory]
    [InlineData(1, 3, 4, false, false)]
    [InlineData(2, 3, 3, true, true)]
    [InlineData(3, 1, 2, false, true)]
    [InlineData(4, 2, 1, true, false)]
    public void FixedCasesMatchEnumeration(int seed, int states, int sequences, bool leftToRight, bool weighted) =>
        Check(new OracleCase(seed, states, sequences, leftToRight, weighted));

    /// <summary>The oracle's checker is not vacuous: a fit whose transitions are not the ones enumerated is caught.</summary>
    [Fact]
    public void OracleCatchesAWrongModel()
    {
        var c = new OracleCase(5, 3, 2, false, false);
        var m = Build(c);
        var other = Build(c with { Seed = 6 });
        var e = Enumerate(other with { Data = m.Data }, 0);
        Assert.NotEqual(e.LogLikelihood, m.Fit.ScoreSequences(m.Data)[0], 6);
    }
}
