using EmDsl.Data;
using EmDsl.Numerics;

namespace EmDsl.Inference;

/// <summary>
/// A <see cref="DataSource"/> as a fit sees it after its first pass (the scan): the number of rows, every value
/// checked finite, and a seeded reservoir sample of rows that the starts (k-means++, random partitions) and the
/// block runtimes' initial frames are made from. The data itself is never held: each later pass re-reads the source.
/// </summary>
internal sealed class StreamedData
{
    private StreamedData(DataSource source, int rows, DataMatrix sample, bool hasMissing)
    {
        Source = source;
        Rows = rows;
        Sample = sample;
        HasMissing = hasMissing;
    }

    /// <summary>Whether some value of the source is missing (NaN), which the scan allows only when the fit marginalises missing values.</summary>
    public bool HasMissing { get; }

    public DataSource Source { get; }

    /// <summary>Rows in the source (counted by the scan; at most <see cref="int.MaxValue"/>).</summary>
    public int Rows { get; }

    /// <summary>The reservoir sample, its rows in source order; the whole data when it has no more rows than the sample size.</summary>
    public DataMatrix Sample { get; }

    /// <summary>Whether a pass has checked every chunk against the blocks' supports.</summary>
    public bool SupportChecked { get; set; }

    /// <summary>The default sample size: max(20·K·D, 10 000) rows, D the source's columns.</summary>
    public static int DefaultSampleRows(int states, int columns) => (int)Math.Min(int.MaxValue, Math.Max(20L * states * columns, 10_000));

    /// <summary>
    /// The scan: reads the source once in chunks of <paramref name="chunkRows"/>, checks that every value is finite
    /// (naming the source, row and column otherwise), counts the rows and keeps a reservoir sample of
    /// <paramref name="sampleRows"/> rows (Vitter's algorithm R with a <see cref="Random"/> seeded by
    /// <paramref name="seed"/>), sorted back into source order.
    /// </summary>
    public static StreamedData Scan(DataSource source, int sampleRows, int chunkRows, int seed, CancellationToken cancel, bool allowMissing = false)
    {
        ArgumentNullException.ThrowIfNull(source);
        int d = source.Columns;
        if (source.RowCount is { } known && known > int.MaxValue)
            throw new NotSupportedException($"{source.Description} has {known:N0} rows; a fit reads at most {int.MaxValue:N0} rows (split the data).");
        int chunk = (int)Math.Max(1, Math.Min(chunkRows, Math.Max(1, int.MaxValue / d)));
        var buffer = new double[ArraySize.Product(chunk, d, () => $"A chunk of {chunk:N0} rows × {d:N0} columns (lower FitOptions.ChunkRows)")];
        var reservoir = new double[ArraySize.Product(Math.Min(sampleRows, (int)Math.Min(source.RowCount ?? sampleRows, sampleRows)), d,
            () => $"The start sample of {sampleRows:N0} rows × {d:N0} columns (lower FitOptions.StartSampleRows)")];
        int capacity = reservoir.Length / d;
        var index = new long[capacity];
        var random = new Random(unchecked(seed * 7_919 + 104_729));
        long row = 0;
        bool hasMissing = false;
        using (var reader = source.OpenReader())
        {
            while (true)
            {
                cancel.ThrowIfCancellationRequested();
                int rows = ReadFull(reader, buffer, d, source);
                if (rows == 0) break;
                DataSourceChecks.RequireFinite(buffer.AsSpan(0, rows * d), d, row, source, allowMissing);
                if (allowMissing && !hasMissing) hasMissing = buffer.AsSpan(0, rows * d).ContainsAnyExceptInRange(double.MinValue, double.MaxValue);
                for (int i = 0; i < rows; i++, row++)
                {
                    if (row > int.MaxValue - 1)
                        throw new NotSupportedException($"{source.Description} has more than {int.MaxValue:N0} rows; a fit reads at most {int.MaxValue:N0} rows (split the data).");
                    long slot = row < capacity ? row : random.NextInt64(row + 1);
                    if (slot >= capacity) continue;
                    buffer.AsSpan(i * d, d).CopyTo(reservoir.AsSpan((int)slot * d, d));
                    index[slot] = row;
                }
                if (rows < chunk) break;
            }
        }
        if (row == 0) throw new ArgumentException($"{source.Description} has no rows.", nameof(source));
        if (source.RowCount is { } expected && expected != row)
            throw new InvalidDataException($"{source.Description} says it has {expected:N0} rows but its reader gave {row:N0}.");
        int m = (int)Math.Min(capacity, row);
        var order = Enumerable.Range(0, m).OrderBy(i => index[i]).ToArray();
        var sample = new double[m * d];
        for (int i = 0; i < m; i++) reservoir.AsSpan(order[i] * d, d).CopyTo(sample.AsSpan(i * d, d));
        return new StreamedData(source, (int)row, DataMatrix.Wrap(sample, m, d, source.ColumnNames?.ToArray()), hasMissing);
    }

