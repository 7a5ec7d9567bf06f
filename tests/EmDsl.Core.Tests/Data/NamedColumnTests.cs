using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Inference;

namespace EmDsl.Tests.Names;

/// <summary>
/// Blocks, regressions and gating networks that name their columns: they resolve against the data's column names
/// once per fit and then behave exactly (bit for bit) like the same model declared by index.
/// </summary>
public class NamedColumnTests
{
    private static readonly string[] Names = ["g1", "g2", "count", "flag", "colour", "y", "x"];

    /// <summary>Two groups: a Gaussian pair, a count, a flag, a three-level code, and y = a + b·x + noise.</summary>
    private static DataMatrix Mixed(int rows = 240, int seed = 3)
    {
        var random = new Random(seed);
        var values = new double[rows, Names.Length];
        for (int i = 0; i < rows; i++)
        {
            int g = i % 2;
            double Normal() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
            values[i, 0] = (g == 0 ? -2 : 2) + Normal();
            values[i, 1] = (g == 0 ? 1 : -1) + 0.5 * Normal();
            values[i, 2] = random.Next(g == 0 ? 3 : 9);
            values[i, 3] = random.NextDouble() < (g == 0 ? 0.2 : 0.8) ? 1 : 0;
            values[i, 4] = random.Next(g == 0 ? 2 : 3);
            values[i, 6] = 4 * random.NextDouble() - 2;
            values[i, 5] = (g == 0 ? 1 + 2 * values[i, 6] : -1 - values[i, 6]) + 0.3 * Normal();
        }
        return DataMatrix.From(values).WithColumnNames(Names);
    }

    private static void AssertSameFit(ModelFit expected, ModelFit actual)
    {
        Assert.Equal(expected.ObjectiveTrace, actual.ObjectiveTrace); // exact: the same arithmetic in the same order
        Assert.Equal(expected.Iterations, actual.Iterations);
        Assert.Equal(expected.LogLikelihood, actual.LogLikelihood);
        for (int b = 0; b < expected.Blocks.Count; b++)
            Assert.Equal(expected.Parameters(expected.Blocks[b].Name), actual.Parameters(actual.Blocks[b].Name));
    }

    [Fact]
    public void NamedMixtureOfSeveralBlockKindsFitsBitForBitLikeTheIndexedOne()
    {
        var data = Mixed();
        var options = FitOptions.Default with { Seed = 4, Restarts = 2 };
        var byIndex = Mixture.WithComponents(2)
            .Observe(Blocks.Gaussian("pos", [0, 1]), Blocks.Poisson("count", [2]), Blocks.Bernoulli("flag", [3]), Blocks.Categorical("colour", [4], 3))
            .Build().Fit(data, options);
        var gaussian = Blocks.Gaussian("pos", ["g1", "g2"]);
        var named = Mixture.WithComponents(2)
            .Observe(gaussian, Blocks.Poisson("count", ["count"]), Blocks.Bernoulli("flag", ["flag"]), Blocks.Categorical("colour", ["colour"], 3))
            .Build();
        Assert.True(named.NamesColumns);
        var fit = named.Fit(data, options);

        AssertSameFit(byIndex, fit);
        Assert.Equal(byIndex.Weights, fit.Weights);
        Assert.Equal(byIndex.Predict(data), fit.Predict(data));
        Assert.Equal(byIndex.ScoreSamples(data), fit.ScoreSamples(data));
        Assert.Equal(byIndex.Sample(50, seed: 2).Data.Values.ToArray(), fit.Sample(50, seed: 2).Data.Values.ToArray());
        // The declared block is still the typed handle; the fit's model holds the resolved copy with names and indices.
        Assert.Equal(byIndex.Parameters((Block<GaussianParameters>)byIndex.Blocks[0]), fit.Parameters(gaussian));
        var resolved = fit.Model.Blocks[0];
        Assert.True(resolved.IsResolved);
        Assert.Equal([0, 1], resolved.Columns);
        Assert.Equal(["g1", "g2"], resolved.ColumnNames!);
        Assert.Contains("g1 (0), g2 (1)", resolved.ToString());
        // The sample carries the training names, so the fit can predict on it by name.
        var sample = fit.Sample(20, seed: 1).Data;
        Assert.Equal(Names.Take(5), sample.ColumnNames!);
        Assert.Equal(20, fit.Predict(sample).Length);
    }

