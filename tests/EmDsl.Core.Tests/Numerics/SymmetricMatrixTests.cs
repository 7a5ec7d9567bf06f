using EmDsl.Numerics;
using EmDsl.Tests.Families;
using FsCheck;
using FsCheck.Fluent;
using MathNet.Numerics.LinearAlgebra;

namespace EmDsl.Tests.Numerics;

/// <summary>SymmetricMatrix (on the process's backend, chosen by EMDSL_BACKEND) against MathNet.</summary>
public class SymmetricMatrixTests
{
    private static Arbitrary<(int N, Matrix<double> A, int Seed)> SpdCases() =>
        Gen.Choose(1, 8).SelectMany(_ => Gens.Seed, (n, s) => (n, s))
            .Select(c => (c.n, new Random(c.s).SpdMatrix(c.n, 0.05, 2) * Math.Pow(10, new Random(c.s + 1).Uniform(-2, 2)), c.s)).ToArbitrary();

    private static double[] Factor(Matrix<double> a)
    {
        int n = a.RowCount;
        var l = new double[n * n];
        Assert.True(SymmetricMatrix.TryCholesky(Dense.RowMajor(a), n, l), $"TryCholesky failed on SPD {Fmt.M(a)}");
        return l;
    }

    [Fact]
    public void InverseFromCholeskyTimesAIsIdentity() =>
        PropertyChecks.ForAll(SpdCases(), c =>
        {
            var inverse = new double[c.N * c.N];
            SymmetricMatrix.InverseFromCholesky(Factor(c.A), c.N, inverse);
            var inv = Dense.FromRowMajor(inverse, c.N, c.N);
            double cond = c.A.ConditionNumber();
            var error = (inv * c.A - Matrix<double>.Build.DenseIdentity(c.N)).FrobeniusNorm();
            Assert.True(error <= 1e-13 * c.N * cond, $"‖A⁻¹A − I‖ = {error} (cond {cond}) for A = {Fmt.M(c.A)}");
            Assert.True((inv - inv.Transpose()).FrobeniusNorm() == 0, "the inverse is not exactly symmetric");
        });

    [Fact]
    public void LogDeterminantFromCholeskyMatchesMathNetDeterminant() =>
        PropertyChecks.ForAll(SpdCases(), c =>
            Approx.Equal(Math.Log(c.A.Determinant()), SymmetricMatrix.LogDeterminantFromCholesky(Factor(c.A), c.N), 1e-11, 1e-11, $"log det {Fmt.M(c.A)}"));

    [Fact]
    public void SolveFromCholeskySolvesTheSystem() =>
        PropertyChecks.ForAll(SpdCases(), c =>
        {
            var rhs = new Random(c.Seed + 2).Vector(c.N, -3, 3);
            var x = (double[])rhs.Clone();
            SymmetricMatrix.SolveFromCholesky(Factor(c.A), c.N, x);
            var expected = c.A.Solve(Vector<double>.Build.DenseOfArray(rhs)).ToArray();
            Approx.Vector(expected, x, 1e-10 * c.A.ConditionNumber(), $"A⁻¹b for A = {Fmt.M(c.A)}");
        });

    [Fact]
    public void InverseQuadraticFormAndTraceMatchMathNet() =>
        PropertyChecks.ForAll(SpdCases(), c =>
        {
            var r = new Random(c.Seed + 3);
            var l = Factor(c.A);
            var x = r.Vector(c.N, -3, 3);
            var xv = Vector<double>.Build.DenseOfArray(x);
            var inv = c.A.Inverse();
            Approx.Equal(xv.DotProduct(inv * xv), SymmetricMatrix.InverseQuadraticForm(l, c.N, x), 1e-10, 1e-12, $"xᵀA⁻¹x for A = {Fmt.M(c.A)}");
            var bm = RandomExtensions.Symmetrize(Matrix<double>.Build.Dense(c.N, c.N, (_, _) => r.Uniform(-2, 2)));
            Approx.Equal((inv * bm).Trace(), SymmetricMatrix.TraceOfInverseTimes(l, c.N, Dense.RowMajor(bm)), 1e-10, 1e-10 * inv.FrobeniusNorm() * bm.FrobeniusNorm(), $"tr(A⁻¹B) for A = {Fmt.M(c.A)}");
        });

    [Fact]
    public void TryCholeskyLeavesTheInputAndReportsFailure()
    {
        var a = new double[] { 1, 2, 2, 1 };
        var copy = (double[])a.Clone();
        Assert.False(SymmetricMatrix.TryCholesky(a, 2, new double[4]));
        Assert.Equal(copy, a);
    }

    [Fact]
    public void SymmetrizeAveragesTheTwoTriangles()
    {
        var a = new double[] { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
        SymmetricMatrix.Symmetrize(a, 3);
        Assert.Equal(new double[] { 1, 3, 5, 3, 5, 7, 5, 7, 9 }, a);
    }
}
