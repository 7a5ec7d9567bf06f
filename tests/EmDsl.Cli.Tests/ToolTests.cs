using System.Diagnostics;

namespace EmDsl.Cli.Tests;

/// <summary>The emdsl tool run as a user runs it: a process, its exit code, standard output and standard error.</summary>
public class ToolTests
{
    internal static string Root()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "EmDsl.sln"))) return dir.FullName;
        throw new InvalidOperationException("EmDsl.sln not found above the test binaries.");
    }

    private static string Configuration() =>
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";

    internal static string Data(string file) => Path.Combine(Root(), "examples", "data", file);

    internal sealed record Result(int ExitCode, string Out, string Error);

    internal static Result Run(params string[] args)
    {
        var tool = Path.Combine(Root(), "src", "EmDsl.Cli", "bin", Configuration(), "net10.0", "emdsl.dll");
        Assert.True(File.Exists(tool), $"the tool was not built: {tool}");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(tool);
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["COLUMNS"] = "160";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit(); // no time limit: how long the tool takes is a benchmark's business, not a test's
        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>A failure is one line on standard error starting "emdsl: error:", with no stack trace.</summary>
    internal static void OneLineError(Result r, int exitCode, params string[] parts)
    {
        Assert.Equal(exitCode, r.ExitCode);
        var lines = r.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"expected one line on standard error, got:\n{r.Error}");
        Assert.StartsWith("emdsl: error: ", lines[0]);
        Assert.DoesNotContain("   at ", r.Error);
        foreach (var p in parts) Assert.True(lines[0].Contains(p, StringComparison.Ordinal), $"\"{lines[0]}\" does not mention \"{p}\"");
    }

    [Fact]
    public void FitPrintsTheParametersAndTheObjectiveOfOldFaithful()
    {
        var r = Run("fit", Data("old_faithful.csv"), "-k", "2", "--seed", "1");
        Assert.True(r.ExitCode == 0, r.Error);
        // The two-component full-covariance optimum (scikit-learn and mclust agree on it): log L = −1130.264.
        Assert.Contains("-1130.26", r.Out);
        foreach (var s in new[] { "weight", "mean eruptions", "mean waiting", "sd waiting", "corr eruptions,waiting", "BIC", "Converged", "component 1" })
            Assert.Contains(s, r.Out);
        Assert.Equal("", r.Error);
    }

    [Fact]
    public void SelectReportsTheBicTableAndPicksMclustsModel()
    {
        var r = Run("select", Data("old_faithful.csv"), "-K", "4");
        Assert.True(r.ExitCode == 0, r.Error);
        foreach (var s in new[] { "full", "tied", "diagonal", "spherical" }) Assert.Contains(s, r.Out);
        // mclust's Mclust(faithful) picks EEE (tied) with 3 components, BIC −2314.316 in its sign convention.
        Assert.Contains("Best: K = 3, tied covariance (BIC 2314.3", r.Out);
        Assert.Contains("2314.3", r.Out);
    }

    [Fact]
    public void MixedBlocksAreDeclaredByColumnName()
    {
        var r = Run("fit", Data("old_faithful.csv"), "--block", "geyser=gaussian/diagonal:eruptions", "--block", "poisson:waiting", "-k", "2");
        Assert.True(r.ExitCode == 0, r.Error);
        Assert.Contains("geyser: Gaussian (diagonal covariance) on columns [0]", r.Out);
        Assert.Contains("rate waiting", r.Out);
    }

    [Fact]
    public void AHiddenMarkovModelFitsTheEarthquakeCounts()
    {
        var r = Run("fit", Data("earthquakes.csv"), "--hmm", "-m", "poisson", "-c", "count", "-k", "2", "--seed", "2");
        Assert.True(r.ExitCode == 0, r.Error);
        Assert.Contains("Hidden Markov model of 2 states", r.Out);
        Assert.Contains("P(→ | 1)", r.Out);
        // Zucchini & MacDonald's two-state Poisson HMM of the major earthquakes: log L = −341.8787.
        Assert.Contains("-341.879", r.Out);
    }

    [Fact]
    public void AMissingColumnNameListsTheColumnsThatExist()
    {
        var r = Run("fit", Data("old_faithful.csv"), "-c", "eruptions,wait");
        OneLineError(r, 2, "'wait'", "eruptions, waiting");
    }

    [Theory]
    [InlineData("fit", "-k", "3")]
    [InlineData("select", "-K", "3")]
    public void PlotsAreWrittenAsPngOrSvg(string command, string option, string value)
    {
        foreach (var ext in new[] { ".png", ".svg" })
        {
            var path = Path.Combine(Path.GetTempPath(), $"emdsl-plot-{Guid.NewGuid():N}{ext}");
            try
            {
                var r = Run(command, Data("old_faithful.csv"), option, value, "--plot", path);
                Assert.True(r.ExitCode == 0, r.Error);
                Assert.Contains($"plot: {path}", r.Out);
                var bytes = File.ReadAllBytes(path);
                Assert.True(bytes.Length > 2000, $"{path} has only {bytes.Length} bytes");
                if (ext == ".png") Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);
                else Assert.Contains("<svg", System.Text.Encoding.UTF8.GetString(bytes));
            }
            finally { File.Delete(path); }
        }
    }

    [Fact]
    public void APlotOfAnUnknownFormatIsRefusedBeforeFitting() =>
        OneLineError(Run("fit", Data("old_faithful.csv"), "--plot", "out.pdf"), 2, "out.pdf", ".png or .svg");

    [Fact]
    public void SavedModelsPredictAndSample()
    {
        var dir = Directory.CreateTempSubdirectory("emdsl-cli-");
        try
        {
            string model = Path.Combine(dir.FullName, "of.json"), labels = Path.Combine(dir.FullName, "labels.csv");
            var fit = Run("fit", Data("old_faithful.csv"), "-k", "2", "--seed", "1", "--save", model);
            Assert.True(fit.ExitCode == 0, fit.Error);
            Assert.Contains("\"format\": \"emdsl-model\"", File.ReadAllText(model));
            var predict = Run("predict", model, Data("old_faithful.csv"), "-o", labels);
            Assert.True(predict.ExitCode == 0, predict.Error);
            var lines = File.ReadAllLines(labels);
            Assert.Equal("component,p0,p1", lines[0]);
            Assert.Equal(273, lines.Length);
            foreach (var line in lines.Skip(1))
            {
                var cells = line.Split(',');
                double p0 = double.Parse(cells[1], System.Globalization.CultureInfo.InvariantCulture), p1 = double.Parse(cells[2], System.Globalization.CultureInfo.InvariantCulture);
                Assert.Equal(1.0, p0 + p1, 12);
                Assert.Equal(p0 >= p1 ? "0" : "1", cells[0]);
            }
            var sample = Run("sample", model, "-n", "5", "--seed", "3");
            Assert.True(sample.ExitCode == 0, sample.Error);
            var rows = sample.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(6, rows.Length);
            Assert.Equal(3, rows[1].Split(',').Length);
            Assert.Equal(sample.Out, Run("sample", model, "-n", "5", "--seed", "3").Out);

            var hmm = Path.Combine(dir.FullName, "eq.json");
            Assert.Equal(0, Run("fit", Data("earthquakes.csv"), "--hmm", "-m", "poisson", "-c", "count", "-k", "2", "--save", hmm).ExitCode);
            var decoded = Run("predict", hmm, Data("earthquakes.csv"));
            Assert.True(decoded.ExitCode == 0, decoded.Error);
            Assert.StartsWith("state,p0,p1", decoded.Out);
            Assert.Equal("x2,state", Run("sample", hmm, "-n", "4").Out.Split('\n')[0]); // the model reads column 2 only

            File.WriteAllText(model, File.ReadAllText(model)[..200]);
            OneLineError(Run("predict", model, Data("old_faithful.csv")), 1, model);
        }
        finally { dir.Delete(recursive: true); }
    }

    [Fact]
    public void AMissingFileIsOneLine() => OneLineError(Run("fit", "/no/such/file.csv"), 2, "/no/such/file.csv", "no such file");

    [Fact]
    public void ABadFileNamesItsLine()
    {
        var path = Path.Combine(Path.GetTempPath(), $"emdsl-bad-{Guid.NewGuid():N}.csv");
        File.WriteAllText(path, "a,b\n1,2\n3,x\n");
        try { OneLineError(Run("fit", path), 1, path, "line 3"); }
        finally { File.Delete(path); }
    }

    [Theory]
    [InlineData("--covariance", "banana", "banana")]
    [InlineData("--model", "weibull", "weibull")]
    [InlineData("--components", "0", "--components")]
    [InlineData("--restarts", "0", "--restarts")]
    public void BadOptionValuesAreOneLine(string option, string value, string mentioned) =>
        OneLineError(Run("fit", Data("old_faithful.csv"), option, value), 2, mentioned);

    [Fact]
    public void AnUnknownOptionFailsWithoutAStackTrace()
    {
        var r = Run("fit", Data("old_faithful.csv"), "--frobnicate");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("--frobnicate", r.Error);
        Assert.DoesNotContain("   at ", r.Error + r.Out);
    }
}
