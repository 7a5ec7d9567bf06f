using EmDsl.AutoDiff;
using EmDsl.Tests.Families;

namespace EmDsl.Tests.AutoDiff;

/// <summary>Log-sum-exp and the softplus family at extreme arguments, and the documented IEEE behaviour outside domains.</summary>
public class StabilityTests
{
    private static readonly double Lse1000 = 1001 + Math.Log(1 + Math.Exp(-1)); // log(e^1000 + e^1001)
    private static readonly double[] Softmax1000 = [1 / (1 + Math.E), Math.E / (1 + Math.E)];
    private const double NegInf = double.NegativeInfinity;

    [Fact]
    public void LogSumExpOfHugeEntriesIsFiniteWithSoftmaxGradient()
    {
        var tape = new Tape();
        var x = tape.Vector([1000, 1001]);
        var lse = x.LogSumExp();
        Approx.Equal(Lse1000, lse.Scalar, 1e-15, 0, "LogSumExp([1000, 1001])");
        tape.Backward(lse);
        // The gradient is exp(x − value): x − value ≈ −0.31 carries the rounding of numbers near 1000 (ulp ≈ 1e-13).
        Approx.Vector(Softmax1000, x.Gradient, 1e-12, "softmax([1000, 1001])");

        // The row, column and log-softmax forms, with a row/column of large negative entries too.
        var m = tape.Variable([1000, 1001, -1000, -1001], 2, 2);
        Approx.Vector([Lse1000, -1000 + Math.Log(1 + Math.Exp(-1))], m.RowLogSumExp().Values, 1e-15, "RowLogSumExp");
        var tapeT = new Tape();
        var mt = tapeT.Variable([1000, -1000, 1001, -1001], 2, 2);
        var columns = mt.ColumnLogSumExp();
        Approx.Vector([Lse1000, -1000 + Math.Log(1 + Math.Exp(-1))], columns.Values, 1e-15, "ColumnLogSumExp");
        tapeT.Backward(columns.Sum());
        Approx.Vector([Softmax1000[0], Softmax1000[1], Softmax1000[1], Softmax1000[0]], mt.Gradient, 1e-12, "ColumnLogSumExp gradient");

        var logSoftmax = m.LogSoftmaxRows();
        Approx.Vector([1000 - Lse1000, 1001 - Lse1000, -Math.Log(1 + Math.Exp(-1)), -1 - Math.Log(1 + Math.Exp(-1))], logSoftmax.Values, 1e-13, "LogSoftmaxRows");
        tape.Backward(logSoftmax.SelectPerRow([1, 0]).Sum());
        // d log p_k / d x_j = [j = k] − p_j.
        Approx.Vector([-Softmax1000[0], 1 - Softmax1000[1], 1 - Softmax1000[1], -Softmax1000[0]], m.Gradient, 1e-12, "LogSoftmaxRows gradient");
    }

    [Fact]
    public void MinusInfinityEntriesContributeNothing()
    {
        var tape = new Tape();
        var x = tape.Vector([NegInf, 0, Math.Log(2), NegInf]);
        var lse = x.LogSumExp();
        Approx.Equal(Math.Log(3), lse.Scalar, 1e-15, 0, "LogSumExp([−∞, 0, log 2, −∞])");
        tape.Backward(lse);
        Approx.Vector([0, 1 / 3.0, 2 / 3.0, 0], x.Gradient, 1e-15, "its gradient");

        // Rows: one with a −∞ entry, one all −∞ (value −∞, no NaN anywhere, zero gradient).
        var m = tape.Variable([NegInf, 0, NegInf, NegInf], 2, 2);
        var rows = m.RowLogSumExp();
        Assert.Equal(new[] { 0.0, NegInf }, rows.ToArray());
        tape.Backward(rows.RowRange(0, 1).Sum());
        Assert.Equal(new[] { 0.0, 1, 0, 0 }, m.GradientToArray());

        var logSoftmax = m.LogSoftmaxRows();
        Assert.Equal(new[] { NegInf, 0, NegInf, NegInf }, logSoftmax.ToArray());
        var weights = Var.Constant([0, 2, 0, 0], 2, 2); // −∞ entries weighted by 0 would be NaN: select the finite one
        tape.Backward(logSoftmax.Dot(weights));
        Assert.All(m.GradientToArray(), g => Assert.True(double.IsFinite(g), $"gradient {Fmt.V(m.Gradient)} has a non-finite entry"));
        Assert.Equal(new double[4], m.GradientToArray()); // p = [0, 1]: 2·([j = 1] − p_j) = 0; the all −∞ row is fixed

        var columns = tape.Variable([NegInf, NegInf, 0, NegInf], 2, 2).ColumnLogSumExp();
        Assert.Equal(new[] { 0.0, NegInf }, columns.ToArray());
        var all = tape.Vector([NegInf, NegInf]);
        var allLse = all.LogSumExp();
        Assert.Equal(NegInf, allLse.Scalar);
        tape.Backward(allLse);
        Assert.Equal(new double[2], all.GradientToArray());
    }

