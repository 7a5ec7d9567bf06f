using CsvHelper;

namespace EmDsl.Data;

/// <summary>
/// A numeric CSV file streamed row by row: the header (or, without one, the first row) is read when the source is
/// made; each reader opens the file again and parses only the rows it hands out. It accepts exactly the files
/// <see cref="DataMatrix.ReadCsv(string, CsvOptions)"/> accepts, with the same messages, thrown as
/// <see cref="InvalidDataException"/>.
/// </summary>
internal sealed class CsvSource : DataSource
{
    private readonly string _path;
    private readonly CsvOptions _options;

    private CsvSource(string path, CsvOptions options, int columns, string[]? names)
        : base(columns, names)
    {
        _path = path;
        _options = options;
    }

    /// <summary>Reads the header and the first data row (there must be one) and makes the source.</summary>
    public static CsvSource Open(string path, CsvOptions options)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(options);
        CsvFile.Validate(options);
        var rows = Rows(path, options);
        using (var reader = rows.Open())
        {
            if (!rows.Next(reader)) throw rows.NoData();
            rows.Parse(reader, new double[rows.Columns]);
        }
        return new CsvSource(path, options, rows.Columns, rows.Names);
    }

    private static CsvFile.CsvRows Rows(string path, CsvOptions options) =>
        new(path, options, message => new InvalidDataException(message));

    public override long? RowCount => null;

    public override string Description => $"the file '{_path}'";

    public override DataSourceReader OpenReader() => new Reader(this);

    private sealed class Reader : DataSourceReader
    {
        private readonly CsvSource _source;
        private readonly CsvFile.CsvRows _rows;
        private readonly CsvReader _reader;
        private bool _done;
        private bool _checked;
        private bool _disposed;

        public Reader(CsvSource source)
        {
            _source = source;
            _rows = Rows(source._path, source._options);
            _reader = _rows.Open();
        }

        public override int Read(Span<double> destination)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            int columns = _source.Columns;
            int capacity = destination.Length / columns;
            int rows = 0;
            while (rows < capacity && !_done)
            {
                if (!_rows.Next(_reader))
                {
                    _done = true;
                    break;
                }
                if (!_checked && (_rows.Columns != columns || !SameNames(_rows.Names, _source.ColumnNames)))
                    throw new InvalidDataException(
                        $"{_source.Subject} changed since the source was opened: its {(_rows.Names is null ? "first row" : "header")} now gives {_rows.Columns} column{(_rows.Columns == 1 ? "" : "s")}" +
                        $"{(_rows.Names is null ? "" : $" ({string.Join(", ", _rows.Names)})")} instead of {columns}{(_source.ColumnNames is null ? "" : $" ({string.Join(", ", _source.ColumnNames)})")}. " +
                        "A source must yield the same rows on every pass; do not write to the file during a fit.");
                _checked = true;
                _rows.Parse(_reader, destination.Slice(rows * columns, columns));
                rows++;
            }
            return rows;
        }

        private static bool SameNames(string[]? now, IReadOnlyList<string>? then) =>
            now is null ? then is null : then is not null && now.SequenceEqual(then);

        protected override void Dispose(bool disposing)
        {
            if (disposing && !_disposed) _reader.Dispose();
            _disposed = true;
        }
    }
}
