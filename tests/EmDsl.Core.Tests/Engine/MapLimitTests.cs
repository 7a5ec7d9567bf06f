using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Families.Priors;
using EmDsl.Inference;
using MathNet.Numerics.Distributions;
using MathNet.Numerics.LinearAlgebra;
using static EmDsl.Tests.Engine.EngineFixtures;

namespace EmDsl.Tests.Engine;

/// <summary>
/// MAP-EM with a conjugate prior (seed 002: η̂ = (∇A)⁻¹((φ + S)/(ν + R))) tends to maximum likelihood as the
/// pseudo-counts go to zero, moves visibly under a strong prior, and with K = 1 equals the textbook
/// posterior mode; the reported log prior is the textbook prior density.
/// </summary>
public class MapLimitTests
{
    private const int Iterations = 40;

    /// <summary>One block kind: data, a block factory taking an optional prior, initial parameters.</summary>
    public sealed record Case(string Name, Func<object?, Block> MakeBlock, object Tiny, object Strong, Func<Block, ParameterInitialization> Start, Func<DataMatrix> Data);

    private static DataMatrix GaussianData() => TwoClusters(200, seed: 21);

    private static ParameterInitialization GaussianStart(Block b) =>
        Initialization.FromParameters([0.5, 0.5]).With((Block<GaussianParameters>)b,
            [GaussianParameters.WithVariances([0.5, 0.5], [2, 2]), GaussianParameters.WithVariances([4, -2], [2, 2])]);

    private static DataMatrix DiscreteData(int seed, Func<Random, bool, double[]> row)
    {
        var r = new Random(seed);
        return DataMatrix.FromRows(Enumerable.Range(0, 200).Select(_ => row(r, r.NextDouble() < 0.35)).ToArray());
    }

    public static readonly Dictionary<string, Case> Cases = new Case[]
    {
        GaussianCase(CovarianceType.Full), GaussianCase(CovarianceType.Tied), GaussianCase(CovarianceType.Diagonal), GaussianCase(CovarianceType.Spherical),
        new("bernoulli", p => Blocks.Bernoulli("b", [0, 1, 2], (BetaPrior?)p),
            new BetaPrior(1 + 1e-9, 1 + 1e-9), new BetaPrior(60, 2),
            b => Initialization.FromParameters([0.5, 0.5]).With((Block<BernoulliParameters>)b, [new BernoulliParameters([0.4, 0.4, 0.6]), new BernoulliParameters([0.6, 0.5, 0.3])]),
            () => DiscreteData(22, (r, s) => [r.NextDouble() < (s ? 0.9 : 0.2) ? 1 : 0, r.NextDouble() < (s ? 0.7 : 0.4) ? 1 : 0, r.NextDouble() < (s ? 0.1 : 0.5) ? 1 : 0])),
        new("categorical", p => Blocks.Categorical("c", [0], 3, (DirichletPrior?)p),
            new DirichletPrior([1 + 1e-9, 1 + 1e-9, 1 + 1e-9]), new DirichletPrior([80, 1, 1]),
            b => Initialization.FromParameters([0.5, 0.5]).With((Block<CategoricalParameters>)b, [new CategoricalParameters([0.5, 0.3, 0.2]), new CategoricalParameters([0.2, 0.3, 0.5])]),
            () => DiscreteData(23, (r, s) => [SampleIndex(r, s ? [0.1, 0.2, 0.7] : [0.6, 0.3, 0.1])])),
        new("categorical one-hot", p => Blocks.Categorical("c", [0, 1, 2], 3, (DirichletPrior?)p),
            new DirichletPrior([1 + 1e-9, 1 + 1e-9, 1 + 1e-9]), new DirichletPrior([80, 1, 1]),
            b => Initialization.FromParameters([0.5, 0.5]).With((Block<CategoricalParameters>)b, [new CategoricalParameters([0.5, 0.3, 0.2]), new CategoricalParameters([0.2, 0.3, 0.5])]),
            () => DiscreteData(23, (r, s) => { var x = new double[3]; x[SampleIndex(r, s ? [0.1, 0.2, 0.7] : [0.6, 0.3, 0.1])] = 1; return x; })),
        new("poisson", p => Blocks.Poisson("p", [0, 1], (GammaPrior?)p),
            new GammaPrior(1, 1e-9), new GammaPrior(400, 2),
            b => Initialization.FromParameters([0.5, 0.5]).With((Block<PoissonParameters>)b, [new PoissonParameters([2, 2]), new PoissonParameters([6, 4])]),
            () => DiscreteData(24, (r, s) => [Poisson.Sample(r, s ? 9 : 2), Poisson.Sample(r, s ? 1 : 4)])),
        new("exponential", p => Blocks.Exponential("e", [0, 1], (GammaPrior?)p),
            new GammaPrior(1, 1e-9), new GammaPrior(300, 10),
            b => Initialization.FromParameters([0.5, 0.5]).With((Block<ExponentialParameters>)b, [new ExponentialParameters([1, 1]), new ExponentialParameters([0.3, 2])]),
            () => DiscreteData(25, (r, s) => [Exponential.Sample(r, s ? 0.2 : 2), Exponential.Sample(r, s ? 3 : 0.5)])),
    }.ToDictionary(c => c.Name);

