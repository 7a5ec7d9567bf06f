using System.Diagnostics;
using System.Globalization;
using EmDsl.Data;
using Parquet;
using Parquet.Schema;

namespace EmDsl.Bench;

/// <summary>
/// Streams a whole file through a <see cref="DataSource"/> with a 4096-row buffer and prints rows, seconds, MB/s and
/// the process's peak resident memory (VmHWM); <c>source-make</c> writes such a file (a K = 8 Gaussian mixture) in
/// the format its extension names (.bin, .csv or .parquet), streaming, so the generator never holds it either.
/// </summary>
public static class SourceBench
{
    public static void Make(string path, long rows, int columns, int seed)
    {
        const int block = 4096;
        var random = new Random(seed);
        const int k = 8;
        var centres = new double[k, columns];
        var scales = new double[k];
        for (int c = 0; c < k; c++)
        {
            scales[c] = 0.5 + random.NextDouble();
            for (int j = 0; j < columns; j++) centres[c, j] = random.NextDouble() * 20 - 10;
        }
        double Normal() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        IEnumerable<double[]> Blocks()
        {
            var values = new double[block * columns];
            for (long start = 0; start < rows; start += block)
            {
                int n = (int)Math.Min(block, rows - start);
                for (int i = 0; i < n; i++)
                {
                    int c = random.Next(k);
                    for (int j = 0; j < columns; j++) values[i * columns + j] = centres[c, j] + scales[c] * Normal();
                }
                yield return n == block ? values : values[..(n * columns)];
            }
        }
        var sw = Stopwatch.StartNew();
        switch (Path.GetExtension(path).ToLowerInvariant())
        {
            case ".csv":
                using (var w = new StreamWriter(path))
                {
                    w.WriteLine(string.Join(',', Enumerable.Range(0, columns).Select(j => $"x{j}")));
                    foreach (var b in Blocks())
                        for (int i = 0; i < b.Length; i += columns)
                            w.WriteLine(string.Join(',', b.AsSpan(i, columns).ToArray().Select(v => v.ToString("R", CultureInfo.InvariantCulture))));
                }
                break;
            case ".parquet":
                Task.Run(async () =>
                {
                    var fields = Enumerable.Range(0, columns).Select(j => new DataField<double>($"x{j}")).ToArray();
                    await using var stream = File.Create(path);
                    await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema(fields), stream);
                    const int groupBlocks = 25; // row groups of 102 400 rows
                    var group = new List<double[]>();
                    async Task Flush()
                    {
                        int n = group.Sum(b => b.Length) / columns;
                        using var g = writer.CreateRowGroup();
                        var column = new double[n];
                        for (int j = 0; j < columns; j++)
                        {
                            int r = 0;
                            foreach (var b in group)
                                for (int i = j; i < b.Length; i += columns) column[r++] = b[i];
                            await g.WriteAsync<double>(fields[j], column);
                        }
                        group.Clear();
                    }
                    foreach (var b in Blocks())
                    {
                        group.Add((double[])b.Clone());
                        if (group.Count == groupBlocks) await Flush();
                    }
                    if (group.Count > 0) await Flush();
                }).GetAwaiter().GetResult();
                break;
            default:
                using (var f = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
                {
                    if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("source-make writes little-endian bytes as they are in memory.");
                    foreach (var b in Blocks()) f.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(b.AsSpan()));
                }
                break;
        }
        Console.WriteLine($"wrote {path}: {rows:N0} × {columns}, {new FileInfo(path).Length / 1e6:F1} MB in {sw.Elapsed.TotalSeconds:F1} s");
    }

    public static void Run(string path, int columns, int passes)
    {
        using var source = Path.GetExtension(path).ToLowerInvariant() switch
        {
            ".csv" => DataSource.Csv(path),
            ".parquet" => DataSource.Parquet(path),
            _ => DataSource.BinaryFile(path, columns),
        };
        double mb = new FileInfo(path).Length / 1e6;
        Console.WriteLine($"{source.Description}: {mb:F1} MB, {source.Columns} columns, RowCount {source.RowCount?.ToString("N0") ?? "unknown"}; VmHWM before reading {PeakMb():F0} MB");
        var buffer = new double[4096 * source.Columns];
        for (int pass = 1; pass <= passes; pass++)
        {
            var sw = Stopwatch.StartNew();
            long rows = 0;
            double sum = 0;
            using (var reader = source.OpenReader())
            {
                int n;
                while ((n = reader.Read(buffer)) > 0)
                {
                    rows += n;
                    for (int i = 0; i < n * source.Columns; i++) sum += buffer[i];
                }
            }
            double s = sw.Elapsed.TotalSeconds;
            Console.WriteLine($"pass {pass}: {rows:N0} rows in {s:F2} s, {mb / s:F0} MB/s, {rows / s / 1e6:F2} M rows/s (sum {sum:G6}); peak RSS (VmHWM) {PeakMb():F0} MB");
        }
    }

    /// <summary>The process's peak resident set size in MB, from /proc/self/status (VmHWM), else PeakWorkingSet64.</summary>
    private static double PeakMb()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    return long.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024.0;
        }
        catch (IOException) { }
        using var p = Process.GetCurrentProcess();
        return p.PeakWorkingSet64 / 1e6;
    }
}
