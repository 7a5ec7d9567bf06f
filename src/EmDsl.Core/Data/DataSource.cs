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

    /// <summary>The 0-based index of the column named <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">No column has that name (the message lists the names there are).</exception>
    /// <exception cref="InvalidOperationException">The source has no column names.</exception>
    public int ColumnIndex(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (_names is null)
            throw new InvalidOperationException($"{Description} has no column names, so there is no column '{name}'; refer to columns by index 0..{Columns - 1}.");
        return DataMatrix.Wrap([], 0, _names.Length, _names).ColumnIndex(name);
    }

    /// <summary>The rows of an in-memory matrix (no copy), with its column names.</summary>
    public static DataSource FromMatrix(DataMatrix data) => new MatrixSource(data);

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
