using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Inference;
using static EmDsl.Tests.Engine.EngineFixtures;

namespace EmDsl.Tests.Engine;

/// <summary>
/// The engine's statistics are typed and additive: the summary of two disjoint sets of rows, added, is the summary
/// of their union (for every kind — per-state sums, Gaussian moments about centres, posterior rows, Markov-chain
/// starts and transitions); they scale; Gaussian moments can be rebased to other centres; and statistics of
/// different kinds or frames refuse to be added.
/// </summary>
public class StatisticsTests
{
    private static readonly Block<GaussianParameters> Gauss = Blocks.Gaussian("g", [0, 1]);
    private static readonly Block<PoissonParameters> Counts = Blocks.Poisson("n", [2]);
    private static readonly Block<LinearRegressionParameters> Line = Blocks.LinearRegression("y", 3, [0]);

    private static DataMatrix Data(int rows, int seed)
    {
        var r = new Random(seed);
        return DataMatrix.FromRows(Enumerable.Range(0, rows).Select(i =>
        {
            int k = i % 2;
            double x = 3 * k + Normal(r);
            return new[] { x, 2 * k + Normal(r), MathNet.Numerics.Distributions.Poisson.Sample(r, 1 + 4 * k), 1 + (k == 0 ? 2 : -1) * x + 0.3 * Normal(r) };
        }));
    }

    /// <summary>One pass over the rows [start, start + rows) at fixed parameters (a fit with no iteration holds them).</summary>
    private static Summary Pass(ModelFit fit, DataMatrix data, int start, int rows, int[]? sequences = null)
    {
        var part = DataMatrix.FromRows(Enumerable.Range(start, rows).Select(data.GetRow));
        return fit.Compiled.Pass(part, sequences ?? [0, rows], null, null, fit.State, new CompiledModel.PassOutputs(), FitOptions.Default, CancellationToken.None);
    }

    private static void AssertSummariesClose(Summary expected, Summary actual)
    {
        AssertClose([expected.LogLikelihood, expected.Entropy, expected.LogBase, expected.Weight], [actual.LogLikelihood, actual.Entropy, actual.LogBase, actual.Weight], 1e-12, "scalars");
        AssertClose(expected.Latent.Counts, actual.Latent.Counts, 1e-12, "latent counts");
        for (int b = 0; b < expected.Blocks.Length; b++)
        {
            AssertClose(expected.Blocks[b].Counts, actual.Blocks[b].Counts, 1e-12, $"block {b} counts");
            switch (expected.Blocks[b])
            {
                case ComponentStatistics c: AssertClose(c.Sums, ((ComponentStatistics)actual.Blocks[b]).Sums, 1e-12, $"block {b} sums"); break;
                case RowPosteriorStatistics p: AssertClose(p.Dense(p.RowCount), ((RowPosteriorStatistics)actual.Blocks[b]).Dense(p.RowCount), 1e-12, $"block {b} rows"); break;
            }
        }
    }

    [Fact]
    public void MixtureSummariesOfTwoHalvesAddUpToTheWhole()
    {
        var data = Data(300, 1);
        var fit = Mixture.WithComponents(2).Observe(Gauss, Counts, Line).Build().Fit(data, FitOptions.Default with { Seed = 1, MaxIterations = 3 });
        // The halves are passed with the whole data's frames: the Gaussian's statistics are about the fit's means.
        var whole = Pass(fit, data, 0, 300);
        var first = Pass(fit, data, 0, 180);
        var second = Pass(fit, data, 180, 120);
        // Rows of the second half are numbered from 0 in its own pass; renumber the posterior rows to append them.
        var shifted = fit.Compiled.NewSummary(fit.State);
        shifted.Add(first);
        var tail = fit.Compiled.NewSummary(fit.State);
        foreach (var (stats, b) in second.Blocks.Select((s, b) => (s, b)))
            if (stats is RowPosteriorStatistics rows)
            {
                var target = (RowPosteriorStatistics)tail.Blocks[b];
                target.AddRows(180, 120, rows.Dense(120));
                rows.Counts.CopyTo(target.Counts, 0);
            }
            else tail.Blocks[b].Add(stats);
        tail.Latent.Add(second.Latent);
        tail.LogLikelihood = second.LogLikelihood;
        tail.Entropy = second.Entropy;
        tail.LogBase = second.LogBase;
        tail.Weight = second.Weight;
        shifted.Add(tail);
        AssertSummariesClose(whole, shifted);
    }

