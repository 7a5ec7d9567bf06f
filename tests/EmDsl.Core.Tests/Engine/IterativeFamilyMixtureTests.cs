using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Families.Priors;
using EmDsl.Inference;
using EmDsl.Tests.Families;
using FsCheck.Fluent;
using Xunit.Abstractions;
using static EmDsl.Tests.Engine.EngineFixtures;

namespace EmDsl.Tests.Engine;

/// <summary>
/// Mixtures of the Gamma, Beta, Dirichlet, von Mises and negative binomial blocks in the engine: parameter recovery
/// from 10⁵ rows, a monotone objective on random models and data, and support errors that name row and column.
/// </summary>
public class IterativeFamilyMixtureTests(ITestOutputHelper output)
{
    // ---------------------------------------------------------------- parameter recovery

    private const int Rows = 100_000;

    /// <summary>
    /// Draws <see cref="Rows"/> rows from a K = 2 mixture of <paramref name="truth"/> with the family's own sampler
    /// (fixed seed), fits the block from k-means++ (fixed seed), matches components up to label switching, and checks
    /// every natural parameter and weight against its standard error. The standard error of η̂_k is that of labelled
    /// data, √([∇²A(η_k)]⁻¹_ii / (n π_k)) (∇²A = Cov T(x), by differences of the mean map); the components are chosen
    /// to overlap little, so the mixture keeps nearly all of that information. The tolerance is 6 standard errors: room
    /// for the information lost to overlap and for the ~10 comparisons per test (P(|Z| &gt; 6) ≈ 2e-9 each).
    /// </summary>
    private void Recovers<TParameters>(Block<TParameters> block, TParameters[] truth, double firstWeight, int seed)
    {
        var family = (ExponentialFamily<TParameters>)block.Family;
        var eta = truth.Select(family.ToNatural).ToArray();
        var random = new Random(seed);
        var rows = new double[Rows][];
        for (int i = 0; i < Rows; i++)
        {
            rows[i] = new double[family.Dimension];
            family.Sample(eta[random.NextDouble() < firstWeight ? 0 : 1], random, rows[i]);
        }
        var fit = Mixture.WithComponents(2).Observe(block).Build()
            .Fit(DataMatrix.FromRows(rows), FitOptions.Default with { Seed = seed, Tolerance = 1e-10, MaxIterations = 3000 });
        Assert.True(fit.Converged, $"{block}: not converged after {fit.Iterations} iterations");
        AssertNonDecreasing(fit.ObjectiveTrace);
        var fitted = fit.Parameters(block).Select(family.ToNatural).ToArray();
        double Distance(int k, int j) => eta[k].Zip(fitted[j], (a, b) => (a - b) * (a - b) / (1 + a * a)).Sum();
        bool swap = Distance(0, 1) + Distance(1, 0) < Distance(0, 0) + Distance(1, 1);
        double[] weights = [firstWeight, 1 - firstWeight];
        output.WriteLine($"{block}: {fit.Iterations} iterations, weights {Fmt.V(fit.Weights.ToArray())}{(swap ? " (swapped)" : "")}");
        for (int k = 0; k < 2; k++)
        {
            int j = swap ? 1 - k : k;
            double se = Math.Sqrt(weights[k] * (1 - weights[k]) / Rows);
            Assert.True(Math.Abs(fit.Weights[j] - weights[k]) <= 6 * se, $"{block}: weight {fit.Weights[j]} vs {weights[k]} (se {se:G3})");
            var standardErrors = NaturalStandardErrors(family, eta[k], Rows * weights[k]);
            output.WriteLine($"  component {k}: η̂ = {Fmt.V(fitted[j])}, η = {Fmt.V(eta[k])}, z = {Fmt.V(fitted[j].Select((v, i) => (v - eta[k][i]) / standardErrors[i]).ToArray())}");
            for (int i = 0; i < eta[k].Length; i++)
                Assert.True(Math.Abs(fitted[j][i] - eta[k][i]) <= 6 * standardErrors[i],
                    $"{block}: component {k} η[{i}] = {fitted[j][i]:G10} vs {eta[k][i]:G10} ({(fitted[j][i] - eta[k][i]) / standardErrors[i]:F2} standard errors of {standardErrors[i]:G3})");
        }
    }

