using EmDsl.Families;
using EmDsl.Families.Priors;
using FsCheck.Fluent;
using MathNet.Numerics.Distributions;
using MathNetSf = MathNet.Numerics.SpecialFunctions;

namespace EmDsl.Tests.Families;

/// <summary>The Gamma family from its textbook definition: T = (x, log x) per column, η = (−β, α − 1).</summary>
internal sealed class GammaOracle(int dimension) : FamilyOracle
{
    public int Dimension { get; } = dimension;

    public override ExponentialFamily Family { get; } = new GammaFamily(dimension);

    public override string Label => $"Gamma(D = {Dimension})";

    public static (double[] Shapes, double[] Rates) Parameters(Draw d) => ((double[], double[]))d.Usual;

    public static Draw From(int dimension, double[] shapes, double[] rates)
    {
        var eta = new double[2 * dimension];
        var mean = new double[2 * dimension];
        for (int d = 0; d < dimension; d++)
        {
            eta[2 * d] = -rates[d];
            eta[2 * d + 1] = shapes[d] - 1;
            mean[2 * d] = shapes[d] / rates[d];
            mean[2 * d + 1] = MathNetSf.DiGamma(shapes[d]) - Math.Log(rates[d]);
        }
        return MakeDraw(eta, mean, (shapes, rates), $"Gamma α = {Fmt.V(shapes)}, β = {Fmt.V(rates)}");
    }

    public override Draw DrawParameters(Random r) => From(Dimension, r.Vector(Dimension, 0.2, 30), r.Vector(Dimension, 0.1, 10));

    public override double[] DrawObservation(Random r) => Enumerable.Range(0, Dimension).Select(_ => Math.Exp(r.Uniform(-7, 4))).ToArray();

    public override double[] Statistics(double[] x) => x.SelectMany(v => new[] { v, Math.Log(v) }).ToArray();

    public override double LogBaseMeasure(double[] x) => 0;

    public override double LogDensity(double[] x, Draw draw)
    {
        var (shapes, rates) = Parameters(draw);
        return Enumerable.Range(0, Dimension).Sum(d => Gamma.PDFLn(shapes[d], rates[d], x[d]));
    }

    public override bool? IsValidNatural(double[] eta)
    {
        if (!eta.All(double.IsFinite)) return false;
        for (int d = 0; d < Dimension; d++)
            if (!(eta[2 * d] < 0) || !(eta[2 * d + 1] > -1)) return false;
        return true;
    }

    public override bool? IsValidMean(double[] mean)
    {
        if (!mean.All(double.IsFinite)) return false;
        bool? valid = true;
        for (int d = 0; d < Dimension; d++)
        {
            double m = mean[2 * d], l = mean[2 * d + 1];
            if (!(m > 0)) return false;
            double gap = Math.Log(m) - l;
            if (Math.Abs(gap) < 1e-12) valid = null;
            else if (gap < 0) return false;
        }
        return valid;
    }

    public override double[] NaturalCandidate(Random r) =>
        r.Vector(2 * Dimension, -6, 4).Select(v => r.Next(8) == 0 ? BernoulliOracle.Pick(r, double.NaN, double.PositiveInfinity, double.NegativeInfinity, 0.0, -1.0) : v).ToArray();

    public override double[] MeanCandidate(Random r)
    {
        var mean = new double[2 * Dimension];
        for (int d = 0; d < Dimension; d++)
        {
            mean[2 * d] = r.Next(8) == 0 ? BernoulliOracle.Pick(r, 0.0, -1.0, double.NaN, double.PositiveInfinity) : r.Uniform(0.01, 20);
            mean[2 * d + 1] = r.Next(8) == 0 ? BernoulliOracle.Pick(r, double.NaN, double.NegativeInfinity) : Math.Log(Math.Abs(mean[2 * d]) + 1e-300) + r.Uniform(-3, 1);
        }
        return mean;
    }

