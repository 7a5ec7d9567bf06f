using EmDsl.Families;
using FsCheck.Fluent;
using MathNet.Numerics.LinearAlgebra;

namespace EmDsl.Tests.Families;

/// <summary>A Gaussian family's covariance structure and dimension D.</summary>
public sealed record GaussianConfiguration(CovarianceStructure Structure, int Dimension) : SerializableConfiguration
{
    /// <summary>For xunit's deserializer.</summary>
    public GaussianConfiguration() : this(default, 0) { }
}

public class GaussianFamilyTests : FamilyLawTests<GaussianFamilyTests, GaussianConfiguration, GaussianParameters>, IFamilyConfigurations<GaussianConfiguration>
{
    /// <summary>Every structure with D = 1…4.</summary>
    static IEnumerable<GaussianConfiguration> IFamilyConfigurations<GaussianConfiguration>.All =>
        from s in Enum.GetValues<CovarianceStructure>()
        from d in Enumerable.Range(1, 4)
        select new GaussianConfiguration(s, d);

    public static TheoryData<CovarianceStructure, int> RestrictedConfigurations()
    {
        var data = new TheoryData<CovarianceStructure, int>();
        foreach (var s in new[] { CovarianceStructure.Diagonal, CovarianceStructure.Spherical })
            for (int d = 2; d <= 4; d++) data.Add(s, d);
        return data;
    }

    internal override GaussianOracle Oracle(GaussianConfiguration configuration) => new(configuration.Dimension, configuration.Structure);

    protected override int SampleSeed(GaussianConfiguration configuration) => 1000 + 10 * (int)configuration.Structure + configuration.Dimension;

    internal override GaussianParameters UsualParameters(Draw draw)
    {
        var (mu, cov) = GaussianOracle.Moments(draw);
        return new(mu, cov.ToArray());
    }

    protected override IEnumerable<(string Name, double[] Values)> Entries(GaussianParameters parameters) =>
        [("mean", parameters.Mean.ToArray()), ("covariance", parameters.Covariance.ToArray().Cast<double>().ToArray())];

    protected override (double Natural, double Usual) RoundTripTolerance => (1e-9, 1e-9);

    protected override int ParameterSize(GaussianConfiguration configuration) => configuration.Dimension;

    protected override GaussianParameters UsualParametersOfSize(int size) =>
        GaussianParameters.WithVariances(Enumerable.Repeat(0.0, size), Enumerable.Repeat(1.0, size));

    [Fact]
    public void StatisticCountsFollowTheStructure()
    {
        for (int d = 1; d <= 4; d++)
        {
            Assert.Equal(d + d * (d + 1) / 2, new GaussianFamily(d, CovarianceStructure.Full).StatisticCount);
            Assert.Equal(2 * d, new GaussianFamily(d, CovarianceStructure.Diagonal).StatisticCount);
            Assert.Equal(d + 1, new GaussianFamily(d, CovarianceStructure.Spherical).StatisticCount);
            Assert.Equal(d, new GaussianFamily(d, CovarianceStructure.Spherical).Dimension);
        }
    }

