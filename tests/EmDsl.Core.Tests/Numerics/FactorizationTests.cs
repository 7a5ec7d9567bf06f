using EmDsl.Numerics;
using EmDsl.Tests.Families;
using FsCheck.Fluent;
using MathNet.Numerics.LinearAlgebra;

namespace EmDsl.Tests.Numerics;

/// <summary>CholeskyInPlace and SolveLowerInPlace on every backend, against MathNet and residuals.</summary>
public class FactorizationTests
{
    public static TheoryData<string> BackendNames() => Backends.Names();

    private static Matrix<double> Spd(Random r, int n) =>
        n == 0 ? Matrix<double>.Build.Dense(0, 0) : r.SpdMatrix(n, 0.05, 2) * Math.Pow(10, r.Uniform(-3, 3));

    /// <summary>Row-major copy of the lower triangle of <paramref name="a"/> with NaN above the diagonal (it must not be read).</summary>
    private static double[] LowerWithNaNAbove(Matrix<double> a)
    {
        int n = a.RowCount;
        var v = new double[n * n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) v[i * n + j] = j <= i ? a[i, j] : double.NaN;
        return v;
    }

    [Theory, MemberData(nameof(BackendNames))]
    public void CholeskyFactorsRandomSpdMatrices(string backend)
    {
        var b = Backends.Resolve(backend);
        PropertyChecks.ForAll(Gen.Choose(0, 9).SelectMany(_ => Gens.Seed, (n, s) => (n, s)).ToArbitrary(), c =>
        {
            var r = new Random(c.s);
            int n = c.n;
            var a = Spd(r, n);
            var buffer = LowerWithNaNAbove(a);
            Assert.True(b.CholeskyInPlace(buffer, n), $"{b.Name}: Cholesky failed on SPD {Fmt.M(a)}");
            var l = Dense.FromRowMajor(buffer, n, n);
            for (int i = 0; i < n; i++)
            {
                Assert.True(l[i, i] > 0, $"{b.Name}: L[{i},{i}] = {l[i, i]}");
                for (int j = i + 1; j < n; j++) Assert.True(l[i, j] == 0, $"{b.Name}: upper entry ({i}, {j}) = {l[i, j]} was not zeroed");
            }
            if (n == 0) return;
            double scale = a.FrobeniusNorm();
            var residual = (l * l.Transpose() - a).FrobeniusNorm();
            Assert.True(residual <= 1e-13 * scale * n, $"{b.Name}: ‖LLᵀ − A‖ = {residual} for A = {Fmt.M(a)}");
            var expected = a.Cholesky().Factor;
            Assert.True((expected - l).FrobeniusNorm() <= 1e-10 * expected.FrobeniusNorm(), $"{b.Name}: L differs from MathNet's factor {Fmt.M(expected)}: {Fmt.M(l)}");
        });
    }

    [Theory, MemberData(nameof(BackendNames))]
    public void CholeskyReturnsFalseOnIndefiniteMatrices(string backend)
    {
        var b = Backends.Resolve(backend);
        PropertyChecks.ForAll(Gen.Choose(1, 8).SelectMany(_ => Gens.Seed, (n, s) => (n, s)).ToArbitrary(), c =>
        {
            var r = new Random(c.s);
            int n = c.n;
            var a = r.SpdMatrix(n);
            // Shift the spectrum so the smallest eigenvalue is clearly negative; the diagonal may stay positive.
            var indefinite = RandomExtensions.Symmetrize(a - Matrix<double>.Build.DenseIdentity(n) * (Dense.MinEigenvalue(a) + r.Uniform(0.05, 1)));
            Assert.False(b.CholeskyInPlace(LowerWithNaNAbove(indefinite), n), $"{b.Name}: Cholesky succeeded on indefinite {Fmt.M(indefinite)}");
            var negativeDiagonal = a.Clone();
            int k = r.Next(n);
            negativeDiagonal[k, k] = -r.Uniform(0.01, 1);
            Assert.False(b.CholeskyInPlace(LowerWithNaNAbove(negativeDiagonal), n), $"{b.Name}: Cholesky succeeded with a negative diagonal {Fmt.M(negativeDiagonal)}");
        });
    }

