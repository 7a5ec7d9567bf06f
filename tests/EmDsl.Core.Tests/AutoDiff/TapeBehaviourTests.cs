using EmDsl.AutoDiff;
using EmDsl.Tests.Families;

namespace EmDsl.Tests.AutoDiff;

/// <summary>How the tape records, accumulates and resets gradients, and what it does with constants.</summary>
public class TapeBehaviourTests
{
    [Fact]
    public void AVariableUsedTwiceAccumulatesLikeSquare()
    {
        double[] values = [1.5, -2, 0.25, 3];
        var tape = new Tape();
        var x = tape.Vector(values);
        var y = tape.Vector(values);
        var product = (x * x).Sum();
        var square = y.Square().Sum();
        tape.Backward(product);
        Assert.Equal(values.Select(v => 2 * v), x.GradientToArray());
        Assert.Equal(new double[4], y.GradientToArray()); // not on the path to this output
        tape.Backward(square);
        Assert.Equal(values.Select(v => 2 * v), y.GradientToArray());
        Assert.Equal(new double[4], x.GradientToArray()); // reset by the second pass
        Assert.Equal(product.Scalar, square.Scalar);
    }

    [Fact]
    public void AVariableUsedInManyPlacesGetsTheSumOfItsContributions()
    {
        double[] values = [0.5, -1, 2];
        var tape = new Tape();
        var x = tape.Vector(values);
        // f = Σ (x∘x + x) + x·x + 3·Σ x  ⇒  ∇f = 2x + 1 + 2x + 3 = 4x + 4.
        var f = (x * x + x).Sum() + x.Dot(x) + 3 * x.Sum();
        tape.Backward(f);
        Assert.Equal(values.Select(v => 4 * v + 4), x.GradientToArray());
    }

    [Fact]
    public void BackwardTwiceGivesTheSameGradientNotTwice()
    {
        var tape = new Tape();
        var x = tape.Variable([1, 2, 3, 4, 5, 6], 2, 3);
        var f = (x.Exp() * x).Sum();
        tape.Backward(f);
        var first = x.GradientToArray();
        tape.Backward(f);
        Assert.Equal(first, x.GradientToArray());
        Approx.Vector(x.Values.ToArray().Select(v => Math.Exp(v) * (1 + v)).ToArray(), first, 1e-15, "∇ Σ x eˣ");
    }

    [Fact]
    public void BroadcastingAColumnAgainstARowSumsGradientsBackBothWays()
    {
        var tape = new Tape();
        var column = tape.Vector([1, 2, 3]);              // 3×1
        var row = tape.Variable([10, 20, 30, 40], 1, 4);  // 1×4
        var outer = column * row;                          // 3×4, outer product
        Assert.Equal((3, 4), (outer.Rows, outer.Cols));
        Assert.Equal(2 * 30, outer[1, 2]);
        var weights = Var.Constant(Enumerable.Range(1, 12).Select(v => (double)v).ToArray(), 3, 4);
        tape.Backward(outer.Dot(weights));
        // d/d column_i = Σ_j w_ij row_j ; d/d row_j = Σ_i w_ij column_i.
        var w = Matrices.Of(weights.Values, 3, 4);
        Assert.Equal(Enumerable.Range(0, 3).Select(i => Enumerable.Range(0, 4).Sum(j => w[i, j] * row[0, j])), column.GradientToArray());
        Assert.Equal(Enumerable.Range(0, 4).Select(j => Enumerable.Range(0, 3).Sum(i => w[i, j] * column[i, 0])), row.GradientToArray());

        // A matrix minus its column means (1×C broadcast down the rows) and a scalar broadcast everywhere.
        var tape2 = new Tape();
        var m = tape2.Variable([1, 2, 3, 4, 5, 6], 3, 2);
        var s = tape2.Variable(2.0);
        var centred = (m - m.ColumnMeans()) * s;
        Assert.Equal(new[] { -4.0, -4, 0, 0, 4, 4 }, centred.ToArray());
        var f = centred.Square().Sum(); // s²·Σ (m − mean)² = 64
        Assert.Equal(64, f.Scalar);
        tape2.Backward(f);
        Assert.Equal(2 * 64, s.Scalar * s.Gradient[0]); // f is quadratic in s: s·∂f/∂s = 2f
        Approx.Vector(Matrices.Flat(Matrices.Build(3, 2, (i, j) => 2 * 4 * (m[i, j] - (j == 0 ? 3 : 4)))), m.Gradient, 1e-15, "∂f/∂m (mean-centring rule)");
    }

