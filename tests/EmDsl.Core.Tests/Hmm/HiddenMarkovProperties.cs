using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Inference;
using EmDsl.Tests.Engine;
using FsCheck;
using FsCheck.Fluent;
using Xunit.Abstractions;

namespace EmDsl.Tests.Hmm;

/// <summary>A random hidden Markov case: the blocks and data of a mixture case, cut into sequences, with a chain structure and priors.</summary>
public sealed record HmmCase(MixtureCase Mixture, int Structure, bool TransitionPrior, bool InitialPrior, int SequenceSeed, bool Weighted)
{
    public override string ToString() =>
        $"new HmmCase({Mixture}, {Structure}, {TransitionPrior.ToString().ToLowerInvariant()}, {InitialPrior.ToString().ToLowerInvariant()}, {SequenceSeed}, {Weighted.ToString().ToLowerInvariant()})";
}

/// <summary>
/// Baum–Welch never lowers the objective, and no half-step lowers the free energy, over random hidden Markov models:
/// every block kind as emission, full, left-to-right, tied and fixed chains, transition and initial priors, sequence
/// weights, sequences of length 1 to 60. In exact mode (no covariance floor, every candidate taken as computed) no
/// candidate is rejected and every M half-step raises F.
/// </summary>
public class HiddenMarkovProperties(ITestOutputHelper output)
{
    private static readonly Gen<HmmCase> CaseGen =
        from m in RandomMixtures.CaseGen
        from structure in Gen.Choose(0, 3)
        from transitionPrior in Gen.Elements(false, true)
        from initialPrior in Gen.Elements(false, true)
        from seed in Gen.Choose(0, int.MaxValue)
        from weighted in Gen.Elements(false, false, true)
        select new HmmCase(m with { Weighted = false }, structure, transitionPrior, initialPrior, seed, weighted);

    private static readonly Arbitrary<HmmCase> Cases = Arb.From(CaseGen,
        c => RandomMixtures.Shrink(c.Mixture).Select(m => c with { Mixture = m })
            .Concat(c.Structure != 0 ? [c with { Structure = 0 }] : [])
            .Concat(c.TransitionPrior ? [c with { TransitionPrior = false }] : [])
            .Concat(c.Weighted ? [c with { Weighted = false }] : []));

    private static readonly Arbitrary<HmmCase> ExactCases = Arb.From(
        from c in CaseGen
        from m in RandomMixtures.ExactCaseGen
        select c with { Mixture = m with { Weighted = false } });

    /// <summary>The model, sequences and weights of a case. Structure: 0 full, 1 left-to-right, 2 tied, 3 fixed.</summary>
    private static (HiddenMarkovModel Model, SequenceData Data, double[]? Weights) Build(HmmCase c)
    {
        var m = c.Mixture;
        var blocks = RandomMixtures.BuildBlocks(m);
        var rows = RandomMixtures.BuildData(m);
        var r = new Random(c.SequenceSeed);
        var lengths = new List<int>();
        for (int left = rows.Rows; left > 0;)
        {
            int l = Math.Min(left, r.NextDouble() < 0.2 ? 1 : 1 + r.Next(60));
            lengths.Add(l);
            left -= l;
        }
        var builder = HiddenMarkov.WithStates(m.K).Observe(blocks);
        builder = c.Structure switch
        {
            1 => builder.WithTransitions(TransitionStructure.LeftToRight()),
            2 => builder.TieTransitions(),
            3 => builder.FixTransitions(HmmFixtures.Sticky(m.K, 0.8)),
            _ => builder,
        };
        if (c.TransitionPrior && c.Structure is 0 or 1) builder = builder.WithTransitionPrior(1 + 2 * r.NextDouble());
        if (c.InitialPrior) builder = builder.WithInitialPrior(1 + 2 * r.NextDouble());
        double[]? weights = c.Weighted ? lengths.Select(_ => r.NextDouble() < 0.15 ? 0 : 0.5 + 0.5 * r.Next(4)).ToArray() : null;
        if (weights is not null && lengths.Where((_, s) => weights[s] > 0).Sum() < m.K) Array.Fill(weights, 1.0); // k-means needs K weighted steps
        return (builder.Build(), SequenceData.FromLengths(rows, lengths), weights);
    }

