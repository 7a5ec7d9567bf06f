using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Families.Priors;
using EmDsl.Inference;
using static EmDsl.Tests.Engine.EngineFixtures;

namespace EmDsl.Tests.Engine;

/// <summary>Bad input fails early with the right exception type and a message that says where the problem is.</summary>
public class BadInputTests
{
    private static void Mentions(Exception e, params string[] parts)
    {
        foreach (var p in parts) Assert.True(e.Message.Contains(p, StringComparison.Ordinal), $"message \"{e.Message}\" does not mention \"{p}\"");
    }

    private static readonly DataMatrix Good = TwoClusters(20, seed: 91);

    // ---------------------------------------------------------------- DataMatrix

    [Theory]
    [InlineData(double.NaN, "NaN")]
    [InlineData(double.PositiveInfinity, "+∞")]
    [InlineData(double.NegativeInfinity, "−∞")]
    public void NonFiniteValuesAreRejectedWithRowAndColumn(double bad, string shown)
    {
        var rows = new[] { new[] { 1.0, 2, 3 }, new[] { 4.0, 5, 6 }, new[] { 7.0, 8, bad } };
        Mentions(Assert.Throws<ArgumentException>(() => DataMatrix.FromRows(rows)), "Row 2", "column 2", shown);
        var a = new double[4, 2];
        a[3, 1] = bad;
        Mentions(Assert.Throws<ArgumentException>(() => DataMatrix.From(a)), "Row 3", "column 1", shown);
        Mentions(Assert.Throws<ArgumentException>(() => DataMatrix.FromColumn([0, 1, bad, 2])), "Row 2", "column 0", shown);
    }

    [Fact]
    public void RaggedNullAndEmptyDataAreRejected()
    {
        Mentions(Assert.Throws<ArgumentException>(() => DataMatrix.FromRows([[1.0, 2], [3.0, 4], [5.0]])), "ragged", "row 2", "1 values", "2");
        Mentions(Assert.Throws<ArgumentException>(() => DataMatrix.FromRows([[1.0, 2], null!])), "Row 1", "null");
        Mentions(Assert.Throws<ArgumentException>(() => DataMatrix.FromRows([])), "no rows");
        Mentions(Assert.Throws<ArgumentException>(() => DataMatrix.From(new double[0, 3])), "no rows");
        Mentions(Assert.Throws<ArgumentException>(() => DataMatrix.From(new double[3, 0])), "no columns");
        Mentions(Assert.Throws<ArgumentException>(() => DataMatrix.FromRows([[], []])), "no columns");
        Mentions(Assert.Throws<ArgumentException>(() => DataMatrix.FromColumn([])), "no rows");
    }

    [Fact]
    public void CsvWithANonNumberNamesLineAndColumn()
    {
        var path = Path.Combine(Path.GetTempPath(), $"emdsl-bad-{Guid.NewGuid():N}.csv");
        File.WriteAllLines(path, ["a,b", "1,2", "3,x"]);
        try { Mentions(Assert.Throws<FormatException>(() => DataMatrix.ReadCsv(path)), path, "line 3", "column 2", "('b')", "'x'", "not a number"); }
        finally { File.Delete(path); }
    }

    // ---------------------------------------------------------------- model structure

    [Fact]
    public void ComponentCountOutOfRange()
    {
        foreach (int k in new[] { 0, -1 })
            Mentions(Assert.Throws<ArgumentOutOfRangeException>(() => Mixture.WithComponents(k)), "K ≥ 1", "components");
        var model = Mixture.WithComponents(5).Observe(Blocks.Gaussian("g", [0, 1])).Build();
        var four = DataMatrix.FromRows([[1.0, 2], [2.0, 3], [3.0, 1], [0.0, 0]]);
        Mentions(Assert.Throws<ArgumentException>(() => model.Fit(four)), "K = 5", "4 rows");
        // Rows with zero weight do not count.
        var twenty = Mixture.WithComponents(3).Observe(Blocks.Gaussian("g", [0, 1])).Build();
        var w = Enumerable.Range(0, 20).Select(i => i < 2 ? 1.0 : 0.0).ToArray();
        Mentions(Assert.Throws<ArgumentException>(() => twenty.Fit(Good, sampleWeights: w)), "K = 3", "2 rows", "positive weight");
    }