    /// <summary>√(diag [∇²A(η)]⁻¹ / n) with ∇²A by central differences of the mean map.</summary>
    private static double[] NaturalStandardErrors(ExponentialFamily family, double[] eta, double n)
    {
        int s = eta.Length;
        var hessian = MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.Dense(s, s);
        var plus = new double[s];
        var minus = new double[s];
        for (int j = 0; j < s; j++)
        {
            double h = 1e-5 * Math.Max(1, Math.Abs(eta[j]));
            var up = (double[])eta.Clone();
            var down = (double[])eta.Clone();
            up[j] += h;
            down[j] -= h;
            family.MeanMap(up, plus);
            family.MeanMap(down, minus);
            for (int i = 0; i < s; i++) hessian[i, j] = (plus[i] - minus[i]) / (2 * h);
        }
        var covariance = ((hessian + hessian.Transpose()) * 0.5).Inverse();
        return Enumerable.Range(0, s).Select(i => Math.Sqrt(covariance[i, i] / n)).ToArray();
    }

    [Fact]
    public void GammaMixtureRecoversItsParameters() =>
        Recovers(Blocks.Gamma("g", [0, 1]), [new GammaParameters([2, 8], [4, 1]), new GammaParameters([9, 1.5], [1, 2])], 0.35, 101);

    [Fact]
    public void BetaMixtureRecoversItsParameters() =>
        Recovers(Blocks.Beta("b", [0, 1]), [new BetaParameters([2, 8], [8, 2]), new BetaParameters([9, 1.5], [2, 6])], 0.6, 102);

    [Fact]
    public void DirichletMixtureRecoversItsParameters() =>
        Recovers(Blocks.Dirichlet("p", [0, 1, 2]), [new DirichletParameters([8, 2, 1]), new DirichletParameters([1, 3, 10])], 0.45, 103);

    [Fact]
    public void VonMisesMixtureRecoversItsParameters() =>
        Recovers(Blocks.VonMises("angle", [0, 1]), [new VonMisesParameters([-2, 0.5], [6, 2]), new VonMisesParameters([1, 2.5], [12, 0.8])], 0.3, 104);

    [Fact]
    public void NegativeBinomialMixtureRecoversItsParameters() =>
        Recovers(Blocks.NegativeBinomial("counts", [0, 1], 3), [new NegativeBinomialParameters([2, 30]), new NegativeBinomialParameters([25, 4])], 0.55, 105);

    // ---------------------------------------------------------------- monotonicity

    private enum Kind { Gamma, Beta, Dirichlet, VonMises, NegativeBinomial }

    /// <summary>A random block of one of the five families, with or without a prior, per component or shared.</summary>
    private static (Block Block, Func<Random, int, object> Truth) RandomBlock(Random r, Kind kind, string name, int firstColumn)
    {
        int d = kind == Kind.Dirichlet ? r.Next(2, 5) : r.Next(1, 4);
        var cols = Blocks.ColumnRange(firstColumn, d);
        var sharing = r.Next(5) == 0 ? Sharing.Shared : Sharing.PerComponent;
        bool prior = r.Next(2) == 0, weak = r.Next(2) == 0;
        double nu = r.Uniform(0.01, 3);
        switch (kind)
        {
            case Kind.Gamma:
            {
                var f = new GammaFamily(d);
                var p = !prior ? null : weak ? f.WeakPrior(r.Uniform(0.1, 10)) : f.Conjugate(new GammaParameters(r.Vector(d, 0.3, 10), r.Vector(d, 0.1, 5)), nu);
                return (Blocks.Gamma(name, cols, p, sharing), (q, _) => new GammaParameters(q.Vector(d, 0.3, 20), q.Vector(d, 0.2, 5)));
            }
            case Kind.Beta:
            {
                var f = new BetaFamily(d);
                var p = !prior ? null : weak ? f.WeakPrior() : f.Conjugate(new BetaParameters(r.Vector(d, 0.3, 10), r.Vector(d, 0.3, 10)), nu);
                return (Blocks.Beta(name, cols, p, sharing), (q, _) => new BetaParameters(q.Vector(d, 0.3, 15), q.Vector(d, 0.3, 15)));
            }
            case Kind.Dirichlet:
            {
                var f = new DirichletFamily(d);
                var p = !prior ? null : weak ? f.WeakPrior() : f.Conjugate(new DirichletParameters(r.Vector(d, 0.3, 10)), nu);
                return (Blocks.Dirichlet(name, cols, p, sharing), (q, _) => new DirichletParameters(q.Vector(d, 0.3, 15)));
            }
            case Kind.VonMises:
            {
                var f = new VonMisesFamily(d);
                var p = !prior ? null : weak ? f.WeakPrior() : f.Conjugate(new VonMisesParameters(r.Vector(d, -3, 3), r.Vector(d, 0, 20)), nu);
                return (Blocks.VonMises(name, cols, p, sharing), (q, _) => new VonMisesParameters(q.Vector(d, -3, 3), q.Vector(d, 0, 30)));
            }
            default:
            {
                double dispersion = Math.Exp(r.Uniform(-2, 4));
                var p = prior ? new BetaPrior(1 + 3 * r.NextDouble(), 1 + 3 * r.NextDouble()) : null;
                return (Blocks.NegativeBinomial(name, cols, dispersion, p, sharing), (q, _) => new NegativeBinomialParameters(q.Vector(d, 0.1, 40)));
            }
        }
    }