    /// <summary>
    /// Reads exactly <paramref name="want"/> rows (rows <paramref name="row"/> onwards of a later pass) into
    /// <paramref name="buffer"/>; a source that ends sooner than it did on the scan is an error.
    /// </summary>
    public static void ReadPassRows(DataSourceReader reader, Span<double> buffer, int want, int row, int total, DataSource source)
    {
        int got = ReadFull(reader, buffer[..(want * source.Columns)], source.Columns, source);
        if (got < want)
            throw new InvalidDataException($"{source.Description} gave {row + got:N0} rows on this pass but {total:N0} on the first: a source must give the same rows on every pass.");
    }

    /// <summary>Reads whole chunks: fills <paramref name="buffer"/> unless the data ends, and returns the rows read.</summary>
    public static int ReadFull(DataSourceReader reader, Span<double> buffer, int columns, DataSource source)
    {
        int filled = 0, capacity = buffer.Length / columns;
        while (filled < capacity)
        {
            int got = reader.Read(buffer.Slice(filled * columns, (capacity - filled) * columns));
            if (got < 0 || got > capacity - filled)
                throw new InvalidDataException($"The reader of {source.Description} reported {got} rows for room for {capacity - filled}.");
            if (got == 0) break;
            filled += got;
        }
        return filled;
    }
}

internal sealed partial class CompiledModel
{
    /// <summary>A workspace for chunks of <paramref name="chunk"/> rows from the pool the in-memory passes use.</summary>
    private Workspace Rent(int chunk) => Workspaces(chunk).TryTake(out var ws) ? ws : NewWorkspace(chunk);

    /// <summary>Gives a workspace back to the pool (dropped if the pool has moved to another chunk size).</summary>
    private void Return(Workspace ws, int chunk)
    {
        var pool = _workspaces;
        if (pool.Chunk == chunk) pool.Pool.Add(ws);
    }

