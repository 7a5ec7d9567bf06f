using System.Globalization;
using EmDsl.Inference;
using ScottPlot;

namespace EmDsl.Plotting;

/// <summary>Plots of any fit: the objective trace, and BIC curves for choosing the number of components (or factors).</summary>
public static class FitPlots
{
    /// <summary>
    /// The objective (log-likelihood + log prior) at the initial parameters and after every M-step, against the
    /// iteration. With <paramref name="logGap"/>, log₁₀ of the gap to the final objective instead (the last point,
    /// gap 0, is left out): EM's linear convergence shows as a straight line.
    /// </summary>
    /// <param name="fit">Any fit.</param>
    /// <param name="logGap">Plot log₁₀(final − value) instead of the value.</param>
    /// <param name="title">The title; default "Objective trace".</param>
    public static Plot ObjectiveTrace(ModelFit fit, bool logGap = false, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(fit);
        var trace = fit.ObjectiveTrace;
        var plot = PlotFiles.NewPlot();
        double[] xs, ys;
        if (logGap)
        {
            double final = trace.Max();
            var kept = Enumerable.Range(0, trace.Count).Where(i => final - trace[i] > 0).ToArray();
            xs = kept.Select(i => (double)i).ToArray();
            ys = kept.Select(i => Math.Log10(final - trace[i])).ToArray();
            plot.YLabel("objective gap to the final value (log scale)");
            plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
            {
                IntegerTicksOnly = true,
                LabelFormatter = v => "1e" + v.ToString("F0", CultureInfo.InvariantCulture),
                MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
            };
        }
        else
        {
            xs = Enumerable.Range(0, trace.Count).Select(i => (double)i).ToArray();
            ys = trace.ToArray();
            plot.YLabel("objective (log-likelihood + log prior)");
            PlotFiles.PlainTicks(plot.Axes.Left);
        }
        if (xs.Length > 0)
        {
            var line = plot.Add.Scatter(xs, ys);
            line.Color = PlotFiles.ComponentColor(0);
            line.LineWidth = 2;
            line.MarkerSize = xs.Length <= 60 ? 5 : 0;
        }
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
        {
            IntegerTicksOnly = true,
            LabelFormatter = v => v.ToString("F0", CultureInfo.InvariantCulture),
        };
        plot.XLabel("iteration");
        plot.Title(title ?? $"Objective trace: {fit.Iterations} iterations, {Status(fit.Status)}, final {fit.Objective.ToString("G8", CultureInfo.InvariantCulture)}");
        return plot;
    }

    /// <summary>
    /// BIC against the number of components (or factors, states…) <c>K</c>, lowest BIC marked as the best.
    /// </summary>
    /// <param name="points">(K, BIC) pairs, in any order; K need not be contiguous.</param>
    /// <param name="xLabel">The horizontal axis label; default "components K".</param>
    /// <param name="title">The title; default "BIC (lower is better)".</param>
    /// <exception cref="ArgumentException">No points, a repeated K, or a BIC that is not finite.</exception>
    public static Plot BicCurve(IEnumerable<(int K, double Bic)> points, string xLabel = "components K", string? title = null)
    {
        ArgumentNullException.ThrowIfNull(points);
        var sorted = points.OrderBy(p => p.K).ToArray();
        if (sorted.Length == 0) throw new ArgumentException("Give at least one (K, BIC) point.", nameof(points));
        for (int i = 0; i < sorted.Length; i++)
        {
            if (!double.IsFinite(sorted[i].Bic))
                throw new ArgumentException($"The BIC for K = {sorted[i].K} is {sorted[i].Bic}; every BIC must be finite.", nameof(points));
            if (i > 0 && sorted[i].K == sorted[i - 1].K)
                throw new ArgumentException($"K = {sorted[i].K} appears twice.", nameof(points));
        }
        var best = sorted.MinBy(p => p.Bic);
        var plot = PlotFiles.NewPlot();
        var line = plot.Add.Scatter(sorted.Select(p => (double)p.K).ToArray(), sorted.Select(p => p.Bic).ToArray());
        line.Color = PlotFiles.ComponentColor(0);
        line.LineWidth = 2;
        line.MarkerSize = 8;
        line.LegendText = "BIC";
        var marker = plot.Add.Marker(best.K, best.Bic, MarkerShape.OpenCircle, 22, PlotFiles.ComponentColor(1));
        marker.MarkerLineWidth = 3;
        marker.LegendText = $"best: {best.K} (BIC {best.Bic.ToString("F1", CultureInfo.InvariantCulture)})";
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
        {
            IntegerTicksOnly = true,
            LabelFormatter = v => v.ToString("F0", CultureInfo.InvariantCulture),
        };
        PlotFiles.PlainTicks(plot.Axes.Left);
        plot.XLabel(xLabel);
        plot.YLabel("BIC");
        plot.Title(title ?? "BIC (lower is better)");
        // Room around the points so the best marker and the end points are not clipped by the frame.
        double span = Math.Max(1e-9, sorted.Max(p => p.Bic) - sorted.Min(p => p.Bic));
        plot.Axes.SetLimits(sorted[0].K - 0.5, sorted[^1].K + 0.5, sorted.Min(p => p.Bic) - 0.12 * span, sorted.Max(p => p.Bic) + 0.12 * span);
        plot.ShowLegend(Alignment.UpperRight);
        return plot;
    }

    /// <summary>BIC on the training data (<see cref="ModelFit.BayesianInformationCriterion"/>) against the number of states K of each fit.</summary>
    /// <exception cref="ArgumentException">No fits, or two with the same K.</exception>
    public static Plot BicCurve(IEnumerable<ModelFit> fits, string xLabel = "components K", string? title = null)
    {
        ArgumentNullException.ThrowIfNull(fits);
        return BicCurve(fits.Select(f => (f.States, f.BayesianInformationCriterion)), xLabel, title);
    }

    internal static string Status(FitStatus status) => status switch
    {
        FitStatus.Converged => "converged",
        FitStatus.IterationLimit => "iteration limit",
        _ => "stalled",
    };
}
