namespace EmDsl.Data;

/// <summary>An immutable dense matrix of doubles (used for covariances and other small results).</summary>
public sealed class ReadOnlyMatrix : IEquatable<ReadOnlyMatrix>
{
    private readonly double[] _values;

    /// <summary>Copies a rectangular array.</summary>
    public ReadOnlyMatrix(double[,] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        Rows = values.GetLength(0);
        Columns = values.GetLength(1);
        _values = new double[Rows * Columns];
        for (int i = 0; i < Rows; i++)
            for (int j = 0; j < Columns; j++) _values[i * Columns + j] = values[i, j];
    }

    private ReadOnlyMatrix(double[] rowMajor, int rows, int columns)
    {
        _values = rowMajor;
        Rows = rows;
        Columns = columns;
    }

    /// <summary>Copies row-major values.</summary>
    public static ReadOnlyMatrix FromRowMajor(ReadOnlySpan<double> rowMajor, int rows, int columns)
    {
        if (rowMajor.Length != rows * columns)
            throw new ArgumentException($"Expected {rows}×{columns} = {rows * columns} values, got {rowMajor.Length}.", nameof(rowMajor));
        return new ReadOnlyMatrix(rowMajor.ToArray(), rows, columns);
    }

    /// <summary>A square diagonal matrix.</summary>
    public static ReadOnlyMatrix Diagonal(IReadOnlyList<double> diagonal)
    {
        int n = diagonal.Count;
        var v = new double[n * n];
        for (int i = 0; i < n; i++) v[i * n + i] = diagonal[i];
        return new ReadOnlyMatrix(v, n, n);
    }

    /// <summary>The n×n identity scaled by <paramref name="scale"/>.</summary>
    public static ReadOnlyMatrix Identity(int n, double scale = 1.0) => Diagonal(Enumerable.Repeat(scale, n).ToArray());

    /// <summary>Number of rows.</summary>
    public int Rows { get; }

    /// <summary>Number of columns.</summary>
    public int Columns { get; }

    /// <summary>Entry (row, column).</summary>
    public double this[int row, int column]
    {
        get
        {
            if ((uint)row >= (uint)Rows || (uint)column >= (uint)Columns)
                throw new ArgumentOutOfRangeException(nameof(row), $"({row}, {column}) is outside the {Rows}×{Columns} matrix.");
            return _values[row * Columns + column];
        }
    }

    /// <summary>Row-major values (no copy).</summary>
    internal ReadOnlySpan<double> Values => _values;

    /// <summary>A copy as a rectangular array.</summary>
    public double[,] ToArray()
    {
        var a = new double[Rows, Columns];
        for (int i = 0; i < Rows; i++)
            for (int j = 0; j < Columns; j++) a[i, j] = _values[i * Columns + j];
        return a;
    }

    /// <summary>A copy of one row.</summary>
    public double[] GetRow(int row)
    {
        if ((uint)row >= (uint)Rows) throw new ArgumentOutOfRangeException(nameof(row), $"Row {row} is outside 0..{Rows - 1}.");
        return _values.AsSpan(row * Columns, Columns).ToArray();
    }

    /// <summary>The diagonal.</summary>
    public double[] GetDiagonal()
    {
        int n = Math.Min(Rows, Columns);
        var d = new double[n];
        for (int i = 0; i < n; i++) d[i] = _values[i * Columns + i];
        return d;
    }

    /// <summary>Value equality: same shape and same entries.</summary>
    public bool Equals(ReadOnlyMatrix? other) =>
        other is not null && Rows == other.Rows && Columns == other.Columns && _values.AsSpan().SequenceEqual(other._values);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as ReadOnlyMatrix);

    /// <inheritdoc />
    public override int GetHashCode() => _values.Aggregate(HashCode.Combine(Rows, Columns), (h, v) => unchecked(h * 31 + v.GetHashCode()));

    /// <inheritdoc />
    public override string ToString()
    {
        var rows = new string[Rows];
        for (int i = 0; i < Rows; i++)
            rows[i] = "[" + string.Join(", ", _values.AsSpan(i * Columns, Columns).ToArray().Select(v => v.ToString("G6", System.Globalization.CultureInfo.InvariantCulture))) + "]";
        return "[" + string.Join(", ", rows) + "]";
    }
}