    [Fact]
    public void MarkovSummariesOfTwoSetsOfSequencesAddUpToTheWhole()
    {
        var data = Data(240, 2);
        var model = HiddenMarkov.WithStates(2).Observe(Gauss, Counts).Build();
        var all = SequenceData.FromLengths(data, [100, 60, 80]);
        var fit = model.Fit(all, FitOptions.Default with { Seed = 1, MaxIterations = 3 });
        var whole = fit.Compiled.Pass(data, all.Starts, null, null, fit.State, new CompiledModel.PassOutputs(), FitOptions.Default, CancellationToken.None);
        var sum = Pass(fit, data, 0, 160, [0, 100, 160]);
        sum.Add(Pass(fit, data, 160, 80));
        AssertSummariesClose(whole, sum);
        var markov = (MarkovStatistics)whole.Latent;
        AssertClose(markov.Initial, ((MarkovStatistics)sum.Latent).Initial, 1e-12, "starts");
        AssertClose(markov.Transitions, ((MarkovStatistics)sum.Latent).Transitions, 1e-12, "transitions");
        Assert.Equal(3, markov.Initial.Sum(), 12); // three sequences start
        Assert.Equal(240 - 3, markov.Transitions.Sum(), 9);
    }

    [Fact]
    public void StatisticsScale()
    {
        var data = Data(100, 3);
        var fit = Mixture.WithComponents(2).Observe(Gauss, Counts).Build().Fit(data, FitOptions.Default with { Seed = 1, MaxIterations = 2 });
        var a = Pass(fit, data, 0, 100);
        var b = Pass(fit, data, 0, 100);
        foreach (var s in b.Blocks) s.Scale(2.5);
        for (int k = 0; k < 2; k++) Assert.Equal(2.5 * a.Blocks[1].Counts[k], b.Blocks[1].Counts[k], 12);
        AssertClose(((ComponentStatistics)a.Blocks[1]).Sums.Select(v => 2.5 * v).ToArray(), ((ComponentStatistics)b.Blocks[1]).Sums, 1e-14, "scaled sums");
    }

    [Fact]
    public void GaussianMomentsRebasedToNewCentresEqualMomentsGatheredThere()
    {
        var data = Data(200, 4);
        var model = Mixture.WithComponents(2).Observe(Gauss).Build();
        var before = model.Fit(data, FitOptions.Default with { Seed = 1, MaxIterations = 1 });
        var after = model.Fit(data, FitOptions.Default with { Seed = 1, MaxIterations = 4 });
        // The posterior of `before`, gathered about `before`'s means, then rebased to `after`'s means…
        var r = new double[data.Rows * 2];
        var pr = before.PredictProba(data);
        for (int i = 0; i < data.Rows; i++) { r[2 * i] = pr[i, 0]; r[2 * i + 1] = pr[i, 1]; }
        Summary Gather(ModelFit frames) => frames.Compiled.Pass(data, [], null, null, frames.State, new CompiledModel.PassOutputs { FixedResponsibilities = r },
            FitOptions.Default, CancellationToken.None);
        var rebased = (ComponentStatistics)Gather(before).Blocks[0];
        var target = (ComponentStatistics)Gather(after).Blocks[0];
        rebased.Rebase(target.Centres!, CovarianceStructure.Full);
        // …equal the same posterior's moments gathered about `after`'s means.
        AssertClose(target.Sums, rebased.Sums, 1e-10, "rebased moments");
        Assert.Same(target.Centres, rebased.Centres);
    }

    [Fact]
    public void StatisticsOfDifferentKindsOrFramesAreNotAdded()
    {
        var data = Data(100, 5);
        var model = Mixture.WithComponents(2).Observe(Gauss).Build();
        var a = model.Fit(data, FitOptions.Default with { Seed = 1, MaxIterations = 1 });
        var b = model.Fit(data, FitOptions.Default with { Seed = 1, MaxIterations = 3 });
        var sa = Pass(a, data, 0, 100).Blocks[0];
        var sb = Pass(b, data, 0, 100).Blocks[0];
        Assert.Contains("different centres", Assert.Throws<InvalidOperationException>(() => sa.Add(sb)).Message);
        Assert.Throws<InvalidOperationException>(() => sa.Add(new CountStatistics(2)));
        var rows = new RowPosteriorStatistics(2);
        rows.AddRows(10, 2, [0.5, 0.5, 1, 0]);
        Assert.Throws<InvalidOperationException>(() => rows.AddRows(5, 1, [1, 0]));
    }
}
