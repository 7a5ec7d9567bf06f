using System.Text.Json;
using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Families.Priors;
using EmDsl.Inference;
using FsCheck;
using FsCheck.Fluent;
using MathNet.Numerics.LinearAlgebra;

namespace EmDsl.Tests.Engine;

/// <summary>
/// Missing values under <see cref="MissingValuePolicy.Marginalize"/>: the E-step's per-row log-likelihood against the
/// marginal density computed independently (LU determinant and solve of the marginal covariance, pmf products),
/// against scipy, the free energy's half-steps with holes, recovery under MCAR, rows with nothing observed, bit
/// identity without holes, and bad input.
/// </summary>
public class MissingValueTests
{
    private static readonly FitOptions Marginalize = FitOptions.Default with { MissingValues = MissingValuePolicy.Marginalize };

    // ------------------------------------------------------------ random Gaussian mixtures with holes

    /// <summary>A random K-component Gaussian mixture in D dimensions of the given covariance type, and data with holes.</summary>
    private sealed record GaussianCase(int Seed, int D, int K, CovarianceType Type, double MissingRate)
    {
        public override string ToString() => $"seed {Seed}, D = {D}, K = {K}, {Type}, missing {MissingRate:P0}";

        public (double[] Weights, GaussianParameters[] Components) Parameters()
        {
            var random = new Random(Seed);
            var w = Enumerable.Range(0, K).Select(_ => 0.2 + random.NextDouble()).ToArray();
            double total = w.Sum();
            w = w.Select(v => v / total).ToArray();
            double[,]? tied = Type == CovarianceType.Tied ? RandomCovariance(random, D, CovarianceType.Full) : null;
            var comps = Enumerable.Range(0, K).Select(_ =>
            {
                var mean = Enumerable.Range(0, D).Select(_ => 6 * random.NextDouble() - 3).ToArray();
                return new GaussianParameters(mean, tied ?? RandomCovariance(random, D, Type));
            }).ToArray();
            return (w, comps);
        }

        public DataMatrix Data(int rows, GaussianParameters[] components, double[] weights)
        {
            var random = new Random(Seed + 1);
            var values = new double[rows, D];
            var observed = new bool[rows, D];
            for (int i = 0; i < rows; i++)
            {
                int k = Pick(random, weights);
                var x = Draw(random, components[k]);
                for (int j = 0; j < D; j++)
                {
                    values[i, j] = x[j];
                    observed[i, j] = random.NextDouble() >= MissingRate;
                }
            }
            return DataMatrix.WithMissing(values, observed);
        }
    }

