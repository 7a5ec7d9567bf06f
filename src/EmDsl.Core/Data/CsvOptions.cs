namespace EmDsl.Data;

/// <summary>Whether the first line of a CSV file names the columns (see <see cref="CsvOptions.Header"/>).</summary>
public enum CsvHeader
{
    /// <summary>The first line names the columns (the default); it must not consist only of numbers.</summary>
    Present,

    /// <summary>There is no header: every line is a row of numbers, the first included.</summary>
    Absent,
}

/// <summary>
/// How <see cref="DataMatrix.ReadCsv(string, CsvOptions)"/> reads a file. Immutable; change a copy with <c>with</c>
/// (F#: <c>CsvOptions(Header = CsvHeader.Absent)</c>). The defaults read a comma-separated file with a header line and
/// a decimal point, as R's <c>write.csv</c>, pandas' <c>to_csv</c> and most tools write it.
/// </summary>
public sealed record CsvOptions
{
    /// <summary>A header line, comma separators, a decimal point.</summary>
    public static CsvOptions Default { get; } = new();

    /// <summary>Whether the first line names the columns. Default <see cref="CsvHeader.Present"/>.</summary>
    public CsvHeader Header { get; init; } = CsvHeader.Present;

    /// <summary>
    /// The character between cells: an ASCII character other than a quote, a letter, a digit, a line break, '.', '+',
    /// '-' or the <see cref="DecimalSeparator"/>. Default ','; use ';' for files written with a decimal comma, '\t' for
    /// tab-separated files.
    /// </summary>
    public char Separator { get; init; } = ',';

    /// <summary>
    /// The decimal mark of the numbers: '.' (the default) or ','. Thousands separators are not accepted: a cell that
    /// contains the other mark is an error, never read as a grouped number.
    /// </summary>
    public char DecimalSeparator { get; init; } = '.';

    /// <summary>
    /// Whether an empty cell or a missing-value mark (NA, NaN, N/A, #N/A, null, none, nil, missing, '.', '?', '-',
    /// case-insensitive) is read as a missing value (NaN, see <see cref="DataMatrix.HasMissingValues"/>) — with
    /// <see cref="Data.MissingValues.Allow"/> — or is an error naming the line and column (the default,
    /// <see cref="Data.MissingValues.Reject"/>). Infinite values are always an error.
    /// </summary>
    public MissingValues MissingValues { get; init; } = MissingValues.Reject;
}
