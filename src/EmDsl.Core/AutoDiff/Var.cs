using EmDsl.Numerics;
using System.Globalization;
using System.Text;

namespace EmDsl.AutoDiff;

/// <summary>
/// A dense, row-major 2-D array of doubles that is either a constant (no tape: operations on constants only
/// compute values) or a node of a <see cref="AutoDiff.Tape"/> (a variable, or the result of an operation with at
/// least one taped operand), which receives d output / d node in <see cref="Gradient"/> after
/// <see cref="AutoDiff.Tape.Backward"/>. A vector is n×1 unless created as a row; a scalar is 1×1. Every
/// dimension is at least 1. Values are immutable.
/// </summary>
/// <remarks>
/// Elementwise binary operators broadcast as numpy does on two dimensions: each dimension of the operands must be
/// equal or 1, and the result takes the larger; the backward rule sums the gradient over broadcast dimensions.
/// Domains are the caller's responsibility: outside them the IEEE result is returned (e.g. Log of a negative
/// entry is NaN, of 0 is −∞) and so is the IEEE gradient.
/// </remarks>
public sealed partial class Var
{
    /// <summary>The values, row-major, exactly <see cref="Length"/> long. Never mutated after construction.</summary>
    internal readonly double[] Data;

    private readonly Tape? _tape;

    /// <summary>Position on the tape (−1 for constants).</summary>
    internal readonly int Index;

    /// <summary>Adds this node's contribution to its operands' gradients; null for constants and variables.</summary>
    private readonly Action<Var>? _backward;

    private double[]? _gradient;
    private long _gradientEpoch = -1;

    private Var(double[] data, int rows, int cols, Tape? tape, Action<Var>? backward)
    {
        Data = data;
        Rows = rows;
        Cols = cols;
        _tape = tape;
        _backward = backward;
        Index = tape?.Register(this) ?? -1;
    }

    /// <summary>A constant over <paramref name="data"/> (not copied).</summary>
    internal static Var Wrap(double[] data, int rows, int cols) => new(data, rows, cols, null, null);

    /// <summary>A variable (a leaf) on <paramref name="tape"/> over <paramref name="data"/> (not copied).</summary>
    internal static Var Leaf(double[] data, int rows, int cols, Tape tape) => new(data, rows, cols, tape, null);

    /// <summary>The result of an operation: a constant when <paramref name="tape"/> is null, else a recorded node.</summary>
    private static Var Result(double[] data, int rows, int cols, Tape? tape, Action<Var> backward) =>
        tape is null ? new Var(data, rows, cols, null, null) : new Var(data, rows, cols, tape, backward);

    /// <summary>Number of rows (at least 1).</summary>
    public int Rows { get; }

    /// <summary>Number of columns (at least 1).</summary>
    public int Cols { get; }

    /// <summary>Number of entries, <see cref="Rows"/>·<see cref="Cols"/>.</summary>
    public int Length => Data.Length;

    /// <summary>The values, row-major: entry (i, j) is at i·<see cref="Cols"/> + j.</summary>
    public ReadOnlySpan<double> Values => Data;

    /// <summary>The tape this array is recorded on; null for constants.</summary>
    public Tape? Tape => _tape;

    /// <summary>True for a constant (no tape, no gradient).</summary>
    public bool IsConstant => _tape is null;

    /// <summary>A copy of the values, row-major.</summary>
    public double[] ToArray() => (double[])Data.Clone();

    /// <summary>Entry (row, col); throws <see cref="ArgumentOutOfRangeException"/> outside the array.</summary>
    public double this[int row, int col]
    {
        get
        {
            if ((uint)row >= (uint)Rows || (uint)col >= (uint)Cols)
                throw new ArgumentOutOfRangeException(nameof(row), $"Entry ({row}, {col}) is outside the {Shape} array.");
            return Data[row * Cols + col];
        }
    }

    /// <summary>The value of a 1×1 array; throws <see cref="InvalidOperationException"/> for any other shape.</summary>
    public double Scalar => Rows == 1 && Cols == 1
        ? Data[0]
        : throw new InvalidOperationException($"Scalar: the array is {Shape}, not 1×1; reduce it first (e.g. Sum()).");

    /// <summary>
    /// d output / d this after <see cref="AutoDiff.Tape.Backward"/> on this array's tape (same shape as the values,
    /// row-major); zeros when the output does not depend on this array or before any backward pass; empty for
    /// constants. The span is overwritten by the next backward pass.
    /// </summary>
    public ReadOnlySpan<double> Gradient => _tape is null ? ReadOnlySpan<double>.Empty : GradientBuffer();

    /// <summary>A copy of <see cref="Gradient"/> (an empty array for constants).</summary>
    public double[] GradientToArray() => Gradient.ToArray();

