using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Inference;
using EmDsl.Tests.Engine;
using MathNet.Numerics.LinearAlgebra;

namespace EmDsl.Tests.Factor;

/// <summary>Seeded samplers of factor models that do not use EmDsl.</summary>
internal static class FactorData
{
    /// <summary>A random factor analyser: μ ~ N(0, 4), Λ_dj ~ N(0, 1), ψ_d ~ U(0.2, 1.5).</summary>
    public static (double[] Mean, double[,] Loadings, double[] Noise) Model(Random r, int d, int q, double meanScale = 2)
    {
        var mean = Enumerable.Range(0, d).Select(_ => meanScale * EngineFixtures.Normal(r)).ToArray();
        var loadings = new double[d, q];
        for (int i = 0; i < d; i++)
            for (int j = 0; j < q; j++) loadings[i, j] = EngineFixtures.Normal(r);
        var noise = Enumerable.Range(0, d).Select(_ => 0.2 + 1.3 * r.NextDouble()).ToArray();
        return (mean, loadings, noise);
    }

    public static double[] Draw(Random r, double[] mean, double[,] loadings, double[] noise)
    {
        int d = mean.Length, q = loadings.GetLength(1);
        var z = Enumerable.Range(0, q).Select(_ => EngineFixtures.Normal(r)).ToArray();
        var x = new double[d];
        for (int i = 0; i < d; i++)
        {
            x[i] = mean[i] + Math.Sqrt(noise[i]) * EngineFixtures.Normal(r);
            for (int j = 0; j < q; j++) x[i] += loadings[i, j] * z[j];
        }
        return x;
    }

    public static DataMatrix Sample(Random r, int rows, double[] mean, double[,] loadings, double[] noise) =>
        DataMatrix.FromRows(Enumerable.Range(0, rows).Select(_ => Draw(r, mean, loadings, noise)).ToArray());

    /// <summary>The rows of <paramref name="a"/> then those of <paramref name="b"/>.</summary>
    public static DataMatrix Stack(DataMatrix a, DataMatrix b) =>
        DataMatrix.FromRows(Enumerable.Range(0, a.Rows).Select(a.GetRow).Concat(Enumerable.Range(0, b.Rows).Select(b.GetRow)).ToArray());

    /// <summary>ΛΛᵀ by MathNet.</summary>
    public static Matrix<double> Common(ReadOnlyMatrix loadings)
    {
        var l = Matrix<double>.Build.DenseOfArray(loadings.ToArray());
        return l * l.Transpose();
    }

    /// <summary>The maximum-likelihood covariance (divisor N) of the data, by MathNet.</summary>
    public static Matrix<double> SampleCovariance(DataMatrix data)
    {
        var x = Matrix<double>.Build.DenseOfArray(data.ToArray());
        var mean = x.ColumnSums() / data.Rows;
        var centred = x - Matrix<double>.Build.Dense(data.Rows, data.Columns, (_, j) => mean[j]);
        return centred.TransposeThisAndMultiply(centred) / data.Rows;
    }
}

/// <summary>
/// The factor block in Core: its density against an independent one, its fits against the closed forms and the
/// stationarity conditions, its free-energy properties (which fail when its M-step is made wrong), and its bad input.
/// </summary>
public class FactorBlockTests
{
    private static MixtureModel OneFactorModel(int d, int q, NoiseModel noise = NoiseModel.Diagonal, FactorPrior? prior = null, int k = 1, bool sharedNoise = false) =>
        Mixture.WithComponents(k).Observe(Blocks.Factor("f", Blocks.ColumnRange(0, d), q, noise, sharedNoise, prior)).Build();

    /// <summary>Every candidate taken as computed, so that a wrong M-step shows in the free energy (EmProperties.ExactMode).</summary>
    private static FitOptions Exact(int iterations, int seed = 0) =>
        new() { CheckMSteps = false, Tolerance = 0, MaxIterations = iterations, Seed = seed };