    /// <summary>Exactly singular matrices: the zero matrix, and v·vᵀ for an integer vector (exact arithmetic makes a pivot exactly 0).</summary>
    [Theory, MemberData(nameof(BackendNames))]
    public void CholeskyReturnsFalseOnSingularMatrices(string backend)
    {
        var b = Backends.Resolve(backend);
        for (int n = 1; n <= 6; n++) Assert.False(b.CholeskyInPlace(new double[n * n], n), $"{b.Name}: Cholesky succeeded on the {n}×{n} zero matrix");
        PropertyChecks.ForAll(Gen.Choose(2, 6).SelectMany(n => Gen.Choose(-5, 5).ArrayOf(n), (n, v) => v).Where(v => v[0] != 0).ToArbitrary(), v =>
        {
            int n = v.Length;
            var a = new double[n * n];
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++) a[i * n + j] = v[i] * v[j];
            Assert.False(b.CholeskyInPlace(a, n), $"{b.Name}: Cholesky succeeded on the rank-one v·vᵀ, v = [{string.Join(", ", v)}]");
        }, 50);
    }

    [Theory, MemberData(nameof(BackendNames))]
    public void CholeskyReturnsFalseOnNaN(string backend)
    {
        var b = Backends.Resolve(backend);
        var r = new Random(5);
        for (int n = 1; n <= 5; n++)
            for (int i = 0; i < n; i++)
                for (int j = 0; j <= i; j++)
                {
                    var buffer = LowerWithNaNAbove(r.SpdMatrix(n));
                    buffer[i * n + j] = double.NaN;
                    Assert.False(b.CholeskyInPlace(buffer, n), $"{b.Name}: Cholesky succeeded with NaN at ({i}, {j}) of a {n}×{n} matrix");
                }
    }

    [Theory, MemberData(nameof(BackendNames))]
    public void SolveLowerInPlaceSolvesBothTransposes(string backend)
    {
        var b = Backends.Resolve(backend);
        var cases = from n in Gen.Choose(0, 8)
                    from nrhs in Gen.Frequency((1, Gen.Constant(0)), (2, Gen.Constant(1)), (3, Gen.Choose(2, 5)))
                    from transpose in Gen.Elements(false, true)
                    from seed in Gens.Seed
                    select (n, nrhs, transpose, seed);
        PropertyChecks.ForAll(cases.ToArbitrary(), c =>
        {
            var r = new Random(c.seed);
            int n = c.n, nrhs = c.nrhs;
            var l = Matrix<double>.Build.Dense(n, n, (i, j) => i == j ? r.Uniform(0.5, 2) : i > j ? r.Uniform(-1, 1) : 0);
            var rhs = Matrix<double>.Build.Dense(n, nrhs, (_, _) => r.Uniform(-5, 5));
            var buffer = Dense.RowMajor(rhs);
            b.SolveLowerInPlace(Dense.RowMajor(l), n, buffer, nrhs, c.transpose);
            var x = Dense.FromRowMajor(buffer, n, nrhs);
            if (n == 0 || nrhs == 0) return;
            var op = c.transpose ? l.Transpose() : l;
            double residual = (op * x - rhs).FrobeniusNorm();
            double scale = op.FrobeniusNorm() * x.FrobeniusNorm() + rhs.FrobeniusNorm();
            Assert.True(residual <= 1e-13 * n * scale, $"{b.Name}: ‖op(L)·X − B‖ = {residual} (scale {scale}), transpose = {c.transpose}, L = {Fmt.M(l)}");
            var expected = op.Solve(rhs);
            Assert.True((expected - x).FrobeniusNorm() <= 1e-9 * (1 + expected.FrobeniusNorm()), $"{b.Name}: X differs from MathNet's solve");
        });
    }

    /// <summary>Both backends agree on the factor of the same matrix (to rounding).</summary>
    [Fact]
    public void BackendsAgreeOnCholesky()
    {
        var names = Backends.List();
        if (names.Length < 2) return;
        var backends = names.Select(Backends.Resolve).ToArray();
        PropertyChecks.ForAll(Gen.Choose(1, 8).SelectMany(_ => Gens.Seed, (n, s) => (n, s)).ToArbitrary(), c =>
        {
            var a = Spd(new Random(c.s), c.n);
            var f0 = LowerWithNaNAbove(a);
            var f1 = LowerWithNaNAbove(a);
            Assert.True(backends[0].CholeskyInPlace(f0, c.n));
            Assert.True(backends[1].CholeskyInPlace(f1, c.n));
            Approx.Vector(f0, f1, 1e-12, $"{backends[0].Name} vs {backends[1].Name} Cholesky of {Fmt.M(a)}");
        });
    }
}
