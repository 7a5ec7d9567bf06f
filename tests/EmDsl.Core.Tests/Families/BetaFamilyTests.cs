using EmDsl.Families;
using EmDsl.Families.Priors;
using FsCheck.Fluent;
using MathNet.Numerics.Distributions;
using MathNetSf = MathNet.Numerics.SpecialFunctions;

namespace EmDsl.Tests.Families;

/// <summary>The Beta family from its textbook definition: T = (log x, log(1 − x)) per column, η = (α − 1, β − 1).</summary>
internal sealed class BetaOracle(int dimension) : FamilyOracle
{
    public int Dimension { get; } = dimension;

    public override ExponentialFamily Family { get; } = new BetaFamily(dimension);

    public override string Label => $"Beta(D = {Dimension})";

    public static (double[] Alphas, double[] Betas) Parameters(Draw d) => ((double[], double[]))d.Usual;

    public static Draw From(double[] alphas, double[] betas)
    {
        int n = alphas.Length;
        var eta = new double[2 * n];
        var mean = new double[2 * n];
        for (int d = 0; d < n; d++)
        {
            double psiTotal = MathNetSf.DiGamma(alphas[d] + betas[d]);
            eta[2 * d] = alphas[d] - 1;
            eta[2 * d + 1] = betas[d] - 1;
            mean[2 * d] = MathNetSf.DiGamma(alphas[d]) - psiTotal;
            mean[2 * d + 1] = MathNetSf.DiGamma(betas[d]) - psiTotal;
        }
        return MakeDraw(eta, mean, (alphas, betas), $"Beta α = {Fmt.V(alphas)}, β = {Fmt.V(betas)}");
    }

    public override Draw DrawParameters(Random r) => From(r.Vector(Dimension, 0.2, 20), r.Vector(Dimension, 0.2, 20));

    public override double[] DrawObservation(Random r) => r.Vector(Dimension, 1e-4, 1 - 1e-4);

    public override double[] Statistics(double[] x) => x.SelectMany(v => new[] { Math.Log(v), Math.Log(1 - v) }).ToArray();

    public override double LogBaseMeasure(double[] x) => 0;

    public override double LogDensity(double[] x, Draw draw)
    {
        var (a, b) = Parameters(draw);
        return Enumerable.Range(0, Dimension).Sum(d => Beta.PDFLn(a[d], b[d], x[d]));
    }

    public override bool? IsValidNatural(double[] eta) => eta.All(v => double.IsFinite(v) && v > -1);

    public override bool? IsValidMean(double[] mean)
    {
        if (!mean.All(double.IsFinite)) return false;
        bool? valid = true;
        for (int d = 0; d < Dimension; d++)
        {
            double e = Math.Exp(mean[2 * d]) + Math.Exp(mean[2 * d + 1]);
            if (Math.Abs(e - 1) < 1e-12) valid = null;
            else if (e > 1) return false;
        }
        return valid;
    }

    public override double[] NaturalCandidate(Random r) =>
        r.Vector(2 * Dimension, -2, 10).Select(v => r.Next(8) == 0 ? BernoulliOracle.Pick(r, double.NaN, double.PositiveInfinity, -1.0) : v).ToArray();

    public override double[] MeanCandidate(Random r) =>
        r.Vector(2 * Dimension, -3, 0.1).Select(v => r.Next(8) == 0 ? BernoulliOracle.Pick(r, double.NaN, double.NegativeInfinity) : v).ToArray();

    /// <summary>One row has no maximum-likelihood Beta: two distinct rows are needed for an M-step with a maximum.</summary>
    public override int MinimumSampleSize => 2;
}

public class BetaFamilyTests : ConjugateFamilyLawTests<BetaFamilyTests, int, BetaParameters>, IFamilyConfigurations<int>
{
    private const double Eps = 2.220446049250313e-16;

    /// <summary>The dimensions D.</summary>
    static IEnumerable<int> IFamilyConfigurations<int>.All => [1, 2, 3];

    internal override BetaOracle Oracle(int d) => new(d);

    protected override int SampleSeed(int d) => 8000 + d;

    protected override ConjugatePrior DrawConjugatePrior(int d, Random r) =>
        new BetaFamily(d).Conjugate(new BetaParameters(r.Vector(d, 0.3, 10), r.Vector(d, 0.3, 10)), r.Uniform(0.01, 5));

    internal override BetaParameters UsualParameters(Draw draw)
    {
        var (a, b) = BetaOracle.Parameters(draw);
        return new(a, b);
    }

