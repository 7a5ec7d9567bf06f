module EmDsl.FSharp.Tests.DataSourceTests

open System
open System.IO
open EmDsl.Data
open Xunit

/// Reads every row of a source through a buffer of `bufferRows` rows.
let private readAll (source: DataSource) bufferRows =
    use reader = source.OpenReader()
    let buffer = Array.zeroCreate<float> (bufferRows * source.Columns)
    let rows = ResizeArray<float[]>()
    let mutable n = reader.Read(Span buffer)
    while n > 0 do
        for i in 0 .. n - 1 do
            rows.Add(Array.sub buffer (i * source.Columns) source.Columns)
        n <- reader.Read(Span buffer)
    List.ofSeq rows

[<Fact>]
let ``A binary file source written and read from F# gives back the rows`` () =
    let path = Path.GetTempFileName()
    try
        let data = DataMatrix.FromRows [ [| 1.0; 2.0 |]; [| 3.5; -4.0 |]; [| 5.0; 6.25 |] ]
        DataSource.WriteBinaryFile(path, data)
        use source = DataSource.BinaryFile(path, 2, [ "waiting"; "eruptions" ])
        Assert.Equal(Nullable 3L, source.RowCount)
        Assert.Equal(1, source.ColumnIndex "eruptions")
        let rows = readAll source 2
        Assert.Equal<float[] list>([ [| 1.0; 2.0 |]; [| 3.5; -4.0 |]; [| 5.0; 6.25 |] ], rows)
        // A file cut in the middle of a row is refused, naming the row.
        File.WriteAllBytes(path, Array.zeroCreate 40)
        let error = Assert.Throws<InvalidDataException>(fun () -> DataSource.BinaryFile(path, 2) |> ignore)
        Assert.Contains("ends in the middle of row 2: 1 of 2 values", error.Message)
    finally
        File.Delete path

[<Fact>]
let ``A CSV source read from F# streams its rows and knows its header`` () =
    let path = Path.GetTempFileName()
    try
        File.WriteAllText(path, "a,b,c\n1,2,3\n4,5,6\n7,8,9\n")
        use source = DataSource.Csv path
        Assert.Equal<string list>([ "a"; "b"; "c" ], List.ofSeq (nonNull source.ColumnNames))
        Assert.False(source.RowCount.HasValue)
        let rows = readAll source 1
        Assert.Equal<float[] list>([ [| 1.0; 2.0; 3.0 |]; [| 4.0; 5.0; 6.0 |]; [| 7.0; 8.0; 9.0 |] ], rows)
        // Read without a header, the names line is not a number: refused when the source is made.
        let error = Assert.Throws<InvalidDataException>(fun () -> DataSource.Csv(path, CsvOptions(Header = CsvHeader.Absent)) |> ignore)
        Assert.Contains("line 1, column 1", error.Message)
    finally
        File.Delete path
