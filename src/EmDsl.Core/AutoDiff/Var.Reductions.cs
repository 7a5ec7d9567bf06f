using System.Numerics.Tensors;

namespace EmDsl.AutoDiff;

public sealed partial class Var
{
    /// <summary>Σ of all entries, 1×1. Gradient: the upstream scalar, to every entry.</summary>
    public Var Sum() => Total(1);

    /// <summary>Mean of all entries, 1×1. Gradient: upstream / Length, to every entry.</summary>
    public Var Mean() => Total(Length);

    /// <summary>Σ over rows of each column, 1×C. Gradient: entry (i, j) receives upstream[j].</summary>
    public Var ColumnSums() => ColumnTotals(1);

    /// <summary>Mean over rows of each column, 1×C. Gradient: entry (i, j) receives upstream[j] / Rows.</summary>
    public Var ColumnMeans() => ColumnTotals(Rows);

    /// <summary>Σ over columns of each row, R×1. Gradient: entry (i, j) receives upstream[i].</summary>
    public Var RowSums() => RowTotals(1);

    /// <summary>Mean over columns of each row, R×1. Gradient: entry (i, j) receives upstream[i] / Cols.</summary>
    public Var RowMeans() => RowTotals(Cols);

    /// <summary>
    /// log Σ exp of all entries, 1×1, shifted by the maximum (finite for [1000, 1001]; −∞ entries contribute 0;
    /// −∞ if every entry is −∞). Gradient: upstream ∘ softmax, i.e. exp(x − value); zero when the value is −∞.
    /// </summary>
    public Var LogSumExp()
    {
        var data = new double[1];
        Kernels.RowLogSumExp(Data, 1, Length, data);
        if (_tape is null) return Wrap(data, 1, 1);
        var x = this;
        return new Var(data, 1, 1, _tape, node =>
        {
            var gx = x.GradientBuffer();
            using var s = new Scratch(x.Length);
            TensorPrimitives.Subtract(x.Data, LseShift(node.Data[0]), s.Span);
            TensorPrimitives.Exp(s.Span, s.Span);
            TensorPrimitives.MultiplyAdd(s.Span, node.Upstream[0], gx, gx);
        });
    }

    /// <summary>
    /// log Σ_j exp x[i, j] for each row, R×1, shifted by the row maximum (conventions of <see cref="LogSumExp"/>).
    /// Gradient: entry (i, j) receives upstream[i]·exp(x[i, j] − value[i]) (the row's softmax).
    /// </summary>
    public Var RowLogSumExp()
    {
        var data = Kernels.NewArray(Rows);
        Kernels.RowLogSumExp(Data, Rows, Cols, data);
        if (_tape is null) return Wrap(data, Rows, 1);
        var x = this;
        return new Var(data, Rows, 1, _tape, node =>
        {
            int rows = x.Rows, cols = x.Cols;
            var gx = x.GradientBuffer();
            var g = node.Upstream;
            using var sh = new Scratch(rows);
            using var p = new Scratch(x.Length);
            for (int i = 0; i < rows; i++) sh.Span[i] = LseShift(node.Data[i]);
            Kernels.SubtractColumnVector(x.Data, rows, cols, sh.Span, p.Span);
            TensorPrimitives.Exp(p.Span, p.Span);
            for (int i = 0; i < rows; i++)
            {
                var gi = gx.Slice(i * cols, cols);
                var pi = p.Span.Slice(i * cols, cols);
                double gr = g[i];
                if (cols >= Kernels.Narrow) TensorPrimitives.MultiplyAdd(pi, gr, gi, gi);
                else for (int j = 0; j < cols; j++) gi[j] += gr * pi[j];
            }
        });
    }

