using EmDsl.Numerics;
using EmDsl.Tests.Families;
using FsCheck.Fluent;
using Gen = FsCheck.Fluent.Gen;
using MathNetSf = MathNet.Numerics.SpecialFunctions;

namespace EmDsl.Tests.Numerics;

/// <summary>
/// The special functions the iterative inverse mean maps rest on, against MathNet (Cephes Chebyshev fits for I₀ and
/// I₁ up to 700, Amos's exponentially scaled Bessel functions beyond) and against identities that do not share code
/// with the implementation.
/// </summary>
public class IterativeInverseSpecialFunctionsTests
{
    private const double Eps = 2.220446049250313e-16;

    /// <summary>
    /// log1p and expm1 against their Taylor series for |x| ≤ 1e-3 (summed to convergence, no cancellation) and against
    /// the direct formulas where those are accurate (|x| ≥ 0.5); they invert each other. (.NET's double.LogP1 and
    /// double.ExpM1 fail the first check: they lose ~8 digits at 1e-10.)
    /// </summary>
    [Fact]
    public void Log1pAndExpM1AreAccurateForTinyAndLargeArguments()
    {
        PropertyChecks.ForAll(Gens.Uniform(-300, -3).SelectMany(_ => Gen.Elements(1.0, -1.0), (e, sign) => sign * Math.Pow(10, e)).ToArbitrary(), x =>
        {
            double log1p = 0, expm1 = 0, power = 1, factorial = 1;
            for (int k = 1; k < 40; k++)
            {
                power *= x;
                factorial *= k;
                log1p += (k % 2 == 1 ? 1 : -1) * power / k;
                expm1 += power / factorial;
            }
            Approx.Equal(log1p, SpecialFunctions.Log1p(x), 2 * Eps, 0, $"log1p({x})");
            Approx.Equal(expm1, SpecialFunctions.ExpM1(x), 2 * Eps, 0, $"expm1({x})");
        });
        PropertyChecks.ForAll(Gens.Uniform(-0.999, 50).ToArbitrary(), x =>
        {
            if (Math.Abs(x) >= 0.5)
            {
                Approx.Equal(Math.Log(1 + x), SpecialFunctions.Log1p(x), 4 * Eps, 0, $"log1p({x})");
                Approx.Equal(Math.Exp(x) - 1, SpecialFunctions.ExpM1(x), 4 * Eps, 0, $"expm1({x})");
            }
            Approx.Equal(x, SpecialFunctions.ExpM1(SpecialFunctions.Log1p(x)), 8 * Eps, 0, $"expm1(log1p({x}))");
        });
        Assert.Equal(double.NegativeInfinity, SpecialFunctions.Log1p(-1));
        Assert.Equal(-1, SpecialFunctions.ExpM1(double.NegativeInfinity));
        Assert.Equal(double.PositiveInfinity, SpecialFunctions.ExpM1(1000));
    }

    /// <summary>Where log x − ψ(x) does not cancel (x ≤ 5, value ≥ 0.1), MathNet's ψ gives it to ~1e-15.</summary>
    [Fact]
    public void LogMinusDigammaMatchesMathNetWhereTheDifferenceDoesNotCancel() =>
        PropertyChecks.ForAll(Gens.Uniform(-6, Math.Log10(5)).ToArbitrary(), lx =>
        {
            double x = Math.Pow(10, lx);
            Approx.Equal(Math.Log(x) - MathNetSf.DiGamma(x), SpecialFunctions.LogMinusDigamma(x), 1e-13, 0, $"log x − ψ(x) at x = {x}");
        });

