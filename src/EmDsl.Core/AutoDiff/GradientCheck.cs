using System.Globalization;

namespace EmDsl.AutoDiff;

/// <summary>
/// Compares the tape's gradient of a scalar function with central finite differences
/// (f(x + h·eᵢ) − f(x − h·eᵢ)) / 2h, evaluated on the forward-only (constant) path.
/// </summary>
public static class GradientCheck
{
    /// <summary>ε^(1/3), the step that balances truncation and rounding error of a central difference.</summary>
    public const double DefaultRelativeStep = 6.0554544523933395e-6;

    /// <summary>
    /// Checks <paramref name="function"/> of a rows×cols array at <paramref name="point"/>. The step for coordinate i is
    /// <paramref name="step"/> if given (absolute, the same for all coordinates), else
    /// <see cref="DefaultRelativeStep"/>·max(1, |xᵢ|).
    /// </summary>
    public static GradientCheckReport Run(Func<Var, Var> function, double[] point, int rows, int cols, double? step = null)
    {
        ArgumentNullException.ThrowIfNull(function);
        ArgumentNullException.ThrowIfNull(point);
        if (step is { } s && !(s > 0 && double.IsFinite(s)))
            throw new ArgumentOutOfRangeException(nameof(step), s, "GradientCheck: the step must be finite and positive.");
        var analytic = Differentiation.ValueAndGradient(function, point, rows, cols);
        var numeric = new double[point.Length];
        var probe = (double[])point.Clone();
        for (int i = 0; i < point.Length; i++)
        {
            double xi = point[i], h = step ?? DefaultRelativeStep * Math.Max(1, Math.Abs(xi));
            double up = xi + h, down = xi - h; // the difference actually taken is up − down, exactly representable steps
            probe[i] = up;
            double fUp = Differentiation.Value(function, probe, rows, cols);
            probe[i] = down;
            double fDown = Differentiation.Value(function, probe, rows, cols);
            probe[i] = xi;
            numeric[i] = (fUp - fDown) / (up - down);
        }
        return new GradientCheckReport(analytic.Value, analytic.Gradient, numeric, rows, cols);
    }

    /// <summary>Checks <paramref name="function"/> of the n×1 column <paramref name="point"/> with the default steps.</summary>
    public static GradientCheckReport Run(Func<Var, Var> function, double[] point)
    {
        ArgumentNullException.ThrowIfNull(point);
        return Run(function, point, point.Length, 1);
    }
}

/// <summary>
/// The outcome of <see cref="GradientCheck.Run(Func{Var, Var}, double[], int, int, double?)"/>: the tape's gradient,
/// the central-difference gradient and their disagreement. The relative error of entry i is
/// |aᵢ − nᵢ| / max(1, |aᵢ|, |nᵢ|) (absolute for small gradients); NaN on either side counts as an infinite error.
/// </summary>
/// <param name="Value">f(point).</param>
/// <param name="Analytic">The tape's gradient, row-major like the point.</param>
/// <param name="Numeric">The central-difference gradient, same layout.</param>
/// <param name="Rows">Rows of the point.</param>
/// <param name="Cols">Columns of the point.</param>
public sealed record GradientCheckReport(double Value, double[] Analytic, double[] Numeric, int Rows, int Cols)
{
    /// <summary>max over entries of |analytic − numeric|.</summary>
    public double MaxAbsoluteError => Worst(relative: false).Error;

    /// <summary>max over entries of |analytic − numeric| / max(1, |analytic|, |numeric|).</summary>
    public double MaxRelativeError => Worst(relative: true).Error;

    /// <summary>Row-major index of the entry with the largest relative error (−1 for an empty gradient).</summary>
    public int WorstIndex => Worst(relative: true).Index;

    /// <summary>True when <see cref="MaxRelativeError"/> is at most <paramref name="tolerance"/>.</summary>
    public bool Agrees(double tolerance) => MaxRelativeError <= tolerance;

    private (double Error, int Index) Worst(bool relative)
    {
        if (Analytic.Length != Numeric.Length)
            throw new InvalidOperationException($"GradientCheckReport: {Analytic.Length} analytic entries but {Numeric.Length} numeric ones.");
        double worst = 0;
        int index = Analytic.Length == 0 ? -1 : 0;
        for (int i = 0; i < Analytic.Length; i++)
        {
            double e = Error(Analytic[i], Numeric[i], relative);
            if (e > worst) { worst = e; index = i; }
        }
        return (worst, index);
    }

    private static double Error(double a, double n, bool relative)
    {
        if (a == n) return 0;
        double d = Math.Abs(a - n);
        if (relative) d /= Math.Max(1, Math.Max(Math.Abs(a), Math.Abs(n)));
        return double.IsNaN(d) ? double.PositiveInfinity : d;
    }

    /// <summary>Value equality over every field and every entry of both gradients.</summary>
    public bool Equals(GradientCheckReport? other) =>
        other is not null && Value.Equals(other.Value) && Rows == other.Rows && Cols == other.Cols &&
        Differentiation.SameValues(Analytic, other.Analytic) && Differentiation.SameValues(Numeric, other.Numeric);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Differentiation.Hash(Value, Analytic), Differentiation.Hash(Rows, Numeric), Cols);

    /// <summary>The errors and the worst entry, by index and (row, column), with both gradients' values there.</summary>
    public override string ToString()
    {
        static string F(double v) => v.ToString("G6", CultureInfo.InvariantCulture);
        int w = WorstIndex;
        string worst = w < 0 ? "none"
            : $"{w} (row {w / Math.Max(Cols, 1)}, col {w % Math.Max(Cols, 1)}): analytic {F(Analytic[w])}, numeric {F(Numeric[w])}";
        return $"GradientCheckReport {{ Value = {F(Value)}, {Rows}×{Cols}, MaxAbsoluteError = {F(MaxAbsoluteError)}, " +
               $"MaxRelativeError = {F(MaxRelativeError)}, WorstIndex = {worst} }}";
    }
}
