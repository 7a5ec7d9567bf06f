using System.Globalization;
using ScottPlot;

namespace EmDsl.Plotting;

/// <summary>Saving plots by file extension, and the colours the plots give components and states.</summary>
public static class PlotFiles
{
    private static readonly Color[] Palette =
    [
        new(0x1f, 0x77, 0xb4), new(0xd6, 0x27, 0x28), new(0x2c, 0xa0, 0x2c), new(0x94, 0x67, 0xbd), new(0xff, 0x7f, 0x0e),
        new(0x8c, 0x56, 0x4b), new(0xe3, 0x77, 0xc2), new(0x7f, 0x7f, 0x7f), new(0xbc, 0xbd, 0x22), new(0x17, 0xbe, 0xcf),
    ];

    /// <summary>The colour of component (or state) <paramref name="k"/>: the ten Category10 colours, repeating.</summary>
    public static Color ComponentColor(int k) => Palette[((k % Palette.Length) + Palette.Length) % Palette.Length];

    /// <summary>
    /// Writes <paramref name="plot"/> to <paramref name="path"/> as PNG or SVG, chosen by the extension (".png" or
    /// ".svg", any case), <paramref name="width"/> × <paramref name="height"/> pixels. Creates the folder if needed.
    /// </summary>
    /// <returns>The full path written.</returns>
    /// <exception cref="ArgumentException">The extension is neither .png nor .svg, or the size is not positive.</exception>
    public static string Save(Plot plot, string path, int width = 800, int height = 600)
    {
        ArgumentNullException.ThrowIfNull(plot);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (width < 1 || height < 1)
            throw new ArgumentException($"The image size must be positive; got {width} × {height}.", width < 1 ? nameof(width) : nameof(height));
        string extension = Path.GetExtension(path).ToLowerInvariant();
        if (extension is not (".png" or ".svg"))
            throw new ArgumentException($"Cannot tell the image format of '{path}': give a path ending in .png or .svg.", nameof(path));
        string full = Path.GetFullPath(path);
        string? folder = Path.GetDirectoryName(full);
        if (!string.IsNullOrEmpty(folder)) Directory.CreateDirectory(folder);
        if (extension == ".png") plot.SavePng(full, width, height);
        else plot.SaveSvg(full, width, height);
        return full;
    }

    private static readonly Lazy<string?> SansFont = new(() =>
        new[] { "DejaVu Sans", "Liberation Sans", "Noto Sans", "Arial", "Helvetica" }.FirstOrDefault(name => SkiaSharp.SKFontManager.Default.MatchFamily(name) is not null));

    /// <summary>
    /// A new plot with a sans-serif font when one is installed (DejaVu Sans, Liberation Sans, Noto Sans, Arial or
    /// Helvetica, in that order): SkiaSharp's default typeface on Linux is whatever font it finds first.
    /// </summary>
    internal static Plot NewPlot()
    {
        var plot = new Plot();
        if (SansFont.Value is { } name) plot.Font.Set(name);
        return plot;
    }

    /// <summary>Tick labels in the invariant culture with no thousands separator (years stay "1950", not "1,950").</summary>
    internal static void PlainTicks(IAxis axis) =>
        axis.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { LabelFormatter = v => v.ToString("G6", CultureInfo.InvariantCulture) };

    internal static string Format(double v) => v.ToString("G4", CultureInfo.InvariantCulture);
}