    /// <summary>
    /// log Σ_i exp x[i, j] for each column, 1×C, shifted by the column maximum (conventions of <see cref="LogSumExp"/>).
    /// Gradient: entry (i, j) receives upstream[j]·exp(x[i, j] − value[j]) (the column's softmax).
    /// </summary>
    public Var ColumnLogSumExp()
    {
        var data = Kernels.NewArray(Cols);
        Kernels.ColumnLogSumExp(Data, Rows, Cols, data);
        if (_tape is null) return Wrap(data, 1, Cols);
        var x = this;
        return new Var(data, 1, Cols, _tape, node =>
        {
            int rows = x.Rows, cols = x.Cols;
            var gx = x.GradientBuffer();
            var g = node.Upstream;
            using var sh = new Scratch(cols);
            using var p = new Scratch(x.Length);
            for (int j = 0; j < cols; j++) sh.Span[j] = LseShift(node.Data[j]);
            Kernels.SubtractRowVector(x.Data, rows, cols, sh.Span, p.Span);
            TensorPrimitives.Exp(p.Span, p.Span);
            for (int i = 0; i < rows; i++)
            {
                var gi = gx.Slice(i * cols, cols);
                var pi = p.Span.Slice(i * cols, cols);
                if (cols >= Kernels.Narrow) TensorPrimitives.MultiplyAdd(pi, g, gi, gi);
                else for (int j = 0; j < cols; j++) gi[j] += g[j] * pi[j];
            }
        });
    }

    /// <summary>
    /// Row-wise log-softmax, R×C: x[i, j] − log Σ_k exp x[i, k], max-shifted; a row that is all −∞ stays −∞.
    /// Gradient: entry (i, j) receives upstream[i, j] − softmax[i, j]·Σ_k upstream[i, k] (zero for an all −∞ row).
    /// </summary>
    public Var LogSoftmaxRows()
    {
        int rows = Rows, cols = Cols;
        var lse = new double[rows];
        Kernels.RowLogSumExp(Data, rows, cols, lse);
        var data = Kernels.NewArray(Length);
        using (var shift = new Scratch(rows))
        {
            for (int i = 0; i < rows; i++) shift.Span[i] = LseShift(lse[i]);
            Kernels.SubtractColumnVector(Data, rows, cols, shift.Span, data);
        }
        if (_tape is null) return Wrap(data, rows, cols);
        var x = this;
        return new Var(data, rows, cols, _tape, node =>
        {
            var gx = x.GradientBuffer();
            var g = node.Upstream;
            using var p = new Scratch(x.Length);
            TensorPrimitives.Exp(node.Data, p.Span);
            for (int i = 0; i < rows; i++)
            {
                if (double.IsNegativeInfinity(lse[i])) continue; // all −∞ row: the output is −∞ whatever x is
                var gi = g.Slice(i * cols, cols);
                var pi = p.Span.Slice(i * cols, cols);
                var ti = gx.Slice(i * cols, cols);
                double total = Kernels.Sum(gi);
                if (cols >= Kernels.Narrow)
                {
                    TensorPrimitives.Add(ti, gi, ti);
                    TensorPrimitives.MultiplyAdd(pi, -total, ti, ti);
                }
                else for (int j = 0; j < cols; j++) ti[j] += gi[j] - pi[j] * total;
            }
        });
    }

    /// <summary>The value subtracted before exponentiating against a log-sum-exp: the value itself, or 0 when it is −∞ (every entry −∞).</summary>
    private static double LseShift(double lse) => double.IsNegativeInfinity(lse) ? 0 : lse;

    private Var Total(double divisor)
    {
        var data = new[] { TensorPrimitives.Sum(Data) / divisor };
        if (_tape is null) return Wrap(data, 1, 1);
        var x = this;
        return new Var(data, 1, 1, _tape, node =>
        {
            var gx = x.GradientBuffer();
            TensorPrimitives.Add(gx, node.Upstream[0] / divisor, gx);
        });
    }

    private Var ColumnTotals(double divisor)
    {
        var data = Kernels.NewArray(Cols);
        Kernels.ColumnSums(Data, Rows, Cols, data);
        if (divisor != 1) TensorPrimitives.Divide(data, divisor, data);
        if (_tape is null) return Wrap(data, 1, Cols);
        var x = this;
        return new Var(data, 1, Cols, _tape, node => Kernels.AddRowVector(x.GradientBuffer(), x.Rows, x.Cols, node.Upstream, 1 / divisor));
    }

    private Var RowTotals(double divisor)
    {
        var data = Kernels.NewArray(Rows);
        for (int i = 0; i < Rows; i++) data[i] = Kernels.Sum(Data.AsSpan(i * Cols, Cols)) / divisor;
        if (_tape is null) return Wrap(data, Rows, 1);
        var x = this;
        return new Var(data, Rows, 1, _tape, node => Kernels.AddColumnVector(x.GradientBuffer(), x.Rows, x.Cols, node.Upstream, 1 / divisor));
    }
}
