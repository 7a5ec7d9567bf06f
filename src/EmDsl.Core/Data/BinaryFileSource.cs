using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace EmDsl.Data;

/// <summary>
/// A file of row-major little-endian IEEE 754 float64 values with no header (what numpy's
/// <c>X.astype('&lt;f8').tofile(path)</c> writes): row 0's values, then row 1's, and so on. Each reader opens its own
/// handle and reads straight into the caller's buffer (no memory mapping, so the file's pages never count towards the
/// process's memory). Values are passed through untouched, NaN and ±∞ included.
/// </summary>
internal sealed class BinaryFileSource : DataSource
{
    private readonly string _path;
    private readonly long _length;

    public BinaryFileSource(string path, int columns, IReadOnlyList<string>? columnNames)
        : base(columns, columnNames)
    {
        _path = path;
        using var handle = Open(path);
        _length = RandomAccess.GetLength(handle);
        if (_length == 0)
            throw new InvalidDataException($"{Subject} is empty: it has no rows (a binary data file holds {RowBytes} bytes, {columns} float64 values, per row).");
        RequireWholeRows(_length);
        RowCount = _length / RowBytes;
    }

    private long RowBytes => 8L * Columns;

    public override long? RowCount { get; }

    public override string Description => $"the file '{_path}'";

    public override DataSourceReader OpenReader() => new Reader(this);

    private static SafeFileHandle Open(string path) =>
        File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan);

    /// <summary>Throws when <paramref name="length"/> bytes do not make whole rows.</summary>
    private void RequireWholeRows(long length)
    {
        long rest = length % RowBytes;
        if (rest == 0) return;
        long row = length / RowBytes;
        string values = rest % 8 == 0
            ? $"{rest / 8} of {Columns} values"
            : $"{rest / 8} of {Columns} values and {rest % 8} byte{(rest % 8 == 1 ? "" : "s")} of the next";
        throw new InvalidDataException(
            $"{Subject} ends in the middle of row {row:N0}: {values} ({length:N0} bytes is not a whole number of {RowBytes}-byte rows of {Columns} float64 values; " +
            "is the column count right, and was the file written completely?).");
    }

    /// <summary>Throws when the file's length is no longer what it was when the source was opened.</summary>
    private void RequireUnchanged(long length)
    {
        RequireWholeRows(length);
        if (length != _length)
            throw new InvalidDataException(
                $"{Subject} changed while it was being read: it had {_length / RowBytes:N0} rows when the source was opened and has {length / RowBytes:N0} now. " +
                "A source must yield the same rows on every pass; do not write to the file during a fit.");
    }

    private sealed class Reader : DataSourceReader
    {
        private readonly BinaryFileSource _source;
        private readonly SafeFileHandle _handle;
        private readonly long _rows;
        private long _next;

        public Reader(BinaryFileSource source)
        {
            _source = source;
            _handle = Open(source._path);
            try
            {
                source.RequireUnchanged(RandomAccess.GetLength(_handle));
            }
            catch
            {
                _handle.Dispose();
                throw;
            }
            _rows = source._length / source.RowBytes;
        }

        public override int Read(Span<double> destination)
        {
            ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
            int columns = _source.Columns;
            int rows = (int)Math.Min(destination.Length / columns, _rows - _next);
            if (rows <= 0)
            {
                if (_next == _rows && destination.Length >= columns) _source.RequireUnchanged(RandomAccess.GetLength(_handle));
                return 0;
            }
            var bytes = MemoryMarshal.AsBytes(destination[..(rows * columns)]);
            long offset = _next * _source.RowBytes;
            int got = 0;
            while (got < bytes.Length)
            {
                int n = RandomAccess.Read(_handle, bytes[got..], offset + got);
                if (n == 0) break;
                got += n;
            }
            if (got < bytes.Length)
            {
                // The file is shorter than it was: report where it ends now.
                _source.RequireUnchanged(offset + got);
            }
            if (!BitConverter.IsLittleEndian)
            {
                var words = MemoryMarshal.Cast<double, long>(destination[..(rows * columns)]);
                BinaryPrimitives.ReverseEndianness(words, words);
            }
            _next += rows;
            if (_next == _rows) _source.RequireUnchanged(RandomAccess.GetLength(_handle));
            return rows;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) _handle.Dispose();
        }
    }

    /// <summary>Writes <paramref name="data"/> in the format this source reads.</summary>
    public static void Write(string path, DataMatrix data)
    {
        using var handle = File.OpenHandle(path, FileMode.Create, FileAccess.Write, FileShare.None, FileOptions.SequentialScan, preallocationSize: 8L * data.Values.Length);
        const int block = 1 << 16; // values per write
        var buffer = BitConverter.IsLittleEndian ? null : new long[block];
        long offset = 0;
        for (int start = 0; start < data.Values.Length; start += block)
        {
            var values = data.Values.Slice(start, Math.Min(block, data.Values.Length - start));
            ReadOnlySpan<byte> bytes;
            if (buffer is null) bytes = MemoryMarshal.AsBytes(values);
            else
            {
                var words = buffer.AsSpan(0, values.Length);
                BinaryPrimitives.ReverseEndianness(MemoryMarshal.Cast<double, long>(values), words);
                bytes = MemoryMarshal.AsBytes(words);
            }
            RandomAccess.Write(handle, bytes, offset);
            offset += bytes.Length;
        }
    }
}
