using System.Numerics.Tensors;
using EmDsl.Numerics;

namespace EmDsl.AutoDiff;

public sealed partial class Var
{
    /// <summary>
    /// Matrix product this·right (R×K times K×C gives R×C), through the compute backend's Gemm.
    /// Gradient: upstream·rightᵀ to this, thisᵀ·upstream to right (both Gemm with transposes, no copies).
    /// </summary>
    public Var MatMul(Var right)
    {
        const string op = "MatMul";
        var tape = CommonTape(this, right, op);
        if (Cols != right.Rows)
            throw new ArgumentException($"{op}: left is {Shape}, right is {right.Shape}; inner dimensions differ ({Cols} vs {right.Rows}).", nameof(right));
        int m = Rows, k = Cols, n = right.Cols;
        var data = Kernels.NewArray(m * n);
        ComputeBackend.Current.Gemm(false, false, m, n, k, 1, Data, k, right.Data, n, 0, data, n);
        if (tape is null) return Wrap(data, m, n);
        var left = this;
        return new Var(data, m, n, tape, node =>
        {
            var g = node.Upstream;
            var backend = ComputeBackend.Current;
            if (left._tape is not null) backend.Gemm(false, true, m, k, n, 1, g, n, right.Data, n, 1, left.GradientBuffer(), k);
            if (right._tape is not null) backend.Gemm(true, false, k, n, m, 1, left.Data, k, g, n, 1, right.GradientBuffer(), n);
        });
    }