    [Fact]
    public void LogDensityScoresAndCovarianceMatchTextbookFormulas()
    {
        var r = new Random(3);
        for (int trial = 0; trial < 20; trial++)
        {
            int d = 2 + trial % 7, q = trial % d;
            var (mean, loadings, noise) = FactorData.Model(r, d, q);
            var p = new FactorParameters(mean, loadings, noise);
            var cov = EngineFixtures.FactorCovariance(p);
            EngineFixtures.AssertClose(cov.ToArray().Cast<double>().ToArray(), p.Covariance.ToArray().Cast<double>().ToArray(), 1e-13, "ΛΛᵀ + Ψ");
            var x = FactorData.Draw(r, mean, loadings, noise);
            Assert.Equal(EngineFixtures.LogMvn(x, mean, cov), p.LogDensity(x), 1e-10);
            // E[z | x] = Λᵀ C⁻¹ (x − μ), Cov = I − Λᵀ C⁻¹ Λ (the other form of the posterior, by MathNet).
            var l = Matrix<double>.Build.DenseOfArray(loadings);
            var c = Matrix<double>.Build.DenseOfArray(cov.ToArray());
            var diff = Vector<double>.Build.Dense(d, i => x[i] - mean[i]);
            var expectedScores = l.Transpose() * c.Solve(diff);
            EngineFixtures.AssertClose(expectedScores.ToArray(), p.Scores(x), 1e-10, "E[z | x]");
            var expectedCov = Matrix<double>.Build.DenseIdentity(q) - l.Transpose() * c.Solve(l);
            EngineFixtures.AssertClose(expectedCov.ToColumnMajorArray(), p.ScoreCovariance.ToArray().Cast<double>().ToArray(), 1e-10, "Cov(z | x)");
        }
    }

    [Fact]
    public void WarmStartedProfileLoadingsEqualTheFullDecompositions()
    {
        // The subspace iterations from a kept basis against the full Jacobi decomposition, as Ψ moves a little.
        var r = new Random(31);
        for (int trial = 0; trial < 10; trial++)
        {
            int d = 8 + 7 * trial, q = 1 + trial % 5;
            var (mean, loadings, noise) = FactorData.Model(r, d, q);
            var s = FactorData.SampleCovariance(FactorData.Sample(r, 4 * d, mean, loadings, noise)).ToRowMajorArray();
            var basis = new double[d * FactorAlgebra.BasisWidth(d, q)];
            basis[0] = double.NaN;
            var warm = new double[d * q];
            FactorAlgebra.ProfileLoadings(s, noise, d, q, warm, basis);
            var moved = noise.Select(v => v * (1 + 0.05 * (r.NextDouble() - 0.5))).ToArray();
            FactorAlgebra.ProfileLoadings(s, moved, d, q, warm, basis);
            var full = new double[d * q];
            FactorAlgebra.ProfileLoadings(s, moved, d, q, full);
            var a = FactorData.Common(ReadOnlyMatrix.FromRowMajor(warm, d, q));
            var b = FactorData.Common(ReadOnlyMatrix.FromRowMajor(full, d, q));
            double scale = b.Diagonal().Max();
            Assert.True((a - b).Enumerate().All(v => Math.Abs(v) <= 1e-9 * scale), $"d = {d}, q = {q}: max difference {(a - b).Enumerate().Max(Math.Abs):G3}");
        }
    }

    [Fact]
    public void LogDensityStaysAccurateInAHeywoodCase()
    {
        // ψ₀ = 1e-10: Woodbury's (x−μ)ᵀΨ⁻¹(x−μ) − ‖·‖² would lose ~10 digits; the residual form keeps them.
        var loadings = new double[,] { { 1.0 }, { 0.8 }, { 0.5 } };
        var noise = new[] { 1e-10, 0.5, 0.7 };
        var p = new FactorParameters([0, 0, 0], loadings, noise);
        var x = new[] { 1.3, 0.7, -0.2 };
        double expected = EngineFixtures.LogMvn(x, p.Mean, EngineFixtures.FactorCovariance(p));
        Assert.True(Math.Abs(p.LogDensity(x) - expected) <= 1e-9 * Math.Abs(expected), $"{p.LogDensity(x)} vs {expected}");
    }