    [Fact]
    public void SoftplusFamilyIsStableAndPreciseAtExtremes()
    {
        double[] x = [-1000, -40, -1e-10, 0, 1e-10, 40, 1000];
        var softplus = Var.ColumnVector(x).Softplus().ToArray();
        var logSigmoid = Var.ColumnVector(x).LogSigmoid().ToArray();
        var sigmoid = Var.ColumnVector(x).Sigmoid().ToArray();
        Assert.All(softplus.Concat(logSigmoid).Concat(sigmoid), v => Assert.True(double.IsFinite(v), $"non-finite value in {Fmt.V(softplus)} {Fmt.V(logSigmoid)} {Fmt.V(sigmoid)}"));
        Assert.Equal(0, softplus[0]); // e^−1000 underflows
        Approx.Equal(Math.Exp(-40) * (1 - Math.Exp(-40) / 2), softplus[1], 1e-15, 0, "softplus(−40) (relative)");
        Approx.Equal(Math.Log(2) - 0.5e-10, softplus[2], 1e-15, 0, "softplus(−1e-10)");
        Approx.Equal(Math.Log(2), softplus[3], 1e-16, 0, "softplus(0)");
        Approx.Equal(40 + Math.Exp(-40), softplus[5], 1e-16, 0, "softplus(40)");
        Assert.Equal(1000, softplus[6]);
        Assert.Equal(-1000, logSigmoid[0]);
        Approx.Equal(-Math.Exp(-40), logSigmoid[5], 1e-15, 0, "log σ(40) (relative)");
        Assert.Equal(0, logSigmoid[6]);
        Approx.Equal(Math.Exp(-40), sigmoid[1], 1e-14, 0, "σ(−40) (relative)");

        // Gradients: σ(x) for softplus, σ(x)σ(−x) for σ — the latter keeps relative precision at x = 40.
        var tape = new Tape();
        var v = tape.Vector(x);
        tape.Backward(v.Sigmoid().Sum());
        Approx.Equal(Math.Exp(-40), v.Gradient[5], 1e-13, 0, "σ′(40) (relative)");
        Assert.Equal(0, v.Gradient[6]);
        tape.Backward(v.Softplus().Sum());
        Assert.Equal(new[] { 0.0, 1.0 }, new[] { v.Gradient[0], v.Gradient[6] });
    }

    [Fact]
    public void Log1pKeepsFullPrecisionForTinyArguments()
    {
        var y = Var.ColumnVector([1e-20, -1e-17, 3e-9, -1, 1e300]).Log1p().ToArray();
        Assert.Equal(1e-20, y[0]);
        Assert.Equal(-1e-17, y[1]);
        Approx.Equal(3e-9 - 4.5e-18, y[2], 1e-15, 0, "log1p(3e-9)");
        Assert.Equal(double.NegativeInfinity, y[3]);
        Approx.Equal(Math.Log(1e300), y[4], 1e-15, 0, "log1p(1e300)");
    }

    /// <summary>Documented: the domain is the caller's responsibility; IEEE values come back, not exceptions.</summary>
    [Fact]
    public void OutsideTheDomainValuesAndGradientsAreIeee()
    {
        var tape = new Tape();
        var x = tape.Vector([0, 4]);
        var sqrt = x.Sqrt();
        tape.Backward(sqrt.Sum());
        Assert.Equal(new[] { double.PositiveInfinity, 0.25 }, x.GradientToArray());
        var logs = Var.ColumnVector([0, -1, 1]).Log().ToArray();
        Assert.Equal(double.NegativeInfinity, logs[0]);
        Assert.True(double.IsNaN(logs[1]));
        Assert.Equal(0, logs[2]);
        Assert.True(double.IsNaN(Var.Constant(-1.0).Sqrt().Scalar));
    }
}