    private static Case GaussianCase(CovarianceType type) => new(
        $"gaussian {type}",
        p => Blocks.Gaussian("g", [0, 1], type, (GaussianPrior?)p),
        new GaussianPrior([0, 0], 1e-9, ReadOnlyMatrix.Identity(2, 1e-9), 1e-9),
        new GaussianPrior([20, 20], 100, ReadOnlyMatrix.Identity(2, 400), 100),
        GaussianStart, GaussianData);

    public static TheoryData<string> CaseNames => new(Cases.Keys);

    private static MixtureFit FitCase(Case c, object? prior, double[]? weightPrior = null)
    {
        var block = c.MakeBlock(prior);
        var builder = Mixture.WithComponents(2).Observe(block);
        if (weightPrior is not null) builder = builder.WithWeightPrior(new DirichletPrior(weightPrior));
        var options = FitOptions.Default with { Initialization = c.Start(block), MaxIterations = Iterations, Tolerance = 0 };
        return builder.Build().Fit(c.Data(), options);
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void TinyPseudoCountsGiveTheMaximumLikelihoodFit(string name)
    {
        var c = Cases[name];
        var ml = FitCase(c, null);
        var tiny = FitCase(c, c.Tiny);
        AssertClose(AllValues(ml), AllValues(tiny), 1e-6, $"{name}: tiny prior vs ML");
        AssertClose([ml.LogLikelihood], [tiny.LogLikelihood], 1e-6, $"{name}: log-likelihood");
        AssertNonDecreasing(tiny.ObjectiveTrace);
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void AStrongPriorVisiblyMovesTheFit(string name)
    {
        var c = Cases[name];
        var ml = AllValues(FitCase(c, null));
        var strong = FitCase(c, c.Strong);
        var map = AllValues(strong);
        double moved = ml.Zip(map, (a, b) => Math.Abs(a - b) / Math.Max(1, Math.Abs(a))).Max();
        Assert.True(moved > 0.05, $"{name}: the strong prior moved no parameter by more than 5% (max {moved:G3}).");
        Assert.True(strong.LogPrior != 0);
        AssertNonDecreasing(strong.ObjectiveTrace);
        Assert.DoesNotContain(strong.Diagnostics.Events, e => e.Kind == FitEventKind.ObjectiveDecreased);
    }

    [Fact]
    public void BetaOneOneIsExactlyMaximumLikelihood()
    {
        var c = Cases["bernoulli"];
        var ml = FitCase(c, null);
        var flat = FitCase(c, new BetaPrior(1, 1));
        AssertIdentical(AllValues(ml), AllValues(flat), "Beta(1, 1) vs ML");
        AssertClose(ml.ObjectiveTrace, flat.ObjectiveTrace, 1e-13, "trace (log Beta(1,1) density is 0)");
        Assert.True(Math.Abs(flat.LogPrior) <= 1e-12, $"log Beta(1, 1) density is {flat.LogPrior:G17}");
    }

    [Fact]
    public void WeightPriorWithTinyPseudoCountsIsMaximumLikelihoodAndAStrongOneMovesTheWeights()
    {
        var c = Cases["poisson"];
        var ml = FitCase(c, null);
        var tiny = FitCase(c, null, [1 + 1e-9, 1 + 1e-9]);
        AssertClose(AllValues(ml), AllValues(tiny), 1e-6, "tiny weight prior vs ML");
        var strong = FitCase(c, null, [400, 1]);
        Assert.True(strong.Weights[0] > ml.Weights[0] + 0.1, $"weights {ml.Weights[0]:G4} → {strong.Weights[0]:G4} under Dirichlet(400, 1)");
        // Independent oracle: the weight prior term is the Dirichlet density of the fitted weights.
        Assert.Equal(new Dirichlet([400.0, 1.0]).DensityLn(strong.Weights.ToArray()), strong.LogPrior, 1e-9);
    }

    // ---------------------------------------------------------------- K = 1: textbook posterior modes

    private static MixtureFit FitOne(Block block, DataMatrix data, double floor = 1e-10) =>
        Mixture.WithComponents(1).Observe(block).Build().Fit(data, FitOptions.Default with { CovarianceFloor = 0, ProbabilityFloor = floor, Tolerance = 0, MaxIterations = 3 });

    [Fact]
    public void PoissonGammaPosteriorModeAndPriorDensity()
    {
        var data = DiscreteData(31, (r, _) => [Poisson.Sample(r, 3), Poisson.Sample(r, 0.5)]);
        var prior = new GammaPrior(7, 2.5);
        var fit = FitOne(Blocks.Poisson("p", [0, 1], prior), data);
        var rates = fit.Parameters((Block<PoissonParameters>)fit.Model.Blocks[0])[0].Rates;
        double[] expected = new[] { 0, 1 }.Select(j => (prior.Shape - 1 + data.GetColumn(j).Sum()) / (prior.Rate + data.Rows)).ToArray();
        AssertClose(expected, rates.ToArray(), 1e-12, "Poisson MAP rate (a − 1 + Σx)/(b + N)");
        Assert.Equal(rates.Sum(l => Gamma.PDFLn(prior.Shape, prior.Rate, l)), fit.LogPrior, 1e-9);
    }

    [Fact]
    public void ExponentialGammaPosteriorModeAndPriorDensity()
    {
        var data = DiscreteData(32, (r, _) => [Exponential.Sample(r, 0.7), Exponential.Sample(r, 4)]);
        var prior = new GammaPrior(5, 3);
        var fit = FitOne(Blocks.Exponential("e", [0, 1], prior), data);
        var rates = fit.Parameters((Block<ExponentialParameters>)fit.Model.Blocks[0])[0].Rates;
        double[] expected = new[] { 0, 1 }.Select(j => (prior.Shape - 1 + data.Rows) / (prior.Rate + data.GetColumn(j).Sum())).ToArray();
        AssertClose(expected, rates.ToArray(), 1e-12, "Exponential MAP rate (a − 1 + N)/(b + Σx)");
        Assert.Equal(rates.Sum(l => Gamma.PDFLn(prior.Shape, prior.Rate, l)), fit.LogPrior, 1e-9);
    }

    [Fact]
    public void BernoulliBetaPosteriorModeAndPriorDensity()
    {
        var data = DiscreteData(33, (r, _) => [r.NextDouble() < 0.3 ? 1 : 0, r.NextDouble() < 0.9 ? 1 : 0]);
        var prior = new BetaPrior(4, 9);
        var fit = FitOne(Blocks.Bernoulli("b", [0, 1], prior), data);
        var p = fit.Parameters((Block<BernoulliParameters>)fit.Model.Blocks[0])[0].Probabilities;
        double[] expected = new[] { 0, 1 }.Select(j => (prior.Alpha - 1 + data.GetColumn(j).Sum()) / (prior.Alpha + prior.Beta - 2 + data.Rows)).ToArray();
        AssertClose(expected, p.ToArray(), 1e-12, "Bernoulli MAP (α − 1 + Σx)/(α + β − 2 + N)");
        Assert.Equal(p.Sum(x => Beta.PDFLn(prior.Alpha, prior.Beta, x)), fit.LogPrior, 1e-9);
    }

    [Fact]
    public void CategoricalDirichletPosteriorModeAndPriorDensity()
    {
        var data = DiscreteData(34, (r, _) => [SampleIndex(r, [0.2, 0.5, 0.25, 0.05])]);
        var prior = new DirichletPrior([3, 1, 5, 2]);
        var fit = FitOne(Blocks.Categorical("c", [0], 4, prior), data);
        var p = fit.Parameters((Block<CategoricalParameters>)fit.Model.Blocks[0])[0].Probabilities;
        var counts = Enumerable.Range(0, 4).Select(j => (double)data.GetColumn(0).Count(x => x == j)).ToArray();
        double denom = prior.Concentration.Sum() - 4 + data.Rows;
        var expected = Enumerable.Range(0, 4).Select(j => (prior.Concentration[j] - 1 + counts[j]) / denom).ToArray();
        AssertClose(expected, p.ToArray(), 1e-12, "Dirichlet MAP (α_j − 1 + n_j)/(Σα − C + N)");
        Assert.Equal(new Dirichlet(prior.Concentration.ToArray()).DensityLn(p.ToArray()), fit.LogPrior, 1e-9);
    }

    /// <summary>Mean, scatter W = Σ (x − x̄)(x − x̄)ᵀ and N of a data matrix, with MathNet.</summary>
    private static (Vector<double> Mean, Matrix<double> Scatter) Moments(DataMatrix data)
    {
        var x = Matrix<double>.Build.DenseOfArray(data.ToArray());
        var mean = x.ColumnSums() / data.Rows;
        var centred = x - Matrix<double>.Build.Dense(data.Rows, data.Columns, (_, j) => mean[j]);
        return (mean, centred.TransposeThisAndMultiply(centred));
    }

    [Fact]
    public void GaussianFullNormalInverseWishartPosteriorModeAndPriorDensity()
    {
        var data = TwoClusters(150, seed: 35);
        double kappa = 4, nu0 = 6;
        double[] m = [1, -1];
        var psi = new double[,] { { 3, 0.5 }, { 0.5, 2 } };
        var prior = GaussianPrior.NormalInverseWishart(m, kappa, new ReadOnlyMatrix(psi), nu0);
        var fit = FitOne(Blocks.Gaussian("g", [0, 1], CovarianceType.Full, prior), data);
        var g = fit.Parameters((Block<GaussianParameters>)fit.Model.Blocks[0])[0];

        // Textbook NIW posterior (Murphy 2007): κ_N = κ + N, m_N = (κm + N x̄)/κ_N, ν_N = ν₀ + N,
        // Ψ_N = Ψ + W + κN/κ_N (x̄ − m)(x̄ − m)ᵀ; joint mode μ = m_N, Σ = Ψ_N / (ν_N + D + 2).
        var (xbar, w) = Moments(data);
        int n = data.Rows, d = 2;
        var mv = Vector<double>.Build.DenseOfArray(m);
        var mN = (kappa * mv + n * xbar) / (kappa + n);
        var diff = xbar - mv;
        var psiN = Matrix<double>.Build.DenseOfArray(psi) + w + kappa * n / (kappa + n) * diff.OuterProduct(diff);
        var sigma = psiN / (nu0 + n + d + 2);
        AssertClose(mN.ToArray(), g.Mean.ToArray(), 1e-10, "NIW mode mean");
        AssertClose(sigma.ToArray().Cast<double>().ToArray(), g.Covariance.ToArray().Cast<double>().ToArray(), 1e-10, "NIW mode covariance");

        // log NIW(μ, Σ) = log N(μ | m, Σ/κ) + log IW(Σ | Ψ, ν₀).
        var sigmaFit = Matrix<double>.Build.DenseOfArray(g.Covariance.ToArray());
        double expected = LogMvn(g.Mean, m, new ReadOnlyMatrix((sigmaFit / kappa).ToArray()))
                          + Math.Log(new InverseWishart(nu0, Matrix<double>.Build.DenseOfArray(psi)).Density(sigmaFit));
        Assert.Equal(expected, fit.LogPrior, 1e-9);
    }

    [Theory]
    [InlineData(CovarianceType.Diagonal)]
    [InlineData(CovarianceType.Spherical)]
    public void GaussianDiagonalAndSphericalPosteriorModeAndPriorDensity(CovarianceType type)
    {
        var data = TwoClusters(150, seed: 36);
        double kappa = 3, nPrior = 9;
        double[] m = [0.5, 2];
        var psi = new double[,] { { 4, 0 }, { 0, 1.5 } };
        var prior = new GaussianPrior(m, kappa, new ReadOnlyMatrix(psi), nPrior);
        var fit = FitOne(Blocks.Gaussian("g", [0, 1], type, prior), data);
        var g = fit.Parameters((Block<GaussianParameters>)fit.Model.Blocks[0])[0];

        var (xbar, w) = Moments(data);
        int n = data.Rows, d = 2;
        var mv = Vector<double>.Build.DenseOfArray(m);
        var diff = xbar - mv;
        var psiN = Matrix<double>.Build.DenseOfArray(psi) + w + kappa * n / (kappa + n) * diff.OuterProduct(diff);
        AssertClose(((kappa * mv + n * xbar) / (kappa + n)).ToArray(), g.Mean.ToArray(), 1e-10, "mode mean");
        double[] variances = type == CovarianceType.Diagonal
            ? [psiN[0, 0] / (nPrior + n), psiN[1, 1] / (nPrior + n)]
            : [psiN.Trace() / (d * (nPrior + n)), psiN.Trace() / (d * (nPrior + n))];
        AssertClose(variances, g.Covariance.GetDiagonal(), 1e-10, "mode variances");
        Assert.Equal(0.0, g.Covariance[0, 1]);

        // Normal–inverse-gamma per coordinate (diagonal: shape (n − 3)/2, scale Ψ_ii/2) or shared (spherical:
        // shape (D(n − 1) − 2)/2, scale tr Ψ / 2), with μ | σ² ~ N(m, σ²/κ · I).
        double expected = LogMvn(g.Mean, m, new ReadOnlyMatrix(Matrix<double>.Build.DenseOfArray(g.Covariance.ToArray()).Divide(kappa).ToArray()));
        if (type == CovarianceType.Diagonal)
            for (int i = 0; i < d; i++) expected += InverseGamma.PDFLn((nPrior - 3) / 2, psi[i, i] / 2, g.Covariance[i, i]);
        else expected += InverseGamma.PDFLn((d * (nPrior - 1) - 2) / 2, (psi[0, 0] + psi[1, 1]) / 2, g.Covariance[0, 0]);
        Assert.Equal(expected, fit.LogPrior, 1e-9);
    }

    [Fact]
    public void GaussianTiedPriorIsOneInverseWishartWithAMeanTermPerComponent()
    {
        var data = TwoClusters(200, seed: 37);
        double kappa = 2, n = 12;
        double[] m = [1, 1];
        var psi = new double[,] { { 2, 0.3 }, { 0.3, 1 } };
        var block = Blocks.Gaussian("g", [0, 1], CovarianceType.Tied, new GaussianPrior(m, kappa, new ReadOnlyMatrix(psi), n));
        var fit = Mixture.WithComponents(2).Observe(block).Build()
            .Fit(data, FitOptions.Default with { Initialization = GaussianStart(block), MaxIterations = 30 });
        var comps = fit.Parameters(block);
        Assert.Equal(comps[0].Covariance.ToArray(), comps[1].Covariance.ToArray());
        var sigma = Matrix<double>.Build.DenseOfArray(comps[0].Covariance.ToArray());
        // p(μ₁, μ₂, Σ) = IW(Σ | Ψ, ν₀) Π_k N(μ_k | m, Σ/κ) with |Σ|^−(ν₀ + D + 1 + K)/2 = |Σ|^−n/2: ν₀ = n − D − 1 − K.
        double expected = Math.Log(new InverseWishart(n - 2 - 1 - 2, Matrix<double>.Build.DenseOfArray(psi)).Density(sigma))
                          + comps.Sum(c => LogMvn(c.Mean, m, new ReadOnlyMatrix((sigma / kappa).ToArray())));
        Assert.Equal(expected, fit.LogPrior, 1e-9);
        AssertNonDecreasing(fit.ObjectiveTrace);
    }
}
