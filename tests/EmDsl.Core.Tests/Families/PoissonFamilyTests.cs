using System.Globalization;
using EmDsl.Families;
using EmDsl.Families.Priors;
using FsCheck.Fluent;

namespace EmDsl.Tests.Families;

public class PoissonFamilyTests
{
    public static TheoryData<int> Dimensions() => new() { 1, 2, 3, 4 };

    private static PoissonOracle Oracle(int d) => new(d);

    /// <summary>Gamma(a ≥ 1, b ≥ 0), with b = 0 (improper) one time in five.</summary>
    internal static GammaPrior DrawGammaPrior(Random r) =>
        new(r.Next(4) == 0 ? 1 : r.Uniform(1, 8), r.Next(5) == 0 ? 0 : r.Uniform(0.01, 5));

    [Theory, MemberData(nameof(Dimensions))]
    public void MeanMapAndInverseMatchUsualParameters(int d) => FamilyLaws.MeanMapAndInverseMatchUsualParameters(Oracle(d));

    [Theory, MemberData(nameof(Dimensions))]
    public void InverseMeanMapInvertsMeanMap(int d) => FamilyLaws.InverseMeanMapInvertsMeanMap(Oracle(d));

    [Theory, MemberData(nameof(Dimensions))]
    public void MeanMapInvertsInverseMeanMap(int d) => FamilyLaws.MeanMapInvertsInverseMeanMap(Oracle(d));

    [Theory, MemberData(nameof(Dimensions))]
    public void MeanMapIsGradientOfLogNormalizer(int d) => FamilyLaws.MeanMapIsGradientOfLogNormalizer(Oracle(d));

    [Theory, MemberData(nameof(Dimensions))]
    public void DomainsMatchDefinitions(int d) => FamilyLaws.DomainsMatchDefinitions(Oracle(d));

    [Theory, MemberData(nameof(Dimensions))]
    public void SufficientStatisticsMatchDefinition(int d) => FamilyLaws.SufficientStatisticsMatchDefinition(Oracle(d));

    [Theory, MemberData(nameof(Dimensions))]
    public void LogDensityMatchesMathNetPoisson(int d) => FamilyLaws.LogDensityMatchesIndependentFormula(Oracle(d));

    [Theory, MemberData(nameof(Dimensions))]
    public void ClosedFormMStepIsAMaximum(int d) => FamilyLaws.ClosedFormMStepIsAMaximum(Oracle(d));

    [Theory, MemberData(nameof(Dimensions))]
    public void ClosedFormMapStepWithGammaPriorIsAMaximum(int d)
    {
        var f = new PoissonFamily(d);
        FamilyLaws.ClosedFormMStepIsAMaximum(Oracle(d), r => f.Conjugate(DrawGammaPrior(r)));
    }

    [Theory, MemberData(nameof(Dimensions))]
    public void SampleMeanMatchesMeanMap(int d) => FamilyLaws.SampleMeanMatchesMeanMap(Oracle(d), seed: 4000 + d);

    [Theory, MemberData(nameof(Dimensions))]
    public void ToNaturalAndFromNaturalRoundTripUsualParameters(int d)
    {
        var o = Oracle(d);
        var f = (PoissonFamily)o.Family;
        PropertyChecks.ForAll(Gens.Seed.Select(s => o.DrawParameters(new Random(s))).ToArbitrary(), draw =>
        {
            var rates = PoissonOracle.Rates(draw);
            var eta = f.ToNatural(new PoissonParameters(rates));
            Approx.Vector(draw.Natural, eta, 1e-14, $"ToNatural for {draw}");
            Approx.Vector(rates, f.FromNatural(eta).Rates.ToArray(), 1e-13, $"FromNatural(ToNatural) for {draw}");
        }, FamilyLaws.Cases);
    }

    [Theory, MemberData(nameof(Dimensions))]
    public void ToNaturalRejectsWrongDimension(int d)
    {
        var f = new PoissonFamily(d);
        foreach (int wrong in new[] { d - 1, d + 1 }.Where(w => w >= 1))
        {
            var ex = Assert.ThrowsAny<ArgumentException>(() => f.ToNatural(new PoissonParameters(Enumerable.Repeat(2.0, wrong))));
            Assert.Equal("parameters", ex.ParamName);
            Assert.Contains(wrong.ToString(CultureInfo.InvariantCulture), ex.Message);
        }
    }

    /// <summary>Rates must be finite and positive; the parameter record rejects others and names the entry.</summary>
    [Fact]
    public void PoissonParametersRejectNonPositiveRatesNamingTheEntry()
    {
        PropertyChecks.ForAll(Gens.Seed.SelectMany(_ => Gen.Elements(0.0, -1.0, double.NaN, double.PositiveInfinity), (s, v) => (Seed: s, Value: v)).ToArbitrary(), c =>
        {
            var r = new Random(c.Seed);
            var rates = r.Vector(r.Next(1, 5), 0.1, 5);
            int bad = r.Next(rates.Length);
            rates[bad] = c.Value;
            var ex = Assert.ThrowsAny<ArgumentException>(() => new PoissonFamily(rates.Length).ToNatural(new PoissonParameters(rates)));
            Assert.Matches(EntryPattern.For(bad), ex.Message);
        }, 20);
    }

