using EmDsl.AutoDiff;

namespace EmDsl.Tests.AutoDiff;

/// <summary>Every misuse throws with a message naming the operation and the offending shapes, indices or tapes.</summary>
public class BadInputTests
{
    private static void Mentions(Exception e, params string[] parts)
    {
        foreach (var p in parts) Assert.True(e.Message.Contains(p, StringComparison.Ordinal), $"message \"{e.Message}\" does not mention \"{p}\"");
    }

    [Fact]
    public void MixingTwoTapesThrows()
    {
        var x = new Tape().Vector([1, 2]);
        var y = new Tape().Vector([3, 4]);
        Mentions(Assert.Throws<InvalidOperationException>(() => x + y), "Add", "different tapes");
        Mentions(Assert.Throws<InvalidOperationException>(() => x * y), "Multiply", "different tapes");
        Mentions(Assert.Throws<InvalidOperationException>(() => x.Transpose().MatMul(y)), "MatMul", "different tapes");
        Mentions(Assert.Throws<InvalidOperationException>(() => x.Dot(y)), "Dot", "different tapes");
        Mentions(Assert.Throws<InvalidOperationException>(() => Var.ConcatRows(x, Var.ColumnVector([0]), y)), "ConcatRows", "part 2", "different tape");
        Mentions(Assert.Throws<InvalidOperationException>(() => x.Tape!.Backward(y.Sum())), "Backward", "different tape");
    }

    [Fact]
    public void ShapeMismatchesNameBothShapesAndTheOperation()
    {
        var a = Var.Constant(new double[12], 3, 4);
        var b = Var.Constant(new double[10], 5, 2);
        Mentions(Assert.Throws<ArgumentException>(() => a.MatMul(b)), "MatMul: left is 3×4, right is 5×2; inner dimensions differ");
        var c = Var.Constant(new double[6], 2, 3);
        var d = Var.Constant(new double[6], 3, 2);
        Mentions(Assert.Throws<ArgumentException>(() => c + d), "Add (+): left is 2×3, right is 3×2", "broadcast");
        Mentions(Assert.Throws<ArgumentException>(() => c - d), "Subtract", "2×3", "3×2");
        Mentions(Assert.Throws<ArgumentException>(() => c * Var.RowVector([1, 2])), "Multiply", "2×3", "1×2");
        Mentions(Assert.Throws<ArgumentException>(() => c / Var.ColumnVector([1, 2, 3])), "Divide", "2×3", "3×1");
        Mentions(Assert.Throws<ArgumentException>(() => c.Dot(d)), "Dot: left is 2×3, right is 3×2");
        Mentions(Assert.Throws<ArgumentException>(() => c.Reshape(4, 2)), "Reshape", "2×3", "4×2");
        Mentions(Assert.Throws<ArgumentException>(() => Var.ConcatColumns(c, d)), "ConcatColumns", "part 1 is 3×2", "part 0 is 2×3", "rows");
        Mentions(Assert.Throws<ArgumentException>(() => Var.ConcatRows(c, d)), "ConcatRows", "part 1 is 3×2", "columns");
        Mentions(Assert.Throws<ArgumentException>(() => Var.ConcatRows()), "ConcatRows", "no parts");
    }

    [Fact]
    public void IndicesOutOfRangeNameTheRowOrRange()
    {
        var m = Var.Constant(new double[6], 2, 3);
        Mentions(Assert.Throws<ArgumentOutOfRangeException>(() => Var.OneHot([0, 2, 3, 1], 3)), "OneHot", "label 3 in row 2", "0..2");
        Mentions(Assert.Throws<ArgumentOutOfRangeException>(() => Var.OneHot([-1], 3)), "label -1 in row 0");
        Mentions(Assert.Throws<ArgumentOutOfRangeException>(() => m.SelectPerRow([0, 3])), "SelectPerRow", "column index 3 in row 1", "2×3");
        Mentions(Assert.Throws<ArgumentException>(() => m.SelectPerRow([0])), "SelectPerRow", "1 column indices", "2×3");
        Mentions(Assert.Throws<ArgumentOutOfRangeException>(() => m.Columns(2, 2)), "Columns", "2×3");
        Mentions(Assert.Throws<ArgumentOutOfRangeException>(() => m.Columns(0, 0)), "Columns");
        Mentions(Assert.Throws<ArgumentOutOfRangeException>(() => m.RowRange(1, 2)), "RowRange", "2×3");
        Mentions(Assert.Throws<ArgumentOutOfRangeException>(() => m[2, 0]), "(2, 0)", "2×3");
    }

    [Fact]
    public void BackwardNeedsAScalarOutputOfItsOwnTape()
    {
        var tape = new Tape();
        var x = tape.Vector([1, 2]);
        Mentions(Assert.Throws<ArgumentException>(() => tape.Backward(x * 2)), "Backward", "1×1", "2×1");
        Mentions(Assert.Throws<InvalidOperationException>(() => tape.Backward(Var.Constant(3.0))), "Backward", "constant");
        Mentions(Assert.Throws<InvalidOperationException>(() => x.Scalar), "Scalar", "2×1");
        Mentions(Assert.Throws<InvalidOperationException>(() => Differentiation.ValueAndGradient(v => v * 2, [1, 2])), "ValueAndGradient", "2×1", "1×1");
        Mentions(Assert.Throws<InvalidOperationException>(() => Differentiation.Value(v => v.ColumnSums(), [1, 2, 3, 4], 2, 2)), "Value", "1×2");
    }

    [Fact]
    public void BadConstructionArgumentsThrow()
    {
        var tape = new Tape();
        Mentions(Assert.Throws<ArgumentException>(() => tape.Variable([1, 2, 3], 2, 2)), "Variable", "3 values", "2×2", "expected 4");
        Mentions(Assert.Throws<ArgumentException>(() => Var.Constant([1, 2], 1, 3)), "Constant", "2 values", "1×3");
        Mentions(Assert.Throws<ArgumentOutOfRangeException>(() => Var.Constant([], 0, 3)), "0×3", "at least 1");
        Mentions(Assert.Throws<ArgumentOutOfRangeException>(() => tape.Vector([])), "0×1");
        Mentions(Assert.Throws<ArgumentOutOfRangeException>(() => Var.OneHot([0], 0)), "OneHot", "1×0");
        Assert.Throws<ArgumentNullException>(() => Var.Constant(null!, 1, 1));
        Assert.Throws<ArgumentNullException>(() => Var.Constant([1.0], 1, 1) + (Var)null!);
        Mentions(Assert.Throws<ArgumentOutOfRangeException>(() => GradientCheck.Run(v => v.Sum(), [1.0], 1, 1, step: 0)), "step");
    }
}
