using EmDsl.Families;
using EmDsl.Families.Priors;
using FsCheck.Fluent;

namespace EmDsl.Tests.Families;

public class ExponentialFamilyTests : ConjugateFamilyLawTests<ExponentialFamilyTests, int, ExponentialParameters>, IFamilyConfigurations<int>
{
    /// <summary>The dimensions D.</summary>
    static IEnumerable<int> IFamilyConfigurations<int>.All => [1, 2, 3];

    internal override ExponentialOracle Oracle(int d) => new(d);

    protected override int SampleSeed(int d) => 5000 + d;

    protected override ConjugatePrior DrawConjugatePrior(int d, Random r) => new ExponentialDistributionFamily(d).Conjugate(PoissonFamilyTests.DrawGammaPrior(r));

    internal override ExponentialParameters UsualParameters(Draw draw) => new(ExponentialOracle.Rates(draw));

    protected override IEnumerable<(string Name, double[] Values)> Entries(ExponentialParameters parameters) => [("rates", parameters.Rates.ToArray())];

    protected override (double Natural, double Usual) RoundTripTolerance => (1e-15, 1e-15);

    protected override int ParameterSize(int d) => d;

    protected override ExponentialParameters UsualParametersOfSize(int size) => new(Enumerable.Repeat(2.0, size));

    /// <summary>x = 0, which DrawObservation gives only one time in ten per coordinate.</summary>
    protected override IEnumerable<double[]> SupportEdgeCases(int d) => [new double[d]];

    [Fact]
    public void ExponentialParametersRejectNonPositiveRatesNamingTheEntry() =>
        FamilyLaws.RatesOutsideTheDomainAreRejectedNamingTheEntry(
            rates => new ExponentialDistributionFamily(rates.Length).ToNatural(new ExponentialParameters(rates)), 3, 0.0, -2.0, double.NaN, double.PositiveInfinity);

    [Theory, MemberData(nameof(Configurations))]
    public void CheckSupportReportsNegativeValues(int d) =>
        FamilyLaws.CheckSupportReportsTheValueAtItsOffset(Oracle(d), -1.0, -0.5, -1e-300, -1e10, double.NaN, double.NegativeInfinity);

    [Theory, MemberData(nameof(Configurations))]
    public void ProjectMeanIntoDomainRaisesMeansToTheFloor(int d) => FamilyLaws.ProjectMeanIntoDomainRaisesMeansToTheFloor(Oracle(d));

    [Fact]
    public void ConjugateGammaHasPseudoObservationsRateAndCountShapeMinusOne()
    {
        PropertyChecks.ForAll(Gens.Seed.ToArbitrary(), seed =>
        {
            var r = new Random(seed);
            int d = r.Next(1, 4);
            var gamma = PoissonFamilyTests.DrawGammaPrior(r);
            var prior = new ExponentialDistributionFamily(d).Conjugate(gamma);
            Assert.Equal(d, prior.PseudoObservations.Count);
            foreach (var phi in prior.PseudoObservations) Approx.Equal(gamma.Rate, phi, 1e-15, 0, $"φ of {gamma}");
            Approx.Equal(gamma.Shape - 1, prior.PseudoCount, 1e-15, 0, $"ν of {gamma}");
        }, FamilyLaws.Cases);
    }

    /// <summary>
    /// R observations summing to S under Gamma(a, b) on the rate: the posterior is Gamma(a + R, b + S) with mode
    /// (a + R − 1)/(b + S), the rate the MAP mean parameter gives; the prior's log density at η = −λ is MathNet's
    /// Gamma(shape a, rate b) at λ (the kernel when b = 0).
    /// </summary>
    [Theory, MemberData(nameof(Configurations))]
    public void ConjugateGammaPosteriorMeanParameterIsThePosteriorMode(int d)
    {
        var f = new ExponentialDistributionFamily(d);
        PropertyChecks.ForAll(Gens.Seed.ToArbitrary(), seed =>
        {
            var r = new Random(seed);
            var gamma = PoissonFamilyTests.DrawGammaPrior(r);
            var prior = f.Conjugate(gamma);
            double count = r.Uniform(0.5, 50);
            var sums = r.Vector(d, 0.5, 200);
            var mean = new double[d];
            prior.PosteriorMeanParameter(sums, count, mean);
            var eta = new double[d];
            f.InverseMeanMap(mean, eta);
            var rates = f.FromNatural(eta).Rates.ToArray();
            var mode = sums.Select(s => (gamma.Shape + count - 1) / (gamma.Rate + s)).ToArray();
            Approx.Vector(mode, rates, 1e-12, $"posterior mode under {gamma}, S = {Fmt.V(sums)}, R = {count}");
            var lambda = r.Vector(d, 0.05, 20);
            double expected = lambda.Sum(l => gamma.Rate > 0
                ? MathNet.Numerics.Distributions.Gamma.PDFLn(gamma.Shape, gamma.Rate, l)
                : (gamma.Shape - 1) * Math.Log(l));
            Approx.Equal(expected, prior.LogDensity(lambda.Select(l => -l).ToArray()), 1e-10, 1e-10, $"prior log density of {gamma} at λ = {Fmt.V(lambda)}");
        }, FamilyLaws.Cases);
    }
}