    public static TheoryData<string, Block, double[], int, string> SupportCases => new()
    {
        { "poisson negative", Blocks.Poisson("counts", [1]), [0, -1], 1, "non-negative integer" },
        { "poisson fractional", Blocks.Poisson("counts", [1]), [0, 2.5], 1, "non-negative integer" },
        { "exponential negative", Blocks.Exponential("waits", [0, 1]), [1, -0.5], 1, "negative" },
        { "bernoulli 2", Blocks.Bernoulli("flags", [0, 1]), [1, 2], 1, "not 0 or 1" },
        { "bernoulli 0.5", Blocks.Bernoulli("flags", [0]), [0.5, 0], 0, "not 0 or 1" },
        { "categorical code too large", Blocks.Categorical("colour", [1], 3), [0, 3], 1, "0..2" },
        { "categorical code fractional", Blocks.Categorical("colour", [1], 3), [0, 1.5], 1, "category code" },
        { "categorical code negative", Blocks.Categorical("colour", [0], 3), [-1, 0], 0, "category code" },
        { "one-hot two ones", Blocks.Categorical("onehot", [0, 1], 2), [1, 1], 1, "a second 1" },
        { "one-hot no ones", Blocks.Categorical("onehot", [0, 1], 2), [0, 0], 0, "has no 1" },
        { "one-hot value 2", Blocks.Categorical("onehot", [0, 1], 2), [0, 2], 1, "not 0 or 1" },
    };

    [Theory]
    [MemberData(nameof(SupportCases))]
    public void ValuesOutsideTheSupportNameRowColumnAndBlock(string _, Block block, double[] badRow, int badColumn, string reason)
    {
        var good = block.Family switch
        {
            CategoricalFamily { Encoding: CategoricalEncoding.OneHot } => new double[] { 1, 0 },
            _ => new double[] { 1, 1 },
        };
        var rows = Enumerable.Repeat(good, 6).Append(badRow).Append(good).ToArray();
        var data = DataMatrix.FromRows(rows);
        var model = Mixture.WithComponents(2).Observe(block).Build();
        var e = Assert.Throws<ArgumentException>(() => model.Fit(data));
        Mentions(e, "Row 6", $"column {badColumn}", $"'{block.Name}'", reason);
        // Prediction on bad data is rejected in the same terms.
        var fit = model.Fit(DataMatrix.FromRows(Enumerable.Repeat(good, 4).Append(good).ToArray()));
        Mentions(Assert.Throws<ArgumentException>(() => fit.PredictProba(data)), "Row 6", $"column {badColumn}", $"'{block.Name}'");
    }

    [Fact]
    public void ABlockReadingAMissingColumn()
    {
        var model = Mixture.WithComponents(2).Observe(Blocks.Gaussian("g", [0, 1])).Observe(Blocks.Poisson("wide", [4])).Build();
        Mentions(Assert.Throws<ArgumentException>(() => model.Fit(Good)), "'wide'", "column 4", "2 columns");
    }

    [Fact]
    public void DeclarationErrors()
    {
        Mentions(Assert.Throws<InvalidOperationException>(() =>
            Mixture.WithComponents(2).Observe(Blocks.Gaussian("x", [0])).Observe(Blocks.Poisson("x", [1])).Build()), "'x'", "unique");
        Mentions(Assert.Throws<InvalidOperationException>(() =>
            Mixture.WithComponents(2).Observe(Blocks.Gaussian("a", [0, 1])).Observe(Blocks.Poisson("b", [1])).Build()), "Column 1", "'a'", "'b'");
        Mentions(Assert.Throws<InvalidOperationException>(() => Mixture.WithComponents(2).Build()), "no blocks");
        Mentions(Assert.Throws<ArgumentException>(() => Blocks.Gaussian("dup", [0, 1, 0])), "'dup'", "column 0 twice");
        Mentions(Assert.Throws<ArgumentOutOfRangeException>(() => Blocks.Poisson("neg", [-2])), "'neg'", "-2");
        Mentions(Assert.Throws<ArgumentException>(() => Blocks.Bernoulli("none", [])), "at least one column");
        Mentions(Assert.Throws<ArgumentException>(() => Blocks.Gaussian(" ", [0])), "name");
        Mentions(Assert.Throws<ArgumentException>(() => Blocks.Categorical("cat", [0, 1], 3)), "'cat'", "3 categories", "not 2");
        Mentions(Assert.Throws<ArgumentException>(() => Blocks.Gaussian("t", [0, 1], CovarianceType.Tied, sharing: Sharing.Shared)), "'t'", "tied");
    }

