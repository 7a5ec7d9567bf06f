using EmDsl.Optimization;
using EmDsl.Tests.Families;
using FsCheck.Fluent;

namespace EmDsl.Tests.Optimization;

/// <summary>The line search's interpolation step.</summary>
public class LineSearchTests
{
    /// <summary>
    /// For φ(α) = −c(α − m)² + k(α − m)³ (a local maximum at m), the cubic through two points' values and slopes is
    /// φ itself, so the interpolated trial is m whenever m lies in the middle 80% of the bracket.
    /// </summary>
    [Fact]
    public void CubicInterpolationRecoversTheMaximumOfACubic()
    {
        var cases = from m in Gens.Uniform(0.15, 0.85)
                    from c in Gens.Uniform(0.1, 10)
                    from k in Gens.Uniform(-0.5, 0.5)
                    from scale in Gens.Uniform(1e-3, 1e3)
                    from flip in Gen.Elements(false, true)
                    select (m, c, k, scale, flip);
        PropertyChecks.ForAll(cases.ToArbitrary(), t =>
        {
            // Bracket [0, scale] (or reversed), maximiser at m·scale.
            double mu = t.m * t.scale;
            double Phi(double a) => -t.c * Math.Pow((a - mu) / t.scale, 2) + t.k * Math.Pow((a - mu) / t.scale, 3);
            double Slope(double a) => (-2 * t.c * (a - mu) / t.scale + 3 * t.k * Math.Pow((a - mu) / t.scale, 2)) / t.scale;
            double a0 = t.flip ? t.scale : 0, b0 = t.flip ? 0 : t.scale;
            double got = LineSearch.Interpolate(a0, Phi(a0), Slope(a0), b0, Phi(b0), Slope(b0));
            Approx.Equal(mu, got, 1e-9, 1e-12 * t.scale, $"cubic maximiser for {t}");
        });
    }

    [Fact]
    public void InterpolationStaysInsideTheMiddleOfTheBracket()
    {
        // The quadratic −(α − 10)² has its maximum far beyond [0, 1]: the trial is clamped to 0.9.
        Assert.Equal(0.9, LineSearch.Interpolate(0, -100, 20, 1, -81, 18), 14);
        // −(α + 5)²: maximum far before the bracket: clamped to 0.1.
        Assert.Equal(0.1, LineSearch.Interpolate(0, -25, -10, 1, -36, -12), 14);
    }
}