    /// <summary>
    /// For large x, g(x) = log x − ψ(x) must keep full relative accuracy: checked through the recurrence
    /// g(x) − g(x + 1) = 1/x − log(1 + 1/x) = Σ_{k≥2} (−1)^k t^k / k with t = 1/x (summed here without cancellation),
    /// and through the leading asymptotics g(x) = 1/(2x) + 1/(12x²) + O(x⁻⁴).
    /// </summary>
    [Fact]
    public void LogMinusDigammaKeepsRelativeAccuracyForHugeArguments() =>
        PropertyChecks.ForAll(Gens.Uniform(1, 15).ToArbitrary(), lx =>
        {
            double x = Math.Pow(10, lx), t = 1 / x;
            double expected = 0, term = t;
            for (int k = 2; k < 60; k++)
            {
                term *= -t;
                expected += (k % 2 == 0 ? 1 : -1) * Math.Abs(term) / k;
            }
            double difference = SpecialFunctions.LogMinusDigamma(x) - SpecialFunctions.LogMinusDigamma(x + 1);
            // g(x) and g(x + 1) each carry ~2 ulps; their difference is ~1/(2x²) of g ≈ 1/(2x) in size.
            Approx.Equal(expected, difference, 1e-12 + 8 * Eps * x, 0, $"g({x}) − g({x} + 1)");
            // The next term of the series is −t⁴/120.
            Approx.Equal(0.5 * t + t * t / 12, SpecialFunctions.LogMinusDigamma(x), 4 * Eps, t * t * t * t / 100, $"asymptotics of g({x})");
        });

    [Fact]
    public void LogMinusDigammaEdgeCases()
    {
        Assert.True(double.IsNaN(SpecialFunctions.LogMinusDigamma(0)));
        Assert.True(double.IsNaN(SpecialFunctions.LogMinusDigamma(-1)));
        Assert.True(double.IsNaN(SpecialFunctions.LogMinusDigamma(double.NaN)));
        Assert.Equal(0, SpecialFunctions.LogMinusDigamma(double.PositiveInfinity));
        // x → 0: ψ(x) ≈ −1/x − γ, so g(x) ≈ 1/x + log x + γ.
        Approx.Equal(1e12 + Math.Log(1e-12) + 0.5772156649015329, SpecialFunctions.LogMinusDigamma(1e-12), 1e-15, 0, "g(1e-12)");
    }

    /// <summary>The derivative the Gamma solver uses is 1/x − ψ₁(x): against central differences of g.</summary>
    [Fact]
    public void LogMinusDigammaDerivativeMatchesFiniteDifferences() =>
        PropertyChecks.ForAll(Gens.Uniform(-3, 8).ToArbitrary(), lx =>
        {
            double x = Math.Pow(10, lx), h = 1e-5 * x;
            SpecialFunctions.LogMinusDigammaWithDerivative(x, out double derivative);
            double fd = (SpecialFunctions.LogMinusDigamma(x + h) - SpecialFunctions.LogMinusDigamma(x - h)) / (2 * h);
            Approx.Equal(fd, derivative, 1e-6, 0, $"g′({x})");
            Assert.True(derivative < 0, $"g′({x}) = {derivative} should be negative");
        });

    [Fact]
    public void TrigammaMatchesDifferencesOfMathNetDigammaAndInverseDigammaInvertsDigamma()
    {
        PropertyChecks.ForAll(Gens.Uniform(-2, 4).ToArbitrary(), lx =>
        {
            double x = Math.Pow(10, lx), h = 1e-5 * x;
            double fd = (MathNetSf.DiGamma(x + h) - MathNetSf.DiGamma(x - h)) / (2 * h);
            Approx.Equal(fd, SpecialFunctions.Trigamma(x), 1e-7, 0, $"ψ₁({x})");
        });
        PropertyChecks.ForAll(Gens.Uniform(-1e4, 30).ToArbitrary(), y =>
        {
            double x = SpecialFunctions.InverseDigamma(y);
            Approx.Equal(y, MathNetSf.DiGamma(x), 1e-13, 1e-13, $"ψ(ψ⁻¹({y})) (x = {x})");
        });
    }

    /// <summary>e^{−x} I₀(x) and e^{−x} I₁(x) against MathNet's unscaled Cephes fits, where those do not overflow.</summary>
    [Fact]
    public void ScaledBesselFunctionsMatchMathNetUpTo700() =>
        PropertyChecks.ForAll(Gens.Uniform(-8, Math.Log10(700)).ToArbitrary(), lx =>
        {
            double x = Math.Pow(10, lx);
            Approx.Equal(MathNetSf.BesselI0(x) * Math.Exp(-x), SpecialFunctions.BesselI0Scaled(x), 1e-14, 0, $"e^(−x) I₀({x})");
            Approx.Equal(MathNetSf.BesselI1(x) * Math.Exp(-x), SpecialFunctions.BesselI1Scaled(x), 1e-14, 0, $"e^(−x) I₁({x})");
            Approx.Equal(Math.Log(MathNetSf.BesselI0(x)), SpecialFunctions.LogBesselI0(x), 1e-14, 1e-15, $"log I₀({x})");
        }, 300);

