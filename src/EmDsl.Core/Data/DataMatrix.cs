using EmDsl.Numerics;
namespace EmDsl.Data;

/// <summary>
/// An immutable rows × columns table of doubles, stored row-major, that every fit and prediction reads.
/// Construction validates the input: a matrix with no rows or no columns, ragged rows, or a NaN or
/// infinite value is rejected with an exception naming the row and column. Missing values are an explicit opt-in:
/// <see cref="From(double[,], MissingValues)"/> with <see cref="Data.MissingValues.Allow"/> keeps NaN entries as
/// missing, and <see cref="WithMissing"/> marks them with a mask (a fit then needs
/// <see cref="Inference.FitOptions.MissingValues"/> = <see cref="Inference.MissingValuePolicy.Marginalize"/>);
/// infinite values are always rejected. Columns may have names (<see cref="ColumnNames"/>):
/// <see cref="ReadCsv(string, CsvOptions)"/> keeps a file's header, <see cref="WithColumnNames"/> sets them from code.
/// </summary>
public sealed class DataMatrix
{
    private readonly double[] _values;
    private readonly string[]? _names;

    private DataMatrix(double[] values, int rows, int columns, string[]? names = null, bool? hasMissing = null)
    {
        _values = values;
        Rows = rows;
        Columns = columns;
        _names = names;
        ColumnNames = names is null ? null : Array.AsReadOnly(names);
        HasMissingValues = hasMissing ?? Array.Exists(values, double.IsNaN);
    }

    /// <summary>
    /// Whether some entry is missing (NaN): possible only for a matrix built with <see cref="Data.MissingValues.Allow"/>,
    /// <see cref="WithMissing"/>, or read from a CSV file with <see cref="CsvOptions.MissingValues"/> allowed.
    /// </summary>
    public bool HasMissingValues { get; }

    /// <summary>Whether the value in row <paramref name="row"/>, column <paramref name="column"/> is missing.</summary>
    public bool IsMissing(int row, int column) => double.IsNaN(this[row, column]);

    /// <summary>Number of rows (observations).</summary>
    public int Rows { get; }

    /// <summary>Number of columns (variables).</summary>
    public int Columns { get; }

    /// <summary>
    /// The columns' names, in column order: the header of a CSV file, or those given to <see cref="WithColumnNames"/>;
    /// <see langword="null"/> when the matrix has none (built from arrays, or read with <see cref="CsvHeader.Absent"/>).
    /// Names are non-empty, trimmed and distinct.
    /// </summary>
    public IReadOnlyList<string>? ColumnNames { get; }

    /// <summary>The 0-based index of the column named <paramref name="name"/> (compared exactly, after trimming).</summary>
    /// <exception cref="ArgumentException">No column has that name (the message lists the names there are).</exception>
    /// <exception cref="InvalidOperationException">The matrix has no column names.</exception>
    public int ColumnIndex(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (_names is null)
            throw new InvalidOperationException(
                $"The data has no column names (it was built from arrays or read with CsvHeader.Absent), so there is no column '{name}'; refer to columns by index 0..{Columns - 1}, or name them with WithColumnNames.");
        string key = name.Trim();
        int index = Array.IndexOf(_names, key);
        if (index >= 0) return index;
        var alike = _names.Where(n => string.Equals(n, key, StringComparison.OrdinalIgnoreCase)).ToList();
        throw new ArgumentException(
            $"No column is named '{name}'{(alike.Count > 0 ? $" (names are case-sensitive: did you mean '{alike[0]}'?)" : "")}; the columns are {string.Join(", ", _names.Select(n => $"'{n}'"))}.",
            nameof(name));
    }

    /// <summary>The same values with the columns named <paramref name="columnNames"/> (one per column; the values are shared, not copied).</summary>
    /// <param name="columnNames">One name per column, in order; surrounding whitespace is trimmed.</param>
    /// <exception cref="ArgumentException">The count differs from <see cref="Columns"/>, or a name is null, empty or repeated (the message names it).</exception>
    public DataMatrix WithColumnNames(IEnumerable<string> columnNames)
    {
        ArgumentNullException.ThrowIfNull(columnNames);
        var names = columnNames.Select(n => n?.Trim()!).ToArray();
        if (names.Length != Columns)
            throw new ArgumentException($"{names.Length} column name{(names.Length == 1 ? " was" : "s were")} given for {Columns} column{(Columns == 1 ? "" : "s")}.", nameof(columnNames));
        var problem = NameProblem(names);
        if (problem is not null) throw new ArgumentException(problem, nameof(columnNames));
        return new DataMatrix(_values, Rows, Columns, names, HasMissingValues);
    }

