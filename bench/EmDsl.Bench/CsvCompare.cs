using System.Diagnostics;
using System.Globalization;
using nietras.SeparatedValues;

namespace EmDsl.Bench;

// Throwaway: Sep vs CsvHelper on a numeric CSV (header line, then numbers), each into a growing double buffer.
public static class CsvCompare
{
    public static void Run(string path, int repeats)
    {
        var variants = new (string Name, Func<string, (long Values, double Sum)> Read)[]
        {
            ("Sep + double.TryParse(span)", SepBcl),
            ("Sep + col.TryParse<double>", SepFast),
            ("CsvHelper + TryParse<double>(i)", HelperParse),
            ("CsvHelper + double.TryParse(utf8 span)", HelperBcl),
        };
        foreach (var (name, read) in variants)
        {
            read(path);
            var times = new List<double>();
            var cpu = new List<double>();
            (long Values, double Sum) r = default;
            for (int i = 0; i < repeats; i++)
            {
                GC.Collect();
                var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
                var sw = Stopwatch.StartNew();
                r = read(path);
                times.Add(sw.Elapsed.TotalMilliseconds);
                cpu.Add((Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMilliseconds);
            }
            times.Sort();
            cpu.Sort();
            Console.WriteLine($"{name,-42} best {times[0],8:F0} ms  median {times[times.Count / 2],8:F0} ms  CPU best {cpu[0],8:F0} ms median {cpu[cpu.Count / 2],8:F0} ms  ({r.Values:N0} values, sum {r.Sum:G6})");
        }
    }

    private static (long, double) SepBcl(string path)
    {
        using var reader = Sep.Reader(o => o with { Sep = new Sep(','), HasHeader = false, Unescape = true, DisableColCountCheck = true }).FromFile(path);
        var buffer = new double[1 << 16];
        long n = 0;
        bool first = true;
        foreach (var row in reader)
        {
            if (first) { first = false; continue; }
            int line = row.LineNumberFrom;
            for (int j = 0; j < row.ColCount; j++)
            {
                if (n == buffer.Length) Array.Resize(ref buffer, buffer.Length * 2);
                if (!double.TryParse(row[j].Span, NumberStyles.Float, CultureInfo.InvariantCulture, out buffer[n++])) throw new FormatException($"line {line}");
            }
        }
        return (n, Sum(buffer, n));
    }

    private static (long, double) SepFast(string path)
    {
        using var reader = Sep.Reader(o => o with { Sep = new Sep(','), HasHeader = false, Unescape = true, DisableColCountCheck = true, CultureInfo = CultureInfo.InvariantCulture }).FromFile(path);
        var buffer = new double[1 << 16];
        long n = 0;
        bool first = true;
        foreach (var row in reader)
        {
            if (first) { first = false; continue; }
            int line = row.LineNumberFrom;
            for (int j = 0; j < row.ColCount; j++)
            {
                if (n == buffer.Length) Array.Resize(ref buffer, buffer.Length * 2);
                var v = row[j].TryParse<double>();
                if (v is null) throw new FormatException($"line {line}");
                buffer[n++] = v.Value;
            }
        }
        return (n, Sum(buffer, n));
    }

    private static (long, double) HelperParse(string path)
    {
        using var reader = CsvHelper.CsvReader.FromFile(path, new CsvHelper.CsvReaderOptions { Separator = ',', HasHeader = false, TrackLineNumbers = true, SkipEmptyLines = false });
        var buffer = new double[1 << 16];
        long n = 0;
        bool first = true;
        while (reader.Read())
        {
            if (first) { first = false; continue; }
            long line = reader.LineNumber;
            for (int j = 0; j < reader.FieldCount; j++)
            {
                if (n == buffer.Length) Array.Resize(ref buffer, buffer.Length * 2);
                if (!reader.TryParse<double>(j, out buffer[n++])) throw new FormatException($"line {line}");
            }
        }
        return (n, Sum(buffer, n));
    }

    private static (long, double) HelperBcl(string path)
    {
        using var reader = CsvHelper.CsvReader.FromFile(path, new CsvHelper.CsvReaderOptions { Separator = ',', HasHeader = false, TrackLineNumbers = true, SkipEmptyLines = false });
        var buffer = new double[1 << 16];
        long n = 0;
        bool first = true;
        while (reader.Read())
        {
            if (first) { first = false; continue; }
            long line = reader.LineNumber;
            for (int j = 0; j < reader.FieldCount; j++)
            {
                if (n == buffer.Length) Array.Resize(ref buffer, buffer.Length * 2);
                if (!double.TryParse(reader.GetSpan(j), NumberStyles.Float, CultureInfo.InvariantCulture, out buffer[n++])) throw new FormatException($"line {line}");
            }
        }
        return (n, Sum(buffer, n));
    }

    private static double Sum(double[] b, long n)
    {
        double s = 0;
        for (long i = 0; i < n; i++) s += b[i];
        return s;
    }
}