    /// <summary>Values in [0.01, 10].</summary>
    public override double[] DrawDataObservation(Random r) => r.Vector(Dimension, 0.01, 10);

    /// <summary>
    /// One row has no maximum-likelihood Gamma (the likelihood grows without bound along α/β = x): two distinct rows are
    /// needed for an M-step with a maximum to check. (Degenerate data are the engine tests' business.)
    /// </summary>
    public override int MinimumSampleSize => 2;
}

public class GammaFamilyTests : ConjugateFamilyLawTests<GammaFamilyTests, int, GammaParameters>, IFamilyConfigurations<int>
{
    private const double Eps = 2.220446049250313e-16;

    /// <summary>The dimensions D.</summary>
    static IEnumerable<int> IFamilyConfigurations<int>.All => [1, 2, 3];

    internal override GammaOracle Oracle(int d) => new(d);

    protected override int SampleSeed(int d) => 6000 + d;

    /// <summary>A reference Gamma per column and a pseudo-count in [0.01, 5].</summary>
    protected override ConjugatePrior DrawConjugatePrior(int d, Random r) =>
        new GammaFamily(d).Conjugate(new GammaParameters(r.Vector(d, 0.3, 10), r.Vector(d, 0.1, 5)), r.Uniform(0.01, 5));

    internal override GammaParameters UsualParameters(Draw draw)
    {
        var (shapes, rates) = GammaOracle.Parameters(draw);
        return new(shapes, rates);
    }

    protected override IEnumerable<(string Name, double[] Values)> Entries(GammaParameters parameters) =>
        [("shapes", parameters.Shapes.ToArray()), ("rates", parameters.Rates.ToArray())];

    protected override (double Natural, double Usual) RoundTripTolerance => (1e-15, 1e-14);

    protected override int ParameterSize(int d) => d;

    protected override GammaParameters UsualParametersOfSize(int size) => new(Enumerable.Repeat(2.0, size), Enumerable.Repeat(1.0, size));

    /// <summary>The smallest positive double and values far beyond DrawObservation's range.</summary>
    protected override IEnumerable<double[]> SupportEdgeCases(int d) =>
        [Enumerable.Repeat(double.Epsilon, d).ToArray(), Enumerable.Repeat(1e300, d).ToArray()];

    [Theory, MemberData(nameof(Configurations))]
    public void CheckSupportReportsNonPositiveValues(int d) =>
        FamilyLaws.CheckSupportReportsTheValueAtItsOffset(Oracle(d), 0.0, -1.0, -1e-300, -5.5, double.NaN, double.PositiveInfinity, double.NegativeInfinity);

    [Fact]
    public void GammaParametersRejectBadEntriesNamingThem()
    {
        foreach (var bad in new[] { 0.0, -1.0, double.NaN, double.PositiveInfinity })
        {
            var shape = Assert.ThrowsAny<ArgumentException>(() => new GammaParameters([1.0, 2, bad], [1.0, 1, 1]));
            Assert.Equal("shapes", shape.ParamName);
            Assert.Matches(EntryPattern.For(2), shape.Message);
            var rate = Assert.ThrowsAny<ArgumentException>(() => new GammaParameters([1.0, 2, 3], [bad, 1, 1]));
            Assert.Equal("rates", rate.ParamName);
            Assert.Matches(EntryPattern.For(0), rate.Message);
        }
        var lengths = Assert.ThrowsAny<ArgumentException>(() => new GammaParameters([1.0, 2], [1.0]));
        Assert.Contains("rates has 1 values; expected 2", lengths.Message);
    }

    [Fact]
    public void ParametersCompareByValueAndPrintTheirNumbers()
    {
        var a = new GammaParameters([2.5, 1], [0.5, 3]);
        Assert.Equal(a, new GammaParameters(new List<double> { 2.5, 1 }, new List<double> { 0.5, 3 }));
        Assert.Equal(a.GetHashCode(), new GammaParameters([2.5, 1], [0.5, 3]).GetHashCode());
        Assert.NotEqual(a, new GammaParameters([2.5, 1], [0.5, 4]));
        Assert.Equal("GammaParameters { Shapes = [2.5, 1], Rates = [0.5, 3] }", a.ToString());
        Assert.Equal([5, 1.0 / 3], a.Means);
    }

