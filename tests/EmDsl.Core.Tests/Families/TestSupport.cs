using System.Globalization;
using FsCheck;
using FsCheck.Fluent;
using MathNet.Numerics.LinearAlgebra;

namespace EmDsl.Tests.Families;

/// <summary>Generators shared by the family, prior and numerics properties.</summary>
internal static class Gens
{
    /// <summary>A seed for a <see cref="System.Random"/> that builds one structured case.</summary>
    public static Gen<int> Seed => Gen.Choose(0, 1_000_000_000);

    /// <summary>A well-conditioned double in [lo, hi] on a grid of 10⁶ steps.</summary>
    public static Gen<double> Uniform(double lo, double hi) =>
        Gen.Choose(0, 1_000_000).Select(i => lo + (hi - lo) * (i / 1e6));

    /// <summary>n doubles in [lo, hi].</summary>
    public static Gen<double[]> Vector(int n, double lo, double hi) => Uniform(lo, hi).ArrayOf(n);

    /// <summary>A Dirichlet-style concentration ≥ 1: exactly 1 (the flat boundary case) one time in four.</summary>
    public static Gen<double> ConcentrationAtLeastOne(double hi) =>
        Gen.Frequency((1, Gen.Constant(1.0)), (3, Uniform(1, hi)));
}

/// <summary>Draws from a seeded <see cref="Random"/> in well-conditioned ranges.</summary>
internal static class RandomExtensions
{
    public static double Uniform(this Random r, double lo, double hi) => lo + (hi - lo) * r.NextDouble();

    public static double[] Vector(this Random r, int n, double lo, double hi)
    {
        var v = new double[n];
        for (int i = 0; i < n; i++) v[i] = r.Uniform(lo, hi);
        return v;
    }

    /// <summary>A probability vector with every entry at least about 0.05/C (weights in [0.05, 1], normalised).</summary>
    public static double[] ProbabilityVector(this Random r, int c)
    {
        var w = r.Vector(c, 0.05, 1);
        double s = w.Sum();
        for (int i = 0; i < c; i++) w[i] /= s;
        return w;
    }

    /// <summary>A symmetric positive-definite d×d matrix B·Bᵀ + s·I with B in [−1, 1] and s in [lo, hi] (condition number ≲ 1 + 4d/lo).</summary>
    public static Matrix<double> SpdMatrix(this Random r, int d, double lo = 0.3, double hi = 1.5)
    {
        var b = Matrix<double>.Build.Dense(d, d, (_, _) => r.Uniform(-1, 1));
        var a = b * b.Transpose() + Matrix<double>.Build.DenseIdentity(d) * r.Uniform(lo, hi);
        return Symmetrize(a);
    }

    public static Matrix<double> Symmetrize(Matrix<double> a) => (a + a.Transpose()) * 0.5;
}

/// <summary>Tolerance assertions that report both values and the allowed error.</summary>
internal static class Approx
{
    /// <summary>|expected − actual| ≤ absolute + relative·|expected| (NaN never passes).</summary>
    public static void Equal(double expected, double actual, double relative, double absolute, string what)
    {
        double err = Math.Abs(expected - actual), tol = absolute + relative * Math.Abs(expected);
        if (!(err <= tol) && !(expected == actual))
            Assert.Fail($"{what}: expected {Fmt.D(expected)}, got {Fmt.D(actual)} (|Δ| = {Fmt.D(err)} > {Fmt.D(tol)}).");
    }

    /// <summary>Entrywise, relative to the largest magnitude of <paramref name="expected"/>: |Δ_i| ≤ absolute + relative·‖expected‖∞.</summary>
    public static void Vector(ReadOnlySpan<double> expected, ReadOnlySpan<double> actual, double relative, string what, double absolute = 1e-14)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: expected {expected.Length} values, got {actual.Length}.");
        double scale = 0;
        foreach (var v in expected) scale = Math.Max(scale, Math.Abs(v));
        double tol = absolute + relative * scale;
        for (int i = 0; i < expected.Length; i++)
        {
            double err = Math.Abs(expected[i] - actual[i]);
            if (!(err <= tol))
                Assert.Fail($"{what}: entry {i} expected {Fmt.D(expected[i])}, got {Fmt.D(actual[i])} (|Δ| = {Fmt.D(err)} > {Fmt.D(tol)}).\n" +
                            $"  expected {Fmt.V(expected)}\n  actual   {Fmt.V(actual)}");
        }
    }
}

/// <summary>Round-trippable formatting for failure messages.</summary>
internal static class Fmt
{
    public static string D(double v) => v.ToString("G17", CultureInfo.InvariantCulture);

    public static string V(ReadOnlySpan<double> v)
    {
        var parts = new string[v.Length];
        for (int i = 0; i < v.Length; i++) parts[i] = v[i].ToString("G10", CultureInfo.InvariantCulture);
        return "[" + string.Join(", ", parts) + "]";
    }

    public static string M(Matrix<double> m) =>
        "[" + string.Join("; ", Enumerable.Range(0, m.RowCount).Select(i => V(m.Row(i).ToArray()))) + "]";
}

/// <summary>Small dense helpers over MathNet, used to build independent expected values.</summary>
internal static class Dense
{
    public static double[] RowMajor(Matrix<double> m)
    {
        var v = new double[m.RowCount * m.ColumnCount];
        for (int i = 0; i < m.RowCount; i++)
            for (int j = 0; j < m.ColumnCount; j++) v[i * m.ColumnCount + j] = m[i, j];
        return v;
    }

    public static Matrix<double> FromRowMajor(ReadOnlySpan<double> v, int rows, int cols)
    {
        var m = Matrix<double>.Build.Dense(rows, cols);
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) m[i, j] = v[i * cols + j];
        return m;
    }

    /// <summary>Smallest eigenvalue of a symmetric matrix.</summary>
    public static double MinEigenvalue(Matrix<double> symmetric) =>
        symmetric.RowCount == 0 ? double.PositiveInfinity
            : symmetric.Evd(Symmetricity.Symmetric).EigenValues.Select(c => c.Real).Min();

    /// <summary>Largest eigenvalue magnitude of a symmetric matrix.</summary>
    public static double MaxAbsEigenvalue(Matrix<double> symmetric) =>
        symmetric.RowCount == 0 ? 0 : symmetric.Evd(Symmetricity.Symmetric).EigenValues.Select(c => Math.Abs(c.Real)).Max();

    /// <summary>log N(x | μ, Σ) by the textbook formula, with MathNet's Cholesky for |Σ| and Σ⁻¹.</summary>
    public static double MultivariateNormalLogDensity(double[] x, double[] mean, Matrix<double> covariance)
    {
        int d = x.Length;
        var chol = covariance.Cholesky();
        var diff = Vector<double>.Build.DenseOfEnumerable(x.Zip(mean, (a, b) => a - b));
        double quad = diff.DotProduct(chol.Solve(diff));
        return -0.5 * d * Math.Log(2 * Math.PI) - 0.5 * chol.DeterminantLn - 0.5 * quad;
    }
}
