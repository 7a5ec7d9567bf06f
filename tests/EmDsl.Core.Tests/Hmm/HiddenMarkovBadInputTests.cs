using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Inference;

namespace EmDsl.Tests.Hmm;

/// <summary>
/// Bad input to hidden Markov models gets a clear exception naming the sequence, state, entry or parameter:
/// sequences of length 0, lengths that do not add up, a sequence-id column that is not contiguous, priors of the
/// wrong shape, structural zeros that leave a state unreachable or a row all zero, initial parameters that violate
/// the structure, and weights that do not fit.
/// </summary>
public class HiddenMarkovBadInputTests
{
    private static void Mentions(Exception e, params string[] parts)
    {
        foreach (var p in parts) Assert.True(e.Message.Contains(p, StringComparison.Ordinal), $"message \"{e.Message}\" does not mention \"{p}\"");
    }

    private static readonly DataMatrix Six = DataMatrix.FromRows(Enumerable.Range(0, 6).Select(i => new double[] { i % 3, i }));

    [Fact]
    public void SequencesOfLengthZeroAreRejectedByIndex()
    {
        Mentions(Assert.Throws<ArgumentException>(() => SequenceData.FromLengths(Six, [3, 0, 3])), "Sequence 1", "length 0");
        Mentions(Assert.Throws<ArgumentException>(() => SequenceData.FromArrays([new double[2, 1], new double[0, 1]])), "Sequence 1", "length 0");
        Assert.Throws<ArgumentException>(() => SequenceData.FromLengths(Six, []));
        Assert.Throws<ArgumentException>(() => SequenceData.FromMatrices([]));
    }

    [Fact]
    public void LengthsThatDoNotAddUpToTheRowsAreRejected()
    {
        Mentions(Assert.Throws<ArgumentException>(() => SequenceData.FromLengths(Six, [2, 3])), "add up to 5", "6 rows");
        Mentions(Assert.Throws<ArgumentException>(() => SequenceData.FromLengths(Six, [4, 3])), "add up to 7", "6 rows");
    }

    [Fact]
    public void ASequenceIdColumnMustBeContiguous()
    {
        // Ids 0, 1, 2, 0, 1, 2 in column 0: sequence 0 reappears at row 3.
        Mentions(Assert.Throws<ArgumentException>(() => SequenceData.FromIdColumn(Six, 0)), "Sequence id 0", "rows 0–0", "row 3", "contiguous");
        Mentions(Assert.Throws<ArgumentOutOfRangeException>(() => SequenceData.FromIdColumn(Six, 5)), "column 5");
        var sorted = DataMatrix.FromRows([[7, 1], [7, 2], [3, 5], [9, 1], [9, 0], [9, 4]]);
        var ok = SequenceData.FromIdColumn(sorted, 0);
        Assert.Equal([2, 1, 3], ok.Lengths);
    }

    [Fact]
    public void MatricesOfDifferentWidthsAreRejected() =>
        Mentions(Assert.Throws<ArgumentException>(() => SequenceData.FromArrays([new double[2, 2], new double[2, 3]])), "Sequence 1", "3 columns", "2");

    [Fact]
    public void TransitionPriorsOfTheWrongShapeOrBelowOneAreRejected()
    {
        var b = HiddenMarkov.WithStates(3).Observe(Blocks.Poisson("n", [1]));
        Mentions(Assert.Throws<ArgumentException>(() => b.WithTransitionPrior(new double[2, 3])), "2×3", "3×3");
        Mentions(Assert.Throws<ArgumentException>(() => b.WithInitialPrior([1.0, 2.0])), "2 concentrations", "3 states");
        Mentions(Assert.Throws<ArgumentOutOfRangeException>(() => b.WithTransitionPrior(0.5)), "≥ 1");
        var alpha = new double[,] { { 2, 2, 2 }, { 2, 0.3, 2 }, { 2, 2, 2 } };
        Mentions(Assert.Throws<ArgumentOutOfRangeException>(() => b.WithTransitionPrior(alpha).Build()), "1 → 1", "≥ 1");
    }

    [Fact]
    public void StructuresThatLeaveAStateUnreachableOrARowEmptyAreRejected()
    {
        var b = HiddenMarkov.WithStates(3).Observe(Blocks.Poisson("n", [1]));
        var emptyRow = new[,] { { true, true, false }, { false, false, false }, { false, true, true } };
        Mentions(Assert.Throws<InvalidOperationException>(() => b.WithTransitions(TransitionStructure.FromMask(emptyRow)).Build()), "State 1", "no allowed transition");
        var unreachable = new[,] { { true, true, false }, { true, true, false }, { false, false, true } };
        Mentions(Assert.Throws<InvalidOperationException>(() => b.WithTransitions(TransitionStructure.FromMask(unreachable, [true, false, false])).Build()), "State 2", "unreachable");
        Mentions(Assert.Throws<InvalidOperationException>(() => b.WithTransitions(TransitionStructure.FromMask(new bool[3, 3] { { true, true, true }, { true, true, true }, { true, true, true } }, [false, false, false])).Build()),
            "No initial state");
        Mentions(Assert.Throws<InvalidOperationException>(() => b.WithTransitions(TransitionStructure.FromMask(new bool[2, 2])).Build()), "2×2", "3 states");
        Mentions(Assert.Throws<ArgumentException>(() => TransitionStructure.FromMask(new bool[2, 3])), "2×3", "square");
        Assert.Throws<ArgumentOutOfRangeException>(() => TransitionStructure.LeftToRight(0));
    }

