using System.Text.Json;
using EmDsl.Numerics;
using EmDsl.Tests.Families;
using Xunit.Abstractions;

namespace EmDsl.Tests.Numerics;

/// <summary>
/// log Γ, ψ, ψ₁ and log x − ψ(x) against mpmath's 50-digit values at 959 arguments (tests/fixtures/
/// special_functions_mpmath.json, written by tests/fixtures/make_special_function_fixtures.py: log-spaced from 1e-300
/// to 1e300, dense near log Γ's zeros 1 and 2 and ψ's root x₀, integers, half-integers, the methods' switch points and
/// typical Beta/Dirichlet concentrations). The error is counted in ulps of the reference:
/// |computed − reference| / (BitIncrement(|reference|) − |reference|), relative everywhere, also at the zeros (the
/// implementations carry the factor x − 1, x − 2 or x − x₀ exactly, so no absolute floor is needed there). Every
/// function must stay within <see cref="MaxUlps"/>; the measured maxima (2, 1, 2 and 2 ulps when written) are printed.
/// </summary>
public class SpecialFunctionsAccuracyTests(ITestOutputHelper output)
{
    /// <summary>The bound asserted for every function and argument.</summary>
    private const double MaxUlps = 4;

    private static readonly JsonElement[] Cases =
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", "special_functions_mpmath.json")))
            .RootElement.GetProperty("cases").EnumerateArray().ToArray();

    /// <summary>|computed − reference| in units of the spacing of doubles at the reference (0 when equal).</summary>
    internal static double Ulps(double computed, double reference)
    {
        if (computed == reference) return 0;
        double a = Math.Abs(reference);
        return Math.Abs(computed - reference) / (Math.BitIncrement(a) - a);
    }

    private void CheckAgainstMpmath(string name, string key, Func<double, double> f)
    {
        double worst = 0, worstAt = double.NaN;
        int count = 0;
        var failures = new List<string>();
        foreach (var c in Cases)
        {
            double x = c.GetProperty("x").GetDouble();
            var r = c.GetProperty(key);
            double computed = f(x);
            count++;
            if (r.ValueKind == JsonValueKind.Null)
            {
                // Beyond the double range in mpmath: the function must overflow, not return a finite number.
                if (!double.IsInfinity(computed)) failures.Add($"{name}({Fmt.D(x)}) = {Fmt.D(computed)}, expected to overflow");
                continue;
            }
            double reference = r.GetDouble(), u = Ulps(computed, reference);
            if (!(u <= worst)) { worst = u; worstAt = x; }
            if (!(u <= MaxUlps)) failures.Add($"{name}({Fmt.D(x)}) = {Fmt.D(computed)}, mpmath {Fmt.D(reference)}: {u:G4} ulps");
        }
        output.WriteLine($"{name}: max {worst:G4} ulps (at x = {Fmt.D(worstAt)}) over {count} arguments");
        Assert.True(failures.Count == 0, $"{name}: {failures.Count} arguments beyond {MaxUlps} ulps:\n" + string.Join("\n", failures.Take(20)));
    }

    [Fact]
    public void LogGammaIsWithinAFewUlpsOfMpmath() => CheckAgainstMpmath("log Γ", "lgamma", SpecialFunctions.LogGamma);

    [Fact]
    public void DigammaIsWithinAFewUlpsOfMpmath() => CheckAgainstMpmath("ψ", "digamma", SpecialFunctions.Digamma);

    [Fact]
    public void TrigammaIsWithinAFewUlpsOfMpmath() => CheckAgainstMpmath("ψ₁", "trigamma", SpecialFunctions.Trigamma);

    [Fact]
    public void LogMinusDigammaIsWithinAFewUlpsOfMpmath() => CheckAgainstMpmath("log x − ψ", "log_minus_digamma", SpecialFunctions.LogMinusDigamma);

