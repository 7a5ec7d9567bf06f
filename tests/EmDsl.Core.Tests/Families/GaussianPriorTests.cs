using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Families.Priors;
using FsCheck.Fluent;
using MathNet.Numerics.Distributions;
using MathNet.Numerics.LinearAlgebra;

namespace EmDsl.Tests.Families;

/// <summary>
/// GaussianPrior against MathNet: NIW for full covariances, Normal-Inverse-Gamma per coordinate (diagonal) or for
/// σ² (spherical), the kernel when improper, and the documented MAP formula as the maximiser of
/// log-likelihood + LogDensity.
/// </summary>
public class GaussianPriorTests
{
    public static TheoryData<int> Dimensions() => new() { 1, 2, 3, 4 };

    public static TheoryData<CovarianceStructure, int> Configurations()
    {
        var data = new TheoryData<CovarianceStructure, int>();
        foreach (var s in Enum.GetValues<CovarianceStructure>())
            for (int d = 1; d <= 4; d++) data.Add(s, d);
        return data;
    }

    private static ReadOnlyMatrix Ro(Matrix<double> m) => new(m.ToArray());

    private static Matrix<double> Restrict(Matrix<double> m, CovarianceStructure s)
    {
        int d = m.RowCount;
        return s switch
        {
            CovarianceStructure.Full => m,
            CovarianceStructure.Diagonal => Matrix<double>.Build.DenseOfDiagonalVector(m.Diagonal()),
            _ => Matrix<double>.Build.DenseIdentity(d) * (m.Trace() / d),
        };
    }

    private static Matrix<double> DrawCovariance(Random r, int d, CovarianceStructure s) => new GaussianOracle(d, s).DrawCovariance(r);

    /// <summary>MathNet's inverse-Wishart is the oracle below; in one dimension it must be InvGamma(ν/2, ψ/2).</summary>
    [Fact]
    public void OracleInverseWishartAgreesWithInverseGammaInOneDimension() =>
        PropertyChecks.ForAll(Gens.Uniform(0.5, 20).Three().ToArbitrary(), c =>
        {
            var (nu, psi, x) = c;
            double iw = Math.Log(new InverseWishart(nu, Matrix<double>.Build.Dense(1, 1, psi)).Density(Matrix<double>.Build.Dense(1, 1, x)));
            double ig = InverseGamma.PDFLn(nu / 2, psi / 2, x);
            double hand = (nu / 2) * Math.Log(psi / 2) - MathNet.Numerics.SpecialFunctions.GammaLn(nu / 2) - (nu / 2 + 1) * Math.Log(x) - psi / (2 * x);
            Approx.Equal(hand, ig, 1e-11, 1e-11, $"InverseGamma({nu / 2}, {psi / 2}) at {x}");
            Approx.Equal(ig, iw, 1e-9, 1e-9, $"InverseWishart({nu}, {psi}) at {x}");
        }, 50);

    /// <summary>Proper full case: log N(μ | m, Σ/κ) + log IW(Σ | Ψ, ν₀ = n − D − 2).</summary>
    [Theory, MemberData(nameof(Dimensions))]
    public void FullLogDensityIsNormalInverseWishart(int d) =>
        PropertyChecks.ForAll(Gens.Seed.ToArbitrary(), seed =>
        {
            var r = new Random(seed);
            var m = r.Vector(d, -2, 2);
            double kappa = r.Uniform(0.1, 5), nu0 = r.Uniform(d - 1 + 0.2, d + 8);
            var psi = r.SpdMatrix(d);
            var prior = new GaussianPrior(m, kappa, Ro(psi), nu0 + d + 2);
            var viaFactory = GaussianPrior.NormalInverseWishart(m, kappa, Ro(psi), nu0);
            Approx.Equal(nu0 + d + 2, viaFactory.CovariancePseudoCount, 1e-15, 0, "n of NormalInverseWishart");
            var mu = r.Vector(d, -3, 3);
            var sigma = r.SpdMatrix(d);
            double expected = Dense.MultivariateNormalLogDensity(mu, m, sigma / kappa)
                              + Math.Log(new InverseWishart(nu0, psi).Density(sigma));
            var parameters = new GaussianParameters(mu, sigma.ToArray());
            string what = $"NIW(m = {Fmt.V(m)}, κ = {kappa}, Ψ = {Fmt.M(psi)}, ν₀ = {nu0}) at μ = {Fmt.V(mu)}, Σ = {Fmt.M(sigma)}";
            Approx.Equal(expected, prior.LogDensity(parameters, CovarianceStructure.Full), 1e-9, 1e-9, what);
            Approx.Equal(expected, viaFactory.LogDensity(parameters), 1e-9, 1e-9, what + " (factory, default structure)");
        });