    [Fact]
    public void ConstantsRecordNothingAndGetNoGradient()
    {
        var tape = new Tape();
        var a = Var.Constant([1, 2, 3, 4], 2, 2);
        var b = Var.RowVector([1, -1]);
        var constantOnly = ((a * b).Exp().RowLogSumExp() + 1.0).Sum();
        Assert.Null(constantOnly.Tape);
        Assert.True(constantOnly.IsConstant);
        Assert.Equal(0, tape.Count);
        Assert.True(a.Gradient.IsEmpty);
        Assert.Empty(a.GradientToArray());

        var x = tape.Variable([0.5, 0.25], 1, 2);
        Assert.Equal(1, tape.Count);
        var mixed = a * x; // a constant with a taped operand: recorded on the operand's tape
        Assert.Same(tape, mixed.Tape);
        Assert.Equal(2, tape.Count);
        tape.Backward((mixed + b).Sum());
        Assert.True(a.Gradient.IsEmpty);
        Assert.True(b.Gradient.IsEmpty);
        Assert.Equal(new[] { 1.0 + 3, 2 + 4 }, x.GradientToArray()); // column sums of a
    }

    [Fact]
    public void NodesTheOutputDoesNotDependOnHaveZeroGradient()
    {
        var tape = new Tape();
        var x = tape.Vector([1, 2]);
        var unused = tape.Vector([3, 4, 5]);
        var early = x.Sum();
        var later = (x * 10).Sum(); // recorded after the output: not part of its computation
        tape.Backward(early);
        Assert.Equal(new[] { 1.0, 1 }, x.GradientToArray());
        Assert.Equal(new double[3], unused.GradientToArray());
        Assert.Equal(0, later.Gradient[0]);
        Assert.Equal(1, early.Gradient[0]);
    }

    [Fact]
    public void GradientBeforeAnyBackwardIsZeros()
    {
        var x = new Tape().Variable([1, 2, 3, 4], 2, 2);
        Assert.Equal(new double[4], x.GradientToArray());
    }

    [Fact]
    public void ShapesAndAccessors()
    {
        var tape = new Tape();
        var v = tape.Vector([1, 2, 3]);
        Assert.Equal((3, 1, 3), (v.Rows, v.Cols, v.Length));
        Assert.Equal((1, 1), (tape.Variable(2.5).Rows, tape.Variable(2.5).Cols));
        Assert.Equal(2.5, tape.Variable(2.5).Scalar);
        Assert.Equal((4, 1), (Var.ColumnVector([1, 2, 3, 4]).Rows, Var.ColumnVector([1, 2, 3, 4]).Cols));
        Assert.Equal((1, 4), (Var.RowVector([1, 2, 3, 4]).Rows, Var.RowVector([1, 2, 3, 4]).Cols));
        Var implicitScalar = 1.25;
        Assert.True(implicitScalar.IsConstant);
        Assert.Equal(1.25, implicitScalar.Scalar);
        var m = Var.Constant([1, 2, 3, 4, 5, 6], 2, 3);
        Assert.Equal(6, m[1, 2]);
        Assert.Equal(2, m[0, 1]);
        Assert.Equal("Var 2×3 constant [1, 2, 3; 4, 5, 6]", m.ToString());

        // Inputs are copied: changing the caller's array later changes nothing.
        double[] source = [1, 2];
        var copy = tape.Vector(source);
        var constant = Var.ColumnVector(source);
        source[0] = 99;
        Assert.Equal(new[] { 1.0, 2 }, copy.ToArray());
        Assert.Equal(new[] { 1.0, 2 }, constant.ToArray());
        // ToArray is a copy too.
        copy.ToArray()[0] = 42;
        Assert.Equal(1, copy[0, 0]);
    }

    [Fact]
    public void OneHotIsTheIndicatorMatrix()
    {
        var y = Var.OneHot([2, 0, 1, 2], 3);
        Assert.True(y.IsConstant);
        Assert.Equal((4, 3), (y.Rows, y.Cols));
        Assert.Equal(new double[] { 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1 }, y.ToArray());
    }

    [Fact]
    public void DifferentiationOfAFunctionThatIgnoresItsArgumentIsZero()
    {
        var result = Differentiation.ValueAndGradient(_ => Var.Constant(4.0), [1, 2, 3]);
        Assert.Equal(new GradientResult(4, [0, 0, 0]), result);
    }

    [Fact]
    public void DifferentiationValueAndGradientOfAKnownFunction()
    {
        // f(X) = Σ log(1 + X²) over a 2×2 X: ∇f = 2X / (1 + X²).
        double[] point = [0.5, -1, 2, 0];
        Func<Var, Var> f = x => (x.Square() + 1).Log().Sum();
        var result = Differentiation.ValueAndGradient(f, point, 2, 2);
        Approx.Equal(point.Sum(v => Math.Log(1 + v * v)), result.Value, 1e-15, 0, "value");
        Approx.Vector(point.Select(v => 2 * v / (1 + v * v)).ToArray(), result.Gradient, 1e-15, "gradient");
        Assert.Equal(result.Value, Differentiation.Value(f, point, 2, 2));
        Assert.Equal(result, Differentiation.ValueAndGradient(x => f(x.Reshape(2, 2)), point)); // the n×1 overload
    }
}