    /// <summary>
    /// FromMeanAndMeanLog at shapes from 1e-6 to 1e12 (rates 1e-3 to 1e3). The inputs are rounded means and mean logs, so
    /// what can be asked is (1) the residual: log α̂ − ψ(α̂) equals s = log m − l of those inputs to 1e-13 relative, and
    /// (2) α̂ agrees with α within the conditioning of the problem: s is computed from l and log m, each carrying
    /// ~ε|·| of rounding, and |d log α / d log s| ≤ 1, so α is known to (|log m| + |l|)·4ε/s relative (for α = 1e12,
    /// s ≈ 5e-13 and that is ~1e-1: the data cannot tell such shapes apart; the residual still must be tiny).
    /// </summary>
    [Fact]
    public void FromMeanAndMeanLogIsAccurateFromTinyToHugeShapes()
    {
        foreach (var shape in new[] { 1e-6, 1e-4, 1e-2, 0.3, 1, 4.5, 80, 1e3, 1e5, 1e8, 1e12 })
            foreach (var rate in new[] { 1e-3, 1, 1e3 })
            {
                double m = shape / rate, l = MathNetSf.DiGamma(shape) - Math.Log(rate);
                var (alpha, beta) = GammaFamily.FromMeanAndMeanLog(m, l);
                double s = Math.Log(m) - l;
                string what = $"α = {shape}, β = {rate} (m = {m}, l = {l}, s = {s})";
                Approx.Equal(s, EmDsl.Numerics.SpecialFunctions.LogMinusDigamma(alpha), 1e-13, 0, $"residual for {what}");
                double conditioning = 4 * Eps * (Math.Abs(Math.Log(m)) + Math.Abs(l) + 1) / s;
                Approx.Equal(shape, alpha, 1e-12 + conditioning, 0, $"shape for {what}");
                Approx.Equal(alpha / m, beta, 1e-15, 0, $"rate = α/m for {what}");
            }
    }

    /// <summary>Near the boundary s = log m − l → 0 (almost constant data) the shape is 1/(2s) + 1/6 + O(s); far from it (s → ∞) g(α) ≈ 1/α + log α + γ.</summary>
    [Fact]
    public void FromMeanAndMeanLogNearTheBoundaryAndFarFromIt()
    {
        foreach (var s in new[] { 1e-14, 1e-12, 1e-10, 1e-6 })
        {
            var (alpha, _) = GammaFamily.FromMeanAndMeanLog(1, -s);
            // g(α) = 1/(2α) + 1/(12α²) − 1/(120α⁴) + … = s  ⇒  α = 1/(2s) + 1/6 − s/18 + O(s²).
            Approx.Equal(1 / (2 * s) + 1.0 / 6, alpha, 1e-13, s, $"shape for s = {s}");
        }
        foreach (var s in new[] { 1e2, 1e5, 1e10 })
        {
            var (alpha, _) = GammaFamily.FromMeanAndMeanLog(1, -s);
            // g(α) = 1/α + log α + γ + O(α) for small α.
            Approx.Equal(s, 1 / alpha + Math.Log(alpha) + 0.5772156649015329, 1e-13, 2 * alpha, $"small shape for s = {s}");
        }
    }

