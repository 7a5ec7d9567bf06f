using EmDsl.Numerics;
using EmDsl.Tests.Families;
using FsCheck;
using FsCheck.Fluent;
using MathNet.Numerics.LinearAlgebra;

namespace EmDsl.Tests.Numerics;

/// <summary>The Jacobi eigen-decomposition against its definition and against MathNet's.</summary>
public class SymmetricEigenTests
{
    private static Arbitrary<(int N, double[] A, int Seed)> SymmetricCases() =>
        Gen.Choose(1, 12).SelectMany(_ => Gens.Seed, (n, s) => (n, s)).Select(c =>
        {
            var r = new Random(c.s);
            var a = new double[c.n * c.n];
            double scale = Math.Pow(10, r.NextDouble() * 6 - 3);
            for (int i = 0; i < c.n; i++)
                for (int j = 0; j <= i; j++) a[i * c.n + j] = a[j * c.n + i] = scale * (2 * r.NextDouble() - 1);
            return (c.n, a, c.s);
        }).ToArbitrary();

    [Fact]
    public void DecompositionReconstructsTheMatrixWithOrthonormalVectorsInDescendingOrder() =>
        PropertyChecks.ForAll(SymmetricCases(), c =>
        {
            int n = c.N;
            var values = new double[n];
            var vectors = new double[n * n];
            SymmetricEigen.Decompose(c.A, n, values, vectors);
            double norm = c.A.Max(Math.Abs);
            for (int i = 1; i < n; i++) Assert.True(values[i] <= values[i - 1], $"eigenvalues not descending: {string.Join(", ", values)}");
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                {
                    double a = 0, dot = 0;
                    for (int k = 0; k < n; k++)
                    {
                        a += vectors[i * n + k] * values[k] * vectors[j * n + k];
                        dot += vectors[k * n + i] * vectors[k * n + j];
                    }
                    Assert.True(Math.Abs(a - c.A[i * n + j]) <= 1e-12 * n * norm, $"V Λ Vᵀ ({i}, {j}) = {a}, A = {c.A[i * n + j]}");
                    Assert.True(Math.Abs(dot - (i == j ? 1 : 0)) <= 1e-12 * n, $"VᵀV ({i}, {j}) = {dot}");
                }
        });

    [Fact]
    public void EigenvaluesMatchMathNet() =>
        PropertyChecks.ForAll(SymmetricCases(), c =>
        {
            var values = new double[c.N];
            SymmetricEigen.Decompose(c.A, c.N, values, new double[c.N * c.N]);
            var expected = Matrix<double>.Build.Dense(c.N, c.N, (i, j) => c.A[i * c.N + j]).Evd(Symmetricity.Symmetric)
                .EigenValues.Select(v => v.Real).OrderByDescending(v => v).ToArray();
            double norm = c.A.Max(Math.Abs);
            for (int i = 0; i < c.N; i++)
                Assert.True(Math.Abs(values[i] - expected[i]) <= 1e-12 * c.N * norm, $"λ_{i}: {values[i]} vs MathNet {expected[i]}");
        });

    [Fact]
    public void SmallEigenvaluesOfAGradedMatrixKeepTheirRelativeAccuracy()
    {
        // diag(1, 1e-6, 1e-12) rotated: Jacobi's strength (tridiagonal QR loses the small ones to ‖A‖·ε).
        double c = Math.Cos(0.3), s = Math.Sin(0.3);
        var q = new double[,] { { c, -s, 0 }, { s, c, 0 }, { 0, 0, 1 } };
        var d = new[] { 1.0, 1e-6, 1e-12 };
        var a = new double[9];
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                for (int k = 0; k < 3; k++) a[i * 3 + j] += q[i, k] * d[k] * q[j, k];
        var values = new double[3];
        SymmetricEigen.Decompose(a, 3, values, new double[9]);
        Assert.Equal(1.0, values[0], 1e-14);
        Assert.True(Math.Abs(values[1] / 1e-6 - 1) < 1e-9, $"λ₂ = {values[1]}");
        Assert.True(Math.Abs(values[2] / 1e-12 - 1) < 1e-9, $"λ₃ = {values[2]}");
    }

    [Fact]
    public void ANonFiniteEntryIsRejected() =>
        Assert.Throws<ArgumentException>(() => SymmetricEigen.Decompose([1, double.NaN, double.NaN, 1], 2, new double[2], new double[4]));
}