    /// <summary>Beyond 700, against MathNet's Amos-based BesselIScaled, up to 10⁸.</summary>
    [Fact]
    public void ScaledBesselFunctionsMatchAmosForHugeArguments() =>
        PropertyChecks.ForAll(Gens.Uniform(1, 8).ToArbitrary(), lx =>
        {
            double x = Math.Pow(10, lx);
            double i0 = MathNetSf.BesselIScaled(0, x), i1 = MathNetSf.BesselIScaled(1, x);
            Approx.Equal(i0, SpecialFunctions.BesselI0Scaled(x), 1e-13, 0, $"e^(−x) I₀({x})");
            Approx.Equal(i1, SpecialFunctions.BesselI1Scaled(x), 1e-13, 0, $"e^(−x) I₁({x})");
            Approx.Equal(x + Math.Log(i0), SpecialFunctions.LogBesselI0(x), 1e-15, 0, $"log I₀({x})");
        });

    [Fact]
    public void BesselFunctionsAtZeroAndNegativeArguments()
    {
        Assert.Equal(1, SpecialFunctions.BesselI0Scaled(0));
        Assert.Equal(0, SpecialFunctions.BesselI1Scaled(0));
        Assert.Equal(0, SpecialFunctions.LogBesselI0(0));
        foreach (var x in new[] { 0.3, 7.0, 25.0, 1e4 })
        {
            Assert.Equal(SpecialFunctions.BesselI0Scaled(x), SpecialFunctions.BesselI0Scaled(-x));
            Assert.Equal(-SpecialFunctions.BesselI1Scaled(x), SpecialFunctions.BesselI1Scaled(-x));
            Assert.Equal(SpecialFunctions.LogBesselI0(x), SpecialFunctions.LogBesselI0(-x));
        }
        Assert.True(double.IsNaN(SpecialFunctions.BesselI0Scaled(double.NaN)));
        Assert.Equal(double.PositiveInfinity, SpecialFunctions.LogBesselI0(double.PositiveInfinity));
    }

    /// <summary>
    /// A₁ = I₁/I₀ and its derivative: A₁ against MathNet's ratio (Amos beyond 700); A₁′ against the identity
    /// 1 − A₁/x − A₁² where that does not cancel (x ≤ 20) and against central differences of A₁ everywhere (the
    /// asymptotic A₁′ ≈ 1/(2x²) past 20 is what keeps the von Mises Newton step meaningful at large κ).
    /// </summary>
    [Fact]
    public void BesselRatioAndItsDerivative() =>
        PropertyChecks.ForAll(Gens.Uniform(-6, 7).ToArbitrary(), lx =>
        {
            double x = Math.Pow(10, lx);
            double a = SpecialFunctions.BesselRatioI1I0(x, out double slope);
            double expected = x <= 700 ? MathNetSf.BesselI1(x) / MathNetSf.BesselI0(x) : MathNetSf.BesselIScaled(1, x) / MathNetSf.BesselIScaled(0, x);
            Approx.Equal(expected, a, 1e-13, 0, $"A₁({x})");
            if (x <= 20) Approx.Equal(1 - a / x - a * a, slope, 1e-11, 0, $"A₁′({x}) by the identity");
            double h = 1e-4 * x;
            double fd = (SpecialFunctions.BesselRatioI1I0(x + h, out _) - SpecialFunctions.BesselRatioI1I0(x - h, out _)) / (2 * h);
            // Central differences: truncation ~h²|A₁‴| (below 1e-5 relative) and rounding: A₁ ≤ 1 carries a few
            // ulps, so the quotient may be off by ~4ε/(2h) absolutely, which dominates for x ≳ 1e6.
            Approx.Equal(fd, slope, 1e-5, 4 * Eps / (2 * h), $"A₁′({x}) by differences");
            if (x > 1e3) Approx.Equal(0.5 / (x * x), slope, 2.0 / x, 0, $"A₁′({x}) ≈ 1/(2x²)");
        });
}