    [Fact]
    public void DeclaredByNameTheBlockHasNoIndicesUntilFitted()
    {
        var block = Blocks.Gaussian("pos", ["g1", " g2 "]);
        Assert.False(block.IsResolved);
        Assert.Equal(["g1", "g2"], block.ColumnNames!); // trimmed, as DataMatrix trims its names
        var e = Assert.Throws<InvalidOperationException>(() => block.Columns);
        Assert.Contains("'pos'", e.Message);
        Assert.Contains("'g1', 'g2'", e.Message);
        Assert.Contains("pos: Gaussian", block.ToString());
        Assert.Contains("[g1, g2]", block.ToString());
        var model = Mixture.WithComponents(2).Observe(block).Build();
        Assert.Equal(2 - 1 + 2 * (2 + 3), model.FreeParameterCount); // counts need no indices
        Assert.Throws<InvalidOperationException>(() => model.RequiredColumns);
        Assert.Null(Blocks.Gaussian("idx", [0, 1]).ColumnNames);
        Assert.True(Blocks.Gaussian("idx", [0, 1]).IsResolved);
    }

    [Fact]
    public void ColumnOrderOfTheDataDoesNotMatterForANamedModel()
    {
        var data = Mixed();
        int[] order = [6, 4, 5, 1, 3, 0, 2]; // x, colour, y, g2, flag, g1, count
        var shuffledValues = new double[data.Rows, order.Length];
        for (int i = 0; i < data.Rows; i++)
            for (int j = 0; j < order.Length; j++) shuffledValues[i, j] = data.Values[i * data.Columns + order[j]];
        var shuffled = DataMatrix.From(shuffledValues).WithColumnNames(order.Select(j => Names[j]));
        var options = FitOptions.Default with { Seed = 2 };
        var model = Mixture.WithComponents(2)
            .Observe(Blocks.Gaussian("pos", ["g1", "g2"]), Blocks.Poisson("count", ["count"]), Blocks.LinearRegression("reg", "y", ["x"]))
            .Build();
        var onOriginal = model.Fit(data, options);
        var onShuffled = model.Fit(shuffled, options);

        Assert.Equal([5, 3], onShuffled.Model.Blocks[0].Columns);
        Assert.Equal([2], onShuffled.Model.Blocks[2].Columns);
        Assert.Equal([0], onShuffled.Model.Blocks[2].Covariates);
        // k-means++ sums over the columns in index order, so the start may differ in the last bits, not the optimum.
        Assert.True(Math.Abs(onOriginal.Objective - onShuffled.Objective) <= 1e-9 * Math.Abs(onOriginal.Objective),
            $"{onOriginal.Objective:R} vs {onShuffled.Objective:R}");
        // A fit predicts on data whose columns come in another order, finding them by name.
        Assert.Equal(onOriginal.ScoreSamples(data), onOriginal.ScoreSamples(shuffled));
        Assert.Equal(onShuffled.PredictProba(shuffled), onShuffled.PredictProba(data));
    }

    [Fact]
    public void NamedRegressionMixtureWithNamedGatingFitsBitForBitLikeTheIndexedOne()
    {
        var data = Mixed();
        var options = FitOptions.Default with { Seed = 7 };
        var byIndex = Mixture.WithComponents(2)
            .Observe(Blocks.LinearRegression("reg", 5, [6]), Blocks.LogisticRegression("flag", 3, [0, 1]), Blocks.PoissonRegression("count", 2, [1]))
            .GatedBy([0, 6])
            .Build().Fit(data, options);
        var linear = Blocks.LinearRegression("reg", "y", ["x"]);
        var fit = Mixture.WithComponents(2)
            .Observe(linear, Blocks.LogisticRegression("flag", "flag", ["g1", "g2"]), Blocks.PoissonRegression("count", "count", ["g2"]))
            .GatedBy(["g1", "x"])
            .Build().Fit(data, options);

        AssertSameFit(byIndex, fit);
        Assert.Equal(byIndex.GatingCoefficients, fit.GatingCoefficients);
        Assert.Equal(byIndex.Parameters((Block<LinearRegressionParameters>)byIndex.Blocks[0]), fit.Parameters(linear));
        Assert.Equal([0, 6], fit.Model.Gating!.Covariates);
        Assert.Equal(["g1", "x"], fit.Model.Gating.CovariateNames!);
        Assert.Equal(["x"], fit.Model.Blocks[0].CovariateNames!);
        Assert.Equal([6], fit.Model.Blocks[0].Covariates);
        Assert.Equal(byIndex.PredictProba(data), fit.PredictProba(data));
    }

