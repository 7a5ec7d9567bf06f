namespace EmDsl.Data;

/// <summary>
/// Rows [<see cref="FirstRow"/>, <see cref="FirstRow"/> + <see cref="Rows"/>) of a data source, row-major, with
/// <see cref="Columns"/> values per row: what the engine hands to observed blocks and latent structures during a
/// pass. Blocks read only the chunk they are given, never the whole data, so a source that streams chunks from
/// disk can serve them without any change to the blocks or families. <see cref="FirstRow"/> is the chunk's
/// position in the whole data, for messages that name a row.
/// </summary>
internal readonly struct DataChunk
{
    private readonly ReadOnlyMemory<double> _values;

    public DataChunk(ReadOnlyMemory<double> values, int firstRow, int rows, int columns, bool mayHaveMissing = false)
    {
        MayHaveMissing = mayHaveMissing;
        if (values.Length != rows * columns)
            throw new ArgumentException($"A chunk of {rows} rows × {columns} columns needs {rows * columns} values, not {values.Length}.", nameof(values));
        _values = values;
        FirstRow = firstRow;
        Rows = rows;
        Columns = columns;
    }

    /// <summary>Whether some value may be missing (NaN); false guarantees none is, so the blocks keep their fast path.</summary>
    public bool MayHaveMissing { get; }

    /// <summary>Index of the chunk's first row in the whole data.</summary>
    public int FirstRow { get; }

    /// <summary>Rows in the chunk.</summary>
    public int Rows { get; }

    /// <summary>Values per row.</summary>
    public int Columns { get; }

    /// <summary>The chunk's values, row-major (Rows × Columns).</summary>
    public ReadOnlySpan<double> Values => _values.Span;

    /// <summary>Row <paramref name="row"/> of the chunk (0-based within the chunk).</summary>
    public ReadOnlySpan<double> Row(int row) => _values.Span.Slice(row * Columns, Columns);
}
