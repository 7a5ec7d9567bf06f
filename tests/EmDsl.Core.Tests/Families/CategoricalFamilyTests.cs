using System.Globalization;
using EmDsl.Families;
using EmDsl.Families.Priors;
using FsCheck.Fluent;

namespace EmDsl.Tests.Families;

/// <summary>A categorical family's number of categories C and how an observation encodes its category.</summary>
public sealed record CategoricalConfiguration(int Categories, CategoricalEncoding Encoding) : SerializableConfiguration
{
    /// <summary>For xunit's deserializer.</summary>
    public CategoricalConfiguration() : this(0, default) { }
}

public class CategoricalFamilyTests : ConjugateFamilyLawTests<CategoricalFamilyTests, CategoricalConfiguration, CategoricalParameters>, IFamilyConfigurations<CategoricalConfiguration>
{
    /// <summary>C = 2…6 in each encoding.</summary>
    static IEnumerable<CategoricalConfiguration> IFamilyConfigurations<CategoricalConfiguration>.All =>
        from e in Enum.GetValues<CategoricalEncoding>()
        from c in Enumerable.Range(2, 5)
        select new CategoricalConfiguration(c, e);

    public static TheoryData<int> CategoryCounts() => new() { 2, 3, 4, 5, 6 };

    internal override CategoricalOracle Oracle(CategoricalConfiguration configuration) => new(configuration.Categories, configuration.Encoding);

    protected override int SampleSeed(CategoricalConfiguration configuration) => 3000 + 10 * configuration.Categories + (int)configuration.Encoding;

    internal static DirichletPrior DrawDirichletPrior(Random r, int c) =>
        new(Enumerable.Range(0, c).Select(_ => r.Next(4) == 0 ? 1 : r.Uniform(1, 6)));

    protected override ConjugatePrior DrawConjugatePrior(CategoricalConfiguration configuration, Random r)
    {
        var (c, e) = configuration;
        return new CategoricalFamily(c, e).Conjugate(DrawDirichletPrior(r, c));
    }

    internal override CategoricalParameters UsualParameters(Draw draw) => new(CategoricalOracle.Probabilities(draw));

    protected override IEnumerable<(string Name, double[] Values)> Entries(CategoricalParameters parameters) => [("probabilities", parameters.Probabilities.ToArray())];

    protected override (double Natural, double Usual) RoundTripTolerance => (1e-12, 1e-12);

    protected override int ParameterSize(CategoricalConfiguration configuration) => configuration.Categories;

    protected override int MinimumParameterSize => 2;

    protected override CategoricalParameters UsualParametersOfSize(int size) => new(Enumerable.Repeat(1.0 / size, size));

    /// <summary>Every category.</summary>
    protected override IEnumerable<double[]> SupportEdgeCases(CategoricalConfiguration configuration)
    {
        var o = Oracle(configuration);
        return Enumerable.Range(0, configuration.Categories).Select(o.Encode);
    }

    [Theory, MemberData(nameof(Configurations))]
    public void DimensionFollowsTheEncoding(CategoricalConfiguration configuration)
    {
        var (c, e) = configuration;
        var f = new CategoricalFamily(c, e);
        Assert.Equal(e == CategoricalEncoding.Integer ? 1 : c, f.Dimension);
        Assert.Equal(c - 1, f.StatisticCount);
    }

    [Theory, MemberData(nameof(CategoryCounts))]
    public void ToNaturalRejectsZeroProbabilityNamingTheCategory(int c)
    {
        var f = new CategoricalFamily(c);
        PropertyChecks.ForAll(Gens.Seed.ToArbitrary(), seed =>
        {
            var r = new Random(seed);
            var p = r.ProbabilityVector(c);
            int bad = r.Next(c);
            p[bad] = 0;
            double s = p.Sum();
            p = p.Select(v => v / s).ToArray();
            var ex = Assert.ThrowsAny<ArgumentException>(() => f.ToNatural(new CategoricalParameters(p)));
            Assert.Equal("parameters", ex.ParamName);
            Assert.Matches(EntryPattern.For(bad), ex.Message);
        }, 20);
    }