    [Fact]
    public void PriorsWithTheWrongDimension()
    {
        var prior3 = new GaussianPrior([0, 0, 0], 1, ReadOnlyMatrix.Identity(3), 1);
        Mentions(Assert.Throws<ArgumentException>(() => Blocks.Gaussian("g", [0, 1], prior: prior3)), "'g'", "3-dimensional", "2 columns");
        var e = Assert.Throws<ArgumentException>(() => Blocks.Categorical("c", [0], 4, new DirichletPrior([1, 1, 1])));
        Mentions(e, "3 concentrations", "4 categories", "'c'");
        Mentions(Assert.Throws<ArgumentException>(() => Mixture.WithComponents(3).WithWeightPrior(new DirichletPrior([1, 1]))), "2 concentrations", "3 components");
        Mentions(Assert.Throws<ArgumentException>(() => new GaussianPrior([0, 0], 1, ReadOnlyMatrix.Identity(3), 1)), "3×3", "2 entries");
    }

    /// <summary>Every other block-level declaration error names the block; the categorical prior mismatch should too.</summary>
    [Fact]
    public void CategoricalPriorMismatchNamesTheBlock() =>
        Mentions(Assert.Throws<ArgumentException>(() => Blocks.Categorical("colour", [0], 4, new DirichletPrior([1, 1, 1]))), "'colour'");

    [Fact]
    public void PriorHyperparametersOutOfRange()
    {
        Mentions(Assert.Throws<ArgumentOutOfRangeException>(() => new BetaPrior(0.5, 2)), "Beta α", "≥ 1");
        Mentions(Assert.Throws<ArgumentOutOfRangeException>(() => new GammaPrior(2, -1)), "rate");
        Mentions(Assert.Throws<ArgumentOutOfRangeException>(() => new GammaPrior(0.9, 1)), "Gamma shape");
        Mentions(Assert.Throws<ArgumentOutOfRangeException>(() => new DirichletPrior([1, 0.5, 2])), "α[1]");
        Mentions(Assert.Throws<ArgumentOutOfRangeException>(() => new GaussianPrior([0], -1, ReadOnlyMatrix.Identity(1), 1)), "κ");
        Mentions(Assert.Throws<ArgumentOutOfRangeException>(() => new GaussianPrior([0], 1, ReadOnlyMatrix.Identity(1), double.NaN)), "n must");
        Mentions(Assert.Throws<ArgumentException>(() => new GaussianPrior([0, 0], 1, new ReadOnlyMatrix(new double[,] { { 1, 0.5 }, { 0, 1 } }), 1)), "symmetric", "(0, 1)");
        Mentions(Assert.Throws<ArgumentException>(() => new GaussianPrior([0, 0], 1, new ReadOnlyMatrix(new double[,] { { -1, 0 }, { 0, 1 } }), 1)), "Ψ[0,0]");
    }

    // ---------------------------------------------------------------- sample weights

    [Fact]
    public void SampleWeightsOfWrongLengthOrValue()
    {
        var model = Mixture.WithComponents(2).Observe(Blocks.Gaussian("g", [0, 1])).Build();
        Mentions(Assert.Throws<ArgumentException>(() => model.Fit(Good, sampleWeights: new double[19])), "19 sample weights", "20 rows");
        foreach (var (bad, shown) in new[] { (-1.0, "-1"), (double.NaN, "NaN"), (double.PositiveInfinity, "+∞") })
        {
            var w = Enumerable.Repeat(1.0, 20).ToArray();
            w[7] = bad;
            Mentions(Assert.Throws<ArgumentException>(() => model.Fit(Good, sampleWeights: w)), "row 7", shown);
        }
        Mentions(Assert.Throws<ArgumentException>(() => model.Fit(Good, sampleWeights: new double[20])), "zero");
    }

    // ---------------------------------------------------------------- initialisation

    [Fact]
    public void InitialResponsibilitiesOfWrongShapeOrNotSummingToOne()
    {
        var model = Mixture.WithComponents(2).Observe(Blocks.Gaussian("g", [0, 1])).Build();
        FitOptions With(double[,] r) => FitOptions.Default with { Initialization = Initialization.FromResponsibilities(r) };
        Mentions(Assert.Throws<ArgumentException>(() => model.Fit(Good, With(new double[20, 3]))), "20×3", "20×2");
        Mentions(Assert.Throws<ArgumentException>(() => model.Fit(Good, With(new double[19, 2]))), "19×2", "20×2");
        var r = new double[20, 2];
        for (int i = 0; i < 20; i++) r[i, 0] = 1;
        r[5, 0] = 0.7;
        Mentions(Assert.Throws<ArgumentException>(() => model.Fit(Good, With(r))), "row 5", "0.7", "sum to 1");
        r[5, 0] = 1.2; r[5, 1] = -0.2;
        Mentions(Assert.Throws<ArgumentException>(() => model.Fit(Good, With(r))), "row 5", "component 1", "-0.2");
        r[5, 0] = double.NaN; r[5, 1] = 0;
        Mentions(Assert.Throws<ArgumentException>(() => model.Fit(Good, With(r))), "row 5", "component 0", "NaN");
    }