    [Theory, MemberData(nameof(RestrictedConfigurations))]
    public void ToNaturalRejectsOffDiagonalCovarianceNamingTheEntry(CovarianceStructure s, int d)
    {
        var f = new GaussianFamily(d, s);
        PropertyChecks.ForAll(Gens.Seed.ToArbitrary(), seed =>
        {
            var r = new Random(seed);
            int i = r.Next(d), j = (i + 1 + r.Next(d - 1)) % d;
            var cov = Matrix<double>.Build.DenseIdentity(d) * 2;
            cov[i, j] = cov[j, i] = 0.25;
            var ex = Assert.ThrowsAny<ArgumentException>(() => f.ToNatural(new GaussianParameters(new double[d], cov.ToArray())));
            Assert.True(ex.Message.Contains($"({i}, {j})") || ex.Message.Contains($"({j}, {i})"),
                $"the message should name entry ({i}, {j}): {ex.Message}");
        }, 20);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void ToNaturalRejectsUnequalSphericalVariancesNamingTheEntry(int d)
    {
        var f = new GaussianFamily(d, CovarianceStructure.Spherical);
        for (int i = 1; i < d; i++)
        {
            var variances = Enumerable.Repeat(1.5, d).ToArray();
            variances[i] = 2.5;
            var ex = Assert.ThrowsAny<ArgumentException>(() => f.ToNatural(GaussianParameters.WithVariances(new double[d], variances)));
            Assert.Contains($"({i}, {i})", ex.Message);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void ToNaturalRejectsCovarianceThatIsNotPositiveDefinite(int d)
    {
        PropertyChecks.ForAll(Gens.Seed.ToArbitrary(), seed =>
        {
            var r = new Random(seed);
            var a = r.SpdMatrix(d);
            // Shift so the smallest eigenvalue is −0.5 (indefinite) or exactly removed (≤ 0 up to rounding, so shift a bit more).
            var cov = RandomExtensions.Symmetrize(a - Matrix<double>.Build.DenseIdentity(d) * (Dense.MinEigenvalue(a) + r.Uniform(0.01, 1)));
            foreach (var s in Enum.GetValues<CovarianceStructure>())
            {
                var c = s == CovarianceStructure.Full ? cov
                    : s == CovarianceStructure.Diagonal ? Matrix<double>.Build.DenseOfDiagonalArray(Enumerable.Repeat(1.0, d).Select((v, k) => k == d - 1 ? -v : v).ToArray())
                    : Matrix<double>.Build.DenseIdentity(d) * -1;
                var ex = Assert.ThrowsAny<ArgumentException>(() => new GaussianFamily(d, s).ToNatural(new GaussianParameters(new double[d], c.ToArray())));
                Assert.Equal("parameters", ex.ParamName);
            }
        }, 20);
    }

    [Fact]
    public void GaussianParametersRejectNonSymmetricCovarianceNamingTheEntry()
    {
        var cov = new double[,] { { 2, 0.5, 0 }, { 0.5, 2, 0.3 }, { 0, 0.4, 2 } };
        var ex = Assert.ThrowsAny<ArgumentException>(() => new GaussianParameters(new double[3], cov));
        Assert.Equal("covariance", ex.ParamName);
        Assert.True(ex.Message.Contains("(1, 2)") || ex.Message.Contains("(2, 1)"), ex.Message);
        var nonFinite = new double[,] { { 2, 0 }, { 0, double.NaN } };
        var ex2 = Assert.ThrowsAny<ArgumentException>(() => new GaussianParameters(new double[2], nonFinite));
        Assert.Contains("(1, 1)", ex2.Message);
        Assert.ThrowsAny<ArgumentException>(() => new GaussianParameters(new double[2], new double[3, 3]));
        Assert.ThrowsAny<ArgumentException>(() => new GaussianParameters([0.0, double.PositiveInfinity], new double[2, 2]));
    }

    [Theory, MemberData(nameof(Configurations))]
    public void CheckSupportAcceptsEveryFiniteRow(GaussianConfiguration configuration)
    {
        int d = configuration.Dimension;
        var o = Oracle(configuration);
        PropertyChecks.ForAll(Gens.Vector(d, -1e6, 1e6).ToArbitrary(), x => Assert.Null(o.Family.CheckSupport(x)), 20);
    }

    /// <summary>The Gaussian floor adds <c>floor</c> to every variance, interior or not (scikit-learn's reg_covar).</summary>
    [Theory, MemberData(nameof(Configurations))]
    public void ProjectMeanIntoDomainAddsTheFloorToEveryVariance(GaussianConfiguration configuration)
    {
        int d = configuration.Dimension;
        var o = Oracle(configuration);
        PropertyChecks.ForAll(Gens.Seed.ToArbitrary(), seed =>
        {
            var r = new Random(seed);
            var draw = o.DrawParameters(r);
            var (mu, cov) = GaussianOracle.Moments(draw);
            double floor = r.Uniform(1e-6, 0.5);
            var projected = (double[])draw.Mean.Clone();
            o.Family.ProjectMeanIntoDomain(projected, floor);
            var expected = mu.Concat(o.SecondMoments(mu, cov + Matrix<double>.Build.DenseIdentity(d) * floor)).ToArray();
            Approx.Vector(expected, projected, 1e-12, $"projected mean with floor {floor} for {draw}");
        }, FamilyLaws.Cases);
    }

    /// <summary>A positive semi-definite (singular) covariance becomes a mean parameter once floored.</summary>
    [Theory, MemberData(nameof(Configurations))]
    public void ProjectMeanIntoDomainMakesSingularCovarianceInterior(GaussianConfiguration configuration)
    {
        var (s, d) = configuration;
        var o = Oracle(configuration);
        var f = o.Family;
        var mu = Enumerable.Range(0, d).Select(i => 0.5 * i - 1).ToArray();
        var cov = s == CovarianceStructure.Full
            ? Matrix<double>.Build.Dense(d, d, (i, j) => (i + 1.0) * (j + 1.0)) // rank one
            : Matrix<double>.Build.Dense(d, d);
        var mean = mu.Concat(o.SecondMoments(mu, cov)).ToArray();
        if (d > 1 || s != CovarianceStructure.Full) Assert.False(f.IsMeanParameter(mean));
        f.ProjectMeanIntoDomain(mean, 1e-6);
        Assert.True(f.IsMeanParameter(mean), $"floored mean {Fmt.V(mean)} is not interior");
    }
}