    private static double[,] RandomCovariance(Random random, int d, CovarianceType type)
    {
        var c = new double[d, d];
        if (type == CovarianceType.Spherical)
        {
            double v = 0.3 + 2 * random.NextDouble();
            for (int i = 0; i < d; i++) c[i, i] = v;
            return c;
        }
        if (type == CovarianceType.Diagonal)
        {
            for (int i = 0; i < d; i++) c[i, i] = 0.3 + 2 * random.NextDouble();
            return c;
        }
        var a = new double[d, d];
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++) a[i, j] = 2 * random.NextDouble() - 1;
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++)
            {
                double s = i == j ? 0.3 : 0;
                for (int t = 0; t < d; t++) s += a[i, t] * a[j, t];
                c[i, j] = s;
            }
        return c;
    }

    private static int Pick(Random random, double[] weights)
    {
        double u = random.NextDouble(), c = 0;
        for (int k = 0; k < weights.Length; k++) if ((c += weights[k]) > u) return k;
        return weights.Length - 1;
    }

    private static double[] Draw(Random random, GaussianParameters p)
    {
        int d = p.Dimension;
        var chol = Matrix<double>.Build.Dense(d, d, (i, j) => p.Covariance[i, j]).Cholesky().Factor;
        var z = Vector<double>.Build.Dense(d, _ => MathNet.Numerics.Distributions.Normal.Sample(random, 0, 1));
        var x = chol * z;
        return Enumerable.Range(0, d).Select(j => p.Mean[j] + x[j]).ToArray();
    }

    /// <summary>
    /// log Σ_k π_k N(x_o; μ_o, Σ_oo) by another route than the engine's: the marginal covariance's LU determinant and LU
    /// solve (MathNet), in plain arithmetic; 0 when nothing is observed.
    /// </summary>
    private static double IndependentMarginal(double[] weights, GaussianParameters[] comps, double[] row)
    {
        var obs = Enumerable.Range(0, row.Length).Where(j => !double.IsNaN(row[j])).ToArray();
        if (obs.Length == 0) return 0;
        var terms = new double[weights.Length];
        for (int k = 0; k < weights.Length; k++)
        {
            var s = Matrix<double>.Build.Dense(obs.Length, obs.Length, (a, b) => comps[k].Covariance[obs[a], obs[b]]);
            var v = Vector<double>.Build.Dense(obs.Length, a => row[obs[a]] - comps[k].Mean[obs[a]]);
            var lu = s.LU();
            double quad = v.DotProduct(lu.Solve(v));
            terms[k] = Math.Log(weights[k]) - 0.5 * (obs.Length * Math.Log(2 * Math.PI) + Math.Log(lu.Determinant) + quad);
        }
        double max = terms.Max();
        return max + Math.Log(terms.Sum(t => Math.Exp(t - max)));
    }

    private static MixtureFit AtParameters(DataMatrix data, Block<GaussianParameters> block, double[] weights, GaussianParameters[] comps, FitOptions? options = null) =>
        Mixture.WithComponents(weights.Length).Observe(block).Build().Fit(data,
            (options ?? Marginalize) with { MaxIterations = 0, Initialization = Initialization.FromParameters(weights).With(block, comps) });

    private static Arbitrary<GaussianCase> GaussianCases(double[] rates) =>
        (from seed in Gen.Choose(0, 1_000_000)
         from d in Gen.Choose(1, 5)
         from k in Gen.Choose(1, 3)
         from type in Gen.Elements(CovarianceType.Full, CovarianceType.Diagonal, CovarianceType.Spherical, CovarianceType.Tied)
         from rate in Gen.Elements(rates)
         select new GaussianCase(seed, d, k, type, rate)).ToArbitrary();

    [Fact]
    public void GaussianRowLogLikelihoodWithHolesIsTheMarginalMixtureDensity()
    {
        PropertyChecks.ForAll(GaussianCases([0.2, 0.5, 0.8]), c =>
        {
            var (w, comps) = c.Parameters();
            var data = c.Data(60, comps, w);
            var block = Blocks.Gaussian("g", Enumerable.Range(0, c.D), c.Type);
            var fit = AtParameters(data, block, w, comps);
            var scores = fit.ScoreSamples(data);
            double total = 0;
            for (int i = 0; i < data.Rows; i++)
            {
                double expected = IndependentMarginal(w, comps, data.GetRow(i));
                total += expected;
                Assert.True(Math.Abs(scores[i] - expected) <= 1e-9 * Math.Max(1, Math.Abs(expected)),
                    $"{c}: row {i} ({string.Join(", ", data.GetRow(i))}) scores {scores[i]:G17}, the marginal density gives {expected:G17}.");
            }
            // The fit's own E-step (its log-likelihood at the given parameters) is the same sum.
            Assert.True(Math.Abs(fit.LogLikelihood - total) <= 1e-9 * Math.Max(1, Math.Abs(total)), $"{c}: fit log-likelihood {fit.LogLikelihood:G17}, marginal {total:G17}.");
            // And the posterior is proportional to π_k p(x_o | k).
            var proba = fit.PredictProba(data);
            for (int i = 0; i < data.Rows; i++)
                for (int k = 0; k < c.K; k++)
                {
                    double only = IndependentMarginal([1.0], [comps[k]], data.GetRow(i));
                    double expected = Math.Exp(Math.Log(w[k]) + only - IndependentMarginal(w, comps, data.GetRow(i)));
                    Assert.True(Math.Abs(proba[i, k] - expected) <= 1e-9, $"{c}: row {i}, component {k}: posterior {proba[i, k]}, expected {expected}.");
                }
        }, baseline: 100);
    }

    [Fact]
    public void PoissonAndBernoulliRowLogLikelihoodWithHolesIsTheProductOverObservedColumns()
    {
        var cases = (from seed in Gen.Choose(0, 1_000_000)
                     from k in Gen.Choose(1, 3)
                     from rate in Gen.Elements(0.2, 0.5, 0.9)
                     select (Seed: seed, K: k, Rate: rate)).ToArbitrary();
        PropertyChecks.ForAll(cases, c =>
        {
            var random = new Random(c.Seed);
            int rows = 50;
            var w = Enumerable.Range(0, c.K).Select(_ => 0.2 + random.NextDouble()).ToArray();
            w = w.Select(v => v / w.Sum()).ToArray();
            var rates = Enumerable.Range(0, c.K).Select(_ => new PoissonParameters(Enumerable.Range(0, 3).Select(_ => 0.5 + 8 * random.NextDouble()).ToArray())).ToArray();
            var probs = Enumerable.Range(0, c.K).Select(_ => new BernoulliParameters(Enumerable.Range(0, 2).Select(_ => 0.05 + 0.9 * random.NextDouble()).ToArray())).ToArray();
            var values = new double[rows, 5];
            var observed = new bool[rows, 5];
            for (int i = 0; i < rows; i++)
            {
                int k = Pick(random, w);
                for (int j = 0; j < 3; j++) values[i, j] = MathNet.Numerics.Distributions.Poisson.Sample(random, rates[k].Rates[j]);
                for (int j = 0; j < 2; j++) values[i, 3 + j] = random.NextDouble() < probs[k].Probabilities[j] ? 1 : 0;
                for (int j = 0; j < 5; j++) observed[i, j] = random.NextDouble() >= c.Rate;
            }
            var data = DataMatrix.WithMissing(values, observed);
            var p = Blocks.Poisson("p", [0, 1, 2]);
            var b = Blocks.Bernoulli("b", [3, 4]);
            var fit = Mixture.WithComponents(c.K).Observe(p).Observe(b).Build().Fit(data,
                Marginalize with { MaxIterations = 0, Initialization = Initialization.FromParameters(w).With(p, rates).With(b, probs) });
            var scores = fit.ScoreSamples(data);
            for (int i = 0; i < rows; i++)
            {
                var terms = new double[c.K];
                for (int k = 0; k < c.K; k++)
                {
                    double t = Math.Log(w[k]);
                    for (int j = 0; j < 3; j++)
                        if (observed[i, j]) t += MathNet.Numerics.Distributions.Poisson.PMFLn(rates[k].Rates[j], (int)values[i, j]);
                    for (int j = 0; j < 2; j++)
                        if (observed[i, 3 + j]) t += Math.Log(values[i, 3 + j] == 1 ? probs[k].Probabilities[j] : 1 - probs[k].Probabilities[j]);
                    terms[k] = t;
                }
                double max = terms.Max(), expected = max + Math.Log(terms.Sum(t => Math.Exp(t - max)));
                if (Enumerable.Range(0, 5).All(j => !observed[i, j])) expected = 0;
                Assert.True(Math.Abs(scores[i] - expected) <= 1e-9 * Math.Max(1, Math.Abs(expected)),
                    $"seed {c.Seed}: row {i} scores {scores[i]:G17}, the product over observed columns gives {expected:G17}.");
            }
        }, baseline: 100);
    }

    /// <summary>tests/fixtures/missing_scipy.json, written by tests/fixtures/make_missing_fixtures.py from scipy.stats.multivariate_normal.</summary>
    [Fact]
    public void MarginalLogDensitiesAgreeWithScipy()
    {
        var root = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", "missing_scipy.json"))).RootElement;
        var weights = root.GetProperty("weights").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        var comps = root.GetProperty("components").EnumerateArray().Select(c =>
        {
            var mean = c.GetProperty("mean").EnumerateArray().Select(e => e.GetDouble()).ToArray();
            var rows = c.GetProperty("covariance").EnumerateArray().Select(r => r.EnumerateArray().Select(e => e.GetDouble()).ToArray()).ToArray();
            var cov = new double[rows.Length, rows.Length];
            for (int i = 0; i < rows.Length; i++)
                for (int j = 0; j < rows.Length; j++) cov[i, j] = rows[i][j];
            return new GaussianParameters(mean, cov);
        }).ToArray();
        var x = root.GetProperty("rows").EnumerateArray()
            .Select(r => r.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Null ? double.NaN : e.GetDouble()).ToArray()).ToArray();
        var expected = root.GetProperty("log_density").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        var values = new double[x.Length, x[0].Length];
        for (int i = 0; i < x.Length; i++)
            for (int j = 0; j < x[0].Length; j++) values[i, j] = x[i][j];
        var data = DataMatrix.From(values, MissingValues.Allow);
        var block = Blocks.Gaussian("g", Enumerable.Range(0, x[0].Length));
        var scores = AtParameters(data, block, weights, comps).ScoreSamples(data);
        for (int i = 0; i < x.Length; i++)
            Assert.True(Math.Abs(scores[i] - expected[i]) <= 1e-10 * Math.Max(1, Math.Abs(expected[i])),
                $"row {i}: {scores[i]:G17} against scipy's {expected[i]:G17}");
    }

    // ------------------------------------------------------------ the objective with holes

    /// <summary>
    /// EM with holes is coordinate ascent on F(q, θ) with q over z and the missing values: in exact mode (no floor, every
    /// candidate taken) F never falls at any half-step, equals the observed-data objective after every E-step, and no
    /// FreeEnergyDecreased event appears. Omitting the conditional covariance from the M-step's expected statistics, or
    /// the missing values' entropy from F, breaks it.
    /// </summary>
    [Fact]
    public void FreeEnergyNeverFallsAndMeetsTheObjectiveWithHoles()
    {
        PropertyChecks.ForAll(GaussianCases([0.1, 0.3, 0.6]), c =>
        {
            var (w, comps) = c.Parameters();
            var data = c.Data(120, comps, w);
            // A weak prior bounds the likelihood (see CollapseGuard below: with the floor off, a component on two rows collapses).
            var block = Blocks.Gaussian("g", Enumerable.Range(0, c.D), c.Type, prior: new GaussianPrior(new double[c.D], 0, ReadOnlyMatrix.Identity(c.D, 0.05), 1));
            var options = Marginalize with { MaxIterations = 15, Tolerance = 0, CovarianceFloor = 0, CheckMSteps = false, Seed = c.Seed, ChunkRows = 37 };
            var fit = Mixture.WithComponents(c.K).Observe(block).Build().Fit(data, options);
            FreeEnergyChecks.AssertExact(fit, c.ToString());
            for (int i = 1; i < fit.ObjectiveTrace.Count; i++)
                Assert.True(fit.ObjectiveTrace[i] >= fit.ObjectiveTrace[i - 1] - FreeEnergyChecks.Slack(fit.ObjectiveTrace[i - 1]),
                    $"{c}: the objective fell from {fit.ObjectiveTrace[i - 1]:G17} to {fit.ObjectiveTrace[i]:G17} at iteration {i}.");
        }, baseline: 100);
    }

    /// <summary>
    /// A weak inverse-Wishart prior on the Gaussian covariance (Ψ = 0.05·I worth one observation; flat on the mean). Without
    /// it nothing bounds the likelihood: with the floor off, a component holding two rows of the Gaussian block collapses
    /// onto their line (seed 589421, K = 3, 30 % missing: condition number 10¹³ at iteration 11), and F and the objective
    /// then differ by the rounding of a 10¹³-conditioned precision (1.6·10⁻⁶ nats), not by a fault. The prior keeps the
    /// M-step exact (a MAP step) and the check at 10⁻⁹.
    /// </summary>
    private static readonly GaussianPrior CollapseGuard = new([0, 0], 0, ReadOnlyMatrix.Identity(2, 0.05), 1);

    [Fact]
    public void FreeEnergyNeverFallsWithHolesInPoissonBernoulliAndGaussianBlocks()
    {
        var cases = (from seed in Gen.Choose(0, 1_000_000)
                     from k in Gen.Choose(1, 3)
                     from rate in Gen.Elements(0.1, 0.3, 0.6)
                     select (Seed: seed, K: k, Rate: rate)).ToArbitrary();
        PropertyChecks.ForAll(cases, c =>
        {
            var random = new Random(c.Seed);
            int rows = 150;
            var values = new double[rows, 6];
            var observed = new bool[rows, 6];
            for (int i = 0; i < rows; i++)
            {
                int k = random.Next(2);
                values[i, 0] = MathNet.Numerics.Distributions.Poisson.Sample(random, k == 0 ? 2 : 9);
                values[i, 1] = MathNet.Numerics.Distributions.Poisson.Sample(random, k == 0 ? 5 : 1);
                values[i, 2] = random.NextDouble() < (k == 0 ? 0.2 : 0.7) ? 1 : 0;
                values[i, 3] = random.NextDouble() < 0.5 ? 1 : 0;
                values[i, 4] = MathNet.Numerics.Distributions.Normal.Sample(random, k == 0 ? -1 : 2, 1);
                values[i, 5] = 0.5 * values[i, 4] + MathNet.Numerics.Distributions.Normal.Sample(random, 0, 1);
                for (int j = 0; j < 6; j++) observed[i, j] = random.NextDouble() >= c.Rate;
            }
            var data = DataMatrix.WithMissing(values, observed);
            var model = Mixture.WithComponents(c.K)
                .Observe(Blocks.Poisson("p", [0, 1])).Observe(Blocks.Bernoulli("b", [2, 3])).Observe(Blocks.Gaussian("g", [4, 5], prior: CollapseGuard))
                .Build();
            var fit = model.Fit(data, Marginalize with { MaxIterations = 12, Tolerance = 0, CovarianceFloor = 0, CheckMSteps = false, Seed = c.Seed, ChunkRows = 41 });
            // The probability floor may move a Bernoulli estimate; otherwise every M-step is exact.
            FreeEnergyChecks.AssertHalfSteps(fit, $"seed {c.Seed}, K = {c.K}, missing {c.Rate:P0}");
        }, baseline: 60);
    }

    // ------------------------------------------------------------ recovery under MCAR

    /// <summary>
    /// 3 well-separated 3-D Gaussian components, 3000 rows, 20% of the entries missing completely at random: the fit
    /// with holes is close to the fit on the complete data. Tolerances: a component holds ≈ 1000 rows, so a mean's
    /// standard error is ≈ σ/√1000 ≈ 0.03 (σ ≤ 1) and a variance's ≈ σ²√(2/1000) ≈ 0.045; dropping 20% of the entries
    /// loses at most a fifth of the information, so the two fits differ by about the standard error of the lost part
    /// (≈ 0.03·√0.25 for a mean). 0.1 for means, 0.15 for covariance entries and 0.02 for weights are 3–4 of those.
    /// </summary>
    [Fact]
    public void TwentyPercentMissingCompletelyAtRandomRecoversTheCompleteDataFit()
    {
        var truth = new[]
        {
            new GaussianParameters([0, 0, 0], new double[,] { { 1, 0.5, 0.2 }, { 0.5, 1, 0.3 }, { 0.2, 0.3, 1 } }),
            new GaussianParameters([6, 0, 3], new double[,] { { 0.5, -0.2, 0 }, { -0.2, 0.8, 0.1 }, { 0, 0.1, 0.6 } }),
            new GaussianParameters([0, 7, -3], new double[,] { { 0.9, 0, 0.3 }, { 0, 0.4, 0 }, { 0.3, 0, 0.7 } }),
        };
        double[] w = [0.3, 0.3, 0.4];
        var random = new Random(5);
        int n = 3000;
        var values = new double[n, 3];
        var observed = new bool[n, 3];
        for (int i = 0; i < n; i++)
        {
            var x = Draw(random, truth[Pick(random, w)]);
            for (int j = 0; j < 3; j++) { values[i, j] = x[j]; observed[i, j] = random.NextDouble() >= 0.2; }
        }
        var complete = DataMatrix.From(values);
        var holed = DataMatrix.WithMissing(values, observed);
        var g = Blocks.Gaussian("g", [0, 1, 2]);
        var model = Mixture.WithComponents(3).Observe(g).Build();
        var start = Initialization.FromParameters([1 / 3.0, 1 / 3.0, 1 / 3.0]).With(g,
            [GaussianParameters.WithVariances([1, 1, 1], [2, 2, 2]), GaussianParameters.WithVariances([5, 1, 2], [2, 2, 2]), GaussianParameters.WithVariances([1, 6, -2], [2, 2, 2])]);
        var full = model.Fit(complete, Marginalize with { Initialization = start, Tolerance = 1e-10 });
        var fit = model.Fit(holed, Marginalize with { Initialization = start, Tolerance = 1e-10 });
        Assert.Equal(FitStatus.Converged, fit.Status);
        Assert.False(fit.Diagnostics.ObjectiveEverDecreased);
        Assert.False(fit.Diagnostics.FreeEnergyEverDecreased);
        var a = full.Parameters(g);
        var b = fit.Parameters(g);
        for (int k = 0; k < 3; k++)
        {
            Assert.True(Math.Abs(full.Weights[k] - fit.Weights[k]) < 0.02, $"weight {k}: {full.Weights[k]} vs {fit.Weights[k]}");
            for (int i = 0; i < 3; i++)
            {
                Assert.True(Math.Abs(a[k].Mean[i] - b[k].Mean[i]) < 0.1, $"component {k}, mean {i}: {a[k].Mean[i]} vs {b[k].Mean[i]}");
                Assert.True(Math.Abs(truth[k].Mean[i] - b[k].Mean[i]) < 0.15, $"component {k}, mean {i}: truth {truth[k].Mean[i]} vs {b[k].Mean[i]}");
                for (int j = 0; j < 3; j++)
                    Assert.True(Math.Abs(a[k].Covariance[i, j] - b[k].Covariance[i, j]) < 0.15,
                        $"component {k}, covariance ({i}, {j}): {a[k].Covariance[i, j]} vs {b[k].Covariance[i, j]}");
            }
        }
    }

    // ------------------------------------------------------------ rows with nothing observed

    [Fact]
    public void ARowWithEveryColumnMissingContributesNothingAndIsReported()
    {
        var values = new double[200, 3];
        var observed = new bool[200, 3];
        var random = new Random(9);
        for (int i = 0; i < 200; i++)
        {
            int k = i % 2;
            values[i, 0] = MathNet.Numerics.Distributions.Normal.Sample(random, k == 0 ? -2 : 2, 1);
            values[i, 1] = MathNet.Numerics.Distributions.Normal.Sample(random, 0, 1);
            values[i, 2] = MathNet.Numerics.Distributions.Poisson.Sample(random, k == 0 ? 1 : 6);
            for (int j = 0; j < 3; j++) observed[i, j] = true;
        }
        int[] empty = [3, 50, 51, 120, 130, 140, 199];
        foreach (int i in empty) for (int j = 0; j < 3; j++) observed[i, j] = false;
        var data = DataMatrix.WithMissing(values, observed);
        var g = Blocks.Gaussian("g", [0, 1]);
        var p = Blocks.Poisson("p", [2]);
        var model = Mixture.WithComponents(2).Observe(g).Observe(p).Build();
        var fit = model.Fit(data, Marginalize with { Tolerance = 1e-12 });

        var reported = Assert.Single(fit.Diagnostics.Events, e => e.Kind == FitEventKind.RowsWithoutObservations);
        Assert.Contains("7 rows", reported.Message);
        Assert.Contains("3, 50, 51, 120, 130", reported.Message);
        var scores = fit.ScoreSamples(data);
        var proba = fit.PredictProba(data);
        foreach (int i in empty)
        {
            Assert.Equal(0.0, scores[i], 1e-12);
            for (int k = 0; k < 2; k++) Assert.Equal(fit.Weights[k], proba[i, k], 1e-14);
        }
        foreach (var c in fit.Parameters(g))
            Assert.True(c.Mean.All(double.IsFinite) && Enumerable.Range(0, 2).All(i => double.IsFinite(c.Covariance[i, i])));
        Assert.True(fit.Parameters(p).All(c => c.Rates.All(double.IsFinite)));

        // The fit's fixed point is that of the rows with something observed.
        var kept = Enumerable.Range(0, 200).Where(i => !empty.Contains(i)).Select(i => Enumerable.Range(0, 3).Select(j => values[i, j]).ToArray()).ToArray();
        var without = model.Fit(DataMatrix.FromRows(kept), Marginalize with { Tolerance = 1e-12, Initialization = Initialization.FromFit(fit) });
        Assert.Equal(without.LogLikelihood, fit.LogLikelihood, 1e-6);
        for (int k = 0; k < 2; k++)
        {
            Assert.Equal(without.Weights[k], fit.Weights[k], 1e-6);
            for (int i = 0; i < 2; i++) Assert.Equal(without.Parameters(g)[k].Mean[i], fit.Parameters(g)[k].Mean[i], 1e-6);
        }
    }

    // ------------------------------------------------------------ no holes: nothing changes

    [Fact]
    public void WithoutHolesTheOptionChangesNothingBitForBit()
    {
        var random = new Random(12);
        var values = new double[500, 3];
        for (int i = 0; i < 500; i++)
        {
            values[i, 0] = MathNet.Numerics.Distributions.Normal.Sample(random, i % 3, 1);
            values[i, 1] = MathNet.Numerics.Distributions.Normal.Sample(random, -(i % 3), 0.5);
            values[i, 2] = MathNet.Numerics.Distributions.Poisson.Sample(random, 1 + i % 3);
        }
        var g = Blocks.Gaussian("g", [0, 1]);
        var p = Blocks.Poisson("p", [2]);
        var model = Mixture.WithComponents(3).Observe(g).Observe(p).Build();
        var before = model.Fit(DataMatrix.From(values), FitOptions.Default with { Seed = 4 });
        var after = model.Fit(DataMatrix.From(values, MissingValues.Allow), Marginalize with { Seed = 4 });
        Assert.False(DataMatrix.From(values, MissingValues.Allow).HasMissingValues);
        Assert.Equal(before.ObjectiveTrace, after.ObjectiveTrace);
        Assert.Equal(before.FreeEnergyTrace, after.FreeEnergyTrace);
        Assert.Equal(before.Weights, after.Weights);
        Assert.Equal(before.Parameters(g), after.Parameters(g));
        Assert.Equal(before.Parameters(p), after.Parameters(p));
    }

    [Fact]
    public void WithHolesTheFitIsTheSameBitForBitOnAnyNumberOfThreads()
    {
        var c = new GaussianCase(31, 3, 3, CovarianceType.Full, 0.3);
        var (w, comps) = c.Parameters();
        var data = c.Data(2000, comps, w);
        var model = Mixture.WithComponents(3).Observe(Blocks.Gaussian("g", [0, 1, 2])).Build();
        var one = model.Fit(data, Marginalize with { Seed = 2, MaxIterations = 20, ChunkRows = 97, MaxDegreeOfParallelism = 1 });
        var many = model.Fit(data, Marginalize with { Seed = 2, MaxIterations = 20, ChunkRows = 97, MaxDegreeOfParallelism = 4 });
        Assert.Equal(one.ObjectiveTrace, many.ObjectiveTrace);
        Assert.Equal(one.FreeEnergyTrace, many.FreeEnergyTrace);
        Assert.Equal(one.Weights, many.Weights);
    }

    // ------------------------------------------------------------ bad input

    [Fact]
    public void AMaskOfTheWrongShapeIsRejectedWithBothShapes()
    {
        var e = Assert.Throws<ArgumentException>(() => DataMatrix.WithMissing(new double[3, 2], new bool[2, 3]));
        Assert.Contains("2 × 3", e.Message);
        Assert.Contains("3 × 2", e.Message);
    }

    [Fact]
    public void InfinityIsRejectedEvenWhenMissingValuesAreAllowed()
    {
        var e = Assert.Throws<ArgumentException>(() => DataMatrix.From(new double[,] { { 1, 2 }, { double.PositiveInfinity, 3 } }, MissingValues.Allow));
        Assert.Contains("Row 1, column 0", e.Message);
        Assert.Contains("∞", e.Message);
        var observed = new bool[,] { { true, true }, { true, false } };
        Assert.Throws<ArgumentException>(() => DataMatrix.WithMissing(new double[,] { { 1, double.NegativeInfinity }, { 1, 0 } }, observed));
        // An observed NaN is not a declared hole.
        var n = Assert.Throws<ArgumentException>(() => DataMatrix.WithMissing(new double[,] { { 1, 2 }, { double.NaN, 0 } }, observed));
        Assert.Contains("Row 1, column 0", n.Message);
    }

    [Fact]
    public void NaNWithoutTheOptionNamesRowColumnAndTheOption()
    {
        var e = Assert.Throws<ArgumentException>(() => DataMatrix.From(new double[,] { { 1, 2 }, { 3, double.NaN } }));
        Assert.Contains("Row 1, column 1", e.Message);
        Assert.Contains("MissingValues.Allow", e.Message);
        Assert.Contains("FitOptions.MissingValues", e.Message);

        var data = DataMatrix.From(new double[,] { { 1, 2 }, { 3, 4 }, { 5, double.NaN }, { 0, 1 } }, MissingValues.Allow);
        var model = Mixture.WithComponents(2).Observe(Blocks.Gaussian("g", [0, 1])).Build();
        var f = Assert.Throws<ArgumentException>(() => model.Fit(data));
        Assert.Contains("Row 2, column 1", f.Message);
        Assert.Contains("FitOptions.MissingValues", f.Message);
        Assert.Contains("Marginalize", f.Message);
        // A hole in a column the model does not read is no error.
        var other = Mixture.WithComponents(2).Observe(Blocks.Gaussian("g", [0])).Build().Fit(data, FitOptions.Default with { MaxIterations = 3 });
        Assert.True(double.IsFinite(other.LogLikelihood));

        // Predictions of a model fitted without the option reject holes the same way.
        var complete = model.Fit(DataMatrix.From(new double[,] { { 1, 2 }, { 3, 4 }, { 5, 1 }, { 0, 1 } }), FitOptions.Default with { CovarianceFloor = 1e-3 });
        var p = Assert.Throws<ArgumentException>(() => complete.ScoreSamples(data));
        Assert.Contains("Row 2, column 1", p.Message);
    }

    [Fact]
    public void BlocksThatCannotMarginaliseNameTheBlockRowAndColumn()
    {
        var values = new double[,] { { 0, 1, 0.5 }, { 1, 0, 1.5 }, { 2, double.NaN, 0.1 }, { 0, 1, 2.0 }, { 1, 0, 0.3 } };
        var data = DataMatrix.From(values, MissingValues.Allow);
        // A one-hot categorical's statistics do not separate by column: a partial hole is an error.
        var cat = Mixture.WithComponents(2).Observe(Blocks.Categorical("c", [0, 1], 2)).Build();
        var onehot = DataMatrix.From(new double[,] { { 1, 0 }, { 0, 1 }, { 1, double.NaN }, { 0, 1 } }, MissingValues.Allow);
        var e1 = Assert.ThrowsAny<Exception>(() => cat.Fit(onehot, Marginalize));
        Assert.True(e1 is NotSupportedException, e1.ToString());
        Assert.Contains("Row 2, column 1", e1.Message);
        Assert.Contains("'c'", e1.Message);
        // A regression's response or covariate.
        var reg = Mixture.WithComponents(2).Observe(Blocks.LinearRegression("r", 2, [1])).Build();
        var e2 = Assert.Throws<NotSupportedException>(() => reg.Fit(data, Marginalize));
        Assert.Contains("Row 2, column 1", e2.Message);
        Assert.Contains("'r'", e2.Message);
    }

    [Fact]
    public void WholeBlockHolesOfANonSeparableFamilyAreMarginalised()
    {
        // One-hot categorical rows either complete or entirely missing: the missing rows contribute nothing to the block.
        var random = new Random(3);
        var values = new double[300, 3];
        var observed = new bool[300, 3];
        for (int i = 0; i < 300; i++)
        {
            int k = i % 2;
            int c = random.NextDouble() < (k == 0 ? 0.8 : 0.2) ? 0 : 1;
            values[i, c] = 1;
            values[i, 2] = MathNet.Numerics.Distributions.Normal.Sample(random, k == 0 ? -2 : 2, 1);
            bool hole = random.NextDouble() < 0.3;
            observed[i, 0] = observed[i, 1] = !hole;
            observed[i, 2] = random.NextDouble() >= 0.1;
        }
        var data = DataMatrix.WithMissing(values, observed);
        var model = Mixture.WithComponents(2).Observe(Blocks.Categorical("c", [0, 1], 2)).Observe(Blocks.Gaussian("g", [2])).Build();
        var fit = model.Fit(data, Marginalize with { MaxIterations = 30, Tolerance = 0, CovarianceFloor = 0, CheckMSteps = false });
        FreeEnergyChecks.AssertHalfSteps(fit, "categorical with whole-block holes");
    }

    /// <summary>
    /// A 2-state Gaussian HMM with holes (some steps with nothing observed): F after each E-step is the observed-data
    /// log-likelihood and never falls; and the sequence log-likelihood at given parameters is the forward algorithm's
    /// with emission N(x_o; μ_o, Σ_oo), 1 for a step with nothing observed, computed here by hand.
    /// </summary>
    [Fact]
    public void HiddenMarkovModelsMarginaliseHolesInTheirEmissions()
    {
        var random = new Random(8);
        int n = 400;
        var values = new double[n, 2];
        var observed = new bool[n, 2];
        int state = 0;
        for (int t = 0; t < n; t++)
        {
            if (random.NextDouble() < 0.1) state = 1 - state;
            values[t, 0] = MathNet.Numerics.Distributions.Normal.Sample(random, state == 0 ? -1.5 : 1.5, 1);
            values[t, 1] = 0.5 * values[t, 0] + MathNet.Numerics.Distributions.Normal.Sample(random, 0, 1);
            observed[t, 0] = random.NextDouble() >= 0.3;
            observed[t, 1] = random.NextDouble() >= 0.3;
        }
        var data = SequenceData.FromLengths(DataMatrix.WithMissing(values, observed), [150, 250]);
        var g = Blocks.Gaussian("g", [0, 1]);
        var hmm = HiddenMarkov.WithStates(2).Observe(g).Build();
        var fit = hmm.Fit(data, Marginalize with { MaxIterations = 25, Tolerance = 0, CovarianceFloor = 0, CheckMSteps = false });
        FreeEnergyChecks.AssertHalfSteps(fit, "HMM with holes");

        // The forward algorithm by hand at the fitted parameters.
        var comps = fit.Parameters(g);
        var a = fit.TransitionMatrix;
        var pi = fit.InitialProbabilities;
        double total = 0;
        foreach (var (start, length) in new[] { (0, 150), (150, 250) })
        {
            var alpha = new double[2];
            double logScale = 0;
            for (int t = 0; t < length; t++)
            {
                var row = Enumerable.Range(0, 2).Select(j => observed[start + t, j] ? values[start + t, j] : double.NaN).ToArray();
                var next = new double[2];
                for (int k = 0; k < 2; k++)
                {
                    double prior = t == 0 ? pi[k] : alpha[0] * a[0, k] + alpha[1] * a[1, k];
                    next[k] = prior * Math.Exp(IndependentMarginal([1.0], [comps[k]], row));
                }
                double sum = next[0] + next[1];
                logScale += Math.Log(sum);
                alpha = [next[0] / sum, next[1] / sum];
            }
            total += logScale;
        }
        double score = fit.Score(data);
        Assert.True(Math.Abs(score - total) <= 1e-9 * Math.Abs(total), $"HMM score {score:G17}, forward algorithm by hand {total:G17}");
    }

    // ------------------------------------------------------------ CSV

    [Fact]
    public void CsvReadsNAAndEmptyCellsAsMissingOnlyWhenAllowed()
    {
        var path = Path.Combine(Path.GetTempPath(), $"emdsl-missing-{Guid.NewGuid():N}.csv");
        File.WriteAllText(path, "a,b\n1,NA\n,2\n3,4\n");
        try
        {
            var e = Assert.Throws<FormatException>(() => DataMatrix.ReadCsv(path));
            Assert.Contains("line 2, column 2", e.Message);
            Assert.Contains("CsvOptions.MissingValues", e.Message);
            var data = DataMatrix.ReadCsv(path, CsvOptions.Default with { MissingValues = MissingValues.Allow });
            Assert.True(data.HasMissingValues);
            Assert.True(data.IsMissing(0, 1));
            Assert.True(data.IsMissing(1, 0));
            Assert.False(data.IsMissing(2, 0));
            Assert.Equal(4.0, data[2, 1]);
        }
        finally { File.Delete(path); }
    }
}