    [Fact]
    public void MixtureLogLikelihoodEqualsTheIndependentDensityOfEveryRow()
    {
        var r = new Random(11);
        var a = FactorData.Model(r, 5, 2);
        var b = FactorData.Model(r, 5, 2, meanScale: 6);
        var data = FactorData.Stack(FactorData.Sample(r, 300, a.Mean, a.Loadings, a.Noise), FactorData.Sample(r, 200, b.Mean, b.Loadings, b.Noise));
        var fit = OneFactorModel(5, 2, k: 2).Fit(data, new FitOptions { MaxIterations = 30 });
        var scores = fit.ScoreSamples(data);
        for (int n = 0; n < data.Rows; n++)
        {
            var row = Enumerable.Range(0, 5).Select(j => data[n, j]).ToArray();
            Assert.Equal(EngineFixtures.LogSumExp(EngineFixtures.LogJoint(fit, row)), scores[n], 1e-9);
        }
        Assert.Equal(scores.Sum(), fit.LogLikelihood, 1e-7);
    }

    [Fact]
    public void PpcaIsTippingAndBishopsClosedForm()
    {
        var r = new Random(5);
        var (mean, loadings, noise) = FactorData.Model(r, 6, 2);
        var data = FactorData.Sample(r, 2000, mean, loadings, noise);
        var fit = OneFactorModel(6, 2, NoiseModel.Isotropic).Fit(data);
        var p = fit.Parameters((Block<FactorParameters>)fit.Model.Blocks[0])[0];
        var evd = FactorData.SampleCovariance(data).Evd(Symmetricity.Symmetric);
        var values = evd.EigenValues.Select(v => v.Real).ToArray();
        var order = Enumerable.Range(0, 6).OrderByDescending(i => values[i]).ToArray();
        double sigma2 = order.Skip(2).Average(i => values[i]);
        var expected = Matrix<double>.Build.Dense(6, 6);
        foreach (int i in order.Take(2))
        {
            var u = evd.EigenVectors.Column(i);
            expected += (values[i] - sigma2) * u.OuterProduct(u);
        }
        Assert.All(p.NoiseVariances, v => Assert.Equal(sigma2, v, 1e-10));
        EngineFixtures.AssertClose(expected.ToColumnMajorArray(), FactorData.Common(p.Loadings).ToColumnMajorArray(), 1e-9, "ΛΛᵀ = U(L − σ²I)Uᵀ");
        // The maximised log-likelihood, −N/2 [D log 2π + Σ_{j≤q} log l_j + (D − q) log σ² + D].
        double ll = -0.5 * data.Rows * (6 * Math.Log(2 * Math.PI) + order.Take(2).Sum(i => Math.Log(values[i])) + 4 * Math.Log(sigma2) + 6);
        Assert.Equal(ll, fit.LogLikelihood, 1e-8 * Math.Abs(ll));
        Assert.Equal(FitStatus.Converged, fit.Status);
    }

    [Fact]
    public void FactorAnalysisReachesAStationaryPointOfTheLikelihood()
    {
        // At the ML optimum with every ψ above its floor: diag(C) = diag(S) and (S − C)C⁻¹Λ = 0 (the score equations).
        var r = new Random(8);
        var (mean, loadings, noise) = FactorData.Model(r, 7, 2);
        var data = FactorData.Sample(r, 3000, mean, loadings, noise);
        var fit = OneFactorModel(7, 2).Fit(data, new FitOptions { Tolerance = 1e-14, MaxIterations = 500 });
        var p = fit.Parameters((Block<FactorParameters>)fit.Model.Blocks[0])[0];
        var s = FactorData.SampleCovariance(data);
        var c = Matrix<double>.Build.DenseOfArray(EngineFixtures.FactorCovariance(p).ToArray());
        for (int i = 0; i < 7; i++) Assert.Equal(s[i, i], c[i, i], 1e-8 * s[i, i]);
        var l = Matrix<double>.Build.DenseOfArray(p.Loadings.ToArray());
        var score = (s - c) * c.Solve(l);
        Assert.True(score.Enumerate().All(v => Math.Abs(v) < 1e-7), $"score equations not met: max {score.Enumerate().Max(Math.Abs):G3}");
        Assert.Equal(FitStatus.Converged, fit.Status);
    }

