using EmDsl.Families;
using EmDsl.Families.Priors;
using FsCheck.Fluent;
using MathNet.Numerics.Distributions;
using MathNetSf = MathNet.Numerics.SpecialFunctions;

namespace EmDsl.Tests.Families;

/// <summary>A negative binomial family's number of columns D and dispersion r.</summary>
public sealed record NegativeBinomialConfiguration(int Dimension, double Dispersion) : SerializableConfiguration
{
    /// <summary>For xunit's deserializer.</summary>
    public NegativeBinomialConfiguration() : this(0, 0) { }
}

/// <summary>
/// The negative binomial with dispersion r from its textbook definition (MathNet's mass function, with success
/// probability 1 − p): T = x, η = log p, E[x] = r p/(1 − p).
/// </summary>
internal sealed class NegativeBinomialOracle(int dimension, double dispersion) : FamilyOracle
{
    public int Dimension { get; } = dimension;

    public double Dispersion { get; } = dispersion;

    public override ExponentialFamily Family { get; } = new NegativeBinomialFamily(dimension, dispersion);

    public override string Label => $"NegativeBinomial(D = {Dimension}, r = {Dispersion})";

    public static double[] Means(Draw d) => (double[])d.Usual;

    public override Draw DrawParameters(Random r)
    {
        var means = r.Vector(Dimension, 0.05, 40);
        var eta = means.Select(m => Math.Log(m / (m + Dispersion))).ToArray();
        return MakeDraw(eta, (double[])means.Clone(), means, $"{Label} m = {Fmt.V(means)}");
    }

    public override double[] DrawObservation(Random r) => Enumerable.Range(0, Dimension).Select(_ => (double)r.Next(0, 81)).ToArray();

    public override double[] Statistics(double[] x) => (double[])x.Clone();

    public override double LogBaseMeasure(double[] x) =>
        x.Sum(v => MathNetSf.GammaLn(v + Dispersion) - MathNetSf.GammaLn(Dispersion) - MathNetSf.GammaLn(v + 1));

    public override double LogDensity(double[] x, Draw draw)
    {
        var means = Means(draw);
        return Enumerable.Range(0, Dimension).Sum(d => NegativeBinomial.PMFLn(Dispersion, Dispersion / (means[d] + Dispersion), (int)x[d]));
    }

    /// <summary>η &lt; 0; within 1e-300 of 0 the mean overflows, which the family may reject.</summary>
    public override bool? IsValidNatural(double[] eta)
    {
        if (!eta.All(v => double.IsFinite(v) && v < 0)) return false;
        return eta.Any(v => v > -1e-290) ? null : true;
    }

    public override bool? IsValidMean(double[] mean) => mean.All(m => m > 0 && double.IsFinite(m));

    public override double[] NaturalCandidate(Random r) =>
        r.Vector(Dimension, -10, 2).Select(v => r.Next(8) == 0 ? BernoulliOracle.Pick(r, double.NaN, double.NegativeInfinity, 0.0, -0.0, 1e-300) : v).ToArray();

    public override double[] MeanCandidate(Random r) =>
        r.Vector(Dimension, -2, 20).Select(v => r.Next(6) == 0 ? BernoulliOracle.Pick(r, 0.0, double.NaN, double.PositiveInfinity, -1e-300) : v).ToArray();
}