    /// <summary>Why a list of column names is unusable (an empty or null name, or repeated names), or null when it is fine.</summary>
    internal static string? NameProblem(string?[] names)
    {
        for (int j = 0; j < names.Length; j++)
            if (string.IsNullOrWhiteSpace(names[j]))
                return $"column {j + 1} has {(names[j] is null ? "a null" : "an empty")} name; every column needs a name (R's write.csv puts its row names under an empty name: write with row.names = FALSE).";
        var repeated = names.Select((n, j) => (Name: n!, Column: j + 1)).GroupBy(p => p.Name, StringComparer.Ordinal).Where(g => g.Count() > 1).ToList();
        if (repeated.Count == 0) return null;
        return "column names must be distinct, but " + string.Join("; ", repeated.Select(g => $"'{g.Key}' names columns {string.Join(" and ", g.Select(p => p.Column))}")) + ".";
    }

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

    /// <summary>The column names' storage, or null (never exposed mutable).</summary>
    internal string[]? Names => _names;

    /// <summary>Row-major storage, for the engine (never exposed mutable).</summary>
    internal ReadOnlySpan<double> Values => _values;

    /// <summary>One row, for the engine.</summary>
    internal ReadOnlySpan<double> Row(int row) => _values.AsSpan(row * Columns, Columns);

    /// <summary>Rows [<paramref name="start"/>, <paramref name="start"/> + <paramref name="rows"/>) as a chunk, without copying (engine use only).</summary>
    internal DataChunk Chunk(int start, int rows) => new(_values.AsMemory(start * Columns, rows * Columns), start, rows, Columns, HasMissingValues);

    /// <summary>All rows as one chunk.</summary>
    internal DataChunk All => Chunk(0, Rows);

    /// <summary>Wraps already validated storage without copying (engine use only).</summary>
    internal static DataMatrix Wrap(double[] rowMajor, int rows, int columns, string[]? names = null) => new(rowMajor, rows, columns, names);

    /// <summary>The first missing entry among <paramref name="columns"/> (row-major order), or null.</summary>
    internal (int Row, int Column)? FirstMissing(IReadOnlyCollection<int> columns)
    {
        if (!HasMissingValues) return null;
        for (int i = 0; i < Rows; i++)
            foreach (int j in columns)
                if (j < Columns && double.IsNaN(_values[i * Columns + j])) return (i, j);
        return null;
    }

    /// <summary>Copies a rectangular array (F#: <c>float[,]</c>).</summary>
    /// <exception cref="ArgumentException">Empty, or a value is NaN or infinite.</exception>
    public static DataMatrix From(double[,] values) => From(values, MissingValues.Reject);

    /// <summary>
    /// Copies a rectangular array (F#: <c>float[,]</c>); with <see cref="MissingValues.Allow"/> a NaN entry is kept as a
    /// missing value (see <see cref="HasMissingValues"/>), which a fit marginalises under
    /// <see cref="Inference.MissingValuePolicy.Marginalize"/>.
    /// </summary>
    /// <exception cref="ArgumentException">Empty, a value is infinite, or (under <see cref="MissingValues.Reject"/>) NaN; the message names the row and column.</exception>
    public static DataMatrix From(double[,] values, MissingValues missing)
    {
        ArgumentNullException.ThrowIfNull(values);
        int rows = values.GetLength(0), cols = values.GetLength(1);
        RequireNonEmpty(rows, cols);
        var data = new double[ArraySize.Argument(rows, cols, nameof(values), () => $"{rows:N0} rows × {cols:N0} columns")];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
                data[i * cols + j] = missing == MissingValues.Allow && double.IsNaN(values[i, j]) ? double.NaN : RequireFinite(values[i, j], i, j);
        return new DataMatrix(data, rows, cols);
    }

