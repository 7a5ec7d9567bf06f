namespace EmDsl.Numerics;

/// <summary>
/// Checked sizes of arrays whose length is a product of user-controlled counts (rows × columns, D × D, K × S): the
/// product is formed in <see cref="long"/>, never in a wrapping <see cref="int"/>, and one that exceeds
/// <see cref="Array.MaxLength"/> is reported, saying what the array was for and the size it would need.
/// </summary>
internal static class ArraySize
{
    /// <summary>a × b as an array length; throws <see cref="InvalidOperationException"/> when it exceeds a .NET array's limit.</summary>
    /// <param name="a">The first count (≥ 0).</param>
    /// <param name="b">The second count (≥ 0).</param>
    /// <param name="what">Says what the array is for, e.g. "Block 'x' has 70 000 columns: its D × D scratch".</param>
    public static int Product(long a, long b, Func<string> what) => Checked(a * b, what, m => new InvalidOperationException(m));

    /// <summary>As <see cref="Product"/>, but an <see cref="ArgumentOutOfRangeException"/> for <paramref name="parameter"/>.</summary>
    public static int Argument(long a, long b, string parameter, Func<string> what) =>
        Checked(a * b, what, m => new ArgumentOutOfRangeException(parameter, a * b, m));

    /// <summary>Whether a × b fits in one array.</summary>
    public static bool Fits(long a, long b) => a * b <= Array.MaxLength;

    /// <summary>The phrase "would need N doubles, above the … limit" for a message.</summary>
    public static string TooLarge(long count) =>
        $"would need {count:N0} doubles, above the {Array.MaxLength:N0} element limit of a .NET array (about 2³¹ − 1)";

    private static int Checked(long count, Func<string> what, Func<string, Exception> error) =>
        count >= 0 && count <= Array.MaxLength ? (int)count : throw error($"{what()} {TooLarge(count)}.");
}