    /// <summary>
    /// EM never lowers log p(X | θ) + log p(θ) on mixtures of these families either: random K (1–3), one or two blocks
    /// of random families, dimensions, priors (natural conjugate, weak, Beta on the negative binomial) and sharing;
    /// 5–200 rows drawn from a random mixture of the same blocks, with exact duplicates (a component may collapse onto
    /// one distinct row, where maximum likelihood has no finite answer and the floors take over) and sometimes sample
    /// weights. The checks are those of <see cref="MonotonicityProperties.CheckCase"/>.
    /// </summary>
    [Fact]
    public void ObjectiveNeverDecreases_RandomMixturesOfIterativeFamilies()
    {
        var kinds = new HashSet<Kind>();
        PropertyChecks.ForAll(Gens.Seed.ToArbitrary(), seed => CheckRandomCase(seed, kinds), baseline: 150);
        Assert.Equal(5, kinds.Count);
        output.WriteLine($"{PropertyChecks.Cases(150)} random cases");
    }

    /// <summary>Fits the random case of one seed (see the property above) and checks every invariant; records the families used.</summary>
    private static MixtureFit CheckRandomCase(int seed, ISet<Kind> kinds)
    {
        var r = new Random(seed);
        int k = r.Next(1, 4), blockCount = r.Next(1, 3), column = 0;
        var blocks = new List<(Block Block, Func<Random, int, object> Truth)>();
        for (int b = 0; b < blockCount; b++)
        {
            var kind = (Kind)r.Next(5);
            kinds.Add(kind);
            var made = RandomBlock(r, kind, $"b{b}", column);
            column += made.Block.Columns.Count;
            blocks.Add(made);
        }
        int rows = r.Next(Math.Max(5, k), 201);
        var weights = RandomSimplex(r, k, 0.1);
        var truth = blocks.Select(b =>
        {
            var first = b.Truth(r, 0);
            return Enumerable.Range(0, k).Select(j => j == 0 || b.Block.Sharing == Sharing.Shared ? first : b.Truth(r, j)).ToArray();
        }).ToArray();
        var data = new double[rows][];
        for (int i = 0; i < rows; i++)
        {
            if (i > 0 && r.NextDouble() < 0.15) { data[i] = (double[])data[r.Next(i)].Clone(); continue; }
            int comp = SampleIndex(r, weights);
            data[i] = new double[column];
            for (int b = 0; b < blocks.Count; b++)
            {
                var block = blocks[b].Block;
                var eta = NaturalOf(block, truth[b][comp]);
                var x = new double[block.Columns.Count];
                block.Family.Sample(eta, r, x);
                x.CopyTo(data[i], block.Columns[0]);
            }
        }
        double[]? sampleWeights = r.Next(3) == 0 ? Enumerable.Range(0, rows).Select(i => i < k ? 1 : new[] { 0, 0.25, 1, 2, 3.5 }[r.Next(5)]).ToArray() : null;
        var builder = Mixture.WithComponents(k);
        foreach (var b in blocks) builder = builder.Observe(b.Block);
        var model = builder.Build();
        var options = FitOptions.Default with { MaxIterations = r.Next(30, 61), Tolerance = 0, Seed = seed, ChunkRows = new[] { 7, 64, 4096 }[r.Next(3)] };
        string what = $"seed {seed}: K = {k}, blocks {string.Join("; ", blocks.Select(b => b.Block.ToString()))}, {rows} rows{(sampleWeights is null ? "" : ", weighted")}";
        MixtureFit fit;
        try { fit = model.Fit(DataMatrix.FromRows(data), options, sampleWeights); }
        catch (Exception e) { throw new Exception($"Fit threw on {what}: {e.GetType().Name}: {e.Message}", e); }
        var trace = fit.ObjectiveTrace;
        Assert.True(trace.All(double.IsFinite), $"{what}: non-finite objective");
        for (int i = 1; i < trace.Count; i++)
            if (!(trace[i] - trace[i - 1] >= -1e-9 * Math.Max(1, Math.Abs(trace[i - 1]))))
            {
                string Describe(MixtureFit f) => $"weights {Fmt.V(f.Weights.ToArray())}; " + string.Join("; ", blocks.Select(b => string.Join(", ", f.Parameters(b.Block.Name))));
                var before = model.Fit(DataMatrix.FromRows(data), options with { MaxIterations = i - 1 }, sampleWeights);
                var after = model.Fit(DataMatrix.FromRows(data), options with { MaxIterations = i }, sampleWeights);
                Assert.Fail($"{what}: objective decreased at iteration {i}: {trace[i - 1]:G17} → {trace[i]:G17}. Events: {string.Join(" | ", fit.Diagnostics.Events)}\n" +
                            $"  before: {Describe(before)}\n  after: {Describe(after)}");
            }
        Assert.False(fit.Diagnostics.ObjectiveEverDecreased, $"{what}: ObjectiveDecreased recorded");
        Assert.Equal(fit.LogLikelihood + fit.LogPrior, fit.Objective, 1e-9 * Math.Max(1, Math.Abs(fit.Objective)));
        foreach (var b in blocks)
            for (int j = 0; j < k; j++)
                Assert.True(NaturalOf(b.Block, fit.Parameters(b.Block.Name)[j]).All(double.IsFinite), $"{what}: block {b.Block.Name} component {j} is not finite");
        return fit;
    }

