using System.Text.Json;
using System.Text.Json.Nodes;

namespace EmDsl.Persistence;

/// <summary>
/// Strict, path-tracking access to a parsed model file: every read names the JSON path it reads, and every
/// missing field, wrong type, wrong length or out-of-range value becomes a <see cref="ModelFileException"/> naming
/// the file and that path.
/// </summary>
internal sealed class JsonCursor(string? file, JsonNode? node, string path)
{
    public string? File { get; } = file;

    public JsonNode? Node { get; } = node;

    public string Path { get; } = path;

    public ModelFileException Error(string reason, Exception? inner = null) => new(File, Path, reason, inner);

    private JsonObject Object => Node as JsonObject ?? throw Error($"expected a JSON object, found {Describe(Node)}");

    private JsonArray Array => Node as JsonArray ?? throw Error($"expected a JSON array, found {Describe(Node)}");

    /// <summary>The required field <paramref name="name"/> of this object.</summary>
    public JsonCursor this[string name]
    {
        get
        {
            var obj = Object;
            if (!obj.TryGetPropertyValue(name, out var child)) throw new ModelFileException(File, $"{Path}.{name}", "the field is missing");
            return new JsonCursor(File, child, $"{Path}.{name}");
        }
    }

    /// <summary>Whether the field is present and not null.</summary>
    public bool Has(string name) => Object.TryGetPropertyValue(name, out var child) && child is not null;

    /// <summary>Null when the field holds JSON null; otherwise the field (which must be present).</summary>
    public JsonCursor? Optional(string name)
    {
        var c = this[name];
        return c.Node is null ? null : c;
    }

    /// <summary>The elements of this array, of the given length when <paramref name="length"/> ≥ 0.</summary>
    public JsonCursor[] Items(int length = -1, string? what = null)
    {
        var a = Array;
        if (length >= 0 && a.Count != length)
            throw Error($"expected {length} {what ?? "entries"}, found {a.Count}");
        var items = new JsonCursor[a.Count];
        for (int i = 0; i < a.Count; i++) items[i] = new JsonCursor(File, a[i], $"{Path}[{i}]");
        return items;
    }

    public string String()
    {
        if (Node is JsonValue v && v.GetValueKind() == JsonValueKind.String) return v.GetValue<string>();
        throw Error($"expected a string, found {Describe(Node)}");
    }

    public bool Bool()
    {
        if (Node is JsonValue v && v.GetValueKind() is JsonValueKind.True or JsonValueKind.False) return v.GetValue<bool>();
        throw Error($"expected true or false, found {Describe(Node)}");
    }

    public int Int(int min = int.MinValue, int max = int.MaxValue)
    {
        if (Node is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<int>(out int i))
        {
            if (i < min || i > max) throw Error($"{i} is out of range (expected {min}..{max})");
            return i;
        }
        throw Error($"expected an integer, found {Describe(Node)}");
    }

    /// <summary>A finite number.</summary>
    public double Number()
    {
        if (Node is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<double>(out double d) && double.IsFinite(d)) return d;
        throw Error($"expected a finite number, found {Describe(Node)}");
    }

    /// <summary>A finite number &gt; 0 (or ≥ 0 when <paramref name="allowZero"/>).</summary>
    public double Positive(bool allowZero = false)
    {
        double d = Number();
        if (d > 0 || (allowZero && d == 0)) return d;
        throw Error($"{Show(d)} must be {(allowZero ? "≥ 0" : "> 0")}");
    }

    /// <summary>A number that may be non-finite, written as the string "NaN", "Infinity" or "-Infinity" (traces only).</summary>
    public double AnyNumber()
    {
        if (Node is JsonValue v)
        {
            var kind = v.GetValueKind();
            if (kind == JsonValueKind.Number && v.TryGetValue<double>(out double d) && double.IsFinite(d)) return d;
            if (kind == JsonValueKind.String)
                switch (v.GetValue<string>())
                {
                    case "NaN": return double.NaN;
                    case "Infinity": return double.PositiveInfinity;
                    case "-Infinity": return double.NegativeInfinity;
                }
        }
        throw Error($"expected a number (or \"NaN\", \"Infinity\", \"-Infinity\"), found {Describe(Node)}");
    }

    public double[] Numbers(int length = -1, string? what = null) => Items(length, what).Select(c => c.Number()).ToArray();

    public int[] Ints(int length = -1, int min = int.MinValue, int max = int.MaxValue) => Items(length).Select(c => c.Int(min, max)).ToArray();

    /// <summary>A rows × columns matrix written as an array of rows.</summary>
    public double[,] Matrix(int rows, int columns)
    {
        // Every row is read (and its length checked) before the matrix is allocated, so a file cannot make the
        // loader allocate more than it holds.
        var values = Items(rows, "rows").Select(r => r.Numbers(columns, "columns")).ToArray();
        var m = new double[rows, columns];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < columns; j++) m[i, j] = values[i][j];
        return m;
    }

    /// <summary>One of <paramref name="allowed"/>.</summary>
    public string Choice(params string[] allowed)
    {
        var s = String();
        if (System.Array.IndexOf(allowed, s) < 0) throw Error($"\"{s}\" is not one of {string.Join(", ", allowed.Select(a => $"\"{a}\""))}");
        return s;
    }

    /// <summary>Runs <paramref name="build"/>; the library's own validation errors become errors at this path.</summary>
    public T Check<T>(Func<T> build)
    {
        try { return build(); }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException or OverflowException or ArithmeticException or IndexOutOfRangeException && e is not ModelFileException)
        {
            throw Error(e.Message, e);
        }
    }

    public static string Show(double d) => d.ToString("R", System.Globalization.CultureInfo.InvariantCulture);

    private static string Describe(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject => "an object",
        JsonArray => "an array",
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => $"the string \"{Truncate(v.GetValue<string>())}\"",
            JsonValueKind.Number => $"the number {v.ToJsonString()}",
            JsonValueKind.True or JsonValueKind.False => v.ToJsonString(),
            _ => v.ToJsonString(),
        },
        _ => node.ToJsonString(),
    };

    private static string Truncate(string s) => s.Length <= 40 ? s : s[..40] + "…";
}
