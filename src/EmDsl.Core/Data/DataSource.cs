namespace EmDsl.Data;

/// <summary>
/// Rows of numbers that a fit reads chunk by chunk, from the first row to the last, as many times as it needs (once
/// per EM pass): a <see cref="DataMatrix"/> in memory, or a file that is never held in memory whole. A fit over a
/// source holds one chunk at a time plus the parameters and statistics, never the data.
/// <para>
/// Every source has a fixed number of <see cref="Columns"/> and, where it has them, <see cref="ColumnNames"/>.
/// Each <see cref="OpenReader"/> starts again at the first row and must yield the same rows in the same order every
/// time (a fit's passes and its determinism rely on it). To stream from somewhere else, derive from this class and
/// from <see cref="DataSourceReader"/>.
/// </para>
/// </summary>
public abstract class DataSource : IDisposable
{
    private readonly string[]? _names;

    /// <summary>A source of <paramref name="columns"/> columns, named <paramref name="columnNames"/> (or unnamed).</summary>
    /// <exception cref="ArgumentException">No columns, or names whose count differs from the columns, or an empty or repeated name.</exception>
    protected DataSource(int columns, IReadOnlyList<string>? columnNames)
    {
        if (columns <= 0) throw new ArgumentException($"A data source needs at least one column, not {columns}.", nameof(columns));
        if (columnNames is not null)
        {
            var names = columnNames.Select(n => n?.Trim()!).ToArray();
            if (names.Length != columns)
                throw new ArgumentException($"{names.Length} column name{(names.Length == 1 ? " was" : "s were")} given for {columns} column{(columns == 1 ? "" : "s")}.", nameof(columnNames));
            if (DataMatrix.NameProblem(names) is { } problem) throw new ArgumentException(problem, nameof(columnNames));
            _names = names;
            ColumnNames = Array.AsReadOnly(names);
        }
        Columns = columns;
    }

    /// <summary>Values per row.</summary>
    public int Columns { get; }

    /// <summary>The columns' names in order (a file's header or schema), or <see langword="null"/> when the source has none.</summary>
    public IReadOnlyList<string>? ColumnNames { get; }

    /// <summary>The number of rows when it is known without reading the data (a matrix, a binary file); otherwise <see langword="null"/>.</summary>
    public abstract long? RowCount { get; }

    /// <summary>What the source is, for messages: "the file 'x.bin'", "a 1 000 × 8 matrix".</summary>
    public abstract string Description { get; }

    /// <summary>Opens a reader positioned at the first row. Dispose it when done; a source may have several readers open at once.</summary>
    public abstract DataSourceReader OpenReader();

    /// <summary>The 0-based index of the column named <paramref name="name"/> (compared exactly, after trimming).</summary>
    /// <exception cref="ArgumentException">No column has that name (the message lists the names there are).</exception>
    /// <exception cref="InvalidOperationException">The source has no column names.</exception>
    public int ColumnIndex(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (_names is null)
            throw new InvalidOperationException($"{Subject} has no column names, so there is no column '{name}'; refer to columns by index 0..{Columns - 1}.");
        string key = name.Trim();
        int index = Array.IndexOf(_names, key);
        if (index >= 0) return index;
        var alike = _names.FirstOrDefault(n => string.Equals(n, key, StringComparison.OrdinalIgnoreCase));
        throw new ArgumentException(
            $"{Capitalized(Description)} has no column '{name}'{(alike is null ? "" : $" (names are case-sensitive: did you mean '{alike}'?)")}; " +
            $"its columns are {string.Join(", ", _names.Select(n => $"'{n}'"))}.",
            nameof(name));
    }

    /// <summary>The rows of an in-memory matrix (no copy), with its column names.</summary>
    public static DataSource FromMatrix(DataMatrix data)
    {
        ArgumentNullException.ThrowIfNull(data);
        return new MatrixSource(data);
    }

    /// <summary>
    /// A binary file of row-major, little-endian IEEE 754 float64 values with no header: row 0's
    /// <paramref name="columns"/> values, then row 1's, and so on (8 · <paramref name="columns"/> bytes per row). This is
    /// what numpy's <c>X.astype('&lt;f8').tofile(path)</c> and <see cref="WriteBinaryFile"/> write. The
    /// <see cref="RowCount"/> is the file's length / (8 · <paramref name="columns"/>). Each reader opens its own handle
    /// and reads into the caller's buffer (the file is not memory-mapped, so it never counts towards the process's
    /// memory). Values are passed through untouched: NaN and ±∞ are the fit's to check. The file must not change while
    /// the source is in use; a reader that finds it changed throws.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="columns">Values per row (the file does not record it).</param>
    /// <param name="columnNames">Optional names for the columns, one per column.</param>
    /// <exception cref="ArgumentException"><paramref name="columns"/> is not positive, or the names are wrong in number, empty or repeated.</exception>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="InvalidDataException">The file is empty, or its length is not a whole number of rows: the message names
    /// the file, the row it ends in the middle of (counted from 0) and how many of that row's values are present.</exception>
    public static DataSource BinaryFile(string path, int columns, IReadOnlyList<string>? columnNames = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (columns <= 0) throw new ArgumentException($"A binary data file needs at least one column per row, not {columns}.", nameof(columns));
        return new BinaryFileSource(path, columns, columnNames);
    }

