namespace EmDsl.Data;

/// <summary>
/// The check a fit makes on every chunk it reads from a <see cref="DataSource"/> (readers pass values through
/// untouched, so ±∞, and NaN where missing values are not allowed, are caught here, with the source, row and column).
/// </summary>
internal static class DataSourceChecks
{
    /// <summary>
    /// Throws unless every value of <paramref name="chunk"/> (whole rows of <paramref name="columns"/> values, the first
    /// being row <paramref name="firstRow"/> of <paramref name="source"/>, counted from 0) is finite, or NaN when
    /// <paramref name="allowMissing"/>. ±∞ is never accepted.
    /// </summary>
    /// <exception cref="InvalidDataException">A value is ±∞, or NaN without <paramref name="allowMissing"/>; the message
    /// names the source, the row, the column (by index and name) and what to do.</exception>
    public static void RequireFinite(ReadOnlySpan<double> chunk, int columns, long firstRow, DataSource source, bool allowMissing)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (columns <= 0 || chunk.Length % columns != 0)
            throw new ArgumentException($"A chunk of {chunk.Length} values is not whole rows of {columns} columns.", nameof(chunk));
        for (int k = 0; k < chunk.Length; k++)
        {
            double v = chunk[k];
            if (double.IsFinite(v) || allowMissing && double.IsNaN(v)) continue;
            throw Bad(source, firstRow + k / columns, k % columns, v, allowMissing);
        }
    }

    private static InvalidDataException Bad(DataSource source, long row, int column, double value, bool allowMissing)
    {
        var names = source.ColumnNames;
        string where = $"{source.Subject}, row {row}, column {column}{(names is null ? "" : $" ('{names[column]}')")}";
        string why = double.IsNaN(value)
            ? "is NaN, a missing value, and this fit does not allow missing values (set FitOptions.MissingValues = MissingValuePolicy.Marginalize to marginalise them, or remove or impute them)"
            : $"is {(value > 0 ? "+∞" : "−∞")}; values must be finite";
        return new InvalidDataException($"{where} {why}.");
    }
}