    [Fact]
    public void FromMeanAndMeanLogRejectsMeansOutsideTheDomain()
    {
        foreach (var (m, l) in new[] { (1.0, 0.0), (1.0, 0.5), (0.0, -1.0), (-1.0, -1.0), (double.NaN, -1.0), (1.0, double.NegativeInfinity), (double.PositiveInfinity, 1.0) })
        {
            var e = Assert.ThrowsAny<ArgumentException>(() => GammaFamily.FromMeanAndMeanLog(m, l));
            Assert.Contains("mean", e.Message);
        }
        var f = new GammaFamily(2);
        var ex = Assert.ThrowsAny<ArgumentException>(() => f.InverseMeanMap([1, -0.5, 2, Math.Log(2)], new double[4]));
        Assert.Equal("mean", ex.ParamName);
    }

    /// <summary>
    /// ProjectMeanIntoDomain makes any mean with m ≥ 0 and finite l interior: the mean is raised to the floor, the mean
    /// log lowered to log m − √floor if needed (so the shape stays below ~1/(2√floor)), and interior means are untouched.
    /// </summary>
    [Theory, MemberData(nameof(Configurations))]
    public void ProjectMeanIntoDomainKeepsMeansInterior(int d)
    {
        var f = new GammaFamily(d);
        PropertyChecks.ForAll(Gens.Seed.ToArbitrary(), seed =>
        {
            var r = new Random(seed);
            double floor = Math.Pow(10, -r.Uniform(2, 14)), margin = Math.Sqrt(floor);
            var mean = new double[2 * d];
            for (int j = 0; j < d; j++)
            {
                mean[2 * j] = BernoulliOracle.Pick(r, 0, floor / 2, r.Uniform(0.01, 50));
                double logM = Math.Log(Math.Max(mean[2 * j], floor));
                mean[2 * j + 1] = BernoulliOracle.Pick(r, logM, logM + r.Uniform(0, 1), logM - r.Uniform(0, 3), logM - margin / 3);
            }
            var projected = (double[])mean.Clone();
            f.ProjectMeanIntoDomain(projected, floor);
            Assert.True(f.IsMeanParameter(projected), $"{Fmt.V(projected)} is not interior (floor {floor}, from {Fmt.V(mean)})");
            for (int j = 0; j < d; j++)
            {
                Assert.Equal(Math.Max(mean[2 * j], floor), projected[2 * j]);
                Assert.Equal(Math.Min(mean[2 * j + 1], Math.Log(projected[2 * j]) - margin), projected[2 * j + 1]);
            }
            var eta = new double[2 * d];
            f.InverseMeanMap(projected, eta);
            Assert.True(f.IsNaturalParameter(eta));
            // α < 1/(2s) + 1/6 with s = log m − l ≥ √floor, up to the rounding of l = log m − √floor, which moves s by
            // about ulp(log m), i.e. by 2ε(|log m| + 1)/√floor relative.
            for (int j = 0; j < d; j++)
            {
                double rounding = 2 * Eps * (Math.Abs(Math.Log(projected[2 * j])) + 1) / margin;
                Assert.True(eta[2 * j + 1] + 1 <= (1 / (2 * margin) + 1.0 / 6) * (1 + rounding), $"shape {eta[2 * j + 1] + 1} above 1/(2√{floor}) + 1/6");
            }
        }, FamilyLaws.Cases);
    }

