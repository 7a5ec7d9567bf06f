using System.Globalization;

namespace EmDsl.Testing;

/// <summary>
/// The outcome of checking one property: its name and every violation found (empty when it holds). Reports combine
/// with <see cref="And"/>; <see cref="ThrowIfViolated"/> turns a failed report into an exception for test frameworks
/// that fail on exceptions (xunit, NUnit, an FsCheck property written as an action), and <see cref="Holds"/> is the
/// boolean an FsCheck property returns.
/// </summary>
/// <param name="Property">What was checked, e.g. "the free energy never falls".</param>
/// <param name="Violations">One readable line per violation, with the numbers involved.</param>
public sealed record PropertyReport(string Property, IReadOnlyList<string> Violations)
{
    /// <summary>Whether the property holds: no violation.</summary>
    public bool Holds => Violations.Count == 0;

    /// <summary>A report that holds.</summary>
    public static PropertyReport Passed(string property) => new(property, []);

    /// <summary>Both reports: the properties joined, the violations of both.</summary>
    public PropertyReport And(PropertyReport other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return new PropertyReport($"{Property}; {other.Property}", Violations.Concat(other.Violations).ToArray());
    }

    /// <summary>Returns this report when it holds; otherwise throws <see cref="PropertyViolationException"/> with the violations.</summary>
    public PropertyReport ThrowIfViolated() => Holds ? this : throw new PropertyViolationException(this);

    /// <summary>"holds: …" or the property followed by its violations, one per line.</summary>
    public override string ToString() =>
        Holds
            ? $"holds: {Property}"
            : $"violated: {Property} ({Violations.Count.ToString(CultureInfo.InvariantCulture)} violation{(Violations.Count == 1 ? "" : "s")})" +
              string.Concat(Violations.Take(20).Select(v => Environment.NewLine + "  " + v)) +
              (Violations.Count > 20 ? Environment.NewLine + $"  … and {Violations.Count - 20} more" : "");
}

/// <summary>A property of EM does not hold; <see cref="Report"/> says which and why.</summary>
public sealed class PropertyViolationException : Exception
{
    /// <summary>Creates the exception for a failed report.</summary>
    public PropertyViolationException(PropertyReport report) : base(report?.ToString())
    {
        ArgumentNullException.ThrowIfNull(report);
        Report = report;
    }

    /// <summary>The failed report.</summary>
    public PropertyReport Report { get; }
}