    /// <summary>Cases the random search found (kept so that they always run).</summary>
    [Theory]
    [InlineData(419595805)]
    public void ObjectiveNeverDecreases_FoundCases(int seed) => CheckRandomCase(seed, new HashSet<Kind>());

    private static double[] NaturalOf(Block block, object parameters) => block.Family switch
    {
        GammaFamily f => f.ToNatural((GammaParameters)parameters),
        BetaFamily f => f.ToNatural((BetaParameters)parameters),
        DirichletFamily f => f.ToNatural((DirichletParameters)parameters),
        VonMisesFamily f => f.ToNatural((VonMisesParameters)parameters),
        NegativeBinomialFamily f => f.ToNatural((NegativeBinomialParameters)parameters),
        _ => throw new NotSupportedException(block.Family.Name),
    };

    /// <summary>
    /// A component that collapses onto one repeated value has no maximum-likelihood Gamma, von Mises or Beta; without a
    /// prior the projection into the mean domain bounds its shape and κ by about 1/(2√ProbabilityFloor) = 5·10⁴, and
    /// with the weak prior the estimates stay moderate.
    /// </summary>
    [Fact]
    public void RepeatedValuesStayFiniteWithAndWithoutTheWeakPrior()
    {
        var r = new Random(5);
        var rows = Enumerable.Range(0, 60).Select(i => i < 20 ? new[] { 2.0, 0.25, 1.0 } : new[] { r.Uniform(3, 9), r.Uniform(0.4, 0.9), r.Uniform(-3, 3) }).ToArray();
        var data = DataMatrix.FromRows(rows);
        foreach (bool weak in new[] { false, true })
        {
            var gamma = Blocks.Gamma("g", [0], weak ? new GammaFamily(1).WeakPrior() : null);
            var beta = Blocks.Beta("b", [1], weak ? new BetaFamily(1).WeakPrior() : null);
            var angle = Blocks.VonMises("a", [2], weak ? new VonMisesFamily(1).WeakPrior() : null);
            var fit = Mixture.WithComponents(2).Observe(gamma, beta, angle).Build().Fit(data, FitOptions.Default with { Seed = 3 });
            AssertNonDecreasing(fit.ObjectiveTrace);
            var shapes = fit.Parameters(gamma).Select(p => p.Shapes[0]).ToArray();
            var kappas = fit.Parameters(angle).Select(p => p.Concentrations[0]).ToArray();
            output.WriteLine($"weak prior {weak}: Gamma shapes {Fmt.V(shapes)}, κ {Fmt.V(kappas)}, Beta {string.Join(", ", fit.Parameters(beta))}");
            Assert.All(shapes.Concat(kappas), v => Assert.True(double.IsFinite(v) && v > 0));
            if (weak) Assert.All(shapes.Concat(kappas), v => Assert.InRange(v, 0, 1e5));
            else
            {
                Assert.Contains(shapes, v => v > 1e4 && v <= 5.1e4);
                Assert.Contains(kappas, v => v > 1e4 && v <= 5.1e4);
            }
        }
    }

