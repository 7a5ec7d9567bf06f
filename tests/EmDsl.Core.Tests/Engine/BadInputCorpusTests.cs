using System.Text.RegularExpressions;
using EmDsl.AutoDiff;
using EmDsl.Building;
using EmDsl.Families.Priors;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Inference;
using EmDsl.Numerics;
using static EmDsl.Tests.Engine.EngineFixtures;

namespace EmDsl.Tests.Engine;

/// <summary>
/// Issue 11: a corpus of bad inputs, each failing with one exception of a meaningful type whose message names the row,
/// column, block or option at fault; extreme but valid inputs, each giving a finite result; and scans of the sources
/// for the patterns that let the crashes in (data-sized stack buffers, unwrapped parallel loops).
/// </summary>
public class BadInputCorpusTests
{
    private static void Mentions(Exception e, params string[] parts)
    {
        foreach (var p in parts) Assert.True(e.Message.Contains(p, StringComparison.Ordinal), $"message \"{e.Message}\" does not mention \"{p}\"");
    }

    private static string SourceRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "EmDsl.sln"))) return Path.Combine(dir.FullName, "src");
        throw new InvalidOperationException("EmDsl.sln not found above the test binaries.");
    }

    private static IEnumerable<(string File, int Line, string Text)> SourceLines() =>
        Directory.EnumerateFiles(SourceRoot(), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"))
            .SelectMany(f => File.ReadLines(f).Select((text, i) => (f, i + 1, text)))
            .Where(l => !l.text.TrimStart().StartsWith("///", StringComparison.Ordinal) && !l.text.TrimStart().StartsWith("//", StringComparison.Ordinal));

    // ---------------------------------------------------------------- stack buffers

    /// <summary>Every stackalloc has a constant size, or is guarded by <see cref="StackBuffer.MaxDoubles"/> with a heap fall-back.</summary>
    [Fact]
    public void NoStackBufferIsSizedByTheData()
    {
        var constant = new Regex(@"stackalloc\s+double\[\d+\]");
        var guarded = new Regex(@"(?<n>[A-Za-z_][A-Za-z_0-9.]*)\s*<=\s*StackBuffer\.MaxDoubles\s*\?\s*stackalloc\s+double\[\k<n>\]\s*:\s*new\s+double\[\k<n>\]");
        var offenders = new List<string>();
        foreach (var (file, line, text) in SourceLines())
        {
            int uses = Regex.Matches(text, @"\bstackalloc\b").Count;
            if (uses == 0) continue;
            if (constant.Matches(text).Count + guarded.Matches(text).Count < uses) offenders.Add($"{Path.GetFileName(file)}:{line}: {text.Trim()}");
        }
        Assert.True(offenders.Count == 0, "data-sized stackalloc:\n" + string.Join("\n", offenders));
    }

    [Fact]
    public void AMillionCategoriesFitWithoutOverflowingTheStack()
    {
        const int categories = 1_000_000;
        var codes = Enumerable.Range(0, 40).Select(i => (double)(i % 4 == 0 ? categories - 1 : i % 7)).ToArray();
        var block = Blocks.Categorical("colour", [0], categories);
        var fit = Mixture.WithComponents(2).Observe(block).Build().Fit(DataMatrix.FromColumn(codes), FitOptions.Default with { MaxIterations = 3 });
        Assert.True(double.IsFinite(fit.Objective));
        var p = fit.Parameters(block)[0].Probabilities;
        Assert.Equal(categories, p.Count);
        Assert.Equal(1.0, p.Sum(), 1e-9);
        Assert.All(fit.Sample(5, seed: 3).Data.GetColumn(0), v => Assert.InRange(v, 0, categories - 1));
    }

    // ---------------------------------------------------------------- options

    public static TheoryData<string, FitOptions> BadOptions => new()
    {
        { "MStepOptimizer.MaxIterations", FitOptions.Default with { MStepOptimizer = new() { MaxIterations = 0 } } },
        { "MStepOptimizer.MaxIterations", FitOptions.Default with { MStepOptimizer = new() { MaxIterations = -3 } } },
        { "MStepOptimizer.Memory", FitOptions.Default with { MStepOptimizer = new() { Memory = 0 } } },
        { "MStepOptimizer.GradientTolerance", FitOptions.Default with { MStepOptimizer = new() { GradientTolerance = double.NaN } } },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void OptionsOutOfRangeNameTheOption(string option, FitOptions options)
    {
        var model = Mixture.WithComponents(2).Observe(Blocks.Gaussian("g", [0, 1])).Build();
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => model.Fit(TwoClusters(20, seed: 91), options));
        Assert.Equal(option, e.ParamName);
        Mentions(e, option);
    }

    // ---------------------------------------------------------------- sizes

    [Fact]
    public void SizesBeyondAnArrayAreReportedNotWrapped()
    {
        var wide = Enumerable.Range(0, 70_000).ToArray();
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Blocks.Gaussian("x", wide));
        Mentions(e, "Block 'x'", "70,000 columns", "D × D", "4,900,000,000", "limit of a .NET array");
        var fit = Mixture.WithComponents(2).Observe(Blocks.Poisson("p", [0, 1, 2])).Build()
            .Fit(DataMatrix.FromRows(Enumerable.Range(0, 20).Select(i => new double[] { i % 3, i % 5, i % 2 }).ToArray()));
        var big = Assert.Throws<ArgumentOutOfRangeException>(() => fit.Sample(1_000_000_000));
        Assert.Equal("count", big.ParamName);
        Mentions(big, "1,000,000,000 rows × 3 columns", "3,000,000,000", "limit of a .NET array");
        Mentions(Assert.Throws<InvalidOperationException>(() => ArraySize.Product(46_341, 46_341, () => "A square")), "2,147,488,281");
        Assert.Equal(46_340 * 46_340, ArraySize.Product(46_340, 46_340, () => "A square"));
    }

    /// <summary>Every other K × K, D × D, P × P and rows × columns size built from user counts is checked where it is declared.</summary>
    [Fact]
    public void EverySquareSizeIsCheckedWhereItIsDeclared()
    {
        var wide = Enumerable.Range(0, 50_000).ToArray();
        Mentions(Assert.Throws<ArgumentOutOfRangeException>(() => HiddenMarkov.WithStates(50_000)), "50,000 states", "K × K", "2,500,000,000", "limit");
        Mentions(Assert.Throws<ArgumentOutOfRangeException>(() => Blocks.Factor("f", wide, 2)), "Block 'f'", "50,000 columns", "D × D", "limit");
        var gram = Assert.Throws<ArgumentOutOfRangeException>(() => Blocks.LinearRegression("r", 0, wide.Select(c => c + 1)));
        Assert.Equal("covariates", gram.ParamName);
        Mentions(gram, "Block 'r'", "50,001 coefficients", "P × P", "limit");
        var gate = Assert.Throws<ArgumentOutOfRangeException>(() => Mixture.WithComponents(2).GatedBy(wide));
        Mentions(gate, "50,000 covariates", "P × P", "limit");
        Mentions(Assert.Throws<ArgumentOutOfRangeException>(() => Var.OneHot(new int[50_000], 50_000)), "OneHot", "50,000×50,000", "limit");
    }

    // ---------------------------------------------------------------- user code in declared families

    private static DataMatrix Counts => DataMatrix.FromColumn(Enumerable.Range(0, 60).Select(i => (double)(i % 2 == 0 ? i % 4 : 9 + i % 5)));

    private static Block Declared(Func<Var, Var> t, Func<Var, Var>? logH = null)
    {
        var declaration = DeclaredFamily.Declare("my Poisson", 1, t, eta => eta.Exp().Sum(), NaturalDomain.Unconstrained(1))
            .WithSupport(ColumnSupport.NonNegativeInteger).WithMeanDomain(m => m[0] > 0);
        if (logH is not null) declaration = declaration.WithLogBaseMeasure(logH);
        return Blocks.FromFamily("mine", [0], declaration.Build());
    }

    public static TheoryData<string, Block, string[]> FamilyFaults => new()
    {
        { "T(x) of the wrong shape", Declared(x => Var.ConcatColumns(x, x)), ["Row 0", "'mine'", "'my Poisson'", "T(x)", "1×2"] },
        { "T(x) that throws", Declared(x => x.Values.ToArray().Any(v => v > 8) ? throw new DivideByZeroException("user code failed") : x), ["Row 1", "'mine'", "'my Poisson'", "user code failed"] },
        { "T(x) that is NaN", Declared(x => (x - 11).Log() * 0 + x), ["Row 0", "'mine'", "'my Poisson'", "T(x)", "NaN"] },
        { "log h(x) NaN", Declared(x => x, x => (x - 11).Log()), ["Row 0", "'mine'", "'my Poisson'", "log h(x)", "NaN"] },
    };

    /// <summary>Faults in the user's own family code reach the caller as one exception (not an AggregateException) naming the row, block and family.</summary>
    [Theory]
    [MemberData(nameof(FamilyFaults))]
    public void FaultsInDeclaredFamiliesNameTheRowAndFamily(string _, Block block, string[] parts)
    {
        var model = Mixture.WithComponents(2).Observe(block).Build();
        foreach (int threads in new[] { 1, -1 })
        {
            var e = Assert.Throws<InvalidOperationException>(() => model.Fit(Counts, FitOptions.Default with { ChunkRows = 7, MaxDegreeOfParallelism = threads }));
            Mentions(e, parts);
            Assert.DoesNotContain("bug in EmDsl", e.Message);
        }
    }

    [Fact]
    public void ParallelFailuresArriveAsThemselvesLowestIndexFirst()
    {
        var options = new ParallelOptions { MaxDegreeOfParallelism = 4 };
        var e = Assert.Throws<ArgumentException>(() => ParallelWork.For(0, 64, options, i =>
        {
            if (i % 5 == 3) throw new ArgumentException($"iteration {i}");
        }));
        Assert.Equal("iteration 3", e.Message);
        // The first iterations wait until a higher one has failed: a loop that stopped at the first failure would never
        // run iteration 3 and would report a higher one. (The wait's bound only keeps a one-worker schedule from hanging.)
        using var failed = new ManualResetEventSlim();
        e = Assert.Throws<ArgumentException>(() => ParallelWork.For(0, 64, options, i =>
        {
            if (i < 3) failed.Wait(TimeSpan.FromSeconds(5));
            if (i % 5 != 3) return;
            if (i > 3) failed.Set();
            throw new ArgumentException($"iteration {i}");
        }));
        Assert.Equal("iteration 3", e.Message);
        Assert.Throws<InvalidOperationException>(() => ParallelWork.Invoke(() => { }, () => throw new InvalidOperationException("second")));
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => ParallelWork.For(0, 8, new ParallelOptions { CancellationToken = cancel.Token }, _ => { }));
    }

    /// <summary>Every parallel loop goes through ParallelWork, which unwraps its failures.</summary>
    [Fact]
    public void NoParallelLoopBypassesTheUnwrapping()
    {
        var offenders = SourceLines()
            .Where(l => Regex.IsMatch(l.Text, @"\bParallel\.(For|ForEach|Invoke)\b") && !l.File.EndsWith("ParallelWork.cs", StringComparison.Ordinal))
            .Select(l => $"{Path.GetFileName(l.File)}:{l.Line}: {l.Text.Trim()}").ToList();
        Assert.True(offenders.Count == 0, "Parallel used directly:\n" + string.Join("\n", offenders));
    }

    [Fact]
    public void AnUnknownBackendIsAClearError()
    {
        var old = Environment.GetEnvironmentVariable(ComputeBackend.EnvironmentVariable);
        try
        {
            Environment.SetEnvironmentVariable(ComputeBackend.EnvironmentVariable, "bogus");
            Mentions(Assert.Throws<InvalidOperationException>(() => ComputeBackend.FromEnvironment()), "EMDSL_BACKEND='bogus'", "'auto', 'openblas' or 'managed'");
        }
        finally { Environment.SetEnvironmentVariable(ComputeBackend.EnvironmentVariable, old); }
        // The first use of the backend happens inside a parallel E-step; its failure must arrive as itself.
        var e = Assert.Throws<InvalidOperationException>(() => ParallelWork.For(0, 16, new ParallelOptions(), () => 0,
            (i, local) => i == 5 ? throw new InvalidOperationException("EMDSL_BACKEND='bogus' is not a backend") : local));
        Mentions(e, "EMDSL_BACKEND='bogus'");
    }

    // ---------------------------------------------------------------- CSV files

    public static TheoryData<string, string, bool, string[]> BadCsvFiles => new()
    {
        { "headerless read as headed", "1,2\n3,4\n", true, ["line 1", "CsvHeader.Absent"] },
        { "headed read as headerless", "a,b\n3,4\n", false, ["line 1", "column 1", "'a'", "seems to have a header"] },
        { "ragged", "a,b\n1,2\n3\n", true, ["line 3", "1 value", "2 columns"] },
        { "quoted decimal comma", "a,b\n\"3,6\",1\n", true, ["line 2", "column 1", "('a')", "'3,6'", "DecimalSeparator"] },
        { "missing", "a,b\n1,NA\n", true, ["line 2", "column 2", "('b')", "'NA'", "missing values"] },
        { "infinite", "a,b\n1,2\n-inf,2\n", true, ["line 3", "column 1", "('a')", "'-inf'", "non-finite"] },
        { "interior blank line", "a\n1\n\n2\n", true, ["line 3", "blank"] },
        { "header only", "a,b\r\n", true, ["no data rows"] },
        { "repeated names", "a,a\n1,2\n", true, ["line 1", "'a' names columns 1 and 2"] },
    };

    /// <summary>Every bad CSV file is one <see cref="FormatException"/> naming the file, and the line and column at fault.</summary>
    [Theory]
    [MemberData(nameof(BadCsvFiles))]
    public void BadCsvFilesNameFileLineAndColumn(string _, string text, bool headed, string[] parts)
    {
        var path = Path.Combine(Path.GetTempPath(), $"emdsl-corpus-{Guid.NewGuid():N}.csv");
        File.WriteAllText(path, text);
        try
        {
            var e = Assert.Throws<FormatException>(() => DataMatrix.ReadCsv(path, new CsvOptions { Header = headed ? CsvHeader.Present : CsvHeader.Absent }));
            Mentions(e, [path, .. parts]);
        }
        finally { File.Delete(path); }
    }

    // ---------------------------------------------------------------- reasons

    [Fact]
    public void ReasonsNameWhatTheUserWrote()
    {
        Mentions(Assert.Throws<ArgumentException>(() => Blocks.Gaussian("empty", [])), "'empty'", "at least one column");
        Mentions(Assert.Throws<ArgumentException>(() => Blocks.Poisson("none", [])), "'none'", "at least one column");
        Mentions(Assert.Throws<ArgumentException>(() => Blocks.Categorical("nocols", [], 3)), "'nocols'");
        Assert.Equal("mean", Assert.Throws<ArgumentNullException>(() => GaussianPrior.NormalInverseWishart(null!, 1, ReadOnlyMatrix.Identity(2), 3)).ParamName);
        var data = DataMatrix.FromColumn(Enumerable.Range(0, 10).Select(i => i == 4 ? 1e308 : i).ToArray());
        var e = Assert.Throws<ArgumentException>(() => Mixture.WithComponents(2).Observe(Blocks.Poisson("n", [0])).Build().Fit(data));
        Mentions(e, "Row 4", "'n'", "2⁵³");
    }

    [Fact]
    public void ARowBeyondTheRangeOfTheLogDensityIsTheDatasNotABug()
    {
        var r = new Random(2);
        var data = DataMatrix.FromRows(Enumerable.Range(0, 200).Select(_ => new[] { Normal(r), Normal(r) }).ToArray());
        var fit = Mixture.WithComponents(2).Observe(Blocks.Gaussian("g", [0, 1])).Build().Fit(data);
        var far = DataMatrix.FromRows([[0.5, -0.5], [0.1, 1e200]]);
        var e = Assert.Throws<InvalidOperationException>(() => fit.PredictProba(far));
        Mentions(e, "Row 1", "column 1", "1E+200", "Rescale");
        Assert.DoesNotContain("bug", e.Message);
        Assert.True(double.IsFinite(fit.Score(DataMatrix.FromRows([[0.5, 1e150]]))));
    }

    // ---------------------------------------------------------------- extreme but valid

    [Fact]
    public void ExtremeButValidInputsGiveFiniteResults()
    {
        // Counts just below 2⁵³, values near the largest double over a tiny spread, a single column of 300 Gaussian dimensions.
        var counts = DataMatrix.FromColumn(Enumerable.Range(0, 30).Select(i => (double)(i % 2 == 0 ? 9e15 - i : i)).ToArray());
        var p = Mixture.WithComponents(2).Observe(Blocks.Poisson("n", [0])).Build().Fit(counts);
        Assert.True(double.IsFinite(p.Objective));
        var huge = DataMatrix.FromColumn(Enumerable.Range(0, 40).Select(i => 1e150 * (1 + (i % 7) * 1e-3)).ToArray());
        var g = Mixture.WithComponents(2).Observe(Blocks.Gaussian("g", [0])).Build().Fit(huge);
        Assert.True(double.IsFinite(g.Objective));
        var r = new Random(4);
        var wide = DataMatrix.FromRows(Enumerable.Range(0, 400).Select(_ => Enumerable.Range(0, 300).Select(_ => Normal(r)).ToArray()).ToArray());
        var w = Mixture.WithComponents(1).Observe(Blocks.Gaussian("w", Enumerable.Range(0, 300), CovarianceType.Full)).Build().Fit(wide, FitOptions.Default with { MaxIterations = 2 });
        Assert.True(double.IsFinite(w.Objective));
        Assert.True(double.IsFinite(w.Sample(3, seed: 1).Data.GetColumn(299).Sum()));
    }
}