    /// <summary>
    /// Copies a rectangular array in which the entries whose <paramref name="observedMask"/> is false are missing
    /// (stored as NaN, whatever <paramref name="values"/> holds there); the observed entries must be finite.
    /// </summary>
    /// <param name="values">The values, rows × columns.</param>
    /// <param name="observedMask">true where the value is observed; the same shape as <paramref name="values"/>.</param>
    /// <exception cref="ArgumentException">The shapes differ (the message gives both), the data is empty, or an observed value is NaN or infinite.</exception>
    public static DataMatrix WithMissing(double[,] values, bool[,] observedMask)
    {
        ArgumentNullException.ThrowIfNull(values);
        ArgumentNullException.ThrowIfNull(observedMask);
        int rows = values.GetLength(0), cols = values.GetLength(1);
        if (observedMask.GetLength(0) != rows || observedMask.GetLength(1) != cols)
            throw new ArgumentException(
                $"The observed mask is {observedMask.GetLength(0)} × {observedMask.GetLength(1)} but the values are {rows} × {cols}; they must have the same shape.", nameof(observedMask));
        RequireNonEmpty(rows, cols);
        var data = new double[ArraySize.Argument(rows, cols, nameof(values), () => $"{rows:N0} rows × {cols:N0} columns")];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
                data[i * cols + j] = observedMask[i, j] ? RequireFinite(values[i, j], i, j) : double.NaN;
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

    /// <summary>
    /// Reads a CSV file of numbers whose first line names the columns (comma-separated, decimal point), keeping the
    /// names as <see cref="ColumnNames"/>. For other files use <see cref="ReadCsv(string, CsvOptions)"/>.
    /// </summary>
    /// <param name="path">The file (UTF-8, with or without a byte order mark; LF or CRLF line endings).</param>
    /// <exception cref="FormatException">The file does not hold a header and a table of finite numbers, e.g. its first line
    /// is all numbers (pass <see cref="CsvHeader.Absent"/>); see <see cref="ReadCsv(string, CsvOptions)"/>.</exception>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    public static DataMatrix ReadCsv(string path) => CsvFile.Read(path, CsvOptions.Default);

    /// <summary>
    /// Reads a CSV file of numbers, streaming it into the matrix (the file's text is not held in memory).
    /// </summary>
    /// <remarks>
    /// <para>Format: one row per line, cells split at <see cref="CsvOptions.Separator"/>; a cell may be quoted
    /// (<c>"3.6"</c>, RFC 4180: a quoted cell may hold the separator, doubled quotes and line breaks); spaces and tabs
    /// around a cell are ignored. Numbers use <see cref="CsvOptions.DecimalSeparator"/> and may have an exponent
    /// (<c>1.5e-3</c>); thousands separators are not accepted. UTF-8 (a byte order mark is skipped; UTF-16 with a byte
    /// order mark is also read), LF or CRLF line endings, with or without a final line break.</para>
    /// <para>Header: with <see cref="CsvHeader.Present"/> (the default) the first line names the columns; names are
    /// trimmed and must be non-empty and distinct. A first line of only numbers is an error rather than a lost row; with
    /// <see cref="CsvHeader.Absent"/> a non-numeric first line is an error saying the file seems to have a header.</para>
    /// <para>Blank lines at the end of the file are ignored; a blank line with data after it is an error (in a
    /// one-column file it would be a missing value). Line numbers in messages are the file's own (1-based, the header
    /// and blank lines counted, a quoted cell's line breaks too).</para>
    /// </remarks>
    /// <param name="path">The file.</param>
    /// <param name="options">Header, separator and decimal mark; <see cref="CsvOptions.Default"/> for a headed, comma-separated file.</param>
    /// <exception cref="FormatException">
    /// The file is empty or has a header but no rows; a row's number of cells differs from the header's or the first
    /// row's; a cell is empty or a missing-value mark (NA, NaN, ...) without <see cref="CsvOptions.MissingValues"/> allowing it, or is infinite (inf, ∞, a number beyond ±1.8e308) or not
    /// a number under the options; the header is all numbers, or has an empty or repeated name; the quoting is
    /// malformed. The message names the file, the line, and for a cell its 1-based column number, header name and text.
    /// </exception>
    /// <exception cref="ArgumentException">The options are inconsistent (e.g. a separator equal to the decimal mark); the message names the option.</exception>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    public static DataMatrix ReadCsv(string path, CsvOptions options) => CsvFile.Read(path, options);

    private static void RequireNonEmpty(int rows, int cols)
    {
        if (rows == 0) throw new ArgumentException("The data has no rows.");
        if (cols == 0) throw new ArgumentException("The data has no columns.");
    }

    private static double RequireFinite(double v, int row, int col)
    {
        if (double.IsNaN(v))
            throw new ArgumentException(
                $"Row {row}, column {col} is NaN. A missing value must be declared: build the data with DataMatrix.From(values, MissingValues.Allow) or DataMatrix.WithMissing(values, observedMask), and fit with FitOptions.MissingValues = MissingValuePolicy.Marginalize.");
        if (double.IsInfinity(v)) throw new ArgumentException($"Row {row}, column {col} is {(v > 0 ? "+∞" : "−∞")}; data must be finite.");
        return v;
    }
}

/// <summary>Whether a <see cref="DataMatrix"/> being built accepts missing values (NaN entries).</summary>
public enum MissingValues
{
    /// <summary>A NaN entry is an error naming its row and column (the default).</summary>
    Reject,

    /// <summary>A NaN entry is a missing value; a fit needs <see cref="Inference.FitOptions.MissingValues"/> = <see cref="Inference.MissingValuePolicy.Marginalize"/>.</summary>
    Allow,
}