    /// <summary>Proper diagonal case: Π_i N(μ_i | m_i, σ_i²/κ) · InvGamma(σ_i² | (n − 3)/2, Ψ_ii/2).</summary>
    [Theory, MemberData(nameof(Dimensions))]
    public void DiagonalLogDensityIsAProductOfNormalInverseGammas(int d) =>
        PropertyChecks.ForAll(Gens.Seed.ToArbitrary(), seed =>
        {
            var r = new Random(seed);
            var m = r.Vector(d, -2, 2);
            double kappa = r.Uniform(0.1, 5), n = r.Uniform(3.2, 15);
            var psi = r.SpdMatrix(d);
            var prior = new GaussianPrior(m, kappa, Ro(psi), n);
            var mu = r.Vector(d, -3, 3);
            var variances = r.Vector(d, 0.1, 5);
            double expected = 0;
            for (int i = 0; i < d; i++)
                expected += Normal.PDFLn(m[i], Math.Sqrt(variances[i] / kappa), mu[i]) + InverseGamma.PDFLn((n - 3) / 2, psi[i, i] / 2, variances[i]);
            Approx.Equal(expected, prior.LogDensity(GaussianParameters.WithVariances(mu, variances), CovarianceStructure.Diagonal), 1e-9, 1e-9,
                $"diagonal NIG(m = {Fmt.V(m)}, κ = {kappa}, Ψ = {Fmt.M(psi)}, n = {n}) at μ = {Fmt.V(mu)}, σ² = {Fmt.V(variances)}");
        });

    /// <summary>Proper spherical case: N(μ | m, σ²I/κ) · InvGamma(σ² | (D(n − 1) − 2)/2, tr Ψ / 2).</summary>
    [Theory, MemberData(nameof(Dimensions))]
    public void SphericalLogDensityIsNormalInverseGamma(int d) =>
        PropertyChecks.ForAll(Gens.Seed.ToArbitrary(), seed =>
        {
            var r = new Random(seed);
            var m = r.Vector(d, -2, 2);
            double kappa = r.Uniform(0.1, 5), n = r.Uniform(1 + 2.0 / d + 0.1, 15);
            var psi = r.SpdMatrix(d);
            var prior = new GaussianPrior(m, kappa, Ro(psi), n);
            var mu = r.Vector(d, -3, 3);
            double v = r.Uniform(0.1, 5);
            double expected = Dense.MultivariateNormalLogDensity(mu, m, Matrix<double>.Build.DenseIdentity(d) * (v / kappa))
                              + InverseGamma.PDFLn((d * (n - 1) - 2) / 2, psi.Trace() / 2, v);
            Approx.Equal(expected, prior.LogDensity(GaussianParameters.WithVariances(mu, Enumerable.Repeat(v, d)), CovarianceStructure.Spherical), 1e-9, 1e-9,
                $"spherical NIG(m = {Fmt.V(m)}, κ = {kappa}, Ψ = {Fmt.M(psi)}, n = {n}) at μ = {Fmt.V(mu)}, σ² = {v}");
        });

