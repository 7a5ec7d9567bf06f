using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Inference;
using ScottPlot;

namespace EmDsl.Plotting;

/// <summary>Plots of a fitted hidden Markov model on a sequence.</summary>
public static class HiddenMarkovPlots
{
    /// <summary>
    /// One column of a sequence against time, every step coloured by its decoded state (the Viterbi path,
    /// <see cref="HiddenMarkovFit.Decode(DataMatrix)"/>), and the decoded state's mean of that column drawn as a
    /// step line when the column's block has a mean (Gaussian, factor, Poisson, Bernoulli, gamma, exponential,
    /// negative binomial, beta).
    /// </summary>
    /// <param name="fit">The fitted model.</param>
    /// <param name="sequence">One sequence: its rows in order.</param>
    /// <param name="column">The data column to plot.</param>
    /// <param name="time">The time of each step (default 0, 1, 2, …), for example years.</param>
    /// <param name="title">The title; default "K-state hidden Markov model".</param>
    /// <exception cref="ArgumentOutOfRangeException">The column is outside the data.</exception>
    /// <exception cref="ArgumentException"><paramref name="time"/> does not have one value per row.</exception>
    public static Plot Series(HiddenMarkovFit fit, DataMatrix sequence, int column, IReadOnlyList<double>? time = null, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(fit);
        ArgumentNullException.ThrowIfNull(sequence);
        if (column < 0 || column >= sequence.Columns)
            throw new ArgumentOutOfRangeException(nameof(column), column, $"The data has {sequence.Columns} column(s); column must be 0…{sequence.Columns - 1}.");
        if (time is not null && time.Count != sequence.Rows)
            throw new ArgumentException($"time has {time.Count} values; the sequence has {sequence.Rows} rows.", nameof(time));
        var x = time?.ToArray() ?? Enumerable.Range(0, sequence.Rows).Select(t => (double)t).ToArray();
        var y = sequence.GetColumn(column);
        var states = fit.Decode(sequence);
        var means = StateMeans(fit, column);

        var plot = PlotFiles.NewPlot();
        var line = plot.Add.ScatterLine(x, y);
        line.Color = Colors.Gray.WithAlpha(0.5);
        line.LineWidth = 1;
        if (means is not null && x.Length > 0)
        {
            // Each step's level spans the half-way points to its neighbours.
            var edges = new double[x.Length + 1];
            for (int t = 1; t < x.Length; t++) edges[t] = (x[t - 1] + x[t]) / 2;
            double first = x.Length > 1 ? (x[1] - x[0]) / 2 : 0.5, last = x.Length > 1 ? (x[^1] - x[^2]) / 2 : 0.5;
            edges[0] = x[0] - first;
            edges[^1] = x[^1] + last;
            var levels = states.Select(s => means[s]).Append(means[states[^1]]).ToArray();
            var level = plot.Add.ScatterLine(edges, levels);
            level.ConnectStyle = ConnectStyle.StepHorizontal;
            level.Color = Colors.Black;
            level.LinePattern = LinePattern.Dashed;
            level.LegendText = "mean of the decoded state";
        }
        for (int s = 0; s < fit.States; s++)
        {
            var steps = Enumerable.Range(0, x.Length).Where(t => states[t] == s).ToArray();
            if (steps.Length == 0) continue;
            var points = plot.Add.ScatterPoints(steps.Select(t => x[t]).ToArray(), steps.Select(t => y[t]).ToArray());
            points.Color = PlotFiles.ComponentColor(s);
            points.MarkerSize = 8;
            points.LegendText = $"state {s}" + (means is null ? "" : $": mean {PlotFiles.Format(means[s])}") + $" ({steps.Length} steps)";
        }
        PlotFiles.PlainTicks(plot.Axes.Bottom);
        plot.Title(title ?? $"{fit.States}-state hidden Markov model: decoded states");
        plot.XLabel(time is null ? "step" : "time");
        plot.YLabel(MixturePlots.ColumnName(sequence, column));
        plot.ShowLegend(Alignment.UpperRight);
        return plot;
    }

    /// <summary>Each state's mean of <paramref name="column"/>, or null when its block's family has no mean here.</summary>
    private static double[]? StateMeans(ModelFit fit, int column)
    {
        foreach (Block block in fit.Blocks)
        {
            if (block.Covariates.Count > 0) continue;
            int i = -1;
            for (int j = 0; j < block.Columns.Count; j++) if (block.Columns[j] == column) i = j;
            if (i < 0) continue;
            var parameters = fit.Parameters(block.Name);
            var means = new double[parameters.Count];
            for (int s = 0; s < parameters.Count; s++)
            {
                double? m = parameters[s] switch
                {
                    GaussianParameters g => g.Mean[i],
                    FactorParameters f => f.Mean[i],
                    PoissonParameters p => p.Rates[i],
                    BernoulliParameters b => b.Probabilities[i],
                    GammaParameters g => g.Means[i],
                    ExponentialParameters e => 1 / e.Rates[i],
                    NegativeBinomialParameters n => n.Means[i],
                    BetaParameters b => b.Means[i],
                    _ => null,
                };
                if (m is null) return null;
                means[s] = m.Value;
            }
            return means;
        }
        return null;
    }
}