    [Fact]
    public void NamedHiddenMarkovModelOverSequencesFitsBitForBitLikeTheIndexedOne()
    {
        var random = new Random(11);
        var sequences = Enumerable.Range(0, 4).Select(s =>
        {
            var rows = new double[60, 3];
            int z = 0;
            for (int t = 0; t < 60; t++)
            {
                if (random.NextDouble() < 0.1) z = 1 - z;
                rows[t, 0] = random.NextDouble(); // unused
                rows[t, 1] = (z == 0 ? -1 : 2) + random.NextDouble();
                rows[t, 2] = random.Next(z == 0 ? 2 : 8);
            }
            return DataMatrix.From(rows).WithColumnNames(["noise", "level", "events"]);
        }).ToList();
        var data = SequenceData.FromMatrices(sequences);
        Assert.NotNull(data.Data.ColumnNames);
        var options = FitOptions.Default with { Seed = 3 };
        var byIndex = HiddenMarkov.WithStates(2).Observe(Blocks.Gaussian("level", [1]), Blocks.Poisson("events", [2])).Build().Fit(data, options);
        var named = HiddenMarkov.WithStates(2).Observe(Blocks.Gaussian("level", ["level"]), Blocks.Poisson("events", ["events"])).Build();
        var fit = named.Fit(data, options);

        AssertSameFit(byIndex, fit);
        Assert.Equal(byIndex.TransitionMatrix, fit.TransitionMatrix);
        Assert.Equal(byIndex.Decode(data), fit.Decode(data));
        Assert.Equal(byIndex.ScoreSequences(data), fit.ScoreSequences(data));
        Assert.Equal([1], fit.Model.Blocks[0].Columns);
        var sample = fit.Sample(10, seed: 1).Data;
        Assert.Equal(["noise", "level", "events"], sample.Data.ColumnNames!);
        Assert.Equal(byIndex.Sample(10, seed: 1).Data.Data.Values.ToArray(), sample.Data.Values.ToArray());
    }

    [Fact]
    public void AMissingNameNamesTheBlockAndListsTheColumnsThatExist()
    {
        var data = Mixed();
        var model = Mixture.WithComponents(2).Observe(Blocks.Gaussian("pos", ["g1", "G2"])).Build();
        var e = Assert.Throws<ArgumentException>(() => model.Fit(data));
        Assert.Contains("Block 'pos'", e.Message);
        Assert.Contains("'G2'", e.Message);
        Assert.Contains("did you mean 'g2'", e.Message);
        Assert.Contains("'g1', 'g2', 'count', 'flag', 'colour', 'y', 'x'", e.Message);

        var regression = Mixture.WithComponents(2).Observe(Blocks.LinearRegression("reg", "y", ["z"])).Build();
        e = Assert.Throws<ArgumentException>(() => regression.Fit(data));
        Assert.Contains("Block 'reg'", e.Message);
        Assert.Contains("'z'", e.Message);

        var gated = Mixture.WithComponents(2).Observe(Blocks.Gaussian("pos", [0, 1])).GatedBy(["age"]).Build();
        e = Assert.Throws<ArgumentException>(() => gated.Fit(data));
        Assert.Contains("gating", e.Message);
        Assert.Contains("'age'", e.Message);

        var fit = Mixture.WithComponents(2).Observe(Blocks.Gaussian("pos", ["g1", "g2"])).Build().Fit(data, FitOptions.Default with { Seed = 1 });
        e = Assert.Throws<ArgumentException>(() => fit.Predict(DataMatrix.From(new double[,] { { 1, 2 } }).WithColumnNames(["g1", "h"])));
        Assert.Contains("Block 'pos'", e.Message);
        Assert.Contains("'g2'", e.Message);
        Assert.Contains("'g1', 'h'", e.Message);
    }