    /// <summary>
    /// Conjugate(reference, ν) has φ = ν E_ref[T]: with no data its MAP is the reference; its log density is the kernel
    /// η·φ − νA(η), whose differences match the usual-parameter form β^{να} e^{−βφ₁} e^{(α−1)φ₂} / Γ(α)^ν.
    /// </summary>
    [Fact]
    public void ConjugatePriorIsPseudoObservationsLikeTheReference() =>
        PropertyChecks.ForAll(Gens.Seed.ToArbitrary(), seed =>
        {
            var r = new Random(seed);
            int d = r.Next(1, 4);
            var f = new GammaFamily(d);
            var reference = new GammaParameters(r.Vector(d, 0.3, 10), r.Vector(d, 0.1, 5));
            double nu = r.Uniform(0.01, 5);
            var prior = f.Conjugate(reference, nu);
            Assert.Equal(nu, prior.PseudoCount);
            var mean = new double[2 * d];
            prior.PosteriorMeanParameter(new double[2 * d], 0, mean);
            var eta = new double[2 * d];
            f.InverseMeanMap(mean, eta);
            Approx.Vector(f.ToNatural(reference), eta, 1e-11, $"MAP without data under {prior}");
            double Kernel(GammaParameters p) => Enumerable.Range(0, d).Sum(j =>
            {
                double a = p.Shapes[j], b = p.Rates[j];
                return nu * a * Math.Log(b) - b * prior.PseudoObservations[2 * j] + (a - 1) * prior.PseudoObservations[2 * j + 1] - nu * MathNetSf.GammaLn(a);
            });
            var p1 = new GammaParameters(r.Vector(d, 0.3, 10), r.Vector(d, 0.1, 5));
            var p2 = new GammaParameters(r.Vector(d, 0.3, 10), r.Vector(d, 0.1, 5));
            Approx.Equal(Kernel(p1) - Kernel(p2), prior.LogDensity(f.ToNatural(p1)) - prior.LogDensity(f.ToNatural(p2)), 1e-10, 1e-10, "log kernel differences");
        }, FamilyLaws.Cases);

    /// <summary>
    /// The weak default prior: a component whose rows all hold the same value x (no maximum-likelihood Gamma exists)
    /// gets a finite MAP shape. The MAP mean statistics are ((1 − w)x + w·1, (1 − w) log x + w ψ(1)) with w = ν/(R + ν).
    /// </summary>
    [Fact]
    public void WeakPriorKeepsASingleValueComponentFinite()
    {
        var f = new GammaFamily(1);
        var prior = f.WeakPrior();
        Assert.Equal(0.01, prior.PseudoCount);
        Approx.Vector([0.01, 0.01 * -0.5772156649015329], prior.PseudoObservations.ToArray(), 1e-15, "φ of the weak prior");
        foreach (var x in new[] { 1.0, 3.0, 0.01 })
        {
            var mean = new double[2];
            prior.PosteriorMeanParameter([5 * x, 5 * Math.Log(x)], 5, mean);
            Assert.True(f.IsMeanParameter(mean));
            var eta = new double[2];
            f.InverseMeanMap(mean, eta);
            var p = f.FromNatural(eta);
            Assert.InRange(p.Shapes[0], 1, 1e6);
            Approx.Equal(mean[0], p.Means[0], 1e-13, 0, "MAP mean");
        }
        Assert.ThrowsAny<ArgumentException>(() => f.WeakPrior(typicalValue: 0));
        Assert.Equal("pseudoCount", Assert.ThrowsAny<ArgumentException>(() => f.WeakPrior(pseudoCount: 0)).ParamName);
        Assert.Equal("reference", Assert.ThrowsAny<ArgumentException>(() => f.Conjugate(new GammaParameters([1.0, 1], [1.0, 1]), 1)).ParamName);
    }

    /// <summary>Draws of tiny shapes stay in the support (log-space sampling), and their mean log matches ψ(α) − log β.</summary>
    [Fact]
    public void SamplingTinyShapesStaysInTheSupport()
    {
        var f = new GammaFamily(1);
        var eta = f.ToNatural(new GammaParameters([0.05], [2]));
        var random = new Random(61);
        var x = new double[1];
        double sum = 0, sumSq = 0;
        const int n = 20_000;
        for (int i = 0; i < n; i++)
        {
            f.Sample(eta, random, x);
            Assert.Null(f.CheckSupport(x));
            double l = Math.Log(x[0]);
            sum += l;
            sumSq += l * l;
        }
        double mean = sum / n, se = Math.Sqrt((sumSq / n - mean * mean) / n);
        double expected = MathNetSf.DiGamma(0.05) - Math.Log(2);
        Assert.True(Math.Abs(mean - expected) <= 4.5 * se, $"mean log {mean} vs {expected} (se {se})");
    }
}