public class NegativeBinomialFamilyTests
    : ConjugateFamilyLawTests<NegativeBinomialFamilyTests, NegativeBinomialConfiguration, NegativeBinomialParameters>, IFamilyConfigurations<NegativeBinomialConfiguration>
{
    /// <summary>D = 1…3 with dispersions from very overdispersed (0.3) to nearly Poisson (200).</summary>
    static IEnumerable<NegativeBinomialConfiguration> IFamilyConfigurations<NegativeBinomialConfiguration>.All =>
        [new(1, 0.3), new(1, 5), new(2, 1), new(3, 200)];

    internal override NegativeBinomialOracle Oracle(NegativeBinomialConfiguration c) => new(c.Dimension, c.Dispersion);

    protected override int SampleSeed(NegativeBinomialConfiguration c) => 10_000 + 10 * c.Dimension + (int)c.Dispersion;

    protected override ConjugatePrior DrawConjugatePrior(NegativeBinomialConfiguration c, Random r) =>
        new NegativeBinomialFamily(c.Dimension, c.Dispersion).Conjugate(BernoulliFamilyTests.DrawBetaPrior(r));

    internal override NegativeBinomialParameters UsualParameters(Draw draw) => new(NegativeBinomialOracle.Means(draw));

    protected override IEnumerable<(string Name, double[] Values)> Entries(NegativeBinomialParameters parameters) => [("means", parameters.Means.ToArray())];

    protected override (double Natural, double Usual) RoundTripTolerance => (1e-14, 1e-13);

    protected override int ParameterSize(NegativeBinomialConfiguration c) => c.Dimension;

    protected override NegativeBinomialParameters UsualParametersOfSize(int size) => new(Enumerable.Repeat(2.0, size));

    protected override IEnumerable<double[]> SupportEdgeCases(NegativeBinomialConfiguration c) => [Enumerable.Repeat(1e15, c.Dimension).ToArray()];

    [Theory, MemberData(nameof(Configurations))]
    public void CheckSupportReportsNegativeAndNonIntegerCounts(NegativeBinomialConfiguration c) =>
        FamilyLaws.CheckSupportReportsTheValueAtItsOffset(Oracle(c), -1.0, 0.5, 2.25, -0.5, double.NaN, double.PositiveInfinity);

    [Theory, MemberData(nameof(Configurations))]
    public void ProjectMeanIntoDomainRaisesMeansToTheFloor(NegativeBinomialConfiguration c) => FamilyLaws.ProjectMeanIntoDomainRaisesMeansToTheFloor(Oracle(c));

    [Fact]
    public void ParametersAndDispersionAreValidated()
    {
        FamilyLaws.RatesOutsideTheDomainAreRejectedNamingTheEntry(
            means => new NegativeBinomialFamily(means.Length, 2).ToNatural(new NegativeBinomialParameters(means)), 4, 0.0, -1.0, double.NaN, double.PositiveInfinity);
        foreach (var bad in new[] { 0.0, -1.0, double.NaN, double.PositiveInfinity })
            Assert.Equal("dispersion", Assert.ThrowsAny<ArgumentException>(() => new NegativeBinomialFamily(1, bad)).ParamName);
        var p = new NegativeBinomialParameters([3, 0.5]);
        Assert.Equal("NegativeBinomialParameters { Means = [3, 0.5] }", p.ToString());
        Assert.Equal([3.0 / 4, 0.5 / 1.5], p.Probabilities(1));
        Assert.Equal(p, new NegativeBinomialParameters(new List<double> { 3, 0.5 }));
        Assert.Equal(2.5, new NegativeBinomialFamily(2, 2.5).Dispersion);
    }

    /// <summary>The mean map and its inverse are stable at the extremes: tiny means (η → −∞) and huge ones (η → 0⁻).</summary>
    [Fact]
    public void MeansFromTinyToHugeRoundTrip()
    {
        foreach (var r in new[] { 0.01, 1, 1e6 })
        {
            var f = new NegativeBinomialFamily(1, r);
            foreach (var m in new[] { 1e-200, 1e-8, 1, 1e8, 1e200 })
            {
                var eta = new double[1];
                f.InverseMeanMap([m], eta);
                Assert.True(f.IsNaturalParameter(eta), $"η = {eta[0]} for m = {m}, r = {r}");
                var back = new double[1];
                f.MeanMap(eta, back);
                // r/m, log1p, expm1 and the division each round (≲ 1 ulp); expm1 at −η amplifies the error of η by
                // |η| e^{−η}/expm1(−η) ≤ |η| + 1. So a few ulps times (|η| + 2).
                Approx.Equal(m, back[0], 3 * 2.220446049250313e-16 * (Math.Abs(eta[0]) + 2), 0, $"m for r = {r}");
                Assert.True(double.IsFinite(f.LogNormalizer(eta)));
            }
        }
    }

    [Fact]
    public void ConjugateBetaHasPseudoObservationsAlphaMinusOneAndCountBetaMinusOneOverR() =>
        PropertyChecks.ForAll(Gens.Seed.ToArbitrary(), seed =>
        {
            var r = new Random(seed);
            int d = r.Next(1, 4);
            double dispersion = r.Uniform(0.1, 20);
            var beta = BernoulliFamilyTests.DrawBetaPrior(r);
            var prior = new NegativeBinomialFamily(d, dispersion).Conjugate(beta);
            Assert.Equal(d, prior.PseudoObservations.Count);
            foreach (var phi in prior.PseudoObservations) Approx.Equal(beta.Alpha - 1, phi, 1e-15, 0, $"φ of {beta}");
            Approx.Equal((beta.Beta - 1) / dispersion, prior.PseudoCount, 1e-15, 0, $"ν of {beta}");
        }, FamilyLaws.Cases);

    /// <summary>
    /// Counts summing to S over R rows under Beta(a, b) on p: the posterior is Beta(a + S, b + R r), whose mode
    /// (a + S − 1)/(a + b + S + R r − 2) is the p of the MAP mean; the prior's log density at η = log p is MathNet's
    /// Beta(a, b) log density at p, which differs from the kernel (a − 1)η − ν A(η) by the constant log B(a, b).
    /// </summary>
    [Fact]
    public void ConjugateBetaPosteriorMeanParameterIsThePosteriorMode() =>
        PropertyChecks.ForAll(Gens.Seed.ToArbitrary(), seed =>
        {
            var r = new Random(seed);
            int d = r.Next(1, 4);
            double dispersion = r.Uniform(0.1, 20);
            var f = new NegativeBinomialFamily(d, dispersion);
            var beta = BernoulliFamilyTests.DrawBetaPrior(r);
            var prior = f.Conjugate(beta);
            double count = r.Uniform(0.5, 50);
            var sums = r.Vector(d, 0.5, 500);
            var mean = new double[d];
            prior.PosteriorMeanParameter(sums, count, mean);
            var p = f.FromNatural(InverseOf(f, mean)).Probabilities(dispersion).ToArray();
            var mode = sums.Select(s => (beta.Alpha + s - 1) / (beta.Alpha + beta.Beta + s + count * dispersion - 2)).ToArray();
            Approx.Vector(mode, p, 1e-12, $"posterior mode under {beta}, r = {dispersion}, S = {Fmt.V(sums)}, R = {count}");
            var q = r.Vector(d, 0.01, 0.99);
            var eta = q.Select(v => Math.Log(v)).ToArray();
            Approx.Equal(q.Sum(v => Beta.PDFLn(beta.Alpha, beta.Beta, v)), prior.LogDensity(eta), 1e-10, 1e-10, $"log density of {beta} at p = {Fmt.V(q)}");
            double kernel = eta.Sum(e => (beta.Alpha - 1) * e) - prior.PseudoCount * f.LogNormalizer(eta);
            Approx.Equal(-d * MathNetSf.BetaLn(beta.Alpha, beta.Beta), prior.LogDensity(eta) - kernel, 1e-10, 1e-10, "log density − kernel");
        }, FamilyLaws.Cases);

    private static double[] InverseOf(ExponentialFamily f, double[] mean)
    {
        var eta = new double[f.StatisticCount];
        f.InverseMeanMap(mean, eta);
        return eta;
    }
}