    [Fact]
    public void NamedBlocksNeedDataWithNames()
    {
        var unnamed = DataMatrix.From(new double[,] { { 1, 2 }, { 2, 3 }, { 3, 5 }, { 4, 4 } });
        var model = Mixture.WithComponents(2).Observe(Blocks.Gaussian("pos", ["g1", "g2"], CovarianceType.Diagonal)).Build();
        var e = Assert.Throws<ArgumentException>(() => model.Fit(unnamed));
        Assert.Contains("Block 'pos'", e.Message);
        Assert.Contains("no column names", e.Message);
        Assert.Contains("WithColumnNames", e.Message);
        Assert.Contains("ReadCsv", e.Message);

        var hmm = HiddenMarkov.WithStates(2).Observe(Blocks.Poisson("events", ["events"])).Build();
        e = Assert.Throws<ArgumentException>(() => hmm.Fit(unnamed));
        Assert.Contains("Block 'events'", e.Message);
        Assert.Contains("no column names", e.Message);

        var fit = model.Fit(unnamed.WithColumnNames(["g1", "g2"]), FitOptions.Default with { Seed = 1 });
        e = Assert.Throws<ArgumentException>(() => fit.ScoreSamples(unnamed));
        Assert.Contains("no column names", e.Message);
    }

    [Fact]
    public void RepeatedOrBlankNamesAreErrorsWhereTheyAreDeclared()
    {
        var e = Assert.Throws<ArgumentException>(() => Blocks.Gaussian("pos", ["g1", "g1"]));
        Assert.Contains("Block 'pos'", e.Message);
        Assert.Contains("'g1' twice", e.Message);
        e = Assert.Throws<ArgumentException>(() => Blocks.Bernoulli("flags", ["a", " "]));
        Assert.Contains("blank", e.Message);
        e = Assert.Throws<ArgumentException>(() => Blocks.LinearRegression("reg", "y", ["x", "y"]));
        Assert.Contains("'y' is both a response and a covariate", e.Message);
        e = Assert.Throws<ArgumentException>(() => Blocks.LogisticRegression("reg", "y", ["x", "x"]));
        Assert.Contains("'x' twice", e.Message);
        e = Assert.Throws<ArgumentException>(() => Mixture.WithComponents(2).GatedBy(["a", "a"]));
        Assert.Contains("gating", e.Message);
        Assert.Contains("'a' twice", e.Message);
        // Counts are checked as for indices.
        e = Assert.Throws<ArgumentException>(() => Blocks.Dirichlet("mix", ["p"]));
        Assert.Contains("at least 2 columns", e.Message);
        e = Assert.Throws<ArgumentException>(() => Blocks.Categorical("c", ["a", "b"], 3));
        Assert.Contains("1 column", e.Message);
        // Two blocks may not read one name; a named and an indexed block reading one column are caught at the fit.
        var clash = Assert.Throws<InvalidOperationException>(() =>
            Mixture.WithComponents(2).Observe(Blocks.Gaussian("a", ["g1"]), Blocks.Poisson("b", ["g1"])).Build());
        Assert.Contains("Column 'g1' is read by both block 'a' and block 'b'", clash.Message);
        var mixed = Mixture.WithComponents(2).Observe(Blocks.Gaussian("a", ["g1"]), Blocks.Gaussian("b", [0])).Build();
        e = Assert.Throws<ArgumentException>(() => mixed.Fit(Mixed()));
        Assert.Contains("Column 0 is read by both block 'a' and block 'b'", e.Message);
    }