    /// <summary>
    /// The derivative LogMinusDigammaWithDerivative reports, 1/x − ψ₁(x), against a central difference of the value
    /// (loose: the difference quotient itself carries ~1e-8 relative error) and against 1/x − ψ₁(x) where that does
    /// not cancel (x ≤ 1).
    /// </summary>
    [Fact]
    public void LogMinusDigammaDerivativeMatchesItsDifferenceQuotient()
    {
        foreach (double x in new[] { 1e-3, 0.3, 0.99, 1, 1.5, 2.2, 5, 9.99, 10, 37, 1e4, 1e7 })
        {
            SpecialFunctions.LogMinusDigammaWithDerivative(x, out double d);
            double h = 1e-5 * x;
            double fd = (SpecialFunctions.LogMinusDigamma(x + h) - SpecialFunctions.LogMinusDigamma(x - h)) / (2 * h);
            Approx.Equal(fd, d, 1e-7, 0, $"d/dx (log x − ψ(x)) at {x}");
            Assert.True(d < 0, $"derivative at {x} is {d}, must be negative");
            if (x <= 1) Approx.Equal(1 / x - SpecialFunctions.Trigamma(x), d, 4e-16, 0, $"1/x − ψ₁(x) at {x}");
        }
    }

    /// <summary>
    /// Arguments outside (0, ∞): poles, infinities, NaN, and the reflection formulas at a few negative non-integers
    /// (mpmath's log|Γ(x)| and ψ(x) at those doubles, 40 digits; the reflection's error is absolute, ~1e-16 of the terms).
    /// </summary>
    [Fact]
    public void EdgesPolesAndNegativeArguments()
    {
        Assert.Equal(double.PositiveInfinity, SpecialFunctions.LogGamma(0));
        Assert.Equal(double.PositiveInfinity, SpecialFunctions.LogGamma(-3));
        Assert.Equal(double.PositiveInfinity, SpecialFunctions.LogGamma(double.PositiveInfinity));
        Assert.Equal(double.PositiveInfinity, SpecialFunctions.LogGamma(1e306));
        Assert.Equal(0, SpecialFunctions.LogGamma(1));
        Assert.Equal(0, SpecialFunctions.LogGamma(2));
        Assert.Equal(-Math.Log(double.Epsilon), SpecialFunctions.LogGamma(double.Epsilon));
        Assert.True(double.IsNaN(SpecialFunctions.LogGamma(double.NaN)));

        Assert.True(double.IsNaN(SpecialFunctions.Digamma(0)));
        Assert.True(double.IsNaN(SpecialFunctions.Digamma(-4)));
        Assert.True(double.IsNaN(SpecialFunctions.Digamma(double.NaN)));
        Assert.Equal(double.PositiveInfinity, SpecialFunctions.Digamma(double.PositiveInfinity));
        Assert.Equal(double.NegativeInfinity, SpecialFunctions.Digamma(1e-320));

        Assert.True(double.IsNaN(SpecialFunctions.Trigamma(0)));
        Assert.True(double.IsNaN(SpecialFunctions.Trigamma(-0.5)));
        Assert.Equal(0, SpecialFunctions.Trigamma(double.PositiveInfinity));
        Assert.Equal(double.PositiveInfinity, SpecialFunctions.Trigamma(1e-160));

        foreach (var (x, logAbsGamma, digamma) in new[]
                 {
                     (-0.5, 1.2655121234846454, 0.03648997397857652),
                     (-2.5, -0.056243716497674054, 1.103156640645243),
                     (-1.25, 1.3664317612369763, 3.714139120213528),
                     (-7.75, -8.581847763551867, -1.0307688328309315),
                     (-100.3, -363.7662061826763, 6.895643124860435),
                 })
        {
            Approx.Equal(logAbsGamma, SpecialFunctions.LogGamma(x), 0, 4e-15 * Math.Max(1, Math.Abs(logAbsGamma)), $"log|Γ({x})|");
            Approx.Equal(digamma, SpecialFunctions.Digamma(x), 0, 4e-15 * Math.Max(1, Math.Abs(digamma)), $"ψ({x})");
        }
    }
}