    /// <summary>
    /// Writes <paramref name="data"/> as a binary file that <see cref="BinaryFile"/> reads: its values row-major as
    /// little-endian float64, no header (the column count and names are not stored). Replaces an existing file.
    /// </summary>
    /// <exception cref="IOException">The file cannot be written.</exception>
    public static void WriteBinaryFile(string path, DataMatrix data)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(data);
        BinaryFileSource.Write(path, data);
    }

    /// <summary>
    /// A numeric CSV file streamed row by row, never held whole. It accepts exactly the files
    /// <see cref="DataMatrix.ReadCsv(string, CsvOptions)"/> accepts (see there: header, separators, blank lines at the end
    /// only, no missing or infinite values), and reports the same problems with the same messages (file, line as numbered
    /// in the file, column), but as <see cref="InvalidDataException"/>, the type a <see cref="DataSourceReader"/> throws,
    /// rather than <see cref="FormatException"/>. The header and the first data row are read here (so the columns and
    /// their names are known, and a file without data is refused at once); each <see cref="OpenReader"/> opens the file
    /// again and parses rows as they are read, so a malformed row further down is reported by the read that reaches it.
    /// <see cref="RowCount"/> is <see langword="null"/> (unknown without reading the file).
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="options">Header, separator and decimal mark; <see cref="CsvOptions.Default"/> when null.</param>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="InvalidDataException">The file is empty or has no data rows, or its header or first row is malformed.</exception>
    public static DataSource Csv(string path, CsvOptions? options = null) => CsvSource.Open(path, options ?? CsvOptions.Default);

    /// <summary>
    /// Numeric columns of a Parquet file, read a row group at a time (a reader holds one row group of the requested
    /// columns, as doubles, not the file). Accepted column types: double, float and the integer types (8 to 64 bits,
    /// signed or unsigned), each converted exactly to a double; a 64-bit integer that a double cannot hold exactly
    /// (beyond ±2⁵³, not a multiple of the spacing there) makes the read throw. A null is NaN, a missing value (which a
    /// fit accepts only where it allows missing values). <see cref="RowCount"/> comes from the file's metadata.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="columns">The top-level columns to read, in this order; all of the file's columns when null (then every one must be numeric).</param>
    /// <exception cref="ArgumentException">A requested column is not in the file (the message lists the file's columns and their types), or a name is repeated, or the list is empty.</exception>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="InvalidDataException">The file is not Parquet, has no rows, or a requested column is not numeric (string, bool, date, decimal, list, struct): the message names the file, column and type.</exception>
    public static DataSource Parquet(string path, IReadOnlyList<string>? columns = null) => ParquetSource.Open(path, columns);

    /// <summary>The <see cref="Description"/> capitalized, to begin a message with.</summary>
    internal string Subject => Capitalized(Description);

    private static string Capitalized(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];

    /// <summary>Releases what the source holds open (nothing, for most sources).</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases resources; called by <see cref="Dispose()"/>.</summary>
    protected virtual void Dispose(bool disposing) { }
}

/// <summary>
/// Reads a <see cref="DataSource"/>'s rows in order, a block of whole rows at a time. Values must be finite unless the
/// fit allows missing values, which are NaN; the engine checks every value it is handed, so a reader need not.
/// </summary>
public abstract class DataSourceReader : IDisposable
{
    /// <summary>
    /// Fills <paramref name="destination"/> (whose length is a multiple of the source's column count) with the next rows,
    /// row-major, and returns how many rows it wrote: fewer than fit only at the end of the data, 0 once the data is
    /// exhausted.
    /// </summary>
    /// <exception cref="System.IO.InvalidDataException">The data is malformed (a file that ends in the middle of a row, a
    /// row with a different number of columns, a column of the wrong type); the message names the file, row and column.</exception>
    public abstract int Read(Span<double> destination);

    /// <summary>Releases the reader's file handles and buffers.</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases resources; called by <see cref="Dispose()"/>.</summary>
    protected virtual void Dispose(bool disposing) { }
}

/// <summary>An in-memory matrix as a source.</summary>
internal sealed class MatrixSource(DataMatrix data) : DataSource(data.Columns, data.ColumnNames)
{
    /// <summary>The matrix itself (the engine reads it without copying).</summary>
    public DataMatrix Data { get; } = data;

    public override long? RowCount => Data.Rows;

    public override string Description => $"the {Data.Rows:N0} × {Data.Columns:N0} matrix";

    public override DataSourceReader OpenReader() => new Reader(Data);

    private sealed class Reader(DataMatrix data) : DataSourceReader
    {
        private int _next;

        public override int Read(Span<double> destination)
        {
            int columns = data.Columns;
            int rows = Math.Min(destination.Length / columns, data.Rows - _next);
            data.Values.Slice(_next * columns, rows * columns).CopyTo(destination);
            _next += rows;
            return rows;
        }
    }
}