    [Fact]
    public void ConflictingChainOptionsAreRejected()
    {
        var b = HiddenMarkov.WithStates(2).Observe(Blocks.Poisson("n", [1]));
        Mentions(Assert.Throws<InvalidOperationException>(() => b.TieTransitions().WithTransitions(TransitionStructure.LeftToRight()).Build()), "tied");
        Mentions(Assert.Throws<InvalidOperationException>(() => b.TieTransitions().WithTransitionPrior(2).Build()), "WithInitialPrior");
        var fixedMatrix = new double[,] { { 0.5, 0.5 }, { 0.2, 0.8 } };
        Mentions(Assert.Throws<InvalidOperationException>(() => b.FixTransitions(fixedMatrix).WithTransitionPrior(2).Build()), "fixed");
        Mentions(Assert.Throws<InvalidOperationException>(() => b.FixTransitions(fixedMatrix).WithTransitions(TransitionStructure.LeftToRight()).Build()), "1 → 0", "forbids");
        Mentions(Assert.Throws<ArgumentException>(() => b.FixTransitions(new double[,] { { 0.5, 0.6 }, { 0.2, 0.8 } })), "row 0", "sums to 1.1");
        Mentions(Assert.Throws<ArgumentException>(() => b.FixTransitions(new double[,] { { 1.5, -0.5 }, { 0.2, 0.8 } })), "0 → 1", "-0.5");
        Mentions(Assert.Throws<InvalidOperationException>(() => HiddenMarkov.WithStates(2).Build()), "observes no blocks");
        Mentions(Assert.Throws<ArgumentOutOfRangeException>(() => HiddenMarkov.WithStates(0)), "at least one state");
    }

    [Fact]
    public void InitialParametersThatViolateTheStructureAreRejected()
    {
        var n = Blocks.Poisson("n", [1]);
        var model = HiddenMarkov.WithStates(3).Observe(n).WithTransitions(TransitionStructure.LeftToRight()).Build();
        var rates = Enumerable.Range(1, 3).Select(v => new PoissonParameters([v]));
        FitOptions Start(double[] initial, double[,]? transitions)
        {
            var init = Initialization.FromParameters(initial).With(n, rates);
            return FitOptions.Default with { Initialization = transitions is null ? init : init.WithTransitions(transitions) };
        }
        var data = SequenceData.Single(Six);
        var good = new double[,] { { 0.5, 0.5, 0 }, { 0, 0.5, 0.5 }, { 0, 0, 1 } };
        Assert.True(double.IsFinite(model.Fit(data, Start([1, 0, 0], good)).LogLikelihood));
        var backwards = new double[,] { { 0.5, 0.5, 0 }, { 0.1, 0.4, 0.5 }, { 0, 0, 1 } };
        Mentions(Assert.Throws<ArgumentException>(() => model.Fit(data, Start([1, 0, 0], backwards))), "1 → 0", "forbids");
        Mentions(Assert.Throws<ArgumentException>(() => model.Fit(data, Start([0.5, 0.5, 0], good))), "state 1", "start");
        Mentions(Assert.Throws<ArgumentException>(() => model.Fit(data, Start([1, 0, 0], new double[,] { { 0.5, 0.4, 0 }, { 0, 0.5, 0.5 }, { 0, 0, 1 } }))), "row 0", "sums to 0.9");
        Mentions(Assert.Throws<ArgumentException>(() => model.Fit(data, Start([1, 0, 0], new double[2, 2]))), "2×2", "3×3");
        Mentions(Assert.Throws<ArgumentException>(() => model.Fit(data, Start([1, 0], good))), "2 initial-state probabilities", "3 states");
        var mixtureStart = Initialization.FromParameters([0.5, 0.5]).With(n, rates.Take(2)).WithTransitions(new double[,] { { 1, 0 }, { 0, 1 } });
        Mentions(Assert.Throws<ArgumentException>(() => Mixture.WithComponents(2).Observe(n).Build().Fit(Six, FitOptions.Default with { Initialization = mixtureStart })),
            "not a hidden Markov model");
    }

    [Fact]
    public void SequenceWeightsMustFitTheSequences()
    {
        var model = HiddenMarkov.WithStates(2).Observe(Blocks.Poisson("n", [1])).Build();
        var data = SequenceData.FromLengths(Six, [2, 4]);
        Mentions(Assert.Throws<ArgumentException>(() => model.Fit(data, null, [1.0])), "1 sequence weights", "2 sequences");
        Mentions(Assert.Throws<ArgumentException>(() => model.Fit(data, null, [1.0, -2])), "sequence 1", "-2");
        Mentions(Assert.Throws<ArgumentException>(() => model.Fit(data, null, [0.0, 0])), "Every sequence weight is zero");
        Mentions(Assert.Throws<ArgumentException>(() => model.Fit(SequenceData.FromLengths(Six, [1, 5]), FitOptions.Default, [1.0, double.NaN])), "sequence 1", "NaN");
    }

    [Fact]
    public void DataOutsideTheEmissionSupportNamesTheRowAndBlock()
    {
        var model = HiddenMarkov.WithStates(2).Observe(Blocks.Poisson("n", [1])).Build();
        var bad = DataMatrix.FromRows([[0, 1], [0, 2], [0, -1], [0, 3]]);
        Mentions(Assert.Throws<ArgumentException>(() => model.Fit(SequenceData.FromLengths(bad, [2, 2]))), "Row 2", "column 1", "'n'");
        var fit = model.Fit(SequenceData.Single(Six));
        Mentions(Assert.Throws<ArgumentException>(() => fit.Decode(DataMatrix.FromRows([[0.0]]))), "column 1");
        Mentions(Assert.Throws<ArgumentOutOfRangeException>(() => fit.Sample([3, 0])), "Sequence 1", "length 0");
    }
}
