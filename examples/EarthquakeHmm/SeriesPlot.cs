using ScottPlot;

namespace EmDsl.Examples.EarthquakeHmm;

/// <summary>The count series coloured by decoded state, each state's rate drawn as a step line over its years.</summary>
internal static class SeriesPlot
{
    private static readonly Color[] Colours = [new(0x1f, 0x77, 0xb4), new(0xff, 0x7f, 0x0e), new(0xd6, 0x27, 0x28), new(0x2c, 0xa0, 0x2c)];

    public static void Draw(string path, int[] years, double[] counts, int[] states, double[] rates)
    {
        var plot = new ScottPlot.Plot();
        var x = years.Select(y => (double)y).ToArray();
        var line = plot.Add.ScatterLine(x, counts);
        line.Color = Colors.Gray.WithAlpha(0.5);
        line.LineWidth = 1;
        // The decoded state's rate, year by year: a step line, each year's level spanning [year − ½, year + ½].
        var edges = x.Select(v => v - 0.5).Append(x[^1] + 0.5).ToArray();
        var levels = states.Select(s => rates[s]).Append(rates[states[^1]]).ToArray();
        var level = plot.Add.ScatterLine(edges, levels);
        level.ConnectStyle = ConnectStyle.StepHorizontal;
        level.Color = Colors.Black;
        level.LinePattern = LinePattern.Dashed;
        level.LegendText = "rate of the decoded state";
        for (int s = 0; s < rates.Length; s++)
        {
            var which = Enumerable.Range(0, years.Length).Where(t => states[t] == s).ToArray();
            if (which.Length == 0) continue;
            var points = plot.Add.ScatterPoints(which.Select(t => x[t]).ToArray(), which.Select(t => counts[t]).ToArray());
            points.Color = Colours[s % Colours.Length];
            points.MarkerSize = 8;
            points.LegendText = $"state {s}: λ = {rates[s]:F1}";
        }
        plot.Title("Major earthquakes per year, 1900–2006: a 3-state Poisson HMM");
        plot.XLabel("year");
        plot.YLabel("earthquakes of magnitude ≥ 7");
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
        {
            LabelFormatter = v => v.ToString("F0", System.Globalization.CultureInfo.InvariantCulture), // years, no thousands separator
        };
        plot.ShowLegend(Alignment.UpperRight);
        plot.SavePng(path, 1000, 500);
    }
}
