using EmDsl.Data;

namespace EmDsl.Building;

/// <summary>
/// Columns referred to by name: the checks made when a block or gating network is declared by name, the lookup
/// that turns names into the data's indices when a model is fitted, and the re-alignment of new data for a fit.
/// </summary>
internal static class ColumnNaming
{
    /// <summary>
    /// The names of a declaration, trimmed (as <see cref="DataMatrix"/> trims its names) and checked: none null or
    /// blank, none repeated, none in <paramref name="taken"/> (a regression's response among its covariates).
    /// </summary>
    /// <param name="owner">"Block 'x'" or "The gating", for messages.</param>
    /// <param name="what">"column" or "covariate column".</param>
    /// <param name="names">The names given.</param>
    /// <param name="parameter">The argument's name.</param>
    /// <param name="taken">Names already used by the declaration's responses.</param>
    public static string[] Checked(string owner, string what, IEnumerable<string> names, string parameter, string[]? taken = null)
    {
        ArgumentNullException.ThrowIfNull(names, parameter);
        var list = names.ToArray();
        var result = new string[list.Length];
        for (int i = 0; i < list.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(list[i]))
                throw new ArgumentException($"{owner}: {what} name {i} is {(list[i] is null ? "null" : "blank")}; name every column.", parameter);
            var name = list[i].Trim();
            if (Array.IndexOf(result, name, 0, i) >= 0)
                throw new ArgumentException($"{owner} lists {what} '{name}' twice.", parameter);
            if (taken is not null && Array.IndexOf(taken, name) >= 0)
                throw new ArgumentException($"{owner}: column '{name}' is both a response and a covariate.", parameter);
            result[i] = name;
        }
        return result;
    }

    /// <summary>Placeholder indices 0…count−1 for a block declared by name (replaced when the model is fitted).</summary>
    public static int[] Placeholders(int count, int start = 0) => Enumerable.Range(start, count).ToArray();

    /// <summary>The names quoted and comma-separated: 'a', 'b'.</summary>
    public static string Quote(IEnumerable<string> names) => string.Join(", ", names.Select(n => $"'{n}'"));

    /// <summary>Columns for display: names, indices, or both ("eruptions (0)").</summary>
    public static string Describe(IReadOnlyList<string>? names, IReadOnlyList<int>? indices) =>
        names is null ? string.Join(", ", indices!)
        : indices is null ? string.Join(", ", names)
        : string.Join(", ", names.Select((n, i) => $"{n} ({indices[i]})"));

    /// <summary>The data's indices of <paramref name="names"/>.</summary>
    /// <param name="data">The data, which must have column names.</param>
    /// <param name="names">The declared names.</param>
    /// <param name="owner">"Block 'x'" or "The gating", for messages.</param>
    /// <param name="verb">"names its columns" (or covariates), for the message when the data has no names.</param>
    /// <exception cref="ArgumentException">The data has no column names, or has no column of one of the names.</exception>
    public static int[] Indices(DataMatrix data, IReadOnlyList<string> names, string owner, string verb)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (names.Count == 0) return [];
        if (data.ColumnNames is null)
            throw new ArgumentException(
                $"{owner} {verb} ({Quote(names)}), but the data has no column names. Read the data with DataMatrix.ReadCsv from a file " +
                "whose first line is a header, or name its columns with WithColumnNames(...); or declare the block by column index.", nameof(data));
        var indices = new int[names.Count];
        for (int i = 0; i < indices.Length; i++)
        {
            try
            {
                indices[i] = data.ColumnIndex(names[i]);
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"{owner}: {e.Message.Replace(" (Parameter 'name')", "")}", nameof(data), e);
            }
        }
        return indices;
    }

    /// <summary>
    /// <paramref name="data"/> laid out as the data a model was fitted to: for every column the model reads by name,
    /// the new data's column of that name goes where the training data had it; columns read by index stay where they
    /// are. Returns <paramref name="data"/> itself when the model reads nothing by name or the names are already in
    /// place, so that a fit predicts on data whose columns come in another order.
    /// </summary>
    /// <param name="data">New data.</param>
    /// <param name="references">Every column the fitted model reads: its training index, its name (null when read by index) and its reader.</param>
    /// <param name="trainingNames">The training data's column names, given to the re-laid matrix.</param>
    public static DataMatrix Align(DataMatrix data, IReadOnlyList<(int Index, string? Name, string Owner)> references, IReadOnlyList<string>? trainingNames)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (references.All(r => r.Name is null)) return data;
        var sources = new int[references.Count];
        bool inPlace = true;
        for (int i = 0; i < references.Count; i++)
        {
            var (index, name, owner) = references[i];
            sources[i] = name is null ? index : Indices(data, [name], owner, "reads a column by name")[0];
            inPlace &= sources[i] == index;
        }
        if (inPlace) return data;
        int width = references.Max(r => r.Index) + 1;
        for (int i = 0; i < references.Count; i++)
            if (sources[i] >= data.Columns)
                throw new ArgumentException(
                    $"{references[i].Owner} reads column {sources[i]}, but the data has {data.Columns} column{(data.Columns == 1 ? "" : "s")}.", nameof(data));
        long size = (long)data.Rows * width;
        if (size > Array.MaxLength)
            throw new ArgumentException($"Re-ordering {data.Rows:N0} rows × {width:N0} columns to the fitted model's layout needs more than one array can hold.", nameof(data));
        var values = new double[size];
        var source = data.Values;
        for (int r = 0; r < data.Rows; r++)
            for (int i = 0; i < sources.Length; i++)
                values[(long)r * width + references[i].Index] = source[r * data.Columns + sources[i]];
        var names = trainingNames is not null && trainingNames.Count >= width ? trainingNames.Take(width).ToArray() : null;
        return DataMatrix.Wrap(values, data.Rows, width, names);
    }
}