    [Fact]
    public void NoFactorsIsADiagonalGaussian()
    {
        var r = new Random(2);
        var (mean, loadings, noise) = FactorData.Model(r, 4, 1);
        var data = FactorData.Sample(r, 500, mean, loadings, noise);
        var factor = OneFactorModel(4, 0).Fit(data);
        var diagonal = Mixture.WithComponents(1).Observe(Blocks.Gaussian("g", Blocks.ColumnRange(0, 4), CovarianceType.Diagonal)).Build()
            .Fit(data, new FitOptions { CovarianceFloor = 0 });
        Assert.Equal(diagonal.LogLikelihood, factor.LogLikelihood, 1e-10 * Math.Abs(diagonal.LogLikelihood));
        var g = diagonal.Parameters((Block<GaussianParameters>)diagonal.Model.Blocks[0])[0];
        var f = factor.Parameters((Block<FactorParameters>)factor.Model.Blocks[0])[0];
        EngineFixtures.AssertClose(g.Covariance.GetDiagonal(), f.NoiseVariances, 1e-12, "ψ = diagonal variances");
        EngineFixtures.AssertClose(g.Mean, f.Mean, 1e-12, "means");
    }

    [Fact]
    public void ShiftingTheDataBy1e6ChangesOnlyTheMeans()
    {
        var r = new Random(4);
        var a = FactorData.Model(r, 5, 2);
        var b = FactorData.Model(r, 5, 2, meanScale: 5);
        var data = FactorData.Stack(FactorData.Sample(r, 400, a.Mean, a.Loadings, a.Noise), FactorData.Sample(r, 400, b.Mean, b.Loadings, b.Noise));
        var shifted = DataMatrix.From(Shift(data.ToArray(), 1e6));
        var options = new FitOptions { MaxIterations = 40, Seed = 1 };
        var start = Initialization.FromResponsibilities(OneFactorModel(5, 2, k: 2).Fit(data, options with { MaxIterations = 3 }).PredictProba(data));
        var fit = OneFactorModel(5, 2, k: 2).Fit(data, options with { Initialization = start });
        var moved = OneFactorModel(5, 2, k: 2).Fit(shifted, options with { Initialization = start });
        Assert.Equal(fit.LogLikelihood, moved.LogLikelihood, 1e-8 * Math.Abs(fit.LogLikelihood));
        var block = (Block<FactorParameters>)fit.Model.Blocks[0];
        for (int k = 0; k < 2; k++)
            EngineFixtures.AssertClose(fit.Parameters(block)[k].NoiseVariances, moved.Parameters((Block<FactorParameters>)moved.Model.Blocks[0])[k].NoiseVariances, 1e-6, $"ψ of component {k}");
    }

    private static double[,] Shift(double[,] x, double by)
    {
        var y = (double[,])x.Clone();
        for (int i = 0; i < y.GetLength(0); i++)
            for (int j = 0; j < y.GetLength(1); j++) y[i, j] += by;
        return y;
    }

    public static TheoryData<string> Variants() => new(["diagonal", "isotropic", "shared", "shared-isotropic", "prior", "loadings-prior", "shared-block"]);

    private static MixtureModel Variant(string name, int d, int q, int k) => name switch
    {
        "diagonal" => OneFactorModel(d, q, k: k),
        "isotropic" => OneFactorModel(d, q, NoiseModel.Isotropic, k: k),
        "shared" => OneFactorModel(d, q, k: k, sharedNoise: true),
        "shared-isotropic" => OneFactorModel(d, q, NoiseModel.Isotropic, k: k, sharedNoise: true),
        "prior" => OneFactorModel(d, q, prior: new FactorPrior(2, 0.5), k: k),
        "loadings-prior" => OneFactorModel(d, q, prior: new FactorPrior(1, 0.1, loadingsPrecision: 2), k: k),
        "shared-block" => Mixture.WithComponents(k).Observe(Blocks.Factor("f", Blocks.ColumnRange(0, d), q, sharing: Sharing.Shared))
            .Observe(Blocks.Poisson("counts", [d])).Build(),
        _ => throw new ArgumentException(name),
    };

