using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Families.Priors;
using EmDsl.Inference;
using FsCheck.Fluent;
using MathNet.Numerics.Distributions;
using MathNet.Numerics.LinearAlgebra;
using static EmDsl.Tests.Engine.EngineFixtures;

namespace EmDsl.Tests.Families;

/// <summary>
/// The named Gaussian priors mean their densities for every covariance type they accept: NormalInverseWishart (full,
/// tied) and NormalInverseGamma (diagonal, spherical). Log densities against MathNet's InverseWishart, InverseGamma and
/// Normal; fitted MAP estimates as stationary points of log-likelihood + that independent log density; mismatched
/// covariance types rejected with the block named; printed priors show the numbers given.
/// </summary>
public class GaussianPriorFormsTests
{
    public static TheoryData<int> Dimensions() => new() { 1, 2, 3, 4 };

    private static Matrix<double> M(ReadOnlyMatrix m) => Matrix<double>.Build.DenseOfArray(m.ToArray());

    /// <summary>Independent log NIW(μ₁…μ_K, Σ): log IW(Σ | Ψ, ν₀) from MathNet + Σ_k log N(μ_k | m, Σ/κ) (none when κ = 0).</summary>
    private static double NiwOracle(double[] m, double kappa, Matrix<double> psi, double nu0, IEnumerable<double[]> means, Matrix<double> sigma) =>
        Math.Log(new InverseWishart(nu0, psi).Density(sigma))
        + (kappa > 0 ? means.Sum(mu => Dense.MultivariateNormalLogDensity(mu, m, sigma / kappa)) : 0);

    /// <summary>Independent log NIG: InvGamma(a, b_i) on each variance of the block, N(m_i, σ_i²/κ) on each mean coordinate.</summary>
    private static double NigOracle(double[] m, double kappa, double a, double[] b, IEnumerable<double[]> means, double[] variances, bool spherical)
    {
        double value = spherical ? InverseGamma.PDFLn(a, b[0], variances[0]) : variances.Select((v, i) => InverseGamma.PDFLn(a, b[i], v)).Sum();
        if (kappa > 0)
            foreach (var mu in means)
                for (int i = 0; i < m.Length; i++) value += MathNet.Numerics.Distributions.Normal.PDFLn(m[i], Math.Sqrt(variances[i] / kappa), mu[i]);
        return value;
    }

    [Theory, MemberData(nameof(Dimensions))]
    public void NormalInverseWishartIsItsDensityForFullAndTiedCovariances(int d) =>
        PropertyChecks.ForAll(Gens.Seed.ToArbitrary(), seed =>
        {
            var r = new Random(seed);
            var m = r.Vector(d, -2, 2);
            double kappa = r.Next(4) == 0 ? 0 : r.Uniform(0.1, 5), nu0 = r.Uniform(d - 1 + 0.2, d + 8);
            var psi = r.SpdMatrix(d);
            var prior = GaussianPrior.NormalInverseWishart(m, kappa, new ReadOnlyMatrix(psi.ToArray()), nu0);
            int k = r.Next(1, 5);
            var means = Enumerable.Range(0, k).Select(_ => r.Vector(d, -3, 3)).ToArray();
            var sigma = r.SpdMatrix(d);
            string what = $"NIW(m = {Fmt.V(m)}, κ = {kappa}, Ψ = {Fmt.M(psi)}, ν₀ = {nu0}), K = {k}, Σ = {Fmt.M(sigma)}";
            Approx.Equal(NiwOracle(m, kappa, psi, nu0, means.Take(1), sigma),
                prior.LogDensity(new GaussianParameters(means[0], sigma.ToArray())), 1e-9, 1e-9, what + " (one component)");
            Approx.Equal(NiwOracle(m, kappa, psi, nu0, means, sigma),
                prior.LogDensity(means, Dense.RowMajor(sigma), CovarianceStructure.Full, tied: true), 1e-9, 1e-9, what + " (tied)");
        });