    [Fact]
    public void InitialParametersMissingWrongCountWrongDimensionOrNotPositiveDefinite()
    {
        var g = Blocks.Gaussian("g", [0, 1]);
        var p = Blocks.Poisson("p", [2]);
        var model = Mixture.WithComponents(2).Observe(g).Observe(p).Build();
        var data = DataMatrix.FromRows(Enumerable.Range(0, 10).Select(i => new double[] { i, -i, i % 3 }).ToArray());
        var ok = GaussianParameters.WithVariances([0, 0], [1, 1]);
        FitOptions With(ParameterInitialization init) => FitOptions.Default with { Initialization = init };
        var rates = new[] { new PoissonParameters([1]), new PoissonParameters([2]) };

        Mentions(Assert.Throws<ArgumentException>(() => model.Fit(data, With(Initialization.FromParameters([0.5, 0.5]).With(g, [ok, ok])))), "'p'", "missing");
        Mentions(Assert.Throws<ArgumentException>(() => model.Fit(data, With(Initialization.FromParameters([0.5, 0.5]).With(g, [ok]).With(p, rates)))), "'g'", "1 initial parameter record", "2 components");
        Mentions(Assert.Throws<ArgumentException>(() => model.Fit(data, With(Initialization.FromParameters([0.2, 0.3, 0.5]).With(g, [ok, ok]).With(p, rates)))), "3 initial weights", "2 components");
        Mentions(Assert.Throws<ArgumentException>(() => model.Fit(data, With(Initialization.FromParameters([0.6, 0.6]).With(g, [ok, ok]).With(p, rates)))), "sum to 1.2");
        Mentions(Assert.Throws<ArgumentException>(() => model.Fit(data, With(Initialization.FromParameters([1.5, -0.5]).With(g, [ok, ok]).With(p, rates)))), "component 1", "-0.5");
        var notPd = new GaussianParameters([0, 0], new double[,] { { 1, 2 }, { 2, 1 } });
        Mentions(Assert.Throws<ArgumentException>(() => model.Fit(data, With(Initialization.FromParameters([0.5, 0.5]).With(g, [ok, notPd]).With(p, rates)))), "'g'", "component 1", "positive definite");
        var threeD = GaussianParameters.WithVariances([0, 0, 0], [1, 1, 1]);
        Mentions(Assert.Throws<ArgumentException>(() => model.Fit(data, With(Initialization.FromParameters([0.5, 0.5]).With(g, [threeD, ok]).With(p, rates)))), "'g'", "component 0", "2-dimensional");
        var stranger = Blocks.Poisson("stranger", [2]);
        Mentions(Assert.Throws<ArgumentException>(() => model.Fit(data, With(Initialization.FromParameters([0.5, 0.5]).With(g, [ok, ok]).With(p, rates).With(stranger, rates)))), "stranger");
    }

    [Fact]
    public void InitialParametersThatBreakTheBlockStructure()
    {
        var tied = Blocks.Gaussian("t", [0, 1], CovarianceType.Tied);
        var diag = Blocks.Gaussian("d", [0, 1], CovarianceType.Diagonal);
        var sph = Blocks.Gaussian("s", [0, 1], CovarianceType.Spherical);
        var shared = Blocks.Poisson("sh", [0], sharing: Sharing.Shared);
        var data = DataMatrix.FromRows(Enumerable.Range(0, 10).Select(i => new double[] { i, i % 2 }).ToArray());
        var a = GaussianParameters.WithVariances([0, 0], [1, 1]);
        var b = GaussianParameters.WithVariances([0, 0], [1, 2]);
        var corr = new GaussianParameters([0, 0], new double[,] { { 1, 0.5 }, { 0.5, 1 } });
        MixtureFit Fit<T>(Block<T> block, T x, T y) => Mixture.WithComponents(2).Observe(block).Build()
            .Fit(data, FitOptions.Default with { Initialization = Initialization.FromParameters([0.5, 0.5]).With(block, [x, y]) });
        Mentions(Assert.Throws<ArgumentException>(() => Fit(tied, a, b)), "'t'", "tied", "component 1");
        Mentions(Assert.Throws<ArgumentException>(() => Fit(diag, a, corr)), "'d'", "component 1", "diagonal", "(0, 1)");
        Mentions(Assert.Throws<ArgumentException>(() => Fit(sph, a, b)), "'s'", "component 1", "spherical");
        Mentions(Assert.Throws<ArgumentException>(() => Fit(shared, new PoissonParameters([1]), new PoissonParameters([2]))), "'sh'", "shared", "component 1");
        Mentions(Assert.Throws<ArgumentException>(() => Fit(Blocks.Bernoulli("b", [1]), new BernoulliParameters([0.5]), new BernoulliParameters([1.0]))), "'b'", "component 1");
    }