    /// <summary>
    /// Tied covariance: K means share one Σ. Proper full case: Π_k N(μ_k | m, Σ/κ) · IW(Σ | Ψ, ν₀ = n − D − 1 − K);
    /// diagonal and spherical: the same with InvGamma shapes (n − 2 − K)/2 per coordinate and (D(n − K) − 2)/2.
    /// </summary>
    [Theory, MemberData(nameof(Configurations))]
    public void TiedLogDensityIsTheConjugateDensityOfSharedCovariance(CovarianceStructure s, int d) =>
        PropertyChecks.ForAll(Gens.Seed.ToArbitrary(), seed =>
        {
            var r = new Random(seed);
            int k = r.Next(1, 5);
            var m = r.Vector(d, -2, 2);
            double kappa = r.Uniform(0.1, 5);
            double n = s switch
            {
                CovarianceStructure.Full => r.Uniform(2 * d + k + 0.2, 2 * d + k + 8),
                CovarianceStructure.Diagonal => r.Uniform(2 + k + 0.2, 2 + k + 8),
                _ => r.Uniform(k + 2.0 / d + 0.1, k + 8),
            };
            var psi = r.SpdMatrix(d);
            var prior = new GaussianPrior(m, kappa, Ro(psi), n);
            var means = Enumerable.Range(0, k).Select(_ => r.Vector(d, -3, 3)).ToArray();
            var sigma = Restrict(DrawCovariance(r, d, s), s);
            double expected = means.Sum(mu => Dense.MultivariateNormalLogDensity(mu, m, sigma / kappa));
            expected += s switch
            {
                CovarianceStructure.Full => Math.Log(new InverseWishart(n - d - 1 - k, psi).Density(sigma)),
                CovarianceStructure.Diagonal => Enumerable.Range(0, d).Sum(i => InverseGamma.PDFLn((n - 2 - k) / 2, psi[i, i] / 2, sigma[i, i])),
                _ => InverseGamma.PDFLn((d * (n - k) - 2) / 2, psi.Trace() / 2, sigma[0, 0]),
            };
            double actual = prior.LogDensity(means.Select(mu => (IReadOnlyList<double>)mu).ToArray(), Dense.RowMajor(sigma), s, tied: true);
            Approx.Equal(expected, actual, 1e-9, 1e-9, $"tied {s}, K = {k}, κ = {kappa}, n = {n}, Ψ = {Fmt.M(psi)}, Σ = {Fmt.M(sigma)}");
        });

    /// <summary>
    /// Improper cases (κ = 0, or n too small for the NIW/NIG, or Ψ singular) use the kernel
    /// −(n/2) log|Σ| − ½ tr(Ψ Σ⁻¹) − (κ/2)(μ − m)ᵀΣ⁻¹(μ − m), where diagonal and spherical structures read only Ψ's diagonal.
    /// </summary>
    [Theory, MemberData(nameof(Configurations))]
    public void ImproperLogDensityIsTheKernel(CovarianceStructure s, int d) =>
        PropertyChecks.ForAll(Gens.Seed.ToArbitrary(), seed =>
        {
            var r = new Random(seed);
            var m = r.Vector(d, -2, 2);
            int kind = r.Next(3);
            double kappa = kind == 0 ? 0 : r.Uniform(0.1, 5);
            // Below each structure's threshold for a proper density: ν₀ = n − D − 2 ≤ D − 1; (n − 3)/2 ≤ 0; D(n − 1) − 2 ≤ 0.
            double nMax = s switch { CovarianceStructure.Full => 2 * d + 1, CovarianceStructure.Diagonal => 3, _ => 1 + 2.0 / d };
            double n = kind == 1 ? r.Uniform(0, nMax) : r.Uniform(0, 10);
            var psi = kind == 2 ? Matrix<double>.Build.Dense(d, d) : r.SpdMatrix(d);
            var prior = new GaussianPrior(m, kappa, Ro(psi), n);
            var mu = r.Vector(d, -3, 3);
            var sigma = Restrict(DrawCovariance(r, d, s), s);
            var inv = sigma.Inverse();
            var diff = Vector<double>.Build.DenseOfArray(mu.Zip(m, (a, b) => a - b).ToArray());
            var psiUsed = s == CovarianceStructure.Full ? psi : Matrix<double>.Build.DenseOfDiagonalVector(psi.Diagonal());
            double expected = -0.5 * n * Math.Log(sigma.Determinant()) - 0.5 * (psiUsed * inv).Trace() - 0.5 * kappa * diff.DotProduct(inv * diff);
            Approx.Equal(expected, prior.LogDensity(new GaussianParameters(mu, sigma.ToArray()), s), 1e-9, 1e-9,
                $"kernel ({s}, κ = {kappa}, n = {n}, Ψ = {Fmt.M(psi)}) at μ = {Fmt.V(mu)}, Σ = {Fmt.M(sigma)}");
        });

