namespace EmDsl.AutoDiff;

public sealed partial class Var
{
    /// <summary>Elementwise left + right with broadcasting. Gradient: the upstream gradient to both, summed over broadcast dimensions.</summary>
    public static Var operator +(Var left, Var right) => Add(left, right);

    /// <summary>Adds a constant to every entry. Gradient: the upstream gradient.</summary>
    public static Var operator +(Var left, double right) => Add(left, Constant(right));

    /// <summary>Adds a constant to every entry. Gradient: the upstream gradient.</summary>
    public static Var operator +(double left, Var right) => Add(Constant(left), right);

    /// <summary>Elementwise left − right with broadcasting. Gradient: +upstream to left, −upstream to right, summed over broadcast dimensions.</summary>
    public static Var operator -(Var left, Var right) => Subtract(left, right);

    /// <summary>Subtracts a constant from every entry. Gradient: the upstream gradient.</summary>
    public static Var operator -(Var left, double right) => Subtract(left, Constant(right));

    /// <summary>left − each entry. Gradient: −upstream.</summary>
    public static Var operator -(double left, Var right) => Subtract(Constant(left), right);

    /// <summary>Elementwise (Hadamard) left ∘ right with broadcasting. Gradient: upstream ∘ right to left and upstream ∘ left to right, summed over broadcast dimensions.</summary>
    public static Var operator *(Var left, Var right) => Multiply(left, right);

    /// <summary>Scales every entry. Gradient: upstream · right.</summary>
    public static Var operator *(Var left, double right) => Multiply(left, Constant(right));

    /// <summary>Scales every entry. Gradient: upstream · left.</summary>
    public static Var operator *(double left, Var right) => Multiply(Constant(left), right);

    /// <summary>Elementwise left / right with broadcasting. Gradient: upstream / right to left and −upstream ∘ left / right² to right, summed over broadcast dimensions.</summary>
    public static Var operator /(Var left, Var right) => Divide(left, right);

    /// <summary>Divides every entry by a constant. Gradient: upstream / right.</summary>
    public static Var operator /(Var left, double right) => Divide(left, Constant(right));

    /// <summary>left / each entry. Gradient: −upstream · left / right².</summary>
    public static Var operator /(double left, Var right) => Divide(Constant(left), right);

    /// <summary>Elementwise −x. Gradient: −upstream.</summary>
    public static Var operator -(Var x)
    {
        ArgumentNullException.ThrowIfNull(x);
        return x.Unary<NegateOp>();
    }

    /// <summary>Elementwise left + right with broadcasting (the method form of <c>+</c>).</summary>
    public static Var Add(Var left, Var right)
    {
        const string op = "Add (+)";
        var tape = CommonTape(left, right, op);
        var (rows, cols) = BroadcastShape(left, right, op);
        var data = Kernels.NewArray(rows * cols);
        Kernels.BroadcastForward<AddOp>(left.Data, left.Rows, left.Cols, right.Data, right.Rows, right.Cols, data, rows, cols);
        if (tape is null) return Wrap(data, rows, cols);
        return new Var(data, rows, cols, tape, node =>
        {
            var g = node.Upstream;
            if (left._tape is not null) Kernels.AccumulateSum(left.GradientBuffer(), left.Rows, left.Cols, g, rows, cols, negate: false);
            if (right._tape is not null) Kernels.AccumulateSum(right.GradientBuffer(), right.Rows, right.Cols, g, rows, cols, negate: false);
        });
    }

    /// <summary>Elementwise left − right with broadcasting (the method form of binary <c>−</c>).</summary>
    public static Var Subtract(Var left, Var right)
    {
        const string op = "Subtract (−)";
        var tape = CommonTape(left, right, op);
        var (rows, cols) = BroadcastShape(left, right, op);
        var data = Kernels.NewArray(rows * cols);
        Kernels.BroadcastForward<SubtractOp>(left.Data, left.Rows, left.Cols, right.Data, right.Rows, right.Cols, data, rows, cols);
        if (tape is null) return Wrap(data, rows, cols);
        return new Var(data, rows, cols, tape, node =>
        {
            var g = node.Upstream;
            if (left._tape is not null) Kernels.AccumulateSum(left.GradientBuffer(), left.Rows, left.Cols, g, rows, cols, negate: false);
            if (right._tape is not null) Kernels.AccumulateSum(right.GradientBuffer(), right.Rows, right.Cols, g, rows, cols, negate: true);
        });
    }

    /// <summary>Elementwise left ∘ right with broadcasting (the method form of <c>*</c>).</summary>
    public static Var Multiply(Var left, Var right)
    {
        const string op = "Multiply (*)";
        var tape = CommonTape(left, right, op);
        var (rows, cols) = BroadcastShape(left, right, op);
        var data = Kernels.NewArray(rows * cols);
        Kernels.BroadcastForward<MultiplyOp>(left.Data, left.Rows, left.Cols, right.Data, right.Rows, right.Cols, data, rows, cols);
        if (tape is null) return Wrap(data, rows, cols);
        return new Var(data, rows, cols, tape, node =>
        {
            var g = node.Upstream;
            if (left._tape is not null)
                Kernels.AccumulateProduct(left.GradientBuffer(), left.Rows, left.Cols, g, rows, cols, right.Data, right.Rows, right.Cols);
            if (right._tape is not null)
                Kernels.AccumulateProduct(right.GradientBuffer(), right.Rows, right.Cols, g, rows, cols, left.Data, left.Rows, left.Cols);
        });
    }

    /// <summary>Elementwise left / right with broadcasting (the method form of <c>/</c>).</summary>
    public static Var Divide(Var left, Var right)
    {
        const string op = "Divide (/)";
        var tape = CommonTape(left, right, op);
        var (rows, cols) = BroadcastShape(left, right, op);
        var data = Kernels.NewArray(rows * cols);
        Kernels.BroadcastForward<DivideOp>(left.Data, left.Rows, left.Cols, right.Data, right.Rows, right.Cols, data, rows, cols);
        if (tape is null) return Wrap(data, rows, cols);
        return new Var(data, rows, cols, tape, node =>
        {
            var g = node.Upstream;
            if (left._tape is not null)
                Kernels.AccumulateQuotient(left.GradientBuffer(), left.Rows, left.Cols, g, rows, cols, right.Data, right.Rows, right.Cols);
            if (right._tape is not null)
                Kernels.AccumulateDenominator(right.GradientBuffer(), right.Rows, right.Cols, g, rows, cols, node.Data, right.Data);
        });
    }

    /// <summary>The broadcast shape of two operands, or an exception naming both shapes and the operation.</summary>
    private static (int Rows, int Cols) BroadcastShape(Var a, Var b, string operation)
    {
        int rows = BroadcastDimension(a.Rows, b.Rows), cols = BroadcastDimension(a.Cols, b.Cols);
        if (rows < 0 || cols < 0)
            throw new ArgumentException($"{operation}: left is {a.Shape}, right is {b.Shape}; they do not broadcast (each dimension must be equal, or 1 on one side).");
        return (rows, cols);
    }

    private static int BroadcastDimension(int x, int y) => x == y ? x : x == 1 ? y : y == 1 ? x : -1;
}
