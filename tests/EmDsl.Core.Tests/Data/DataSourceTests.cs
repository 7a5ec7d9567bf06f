using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using EmDsl.Data;
using FsCheck;
using FsCheck.Fluent;
using Parquet;
using Parquet.Schema;

namespace EmDsl.Tests.Sources;

/// <summary>
/// Issue 10: sources that stream a file's rows in chunks (binary float64, CSV, Parquet) yield exactly the rows of the
/// equivalent <see cref="DataMatrix"/>, at any buffer size, on every pass and with several readers open; malformed
/// files fail naming the file, row or line, and column.
/// </summary>
public sealed class DataSourceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("emdsl-sources-").FullName;
    private int _files;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string NewPath(string extension) => Path.Combine(_dir, $"f{Interlocked.Increment(ref _files)}.{extension}");

    private static void Mentions(Exception e, params string[] parts)
    {
        foreach (var p in parts) Assert.True(e.Message.Contains(p, StringComparison.Ordinal), $"message \"{e.Message}\" does not mention \"{p}\"");
    }

    // ---------------------------------------------------------------- helpers

    /// <summary>All rows of <paramref name="source"/> read with a buffer of <paramref name="bufferRows"/> rows, checking the Read contract on the way.</summary>
    internal static double[][] ReadAll(DataSource source, int bufferRows)
    {
        using var reader = source.OpenReader();
        return ReadAll(reader, source.Columns, bufferRows);
    }

    private static double[][] ReadAll(DataSourceReader reader, int columns, int bufferRows)
    {
        var buffer = new double[bufferRows * columns];
        var rows = new List<double[]>();
        bool ended = false;
        int n;
        while ((n = reader.Read(buffer)) > 0)
        {
            Assert.False(ended, "a read returned rows after a short read (fewer rows than fit come only at the end)");
            Assert.InRange(n, 1, bufferRows);
            if (n < bufferRows) ended = true;
            for (int i = 0; i < n; i++) rows.Add(buffer.AsSpan(i * columns, columns).ToArray());
        }
        Assert.Equal(0, reader.Read(buffer)); // and it stays at the end
        return [.. rows];
    }

    private static double[][] Rows(DataMatrix m) => [.. Enumerable.Range(0, m.Rows).Select(m.GetRow)];

    /// <summary>Equal bit for bit (−0 and NaN payloads included).</summary>
    private static void SameBits(double[][] expected, double[][] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i].Length, actual[i].Length);
            for (int j = 0; j < expected[i].Length; j++)
                if (BitConverter.DoubleToInt64Bits(expected[i][j]) != BitConverter.DoubleToInt64Bits(actual[i][j]))
                    Assert.Fail($"row {i}, column {j}: expected {expected[i][j]:R}, read {actual[i][j]:R}");
        }
    }

    private static DataMatrix RandomMatrix(int rows, int columns, int seed, bool named)
    {
        var rng = new Random(seed);
        var values = new double[rows, columns];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < columns; j++)
                values[i, j] = rng.Next(10) switch
                {
                    0 => -0.0,
                    1 => rng.Next(-5, 6),
                    2 => (rng.NextDouble() - 0.5) * Math.Pow(10, rng.Next(-300, 300)),
                    3 => double.Epsilon * rng.Next(1, 100),
                    _ => rng.NextDouble() * 20 - 10,
                };
        var m = DataMatrix.From(values);
        return named ? m.WithColumnNames(Enumerable.Range(0, columns).Select(j => $"x{j}")) : m;
    }

    internal static void WriteCsv(string path, DataMatrix m)
    {
        var text = new StringBuilder();
        if (m.ColumnNames is { } names) text.AppendLine(string.Join(",", names));
        for (int i = 0; i < m.Rows; i++)
            text.AppendLine(string.Join(",", m.GetRow(i).Select(v => v.ToString("R", CultureInfo.InvariantCulture))));
        File.WriteAllText(path, text.ToString());
    }

    /// <summary>Writes the matrix's columns as double columns (named x0.. when it has no names) in row groups of <paramref name="groupRows"/>.</summary>
    internal static void WriteParquet(string path, DataMatrix m, int groupRows) => Task.Run(async () =>
    {
        var fields = Enumerable.Range(0, m.Columns).Select(j => new DataField<double>(m.ColumnNames?[j] ?? $"x{j}")).ToArray();
        await using var stream = File.Create(path);
        await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema(fields), stream);
        for (int start = 0; start < m.Rows; start += groupRows)
        {
            int n = Math.Min(groupRows, m.Rows - start);
            using var group = writer.CreateRowGroup();
            for (int j = 0; j < m.Columns; j++)
            {
                var column = m.GetColumn(j).AsMemory(start, n);
                await group.WriteAsync<double>(fields[j], column);
            }
        }
    }).GetAwaiter().GetResult();

    /// <summary>Writes columns of any Parquet.Net-supported types, in one row group.</summary>
    private string WriteParquetColumns(params (Field Field, Func<ParquetRowGroupWriter, Task> Write)[] columns)
    {
        var path = NewPath("parquet");
        Task.Run(async () =>
        {
            await using var stream = File.Create(path);
            await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema(columns.Select(c => c.Field).ToArray()), stream);
            using var group = writer.CreateRowGroup();
            foreach (var c in columns) await c.Write(group);
        }).GetAwaiter().GetResult();
        return path;
    }

    // ---------------------------------------------------------------- every source yields the matrix's rows

    public sealed record Case(int Rows, int Columns, int Seed, bool Named, int BufferRows, int OtherBufferRows, int GroupRows);

    private static readonly Arbitrary<Case> Cases = Arb.From(
        from rows in Gen.Choose(1, 40)
        from columns in Gen.Choose(1, 5)
        from seed in Gen.Choose(0, int.MaxValue)
        from named in Gen.Elements(true, false)
        from buffer in Gen.Choose(1, 50)
        from other in Gen.Choose(1, 50)
        from groupRows in Gen.Choose(1, 45)
        select new Case(rows, columns, seed, named, buffer, other, groupRows));

    private IEnumerable<(string Kind, DataSource Source)> Sources(DataMatrix m, int groupRows, bool named)
    {
        yield return ("matrix", DataSource.FromMatrix(m));
        var bin = NewPath("bin");
        DataSource.WriteBinaryFile(bin, m);
        yield return ("binary", DataSource.BinaryFile(bin, m.Columns, named ? m.ColumnNames : null));
        var csv = NewPath("csv");
        WriteCsv(csv, m);
        yield return ("csv", DataSource.Csv(csv, named ? null : new CsvOptions { Header = CsvHeader.Absent }));
        var parquet = NewPath("parquet");
        WriteParquet(parquet, m, groupRows);
        yield return ("parquet", DataSource.Parquet(parquet));
    }

    [Fact]
    public void EverySourceYieldsTheMatrixRowsAtAnyBufferSizeOnEveryPassAndWithTwoReaders() =>
        PropertyChecks.ForAll(Cases, c =>
        {
            var m = RandomMatrix(c.Rows, c.Columns, c.Seed, c.Named);
            var expected = Rows(m);
            foreach (var (kind, source) in Sources(m, c.GroupRows, c.Named))
            {
                using var _ = source;
                try
                {
                    Assert.Equal(m.Columns, source.Columns);
                    if (kind != "csv") Assert.Equal(m.Rows, source.RowCount);
                    SameBits(expected, ReadAll(source, c.BufferRows));
                    SameBits(expected, ReadAll(source, c.OtherBufferRows)); // a second pass, another buffer
                    SameBits(expected, ReadAll(source, c.Rows + 7));        // the whole file in one read

                    // Two readers at once, interleaved: each sees every row in order.
                    using var a = source.OpenReader();
                    using var b = source.OpenReader();
                    var bufA = new double[c.BufferRows * c.Columns];
                    var bufB = new double[c.OtherBufferRows * c.Columns];
                    var rowsA = new List<double[]>();
                    var rowsB = new List<double[]>();
                    int na, nb;
                    do
                    {
                        na = a.Read(bufA);
                        for (int i = 0; i < na; i++) rowsA.Add(bufA.AsSpan(i * c.Columns, c.Columns).ToArray());
                        nb = b.Read(bufB);
                        for (int i = 0; i < nb; i++) rowsB.Add(bufB.AsSpan(i * c.Columns, c.Columns).ToArray());
                    } while (na > 0 || nb > 0);
                    SameBits(expected, [.. rowsA]);
                    SameBits(expected, [.. rowsB]);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    throw new Exception($"{kind} source: {e.Message}", e);
                }
            }
        });

    [Fact]
    public void AReadIntoABufferShorterThanARowReadsNothingAndLosesNothing()
    {
        var m = RandomMatrix(5, 3, 1, named: false);
        var path = NewPath("bin");
        DataSource.WriteBinaryFile(path, m);
        using var source = DataSource.BinaryFile(path, 3);
        using var reader = source.OpenReader();
        Assert.Equal(0, reader.Read(new double[2]));
        SameBits(Rows(m), ReadAll(reader, 3, 2));
    }

    // ---------------------------------------------------------------- binary files

    [Fact]
    public void BinaryFileIsWhatNumpyToFileWritesLittleEndianRowMajor()
    {
        var path = NewPath("bin");
        // Written by hand, byte by byte: rows (1, 2) and (-0.5, 3e300).
        double[] values = [1, 2, -0.5, 3e300];
        var bytes = values.SelectMany(v => BitConverter.GetBytes(BitConverter.DoubleToInt64Bits(v)) is var b && BitConverter.IsLittleEndian ? b : b.Reverse().ToArray()).ToArray();
        File.WriteAllBytes(path, bytes);
        using var source = DataSource.BinaryFile(path, 2, ["a", "b"]);
        Assert.Equal(2, source.RowCount);
        Assert.Equal(["a", "b"], source.ColumnNames);
        Assert.Equal(1, source.ColumnIndex("b"));
        Assert.Equal(0, source.ColumnIndex(" a "));
        SameBits([[1, 2], [-0.5, 3e300]], ReadAll(source, 4));

        // And WriteBinaryFile writes exactly those bytes.
        var again = NewPath("bin");
        DataSource.WriteBinaryFile(again, DataMatrix.From(new double[,] { { 1, 2 }, { -0.5, 3e300 } }));
        Assert.Equal(bytes, File.ReadAllBytes(again));
    }

    [Fact]
    public void BinaryFilePassesNaNAndInfinitiesThroughUntouched()
    {
        var path = NewPath("bin");
        double payloadNaN = BitConverter.Int64BitsToDouble(0x7FF8_0000_0000_1234);
        double[] values = [double.NaN, double.PositiveInfinity, double.NegativeInfinity, payloadNaN];
        File.WriteAllBytes(path, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());
        using var source = DataSource.BinaryFile(path, 2);
        SameBits([[double.NaN, double.PositiveInfinity], [double.NegativeInfinity, payloadNaN]], ReadAll(source, 1));
    }

    public sealed record Truncation(int Columns, int Rows, long Length);

    [Fact]
    public void ABinaryFileCutAnywhereButARowBoundaryIsRefusedNamingTheRowAndItsValues() =>
        PropertyChecks.ForAll(
            Arb.From(
                from columns in Gen.Choose(1, 6)
                from rows in Gen.Choose(1, 20)
                from cut in Gen.Choose(1, rows * columns * 8 - 1)
                where cut % (columns * 8) != 0
                select new Truncation(columns, rows, cut)),
            t =>
            {
                var path = NewPath("bin");
                DataSource.WriteBinaryFile(path, RandomMatrix(t.Rows, t.Columns, (int)t.Length, named: false));
                using (var f = File.OpenWrite(path)) f.SetLength(t.Length);
                long row = t.Length / (8 * t.Columns);
                long present = t.Length % (8 * t.Columns) / 8;
                var e = Assert.Throws<InvalidDataException>(() => DataSource.BinaryFile(path, t.Columns));
                Mentions(e, path, $"ends in the middle of row {row:N0}: {present} of {t.Columns} values");
                if (t.Length % 8 != 0) Mentions(e, $"and {t.Length % 8} byte");
            });

    [Fact]
    public void ABinaryFileCutWhileBeingReadIsRefusedByTheReadThatReachesTheEnd() =>
        PropertyChecks.ForAll(
            Arb.From(
                from columns in Gen.Choose(1, 4)
                from rows in Gen.Choose(2, 30)
                from keep in Gen.Choose(1, rows - 1)
                from partial in Gen.Choose(0, columns * 8 - 1)
                from buffer in Gen.Choose(1, 40)
                select (columns, rows, cut: (long)keep * columns * 8 + partial, buffer)),
            t =>
            {
                var path = NewPath("bin");
                var m = RandomMatrix(t.rows, t.columns, t.rows, named: false);
                DataSource.WriteBinaryFile(path, m);
                using var source = DataSource.BinaryFile(path, t.columns);
                using var reader = source.OpenReader();
                using (var f = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite)) f.SetLength(t.cut);
                var buffer = new double[t.buffer * t.columns];
                var e = Assert.Throws<InvalidDataException>(() => { while (reader.Read(buffer) > 0) { } });
                Mentions(e, path);
                long row = t.cut / (8 * t.columns);
                if (t.cut % (8 * t.columns) != 0) Mentions(e, $"ends in the middle of row {row:N0}: {t.cut % (8 * t.columns) / 8} of {t.columns} values");
                else Mentions(e, "changed while it was being read", $"has {row:N0} now");
                // A reader opened now refuses at once.
                if (t.cut % (8 * t.columns) != 0) Assert.Throws<InvalidDataException>(() => source.OpenReader());
            }, baseline: 50);

    [Fact]
    public void AnEmptyBinaryFileOrABadColumnCountIsRefusedClearly()
    {
        var path = NewPath("bin");
        File.WriteAllBytes(path, []);
        Mentions(Assert.Throws<InvalidDataException>(() => DataSource.BinaryFile(path, 3)), path, "is empty");
        Mentions(Assert.Throws<ArgumentException>(() => DataSource.BinaryFile(path, 0)), "at least one column");
        Assert.Throws<FileNotFoundException>(() => DataSource.BinaryFile(Path.Combine(_dir, "none.bin"), 2));
        File.WriteAllBytes(path, new byte[16]);
        Mentions(Assert.Throws<ArgumentException>(() => DataSource.BinaryFile(path, 2, ["a"])), "1 column name was given for 2 columns");
        Mentions(Assert.Throws<ArgumentException>(() => DataSource.BinaryFile(path, 2, ["a", "a"])), "a");
    }

    [Fact]
    public void AnUnnamedSourceExplainsThatItHasNoColumnNamesAndANamedOneListsThem()
    {
        var path = NewPath("bin");
        DataSource.WriteBinaryFile(path, RandomMatrix(2, 2, 3, named: false));
        using var unnamed = DataSource.BinaryFile(path, 2);
        Assert.Null(unnamed.ColumnNames);
        Mentions(Assert.Throws<InvalidOperationException>(() => unnamed.ColumnIndex("a")), path, "has no column names", "0..1");
        using var named = DataSource.BinaryFile(path, 2, ["waiting", "eruptions"]);
        Mentions(Assert.Throws<ArgumentException>(() => named.ColumnIndex("Waiting")), path, "did you mean 'waiting'", "'waiting', 'eruptions'");
    }

    // ---------------------------------------------------------------- CSV

    private string WriteText(string text, string extension = "csv")
    {
        var path = NewPath(extension);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void CsvSourceExposesTheHeaderAndLeavesTheRowCountUnknown()
    {
        var path = WriteText("waiting, eruptions\n79,3.6\n54,1.8\n");
        using var source = DataSource.Csv(path);
        Assert.Equal(["waiting", "eruptions"], source.ColumnNames);
        Assert.Equal(1, source.ColumnIndex("eruptions"));
        Assert.Null(source.RowCount);
        Assert.Equal($"the file '{path}'", source.Description);
        SameBits([[79, 3.6], [54, 1.8]], ReadAll(source, 1));
    }

    [Fact]
    public void CsvSourceReportsARowWithOtherColumnsByTheReadThatReachesIt()
    {
        var text = new StringBuilder("a,b,c\n");
        for (int i = 0; i < 100; i++) text.Append($"{i},{i + 1},{i + 2}\n");
        text.Append("7,8\n");
        var path = WriteText(text.ToString());
        using var source = DataSource.Csv(path);
        using var reader = source.OpenReader();
        var buffer = new double[10 * 3];
        for (int k = 0; k < 10; k++) Assert.Equal(10, reader.Read(buffer)); // the first 100 rows are fine
        var e = Assert.Throws<InvalidDataException>(() => reader.Read(buffer));
        Mentions(e, path, "line 102", "has 2 values", "names 3 columns ('a', 'b', 'c')");
    }

    [Theory]
    [InlineData("a,b\n1,2\n3,4,5\n")]
    [InlineData("a,b\n1,2\n3,x\n")]
    [InlineData("a,b\n1,2\n3,\n")]
    [InlineData("a,b\n1,2\n3,NaN\n")]
    [InlineData("a,b\n1,2\n3,inf\n")]
    [InlineData("a,b\n1,2\n\n3,4\n")]
    [InlineData("a,b\n1,2\n\"3,4\n")]
    [InlineData("a,b\n1,2\n3,1e999\n")]
    [InlineData("a,b\n1,2\n3,\"1,5\"\n")]
    public void CsvSourceRefusesWhatReadCsvRefusesWithTheSameMessage(string text)
    {
        var path = WriteText(text);
        var expected = Assert.Throws<FormatException>(() => DataMatrix.ReadCsv(path));
        using var source = DataSource.Csv(path);
        var e = Assert.Throws<InvalidDataException>(() => ReadAll(source, 1));
        Assert.Equal(expected.Message, e.Message);
    }

    [Theory]
    [InlineData("", "is empty")]
    [InlineData("\n\n", "is empty (only blank lines)")]
    [InlineData("a,b\n", "has a header line ('a', 'b') but no data rows")]
    [InlineData("1,2\n3,4\n", "consists only of numbers")]
    [InlineData("a,a\n1,2\n", "a")]
    [InlineData("a,b\n1,x\n", "line 2, column 2 ('b')")]
    public void CsvSourceRefusesAFileWithoutAHeaderOrDataWhenItIsMade(string text, string part)
    {
        var path = WriteText(text);
        var expected = Assert.Throws<FormatException>(() => DataMatrix.ReadCsv(path));
        var e = Assert.Throws<InvalidDataException>(() => DataSource.Csv(path));
        Assert.Equal(expected.Message, e.Message);
        Mentions(e, path, part);
    }

    [Fact]
    public void CsvSourceReadsHeaderlessAndDecimalCommaFilesLikeReadCsv()
    {
        var path = WriteText("1;2,5\n-3;4e1\n");
        var options = new CsvOptions { Header = CsvHeader.Absent, Separator = ';', DecimalSeparator = ',' };
        using var source = DataSource.Csv(path, options);
        Assert.Null(source.ColumnNames);
        Assert.Equal(2, source.Columns);
        SameBits(Rows(DataMatrix.ReadCsv(path, options)), ReadAll(source, 3));
        Mentions(Assert.Throws<ArgumentException>(() => DataSource.Csv(path, new CsvOptions { Separator = '.' })), "Separator");
    }

    [Fact]
    public void CsvSourceNoticesAFileWhoseHeaderChangedBetweenPasses()
    {
        var path = WriteText("a,b\n1,2\n");
        using var source = DataSource.Csv(path);
        File.WriteAllText(path, "a,b,c\n1,2,3\n");
        Mentions(Assert.Throws<InvalidDataException>(() => ReadAll(source, 2)), path, "changed since the source was opened", "3 columns");
    }

    // ---------------------------------------------------------------- Parquet

    [Fact]
    public void ParquetSourceReadsTheRequestedColumnsInTheRequestedOrder()
    {
        var m = RandomMatrix(30, 4, 5, named: true);
        var path = NewPath("parquet");
        WriteParquet(path, m, 7);
        using var source = DataSource.Parquet(path, ["x3", "x1"]);
        Assert.Equal(["x3", "x1"], source.ColumnNames);
        Assert.Equal(1, source.ColumnIndex("x1"));
        Assert.Equal(30, source.RowCount);
        SameBits([.. Enumerable.Range(0, 30).Select(i => new[] { m[i, 3], m[i, 1] })], ReadAll(source, 4));
    }

    [Fact]
    public void ParquetSourceConvertsFloatAndIntegerColumnsExactlyAndNullsToNaN()
    {
        var f = new DataField<float>("f");
        var i32 = new DataField<int>("i32");
        var i64 = new DataField<long>("i64");
        var n = new DataField<double?>("n");
        var i16 = new DataField<short?>("i16");
        var path = WriteParquetColumns(
            (f, g => g.WriteAsync<float>(f, new float[] { 1.1f, -2.5f, float.MaxValue })),
            (i32, g => g.WriteAsync<int>(i32, new[] { int.MinValue, 0, int.MaxValue })),
            (i64, g => g.WriteAsync<long>(i64, new[] { 1L << 53, -(1L << 62), 12345678901L })),
            (n, g => g.WriteAsync<double>(n, new double?[] { null, 2.5, null })),
            (i16, g => g.WriteAsync<short>(i16, new short?[] { -7, null, short.MaxValue })));
        using var source = DataSource.Parquet(path);
        Assert.Equal(["f", "i32", "i64", "n", "i16"], source.ColumnNames);
        SameBits(
            [
                [(double)1.1f, int.MinValue, 1L << 53, double.NaN, -7],
                [-2.5, 0, -(double)(1L << 62), 2.5, double.NaN],
                [float.MaxValue, int.MaxValue, 12345678901, double.NaN, short.MaxValue],
            ],
            ReadAll(source, 2));
    }

    [Fact]
    public void ParquetSourceRefusesA64BitIntegerADoubleCannotHold()
    {
        var i64 = new DataField<long>("big");
        var path = WriteParquetColumns((i64, g => g.WriteAsync<long>(i64, new[] { 1L, (1L << 53) + 1 })));
        using var source = DataSource.Parquet(path);
        Mentions(Assert.Throws<InvalidDataException>(() => ReadAll(source, 2)), path, "'big'", "9007199254740993", "cannot represent exactly");
    }

    [Fact]
    public void ParquetSourceRefusesNonNumericColumnsNamingFileColumnAndType()
    {
        var x = new DataField<double>("x");
        var s = new DataField<string>("label");
        var b = new DataField<bool>("flag");
        var path = WriteParquetColumns(
            (x, g => g.WriteAsync<double>(x, new[] { 1.0, 2.0 })),
            (s, g => g.WriteAsync(s, new[] { "a", "b" })),
            (b, g => g.WriteAsync<bool>(b, new[] { true, false })));
        Mentions(Assert.Throws<InvalidDataException>(() => DataSource.Parquet(path, ["x", "label"])), path, "column 'label'", "type string", "not numeric");
        Mentions(Assert.Throws<InvalidDataException>(() => DataSource.Parquet(path, ["flag"])), path, "column 'flag'", "type bool");
        // All columns by default: the string column is refused, not silently dropped.
        Mentions(Assert.Throws<InvalidDataException>(() => DataSource.Parquet(path)), "column 'label'", "pass the names of the numeric ones");
        using var source = DataSource.Parquet(path, ["x"]);
        SameBits([[1.0], [2.0]], ReadAll(source, 5));
    }

    [Fact]
    public void ParquetSourceRefusesAMissingColumnListingTheFilesColumns()
    {
        var m = RandomMatrix(3, 2, 1, named: true);
        var path = NewPath("parquet");
        WriteParquet(path, m, 3);
        var e = Assert.Throws<ArgumentException>(() => DataSource.Parquet(path, ["x0", "waiting"]));
        Mentions(e, path, "no column 'waiting'", "'x0' (double), 'x1' (double)");
        Assert.Throws<ArgumentException>(() => DataSource.Parquet(path, []));
        Assert.Throws<ArgumentException>(() => DataSource.Parquet(path, ["x0", "x0"]));
    }

    [Fact]
    public void AParquetFileWrittenByArrowIsReadExactly()
    {
        // Written by Apache Arrow's C++ writer (tests/fixtures/arrow_written.parquet.md): 3 row groups, Snappy, dictionaries.
        var path = Path.Combine(AppContext.BaseDirectory, "fixtures", "arrow_written.parquet");
        using var source = DataSource.Parquet(path, ["x", "y", "n", "big", "opt"]);
        Assert.Equal(12, source.RowCount);
        var expected = Enumerable.Range(0, 12)
            .Select(i => new[] { i * 0.5 - 1.25, (float)(i / 3.0), i % 3 - 1, (1L << 40) * i - 7, i % 5 == 2 ? double.NaN : i * 1e-3 })
            .ToArray();
        SameBits(expected, ReadAll(source, 5));
        Mentions(Assert.Throws<InvalidDataException>(() => DataSource.Parquet(path)), "column 'label'", "type string");
    }

    [Fact]
    public void ACutOrDamagedParquetFileIsAnInvalidDataExceptionNamingIt()
    {
        var m = RandomMatrix(200, 3, 9, named: true);
        var path = NewPath("parquet");
        WriteParquet(path, m, 50);
        var bytes = File.ReadAllBytes(path);

        var cut = NewPath("parquet");
        File.WriteAllBytes(cut, bytes[..(bytes.Length / 2)]);
        Mentions(Assert.Throws<InvalidDataException>(() => DataSource.Parquet(cut)), cut);

        // Damage the first page's header and data (the footer, read when the source is made, is intact).
        var damaged = NewPath("parquet");
        var copy = (byte[])bytes.Clone();
        for (int i = 4; i < 40; i++) copy[i] = 0xFF;
        File.WriteAllBytes(damaged, copy);
        using var source = DataSource.Parquet(damaged);
        Mentions(Assert.Throws<InvalidDataException>(() => ReadAll(source, 64)), damaged, "row group 0");
    }

    [Fact]
    public void AFileThatIsNotParquetIsRefusedNamingIt()
    {
        var path = WriteText("a,b\n1,2\n", "parquet");
        Mentions(Assert.Throws<InvalidDataException>(() => DataSource.Parquet(path)), path, "could not be read as Parquet");
        Assert.Throws<FileNotFoundException>(() => DataSource.Parquet(Path.Combine(_dir, "none.parquet")));
    }

    // ---------------------------------------------------------------- the engine's check

    [Fact]
    public void RequireFiniteNamesTheSourceRowAndColumnOfANonFiniteValue()
    {
        var path = NewPath("bin");
        DataSource.WriteBinaryFile(path, RandomMatrix(2, 2, 1, named: false));
        using var source = DataSource.BinaryFile(path, 2, ["waiting", "eruptions"]);
        double[] chunk = [1, 2, 3, double.NaN, 5, 6];
        DataSourceChecks.RequireFinite(chunk, 2, 100, source, allowMissing: true);
        Mentions(Assert.Throws<InvalidDataException>(() => DataSourceChecks.RequireFinite(chunk, 2, 100, source, allowMissing: false)),
            $"The file '{path}', row 101, column 1 ('eruptions') is NaN");
        chunk[3] = 0;
        chunk[4] = double.NegativeInfinity;
        Mentions(Assert.Throws<InvalidDataException>(() => DataSourceChecks.RequireFinite(chunk, 2, 100, source, allowMissing: true)),
            "row 102, column 0 ('waiting') is −∞");
        chunk[4] = 0;
        DataSourceChecks.RequireFinite(chunk, 2, 100, source, allowMissing: false);
        Assert.Throws<ArgumentException>(() => DataSourceChecks.RequireFinite(chunk.AsSpan(0, 5), 2, 0, source, false));
    }
}
