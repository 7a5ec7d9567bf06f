namespace EmDsl.Families;

/// <summary>Argument checks shared by the families, so every family words its errors the same way.</summary>
internal static class FamilyChecks
{
    public static void Length(ReadOnlySpan<double> span, int expected, string what)
    {
        if (span.Length < expected) throw new ArgumentException($"{what} has {span.Length} values; expected {expected}.");
    }

    public static double[] Vector(IEnumerable<double> values, int expected, string what, Func<double, bool> valid, string requirement)
    {
        ArgumentNullException.ThrowIfNull(values, what);
        var v = values.ToArray();
        if (expected >= 0 && v.Length != expected) throw new ArgumentException($"{what} has {v.Length} values; expected {expected}.");
        for (int i = 0; i < v.Length; i++)
            if (!valid(v[i])) throw new ArgumentOutOfRangeException(what, v[i], $"{what}[{i}] = {v[i]} must be {requirement}.");
        return v;
    }

    public static void Positive(int value, string name)
    {
        if (value < 1) throw new ArgumentOutOfRangeException(name, value, $"{name} must be at least 1.");
    }

    public static bool IsNonNegativeInteger(double v) => v >= 0 && v == Math.Floor(v) && v < 9.007199254740992e15;

    /// <summary>[v0, v1, …] with six significant digits, for ToString of parameter records.</summary>
    public static string Format(IEnumerable<double> values) =>
        "[" + string.Join(", ", values.Select(v => v.ToString("G6", System.Globalization.CultureInfo.InvariantCulture))) + "]";

    /// <summary>Hash of a vector's values (value equality of parameter records).</summary>
    public static int Hash(IEnumerable<double> values) => values.Aggregate(17, (h, v) => unchecked(h * 31 + v.GetHashCode()));

    public static string Show(double v) => v.ToString("G17", System.Globalization.CultureInfo.InvariantCulture);
}
