using System.Diagnostics;
using EmDsl.Data;

namespace EmDsl.Bench;

/// <summary>
/// Times <see cref="DataMatrix.ReadCsv(string)"/> (CsvHelper's UTF-8 reader streaming into a double buffer) on a
/// headed numeric CSV; with no file, writes a 10⁶ × 8 one to the temp directory first.
/// </summary>
public static class CsvBench
{
    public static void Run(string? path, int repeats)
    {
        path ??= Generate(Path.Combine(Path.GetTempPath(), "emdsl-bench-1e6x8.csv"), 1_000_000, 8);
        Console.WriteLine($"{path}: {new FileInfo(path).Length / 1e6:F1} MB");
        var wall = new List<double>();
        var cpu = new List<double>();
        DataMatrix? data = null;
        for (int i = 0; i <= repeats; i++)
        {
            GC.Collect();
            var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            var sw = Stopwatch.StartNew();
            data = DataMatrix.ReadCsv(path);
            if (i == 0) continue; // warm-up
            wall.Add(sw.Elapsed.TotalMilliseconds);
            cpu.Add((Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMilliseconds);
        }
        wall.Sort();
        cpu.Sort();
        Console.WriteLine($"ReadCsv: {data!.Rows:N0} × {data.Columns} in best {wall[0]:F0} ms, median {wall[wall.Count / 2]:F0} ms wall; CPU best {cpu[0]:F0} ms, median {cpu[cpu.Count / 2]:F0} ms ({repeats} repeats)");
    }

    private static string Generate(string path, int rows, int columns)
    {
        if (File.Exists(path)) return path;
        var random = new Random(1);
        using var w = new StreamWriter(path);
        w.WriteLine(string.Join(',', Enumerable.Range(0, columns).Select(j => $"x{j}")));
        for (int i = 0; i < rows; i++)
            w.WriteLine(string.Join(',', Enumerable.Range(0, columns).Select(_ => ((random.NextDouble() - 0.5) * 40).ToString("G10"))));
        return path;
    }
}
