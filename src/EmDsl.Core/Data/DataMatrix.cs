using EmDsl.Numerics;
namespace EmDsl.Data;

/// <summary>
/// An immutable rows × columns table of doubles, stored row-major, that every fit and prediction reads.
/// Construction validates the input: a matrix with no rows or no columns, ragged rows, or a NaN or
/// infinite value is rejected with an exception naming the row and column. (Missing values are not
/// supported yet; encode them out of the data before fitting.)
/// </summary>
public sealed class DataMatrix
{
    private readonly double[] _values;

    private DataMatrix(double[] values, int rows, int columns)
    {
        _values = values;
        Rows = rows;
        Columns = columns;
    }

    /// <summary>Number of rows (observations).</summary>
    public int Rows { get; }

    /// <summary>Number of columns (variables).</summary>
    public int Columns { get; }

    /// <summary>The value in row <paramref name="row"/>, column <paramref name="column"/>.</summary>
    public double this[int row, int column]
    {
        get
        {
            if ((uint)row >= (uint)Rows) throw new ArgumentOutOfRangeException(nameof(row), $"Row {row} is outside 0..{Rows - 1}.");
            if ((uint)column >= (uint)Columns) throw new ArgumentOutOfRangeException(nameof(column), $"Column {column} is outside 0..{Columns - 1}.");
            return _values[row * Columns + column];
        }
    }

    /// <summary>Row-major storage, for the engine (never exposed mutable).</summary>
    internal ReadOnlySpan<double> Values => _values;

    /// <summary>One row, for the engine.</summary>
    internal ReadOnlySpan<double> Row(int row) => _values.AsSpan(row * Columns, Columns);

    /// <summary>Rows [<paramref name="start"/>, <paramref name="start"/> + <paramref name="rows"/>) as a chunk, without copying (engine use only).</summary>
    internal DataChunk Chunk(int start, int rows) => new(_values.AsMemory(start * Columns, rows * Columns), start, rows, Columns);

    /// <summary>All rows as one chunk.</summary>
    internal DataChunk All => Chunk(0, Rows);

    /// <summary>Wraps already validated storage without copying (engine use only).</summary>
    internal static DataMatrix Wrap(double[] rowMajor, int rows, int columns) => new(rowMajor, rows, columns);

    /// <summary>Copies a rectangular array (F#: <c>float[,]</c>).</summary>
    /// <exception cref="ArgumentException">Empty, or a value is NaN or infinite.</exception>
    public static DataMatrix From(double[,] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        int rows = values.GetLength(0), cols = values.GetLength(1);
        RequireNonEmpty(rows, cols);
        var data = new double[ArraySize.Argument(rows, cols, nameof(values), () => $"{rows:N0} rows × {cols:N0} columns")];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
                data[i * cols + j] = RequireFinite(values[i, j], i, j);
        return new DataMatrix(data, rows, cols);
    }

    /// <summary>Copies rows given as arrays (F#: <c>float[][]</c> or a list of arrays); all must have the same length.</summary>
    /// <exception cref="ArgumentException">Empty, ragged, null rows, or a value is NaN or infinite.</exception>
    public static DataMatrix FromRows(IEnumerable<double[]> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var list = rows as IReadOnlyList<double[]> ?? rows.ToList();
        if (list.Count == 0) throw new ArgumentException("The data has no rows.", nameof(rows));
        var first = list[0] ?? throw new ArgumentException("Row 0 is null.", nameof(rows));
        int cols = first.Length;
        RequireNonEmpty(list.Count, cols);
        var data = new double[ArraySize.Argument(list.Count, cols, nameof(rows), () => $"{list.Count:N0} rows × {cols:N0} columns")];
        for (int i = 0; i < list.Count; i++)
        {
            var row = list[i] ?? throw new ArgumentException($"Row {i} is null.", nameof(rows));
            if (row.Length != cols)
                throw new ArgumentException($"The data is ragged: row {i} has {row.Length} values but row 0 has {cols}.", nameof(rows));
            for (int j = 0; j < cols; j++) data[i * cols + j] = RequireFinite(row[j], i, j);
        }
        return new DataMatrix(data, list.Count, cols);
    }

    /// <summary>A single-column matrix from a sequence of values.</summary>
    public static DataMatrix FromColumn(IEnumerable<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var data = values.ToArray();
        RequireNonEmpty(data.Length, 1);
        for (int i = 0; i < data.Length; i++) RequireFinite(data[i], i, 0);
        return new DataMatrix(data, data.Length, 1);
    }

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
        return Row(row).ToArray();
    }

    /// <summary>A copy of one column.</summary>
    public double[] GetColumn(int column)
    {
        if ((uint)column >= (uint)Columns) throw new ArgumentOutOfRangeException(nameof(column), $"Column {column} is outside 0..{Columns - 1}.");
        var c = new double[Rows];
        for (int i = 0; i < Rows; i++) c[i] = _values[i * Columns + column];
        return c;
    }

    /// <summary>Reads a CSV file of numbers with a header line (comma-separated, invariant culture).</summary>
    /// <exception cref="FormatException">A cell is not a number (the message names its line and column).</exception>
    public static DataMatrix ReadCsv(string path, bool hasHeader = true)
    {
        var rows = new List<double[]>();
        int lineNo = 0;
        foreach (var raw in File.ReadLines(path))
        {
            lineNo++;
            if (hasHeader && lineNo == 1) continue;
            var line = raw.Trim();
            if (line.Length == 0) continue;
            var cells = line.Split(',');
            var row = new double[cells.Length];
            for (int j = 0; j < cells.Length; j++)
            {
                var cell = cells[j].Trim().Trim('"');
                if (!double.TryParse(cell, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out row[j]))
                    throw new FormatException($"{path}: line {lineNo}, column {j}: '{cell}' is not a number.");
            }
            rows.Add(row);
        }
        return FromRows(rows);
    }

    private static void RequireNonEmpty(int rows, int cols)
    {
        if (rows == 0) throw new ArgumentException("The data has no rows.");
        if (cols == 0) throw new ArgumentException("The data has no columns.");
    }

    private static double RequireFinite(double v, int row, int col)
    {
        if (double.IsNaN(v)) throw new ArgumentException($"Row {row}, column {col} is NaN; EmDsl does not accept missing values (remove or impute them first).");
        if (double.IsInfinity(v)) throw new ArgumentException($"Row {row}, column {col} is {(v > 0 ? "+∞" : "−∞")}; data must be finite.");
        return v;
    }
}