    [Fact]
    public void CategoricalParametersRejectInvalidProbabilities()
    {
        var ex = Assert.ThrowsAny<ArgumentException>(() => new CategoricalParameters([0.5, 0.75, -0.25]));
        Assert.Matches(EntryPattern.For(2), ex.Message);
        Assert.ThrowsAny<ArgumentException>(() => new CategoricalParameters([0.5, 0.6]));
        Assert.ThrowsAny<ArgumentException>(() => new CategoricalParameters([1.0]));
    }

    [Theory, MemberData(nameof(CategoryCounts))]
    public void CheckSupportRejectsCodesOutOfRange(int c)
    {
        var f = new CategoricalFamily(c, CategoricalEncoding.Integer);
        foreach (var bad in new[] { -1.0, c, c + 1.0, 0.5, c - 0.5, 1e20, double.NaN })
        {
            var violation = f.CheckSupport([bad]);
            Assert.NotNull(violation);
            Assert.Equal(0, violation.Offset);
            Assert.Contains(bad.ToString(CultureInfo.InvariantCulture), violation.Reason);
        }
    }

    [Theory, MemberData(nameof(CategoryCounts))]
    public void CheckSupportReportsANonBinaryOneHotValueAtItsOffset(int c) =>
        FamilyLaws.CheckSupportReportsTheValueAtItsOffset(Oracle(new(c, CategoricalEncoding.OneHot)), 2.0, -1.0, 0.5, double.NaN);

    [Theory, MemberData(nameof(CategoryCounts))]
    public void CheckSupportRejectsAOneHotRowWithNoOne(int c)
    {
        var violation = new CategoricalFamily(c, CategoricalEncoding.OneHot).CheckSupport(new double[c]);
        Assert.NotNull(violation);
        Assert.InRange(violation.Offset, 0, c - 1);
        Assert.False(string.IsNullOrWhiteSpace(violation.Reason));
    }

    /// <summary>
    /// A row with two ones: the offset must point at an offending value, i.e. at one of the ones (the
    /// engine reports it as "row r, column …"); pointing at a 0 names a column that is fine.
    /// </summary>
    [Theory, MemberData(nameof(CategoryCounts))]
    public void CheckSupportPointsAtAOneInAOneHotRowWithTwoOnes(int c)
    {
        var f = new CategoricalFamily(c, CategoricalEncoding.OneHot);
        for (int i = 0; i < c; i++)
            for (int j = i + 1; j < c; j++)
            {
                var x = new double[c];
                x[i] = x[j] = 1;
                var violation = f.CheckSupport(x);
                Assert.NotNull(violation);
                Assert.False(string.IsNullOrWhiteSpace(violation.Reason));
                Assert.True(violation.Offset == i || violation.Offset == j,
                    $"row {Fmt.V(x)}: offset {violation.Offset} holds {x[violation.Offset]}, not one of the two ones (at {i} and {j}); reason: {violation.Reason}");
            }
    }

    /// <summary>Every probability (the implicit last one too) is raised to the floor and the vector renormalised; interior ones are untouched.</summary>
    [Theory, MemberData(nameof(CategoryCounts))]
    public void ProjectMeanIntoDomainRaisesEveryProbabilityToTheFloor(int c)
    {
        var f = new CategoricalFamily(c);
        PropertyChecks.ForAll(Gens.Seed.ToArbitrary(), seed =>
        {
            var r = new Random(seed);
            double floor = Math.Pow(10, -r.Uniform(3, 12));
            var p = r.ProbabilityVector(c);
            int zeros = r.Next(0, c);
            for (int k = 0; k < zeros; k++) p[r.Next(c)] = 0;
            double s = p.Sum();
            p = p.Select(v => v / s).ToArray();
            var mean = p.Take(c - 1).ToArray();
            var projected = (double[])mean.Clone();
            f.ProjectMeanIntoDomain(projected, floor);
            var raised = p.Select(v => Math.Max(v, floor)).ToArray();
            double total = raised.Sum();
            var expected = p.All(v => v >= floor) ? mean : raised.Take(c - 1).Select(v => v / total).ToArray();
            Approx.Vector(expected, projected, 1e-13, $"floor {floor} on p = {Fmt.V(p)}");
            Assert.True(f.IsMeanParameter(projected), $"projected {Fmt.V(projected)} is not interior");
        }, FamilyLaws.Cases);
    }