    // ---------------------------------------------------------------- bad input and declarations

    private static void Mentions(Exception e, params string[] parts)
    {
        foreach (var p in parts) Assert.True(e.Message.Contains(p, StringComparison.Ordinal), $"message \"{e.Message}\" does not mention \"{p}\"");
    }

    public static TheoryData<string, Block, double[], double[], int, string> SupportCases => new()
    {
        { "gamma zero", Blocks.Gamma("sizes", [0, 1]), [1, 2], [1, 0], 1, "not a finite positive number" },
        { "gamma negative", Blocks.Gamma("sizes", [1]), [1, 2], [1, -3], 1, "not a finite positive number" },
        { "beta one", Blocks.Beta("shares", [0, 1]), [0.5, 0.25], [1, 0.5], 0, "not in (0, 1)" },
        { "beta negative", Blocks.Beta("shares", [1]), [0.5, 0.25], [0.5, -0.25], 1, "not in (0, 1)" },
        { "dirichlet zero", Blocks.Dirichlet("mix", [0, 1, 2]), [0.2, 0.3, 0.5], [0.5, 0, 0.5], 1, "not in (0, 1)" },
        { "dirichlet sum", Blocks.Dirichlet("mix", [0, 1, 2]), [0.2, 0.3, 0.5], [0.2, 0.3, 0.4], 2, "sum to 0.9" },
        { "negative binomial fractional", Blocks.NegativeBinomial("counts", [1], 2), [1, 3], [1, 2.5], 1, "non-negative integer" },
        { "negative binomial negative", Blocks.NegativeBinomial("counts", [0, 1], 2), [1, 3], [-1, 3], 0, "non-negative integer" },
    };

    /// <summary>
    /// Values outside a family's support fail the fit (and prediction) with the row, the data column, the block and the
    /// reason. (Every finite angle is a von Mises value, and non-finite ones never get past DataMatrix.)
    /// </summary>
    [Theory]
    [MemberData(nameof(SupportCases))]
    public void ValuesOutsideTheSupportNameRowColumnAndBlock(string _, Block block, double[] good, double[] badRow, int badColumn, string reason)
    {
        var rows = Enumerable.Range(0, 6).Select(i => Jitter(good, i)).Append(badRow).Append(Jitter(good, 7)).ToArray();
        var model = Mixture.WithComponents(2).Observe(block).Build();
        Mentions(Assert.Throws<ArgumentException>(() => model.Fit(DataMatrix.FromRows(rows))), "Row 6", $"column {badColumn}", $"'{block.Name}'", reason);
        var fit = model.Fit(DataMatrix.FromRows(Enumerable.Range(0, 8).Select(i => Jitter(good, i)).ToArray()));
        Mentions(Assert.Throws<ArgumentException>(() => fit.PredictProba(DataMatrix.FromRows(rows))), "Row 6", $"column {badColumn}", $"'{block.Name}'");
    }

