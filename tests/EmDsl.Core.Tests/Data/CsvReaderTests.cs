using System.Text;
using EmDsl.Data;

namespace EmDsl.Tests.Csv;

/// <summary>
/// Issue 11: <see cref="DataMatrix.ReadCsv(string, CsvOptions)"/> reads what a CSV file says or fails naming the file,
/// the file's own line number, the column (number and header name) and the text; it never drops a row silently.
/// </summary>
public sealed class CsvReaderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("emdsl-csv-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string text, string name = "data.csv", bool bom = false)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, [.. bom ? Encoding.UTF8.GetPreamble() : [], .. Encoding.UTF8.GetBytes(text)]);
        return path;
    }

    private static void Mentions(Exception e, params string[] parts)
    {
        foreach (var p in parts) Assert.True(e.Message.Contains(p, StringComparison.Ordinal), $"message \"{e.Message}\" does not mention \"{p}\"");
    }

    private static readonly CsvOptions Headerless = new() { Header = CsvHeader.Absent };

    private static void Equal(double[,] expected, DataMatrix actual) => Assert.Equal(expected, actual.ToArray());

    // ---------------------------------------------------------------- what is read

    [Theory]
    [InlineData("a,b\n1,2\n3.5,-4e-2\n")]
    [InlineData("a,b\n1,2\n3.5,-4e-2")]
    [InlineData("a,b\r\n1,2\r\n3.5,-4e-2\r\n")]
    [InlineData("a,b\r\n1,2\r\n3.5,-4e-2")]
    [InlineData(" a , b \n 1 , 2\n3.5 ,\t-4e-2\n\n\n")]
    public void LineEndingsFinalNewlinesSpacesAndTrailingBlankLines(string text)
    {
        var data = DataMatrix.ReadCsv(Write(text));
        Equal(new[,] { { 1, 2 }, { 3.5, -0.04 } }, data);
        Assert.Equal(["a", "b"], data.ColumnNames);
    }

    [Fact]
    public void AByteOrderMarkIsNotPartOfTheFirstName()
    {
        var data = DataMatrix.ReadCsv(Write("x,y\n1,2\n", bom: true));
        Assert.Equal(["x", "y"], data.ColumnNames);
        Assert.Equal(0, data.ColumnIndex("x"));
        var headerless = DataMatrix.ReadCsv(Write("7,8\n9,10\n", "b.csv", bom: true), Headerless);
        Equal(new double[,] { { 7, 8 }, { 9, 10 } }, headerless);
    }

    [Fact]
    public void QuotedCellsAndNamesAreUnquoted()
    {
        var data = DataMatrix.ReadCsv(Write("\"eruptions\",\"wait, min\"\n\"3.6\",79\n1.8,\"54\"\n"));
        Equal(new[,] { { 3.6, 79 }, { 1.8, 54 } }, data);
        Assert.Equal(["eruptions", "wait, min"], data.ColumnNames);
        Assert.Equal(1, data.ColumnIndex("wait, min"));
    }

    [Fact]
    public void SemicolonsWithADecimalComma()
    {
        var options = new CsvOptions { Separator = ';', DecimalSeparator = ',' };
        var data = DataMatrix.ReadCsv(Write("a;b\n3,6;\"2,5\"\n-1;1,5e2\n"), options);
        Equal(new[,] { { 3.6, 2.5 }, { -1, 150 } }, data);
        // A decimal point in a decimal-comma file is not silently read as a thousands separator.
        var e = Assert.Throws<FormatException>(() => DataMatrix.ReadCsv(Write("a;b\n1;2\n1.500;3\n", "c.csv"), options));
        Mentions(e, "c.csv", "line 3", "column 1", "('a')", "'1.500'", "decimal comma");
    }

    [Fact]
    public void TabSeparatedWithoutHeaderKeepsEveryRow()
    {
        var data = DataMatrix.ReadCsv(Write("1\t2\n3\t4\n5\t6\n"), Headerless with { Separator = '\t' });
        Equal(new double[,] { { 1, 2 }, { 3, 4 }, { 5, 6 } }, data);
        Assert.Null(data.ColumnNames);
    }

    [Fact]
    public void QuotedLineBreaksCountInTheLineNumbers()
    {
        var path = Write("\"first\nname\",b\n1,2\n3,x\n");
        Assert.Equal("first\nname", DataMatrix.ReadCsv(Write("\"first\nname\",b\n1,2\n", "ok.csv")).ColumnNames![0]);
        Mentions(Assert.Throws<FormatException>(() => DataMatrix.ReadCsv(path)), "line 4", "column 2", "('b')", "'x'");
    }

    // ---------------------------------------------------------------- header handling

    [Fact]
    public void AHeaderlessFileReadWithTheDefaultThrowsInsteadOfLosingItsFirstRow()
    {
        var path = Write("3.6,79\n1.8,54\n3.3,74\n");
        var e = Assert.Throws<FormatException>(() => DataMatrix.ReadCsv(path));
        Mentions(e, path, "line 1", "3.6,79", "only of numbers", "CsvHeader.Absent");
        var data = DataMatrix.ReadCsv(path, Headerless);
        Assert.Equal(3, data.Rows);
        Equal(new[,] { { 3.6, 79 }, { 1.8, 54 }, { 3.3, 74 } }, data);
    }

    [Fact]
    public void AHeadedFileReadAsHeaderlessSaysItSeemsToHaveAHeader()
    {
        var path = Write("eruptions,waiting\n3.6,79\n");
        var e = Assert.Throws<FormatException>(() => DataMatrix.ReadCsv(path, Headerless));
        Mentions(e, path, "line 1", "column 1", "'eruptions'", "seems to have a header", "CsvHeader.Present");
    }

    [Fact]
    public void HeaderArityDifferingFromARowNamesFileLineAndCounts()
    {
        var path = Write("a,b\n1,2\n3,4,5\n");
        Mentions(Assert.Throws<FormatException>(() => DataMatrix.ReadCsv(path)), path, "line 3", "3 values", "header (line 1) names 2 columns", "'a', 'b'");
        var fewer = Write("a,b,c\n1,2\n", "fewer.csv");
        Mentions(Assert.Throws<FormatException>(() => DataMatrix.ReadCsv(fewer)), "fewer.csv", "line 2", "2 values", "names 3 columns");
    }

    [Fact]
    public void RaggedRowsNameFileLineExpectedAndActual()
    {
        var path = Write("1,2,3\n4,5,6\n7,8\n");
        Mentions(Assert.Throws<FormatException>(() => DataMatrix.ReadCsv(path, Headerless)), path, "line 3", "2 values", "line 1, the first row, has 3");
    }

    [Fact]
    public void AnUnquotedDecimalCommaSplitsTheRowAndTheErrorSuggestsTheOptions()
    {
        var path = Write("a,b\n3,6,79\n");
        Mentions(Assert.Throws<FormatException>(() => DataMatrix.ReadCsv(path)), "line 2", "3 values", "Separator = ';'", "DecimalSeparator = ','");
    }

    [Fact]
    public void AQuotedDecimalCommaUnderTheDefaultsNamesTheCellAndTheOptions()
    {
        var path = Write("a,b\n1,2\n\"3,6\",79\n");
        var e = Assert.Throws<FormatException>(() => DataMatrix.ReadCsv(path));
        Mentions(e, path, "line 3", "column 1", "('a')", "'3,6'", "Separator = ';'", "DecimalSeparator = ','");
    }

    [Theory]
    [InlineData("a,b,a\n1,2,3\n", "'a' names columns 1 and 3")]
    [InlineData("a,,c\n1,2,3\n", "column 2 has an empty name")]
    [InlineData("\"\",x\n1,2\n", "column 1 has an empty name")]
    public void BadHeaderNamesAreNamed(string text, string why)
    {
        var path = Write(text);
        Mentions(Assert.Throws<FormatException>(() => DataMatrix.ReadCsv(path)), path, "line 1", why);
    }

    // ---------------------------------------------------------------- cells

    [Theory]
    [InlineData("", "empty", "missing values")]
    [InlineData("NA", "'NA'", "missing values")]
    [InlineData("NaN", "'NaN'", "missing values")]
    [InlineData("nan", "'nan'", "missing values")]
    [InlineData("inf", "'inf'", "non-finite")]
    [InlineData("-Infinity", "'-Infinity'", "non-finite")]
    [InlineData("∞", "'∞'", "non-finite")]
    [InlineData("1e400", "'1e400'", "non-finite")]
    [InlineData("abc", "'abc'", "not a number")]
    public void BadCellsNameFileLineColumnNameAndText(string cell, string shown, string why)
    {
        var path = Write($"alpha,beta\n1,2\n3,4\n5,{cell}\n", "cells.csv");
        var e = Assert.Throws<FormatException>(() => DataMatrix.ReadCsv(path));
        Mentions(e, path, "line 4", "column 2", "('beta')", shown, why);
        var headerless = Write($"1,2\n5,{cell}\n", "headerless.csv");
        var h = Assert.Throws<FormatException>(() => DataMatrix.ReadCsv(headerless, Headerless));
        Mentions(h, "headerless.csv", "line 2", "column 2", shown, why);
        Assert.DoesNotContain("('", h.Message.Split(':')[0]);
    }

    [Fact]
    public void LineNumbersAreTheFilesEvenAfterAQuotedLineBreakAndCrlf()
    {
        var path = Write("a,\"b\r\nc\"\r\n1,2\r\n3,NA\r\n");
        Mentions(Assert.Throws<FormatException>(() => DataMatrix.ReadCsv(path)), "line 4", "column 2", "('b\r\nc')", "'NA'");
    }

    // ---------------------------------------------------------------- blank lines, empty files, quoting

    [Fact]
    public void AnInteriorBlankLineIsAnErrorNamingItsLine()
    {
        var path = Write("a\n1\n\n3\n");
        Mentions(Assert.Throws<FormatException>(() => DataMatrix.ReadCsv(path)), path, "line 3", "blank", "line 4");
        var leading = Write("\na,b\n1,2\n", "leading.csv");
        Mentions(Assert.Throws<FormatException>(() => DataMatrix.ReadCsv(leading)), "leading.csv", "line 1", "blank", "line 2");
    }

    [Theory]
    [InlineData("", "is empty")]
    [InlineData("\n\n", "is empty")]
    [InlineData("a,b\n", "no data rows")]
    [InlineData("a,b", "no data rows")]
    public void EmptyFilesAndHeaderOnlyNameTheFile(string text, string why)
    {
        var path = Write(text);
        Mentions(Assert.Throws<FormatException>(() => DataMatrix.ReadCsv(path)), path, why);
    }

    [Fact]
    public void MalformedQuotingNamesFileAndLine()
    {
        var path = Write("a,b\n1,2\n\"3,4\n5,6\n");
        Mentions(Assert.Throws<FormatException>(() => DataMatrix.ReadCsv(path)), path, "line 3", "quoting");
    }

    [Fact]
    public void AMissingFileNamesIt()
    {
        var path = Path.Combine(_dir, "nowhere.csv");
        Mentions(Assert.Throws<FileNotFoundException>(() => DataMatrix.ReadCsv(path)), "nowhere.csv");
    }

    [Theory]
    [InlineData(',', ',', "Separator")]
    [InlineData(';', ';', "DecimalSeparator")]
    [InlineData('"', '.', "Separator")]
    [InlineData('1', '.', "Separator")]
    public void InconsistentOptionsNameTheOption(char separator, char decimalSeparator, string option)
    {
        var path = Write("a\n1\n");
        var e = Assert.Throws<ArgumentException>(() => DataMatrix.ReadCsv(path, new CsvOptions { Separator = separator, DecimalSeparator = decimalSeparator }));
        Mentions(e, $"CsvOptions.{option}");
    }

    // ---------------------------------------------------------------- names

    [Fact]
    public void ColumnIndexFindsNamesAndListsThemWhenMissing()
    {
        var data = DataMatrix.ReadCsv(Write("eruptions,waiting\n3.6,79\n"));
        Assert.Equal(1, data.ColumnIndex("waiting"));
        Assert.Equal(0, data.ColumnIndex(" eruptions "));
        var e = Assert.Throws<ArgumentException>(() => data.ColumnIndex("Waiting"));
        Mentions(e, "'Waiting'", "'eruptions', 'waiting'", "did you mean 'waiting'");
        Mentions(Assert.Throws<ArgumentException>(() => data.ColumnIndex("height")), "'height'", "'eruptions', 'waiting'");
        var unnamed = DataMatrix.FromRows([[1.0, 2]]);
        Mentions(Assert.Throws<InvalidOperationException>(() => unnamed.ColumnIndex("x")), "no column names", "'x'", "0..1");
    }

    [Fact]
    public void NamesFromCodeAreValidatedAndKept()
    {
        var data = DataMatrix.From(new double[,] { { 1, 2 }, { 3, 4 } }).WithColumnNames([" x", "y "]);
        Assert.Equal(["x", "y"], data.ColumnNames);
        Assert.Equal(1, data.ColumnIndex("y"));
        Assert.Equal(4, data[1, 1]);
        Mentions(Assert.Throws<ArgumentException>(() => data.WithColumnNames(["a"])), "1 column name was given for 2 columns");
        Mentions(Assert.Throws<ArgumentException>(() => data.WithColumnNames(["a", "a"])), "'a' names columns 1 and 2");
        Mentions(Assert.Throws<ArgumentException>(() => data.WithColumnNames(["a", " "])), "column 2 has an empty name");
        Assert.Throws<NotSupportedException>(() => ((IList<string>)data.ColumnNames!)[0] = "z");
    }

    [Fact]
    public void SequencesKeepTheColumnNames()
    {
        var data = DataMatrix.ReadCsv(Write("id,x\n1,0.5\n1,0.7\n2,0.1\n"));
        var sequences = SequenceData.FromIdColumn(data, data.ColumnIndex("id"));
        Assert.Equal(["id", "x"], sequences.Sequence(1).ColumnNames);
        Assert.Equal(new[,] { { 2, 0.1 } }, sequences.Sequence(1).ToArray());
        var joined = SequenceData.FromMatrices([sequences.Sequence(0), sequences.Sequence(1)]);
        Assert.Equal(["id", "x"], joined.Data.ColumnNames);
        Assert.Null(SequenceData.FromMatrices([sequences.Sequence(0), DataMatrix.FromRows([[3.0, 4]])]).Data.ColumnNames);
    }

    // ---------------------------------------------------------------- the repository's own files

    [Theory]
    [InlineData("data/old_faithful.csv", 272, "eruptions,waiting")]
    [InlineData("data/earthquakes.csv", -1, "year,count")]
    [InlineData("fixtures/r_patent.csv", -1, "Patents,lgRD,RDS")]
    public void TheShippedFilesReadWithTheirNamesAndEveryRow(string file, int rows, string header)
    {
        var path = Path.Combine(AppContext.BaseDirectory, file);
        var data = DataMatrix.ReadCsv(path);
        int lines = File.ReadLines(path).Count(l => l.Trim().Length > 0) - 1;
        Assert.Equal(lines, data.Rows);
        if (rows > 0) Assert.Equal(rows, data.Rows);
        Assert.Equal(header.Split(','), data.ColumnNames);
    }
}
