using EmDsl.Families;
using EmDsl.Families.Priors;
using FsCheck.Fluent;

namespace EmDsl.Tests.Families;

public class BernoulliFamilyTests : ConjugateFamilyLawTests<BernoulliFamilyTests, int, BernoulliParameters>, IFamilyConfigurations<int>
{
    /// <summary>The dimensions D.</summary>
    static IEnumerable<int> IFamilyConfigurations<int>.All => [1, 2, 3, 4, 5];

    internal override BernoulliOracle Oracle(int d) => new(d);

    protected override int SampleSeed(int d) => 2000 + d;

    internal static BetaPrior DrawBetaPrior(Random r) =>
        new(r.Next(4) == 0 ? 1 : r.Uniform(1, 6), r.Next(4) == 0 ? 1 : r.Uniform(1, 6));

    protected override ConjugatePrior DrawConjugatePrior(int d, Random r) => new BernoulliFamily(d).Conjugate(DrawBetaPrior(r));

    internal override BernoulliParameters UsualParameters(Draw draw) => new(BernoulliOracle.Probabilities(draw));

    protected override IEnumerable<(string Name, double[] Values)> Entries(BernoulliParameters parameters) => [("probabilities", parameters.Probabilities.ToArray())];

    protected override (double Natural, double Usual) RoundTripTolerance => (1e-12, 1e-12);

    protected override int ParameterSize(int d) => d;

    protected override BernoulliParameters UsualParametersOfSize(int size) => new(Enumerable.Repeat(0.5, size));

    /// <summary>0 and 1 have no finite logit: ToNatural must reject them and name the entry.</summary>
    [Theory, MemberData(nameof(Configurations))]
    public void ToNaturalRejectsBoundaryProbabilitiesNamingTheEntry(int d)
    {
        var f = new BernoulliFamily(d);
        PropertyChecks.ForAll(Gens.Seed.ToArbitrary(), seed =>
        {
            var r = new Random(seed);
            var p = r.Vector(d, 0.1, 0.9);
            int bad = r.Next(d);
            p[bad] = r.Next(2);
            var ex = Assert.ThrowsAny<ArgumentException>(() => f.ToNatural(new BernoulliParameters(p)));
            Assert.Equal("parameters", ex.ParamName);
            Assert.Matches(EntryPattern.For(bad), ex.Message);
        }, 20);
    }

    [Fact]
    public void BernoulliParametersRejectProbabilitiesOutsideTheUnitIntervalNamingTheEntry()
    {
        foreach (var bad in new[] { -0.25, 1.5, double.NaN })
        {
            var ex = Assert.ThrowsAny<ArgumentException>(() => new BernoulliParameters([0.5, 0.25, bad]));
            Assert.Equal("probabilities", ex.ParamName);
            Assert.Matches(EntryPattern.For(2), ex.Message);
        }
    }

    [Theory, MemberData(nameof(Configurations))]
    public void CheckSupportReportsTheNonBinaryValue(int d) =>
        FamilyLaws.CheckSupportReportsTheValueAtItsOffset(Oracle(d), 2.0, -1.0, 0.5, 1.5, 3.0, double.NaN);

    [Theory, MemberData(nameof(Configurations))]
    public void ProjectMeanIntoDomainClampsToTheFloor(int d)
    {
        var f = new BernoulliFamily(d);
        PropertyChecks.ForAll(Gens.Seed.ToArbitrary(), seed =>
        {
            var r = new Random(seed);
            double floor = Math.Pow(10, -r.Uniform(2, 12));
            var mean = Enumerable.Range(0, d).Select(_ => BernoulliOracle.Pick(r, 0, 1, floor / 2, 1 - floor / 2, r.Uniform(0, 1))).ToArray();
            var projected = (double[])mean.Clone();
            f.ProjectMeanIntoDomain(projected, floor);
            var expected = mean.Select(m => m < floor ? floor : m > 1 - floor ? 1 - floor : m).ToArray();
            Approx.Vector(expected, projected, 0, $"floor {floor} on {Fmt.V(mean)}", 0);
            Assert.True(f.IsMeanParameter(projected));
        }, FamilyLaws.Cases);
    }

    [Fact]
    public void ConjugateBetaHasPseudoObservationsAlphaMinusOneAndCountAlphaPlusBetaMinusTwo()
    {
        PropertyChecks.ForAll(Gens.Seed.ToArbitrary(), seed =>
        {
            var r = new Random(seed);
            int d = r.Next(1, 6);
            var beta = DrawBetaPrior(r);
            var prior = new BernoulliFamily(d).Conjugate(beta);
            Assert.Equal(d, prior.PseudoObservations.Count);
            foreach (var phi in prior.PseudoObservations) Approx.Equal(beta.Alpha - 1, phi, 1e-15, 0, $"φ of {beta}");
            Approx.Equal(beta.Alpha + beta.Beta - 2, prior.PseudoCount, 1e-15, 1e-15, $"ν of {beta}");
        }, FamilyLaws.Cases);
    }

    /// <summary>
    /// The posterior mean parameter of Beta(α, β) after S successes in R trials is the posterior mode
    /// (α + S − 1)/(α + β + R − 2), and the prior's log density at η is log Beta(σ(η) | α, β) (MathNet).
    /// </summary>
    [Theory, MemberData(nameof(Configurations))]
    public void ConjugateBetaPosteriorMeanParameterIsThePosteriorMode(int d)
    {
        var f = new BernoulliFamily(d);
        PropertyChecks.ForAll(Gens.Seed.ToArbitrary(), seed =>
        {
            var r = new Random(seed);
            var beta = DrawBetaPrior(r);
            var prior = f.Conjugate(beta);
            double total = r.Uniform(0.5, 50);
            var successes = Enumerable.Range(0, d).Select(_ => r.Uniform(0, total)).ToArray();
            var mean = new double[d];
            prior.PosteriorMeanParameter(successes, total, mean);
            var mode = successes.Select(s => (beta.Alpha + s - 1) / (beta.Alpha + beta.Beta + total - 2)).ToArray();
            Approx.Vector(mode, mean, 1e-13, $"posterior mode under {beta}, S = {Fmt.V(successes)}, R = {total}");
            var p = r.Vector(d, 0.01, 0.99);
            var eta = p.Select(v => Math.Log(v / (1 - v))).ToArray();
            double expected = p.Sum(v => MathNet.Numerics.Distributions.Beta.PDFLn(beta.Alpha, beta.Beta, v));
            Approx.Equal(expected, prior.LogDensity(eta), 1e-10, 1e-10, $"prior log density of {beta} at p = {Fmt.V(p)}");
        }, FamilyLaws.Cases);
    }
}

/// <summary>How an error message may name entry i: "probability 2", "[2]", "category 2", "entry 2", "index 2", "rate 2".</summary>
internal static class EntryPattern
{
    public static string For(int i) => $@"(?i)(\[{i}\]|(probability|category|entry|index|rate|column|value|element)\s+{i}\b)";
}