    /// <summary>
    /// The documented MAP estimate μ̂ = (κm + R x̄)/(κ + R), Σ̂ = (Ψ + W + κR/(κ+R)(x̄ − m)(x̄ − m)ᵀ)/(n + R) (diagonal: its
    /// diagonal; spherical: its trace over D(n + R)) maximises Σ w log N(x | μ, Σ) + LogDensity(μ, Σ): no perturbation
    /// that keeps the structure and positive definiteness does better.
    /// </summary>
    [Theory, MemberData(nameof(Configurations))]
    public void DocumentedMapEstimateMaximisesLogLikelihoodPlusLogDensity(CovarianceStructure s, int d) =>
        PropertyChecks.ForAll(Gens.Seed.ToArbitrary(), seed =>
        {
            var r = new Random(seed);
            var m = r.Vector(d, -2, 2);
            double kappa = r.Next(4) == 0 ? 0 : r.Uniform(0.1, 5), n = r.Next(4) == 0 ? 0 : r.Uniform(0, 10);
            var psi = r.SpdMatrix(d) * r.Uniform(0.1, 3);
            var prior = new GaussianPrior(m, kappa, Ro(psi), n);
            int rows = r.Next(d + 2, d + 20);
            var xs = Enumerable.Range(0, rows).Select(_ => r.Vector(d, -4, 4)).ToArray();
            var w = Enumerable.Range(0, rows).Select(_ => r.Uniform(0.1, 2)).ToArray();
            double total = w.Sum();
            var xbar = Vector<double>.Build.Dense(d);
            for (int i = 0; i < rows; i++) xbar += Vector<double>.Build.DenseOfArray(xs[i]) * (w[i] / total);
            var scatter = Matrix<double>.Build.Dense(d, d);
            for (int i = 0; i < rows; i++)
            {
                var c = Vector<double>.Build.DenseOfArray(xs[i]) - xbar;
                scatter += c.OuterProduct(c) * w[i];
            }
            var mv = Vector<double>.Build.DenseOfArray(m);
            var muHat = (mv * kappa + xbar * total) / (kappa + total);
            var shrink = (xbar - mv).OuterProduct(xbar - mv) * (kappa * total / (kappa + total));
            var sigmaHat = Restrict(RandomExtensions.Symmetrize((psi + scatter + shrink) / (n + total)), s);

            // Σ_i w_i log N(x_i | μ, Σ) = −(R/2)(D log 2π + log|Σ|) − ½ tr(Σ⁻¹ (W + R (x̄ − μ)(x̄ − μ)ᵀ)).
            double Objective(Vector<double> mu, Matrix<double> sigma)
            {
                var chol = sigma.Cholesky();
                var around = scatter + (xbar - mu).OuterProduct(xbar - mu) * total;
                double ll = -0.5 * total * (d * Math.Log(2 * Math.PI) + chol.DeterminantLn) - 0.5 * chol.Solve(around).Trace();
                return ll + prior.LogDensity(new GaussianParameters(mu.ToArray(), sigma.ToArray()), s);
            }

            double top = Objective(muHat, sigmaHat);
            string context = $"{s}, κ = {kappa}, n = {n}, m = {Fmt.V(m)}, Ψ = {Fmt.M(psi)}, {rows} rows; μ̂ = {Fmt.V(muHat.ToArray())}, Σ̂ = {Fmt.M(sigmaHat)}";
            Assert.True(double.IsFinite(top), $"objective at the MAP is {top}: {context}");
            double tol = 1e-9 * (1 + Math.Abs(top));
            double[] scales = [1e-3, 1e-2, 0.1, 0.3];
            for (int k = 0; k < 24; k++)
            {
                double step = scales[k % scales.Length];
                var mu = muHat + Vector<double>.Build.Dense(d, _ => step * r.Uniform(-1, 1));
                var e = RandomExtensions.Symmetrize(Matrix<double>.Build.Dense(d, d, (_, _) => r.Uniform(-1, 1)));
                var sigma = RandomExtensions.Symmetrize(sigmaHat + Restrict(e, s) * (step * sigmaHat.Diagonal().Maximum()));
                if (!(Dense.MinEigenvalue(sigma) > 1e-9)) continue;
                double value = Objective(mu, sigma);
                if (value > top + tol)
                    Assert.Fail($"(μ, Σ) = ({Fmt.V(mu.ToArray())}, {Fmt.M(sigma)}) beats the documented MAP: {Fmt.D(value)} > {Fmt.D(top)}; {context}");
            }
        }, 60);

    [Fact]
    public void LogDensityIsMinusInfinityForACovarianceThatIsNotPositiveDefinite()
    {
        var prior = new GaussianPrior([0.0, 0.0], 1, ReadOnlyMatrix.Identity(2), 6);
        var parameters = new GaussianParameters([0.0, 0.0], new double[,] { { 1, 2 }, { 2, 1 } });
        foreach (var s in Enum.GetValues<CovarianceStructure>())
            Assert.Equal(double.NegativeInfinity, prior.LogDensity(parameters, s));
    }

