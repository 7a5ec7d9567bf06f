using System.Text.RegularExpressions;
using EmDsl.Building;
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
}
