using EmDsl.Families;
using EmDsl.Families.Priors;
using FsCheck.Fluent;

namespace EmDsl.Tests.Families;

public class PoissonFamilyTests : ConjugateFamilyLawTests<PoissonFamilyTests, int, PoissonParameters>, IFamilyConfigurations<int>
{
    /// <summary>The dimensions D.</summary>
    static IEnumerable<int> IFamilyConfigurations<int>.All => [1, 2, 3, 4];

    internal override PoissonOracle Oracle(int d) => new(d);

    protected override int SampleSeed(int d) => 4000 + d;

    /// <summary>Gamma(a ≥ 1, b ≥ 0), with b = 0 (improper) one time in five.</summary>
    internal static GammaPrior DrawGammaPrior(Random r) =>
        new(r.Next(4) == 0 ? 1 : r.Uniform(1, 8), r.Next(5) == 0 ? 0 : r.Uniform(0.01, 5));

    protected override ConjugatePrior DrawConjugatePrior(int d, Random r) => new PoissonFamily(d).Conjugate(DrawGammaPrior(r));

    internal override PoissonParameters UsualParameters(Draw draw) => new(PoissonOracle.Rates(draw));

    protected override IEnumerable<(string Name, double[] Values)> Entries(PoissonParameters parameters) => [("rates", parameters.Rates.ToArray())];

    protected override (double Natural, double Usual) RoundTripTolerance => (1e-14, 1e-13);

    protected override int ParameterSize(int d) => d;

    protected override PoissonParameters UsualParametersOfSize(int size) => new(Enumerable.Repeat(2.0, size));

    /// <summary>Counts far beyond those DrawObservation gives (at most 60).</summary>
    protected override IEnumerable<double[]> SupportEdgeCases(int d) => [Enumerable.Repeat(1e15, d).ToArray()];

    /// <summary>Rates must be finite and positive; the parameter record rejects others and names the entry.</summary>
    [Fact]
    public void PoissonParametersRejectNonPositiveRatesNamingTheEntry() =>
        FamilyLaws.RatesOutsideTheDomainAreRejectedNamingTheEntry(
            rates => new PoissonFamily(rates.Length).ToNatural(new PoissonParameters(rates)), 4, 0.0, -1.0, double.NaN, double.PositiveInfinity);

    [Theory, MemberData(nameof(Configurations))]
    public void CheckSupportReportsNegativeAndNonIntegerCounts(int d) =>
        FamilyLaws.CheckSupportReportsTheValueAtItsOffset(Oracle(d), -1.0, -3.0, 0.5, 2.25, -0.5, double.NaN, double.PositiveInfinity);

    [Theory, MemberData(nameof(Configurations))]
    public void ProjectMeanIntoDomainRaisesRatesToTheFloor(int d) => FamilyLaws.ProjectMeanIntoDomainRaisesMeansToTheFloor(Oracle(d));

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
    [Theory, MemberData(nameof(Configurations))]
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
