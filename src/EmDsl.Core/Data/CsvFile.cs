using System.Globalization;
using CsvHelper;

namespace EmDsl.Data;

/// <summary>
/// Reads a numeric CSV file into a <see cref="DataMatrix"/>, streaming (CsvHelper's UTF-8 reader) into a growing
/// buffer of doubles; the file's text is never held. Every problem is a <see cref="FormatException"/> that names the
/// file, the line as numbered in the file (header and blank lines counted, 1-based) and, for a cell, the column by
/// 1-based number and header name. The row parser, <see cref="CsvRows"/>, is shared with the streamed
/// <see cref="CsvSource"/>, which throws the same messages as <see cref="InvalidDataException"/>.
/// </summary>
internal static class CsvFile
{
    public static DataMatrix Read(string path, CsvOptions options)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(options);
        Validate(options);
        var rows = new CsvRows(path, options, message => new FormatException(message));
        using var reader = rows.Open();
        var values = new double[4096];
        int count = 0, n = 0;
        while (rows.Next(reader))
        {
            int columns = rows.Columns;
            if ((long)count + columns > values.Length) values = Grow(values, count, columns, n, path);
            rows.Parse(reader, values.AsSpan(count, columns));
            count += columns;
            n++;
        }
        if (rows.Columns < 0 || n == 0) throw rows.NoData();
        Array.Resize(ref values, count);
        return DataMatrix.Wrap(values, n, rows.Columns, rows.Names);
    }

    private static double[] Grow(double[] values, int count, int columns, int rows, string path)
    {
        long needed = (long)count + columns;
        if (needed > Array.MaxLength)
            throw new InvalidOperationException($"{path}: {rows + 1:N0} rows × {columns:N0} columns {Numerics.ArraySize.TooLarge(needed)}.");
        long size = Math.Max(needed, Math.Min((long)values.Length * 2, Array.MaxLength));
        Array.Resize(ref values, (int)size);
        return values;
    }

    /// <summary>Checks the options (an <see cref="ArgumentException"/> naming the option).</summary>
    internal static void Validate(CsvOptions options)
    {
        if (!Enum.IsDefined(options.Header))
            throw new ArgumentException($"CsvOptions.Header is {(int)options.Header}, not CsvHeader.Present or CsvHeader.Absent.", nameof(options));
        if (options.DecimalSeparator is not ('.' or ','))
            throw new ArgumentException($"CsvOptions.DecimalSeparator is '{options.DecimalSeparator}'; it must be '.' or ','.", nameof(options));
        char s = options.Separator;
        if (s > 127 || s == '"' || s == '\r' || s == '\n' || s == '.' || s == '+' || s == '-' || char.IsLetterOrDigit(s) || s == options.DecimalSeparator)
            throw new ArgumentException(
                $"CsvOptions.Separator is '{s}', which cannot separate numbers{(s == options.DecimalSeparator ? " (it is also the DecimalSeparator; for a decimal comma use Separator = ';')" : "")}; use an ASCII character such as ',', ';' or '\\t'.",
                nameof(options));
    }

    /// <summary>
    /// One pass over a CSV file's rows: opens CsvHelper's reader, takes the header (or the first row's width), checks
    /// each record's blank lines and column count, and parses a data row's cells. <see cref="Read"/> (into a matrix)
    /// and the streamed <see cref="CsvSource"/> share it, so both accept the same files with the same messages;
    /// <paramref name="error"/> makes the exception (a <see cref="FormatException"/> for the one, an
    /// <see cref="InvalidDataException"/> for the other).
    /// </summary>
    internal sealed class CsvRows(string path, CsvOptions options, Func<string, Exception> error)
    {
        private readonly byte _otherMark = options.DecimalSeparator == '.' ? (byte)',' : (byte)'.';
        private string[]? _names;
        private int _columns = -1;
        private long _headerLine;
        private long _firstDataLine;
        private long _blankLine;

        /// <summary>The invariant number format with the chosen decimal mark, and no usable group separator.</summary>
        public NumberFormatInfo Numbers { get; } = NumberFormat(options.DecimalSeparator);

        /// <summary>The header's names once read (null without a header).</summary>
        public string[]? Names => _names;

        /// <summary>Values per row once the header or the first row has been read; −1 before.</summary>
        public int Columns => _columns;

        /// <summary>The line (1-based, as numbered in the file) of the record <see cref="Next"/> last returned.</summary>
        public long Line { get; private set; }

        private static NumberFormatInfo NumberFormat(char decimalSeparator)
        {
            var f = (NumberFormatInfo)CultureInfo.InvariantCulture.NumberFormat.Clone();
            f.NumberDecimalSeparator = decimalSeparator.ToString();
            f.NumberGroupSeparator = "\u2063"; // invisible separator: grouping is never accepted (and '.' / ',' are caught below)
            return NumberFormatInfo.ReadOnly(f);
        }

        /// <summary>Opens the file with CsvHelper's streaming UTF-8 reader.</summary>
        public CsvReader Open() => CsvReader.FromFile(path, new CsvReaderOptions
        {
            Separator = options.Separator,
            HasHeader = false,
            TrackLineNumbers = true,
            SkipEmptyLines = false,
            TrimWhitespace = true,
            MalformedData = CsvMalformedDataHandling.Throw,
            DetectSeparatorHint = false,
            FormatProvider = Numbers,
        });

        /// <summary>
        /// Advances to the next data row (taking the header on the way), or returns false at the end of the file.
        /// The row's cells are then parsed by <see cref="Parse"/>.
        /// </summary>
        public bool Next(CsvReader reader)
        {
            try
            {
                return NextRecord(reader);
            }
            catch (CsvFormatException e)
            {
                throw Malformed(e);
            }
        }

        private bool NextRecord(CsvReader reader)
        {
            while (true)
            {
                if (!reader.Read()) return false;
                long line = reader.LineNumber;
                Line = line;
                if (IsBlank(reader))
                {
                    if (_blankLine == 0) _blankLine = line;
                    continue;
                }
                if (_blankLine != 0)
                    throw error(
                        $"{path}, line {_blankLine}: the line is blank but line {line} below it has data. Blank lines are accepted only at the end of the file " +
                        "(in a one-column file a blank line would be a missing value, which EmDsl does not accept); remove it.");
                if (_columns < 0)
                {
                    if (options.Header == CsvHeader.Present)
                    {
                        _names = Header(reader, line);
                        _headerLine = line;
                        _columns = _names.Length;
                        continue;
                    }
                    _columns = reader.FieldCount;
                    _firstDataLine = line;
                }
                else if (_firstDataLine == 0) _firstDataLine = line;

                int n = reader.FieldCount;
                if (n != _columns) throw Arity(line, n);
                return true;
            }
        }

        private Exception Malformed(CsvFormatException e) => Wrap($"{path}, line {e.LineNumber}: the quoting is malformed ({e.Message}).", e);

        private Exception Wrap(string message, Exception inner)
        {
            var e = error(message);
            return e switch
            {
                FormatException => new FormatException(message, inner),
                InvalidDataException => new InvalidDataException(message, inner),
                _ => e,
            };
        }

        /// <summary>Parses the current data row's cells into <paramref name="values"/> (of length <see cref="Columns"/>).</summary>
        public void Parse(CsvReader reader, Span<double> values)
        {
            try
            {
                ParseCells(reader, values);
            }
            catch (CsvFormatException e)
            {
                throw Malformed(e);
            }
        }

        private void ParseCells(CsvReader reader, Span<double> values)
        {
            for (int j = 0; j < values.Length; j++)
            {
                if (options.MissingValues == MissingValues.Allow && IsMissingCell(reader.GetString(j).Trim()))
                {
                    values[j] = double.NaN;
                    continue;
                }
                if (!reader.TryParse(j, out values[j]) || !double.IsFinite(values[j]) || reader.GetSpan(j).IndexOf(_otherMark) >= 0)
                    throw Cell(reader, Line, j);
            }
        }

        /// <summary>The error for a file that ended without a data row.</summary>
        public Exception NoData() =>
            _columns < 0 || _names is null
                ? error($"{path} is empty{(_blankLine != 0 ? " (only blank lines)" : "")}: there is no {(options.Header == CsvHeader.Present ? "header line and no " : "")}data.")
                : error($"{path} has a header line ({NameList()}) but no data rows.");

        private static bool IsBlank(CsvReader reader)
        {
            if (reader.FieldCount != 1) return false;
            foreach (byte b in reader.RawRecord)
                if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r')) return false;
            return true;
        }

        private string[] Header(CsvReader reader, long line)
        {
            var names = new string[reader.FieldCount];
            bool allNumbers = true;
            for (int j = 0; j < names.Length; j++)
            {
                names[j] = reader.GetString(j).Trim();
                allNumbers &= reader.TryParse(j, out double v) && double.IsFinite(v) && reader.GetSpan(j).IndexOf(_otherMark) < 0;
            }
            if (allNumbers)
                throw error(
                    $"{path}, line {line}: the first line ({string.Join(options.Separator, names)}) consists only of numbers, so the file seems to have no header; " +
                    "read it with new CsvOptions { Header = CsvHeader.Absent } (with the default, CsvHeader.Present, that line would be taken as column names and its row lost).");
            var problem = DataMatrix.NameProblem(names);
            if (problem is not null)
                throw error($"{path}, line {line} (the header): {problem}");
            return names;
        }

        private string NameList() => _names is null ? "" : string.Join(", ", _names.Select(n => $"'{n}'"));

        private Exception Arity(long line, int n)
        {
            string expected = _names is not null
                ? $"the header (line {_headerLine}) names {_columns} column{(_columns == 1 ? "" : "s")} ({NameList()})"
                : $"line {_firstDataLine}, the first row, has {_columns}";
            string hint = n > _columns && options.Separator == ',' && options.DecimalSeparator == '.'
                ? " (if the file writes numbers with a decimal comma, read it with new CsvOptions { Separator = ';', DecimalSeparator = ',' })"
                : "";
            return error($"{path}, line {line}: the line has {n} value{(n == 1 ? "" : "s")} but {expected}; every row must have one value per column{hint}.");
        }

        private Exception Cell(CsvReader reader, long line, int j)
        {
            string text = reader.GetString(j).Trim();
            string where = $"{path}, line {line}, column {j + 1}{(_names is null ? "" : $" ('{_names[j]}')")}";
            string why;
            if (text.Length == 0)
                why = "the cell is empty; EmDsl accepts missing values only when asked to (read with CsvOptions.MissingValues = MissingValues.Allow, or remove or impute them before reading the file)";
            else if (IsMissing(text))
                why = $"'{text}' marks a missing value; EmDsl accepts missing values only when asked to (read with CsvOptions.MissingValues = MissingValues.Allow, or remove or impute them before reading the file)";
            else if (IsInfinite(text))
                why = $"'{text}' is infinite; EmDsl does not accept non-finite values";
            else if (reader.TryParse(j, out double v) && double.IsInfinity(v))
                why = $"'{text}' is beyond the range of a double (±1.8e308); EmDsl does not accept non-finite values";
            else if (text.Contains((char)_otherMark))
                why = options.DecimalSeparator == '.'
                    ? $"'{text}' is not a number with a decimal point (thousands separators are not accepted); if the file writes numbers with a decimal comma, read it with new CsvOptions {{ Separator = ';', DecimalSeparator = ',' }}"
                    : $"'{text}' is not a number with a decimal comma (CsvOptions.DecimalSeparator is ','; thousands separators are not accepted)";
            else if (options.Header == CsvHeader.Absent && line == _firstDataLine)
                why = $"'{text}' is not a number, so the file seems to have a header line; read it with CsvOptions.Header = CsvHeader.Present (the default)";
            else
                why = $"'{text}' is not a number";
            return error($"{where}: {why}.");
        }

        private static readonly string[] MissingMarks = ["na", "nan", "n/a", "#n/a", "null", "none", "nil", "missing", ".", "?", "-"];

        private static readonly string[] InfiniteMarks = ["inf", "infinity", "∞"];

        private static bool IsMissing(string text) =>
            MissingMarks.Contains(text, StringComparer.OrdinalIgnoreCase)
            || text.Length == 4 && text[0] is '+' or '-' && text.AsSpan(1).Equals("nan", StringComparison.OrdinalIgnoreCase);

        /// <summary>An empty cell or a missing-value mark (NA, NaN, ...), read as missing under <see cref="CsvOptions.MissingValues"/>.</summary>
        private static bool IsMissingCell(string text) => text.Length == 0 || IsMissing(text);

        private static bool IsInfinite(string text) => InfiniteMarks.Contains(text.TrimStart('+', '-', '−'), StringComparer.OrdinalIgnoreCase);
    }
}
