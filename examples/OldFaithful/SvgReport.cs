using System.Globalization;
using System.Text;
using EmDsl.Data;
using EmDsl.Families;

namespace EmDsl.Examples.OldFaithful;

/// <summary>A two-panel SVG: the data with each component's 1σ and 2σ ellipses, and the objective trace.</summary>
internal static class SvgReport
{
    private const int PanelWidth = 520, PanelHeight = 420, Margin = 56;
    private static readonly string[] Colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"];

    public static string Render(DataMatrix data, int[] labels, IReadOnlyList<GaussianParameters> components, IReadOnlyList<double> trace)
    {
        var svg = new StringBuilder();
        svg.AppendLine($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{2 * PanelWidth}\" height=\"{PanelHeight}\" font-family=\"sans-serif\" font-size=\"12\">");
        svg.AppendLine("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
        Scatter(svg, data, labels, components);
        Trace(svg, trace);
        svg.AppendLine("</svg>");
        return svg.ToString();
    }

    private static void Scatter(StringBuilder svg, DataMatrix data, int[] labels, IReadOnlyList<GaussianParameters> components)
    {
        var x = data.GetColumn(0);
        var y = data.GetColumn(1);
        var ax = new Axis(x.Min(), x.Max(), Margin, PanelWidth - 16);
        var ay = new Axis(y.Min(), y.Max(), PanelHeight - Margin, 28);
        Frame(svg, 0, ax, ay, "Old Faithful: 2-component Gaussian mixture", "eruption length (min)", "waiting time (min)");
        for (int i = 0; i < data.Rows; i++)
            svg.AppendLine($"<circle cx=\"{F(ax.Map(x[i]))}\" cy=\"{F(ay.Map(y[i]))}\" r=\"2.6\" fill=\"{Colours[labels[i] % Colours.Length]}\" fill-opacity=\"0.55\"/>");
        for (int k = 0; k < components.Count; k++)
        {
            var c = components[k];
            foreach (var (scale, dash) in new[] { (1.0, ""), (2.0, " stroke-dasharray=\"6 4\"") })
                svg.AppendLine($"<polygon points=\"{Ellipse(c, scale, ax, ay)}\" fill=\"none\" stroke=\"{Colours[k % Colours.Length]}\" stroke-width=\"2\"{dash}/>");
            svg.AppendLine($"<circle cx=\"{F(ax.Map(c.Mean[0]))}\" cy=\"{F(ay.Map(c.Mean[1]))}\" r=\"4\" fill=\"black\"/>");
        }
        Legend(svg, components);
    }

    /// <summary>A legend in the scatter's top-left corner: each component's colour, the ellipse styles, the means.</summary>
    private static void Legend(StringBuilder svg, IReadOnlyList<GaussianParameters> components)
    {
        double x = Margin + 10, y = 40;
        int rows = components.Count + 3;
        svg.AppendLine($"<rect x=\"{F(x - 6)}\" y=\"{F(y - 12)}\" width=\"150\" height=\"{rows * 16 + 6}\" fill=\"white\" fill-opacity=\"0.85\" stroke=\"#999\"/>");
        for (int k = 0; k < components.Count; k++, y += 16)
        {
            svg.AppendLine($"<circle cx=\"{F(x + 6)}\" cy=\"{F(y - 4)}\" r=\"4\" fill=\"{Colours[k % Colours.Length]}\"/>");
            svg.AppendLine($"<text x=\"{F(x + 18)}\" y=\"{F(y)}\">component {k + 1}</text>");
        }
        svg.AppendLine($"<line x1=\"{F(x)}\" y1=\"{F(y - 4)}\" x2=\"{F(x + 12)}\" y2=\"{F(y - 4)}\" stroke=\"#444\" stroke-width=\"2\"/>");
        svg.AppendLine($"<text x=\"{F(x + 18)}\" y=\"{F(y)}\">1σ ellipse</text>");
        y += 16;
        svg.AppendLine($"<line x1=\"{F(x)}\" y1=\"{F(y - 4)}\" x2=\"{F(x + 12)}\" y2=\"{F(y - 4)}\" stroke=\"#444\" stroke-width=\"2\" stroke-dasharray=\"6 4\"/>");
        svg.AppendLine($"<text x=\"{F(x + 18)}\" y=\"{F(y)}\">2σ ellipse</text>");
        y += 16;
        svg.AppendLine($"<circle cx=\"{F(x + 6)}\" cy=\"{F(y - 4)}\" r=\"4\" fill=\"black\"/>");
        svg.AppendLine($"<text x=\"{F(x + 18)}\" y=\"{F(y)}\">component mean</text>");
    }

    /// <summary>Points μ + s·L(cos t, sin t) with Σ = LLᵀ, mapped to pixels (the axes have different scales, so no SVG ellipse).</summary>
    private static string Ellipse(GaussianParameters c, double scale, Axis ax, Axis ay)
    {
        double a = c.Covariance[0, 0], b = c.Covariance[1, 0], d = c.Covariance[1, 1];
        double l00 = Math.Sqrt(a), l10 = b / l00, l11 = Math.Sqrt(d - l10 * l10);
        var points = new List<string>();
        for (int i = 0; i < 120; i++)
        {
            double t = 2 * Math.PI * i / 120, u = Math.Cos(t), v = Math.Sin(t);
            double px = c.Mean[0] + scale * l00 * u, py = c.Mean[1] + scale * (l10 * u + l11 * v);
            points.Add($"{F(ax.Map(px))},{F(ay.Map(py))}");
        }
        return string.Join(" ", points);
    }

    private static void Trace(StringBuilder svg, IReadOnlyList<double> trace)
    {
        int offset = PanelWidth;
        var ax = new Axis(0, Math.Max(1, trace.Count - 1), offset + Margin + 20, offset + PanelWidth - 16);
        var ay = new Axis(trace.Min(), trace.Max(), PanelHeight - Margin, 28);
        Frame(svg, offset, ax, ay, "Objective: log-likelihood + log prior", "iteration", "objective");
        var path = string.Join(" ", trace.Select((v, i) => $"{(i == 0 ? "M" : "L")}{F(ax.Map(i))},{F(ay.Map(v))}"));
        svg.AppendLine($"<path d=\"{path}\" fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\"/>");
        for (int i = 0; i < trace.Count; i++)
            svg.AppendLine($"<circle cx=\"{F(ax.Map(i))}\" cy=\"{F(ay.Map(trace[i]))}\" r=\"2.5\" fill=\"#1f77b4\"/>");
    }

    private static void Frame(StringBuilder svg, int offset, Axis ax, Axis ay, string title, string xLabel, string yLabel)
    {
        svg.AppendLine($"<text x=\"{offset + PanelWidth / 2}\" y=\"18\" text-anchor=\"middle\" font-size=\"14\">{title}</text>");
        svg.AppendLine($"<line x1=\"{F(ax.PixelLow)}\" y1=\"{F(ay.PixelLow)}\" x2=\"{F(ax.PixelHigh)}\" y2=\"{F(ay.PixelLow)}\" stroke=\"black\"/>");
        svg.AppendLine($"<line x1=\"{F(ax.PixelLow)}\" y1=\"{F(ay.PixelLow)}\" x2=\"{F(ax.PixelLow)}\" y2=\"{F(ay.PixelHigh)}\" stroke=\"black\"/>");
        foreach (var t in ax.Ticks())
        {
            svg.AppendLine($"<line x1=\"{F(ax.Map(t))}\" y1=\"{F(ay.PixelLow)}\" x2=\"{F(ax.Map(t))}\" y2=\"{F(ay.PixelLow + 5)}\" stroke=\"black\"/>");
            svg.AppendLine($"<text x=\"{F(ax.Map(t))}\" y=\"{F(ay.PixelLow + 18)}\" text-anchor=\"middle\">{ax.Label(t)}</text>");
        }
        foreach (var t in ay.Ticks())
        {
            svg.AppendLine($"<line x1=\"{F(ax.PixelLow - 5)}\" y1=\"{F(ay.Map(t))}\" x2=\"{F(ax.PixelLow)}\" y2=\"{F(ay.Map(t))}\" stroke=\"black\"/>");
            svg.AppendLine($"<text x=\"{F(ax.PixelLow - 8)}\" y=\"{F(ay.Map(t) + 4)}\" text-anchor=\"end\">{ay.Label(t)}</text>");
        }
        svg.AppendLine($"<text x=\"{F((ax.PixelLow + ax.PixelHigh) / 2)}\" y=\"{PanelHeight - 12}\" text-anchor=\"middle\">{xLabel}</text>");
        double cy = (ay.PixelLow + ay.PixelHigh) / 2;
        svg.AppendLine($"<text x=\"{offset + 14}\" y=\"{F(cy)}\" text-anchor=\"middle\" transform=\"rotate(-90 {offset + 14} {F(cy)})\">{yLabel}</text>");
    }

    private static string F(double v) => v.ToString("F1", CultureInfo.InvariantCulture);

    /// <summary>A linear map from a padded data range to pixels, with round tick values.</summary>
    private sealed class Axis
    {
        private readonly double _low, _high;

        public Axis(double low, double high, double pixelLow, double pixelHigh)
        {
            double pad = high > low ? 0.05 * (high - low) : 1;
            _low = low - pad;
            _high = high + pad;
            PixelLow = pixelLow;
            PixelHigh = pixelHigh;
        }

        public double PixelLow { get; }

        public double PixelHigh { get; }

        public double Map(double v) => PixelLow + (v - _low) / (_high - _low) * (PixelHigh - PixelLow);

        private double Step
        {
            get
            {
                double raw = (_high - _low) / 6, magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
                return new[] { 1, 2, 5, 10 }.Select(m => m * magnitude).First(s => s >= raw);
            }
        }

        public IEnumerable<double> Ticks()
        {
            double step = Step;
            for (double t = Math.Ceiling(_low / step) * step; t <= _high; t += step) yield return Math.Round(t / step) * step + 0.0; // + 0.0 turns −0 into 0
        }

        /// <summary>A tick's label with exactly the decimals its step needs (a tick at −1131.5 reads −1131.5).</summary>
        public string Label(double v)
        {
            int decimals = Math.Max(0, -(int)Math.Floor(Math.Log10(Step) + 1e-9));
            return v.ToString("F" + decimals, CultureInfo.InvariantCulture);
        }
    }
}