    protected override IEnumerable<(string Name, double[] Values)> Entries(BetaParameters parameters) =>
        [("alphas", parameters.Alphas.ToArray()), ("betas", parameters.Betas.ToArray())];

    protected override (double Natural, double Usual) RoundTripTolerance => (1e-15, 1e-14);

    protected override int ParameterSize(int d) => d;

    protected override BetaParameters UsualParametersOfSize(int size) => new(Enumerable.Repeat(2.0, size), Enumerable.Repeat(3.0, size));

    /// <summary>The extremes of (0, 1) as doubles.</summary>
    protected override IEnumerable<double[]> SupportEdgeCases(int d) =>
        [Enumerable.Repeat(double.Epsilon, d).ToArray(), Enumerable.Repeat(Math.BitDecrement(1.0), d).ToArray()];

    [Theory, MemberData(nameof(Configurations))]
    public void CheckSupportReportsValuesOutsideTheOpenInterval(int d) =>
        FamilyLaws.CheckSupportReportsTheValueAtItsOffset(Oracle(d), 0.0, 1.0, -0.5, 1.5, -1e-300, double.NaN, double.PositiveInfinity);

    [Fact]
    public void BetaParametersRejectBadEntriesNamingThem()
    {
        foreach (var bad in new[] { 0.0, -1.0, double.NaN, double.PositiveInfinity })
        {
            var a = Assert.ThrowsAny<ArgumentException>(() => new BetaParameters([1.0, bad], [1.0, 1]));
            Assert.Equal("alphas", a.ParamName);
            Assert.Matches(EntryPattern.For(1), a.Message);
            var b = Assert.ThrowsAny<ArgumentException>(() => new BetaParameters([1.0, 1], [bad, 1.0]));
            Assert.Equal("betas", b.ParamName);
            Assert.Matches(EntryPattern.For(0), b.Message);
        }
        Assert.Contains("betas has 3 values; expected 2", Assert.ThrowsAny<ArgumentException>(() => new BetaParameters([1.0, 1], [1.0, 1, 1])).Message);
        var p = new BetaParameters([2, 0.5], [6, 0.5]);
        Assert.Equal("BetaParameters { Alphas = [2, 0.5], Betas = [6, 0.5] }", p.ToString());
        Assert.Equal(p, new BetaParameters([2, 0.5], [6, 0.5]));
        Assert.NotEqual(p, new BetaParameters([2, 0.5], [6, 0.25]));
        Assert.Equal([0.25, 0.5], p.Means);
    }

    /// <summary>
    /// FromMeanLogs at (α, β) from 1e-3 to 1e6 in every combination: the residual of both likelihood equations is at
    /// rounding level, and (α̂, β̂) agree with (α, β) within the propagation of the rounding of the inputs (as for the
    /// Dirichlet: |δη| ≤ 2|J⁻¹|δm with J the 2×2 Fisher information, plus 1e-10 relative).
    /// </summary>
    [Fact]
    public void FromMeanLogsIsAccurateAtExtremes()
    {
        double[] values = [1e-3, 0.05, 0.5, 1, 7, 300, 1e4, 1e6];
        foreach (var a in values)
            foreach (var b in values)
            {
                var m = BetaOracle.From([a], [b]).Mean;
                var (alpha, beta) = BetaFamily.FromMeanLogs(m[0], m[1]);
                string what = $"α = {a}, β = {b}, mean logs ({m[0]}, {m[1]})";
                double psiTotal = MathNetSf.DiGamma(alpha + beta), scale = Math.Max(1, Math.Max(Math.Max(Math.Abs(m[0]), Math.Abs(m[1])), Math.Abs(psiTotal)));
                Approx.Equal(m[0], MathNetSf.DiGamma(alpha) - psiTotal, 0, 1e-13 * scale, $"first equation for {what}");
                Approx.Equal(m[1], MathNetSf.DiGamma(beta) - psiTotal, 0, 1e-13 * scale, $"second equation for {what}");
                double t = EmDsl.Numerics.SpecialFunctions.Trigamma(a + b);
                double j00 = EmDsl.Numerics.SpecialFunctions.Trigamma(a) - t, j11 = EmDsl.Numerics.SpecialFunctions.Trigamma(b) - t, j01 = -t;
                double det = j00 * j11 - j01 * j01;
                double dm0 = 4 * Eps * (Math.Abs(MathNetSf.DiGamma(a)) + Math.Abs(MathNetSf.DiGamma(a + b)) + 1) + 1e-14 * scale;
                double dm1 = 4 * Eps * (Math.Abs(MathNetSf.DiGamma(b)) + Math.Abs(MathNetSf.DiGamma(a + b)) + 1) + 1e-14 * scale;
                Approx.Equal(a, alpha, 1e-10, 2 * (Math.Abs(j11) * dm0 + Math.Abs(j01) * dm1) / Math.Abs(det), $"α for {what}");
                Approx.Equal(b, beta, 1e-10, 2 * (Math.Abs(j01) * dm0 + Math.Abs(j00) * dm1) / Math.Abs(det), $"β for {what}");
            }
    }