    private static HiddenMarkovFit Fit(HmmCase c, FitOptions options)
    {
        var (model, data, weights) = Build(c);
        try { return model.Fit(data, options with { MaxIterations = c.Mixture.MaxIterations, Tolerance = 0, Seed = c.Mixture.DataSeed, ChunkRows = c.Mixture.ChunkRows }, weights); }
        catch (Exception e) { throw new Exception($"Fit threw on {c}: {e.GetType().Name}: {e.Message}", e); }
    }

    internal static void Check(HmmCase c)
    {
        var fit = Fit(c, FitOptions.Default);
        EngineFixtures.AssertNonDecreasing(fit.ObjectiveTrace, $"{c}: objective");
        Assert.False(fit.Diagnostics.ObjectiveEverDecreased, $"{c}: {fit.Diagnostics}");
        FreeEnergyChecks.AssertHalfSteps(fit, c.ToString());
        var values = EngineFixtures.AllValues(fit);
        Assert.All(values, v => Assert.True(double.IsFinite(v), $"{c}: a returned parameter is {v}"));
        Assert.Equal(1, fit.InitialProbabilities.Sum(), 1e-12);
        var a = fit.TransitionMatrix;
        for (int i = 0; i < fit.States; i++)
        {
            Assert.Equal(1, Enumerable.Range(0, fit.States).Sum(j => a[i, j]), 1e-12);
            for (int j = 0; j < fit.States; j++)
                if (!fit.Model.Structure.Allows(i, j)) Assert.True(a[i, j] == 0, $"{c}: structural zero {i} → {j} is {a[i, j]}");
        }
    }

    [Fact]
    public void ObjectiveAndFreeEnergyNeverDecrease()
    {
        PropertyChecks.ForAll(Cases, Check, baseline: 150);
        output.WriteLine($"{PropertyChecks.Cases(150)} random cases");
    }

    [Fact]
    public void ExactModeRejectsNoCandidateAndEveryMStepRaisesTheFreeEnergy()
    {
        int qualified = 0, total = 0;
        PropertyChecks.ForAll(ExactCases, c =>
        {
            total++;
            HiddenMarkovFit fit;
            try { fit = Fit(c, FitOptions.Default with { CovarianceFloor = 0, CheckMSteps = false }); }
            catch (Exception e) when (e.InnerException is InvalidOperationException { Message: var m } && m.Contains("cannot estimate initial")) { return; }
            if (fit.Diagnostics.FlooredEstimates > 0 || fit.Diagnostics.InvalidCandidates > 0 || fit.Diagnostics.EmptyComponents.Count > 0) return;
            qualified++;
            FreeEnergyChecks.AssertExact(fit, c.ToString());
        }, baseline: 100);
        output.WriteLine($"{qualified} of {total} random cases ran exactly");
        Assert.True(qualified >= 0.6 * total, $"only {qualified} of {total} cases ran without floors or degenerate estimates.");
    }

    /// <summary>The generator covers every chain structure, priors, weights and sequences of length 1.</summary>
    [Fact]
    public void GeneratorCoversEveryStructureAndOption()
    {
        var cases = FsCheck.Fluent.Gen.Sample(CaseGen, 300);
        for (int s = 0; s < 4; s++) Assert.Contains(cases, c => c.Structure == s);
        Assert.Contains(cases, c => c.TransitionPrior && c.Structure == 0);
        Assert.Contains(cases, c => c.InitialPrior);
        Assert.Contains(cases, c => c.Weighted);
        Assert.Contains(cases, c => Build(c).Data.Lengths.Contains(1));
        foreach (var kind in Enum.GetValues<BlockKind>()) Assert.Contains(cases, c => c.Mixture.Blocks.Any(b => b.Kind == kind));
    }
}
