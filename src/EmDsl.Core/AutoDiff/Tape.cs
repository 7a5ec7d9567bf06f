namespace EmDsl.AutoDiff;

/// <summary>
/// A reverse-mode automatic-differentiation tape over whole arrays: every operation on a <see cref="Var"/> with a
/// taped operand appends one node (one per array operation, not per entry) holding the result and its backward
/// rule; <see cref="Backward"/> walks the nodes in reverse and leaves d output / d node in each node's
/// <see cref="Var.Gradient"/>. Operations whose operands are all constants record nothing and only compute
/// values, which is the fast way to evaluate a function without differentiating it.
/// </summary>
/// <remarks>
/// A tape is cheap: use one per evaluation and let it go. It is not thread-safe; record and differentiate on one
/// thread. Mixing variables of two tapes in one operation throws <see cref="InvalidOperationException"/>.
/// </remarks>
/// <example>
/// The gradient of a logistic-regression log-likelihood with respect to the coefficients:
/// <code>
/// var tape = new Tape();
/// var beta = tape.Vector([0.1, -0.2]);                  // 2×1, differentiable
/// var x = Var.Constant(features, rows, 2);              // data: constants
/// var y = Var.ColumnVector(labels);                     // 0/1, rows×1
/// var eta = x.MatMul(beta);                             // rows×1
/// var logLik = (y * eta - eta.Softplus()).Sum();        // 1×1
/// tape.Backward(logLik);
/// double[] gradient = beta.GradientToArray();           // d logLik / d beta
/// </code>
/// </example>
public sealed class Tape
{
    private readonly List<Var> _nodes = [];

    /// <summary>An empty tape.</summary>
    public Tape() { }

    /// <summary>Incremented by every backward pass; a node's gradient buffer is cleared the first time it is touched in a pass.</summary>
    internal long Epoch { get; private set; }

    /// <summary>Number of arrays recorded on this tape (variables and operation results).</summary>
    public int Count => _nodes.Count;

    internal int Register(Var node)
    {
        _nodes.Add(node);
        return _nodes.Count - 1;
    }

    /// <summary>A differentiable rows×cols input, copying <paramref name="values"/> (row-major, rows·cols long).</summary>
    public Var Variable(double[] values, int rows, int cols) => Var.Leaf(Var.CopyChecked(values, rows, cols, "Variable"), rows, cols, this);

    /// <summary>A differentiable 1×1 input.</summary>
    public Var Variable(double value) => Var.Leaf([value], 1, 1, this);

    /// <summary>A differentiable n×1 (column) input, copying <paramref name="values"/>.</summary>
    public Var Vector(double[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        return Variable(values, values.Length, 1);
    }

    /// <summary>
    /// Reverse pass: resets every gradient on this tape to zero, seeds d output / d output = 1, and runs the backward
    /// rule of each node recorded up to <paramref name="output"/>, newest first, so that every node's
    /// <see cref="Var.Gradient"/> holds d output / d node. <paramref name="output"/> must be 1×1 and recorded on this
    /// tape; may be called again (for the same or another output), each call starting from zero.
    /// </summary>
    public void Backward(Var output)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (output.Tape is null)
            throw new InvalidOperationException(
                $"Backward: the output is a constant ({output.Rows}×{output.Cols}): it depends on no variable of this tape, so there is nothing to differentiate.");
        if (!ReferenceEquals(output.Tape, this))
            throw new InvalidOperationException("Backward: the output is recorded on a different tape; call Backward on the tape that recorded it.");
        if (output.Rows != 1 || output.Cols != 1)
            throw new ArgumentException(
                $"Backward: the output must be 1×1 (a scalar) but is {output.Rows}×{output.Cols}; reduce it first, e.g. with Sum().", nameof(output));
        Epoch++;
        output.GradientBuffer()[0] = 1;
        for (int i = output.Index; i >= 0; i--)
        {
            var node = _nodes[i];
            if (node.ReachedInCurrentPass) node.PropagateBackward();
        }
    }
}
