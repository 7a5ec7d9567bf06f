using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Inference;
using EmDsl.Plotting;
using SkiaSharp;

namespace EmDsl.Models.Tests;

/// <summary>The plots are written as real images of the asked size, SVGs carry their legends, and bad arguments are named.</summary>
public sealed class PlotTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "emdsl-plot-tests-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    private static DataMatrix OldFaithful() => DataMatrix.ReadCsv(Path.Combine(AppContext.BaseDirectory, "data", "old_faithful.csv"));

    private static readonly Block<Families.GaussianParameters> Geyser = Blocks.Gaussian("geyser", [0, 1], CovarianceType.Full);

    private static MixtureFit GeyserFit(DataMatrix data) => Mixture.WithComponents(2).Observe(Geyser).Build().Fit(data, FitOptions.Default with { Seed = 1 });

    private static void AssertPng(string path, int width, int height)
    {
        Assert.True(new FileInfo(path).Length > 5_000, $"{path} is suspiciously small");
        using var bitmap = SKBitmap.Decode(path);
        Assert.NotNull(bitmap);
        Assert.Equal(width, bitmap.Width);
        Assert.Equal(height, bitmap.Height);
        // Not blank: some pixels are far from the white background.
        int dark = 0;
        for (int y = 0; y < bitmap.Height; y += 3)
            for (int x = 0; x < bitmap.Width; x += 3)
                if (bitmap.GetPixel(x, y).Red < 128) dark++;
        Assert.True(dark > 100, $"only {dark} dark pixels");
    }

    [Fact]
    public void MixtureScatterWritesAPngOfTheAskedSizeAndAnSvgWithItsLegend()
    {
        var data = OldFaithful();
        var fit = GeyserFit(data);
        var png = PlotFiles.Save(MixturePlots.Scatter(fit, data, Geyser), Path.Combine(_folder, "scatter.png"), 640, 480);
        AssertPng(png, 640, 480);
        var svg = PlotFiles.Save(MixturePlots.Scatter(fit, data, 0, 1), Path.Combine(_folder, "sub", "scatter.SVG"), 640, 480);
        string text = File.ReadAllText(svg);
        Assert.Contains("<svg", text);
        foreach (var label in new[] { "component 0", "component 1", "1σ ellipse", "2σ ellipse", "component mean", "eruptions", "waiting" })
            Assert.Contains(label, text);
    }

    [Fact]
    public void ScatterWithoutEllipsesHasNoEllipseLegend()
    {
        var data = OldFaithful();
        var svg = PlotFiles.Save(MixturePlots.Scatter(GeyserFit(data), data, 1, 0, ellipses: false), Path.Combine(_folder, "points.svg"));
        string text = File.ReadAllText(svg);
        Assert.Contains("component 1", text);
        Assert.DoesNotContain("σ ellipse", text);
    }

    [Fact]
    public void ScatterArgumentsAreCheckedWithClearMessages()
    {
        var data = OldFaithful();
        var fit = GeyserFit(data);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => MixturePlots.Scatter(fit, data, 0, 2));
        Assert.Equal("yColumn", e.ParamName);
        Assert.Contains("2 column(s)", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => MixturePlots.Scatter(fit, data, -1, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => MixturePlots.Scatter(fit, data, Geyser, 0, 5));
        Assert.Contains("two different columns", Assert.Throws<ArgumentException>(() => MixturePlots.Scatter(fit, data, 1, 1)).Message);

        var counts = DataMatrix.FromRows(Enumerable.Range(0, 60).Select(i => new double[] { i % 7, (i * 3) % 5 }));
        var poisson = Mixture.WithComponents(2).Observe(Blocks.Poisson("counts", [0, 1])).Build().Fit(counts, FitOptions.Default with { Seed = 1 });
        var notGaussian = Assert.Throws<ArgumentException>(() => MixturePlots.Scatter(poisson, counts, 0, 1));
        Assert.Contains("'counts' is Poisson, not Gaussian", notGaussian.Message);
        Assert.Contains("ellipses: false", notGaussian.Message);
        AssertPng(PlotFiles.Save(MixturePlots.Scatter(poisson, counts, 0, 1, ellipses: false), Path.Combine(_folder, "counts.png"), 400, 300), 400, 300);
    }

    [Fact]
    public void ColumnsOfTwoGaussianBlocksGetAxisAlignedEllipses()
    {
        var data = OldFaithful();
        var a = Blocks.Gaussian("eruptions", [0]);
        var b = Blocks.Gaussian("waiting", [1]);
        var fit = Mixture.WithComponents(2).Observe(a).Observe(b).Build().Fit(data, FitOptions.Default with { Seed = 1 });
        AssertPng(PlotFiles.Save(MixturePlots.Scatter(fit, data, 0, 1), Path.Combine(_folder, "two-blocks.png"), 500, 400), 500, 400);
    }

    [Fact]
    public void EllipsePointsLieAtTheGivenMahalanobisDistance()
    {
        var cov = new double[,] { { 2, 0.8 }, { 0.8, 1 } };
        var (xs, ys) = MixturePlots.Ellipse((1, -2), cov, 2);
        double det = cov[0, 0] * cov[1, 1] - cov[0, 1] * cov[1, 0];
        for (int i = 0; i < xs.Length; i++)
        {
            double dx = xs[i] - 1, dy = ys[i] + 2;
            double d2 = (cov[1, 1] * dx * dx - 2 * cov[0, 1] * dx * dy + cov[0, 0] * dy * dy) / det;
            Assert.Equal(4, d2, 1e-9);
        }
        Assert.Equal(xs[0], xs[^1], 1e-12); // closed
    }

    [Fact]
    public void ObjectiveTraceAndBicCurveRender()
    {
        var data = OldFaithful();
        var fits = Enumerable.Range(1, 3).Select(k => Mixture.WithComponents(k).Observe(Geyser).Build().Fit(data, FitOptions.Default with { Seed = 1 })).ToArray();
        AssertPng(PlotFiles.Save(FitPlots.ObjectiveTrace(fits[1]), Path.Combine(_folder, "trace.png"), 600, 400), 600, 400);
        AssertPng(PlotFiles.Save(FitPlots.ObjectiveTrace(fits[1], logGap: true), Path.Combine(_folder, "gap.png"), 600, 400), 600, 400);
        var svg = File.ReadAllText(PlotFiles.Save(FitPlots.BicCurve(fits), Path.Combine(_folder, "bic.svg")));
        int best = fits.MinBy(f => f.BayesianInformationCriterion)!.States;
        Assert.Contains($"best: {best} (BIC", svg);

        Assert.Contains("appears twice", Assert.Throws<ArgumentException>(() => FitPlots.BicCurve([(1, 10.0), (1, 12.0)])).Message);
        Assert.Contains("finite", Assert.Throws<ArgumentException>(() => FitPlots.BicCurve([(1, double.NaN)])).Message);
        Assert.Throws<ArgumentException>(() => FitPlots.BicCurve(Array.Empty<(int, double)>()));
    }

    [Fact]
    public void HiddenMarkovSeriesRendersWithTheDecodedStatesInItsLegend()
    {
        var r = new Random(5);
        var values = Enumerable.Range(0, 120).Select(t => (double)MathNet.Numerics.Distributions.Poisson.Sample(r, (t / 30) % 2 == 0 ? 3 : 15)).ToArray();
        var data = DataMatrix.FromColumn(values);
        var fit = HiddenMarkov.WithStates(2).Observe(Blocks.Poisson("y", [0])).Build().Fit(data, FitOptions.Default with { Seed = 1, Restarts = 3 });
        var svg = File.ReadAllText(PlotFiles.Save(HiddenMarkovPlots.Series(fit, data, 0), Path.Combine(_folder, "hmm.svg")));
        Assert.Contains("state 0: mean", svg);
        Assert.Contains("state 1: mean", svg);
        Assert.Contains("mean of the decoded state", svg);
        AssertPng(PlotFiles.Save(HiddenMarkovPlots.Series(fit, data, 0, Enumerable.Range(1900, 120).Select(v => (double)v).ToArray()), Path.Combine(_folder, "hmm.png"), 900, 400), 900, 400);
        Assert.Throws<ArgumentOutOfRangeException>(() => HiddenMarkovPlots.Series(fit, data, 1));
        Assert.Contains("120 rows", Assert.Throws<ArgumentException>(() => HiddenMarkovPlots.Series(fit, data, 0, [1.0, 2.0])).Message);
    }

    [Fact]
    public void SaveChoosesTheFormatByExtensionAndRejectsOthers()
    {
        var plot = FitPlots.BicCurve([(1, 3.0), (2, 1.0), (3, 2.0)]);
        Assert.Contains(".png or .svg", Assert.Throws<ArgumentException>(() => PlotFiles.Save(plot, Path.Combine(_folder, "bic.jpg"))).Message);
        Assert.Throws<ArgumentException>(() => PlotFiles.Save(plot, Path.Combine(_folder, "bic.png"), 0, 100));
        var png = PlotFiles.Save(plot, Path.Combine(_folder, "bic.PNG"), 300, 200);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], File.ReadAllBytes(png)[..4]);
    }
}