    [Fact]
    public void LogDensityRejectsParametersOfAnotherDimension()
    {
        var prior = new GaussianPrior([0.0, 0.0], 1, ReadOnlyMatrix.Identity(2), 6);
        var ex = Assert.ThrowsAny<ArgumentException>(() => prior.LogDensity(GaussianParameters.WithVariances([0.0, 0, 0], [1.0, 1, 1])));
        Assert.Equal("parameters", ex.ParamName);
    }

    [Fact]
    public void ConstructorRejectsInvalidHyperparametersNamingThem()
    {
        var psi = ReadOnlyMatrix.Identity(2);
        double[] m = [0, 0];
        foreach (var bad in new[] { -1e-9, -1, double.NaN, double.PositiveInfinity })
        {
            Assert.Equal("meanPseudoCount", Assert.ThrowsAny<ArgumentException>(() => new GaussianPrior(m, bad, psi, 3)).ParamName);
            Assert.Equal("covariancePseudoCount", Assert.ThrowsAny<ArgumentException>(() => new GaussianPrior(m, 1, psi, bad)).ParamName);
        }
        Assert.Equal("mean", Assert.ThrowsAny<ArgumentException>(() => new GaussianPrior([0.0, double.NaN], 1, psi, 3)).ParamName);
        Assert.Equal("mean", Assert.ThrowsAny<ArgumentException>(() => new GaussianPrior([], 1, ReadOnlyMatrix.Identity(0), 3)).ParamName);
        Assert.Equal("scatter", Assert.ThrowsAny<ArgumentException>(() => new GaussianPrior(m, 1, ReadOnlyMatrix.Identity(3), 3)).ParamName);
        Assert.Equal("scatter", Assert.ThrowsAny<ArgumentException>(() => new GaussianPrior(m, 1, new ReadOnlyMatrix(new double[2, 3]), 3)).ParamName);

        var nonSymmetric = Assert.ThrowsAny<ArgumentException>(() => new GaussianPrior([0.0, 0, 0], 1, new ReadOnlyMatrix(new double[,] { { 1, 0, 0 }, { 0, 1, 0.5 }, { 0, 0.4, 1 } }), 3));
        Assert.Equal("scatter", nonSymmetric.ParamName);
        Assert.True(nonSymmetric.Message.Contains("(1, 2)") || nonSymmetric.Message.Contains("(2, 1)"), nonSymmetric.Message);

        var negative = Assert.ThrowsAny<ArgumentException>(() => new GaussianPrior(m, 1, new ReadOnlyMatrix(new double[,] { { 1, 0 }, { 0, -1 } }), 3));
        Assert.Equal("scatter", negative.ParamName);
        Assert.Contains("1", negative.Message);

        Assert.Equal("scatter", Assert.ThrowsAny<ArgumentException>(() => new GaussianPrior(m, 1, new ReadOnlyMatrix(new double[,] { { 1, double.NaN }, { double.NaN, 1 } }), 3)).ParamName);

        for (int d = 1; d <= 4; d++)
        {
            int dd = d;
            var ex = Assert.ThrowsAny<ArgumentException>(() => GaussianPrior.NormalInverseWishart(new double[dd], 1, ReadOnlyMatrix.Identity(dd), dd - 1));
            Assert.Equal("degreesOfFreedom", ex.ParamName);
        }
    }

    /// <summary>
    /// Ψ is documented as a "symmetric positive semi-definite D×D pseudo-scatter", and the constructor checks
    /// symmetry and the sign of the diagonal, but an indefinite Ψ with a non-negative diagonal slips through.
    /// </summary>
    [Fact]
    public void ConstructorRejectsIndefiniteScatter()
    {
        var indefinite = new ReadOnlyMatrix(new double[,] { { 1, 2 }, { 2, 1 } }); // eigenvalues 3 and −1
        var ex = Record.Exception(() => new GaussianPrior([0.0, 0.0], 1, indefinite, 5));
        Assert.True(ex is ArgumentException { ParamName: "scatter" },
            $"an indefinite Ψ = {indefinite} was {(ex is null ? "accepted" : $"rejected with {ex.GetType().Name}: {ex.Message}")}; expected ArgumentException naming 'scatter'");
    }
}