    /// <summary>"R×C", as used in error messages.</summary>
    internal string Shape => $"{Rows}×{Cols}";

    /// <summary>
    /// This node's gradient accumulator for the current backward pass of its tape: allocated once, cleared the first
    /// time it is touched in a pass. Only for taped nodes.
    /// </summary>
    internal Span<double> GradientBuffer()
    {
        long epoch = _tape!.Epoch;
        if (_gradientEpoch != epoch)
        {
            if (_gradient is null) _gradient = new double[Data.Length];
            else Array.Clear(_gradient);
            _gradientEpoch = epoch;
        }
        return _gradient!;
    }

    /// <summary>Whether this node received gradient in the tape's current pass.</summary>
    internal bool ReachedInCurrentPass => _gradientEpoch == _tape!.Epoch;

    /// <summary>Runs this node's backward rule (its own gradient is complete when the tape calls this).</summary>
    internal void PropagateBackward() => _backward?.Invoke(this);

    /// <summary>The upstream gradient while this node's backward rule runs.</summary>
    private ReadOnlySpan<double> Upstream => _gradient!;

    // ----- construction -----

    /// <summary>A constant array, copying <paramref name="values"/> (row-major, rows·cols long).</summary>
    public static Var Constant(double[] values, int rows, int cols) => Wrap(CopyChecked(values, rows, cols, "Constant"), rows, cols);

    /// <summary>A 1×1 constant.</summary>
    public static Var Constant(double value) => Wrap([value], 1, 1);

    /// <summary>An n×1 constant column vector, copying <paramref name="values"/>.</summary>
    public static Var ColumnVector(double[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        return Constant(values, values.Length, 1);
    }

    /// <summary>A 1×n constant row vector, copying <paramref name="values"/>.</summary>
    public static Var RowVector(double[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        return Constant(values, 1, values.Length);
    }

    /// <summary>
    /// The constant labels.Length × classes indicator matrix with a 1 at (i, labels[i]) and 0 elsewhere; throws
    /// <see cref="ArgumentOutOfRangeException"/> naming the row of a label outside 0..classes−1.
    /// </summary>
    public static Var OneHot(int[] labels, int classes)
    {
        ArgumentNullException.ThrowIfNull(labels);
        CheckShape(labels.Length, classes, "OneHot");
        var data = new double[labels.Length * classes];
        for (int i = 0; i < labels.Length; i++)
        {
            int c = labels[i];
            if ((uint)c >= (uint)classes)
                throw new ArgumentOutOfRangeException(nameof(labels), $"OneHot: label {c} in row {i} is outside 0..{classes - 1} ({classes} classes).");
            data[i * classes + c] = 1;
        }
        return Wrap(data, labels.Length, classes);
    }

    /// <summary>A 1×1 constant.</summary>
    public static implicit operator Var(double value) => Constant(value);

    internal static void CheckShape(int rows, int cols, string operation)
    {
        if (rows < 1 || cols < 1)
            throw new ArgumentOutOfRangeException(rows < 1 ? nameof(rows) : nameof(cols),
                $"{operation}: a {rows}×{cols} array is not allowed; rows and columns must both be at least 1.");
        ArraySize.Argument(rows, cols, nameof(cols), () => $"{operation}: a {rows:N0}×{cols:N0} array");
    }

    internal static double[] CopyChecked(double[] values, int rows, int cols, string operation)
    {
        ArgumentNullException.ThrowIfNull(values);
        CheckShape(rows, cols, operation);
        if ((long)rows * cols != values.Length)
            throw new ArgumentException($"{operation}: {values.Length} values given for a {rows}×{cols} array (expected {(long)rows * cols}).", nameof(values));
        return (double[])values.Clone();
    }

    /// <summary>The tape shared by the operands (null if all are constants); throws if two tapes are mixed.</summary>
    private static Tape? CommonTape(Var a, Var b, string operation)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a._tape is not null && b._tape is not null && !ReferenceEquals(a._tape, b._tape))
            throw new InvalidOperationException($"{operation}: the operands are recorded on different tapes; one computation must use one tape.");
        return a._tape ?? b._tape;
    }

    /// <summary>Short description: shape, constant or taped, and the first values.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append("Var ").Append(Shape).Append(_tape is null ? " constant [" : " taped [");
        int shownRows = Math.Min(Rows, 6), shownCols = Math.Min(Cols, 6);
        for (int i = 0; i < shownRows; i++)
        {
            if (i > 0) sb.Append("; ");
            for (int j = 0; j < shownCols; j++)
            {
                if (j > 0) sb.Append(", ");
                sb.Append(Data[i * Cols + j].ToString("G6", CultureInfo.InvariantCulture));
            }
            if (shownCols < Cols) sb.Append(", …");
        }
        if (shownRows < Rows) sb.Append("; …");
        return sb.Append(']').ToString();
    }
}