    /// <summary>
    /// One E-step over a streamed source under <paramref name="state"/>: the same chunks as the in-memory
    /// <see cref="Pass"/> (rows [c·C, (c+1)·C), C = the chunk rows, <see cref="ChunkRows"/>), read a group at a time into reused
    /// buffers, each group's chunks summed into the in-memory pass's slabs (a slab's chunks in order on one worker, the
    /// group's slabs in parallel) and the slabs added to the total in order, so the result is bit for bit the in-memory
    /// pass's, on any number of threads. log h is computed per chunk.
    /// </summary>
    public Summary StreamPass(StreamedData stream, ModelState state, FitOptions options, CancellationToken cancellationToken)
    {
        var source = stream.Source;
        int n = stream.Rows, d = source.Columns, chunk = ChunkRows(options, n);
        int dop = options.MaxDegreeOfParallelism == -1 ? Environment.ProcessorCount : options.MaxDegreeOfParallelism;
        int group = Math.Max(1, Math.Min(dop, 16));
        var buffers = new double[group][];
        var (h, bias) = Pack(state);
        var outputs = new PassOutputs();
        var total = NewSummary(state);
        int chunks = (n + chunk - 1) / chunk, slabs = SlabCount(chunks);
        var slabSummaries = new Summary[slabs];
        var rowsOf = new int[group];
        var segments = new List<(int Slab, int From, int To)>(group);
        var parallel = Parallelism(options, cancellationToken);
        int row = 0, firstChunk = 0, slab = 0;
        using var reader = source.OpenReader();
        while (row < n)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int count = 0;
            for (; count < group && row < n; count++)
            {
                buffers[count] ??= new double[ArraySize.Product(chunk, d, () => $"A chunk of {chunk:N0} rows × {d:N0} columns (lower FitOptions.ChunkRows)")];
                int want = Math.Min(chunk, n - row);
                StreamedData.ReadPassRows(reader, buffers[count], want, row, n, source);
                rowsOf[count] = want;
                row += want;
            }
            var starts = new int[count];
            for (int c = count - 1, s = row; c >= 0; c--) starts[c] = s -= rowsOf[c];
            // The group's chunks by slab (as the in-memory pass groups them): each slab's chunks in order on one worker.
            segments.Clear();
            for (int c = 0; c < count;)
            {
                while (SlabStart(slab + 1, chunks, slabs) <= firstChunk + c) slab++;
                int to = Math.Min(count, SlabStart(slab + 1, chunks, slabs) - firstChunk);
                segments.Add((slab, c, to));
                slabSummaries[slab] ??= NewSummary(state);
                c = to;
            }
            bool check = !stream.SupportChecked;
            ParallelWork.For(0, segments.Count, parallel, i =>
            {
                var (g, from, to) = segments[i];
                var ws = Rent(chunk);
                for (int c = from; c < to; c++)
                {
                    var data = new DataChunk(buffers[c].AsMemory(0, rowsOf[c] * d), starts[c], rowsOf[c], d, stream.HasMissing);
                    if (check) CheckSupport(data, source);
                    ProcessChunk(data, null, null, state, h, bias, outputs, ws, slabSummaries[g]);
                }
                Return(ws, chunk);
            });
            firstChunk += count;
        }
        foreach (var p in slabSummaries) if (p is not null) total.Add(p); // slab order, whatever the thread count
        var extra = new double[d];
        if (reader.Read(extra) != 0)
            throw new InvalidDataException($"{source.Description} gave more than {n:N0} rows on this pass: a source must give the same rows on every pass.");
        stream.SupportChecked = true;
        return total;
    }

    /// <summary>Checks every chunk of the source against the blocks' supports (throws at the first bad row, naming it).</summary>
    public void CheckSource(StreamedData stream, FitOptions options, CancellationToken cancellationToken)
    {
        var source = stream.Source;
        int d = source.Columns, chunk = ChunkRows(options, stream.Rows);
        var buffer = new double[chunk * d];
        using var reader = source.OpenReader();
        for (int row = 0; row < stream.Rows;)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int got = StreamedData.ReadFull(reader, buffer.AsSpan(0, Math.Min(chunk, stream.Rows - row) * d), d, source);
            if (got == 0) break;
            CheckSupport(new DataChunk(buffer.AsMemory(0, got * d), row, got, d, stream.HasMissing), source);
            row += got;
        }
        stream.SupportChecked = true;
    }

    /// <summary>The blocks' and latent structure's checks of a chunk, the message prefixed with the source.</summary>
    private void CheckSupport(DataChunk data, DataSource source)
    {
        try
        {
            foreach (var b in Blocks) b.Validate(data);
            Latent.Validate(data);
            if (data.MayHaveMissing) RequireMarginalisable(data);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"{source.Description}: {e.Message}", e);
        }
    }

    /// <summary>A missing value in a column that a block without marginalisation reads (a regression's, a factor block's) is an error naming it.</summary>
    private void RequireMarginalisable(DataChunk data)
    {
        foreach (var block in Model.Blocks)
        {
            if (block.SupportsMissing) continue;
            foreach (int column in block.Columns.Concat(block.Covariates))
                for (int i = 0; i < data.Rows; i++)
                    if (double.IsNaN(data.Row(i)[column]))
                        throw new NotSupportedException(
                            $"Row {data.FirstRow + i}, column {column} is missing, but block '{block.Name}' cannot marginalise missing values: remove the row or impute the value.");
        }
    }

    /// <summary>
    /// The summary of one chunk under <paramref name="state"/> (single-threaded; log h computed for the chunk): a
    /// partial E-step of incremental or stepwise EM.
    /// </summary>
    public Summary SummariseChunk(DataChunk data, ModelState state, int chunkCapacity)
    {
        var (h, bias) = Pack(state);
        var ws = Rent(chunkCapacity);
        try { return ProcessChunk(data, null, null, state, h, bias, new PassOutputs(), ws); }
        finally { Return(ws, chunkCapacity); }
    }
}