    [Theory, MemberData(nameof(Dimensions))]
    public void NormalInverseGammaIsItsDensityForDiagonalAndSphericalCovariances(int d) =>
        PropertyChecks.ForAll(Gens.Seed.ToArbitrary(), seed =>
        {
            var r = new Random(seed);
            var m = r.Vector(d, -2, 2);
            double kappa = r.Next(4) == 0 ? 0 : r.Uniform(0.1, 5), a = r.Uniform(0.2, 8);
            var b = r.Vector(d, 0.1, 4);
            var mu = r.Vector(d, -3, 3);
            var variances = r.Vector(d, 0.1, 5);
            var diagonal = GaussianPrior.NormalInverseGamma(m, kappa, a, b);
            string what = $"NIG(m = {Fmt.V(m)}, κ = {kappa}, a = {a}, b = {Fmt.V(b)}) at μ = {Fmt.V(mu)}";
            Approx.Equal(NigOracle(m, kappa, a, b, [mu], variances, spherical: false),
                diagonal.LogDensity(GaussianParameters.WithVariances(mu, variances)), 1e-9, 1e-9, what + $", σ² = {Fmt.V(variances)}");
            var one = GaussianPrior.NormalInverseGamma(m, kappa, a, b[0]);
            var same = Enumerable.Repeat(variances[0], d).ToArray();
            Approx.Equal(NigOracle(m, kappa, a, [b[0]], [mu], same, spherical: true),
                one.LogDensity(GaussianParameters.WithVariances(mu, same), CovarianceStructure.Spherical), 1e-9, 1e-9, what + $", spherical σ² = {variances[0]}");
        });

    public static TheoryData<CovarianceType, bool> Fits() => new()
    {
        { CovarianceType.Full, true }, { CovarianceType.Full, false }, { CovarianceType.Tied, true }, { CovarianceType.Tied, false },
        { CovarianceType.Diagonal, true }, { CovarianceType.Diagonal, false }, { CovarianceType.Spherical, true }, { CovarianceType.Spherical, false },
    };

