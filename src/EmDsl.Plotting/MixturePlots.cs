using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Inference;
using ScottPlot;

namespace EmDsl.Plotting;

/// <summary>Plots of a fitted mixture's data: the rows coloured by their most probable component, with covariance ellipses.</summary>
public static class MixturePlots
{
    /// <summary>
    /// Two columns of <paramref name="data"/> against each other, every row coloured by its most probable component
    /// (<see cref="MixtureFit.Predict"/>); with <paramref name="ellipses"/>, each component's 1σ and 2σ ellipses (the
    /// contours at Mahalanobis distance 1 and 2 of its covariance restricted to the two columns) and its mean, marked.
    /// Ellipses need both columns read by Gaussian or factor blocks; columns of two different blocks are independent
    /// given the component, so their ellipses are axis-aligned.
    /// </summary>
    /// <param name="fit">The fitted mixture.</param>
    /// <param name="data">Rows to plot (the training data, or new rows with the same columns).</param>
    /// <param name="xColumn">Data column on the horizontal axis.</param>
    /// <param name="yColumn">Data column on the vertical axis.</param>
    /// <param name="ellipses">Whether to draw the ellipses and means (default true).</param>
    /// <param name="title">The title; default "K-component mixture".</param>
    /// <exception cref="ArgumentOutOfRangeException">A column is outside the data.</exception>
    /// <exception cref="ArgumentException">The two columns are the same, or ellipses were asked for a column that no Gaussian or factor block reads.</exception>
    public static Plot Scatter(MixtureFit fit, DataMatrix data, int xColumn, int yColumn, bool ellipses = true, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(fit);
        ArgumentNullException.ThrowIfNull(data);
        CheckColumn(data, xColumn, nameof(xColumn));
        CheckColumn(data, yColumn, nameof(yColumn));
        if (xColumn == yColumn)
            throw new ArgumentException($"Both axes show column {xColumn}; choose two different columns.", nameof(yColumn));
        var shapes = ellipses ? ComponentShapes(fit, xColumn, yColumn) : null;

        var labels = fit.Predict(data);
        var x = data.GetColumn(xColumn);
        var y = data.GetColumn(yColumn);
        var plot = PlotFiles.NewPlot();
        for (int k = 0; k < fit.States; k++)
        {
            var rows = Enumerable.Range(0, data.Rows).Where(i => labels[i] == k).ToArray();
            if (rows.Length == 0) continue;
            var points = plot.Add.ScatterPoints(rows.Select(i => x[i]).ToArray(), rows.Select(i => y[i]).ToArray());
            points.Color = PlotFiles.ComponentColor(k).WithAlpha(0.55);
            points.MarkerSize = 6;
            points.LegendText = $"component {k} (π = {PlotFiles.Format(fit.Weights[k])}, {rows.Length} rows)";
        }
        if (shapes is not null)
        {
            for (int k = 0; k < shapes.Length; k++)
            {
                var (mean, cov) = shapes[k];
                foreach (double radius in new[] { 1.0, 2.0 })
                {
                    var (ex, ey) = Ellipse(mean, cov, radius);
                    var line = plot.Add.ScatterLine(ex, ey);
                    line.Color = PlotFiles.ComponentColor(k);
                    line.LineWidth = 2;
                    line.LinePattern = radius == 1 ? LinePattern.Solid : LinePattern.Dashed;
                }
                var marker = plot.Add.Marker(mean.X, mean.Y, MarkerShape.FilledDiamond, 12, Colors.Black);
                marker.MarkerLineColor = Colors.White;
            }
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = "1σ ellipse", LineColor = Colors.DimGray, LineWidth = 2, LinePattern = LinePattern.Solid });
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = "2σ ellipse", LineColor = Colors.DimGray, LineWidth = 2, LinePattern = LinePattern.Dashed });
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = "component mean", MarkerShape = MarkerShape.FilledDiamond, MarkerFillColor = Colors.Black, MarkerSize = 10 });
        }
        plot.Title(title ?? $"{fit.States}-component mixture");
        plot.XLabel(ColumnName(data, xColumn));
        plot.YLabel(ColumnName(data, yColumn));
        plot.ShowLegend(Alignment.UpperLeft);
        return plot;
    }

    /// <summary>
    /// Dimensions <paramref name="x"/> and <paramref name="y"/> of <paramref name="block"/> (0-based, in the block's
    /// own column order) against each other; see <see cref="Scatter(MixtureFit, DataMatrix, int, int, bool, string?)"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The block has no dimension <paramref name="x"/> or <paramref name="y"/>.</exception>
    public static Plot Scatter(MixtureFit fit, DataMatrix data, Block block, int x = 0, int y = 1, bool ellipses = true, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(fit);
        ArgumentNullException.ThrowIfNull(block);
        // The fit's copy of the block: a block declared by column names has its indices only there.
        block = fit.Blocks.FirstOrDefault(b => b.Name == block.Name)
                ?? throw new ArgumentException($"The fit's model has no block '{block.Name}'; its blocks are {string.Join(", ", fit.Blocks.Select(b => $"'{b.Name}'"))}.", nameof(block));
        if (x < 0 || x >= block.Columns.Count)
            throw new ArgumentOutOfRangeException(nameof(x), x, $"Block '{block.Name}' reads {block.Columns.Count} column(s); x must be 0…{block.Columns.Count - 1}.");
        if (y < 0 || y >= block.Columns.Count)
            throw new ArgumentOutOfRangeException(nameof(y), y, $"Block '{block.Name}' reads {block.Columns.Count} column(s); y must be 0…{block.Columns.Count - 1}.");
        return Scatter(fit, data, block.Columns[x], block.Columns[y], ellipses, title);
    }

    /// <summary>The points of the ellipse {μ + r·L·(cos t, sin t)}, L the Cholesky factor of the 2×2 covariance, closed.</summary>
    internal static (double[] X, double[] Y) Ellipse((double X, double Y) mean, double[,] cov, double radius, int points = 100)
    {
        double l11 = Math.Sqrt(cov[0, 0]), l21 = cov[1, 0] / l11, l22 = Math.Sqrt(Math.Max(0, cov[1, 1] - l21 * l21));
        var xs = new double[points + 1];
        var ys = new double[points + 1];
        for (int i = 0; i <= points; i++)
        {
            double t = 2 * Math.PI * i / points, c = Math.Cos(t), s = Math.Sin(t);
            xs[i] = mean.X + radius * l11 * c;
            ys[i] = mean.Y + radius * (l21 * c + l22 * s);
        }
        return (xs, ys);
    }

    /// <summary>Each component's mean and 2×2 covariance in the two columns.</summary>
    private static ((double X, double Y) Mean, double[,] Covariance)[] ComponentShapes(MixtureFit fit, int xColumn, int yColumn)
    {
        var (bx, ix) = Locate(fit, xColumn, nameof(xColumn));
        var (by, iy) = Locate(fit, yColumn, nameof(yColumn));
        var px = Gaussian(fit, bx, nameof(xColumn));
        var py = ReferenceEquals(bx, by) ? px : Gaussian(fit, by, nameof(yColumn));
        var shapes = new ((double, double), double[,])[fit.States];
        for (int k = 0; k < fit.States; k++)
        {
            var (mx, cx) = px[k];
            var (my, cy) = py[k];
            double cross = ReferenceEquals(bx, by) ? cx[ix, iy] : 0;
            shapes[k] = ((mx[ix], my[iy]), new[,] { { cx[ix, ix], cross }, { cross, cy[iy, iy] } });
        }
        return shapes;
    }

    private static (Block Block, int Index) Locate(MixtureFit fit, int column, string argument)
    {
        foreach (var block in fit.Blocks)
        {
            int i = IndexOf(block.Columns, column);
            if (i >= 0 && block.Covariates.Count == 0) return (block, i);
        }
        throw new ArgumentException(
            $"No block of the model reads column {column} as its response, so there is no component covariance to draw; pass ellipses: false to plot the points only.", argument);
    }

    private static int IndexOf(IReadOnlyList<int> list, int value)
    {
        for (int i = 0; i < list.Count; i++) if (list[i] == value) return i;
        return -1;
    }

    private static (IReadOnlyList<double> Mean, ReadOnlyMatrix Covariance)[] Gaussian(MixtureFit fit, Block block, string argument)
    {
        var parameters = fit.Parameters(block.Name);
        if (parameters.All(p => p is GaussianParameters))
            return parameters.Cast<GaussianParameters>().Select(p => (p.Mean, p.Covariance)).ToArray();
        if (parameters.All(p => p is FactorParameters))
            return parameters.Cast<FactorParameters>().Select(p => (p.Mean, p.Covariance)).ToArray();
        throw new ArgumentException(
            $"Block '{block.Name}' is {block.Family.Name}, not Gaussian: covariance ellipses need Gaussian (or factor) blocks. Pass ellipses: false to plot the points only.", argument);
    }

    private static void CheckColumn(DataMatrix data, int column, string argument)
    {
        if (column < 0 || column >= data.Columns)
            throw new ArgumentOutOfRangeException(argument, column, $"The data has {data.Columns} column(s); {argument} must be 0…{data.Columns - 1}.");
    }

    internal static string ColumnName(DataMatrix data, int column) =>
        data.ColumnNames is { } names ? names[column] : $"column {column}";
}
