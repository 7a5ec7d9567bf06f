using System.Buffers;
using Parquet;
using Parquet.Schema;

namespace EmDsl.Data;

/// <summary>
/// Numeric columns of a Parquet file (read with Parquet.Net), one row group at a time: a reader holds the requested
/// columns of one row group as doubles, never the file. Accepted column types: double, float, and the integer types
/// (8-, 16-, 32- and 64-bit, signed or not), each converted exactly to a double (a 64-bit integer beyond ±2⁵³ that a
/// double cannot hold exactly is an error); a null is NaN, a missing value. Other types (strings, booleans, dates,
/// decimals, lists, structs) are refused with an <see cref="InvalidDataException"/>.
/// </summary>
internal sealed class ParquetSource : DataSource
{
    private readonly string _path;
    private readonly string[] _names;

    private ParquetSource(string path, string[] names, long rows)
        : base(names.Length, names)
    {
        _path = path;
        _names = names;
        RowCount = rows;
    }

    public override long? RowCount { get; }

    public override string Description => $"the file '{_path}'";

    public override DataSourceReader OpenReader() => new Reader(this);

    /// <summary>Reads the schema and row-group sizes and checks the requested columns.</summary>
    public static ParquetSource Open(string path, IReadOnlyList<string>? columns)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (columns is not null)
        {
            if (columns.Count == 0) throw new ArgumentException($"No columns of '{path}' were requested; pass null for all of them.", nameof(columns));
            if (columns.Any(c => c is null)) throw new ArgumentException($"A requested column name of '{path}' is null.", nameof(columns));
            var repeated = columns.GroupBy(c => c).FirstOrDefault(g => g.Count() > 1);
            if (repeated is not null) throw new ArgumentException($"The column '{repeated.Key}' of '{path}' is requested more than once.", nameof(columns));
        }
        using var stream = OpenStream(path);
        var reader = Open(path, stream);
        try
        {
            var fields = reader.Schema.Fields;
            var names = (columns ?? fields.Select(f => f.Name).ToArray()).ToArray();
            foreach (var name in names)
            {
                var field = fields.FirstOrDefault(f => f.Name == name)
                    ?? throw new ArgumentException(
                        $"The file '{path}' has no column '{name}'; its columns are {string.Join(", ", fields.Select(f => $"'{f.Name}' ({TypeName(f)})"))}.",
                        nameof(columns));
                Check(path, field, columns is null);
            }
            long rows = 0;
            for (int g = 0; g < reader.RowGroupCount; g++)
            {
                using var group = reader.OpenRowGroupReader(g);
                rows += group.RowCount;
            }
            if (rows == 0) throw new InvalidDataException($"The file '{path}' has no rows.");
            return new ParquetSource(path, names, rows);
        }
        finally
        {
            Sync(() => reader.DisposeAsync().AsTask());
        }
    }

    private static FileStream OpenStream(string path) =>
        new(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);

    private static ParquetReader Open(string path, Stream stream)
    {
        try
        {
            return Sync(() => ParquetReader.CreateAsync(stream, leaveStreamOpen: true));
        }
        catch (Exception e) when (e is not (OutOfMemoryException or UnauthorizedAccessException or OperationCanceledException))
        {
            throw new InvalidDataException($"The file '{path}' could not be read as Parquet: {e.Message}", e);
        }
    }

    /// <summary>Runs Parquet.Net's asynchronous call on the thread pool and waits (no synchronization context to deadlock on).</summary>
    private static T Sync<T>(Func<Task<T>> work) => Task.Run(work).GetAwaiter().GetResult();

    private static void Sync(Func<Task> work) => Task.Run(work).GetAwaiter().GetResult();

    private static readonly Type[] Accepted =
        [typeof(double), typeof(float), typeof(sbyte), typeof(byte), typeof(short), typeof(ushort), typeof(int), typeof(uint), typeof(long), typeof(ulong)];

    private static string TypeName(Field field) => field switch
    {
        DataField { IsArray: true } d => $"list of {Short(d.ClrType)}",
        DataField d => Short(d.ClrType),
        _ => field.SchemaType.ToString().ToLowerInvariant(),
    };

    private static string Short(Type type) =>
        type == typeof(ReadOnlyMemory<char>) || type == typeof(string) ? "string"
        : type == typeof(ReadOnlyMemory<byte>) || type == typeof(byte[]) ? "binary"
        : type == typeof(bool) ? "bool"
        : type.Name.ToLowerInvariant() switch { "single" => "float", "int32" => "int32", var n => n };

    private static void Check(string path, Field field, bool all)
    {
        if (field is DataField { IsArray: false } d && Accepted.Contains(d.ClrType)) return;
        throw new InvalidDataException(
            $"The file '{path}', column '{field.Name}' is of type {TypeName(field)}, which is not numeric; accepted are double, float and integer columns" +
            $"{(all ? " (all columns are read unless you pass the names of the numeric ones to DataSource.Parquet)" : "")}.");
    }

    private sealed class Reader : DataSourceReader
    {
        private readonly ParquetSource _source;
        private readonly FileStream _stream;
        private readonly ParquetReader _reader;
        private readonly DataField[] _fields;
        private double[] _group = []; // column-major: column j's values of the current row group at j·_groupRows
        private int _groupIndex = -1;
        private long _groupRows;
        private long _inGroup;
        private long _firstRowOfGroup;
        private bool _disposed;

        public Reader(ParquetSource source)
        {
            _source = source;
            _stream = OpenStream(source._path);
            try
            {
                _reader = Open(source._path, _stream);
                var fields = _reader.Schema.Fields;
                _fields = new DataField[source._names.Length];
                for (int j = 0; j < _fields.Length; j++)
                {
                    var field = fields.FirstOrDefault(f => f.Name == source._names[j])
                        ?? throw new InvalidDataException($"{source.Subject} changed since the source was opened: it has no column '{source._names[j]}' now.");
                    Check(source._path, field, false);
                    _fields[j] = (DataField)field;
                }
            }
            catch
            {
                _stream.Dispose();
                throw;
            }
        }

        public override int Read(Span<double> destination)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            int columns = _fields.Length;
            int capacity = destination.Length / columns;
            int rows = 0;
            while (rows < capacity)
            {
                if (_inGroup == _groupRows && !NextGroup()) break;
                int take = (int)Math.Min(capacity - rows, _groupRows - _inGroup);
                for (int j = 0; j < columns; j++)
                {
                    var column = _group.AsSpan((int)(j * _groupRows + _inGroup), take);
                    for (int i = 0; i < take; i++) destination[(rows + i) * columns + j] = column[i];
                }
                rows += take;
                _inGroup += take;
            }
            return rows;
        }

        private bool NextGroup()
        {
            _firstRowOfGroup += _groupRows;
            if (_groupIndex + 1 >= _reader.RowGroupCount)
            {
                if (_firstRowOfGroup != _source.RowCount)
                    throw new InvalidDataException($"{_source.Subject} changed since the source was opened: it had {_source.RowCount:N0} rows and now has {_firstRowOfGroup:N0}.");
                _groupRows = _inGroup = 0;
                return false;
            }
            _groupIndex++;
            using var group = _reader.OpenRowGroupReader(_groupIndex);
            long n = group.RowCount;
            long size = n * _fields.Length;
            if (size > Array.MaxLength)
                throw new InvalidOperationException($"{_source.Subject}: row group {_groupIndex} has {n:N0} rows × {_fields.Length} columns {Numerics.ArraySize.TooLarge(size)}.");
            if (_group.Length < size) _group = new double[size];
            for (int j = 0; j < _fields.Length; j++)
            {
                var field = _fields[j];
                var values = _group.AsMemory((int)(j * n), (int)n);
                try
                {
                    Sync(() => ReadColumn(group, field, values, j));
                }
                catch (Exception e) when (e is not (InvalidDataException or OutOfMemoryException))
                {
                    throw new InvalidDataException($"{_source.Subject}, column '{field.Name}', row group {_groupIndex}: the values could not be read ({e.Message}).", e);
                }
            }
            _groupRows = n;
            _inGroup = 0;
            return n > 0 || NextGroup();
        }

        private Task ReadColumn(ParquetRowGroupReader group, DataField field, Memory<double> values, int column)
        {
            var t = field.ClrType;
            if (t == typeof(double)) return ReadValues<double>(group, field, values, column, v => v);
            if (t == typeof(float)) return ReadValues<float>(group, field, values, column, v => v);
            if (t == typeof(sbyte)) return ReadValues<sbyte>(group, field, values, column, v => v);
            if (t == typeof(byte)) return ReadValues<byte>(group, field, values, column, v => v);
            if (t == typeof(short)) return ReadValues<short>(group, field, values, column, v => v);
            if (t == typeof(ushort)) return ReadValues<ushort>(group, field, values, column, v => v);
            if (t == typeof(int)) return ReadValues<int>(group, field, values, column, v => v);
            if (t == typeof(uint)) return ReadValues<uint>(group, field, values, column, v => v);
            if (t == typeof(long)) return ReadValues<long>(group, field, values, column, v => (double)v is var d && d < 9.2233720368547758E18 && (long)d == v ? d : Inexact(column, v));
            if (t == typeof(ulong)) return ReadValues<ulong>(group, field, values, column, v => (double)v is var d && d < 1.8446744073709552E19 && (ulong)d == v ? d : Inexact(column, v));
            throw new InvalidOperationException($"Unexpected column type {t}.");
        }

        private double Inexact<T>(int column, T value) =>
            throw new InvalidDataException(
                $"{_source.Subject}, column '{_fields[column].Name}' (row group {_groupIndex}) holds the integer {value}, which a double cannot represent exactly " +
                "(integers beyond ±2⁵³ lose digits); convert the column to double yourself if the rounding is acceptable.");

        private async Task ReadValues<T>(ParquetRowGroupReader group, DataField field, Memory<double> values, int column, Func<T, double> convert)
            where T : struct
        {
            int n = values.Length;
            if (field.IsNullable)
            {
                var buffer = ArrayPool<T?>.Shared.Rent(n);
                try
                {
                    await group.ReadAsync<T>(field, buffer.AsMemory(0, n)).ConfigureAwait(false);
                    var span = values.Span;
                    for (int i = 0; i < n; i++) span[i] = buffer[i] is { } v ? convert(v) : double.NaN;
                }
                finally
                {
                    ArrayPool<T?>.Shared.Return(buffer, clearArray: false);
                }
            }
            else
            {
                var buffer = ArrayPool<T>.Shared.Rent(n);
                try
                {
                    await group.ReadAsync<T>(field, buffer.AsMemory(0, n)).ConfigureAwait(false);
                    var span = values.Span;
                    for (int i = 0; i < n; i++) span[i] = convert(buffer[i]);
                }
                finally
                {
                    ArrayPool<T>.Shared.Return(buffer);
                }
            }
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing && !_disposed)
            {
                Sync(() => _reader.DisposeAsync().AsTask());
                _stream.Dispose();
            }
            _disposed = true;
        }
    }
}
