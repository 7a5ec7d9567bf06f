using EmDsl.AutoDiff;
using EmDsl.Tests.Families;
using FsCheck;
using FsCheck.Fluent;

namespace EmDsl.Tests.AutoDiff;

/// <summary>One random array case: a shape in 1..5 × 1..5 and a seed for its values.</summary>
internal sealed record ShapeCase(int Rows, int Cols, int Seed)
{
    public static Arbitrary<ShapeCase> Arbitrary =>
        (from rows in Gen.Choose(1, 5)
         from cols in Gen.Choose(1, 5)
         from seed in Gens.Seed
         select new ShapeCase(rows, cols, seed)).ToArbitrary();

    /// <summary>1..3 rows of 16..24 columns: the kernels switch from plain loops to vectorised rows at 16 columns.</summary>
    public static Arbitrary<ShapeCase> Wide =>
        (from rows in Gen.Choose(1, 3)
         from cols in Gen.Choose(16, 24)
         from seed in Gens.Seed
         select new ShapeCase(rows, cols, seed)).ToArbitrary();
}

/// <summary>
/// Two operand shapes that broadcast: a base R×C in 1..5 × 1..5 and, per operand and dimension, the full size or 1
/// (so same-shape, scalar, row-vector, column-vector and outer (R×1 with 1×C) pairs all occur).
/// </summary>
internal sealed record BroadcastCase(int LeftRows, int LeftCols, int RightRows, int RightCols, int Seed)
{
    public int Rows => Math.Max(LeftRows, RightRows);
    public int Cols => Math.Max(LeftCols, RightCols);

    public static Arbitrary<BroadcastCase> Arbitrary => Cases(Gen.Choose(1, 5), Gen.Choose(1, 5));

    /// <summary>The same with 1..3 rows of 16..24 columns (the vectorised row paths).</summary>
    public static Arbitrary<BroadcastCase> Wide => Cases(Gen.Choose(1, 3), Gen.Choose(16, 24));

    private static Arbitrary<BroadcastCase> Cases(Gen<int> rowCounts, Gen<int> colCounts) =>
        (from rows in rowCounts
         from cols in colCounts
         from flags in Gen.Choose(0, 15)
         from seed in Gens.Seed
         select new BroadcastCase((flags & 1) != 0 ? 1 : rows, (flags & 2) != 0 ? 1 : cols,
                                  (flags & 4) != 0 ? 1 : rows, (flags & 8) != 0 ? 1 : cols, seed)).ToArbitrary();
}

internal static class AutoDiffAssert
{
    /// <summary>Relative tolerance of the finite-difference checks (|a − n| / max(1, |a|, |n|)).</summary>
    public const double Tolerance = 1e-6;

    /// <summary>
    /// Runs <see cref="GradientCheck"/> on f at the rows×cols point and fails with the report unless the tape's gradient
    /// agrees with central differences; also requires the taped value to equal the forward-only value exactly.
    /// </summary>
    public static GradientCheckReport Gradient(Func<Var, Var> f, double[] point, int rows, int cols, string what)
    {
        var report = GradientCheck.Run(f, point, rows, cols);
        Assert.True(report.Agrees(Tolerance),
            $"{what} at {Fmt.V(point)} ({rows}×{cols}): {report}\n  analytic {Fmt.V(report.Analytic)}\n  numeric  {Fmt.V(report.Numeric)}");
        double forwardOnly = Differentiation.Value(f, point, rows, cols);
        Assert.True(forwardOnly.Equals(report.Value), $"{what}: taped value {Fmt.D(report.Value)} but forward-only value {Fmt.D(forwardOnly)}");
        return report;
    }

    /// <summary>Checks shape and values of <paramref name="actual"/> against a reference matrix.</summary>
    public static void Values(double[,] expected, Var actual, double relative, string what)
    {
        Assert.True(actual.Rows == expected.GetLength(0) && actual.Cols == expected.GetLength(1),
            $"{what}: expected a {expected.GetLength(0)}×{expected.GetLength(1)} result, got {actual.Rows}×{actual.Cols}.");
        Approx.Vector(Matrices.Flat(expected), actual.Values, relative, what);
    }
}

/// <summary>double[,] helpers for building reference results independently of the tape.</summary>
internal static class Matrices
{
    public static double[,] Of(ReadOnlySpan<double> v, int rows, int cols)
    {
        var m = new double[rows, cols];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) m[i, j] = v[i * cols + j];
        return m;
    }

    public static double[] Flat(double[,] m)
    {
        int rows = m.GetLength(0), cols = m.GetLength(1);
        var v = new double[rows * cols];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) v[i * cols + j] = m[i, j];
        return v;
    }

    public static double[,] Map(double[,] m, Func<double, double> f)
    {
        int rows = m.GetLength(0), cols = m.GetLength(1);
        var r = new double[rows, cols];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) r[i, j] = f(m[i, j]);
        return r;
    }

    public static double[,] Build(int rows, int cols, Func<int, int, double> f)
    {
        var r = new double[rows, cols];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) r[i, j] = f(i, j);
        return r;
    }

    public static double[] Concat(params double[][] parts) => parts.SelectMany(p => p).ToArray();
}