    /// <summary>Distinct valid rows near <paramref name="good"/> (integers stay integers, proportions stay on the simplex).</summary>
    private static double[] Jitter(double[] good, int i)
    {
        var x = (double[])good.Clone();
        if (good.All(v => v == Math.Floor(v))) { x[^1] += i % 3; return x; }
        double t = 0.02 * (i % 4);
        if (Math.Abs(good.Sum() - 1) < 1e-12 && good.Length > 2) { x[0] += t; x[1] -= t; return x; }
        for (int j = 0; j < x.Length; j++) x[j] = x[j] * (1 - t) + t * 0.5;
        return x;
    }

    [Fact]
    public void DeclarationErrorsNameTheBlock()
    {
        Mentions(Assert.Throws<ArgumentException>(() => Blocks.Dirichlet("mix", [0])), "'mix'", "at least 2 columns");
        Mentions(Assert.ThrowsAny<ArgumentException>(() => Blocks.NegativeBinomial("counts", [0], 0)), "dispersion");
        // A prior made for another family (same number of statistics) or another number of columns.
        var wrongFamily = Assert.Throws<ArgumentException>(() => Blocks.Gamma("g", [0], new BetaFamily(1).WeakPrior()));
        Mentions(wrongFamily, "'g'", "Beta family over 1 columns", "new GammaFamily(1)");
        Assert.Equal("prior", wrongFamily.ParamName);
        Mentions(Assert.Throws<ArgumentException>(() => Blocks.VonMises("a", [0, 1], new VonMisesFamily(1).WeakPrior())), "'a'", "over 1 columns", "over 2");
        Mentions(Assert.Throws<ArgumentException>(() => Blocks.Dirichlet("p", [0, 1, 2], new DirichletFamily(2).WeakPrior())), "'p'");
        // A hand-made ConjugatePrior of the wrong length is caught by the statistic count.
        Mentions(Assert.Throws<ArgumentException>(() => Blocks.Beta("b", [0], new ConjugatePrior([0.0], 1, _ => 0, "short"))), "'b'", "1 pseudo-observations", "2 statistics");
        var ok = Blocks.Beta("b", [0, 1], new BetaFamily(2).WeakPrior(), Sharing.Shared);
        Assert.Equal(Sharing.Shared, ok.Sharing);
        Assert.Contains("natural conjugate: 0.01 pseudo-observations like BetaParameters", ok.PriorDescription);
        Assert.Equal(3, Blocks.NegativeBinomial("n", [0], 3, new BetaPrior(2, 2)).Family switch { NegativeBinomialFamily f => f.Dispersion, _ => 0 });
    }

    /// <summary>The factories build the documented family over the listed columns, and BIC counts 2D parameters per component (D for the negative binomial, D for the Dirichlet).</summary>
    [Fact]
    public void FactoriesBuildTheirFamilies()
    {
        Assert.IsType<GammaFamily>(Blocks.Gamma("g", [3, 5]).Family);
        Assert.Equal(4, Blocks.Gamma("g", [3, 5]).FreeParameterCount(1));
        Assert.Equal(4, Blocks.Beta("b", [0, 1]).FreeParameterCount(1));
        Assert.Equal(6, Blocks.Dirichlet("p", [0, 1, 2]).FreeParameterCount(2));
        Assert.Equal(4, Blocks.VonMises("a", [0, 1]).FreeParameterCount(1));
        Assert.Equal(2, Blocks.NegativeBinomial("n", [0, 1], 1.5).FreeParameterCount(1));
        Assert.Equal(2, Blocks.NegativeBinomial("n", [0, 1], 1.5, sharing: Sharing.Shared).FreeParameterCount(3));
        Assert.Equal("a: von Mises on columns [0, 1]", Blocks.VonMises("a", [0, 1]).ToString());
    }
}
