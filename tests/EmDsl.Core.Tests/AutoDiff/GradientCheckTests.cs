using EmDsl.AutoDiff;
using EmDsl.Tests.Families;

namespace EmDsl.Tests.AutoDiff;

/// <summary>The finite-difference checker itself: it must report real disagreement, and its arithmetic is exact.</summary>
public class GradientCheckTests
{
    /// <summary>
    /// A deliberately wrong gradient: the function is Σ x³ on the tape but Σ x² on the forward-only path the checker
    /// differentiates numerically, so the analytic gradient is 3x² and the numeric one 2x.
    /// </summary>
    [Fact]
    public void ReportsDisagreementForAWrongGradient()
    {
        double[] point = [0.5, 1, 2, 0.1];
        Func<Var, Var> inconsistent = x => x.IsConstant ? x.Square().Sum() : (x * x * x).Sum();
        var report = GradientCheck.Run(inconsistent, point);
        Approx.Vector(point.Select(v => 3 * v * v).ToArray(), report.Analytic, 1e-15, "analytic (tape: Σ x³)");
        Approx.Vector(point.Select(v => 2 * v).ToArray(), report.Numeric, 1e-8, "numeric (forward: Σ x²)");
        Assert.False(report.Agrees(1e-6), report.ToString());
        Assert.False(report.Agrees(0.66), report.ToString()); // worst entry: x = 2, |12 − 4| / 12 = 2/3
        Assert.True(report.Agrees(0.7), report.ToString());
        Assert.Equal(2, report.WorstIndex);
        Approx.Equal(8, report.MaxAbsoluteError, 1e-8, 0, "max |a − n|");
        Approx.Equal(8 / 12.0, report.MaxRelativeError, 1e-8, 0, "max relative error");
        Assert.Contains("WorstIndex = 2 (row 2, col 0): analytic 12, numeric 4", report.ToString());

        var consistent = GradientCheck.Run(x => (x * x * x).Sum(), point);
        Assert.True(consistent.Agrees(1e-8), consistent.ToString());
    }

    [Fact]
    public void ReportArithmeticAndNaNHandling()
    {
        var report = new GradientCheckReport(1.5, [1, 2, 30, 0.5], [1, 2.5, 33, 0.5], 2, 2);
        Assert.Equal(3, report.MaxAbsoluteError);
        Assert.Equal(0.5 / 2.5, report.MaxRelativeError); // 0.2 at index 1 beats 3/33 at index 2
        Assert.Equal(1, report.WorstIndex);
        Assert.True(report.Agrees(0.2));
        Assert.False(report.Agrees(0.19));
        Assert.Contains("WorstIndex = 1 (row 0, col 1): analytic 2, numeric 2.5", report.ToString());

        var nan = new GradientCheckReport(0, [1, double.NaN], [1, 1], 2, 1);
        Assert.Equal(double.PositiveInfinity, nan.MaxRelativeError);
        Assert.Equal(1, nan.WorstIndex);
        Assert.False(nan.Agrees(1e300));
        var tiny = new GradientCheckReport(0, [1e-9], [2e-9], 1, 1); // relative error is absolute below 1
        Assert.Equal(1e-9, tiny.MaxRelativeError, 1e-24);
    }

    [Fact]
    public void ExplicitStepIsUsedAsIs()
    {
        // For f = Σ x³ the central difference with step h is exactly 3x² + h², so a coarse step shows.
        double[] point = [1, 2];
        var report = GradientCheck.Run(x => x.Pow(3).Sum(), point, 2, 1, step: 0.1);
        Approx.Vector([3 + 0.01, 12 + 0.01], report.Numeric, 1e-12, "numeric with h = 0.1");
        Assert.False(report.Agrees(1e-4));
        Assert.True(report.Agrees(0.011));
    }

    [Fact]
    public void RecordsCompareByValueAndPrintTheirNumbers()
    {
        var a = new GradientResult(1.5, [1, -2]);
        var b = new GradientResult(1.5, [1, -2]);
        Assert.NotSame(a.Gradient, b.Gradient);
        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, new GradientResult(1.5, [1, -2.5]));
        Assert.NotEqual(a, new GradientResult(1, [1, -2]));
        Assert.Equal("GradientResult { Value = 1.5, Gradient = [1, -2] }", a.ToString());

        var r1 = new GradientCheckReport(1, [1, 2], [1, 2.5], 1, 2);
        var r2 = new GradientCheckReport(1, [1, 2], [1, 2.5], 1, 2);
        Assert.Equal(r1, r2);
        Assert.Equal(r1.GetHashCode(), r2.GetHashCode());
        Assert.NotEqual(r1, r2 with { Cols = 1, Rows = 2 });
        Assert.NotEqual(r1, new GradientCheckReport(1, [1, 2], [1, 2.25], 1, 2));
    }
}
