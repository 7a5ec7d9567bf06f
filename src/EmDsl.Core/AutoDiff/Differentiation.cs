using System.Globalization;

namespace EmDsl.AutoDiff;

/// <summary>Value and gradient of a scalar function of one array, with a fresh <see cref="Tape"/> per call.</summary>
public static class Differentiation
{
    /// <summary>
    /// f(point) and ∇f(point) for <paramref name="function"/> of a rows×cols array (row-major
    /// <paramref name="point"/>); the function must return a 1×1 array. A function that ignores its argument has a
    /// zero gradient.
    /// </summary>
    public static GradientResult ValueAndGradient(Func<Var, Var> function, double[] point, int rows, int cols)
    {
        ArgumentNullException.ThrowIfNull(function);
        var tape = new Tape();
        var x = tape.Variable(point, rows, cols);
        var y = CheckScalar(function(x), "ValueAndGradient");
        if (y.Tape is null) return new GradientResult(y.Scalar, new double[x.Length]);
        tape.Backward(y);
        return new GradientResult(y.Scalar, x.GradientToArray());
    }

    /// <summary>f(point) and ∇f(point) for <paramref name="function"/> of the n×1 column <paramref name="point"/>.</summary>
    public static GradientResult ValueAndGradient(Func<Var, Var> function, double[] point)
    {
        ArgumentNullException.ThrowIfNull(point);
        return ValueAndGradient(function, point, point.Length, 1);
    }

    /// <summary>f(point) only: the argument is a constant, so nothing is recorded (the fast forward-only path).</summary>
    public static double Value(Func<Var, Var> function, double[] point, int rows, int cols)
    {
        ArgumentNullException.ThrowIfNull(function);
        return CheckScalar(function(Var.Constant(point, rows, cols)), "Value").Scalar;
    }

    private static Var CheckScalar(Var? y, string operation)
    {
        if (y is null) throw new InvalidOperationException($"{operation}: the function returned null.");
        if (y.Rows != 1 || y.Cols != 1)
            throw new InvalidOperationException($"{operation}: the function returned a {y.Rows}×{y.Cols} array; it must return a 1×1 scalar (e.g. end with Sum()).");
        return y;
    }

    /// <summary>[v0, v1, …] with round-trip precision.</summary>
    internal static string Format(IEnumerable<double> values) =>
        "[" + string.Join(", ", values.Select(v => v.ToString("R", CultureInfo.InvariantCulture))) + "]";

    internal static int Hash(double value, double[]? values)
    {
        var h = new HashCode();
        h.Add(value);
        if (values is not null) foreach (var v in values) h.Add(v);
        return h.ToHashCode();
    }

    internal static bool SameValues(double[]? a, double[]? b) =>
        ReferenceEquals(a, b) || (a is not null && b is not null && a.AsSpan().SequenceEqual(b));
}

/// <summary>A function's value and its gradient (same layout as the point); equal when both values and every gradient entry are equal.</summary>
/// <param name="Value">f(point).</param>
/// <param name="Gradient">∇f(point), row-major like the point.</param>
public sealed record GradientResult(double Value, double[] Gradient)
{
    /// <summary>Value equality over <see cref="Value"/> and every entry of <see cref="Gradient"/>.</summary>
    public bool Equals(GradientResult? other) =>
        other is not null && Value.Equals(other.Value) && Differentiation.SameValues(Gradient, other.Gradient);

    /// <inheritdoc />
    public override int GetHashCode() => Differentiation.Hash(Value, Gradient);

    /// <summary>"GradientResult { Value = …, Gradient = […] }" with round-trip precision.</summary>
    public override string ToString() =>
        $"GradientResult {{ Value = {Value.ToString("R", CultureInfo.InvariantCulture)}, Gradient = {Differentiation.Format(Gradient ?? [])} }}";
}