    private static DataMatrix VariantData(Random r, int d, int q, int rows)
    {
        var a = FactorData.Model(r, d, q);
        var b = FactorData.Model(r, d, q, meanScale: 4);
        var x = FactorData.Stack(FactorData.Sample(r, rows / 2, a.Mean, a.Loadings, a.Noise), FactorData.Sample(r, rows - rows / 2, b.Mean, b.Loadings, b.Noise)).ToArray();
        var withCounts = new double[rows, d + 1];
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < d; j++) withCounts[i, j] = x[i, j];
            withCounts[i, d] = MathNet.Numerics.Distributions.Poisson.Sample(r, i < rows / 2 ? 2.0 : 7.0);
        }
        return DataMatrix.From(withCounts);
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void EveryVariantNeverLowersTheFreeEnergyAndTheEStepClosesTheGap(string variant)
    {
        for (int seed = 0; seed < 6; seed++)
        {
            var r = new Random(100 + seed);
            int d = 3 + seed % 4, q = 1 + seed % 2, k = 1 + seed % 3;
            var data = VariantData(r, d, q, 150 + 50 * seed);
            var fit = Variant(variant, d, q, k).Fit(data, Exact(25, seed));
            FreeEnergyChecks.AssertHalfSteps(fit, $"{variant}, seed {seed}");
            Assert.All(EngineFixtures.AllValues(fit), v => Assert.True(double.IsFinite(v)));
            EngineFixtures.AssertNonDecreasing(fit.ObjectiveTrace);
        }
    }

    [Fact]
    public void AWrongMStepIsCaughtByTheFreeEnergyProperty()
    {
        var r = new Random(1);
        var data = VariantData(r, 5, 2, 400);
        FactorRuntime.SeededNoiseFault.Value = 3.0;
        try
        {
            var fit = OneFactorModel(5, 2, k: 2).Fit(data, Exact(10, 1));
            Assert.ThrowsAny<Exception>(() => FreeEnergyChecks.AssertHalfSteps(fit, "seeded fault"));
        }
        finally { FactorRuntime.SeededNoiseFault.Value = null; }
        // With the acceptance policy on, the same wrong candidates are rejected and the objective still never falls.
        FactorRuntime.SeededNoiseFault.Value = 3.0;
        try
        {
            var fit = OneFactorModel(5, 2, k: 2).Fit(data, new FitOptions { Seed = 1, MaxIterations = 10 });
            EngineFixtures.AssertNonDecreasing(fit.ObjectiveTrace);
            Assert.True(fit.Diagnostics.RejectedCandidates > 0);
        }
        finally { FactorRuntime.SeededNoiseFault.Value = null; }
    }

    [Fact]
    public void AHeywoodCaseIsHeldAtTheFloorAndReported()
    {
        // x₀ = z, x₁ = z + e₁, x₂ = z + e₂ with Cov(e₁, e₂) < 0: the one-factor fit needs λ₀² = s₀₁s₀₂/s₁₂ > s₀₀, i.e.
        // ψ₀ < 0, so the likelihood's supremum is on the boundary ψ₀ = 0 (a Heywood case) for any sample of this kind.
        var r = new Random(9);
        var rows = Enumerable.Range(0, 400).Select(_ =>
        {
            double z = EngineFixtures.Normal(r), e1 = EngineFixtures.Normal(r), e2 = -0.6 * e1 + 0.8 * EngineFixtures.Normal(r);
            return new[] { z, z + 0.5 * e1, z + 0.5 * e2 };
        }).ToArray();
        var data = DataMatrix.FromRows(rows);
        var s = FactorData.SampleCovariance(data);
        Assert.True(s[0, 1] * s[0, 2] / s[1, 2] > s[0, 0], "the sample is not a Heywood case");
        var fit = OneFactorModel(3, 1).Fit(data);
        var p = fit.Parameters((Block<FactorParameters>)fit.Model.Blocks[0])[0];
        Assert.All(EngineFixtures.AllValues(fit), v => Assert.True(double.IsFinite(v)));
        Assert.Equal(1e-12 * s[0, 0], p.NoiseVariances[0], 1e-12 * s[0, 0] * 1e-9);
        Assert.Contains(fit.Diagnostics.Events, e => e.Kind == FitEventKind.NoiseFloored && e.Message.Contains("column 0"));
        EngineFixtures.AssertNonDecreasing(fit.ObjectiveTrace);
        // A prior keeps ψ₀ off the floor, at a finite MAP.
        var map = OneFactorModel(3, 1, prior: new FactorPrior(1, 0.01)).Fit(data);
        Assert.True(map.Parameters((Block<FactorParameters>)map.Model.Blocks[0])[0].NoiseVariances[0] > 1e-4);
        Assert.DoesNotContain(map.Diagnostics.Events, e => e.Kind == FitEventKind.NoiseFloored);
    }

    [Fact]
    public void TheLogPriorIsTheInverseGammaAndNormalDensities()
    {
        var r = new Random(6);
        var data = VariantData(r, 4, 1, 300);
        var prior = new FactorPrior(2.5, 0.3, loadingsPrecision: 0.7);
        var fit = OneFactorModel(4, 1, prior: prior, k: 2).Fit(data, new FitOptions { MaxIterations = 20 });
        double expected = 0;
        foreach (var p in fit.Parameters((Block<FactorParameters>)fit.Model.Blocks[0]))
        {
            expected += p.NoiseVariances.Sum(v => MathNet.Numerics.Distributions.InverseGamma.PDFLn(2.5, 0.3, v));
            expected += p.Loadings.ToArray().Cast<double>().Sum(v => MathNet.Numerics.Distributions.Normal.PDFLn(0, Math.Sqrt(1 / 0.7), v));
        }
        Assert.Equal(expected, fit.LogPrior, 1e-9 * Math.Abs(expected));
    }

    [Fact]
    public void AFactorBlockDrivesAHiddenMarkovModel()
    {
        var r = new Random(12);
        var a = FactorData.Model(r, 4, 1);
        var b = FactorData.Model(r, 4, 1, meanScale: 5);
        var rows = new List<double[]>();
        int state = 0;
        for (int t = 0; t < 600; t++)
        {
            if (r.NextDouble() < 0.05) state = 1 - state;
            rows.Add(state == 0 ? FactorData.Draw(r, a.Mean, a.Loadings, a.Noise) : FactorData.Draw(r, b.Mean, b.Loadings, b.Noise));
        }
        var model = HiddenMarkov.WithStates(2).Observe(Blocks.Factor("f", Blocks.ColumnRange(0, 4), 1)).Build();
        var fit = model.Fit(SequenceData.Single(DataMatrix.FromRows(rows)), Exact(30));
        FreeEnergyChecks.AssertHalfSteps(fit, "factor HMM");
        Assert.True(fit.TransitionMatrix[0, 0] > 0.85 && fit.TransitionMatrix[1, 1] > 0.85, $"transitions {fit.TransitionMatrix[0, 0]}, {fit.TransitionMatrix[1, 1]}");
    }

    [Fact]
    public void ResultsAreIdenticalForAnyThreadCountAndChunkSize()
    {
        var r = new Random(21);
        var data = VariantData(r, 6, 2, 3000);
        var model = OneFactorModel(6, 2, k: 2);
        var one = model.Fit(data, new FitOptions { MaxIterations = 15, MaxDegreeOfParallelism = 1, ChunkRows = 257 });
        var two = model.Fit(data, new FitOptions { MaxIterations = 15, MaxDegreeOfParallelism = 2, ChunkRows = 257 });
        EngineFixtures.AssertIdentical(EngineFixtures.AllValues(one), EngineFixtures.AllValues(two), "one thread or two");
        // Other chunks sum the statistics in another order: the iterative M-step then stops at another point within its
        // tolerance, so only closeness is expected.
        var chunked = model.Fit(data, new FitOptions { MaxIterations = 15, MaxDegreeOfParallelism = 2, ChunkRows = 4096 });
        EngineFixtures.AssertClose(EngineFixtures.AllValues(one), EngineFixtures.AllValues(chunked), 1e-6, "chunking (summation order only)");
    }

    [Fact]
    public void FreeParametersSubtractTheRotationFreedom()
    {
        Assert.Equal(10 + 30 - 3 + 10, Blocks.Factor("f", Blocks.ColumnRange(0, 10), 3).FreeParameterCount(1));
        Assert.Equal(10 + 30 - 3 + 1, Blocks.Factor("f", Blocks.ColumnRange(0, 10), 3, NoiseModel.Isotropic).FreeParameterCount(1));
        Assert.Equal(2 * (10 + 30 - 3) + 10, Blocks.Factor("f", Blocks.ColumnRange(0, 10), 3, sharedNoise: true).FreeParameterCount(2));
        Assert.Equal(2 * (10 + 30 - 3 + 10), Blocks.Factor("f", Blocks.ColumnRange(0, 10), 3).FreeParameterCount(2));
    }

    [Fact]
    public void VarimaxKeepsTheCommonCovarianceAndFindsSimpleStructure()
    {
        // Simple structure rotated by 35°: varimax undoes the rotation (up to sign and order).
        var simple = new double[,] { { 0.9, 0 }, { 0.8, 0 }, { 0.7, 0 }, { 0, 0.9 }, { 0, 0.6 }, { 0, 0.8 } };
        double c = Math.Cos(0.61), s = Math.Sin(0.61);
        var rotated = new double[6, 2];
        for (int i = 0; i < 6; i++)
        {
            rotated[i, 0] = c * simple[i, 0] - s * simple[i, 1];
            rotated[i, 1] = s * simple[i, 0] + c * simple[i, 1];
        }
        var v = FactorRotation.Varimax(new ReadOnlyMatrix(rotated));
        EngineFixtures.AssertClose(FactorData.Common(new ReadOnlyMatrix(simple)).ToColumnMajorArray(), FactorData.Common(v).ToColumnMajorArray(), 1e-12, "ΛΛᵀ");
        for (int i = 0; i < 6; i++)
        {
            var sorted = new[] { Math.Abs(v[i, 0]), Math.Abs(v[i, 1]) }.OrderBy(x => x).ToArray();
            Assert.True(sorted[0] < 1e-8, $"row {i} is not simple after varimax: {v[i, 0]}, {v[i, 1]}");
        }
    }

    [Fact]
    public void BadDeclarationsAndDataAreClearErrors()
    {
        var tooMany = Assert.Throws<ArgumentOutOfRangeException>(() => Blocks.Factor("f", [0, 1, 2], 3));
        Assert.Contains("q < D", tooMany.Message);
        Assert.Contains("'f'", Assert.Throws<ArgumentOutOfRangeException>(() => Blocks.Factor("f", [0, 1, 2], -1)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Blocks.Factor("f", [0, 1, 2], 1, noiseFloor: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Blocks.Factor("f", [0, 1, 2], 1, mStepIterations: 0));
        Assert.Throws<ArgumentException>(() => Blocks.Factor("f", [0, 1, 2], 1, sharedNoise: true, sharing: Sharing.Shared));
        Assert.Throws<ArgumentOutOfRangeException>(() => new FactorPrior(0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new FactorPrior(1, 1, loadingsPrecision: -1));
        Assert.Throws<ArgumentException>(() => new FactorParameters([0, 0], new double[3, 1], [1, 1]));
        Assert.ThrowsAny<ArgumentException>(() => new FactorParameters([0, 0], new double[2, 1], [1, 0]));

        var r = new Random(1);
        var rows = Enumerable.Range(0, 50).Select(_ => new[] { EngineFixtures.Normal(r), 3.25, EngineFixtures.Normal(r) }).ToArray();
        var constant = Assert.Throws<ArgumentException>(() => OneFactorModel(3, 1).Fit(DataMatrix.FromRows(rows)));
        Assert.Contains("column 1 is constant", constant.Message);
        var few = Assert.Throws<ArgumentException>(() => OneFactorModel(3, 1).Fit(DataMatrix.FromRows(rows.Take(3).Select(x => new[] { x[0], x[2], x[0] + x[2] }))));
        Assert.Contains("more rows than columns", few.Message);
        var model = OneFactorModel(3, 1);
        var wrongStart = Initialization.FromParameters([1.0]).With((Block<FactorParameters>)model.Blocks[0],
            [new FactorParameters([0, 0, 0], new double[3, 2], [1, 1, 1])]);
        var varied = DataMatrix.FromRows(rows.Select(x => new[] { x[0], x[2], x[0] - x[2] + 0.1 * x[0] * x[0] }));
        Assert.Contains("the block has 1 factors", Assert.Throws<ArgumentException>(() => model.Fit(varied, new FitOptions { Initialization = wrongStart })).Message);
    }
}
