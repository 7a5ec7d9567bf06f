namespace EmDsl.Data;

/// <summary>
/// Sequences of observations for a hidden Markov model: one <see cref="DataMatrix"/> holding every step of every
/// sequence, in order, and the length of each sequence. Build it from a list of matrices (one per sequence), from
/// one matrix and the sequences' lengths, or from one matrix with a sequence-id column. Immutable.
/// </summary>
public sealed class SequenceData
{
    private readonly int[] _starts;

    private SequenceData(DataMatrix data, int[] lengths)
    {
        Data = data;
        Lengths = lengths;
        _starts = new int[lengths.Length + 1];
        for (int s = 0; s < lengths.Length; s++) _starts[s + 1] = _starts[s] + lengths[s];
    }

    /// <summary>Every step of every sequence, sequence after sequence (the blocks read their columns from it).</summary>
    public DataMatrix Data { get; }

    /// <summary>The length of each sequence (each ≥ 1), in order.</summary>
    public IReadOnlyList<int> Lengths { get; }

    /// <summary>Number of sequences.</summary>
    public int Count => Lengths.Count;

    /// <summary>Total number of steps (rows of <see cref="Data"/>).</summary>
    public int Steps => Data.Rows;

    /// <summary>The row of <see cref="Data"/> where sequence <paramref name="sequence"/> starts.</summary>
    public int StartOf(int sequence)
    {
        if ((uint)sequence >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(sequence), sequence, $"Sequence {sequence} is outside 0..{Count - 1}.");
        return _starts[sequence];
    }

    /// <summary>Row offsets: sequence s occupies rows [Starts[s], Starts[s + 1]) (length Count + 1). Never modified.</summary>
    internal int[] Starts => _starts;

    /// <summary>A copy of one sequence's rows (with the column names of <see cref="Data"/>, if it has them).</summary>
    public DataMatrix Sequence(int sequence)
    {
        int start = StartOf(sequence), length = Lengths[sequence];
        int columns = Data.Columns;
        var values = Data.Values.Slice(start * columns, length * columns).ToArray();
        return DataMatrix.Wrap(values, length, columns, Data.Names);
    }

    /// <summary>All rows of <paramref name="data"/> as one sequence.</summary>
    public static SequenceData Single(DataMatrix data)
    {
        ArgumentNullException.ThrowIfNull(data);
        return new SequenceData(data, [data.Rows]);
    }

    /// <summary>One sequence per matrix, in order; every matrix must have the same columns (their names are kept when all matrices have the same names).</summary>
    /// <exception cref="ArgumentException">No sequences, a null sequence, or a column count that differs (the message names the sequence).</exception>
    public static SequenceData FromMatrices(IEnumerable<DataMatrix> sequences)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        var list = sequences.ToList();
        if (list.Count == 0) throw new ArgumentException("No sequences were given.", nameof(sequences));
        for (int s = 0; s < list.Count; s++)
        {
            if (list[s] is null) throw new ArgumentException($"Sequence {s} is null.", nameof(sequences));
            if (list[s].Columns != list[0].Columns)
                throw new ArgumentException($"Sequence {s} has {list[s].Columns} columns but sequence 0 has {list[0].Columns}; every sequence needs the same columns.", nameof(sequences));
        }
        int columns = list[0].Columns;
        long total = list.Sum(m => (long)m.Rows * columns);
        if (total > Array.MaxLength)
            throw new ArgumentException($"The sequences hold {total} values, more than one array can ({Array.MaxLength}).", nameof(sequences));
        var values = new double[total];
        int offset = 0;
        foreach (var m in list)
        {
            m.Values.CopyTo(values.AsSpan(offset));
            offset += m.Rows * columns;
        }
        var names = list.All(m => m.Names is not null && m.Names.SequenceEqual(list[0].Names!)) ? list[0].Names : null;
        return new SequenceData(DataMatrix.Wrap(values, values.Length / columns, columns, names), list.Select(m => m.Rows).ToArray());
    }

    /// <summary>One sequence per rectangular array (F#: a list of <c>float[,]</c>), each validated like <see cref="DataMatrix.From(double[,])"/>.</summary>
    public static SequenceData FromArrays(IEnumerable<double[,]> sequences)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        var matrices = new List<DataMatrix>();
        int s = 0;
        foreach (var a in sequences)
        {
            if (a is null) throw new ArgumentException($"Sequence {s} is null.", nameof(sequences));
            if (a.GetLength(0) == 0) throw new ArgumentException($"Sequence {s} has length 0; every sequence needs at least one step.", nameof(sequences));
            try { matrices.Add(DataMatrix.From(a)); }
            catch (ArgumentException e) { throw new ArgumentException($"Sequence {s}: {e.Message}", nameof(sequences), e); }
            s++;
        }
        return FromMatrices(matrices);
    }

    /// <summary>
    /// Splits the rows of <paramref name="data"/> into consecutive sequences of the given lengths, which must be
    /// ≥ 1 and add up to the number of rows.
    /// </summary>
    /// <exception cref="ArgumentException">A length below 1 (the message names the sequence), or lengths whose sum is not the number of rows.</exception>
    public static SequenceData FromLengths(DataMatrix data, IEnumerable<int> lengths)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(lengths);
        var l = lengths.ToArray();
        if (l.Length == 0) throw new ArgumentException("No sequence lengths were given.", nameof(lengths));
        long total = 0;
        for (int s = 0; s < l.Length; s++)
        {
            if (l[s] < 1) throw new ArgumentException($"Sequence {s} has length {l[s]}; every sequence needs at least one step.", nameof(lengths));
            total += l[s];
        }
        if (total != data.Rows)
            throw new ArgumentException($"The {l.Length} sequence lengths add up to {total} steps, but the data has {data.Rows} rows; they must be equal.", nameof(lengths));
        return new SequenceData(data, l);
    }

    /// <summary>
    /// Splits the rows of <paramref name="data"/> at changes of the sequence id in column <paramref name="idColumn"/>:
    /// each run of equal ids is one sequence, in row order. The rows of a sequence must be contiguous (sort by id,
    /// keeping each sequence's order). The id column stays in the data; blocks should not read it.
    /// </summary>
    /// <exception cref="ArgumentException">A column outside the data, or an id that reappears after another sequence (the message names the id and rows).</exception>
    public static SequenceData FromIdColumn(DataMatrix data, int idColumn)
    {
        ArgumentNullException.ThrowIfNull(data);
        if ((uint)idColumn >= (uint)data.Columns)
            throw new ArgumentOutOfRangeException(nameof(idColumn), idColumn, $"The sequence-id column {idColumn} is outside the data's columns 0..{data.Columns - 1}.");
        var lengths = new List<int>();
        var seen = new Dictionary<double, (int First, int Last)>();
        int start = 0;
        for (int r = 1; r <= data.Rows; r++)
        {
            if (r < data.Rows && data[r, idColumn] == data[start, idColumn]) continue;
            double id = data[start, idColumn];
            if (seen.TryGetValue(id, out var earlier))
                throw new ArgumentException(
                    $"Sequence id {id} appears in rows {earlier.First}–{earlier.Last} and again from row {start}; the rows of a sequence must be contiguous (sort the data by sequence id, keeping each sequence's order).",
                    nameof(idColumn));
            seen[id] = (start, r - 1);
            lengths.Add(r - start);
            start = r;
        }
        return new SequenceData(data, lengths.ToArray());
    }

    /// <inheritdoc />
    public override string ToString() => $"{Count} sequence{(Count == 1 ? "" : "s")}, {Steps} steps, {Data.Columns} columns";
}
