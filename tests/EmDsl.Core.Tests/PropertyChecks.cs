using FsCheck;
using FsCheck.Fluent;

namespace EmDsl.Tests;

/// <summary>
/// How every FsCheck property in this project is run from an xunit fact. The number of cases defaults to
/// the value each test asks for (at least 100 for the engine's properties) and is multiplied by the
/// environment variable EMDSL_PROPERTY_SCALE (e.g. 10 for a long soak run). Failures throw with the
/// shrunk counterexample and the replay seed.
/// </summary>
internal static class PropertyChecks
{
    public const string ScaleVariable = "EMDSL_PROPERTY_SCALE";

    public static int Cases(int baseline)
    {
        var raw = Environment.GetEnvironmentVariable(ScaleVariable);
        if (string.IsNullOrWhiteSpace(raw)) return baseline;
        if (!double.TryParse(raw, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var scale) || !(scale > 0))
            throw new InvalidOperationException($"{ScaleVariable}='{raw}' is not a positive number.");
        return Math.Max(1, (int)Math.Round(baseline * scale));
    }

    /// <summary>Checks <paramref name="property"/> on <paramref name="baseline"/> (scaled) random cases; throws on failure.</summary>
    public static void Check(Property property, int baseline = 100) =>
        FsCheck.Check.One(Config.QuickThrowOnFailure.WithMaxTest(Cases(baseline)).WithQuietOnSuccess(true), property);

    /// <summary>Checks a boolean property over an arbitrary.</summary>
    public static void ForAll<T>(Arbitrary<T> arbitrary, Func<T, bool> property, int baseline = 100) =>
        Check(Prop.ForAll(arbitrary, property), baseline);

    /// <summary>Checks an assertion-style property (it throws to fail) over an arbitrary.</summary>
    public static void ForAll<T>(Arbitrary<T> arbitrary, Action<T> property, int baseline = 100) =>
        Check(Prop.ForAll(arbitrary, property), baseline);
}