    [Fact]
    public void FromMeanLogsRejectsMeansOutsideTheDomain()
    {
        foreach (var (a, b) in new[] { (Math.Log(0.5), Math.Log(0.5)), (-0.1, -0.1), (0.5, -3.0), (double.NaN, -1.0), (-1.0, double.NegativeInfinity) })
            Assert.ThrowsAny<ArgumentException>(() => BetaFamily.FromMeanLogs(a, b));
        Assert.Equal("mean", Assert.ThrowsAny<ArgumentException>(() => new BetaFamily(2).InverseMeanMap([-1.0, -1, -0.1, -0.1], new double[4])).ParamName);
    }

    /// <summary>
    /// Per column, ProjectMeanIntoDomain brings e^a + e^b to at most 1 − √floor (strictly below 1) by one common shift of
    /// a and b, leaves interior columns untouched, and the result inverts to finite parameters, α + β below about 1/√floor.
    /// </summary>
    [Theory, MemberData(nameof(Configurations))]
    public void ProjectMeanIntoDomainKeepsMeansInterior(int d)
    {
        var f = new BetaFamily(d);
        PropertyChecks.ForAll(Gens.Seed.ToArbitrary(), seed =>
        {
            var r = new Random(seed);
            double floor = Math.Pow(10, -r.Uniform(2, 14)), margin = Math.Sqrt(floor);
            var mean = new double[2 * d];
            for (int j = 0; j < d; j++)
            {
                // One observation x gives (log x, log(1 − x)) on the boundary; stretch it to either side.
                double x = r.Uniform(1e-6, 1 - 1e-6), stretch = BernoulliOracle.Pick(r, 1, 1 + 1e-12, 1.2, r.Uniform(0.3, 0.99));
                mean[2 * j] = Math.Log(x * stretch);
                mean[2 * j + 1] = Math.Log((1 - x) * stretch);
            }
            var projected = (double[])mean.Clone();
            f.ProjectMeanIntoDomain(projected, floor);
            Assert.True(f.IsMeanParameter(projected), $"{Fmt.V(projected)} from {Fmt.V(mean)} (floor {floor})");
            for (int j = 0; j < d; j++)
            {
                double before = Math.Exp(mean[2 * j]) + Math.Exp(mean[2 * j + 1]);
                if (before <= 1 - margin)
                {
                    Assert.Equal(mean[2 * j], projected[2 * j]);
                    Assert.Equal(mean[2 * j + 1], projected[2 * j + 1]);
                }
                else Approx.Equal(projected[2 * j] - mean[2 * j], projected[2 * j + 1] - mean[2 * j + 1], 0, 1e-14, "common shift");
            }
            var eta = new double[2 * d];
            f.InverseMeanMap(projected, eta);
            Assert.True(f.IsNaturalParameter(eta), $"η = {Fmt.V(eta)}");
            for (int j = 0; j < d; j++) Assert.True(eta[2 * j] + eta[2 * j + 1] + 2 <= 1.01 / margin, $"α + β above 1/√floor in column {j}");
        }, FamilyLaws.Cases);
    }

    [Fact]
    public void ConjugatePriorWithoutDataGivesTheReferenceAndWeakPriorIsUniform()
    {
        var f = new BetaFamily(2);
        var reference = new BetaParameters([0.6, 9], [2, 40]);
        var prior = f.Conjugate(reference, 0.3);
        var mean = new double[4];
        prior.PosteriorMeanParameter(new double[4], 0, mean);
        var eta = new double[4];
        f.InverseMeanMap(mean, eta);
        Approx.Vector(f.ToNatural(reference), eta, 1e-11, "MAP without data");
        var weak = f.WeakPrior();
        Assert.Equal(0.01, weak.PseudoCount);
        Approx.Vector([-0.01, -0.01, -0.01, -0.01], weak.PseudoObservations.ToArray(), 1e-14, "φ of the weak prior: E[log U] = −1");
        Assert.Equal("reference", Assert.ThrowsAny<ArgumentException>(() => f.Conjugate(new BetaParameters([1.0], [1.0]), 1)).ParamName);
    }
}
