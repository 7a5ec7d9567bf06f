namespace EmDsl.FSharp

open EmDsl.Data

/// Data for fitting, from F# lists, 2-D arrays or CSV files: every function returns EmDsl's immutable
/// <c>DataMatrix</c> (rows are observations, columns are variables; a block reads the columns it names)
/// or <c>SequenceData</c> (a set of sequences for a hidden Markov model).
[<RequireQualifiedAccess>]
module Data =
    /// A matrix from its rows; every row must have the same length (otherwise an ArgumentException names the row).
    let ofRows (rows: float list list) : DataMatrix =
        DataMatrix.FromRows(rows |> List.map Array.ofList)

    /// A matrix from a rows × columns 2-D array (copied).
    let ofArray2D (values: float[,]) : DataMatrix = DataMatrix.From values

    /// A one-column matrix: one row per value.
    let ofColumn (values: float list) : DataMatrix = DataMatrix.FromColumn values

    /// Reads a CSV file with a header line, comma separators and a decimal point (see <c>DataMatrix.ReadCsv</c>);
    /// a malformed file raises a FormatException naming the file, line and column.
    let readCsv (path: string) : DataMatrix = DataMatrix.ReadCsv path

    /// Reads a CSV file with other settings, e.g. <c>Data.readCsvWith (CsvOptions(Separator = ';', DecimalSeparator = ','))</c>.
    let readCsvWith (options: CsvOptions) (path: string) : DataMatrix = DataMatrix.ReadCsv(path, options)

    /// A matrix with missing values: the entries whose mask is false are missing (DataMatrix.WithMissing); fit it
    /// with the setting <c>MissingValues MissingValuePolicy.Marginalize</c>.
    let withMissing (values: float[,]) (observed: bool[,]) : DataMatrix = DataMatrix.WithMissing(values, observed)

    /// The number of rows.
    let rows (data: DataMatrix) : int = data.Rows

    /// The number of columns.
    let columns (data: DataMatrix) : int = data.Columns

    /// The values of one column, top to bottom.
    let column (index: int) (data: DataMatrix) : float list = data.GetColumn index |> List.ofArray

    /// The values of the column with that header name (an ArgumentException lists the names when there is none).
    let columnNamed (name: string) (data: DataMatrix) : float list = column (data.ColumnIndex name) data

    /// The column names read from a CSV header, or given by <see cref="withColumnNames"/>; None without names.
    let columnNames (data: DataMatrix) : string list option =
        match data.ColumnNames with
        | null -> None
        | names -> Some(List.ofSeq names)

    /// The same values with column names (one per column, distinct).
    let withColumnNames (names: string list) (data: DataMatrix) : DataMatrix = data.WithColumnNames names

    /// One row, left to right.
    let row (index: int) (data: DataMatrix) : float list = data.GetRow index |> List.ofArray

    /// Every row as a list (for small matrices: it copies the data).
    let toRows (data: DataMatrix) : float list list = [ for i in 0 .. data.Rows - 1 -> row i data ]

    /// Sequences for a hidden Markov model, one matrix each (same number of columns, none empty).
    let sequences (matrices: DataMatrix list) : SequenceData = SequenceData.FromMatrices matrices

    /// One sequence: the rows of the matrix in order.
    let sequence (data: DataMatrix) : SequenceData = SequenceData.Single data

    /// Consecutive runs of rows as sequences: the lengths (each ≥ 1) must add up to the number of rows.
    let sequencesOfLengths (lengths: int list) (data: DataMatrix) : SequenceData = SequenceData.FromLengths(data, lengths)

    /// Sequences marked by an id column: each run of equal ids is one sequence, in row order (a sequence's rows must be
    /// contiguous). The id column stays in the data; blocks should not read it.
    let sequencesById (idColumn: int) (data: DataMatrix) : SequenceData = SequenceData.FromIdColumn(data, idColumn)