    [Fact]
    public void EveryFactoryTakesNamesAndCountsThemLikeIndices()
    {
        Block[] named =
        [
            Blocks.Gaussian("a", ["p", "q"]), Blocks.Bernoulli("b", ["p"]), Blocks.Poisson("c", ["p"]), Blocks.Categorical("d", ["p", "q", "r"], 3),
            Blocks.Exponential("e", ["p"]), Blocks.Gamma("f", ["p"]), Blocks.Beta("g", ["p"]), Blocks.Dirichlet("h", ["p", "q"]),
            Blocks.VonMises("i", ["p"]), Blocks.NegativeBinomial("j", ["p"], 2.0), Blocks.FromFamily("k", ["p"], new PoissonFamily(1)),
            Blocks.Factor("l", ["p", "q", "r"], 1), Blocks.LinearRegression("m", "p", ["q"]), Blocks.LogisticRegression("n", "p", ["q"]),
            Blocks.PoissonRegression("o", "p", ["q", "r"]),
        ];
        Block[] indexed =
        [
            Blocks.Gaussian("a", [0, 1]), Blocks.Bernoulli("b", [0]), Blocks.Poisson("c", [0]), Blocks.Categorical("d", [0, 1, 2], 3),
            Blocks.Exponential("e", [0]), Blocks.Gamma("f", [0]), Blocks.Beta("g", [0]), Blocks.Dirichlet("h", [0, 1]),
            Blocks.VonMises("i", [0]), Blocks.NegativeBinomial("j", [0], 2.0), Blocks.FromFamily("k", [0], new PoissonFamily(1)),
            Blocks.Factor("l", [0, 1, 2], 1), Blocks.LinearRegression("m", 0, [1]), Blocks.LogisticRegression("n", 0, [1]),
            Blocks.PoissonRegression("o", 0, [1, 2]),
        ];
        var data = DataMatrix.From(new double[,] { { 0.5, 0.5, 0.25 } }).WithColumnNames(["p", "q", "r"]);
        for (int i = 0; i < named.Length; i++)
        {
            Assert.False(named[i].IsResolved);
            Assert.Equal(indexed[i].GetType(), named[i].GetType());
            Assert.Equal(indexed[i].Family.Name, named[i].Family.Name);
            Assert.Equal(indexed[i].FreeParameterCount(3), named[i].FreeParameterCount(3));
            var resolved = named[i].Resolve(data);
            Assert.Equal(indexed[i].Columns, resolved.Columns);
            Assert.Equal(indexed[i].Covariates, resolved.Covariates);
            Assert.Same(named[i], resolved.Declaration);
        }
    }

    [Fact]
    public void CollectionExpressionsPickTheIndexOrTheNameOverload()
    {
        Assert.Null(Blocks.Gaussian("g", [0, 1]).ColumnNames);
        Assert.NotNull(Blocks.Gaussian("g", ["a", "b"]).ColumnNames);
        // `[]` keeps binding to the index overload (OverloadResolutionPriority): the error is the one for indices.
        Assert.Contains("at least one column", Assert.Throws<ArgumentException>(() => Blocks.Gaussian("g", [])).Message);
        Assert.NotNull(Mixture.WithComponents(2).Observe(Blocks.Gaussian("g", [0])).GatedBy([]).Build().Gating);
        Assert.Null(Mixture.WithComponents(2).Observe(Blocks.Gaussian("g", [0])).GatedBy([]).Build().Gating!.CovariateNames);
        Assert.NotNull(Mixture.WithComponents(2).Observe(Blocks.Gaussian("g", [0])).GatedBy(["x"]).Build().Gating!.CovariateNames);
        IEnumerable<string> names = new List<string> { "a" };
        Assert.NotNull(Blocks.Poisson("p", names).ColumnNames);
    }

    [Fact]
    public void OldFaithfulByHeaderNamesMatchesByIndex()
    {
        var data = OldFaithfulReferenceTests.OldFaithful();
        Assert.Equal(["eruptions", "waiting"], data.ColumnNames!);
        var options = FitOptions.Default with { Seed = 1 };
        var byIndex = Mixture.WithComponents(2).Observe(Blocks.Gaussian("geyser", [0, 1])).Build().Fit(data, options);
        var byName = Mixture.WithComponents(2).Observe(Blocks.Gaussian("geyser", ["eruptions", "waiting"])).Build().Fit(data, options);
        AssertSameFit(byIndex, byName);
        // A named fit is a start for another fit of its model (which resolves by name again).
        var again = byName.Model.Fit(data, FitOptions.Default with { Initialization = Initialization.FromFit(byName) });
        Assert.Equal(byName.Objective, again.ObjectiveTrace[0], 6);
    }
}