    /// <summary>
    /// A converged MAP fit of a two-component mixture is a stationary point of Σ_i log Σ_k π_k N(x_i | μ_k, Σ_k) + log p(θ),
    /// both evaluated independently here: the derivatives along each covariance's scale (Σ → e^t Σ) and each mean
    /// coordinate vanish. A covariance pseudo-count off by one moves the fitted Σ by about 1/N and the scale derivative
    /// by about D/2, far above the tolerance. The fit's log prior equals the independent density.
    /// </summary>
    [Theory, MemberData(nameof(Fits))]
    public void FittedMapIsAStationaryPointOfTheIndependentPosterior(CovarianceType type, bool withMeanPrior)
    {
        var data = TwoClusters(120, seed: 41);
        double[] m = [1, -0.5];
        double kappa = withMeanPrior ? 3 : 0;
        bool variances = type is CovarianceType.Diagonal or CovarianceType.Spherical;
        var psi = new double[,] { { 2, 0.4 }, { 0.4, 1.5 } };
        double nu0 = 4, a = 3;
        double[] b = type == CovarianceType.Spherical ? [2, 2] : [2, 0.7];
        var prior = variances ? GaussianPrior.NormalInverseGamma(m, kappa, a, b) : GaussianPrior.NormalInverseWishart(m, kappa, new ReadOnlyMatrix(psi), nu0);
        var block = Blocks.Gaussian("g", [0, 1], type, prior);
        var fit = Mixture.WithComponents(2).Observe(block).Build()
            .Fit(data, FitOptions.Default with { Seed = 5, Tolerance = 1e-14, MaxIterations = 5000, CovarianceFloor = 0 });
        var weights = fit.Weights.ToArray();
        var comps = fit.Parameters(block).ToArray();

        double LogPrior(double[][] means, Matrix<double>[] sigmas)
        {
            if (!variances)
                return type == CovarianceType.Tied
                    ? NiwOracle(m, kappa, Matrix<double>.Build.DenseOfArray(psi), nu0, means, sigmas[0])
                    : Enumerable.Range(0, 2).Sum(k => NiwOracle(m, kappa, Matrix<double>.Build.DenseOfArray(psi), nu0, [means[k]], sigmas[k]));
            return Enumerable.Range(0, 2).Sum(k => NigOracle(m, kappa, a, b, [means[k]], sigmas[k].Diagonal().ToArray(), type == CovarianceType.Spherical));
        }

        double Objective(double[][] means, Matrix<double>[] sigmas)
        {
            double ll = 0;
            for (int i = 0; i < data.Rows; i++)
            {
                var x = data.GetRow(i);
                var terms = Enumerable.Range(0, 2).Select(k => Math.Log(weights[k]) + Dense.MultivariateNormalLogDensity(x, means[k], sigmas[k])).ToArray();
                double top = terms.Max();
                ll += top + Math.Log(terms.Sum(t => Math.Exp(t - top)));
            }
            return ll + LogPrior(means, sigmas);
        }

        var fittedMeans = comps.Select(c => c.Mean.ToArray()).ToArray();
        var fittedSigmas = comps.Select(c => M(c.Covariance)).ToArray();
        Approx.Equal(LogPrior(fittedMeans, fittedSigmas), fit.LogPrior, 1e-9, 1e-9, $"{type}, κ = {kappa}: the fit's log prior");
        Approx.Equal(Objective(fittedMeans, fittedSigmas), fit.Objective, 1e-9, 1e-9, $"{type}, κ = {kappa}: the fit's objective");

        const double h = 1e-5;
        double Derivative(Func<double, double> f) => (f(h) - f(-h)) / (2 * h);
        int[] scaled = type == CovarianceType.Tied ? [-1] : [0, 1];
        foreach (int k in scaled)
        {
            double slope = Derivative(t => Objective(fittedMeans,
                fittedSigmas.Select((s, j) => k < 0 || j == k ? s * Math.Exp(t) : s).ToArray()));
            Assert.True(Math.Abs(slope) < 1e-4, $"{type}, κ = {kappa}: d objective / d log-scale of Σ{(k < 0 ? "" : $"_{k}")} = {slope}, not 0");
        }
        for (int k = 0; k < 2; k++)
            for (int i = 0; i < 2; i++)
            {
                int kk = k, ii = i;
                double slope = Derivative(t => Objective(
                    fittedMeans.Select((mu, j) => j == kk ? mu.Select((v, c) => c == ii ? v + t : v).ToArray() : mu).ToArray(), fittedSigmas));
                Assert.True(Math.Abs(slope) < 1e-4, $"{type}, κ = {kappa}: d objective / d μ_{k}[{i}] = {slope}, not 0");
            }
    }

    [Theory]
    [InlineData(CovarianceType.Diagonal)]
    [InlineData(CovarianceType.Spherical)]
    public void NormalInverseWishartOnAVarianceBlockIsRejectedNamingTheBlockAndTheRightPrior(CovarianceType type)
    {
        var niw = GaussianPrior.NormalInverseWishart([0, 0], 1, ReadOnlyMatrix.Identity(2), 3);
        var e = Assert.Throws<ArgumentException>(() => Blocks.Gaussian("vitals", [0, 1], type, niw));
        Assert.Equal("prior", e.ParamName);
        Assert.Contains("'vitals'", e.Message);
        Assert.Contains(type.ToString().ToLowerInvariant(), e.Message);
        Assert.Contains("NormalInverseGamma", e.Message);
    }

    [Theory]
    [InlineData(CovarianceType.Full)]
    [InlineData(CovarianceType.Tied)]
    public void NormalInverseGammaOnAFullCovarianceBlockIsRejectedNamingTheBlockAndTheRightPrior(CovarianceType type)
    {
        var nig = GaussianPrior.NormalInverseGamma([0, 0], 1, 2, 1);
        var e = Assert.Throws<ArgumentException>(() => Blocks.Gaussian("geyser", [0, 1], type, nig));
        Assert.Contains("'geyser'", e.Message);
        Assert.Contains("NormalInverseWishart", e.Message);
    }