    /// <summary>The C×R transpose. Gradient: the transpose of upstream.</summary>
    public Var Transpose()
    {
        int rows = Rows, cols = Cols;
        var data = Kernels.NewArray(Length);
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) data[j * rows + i] = Data[i * cols + j];
        if (_tape is null) return Wrap(data, cols, rows);
        var x = this;
        return new Var(data, cols, rows, _tape, node =>
        {
            var g = node.Upstream;
            var gx = x.GradientBuffer();
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < cols; j++) gx[i * cols + j] += g[j * rows + i];
        });
    }

    /// <summary>The same values as a rows×cols array (row-major order kept; rows·cols must equal Length). Gradient: upstream, reshaped back.</summary>
    public Var Reshape(int rows, int cols)
    {
        CheckShape(rows, cols, "Reshape");
        if ((long)rows * cols != Length)
            throw new ArgumentException($"Reshape: a {Shape} array ({Length} entries) cannot become {rows}×{cols} ({(long)rows * cols} entries).");
        if (_tape is null) return Wrap(Data, rows, cols); // values are immutable: share them
        var x = this;
        return new Var(Data, rows, cols, _tape, node =>
        {
            var gx = x.GradientBuffer();
            TensorPrimitives.Add(gx, node.Upstream, gx);
        });
    }

    /// <summary>1×1 Σ_ij this[i, j]·other[i, j] of two arrays of the same shape. Gradient: upstream·other to this, upstream·this to other.</summary>
    public Var Dot(Var other)
    {
        const string op = "Dot";
        var tape = CommonTape(this, other, op);
        if (Rows != other.Rows || Cols != other.Cols)
            throw new ArgumentException($"{op}: left is {Shape}, right is {other.Shape}; the shapes must be equal.", nameof(other));
        var data = new[] { TensorPrimitives.Dot(Data, other.Data) };
        if (tape is null) return Wrap(data, 1, 1);
        var left = this;
        return new Var(data, 1, 1, tape, node =>
        {
            double g = node.Upstream[0];
            if (left._tape is not null) { var t = left.GradientBuffer(); TensorPrimitives.MultiplyAdd(other.Data, g, t, t); }
            if (other._tape is not null) { var t = other.GradientBuffer(); TensorPrimitives.MultiplyAdd(left.Data, g, t, t); }
        });
    }

    /// <summary>
    /// The R×1 gather x[i, columnIndex[i]] (e.g. the log-probability of each row's observed class).
    /// Gradient: upstream[i] to entry (i, columnIndex[i]), zero elsewhere.
    /// </summary>
    public Var SelectPerRow(int[] columnIndex)
    {
        ArgumentNullException.ThrowIfNull(columnIndex);
        if (columnIndex.Length != Rows)
            throw new ArgumentException($"SelectPerRow: {columnIndex.Length} column indices for a {Shape} array; give one per row.", nameof(columnIndex));
        var index = (int[])columnIndex.Clone();
        int rows = Rows, cols = Cols;
        var data = Kernels.NewArray(rows);
        for (int i = 0; i < rows; i++)
        {
            int c = index[i];
            if ((uint)c >= (uint)cols)
                throw new ArgumentOutOfRangeException(nameof(columnIndex), $"SelectPerRow: column index {c} in row {i} is outside 0..{cols - 1} of the {Shape} array.");
            data[i] = Data[i * cols + c];
        }
        if (_tape is null) return Wrap(data, rows, 1);
        var x = this;
        return new Var(data, rows, 1, _tape, node =>
        {
            var g = node.Upstream;
            var gx = x.GradientBuffer();
            for (int i = 0; i < rows; i++) gx[i * cols + index[i]] += g[i];
        });
    }

    /// <summary>Columns start..start+count−1, R×count. Gradient: upstream to those columns, zero elsewhere.</summary>
    public Var Columns(int start, int count)
    {
        if (start < 0 || count < 1 || (long)start + count > Cols)
            throw new ArgumentOutOfRangeException(nameof(start), $"Columns: {count} columns from column {start} are outside the {Shape} array (columns 0..{Cols - 1}).");
        int rows = Rows, cols = Cols;
        var data = Kernels.NewArray(rows * count);
        for (int i = 0; i < rows; i++) Data.AsSpan(i * cols + start, count).CopyTo(data.AsSpan(i * count, count));
        if (_tape is null) return Wrap(data, rows, count);
        var x = this;
        return new Var(data, rows, count, _tape, node =>
        {
            var g = node.Upstream;
            var gx = x.GradientBuffer();
            for (int i = 0; i < rows; i++)
            {
                var t = gx.Slice(i * cols + start, count);
                var gi = g.Slice(i * count, count);
                if (count >= Kernels.Narrow) TensorPrimitives.Add(t, gi, t);
                else for (int j = 0; j < count; j++) t[j] += gi[j];
            }
        });
    }

    /// <summary>Columns start..start+count−1 (same as <see cref="Columns"/>, named to match <see cref="RowRange"/>).</summary>
    public Var ColumnRange(int start, int count) => Columns(start, count);

    /// <summary>
    /// Rows start..start+count−1, count×C (the row slice; C# cannot name a method <c>Rows</c> next to the
    /// <see cref="Rows"/> property). Gradient: upstream to those rows, zero elsewhere.
    /// </summary>
    public Var RowRange(int start, int count)
    {
        if (start < 0 || count < 1 || (long)start + count > Rows)
            throw new ArgumentOutOfRangeException(nameof(start), $"RowRange: {count} rows from row {start} are outside the {Shape} array (rows 0..{Rows - 1}).");
        int cols = Cols;
        var data = Data.AsSpan(start * cols, count * cols).ToArray();
        if (_tape is null) return Wrap(data, count, cols);
        var x = this;
        return new Var(data, count, cols, _tape, node =>
        {
            var t = x.GradientBuffer().Slice(start * cols, count * cols);
            TensorPrimitives.Add(t, node.Upstream, t);
        });
    }

    /// <summary>Side-by-side concatenation of arrays with equal row counts. Gradient: each part receives its block of columns of upstream.</summary>
    public static Var ConcatColumns(params Var[] parts)
    {
        var tape = CheckParts(parts, "ConcatColumns", byRows: false);
        int rows = parts[0].Rows, cols = 0;
        foreach (var p in parts) cols += p.Cols;
        var data = Kernels.NewArray(rows * cols);
        int offset = 0;
        foreach (var p in parts)
        {
            for (int i = 0; i < rows; i++) p.Data.AsSpan(i * p.Cols, p.Cols).CopyTo(data.AsSpan(i * cols + offset, p.Cols));
            offset += p.Cols;
        }
        if (tape is null) return Wrap(data, rows, cols);
        var copy = (Var[])parts.Clone();
        return new Var(data, rows, cols, tape, node =>
        {
            var g = node.Upstream;
            int at = 0;
            foreach (var p in copy)
            {
                if (p._tape is not null)
                {
                    var gp = p.GradientBuffer();
                    for (int i = 0; i < rows; i++)
                    {
                        var t = gp.Slice(i * p.Cols, p.Cols);
                        TensorPrimitives.Add(t, g.Slice(i * cols + at, p.Cols), t);
                    }
                }
                at += p.Cols;
            }
        });
    }

    /// <summary>Stacked concatenation (one under another) of arrays with equal column counts. Gradient: each part receives its block of rows of upstream.</summary>
    public static Var ConcatRows(params Var[] parts)
    {
        var tape = CheckParts(parts, "ConcatRows", byRows: true);
        int cols = parts[0].Cols, length = 0;
        foreach (var p in parts) length += p.Length;
        var data = Kernels.NewArray(length);
        int offset = 0;
        foreach (var p in parts)
        {
            p.Data.CopyTo(data.AsSpan(offset));
            offset += p.Length;
        }
        if (tape is null) return Wrap(data, length / cols, cols);
        var copy = (Var[])parts.Clone();
        return new Var(data, length / cols, cols, tape, node =>
        {
            var g = node.Upstream;
            int at = 0;
            foreach (var p in copy)
            {
                if (p._tape is not null)
                {
                    var gp = p.GradientBuffer();
                    TensorPrimitives.Add(gp, g.Slice(at, p.Length), gp);
                }
                at += p.Length;
            }
        });
    }

    /// <summary>Validates concatenation parts; returns their common tape (null if all constant).</summary>
    private static Tape? CheckParts(Var[] parts, string operation, bool byRows)
    {
        ArgumentNullException.ThrowIfNull(parts);
        if (parts.Length == 0) throw new ArgumentException($"{operation}: no parts given.", nameof(parts));
        Tape? tape = null;
        for (int i = 0; i < parts.Length; i++)
        {
            var p = parts[i] ?? throw new ArgumentNullException(nameof(parts), $"{operation}: part {i} is null.");
            if (byRows && p.Cols != parts[0].Cols)
                throw new ArgumentException($"{operation}: part {i} is {p.Shape} but part 0 is {parts[0].Shape}; all parts must have the same number of columns.", nameof(parts));
            if (!byRows && p.Rows != parts[0].Rows)
                throw new ArgumentException($"{operation}: part {i} is {p.Shape} but part 0 is {parts[0].Shape}; all parts must have the same number of rows.", nameof(parts));
            if (p._tape is not null)
            {
                if (tape is not null && !ReferenceEquals(tape, p._tape))
                    throw new InvalidOperationException($"{operation}: part {i} is recorded on a different tape from an earlier part; one computation must use one tape.");
                tape = p._tape;
            }
        }
        return tape;
    }
}