    [Theory, MemberData(nameof(Dimensions))]
    public void CheckSupportAcceptsCounts(int d)
    {
        var o = Oracle(d);
        PropertyChecks.ForAll(Gens.Seed.ToArbitrary(), seed => Assert.Null(o.Family.CheckSupport(o.DrawObservation(new Random(seed)))), 20);
        Assert.Null(o.Family.CheckSupport(Enumerable.Repeat(1e15, d).ToArray()));
    }

    [Theory, MemberData(nameof(Dimensions))]
    public void CheckSupportReportsNegativeAndNonIntegerCounts(int d)
    {
        var o = Oracle(d);
        var bad = Gen.Elements(-1.0, -3.0, 0.5, 2.25, -0.5, double.NaN, double.PositiveInfinity);
        PropertyChecks.ForAll(Gens.Seed.SelectMany(_ => bad, (s, v) => (Seed: s, Value: v)).ToArbitrary(), c =>
        {
            var r = new Random(c.Seed);
            var x = o.DrawObservation(r);
            int at = r.Next(d);
            x[at] = c.Value;
            var violation = o.Family.CheckSupport(x);
            Assert.NotNull(violation);
            Assert.Equal(at, violation.Offset);
            Assert.Contains(c.Value.ToString(CultureInfo.InvariantCulture), violation.Reason);
        }, 50);
    }

    [Theory, MemberData(nameof(Dimensions))]
    public void ProjectMeanIntoDomainRaisesRatesToTheFloor(int d)
    {
        var f = new PoissonFamily(d);
        PropertyChecks.ForAll(Gens.Seed.ToArbitrary(), seed =>
        {
            var r = new Random(seed);
            double floor = Math.Pow(10, -r.Uniform(2, 12));
            var mean = Enumerable.Range(0, d).Select(_ => BernoulliOracle.Pick(r, 0, floor / 2, r.Uniform(0, 10))).ToArray();
            var projected = (double[])mean.Clone();
            f.ProjectMeanIntoDomain(projected, floor);
            Approx.Vector(mean.Select(m => Math.Max(m, floor)).ToArray(), projected, 0, $"floor {floor} on {Fmt.V(mean)}", 0);
        }, FamilyLaws.Cases);
    }

    [Fact]
    public void ConjugateGammaHasPseudoObservationsShapeMinusOneAndCountRate()
    {
        PropertyChecks.ForAll(Gens.Seed.ToArbitrary(), seed =>
        {
            var r = new Random(seed);
            int d = r.Next(1, 5);
            var gamma = DrawGammaPrior(r);
            var prior = new PoissonFamily(d).Conjugate(gamma);
            Assert.Equal(d, prior.PseudoObservations.Count);
            foreach (var phi in prior.PseudoObservations) Approx.Equal(gamma.Shape - 1, phi, 1e-15, 0, $"φ of {gamma}");
            Approx.Equal(gamma.Rate, prior.PseudoCount, 1e-15, 0, $"ν of {gamma}");
        }, FamilyLaws.Cases);
    }

    /// <summary>
    /// Counts summing to S over R observations under Gamma(a, b): the posterior is Gamma(a + S, b + R), whose mode
    /// (a + S − 1)/(b + R) is the rate the MAP mean parameter gives; the prior's log density at η = log λ is
    /// MathNet's Gamma(shape a, rate b) log density at λ, or the kernel (a − 1) log λ − bλ when b = 0.
    /// </summary>
    [Theory, MemberData(nameof(Dimensions))]
    public void ConjugateGammaPosteriorMeanParameterIsThePosteriorMode(int d)
    {
        var f = new PoissonFamily(d);
        PropertyChecks.ForAll(Gens.Seed.ToArbitrary(), seed =>
        {
            var r = new Random(seed);
            var gamma = DrawGammaPrior(r);
            var prior = f.Conjugate(gamma);
            double count = r.Uniform(0.5, 50);
            var sums = r.Vector(d, 0.5, 200);
            var mean = new double[d];
            prior.PosteriorMeanParameter(sums, count, mean);
            var eta = new double[d];
            f.InverseMeanMap(mean, eta);
            var rates = f.FromNatural(eta).Rates.ToArray();
            var mode = sums.Select(s => (gamma.Shape + s - 1) / (gamma.Rate + count)).ToArray();
            Approx.Vector(mode, rates, 1e-12, $"posterior mode under {gamma}, S = {Fmt.V(sums)}, R = {count}");
            var lambda = r.Vector(d, 0.05, 20);
            double expected = lambda.Sum(l => gamma.Rate > 0
                ? MathNet.Numerics.Distributions.Gamma.PDFLn(gamma.Shape, gamma.Rate, l)
                : (gamma.Shape - 1) * Math.Log(l));
            Approx.Equal(expected, prior.LogDensity(lambda.Select(l => Math.Log(l)).ToArray()), 1e-10, 1e-10, $"prior log density of {gamma} at λ = {Fmt.V(lambda)}");
        }, FamilyLaws.Cases);
    }
}