    [Theory, MemberData(nameof(CategoryCounts))]
    public void ConjugateDirichletHasPseudoObservationsAlphaMinusOneAndCountSumAlphaMinusC(int c)
    {
        var f = new CategoricalFamily(c);
        PropertyChecks.ForAll(Gens.Seed.ToArbitrary(), seed =>
        {
            var dir = DrawDirichletPrior(new Random(seed), c);
            var prior = f.Conjugate(dir);
            Approx.Vector(dir.Concentration.Take(c - 1).Select(a => a - 1).ToArray(), prior.PseudoObservations.ToArray(), 1e-15, $"φ of {dir}");
            Approx.Equal(dir.Concentration.Sum() - c, prior.PseudoCount, 1e-14, 1e-14, $"ν of {dir}");
        }, 20);
    }

    /// <summary>The engine's lookup path reads T(x) as an index: T(x) is 1 at IndicatorIndex(x) and 0 elsewhere (all 0 for the last category).</summary>
    [Theory]
    [InlineData(CategoricalEncoding.Integer)]
    [InlineData(CategoricalEncoding.OneHot)]
    public void IndicatorIndexIsWhereTheStatisticsHaveTheirOne(CategoricalEncoding encoding)
    {
        foreach (int c in new[] { 2, 3, 7, 500 })
        {
            var family = new CategoricalFamily(c, encoding);
            Assert.True(family.HasIndicatorStatistics);
            var t = new double[c - 1];
            for (int category = 0; category < c; category++)
            {
                var x = new double[family.Dimension];
                if (encoding == CategoricalEncoding.Integer) x[0] = category;
                else x[category] = 1;
                family.SufficientStatistics(x, t);
                int index = family.IndicatorIndex(x);
                for (int j = 0; j < c - 1; j++)
                    Assert.True(t[j] == (j == index ? 1 : 0), $"C = {c}, {encoding}, category {category}: T[{j}] = {t[j]}, index {index}.");
                Assert.Equal(category == c - 1 ? -1 : category, index);
            }
        }
    }

    [Fact]
    public void ConjugateRejectsDirichletWithOtherCategoryCount()
    {
        var ex = Assert.ThrowsAny<ArgumentException>(() => new CategoricalFamily(3).Conjugate(DirichletPrior.Symmetric(4, 2)));
        Assert.Equal("prior", ex.ParamName);
    }

    /// <summary>
    /// The posterior mean parameter under Dirichlet(α) with counts n is the mode of Dirichlet(α + n),
    /// (α_j + n_j − 1)/(Σα + Σn − C), the same as DirichletPrior.PosteriorMode; the prior's log density at η is
    /// MathNet's Dirichlet log density at softmax([η, 0]).
    /// </summary>
    [Theory, MemberData(nameof(CategoryCounts))]
    public void ConjugateDirichletPosteriorMeanParameterIsThePosteriorMode(int c)
    {
        var f = new CategoricalFamily(c);
        PropertyChecks.ForAll(Gens.Seed.ToArbitrary(), seed =>
        {
            var r = new Random(seed);
            var dir = DrawDirichletPrior(r, c);
            var prior = f.Conjugate(dir);
            var counts = r.Vector(c, 0, 20);
            double total = counts.Sum();
            var mean = new double[c - 1];
            prior.PosteriorMeanParameter(counts.Take(c - 1).ToArray(), total, mean);
            double denom = dir.Concentration.Sum() + total - c;
            var mode = Enumerable.Range(0, c).Select(j => (dir.Concentration[j] + counts[j] - 1) / denom).ToArray();
            Approx.Vector(mode.Take(c - 1).ToArray(), mean, 1e-13, $"posterior mode under {dir}, n = {Fmt.V(counts)}");
            var viaPrior = new double[c];
            dir.PosteriorMode(counts, viaPrior);
            Approx.Vector(mode, viaPrior, 1e-13, $"DirichletPrior.PosteriorMode under {dir}, n = {Fmt.V(counts)}");
            var p = r.ProbabilityVector(c);
            var eta = Enumerable.Range(0, c - 1).Select(j => Math.Log(p[j] / p[c - 1])).ToArray();
            double expected = new MathNet.Numerics.Distributions.Dirichlet(dir.Concentration.ToArray()).DensityLn(p);
            Approx.Equal(expected, prior.LogDensity(eta), 1e-10, 1e-10, $"prior log density of {dir} at p = {Fmt.V(p)}");
        }, FamilyLaws.Cases);
    }
}