    [Fact]
    public void FromFitOfADifferentModel()
    {
        var data = DataMatrix.FromRows(Enumerable.Range(0, 12).Select(i => new double[] { i % 5, i % 3 }).ToArray());
        var two = Mixture.WithComponents(2).Observe(Blocks.Poisson("p", [0])).Build().Fit(data);
        var three = Mixture.WithComponents(3).Observe(Blocks.Poisson("p", [0])).Build();
        Mentions(Assert.Throws<ArgumentException>(() => three.Fit(data, FitOptions.Default with { Initialization = Initialization.FromFit(two) })), "2 components", "3");
        var other = Mixture.WithComponents(2).Observe(Blocks.Poisson("q", [0])).Build();
        Mentions(Assert.Throws<ArgumentException>(() => other.Fit(data, FitOptions.Default with { Initialization = Initialization.FromFit(two) })), "'q'");
        Mentions(Assert.Throws<ArgumentException>(() => two.Parameters(Blocks.Poisson("q", [0]))), "'q'", "not part");
    }

    // ---------------------------------------------------------------- options

    public static TheoryData<string, FitOptions> BadOptions => new()
    {
        { "MaxIterations", FitOptions.Default with { MaxIterations = -1 } },
        { "Tolerance", FitOptions.Default with { Tolerance = -1e-9 } },
        { "Tolerance", FitOptions.Default with { Tolerance = double.NaN } },
        { "Tolerance", FitOptions.Default with { Tolerance = double.PositiveInfinity } },
        { "Restarts", FitOptions.Default with { Restarts = 0 } },
        { "CovarianceFloor", FitOptions.Default with { CovarianceFloor = -1e-6 } },
        { "CovarianceFloor", FitOptions.Default with { CovarianceFloor = double.NaN } },
        { "ProbabilityFloor", FitOptions.Default with { ProbabilityFloor = 0 } },
        { "ProbabilityFloor", FitOptions.Default with { ProbabilityFloor = 0.5 } },
        { "EmptyComponentThreshold", FitOptions.Default with { EmptyComponentThreshold = -0.1 } },
        { "EmptyComponentThreshold", FitOptions.Default with { EmptyComponentThreshold = 1 } },
        { "ChunkRows", FitOptions.Default with { ChunkRows = 0 } },
        { "ChunkRows", FitOptions.Default with { ChunkRows = -5 } },
        { "MaxDegreeOfParallelism", FitOptions.Default with { MaxDegreeOfParallelism = 0 } },
        { "MaxDegreeOfParallelism", FitOptions.Default with { MaxDegreeOfParallelism = -2 } },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void OptionsOutOfRangeNameTheOption(string option, FitOptions options)
    {
        var model = Mixture.WithComponents(2).Observe(Blocks.Gaussian("g", [0, 1])).Build();
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => model.Fit(Good, options));
        Assert.Equal(option, e.ParamName);
        Mentions(e, option);
    }

    [Fact]
    public void OtherArgumentsOutOfRange()
    {
        Mentions(Assert.Throws<ArgumentOutOfRangeException>(() => Initialization.KMeansPlusPlus(-1)), "Lloyd");
        Assert.Throws<ArgumentNullException>(() => Mixture.WithComponents(2).Observe(Blocks.Gaussian("g", [0])).Build().Fit((DataMatrix)null!));
        Assert.Throws<ArgumentNullException>(() => Mixture.WithComponents(2).Observe(null!));
        var model = Mixture.WithComponents(2).Observe(Blocks.Gaussian("g", [0, 1])).Build();
        Assert.Throws<ArgumentNullException>(() => model.Fit(Good, FitOptions.Default with { Initialization = null! }));
    }
}
