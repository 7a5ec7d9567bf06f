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
        if (expected >= 0 && v.Length != expected) throw new ArgumentException($"{what} has {v.Length} values; expected {expected}.", what);
        for (int i = 0; i < v.Length; i++)
            if (!valid(v[i])) throw new ArgumentOutOfRangeException(what, v[i], $"{what}[{i}] = {v[i]} must be {requirement}.");
        return v;
    }

    public static void Positive(int value, string name)
    {
        if (value < 1) throw new ArgumentOutOfRangeException(name, value, $"{name} must be at least 1.");
    }

    /// <summary>Whether the first <paramref name="count"/> means are finite and &gt; 0 (the mean domain of rate-like families).</summary>
    public static bool AllPositiveFinite(ReadOnlySpan<double> mean, int count)
    {
        for (int d = 0; d < count; d++) if (!(mean[d] > 0) || double.IsInfinity(mean[d])) return false;
        return true;
    }

    /// <summary>Raises the first <paramref name="count"/> means below <paramref name="floor"/> to it, leaving the others unchanged.</summary>
    public static void RaiseToFloor(Span<double> mean, int count, double floor)
    {
        for (int d = 0; d < count; d++) mean[d] = Math.Max(mean[d], floor);
    }

    /// <summary>2⁵³: from here on a double cannot represent every integer, so a count is no longer exact.</summary>
    public const double CountCap = 9007199254740992;

    public static bool IsNonNegativeInteger(double v) => v >= 0 && v == Math.Floor(v) && v < CountCap;

    /// <summary>Why <paramref name="v"/> is not a count (null when it is one), naming the cap 2⁵³ when that is the reason.</summary>
    public static string? CountViolation(double v) =>
        IsNonNegativeInteger(v) ? null
        : v >= CountCap && double.IsFinite(v) ? $"{Show(v)} is at or above the largest count a double holds exactly, 2⁵³ = 9007199254740992"
        : $"{Show(v)} is not a non-negative integer count";

    /// <summary>[v0, v1, …] with six significant digits, for ToString of parameter records.</summary>
    public static string Format(IEnumerable<double> values) =>
        "[" + string.Join(", ", values.Select(v => v.ToString("G6", System.Globalization.CultureInfo.InvariantCulture))) + "]";

    /// <summary>Hash of a vector's values (value equality of parameter records).</summary>
    public static int Hash(IEnumerable<double> values) => values.Aggregate(17, (h, v) => unchecked(h * 31 + v.GetHashCode()));

    public static string Show(double v) => v.ToString("G17", System.Globalization.CultureInfo.InvariantCulture);
}