    [Fact]
    public void BadNamedPriorArgumentsAreNamed()
    {
        var spread = GaussianPrior.NormalInverseGamma([0, 0], 1, 2, [1.0, 3.0]);
        var e = Assert.Throws<ArgumentException>(() => Blocks.Gaussian("s", [0, 1], CovarianceType.Spherical, spread));
        Assert.Contains("one variance", e.Message);
        Assert.Contains("[1, 3]", e.Message);
        Assert.Equal("shape", Assert.Throws<ArgumentOutOfRangeException>(() => GaussianPrior.NormalInverseGamma([0.0], 1, 0, 1)).ParamName);
        Assert.Equal("shape", Assert.Throws<ArgumentOutOfRangeException>(() => GaussianPrior.NormalInverseGamma([0.0], 1, double.PositiveInfinity, 1)).ParamName);
        Assert.Equal("scales", Assert.ThrowsAny<ArgumentException>(() => GaussianPrior.NormalInverseGamma([0.0, 0.0], 1, 2, [1.0])).ParamName);
        Assert.Equal("scales", Assert.ThrowsAny<ArgumentException>(() => GaussianPrior.NormalInverseGamma([0.0], 1, 2, -1)).ParamName);
        Assert.Equal("scale", Assert.Throws<ArgumentException>(() =>
            GaussianPrior.NormalInverseWishart([0.0, 0.0], 1, new ReadOnlyMatrix(new double[,] { { 1, 1 }, { 1, 1 } }), 3)).ParamName);
        Assert.Equal("degreesOfFreedom", Assert.Throws<ArgumentOutOfRangeException>(() =>
            GaussianPrior.NormalInverseWishart([0.0, 0.0], 1, ReadOnlyMatrix.Identity(2), 1)).ParamName);
        var structure = Assert.Throws<ArgumentException>(() =>
            GaussianPrior.NormalInverseGamma([0.0], 1, 2, 1).LogDensity(GaussianParameters.WithVariances([0.0], [1.0]), CovarianceStructure.Full));
        Assert.Equal("structure", structure.ParamName);
    }

    [Fact]
    public void PrintedPriorsShowTheNumbersTheUserGave()
    {
        Assert.Equal("NormalInverseWishart(m = [0.1, -2], κ = 0.01, Ψ = [1, 0.25; 0.25, 3], ν₀ = 5.123456789)",
            GaussianPrior.NormalInverseWishart([0.1, -2], 0.01, new ReadOnlyMatrix(new double[,] { { 1, 0.25 }, { 0.25, 3 } }), 5.123456789).ToString());
        Assert.Equal("NormalInverseGamma(m = [0, 0, 0], κ = 0.01, a = 2, b = 0.5)", GaussianPrior.NormalInverseGamma([0, 0, 0], 0.01, 2, 0.5).ToString());
        Assert.Equal("NormalInverseGamma(m = [0, 1], κ = 0, a = 1.5, b = [0.5, 0.123456789])",
            GaussianPrior.NormalInverseGamma([0, 1], 0, 1.5, [0.5, 0.123456789]).ToString());
        Assert.Equal("GaussianPrior(m = [3, 70], κ = 50, Ψ = [5, 0; 0, 500], n = 50)",
            new GaussianPrior([3, 70], 50, new ReadOnlyMatrix(new double[,] { { 5, 0 }, { 0, 500 } }), 50).ToString());
        Assert.Equal("Gamma(shape 2.123456789, rate 1)", new GammaPrior(2.123456789, 1).ToString());
        Assert.Equal("Beta(1.1, 1.1)", new BetaPrior(1.1, 1.1).ToString());
        var block = Blocks.Gaussian("vitals", [0, 1], CovarianceType.Diagonal, GaussianPrior.NormalInverseGamma([0, 0], 0.01, 2, 0.5));
        Assert.Contains("prior NormalInverseGamma(m = [0, 0], κ = 0.01, a = 2, b = 0.5)", block.ToString());
    }
}
