using EmDsl.Data;

namespace EmDsl.Tests.Online;

/// <summary>
/// A test-only streamed source that is not a matrix source: it hands out at most <c>rowsPerRead</c> rows per
/// <see cref="DataSourceReader.Read"/> call (so the engine must assemble whole chunks from short reads), and counts
/// how many readers were opened (passes).
/// </summary>
internal sealed class TrickleSource(double[][] data, IReadOnlyList<string>? names, int rowsPerRead = 5, bool knowsRowCount = false)
    : DataSource(data[0].Length, names)
{
    public TrickleSource(DataMatrix data, int rowsPerRead = 5, bool knowsRowCount = false)
        : this(Enumerable.Range(0, data.Rows).Select(data.GetRow).ToArray(), data.ColumnNames, rowsPerRead, knowsRowCount) { }

    /// <summary>Raw rows, which may hold values a <see cref="DataMatrix"/> refuses (NaN).</summary>
    public TrickleSource(double[][] rows, int rowsPerRead = 5) : this(rows, null, rowsPerRead) { }

    public int ReadersOpened { get; private set; }

    public override long? RowCount => knowsRowCount ? data.Length : null;

    public override string Description => "the trickle source 'test'";

    public override DataSourceReader OpenReader()
    {
        ReadersOpened++;
        return new Reader(data, rowsPerRead);
    }

    private sealed class Reader(double[][] data, int rowsPerRead) : DataSourceReader
    {
        private int _next;

        public override int Read(Span<double> destination)
        {
            int c = data[0].Length;
            int rows = Math.Min(Math.Min(destination.Length / c, rowsPerRead), data.Length - _next);
            for (int i = 0; i < rows; i++, _next++)
                for (int j = 0; j < c; j++) destination[i * c + j] = data[_next][j];
            return rows;
        }
    }
}
