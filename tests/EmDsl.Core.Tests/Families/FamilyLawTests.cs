using System.Globalization;
using System.Reflection;
using EmDsl.Families;
using EmDsl.Families.Priors;
using FsCheck.Fluent;
using Xunit.Abstractions;

namespace EmDsl.Tests.Families;

/// <summary>Implemented by a family's test class: the configurations every law runs for.</summary>
public interface IFamilyConfigurations<TConfiguration>
{
    /// <summary>The family's configurations; each law is one test case per configuration.</summary>
    static abstract IEnumerable<TConfiguration> All { get; }
}

/// <summary>
/// The <see cref="FamilyLaws"/> and the other properties every exponential family shares, written once. A family's
/// test class derives from this (or from <see cref="ConjugateFamilyLawTests{TSelf, TConfiguration, TParameters}"/>
/// when it has a conjugate prior), declares its configurations and oracle, and keeps only the tests specific to it.
/// xunit runs the inherited theories for the derived class, one test case per configuration.
/// </summary>
/// <typeparam name="TSelf">The family's test class, which lists the configurations.</typeparam>
/// <typeparam name="TConfiguration">One configuration, an xunit-serializable theory argument.</typeparam>
/// <typeparam name="TParameters">The family's usual parameters (what ToNatural takes and FromNatural returns).</typeparam>
public abstract class FamilyLawTests<TSelf, TConfiguration, TParameters>
    where TSelf : FamilyLawTests<TSelf, TConfiguration, TParameters>, IFamilyConfigurations<TConfiguration>
{
    /// <summary>The family's configurations as theory data.</summary>
    public static TheoryData<TConfiguration> Configurations
    {
        get
        {
            var data = new TheoryData<TConfiguration>();
            foreach (var configuration in TSelf.All) data.Add(configuration);
            return data;
        }
    }

    /// <summary>The independent model of one configuration.</summary>
    internal abstract FamilyOracle Oracle(TConfiguration configuration);

    /// <summary>The fixed seed of <see cref="SampleMeanMatchesMeanMap"/>.</summary>
    protected abstract int SampleSeed(TConfiguration configuration);

    /// <summary>The usual parameters of a draw of the oracle.</summary>
    internal abstract TParameters UsualParameters(Draw draw);

    /// <summary>The values of usual parameters, by name, to compare after a round trip.</summary>
    protected abstract IEnumerable<(string Name, double[] Values)> Entries(TParameters parameters);

    /// <summary>Relative tolerances of the round trip: on η (ToNatural) and on the usual parameters (FromNatural).</summary>
    protected abstract (double Natural, double Usual) RoundTripTolerance { get; }

    /// <summary>How many entries the usual parameters of a configuration have (D, or C for the categorical).</summary>
    protected abstract int ParameterSize(TConfiguration configuration);

    /// <summary>The smallest size usual parameters can have at all.</summary>
    protected virtual int MinimumParameterSize => 1;

    /// <summary>Valid usual parameters of the given size.</summary>
    protected abstract TParameters UsualParametersOfSize(int size);

    /// <summary>Points of the support that random observations rarely or never reach (zeros, huge counts, every category).</summary>
    protected virtual IEnumerable<double[]> SupportEdgeCases(TConfiguration configuration) => [];

    private ExponentialFamily<TParameters> Family(FamilyOracle oracle) => (ExponentialFamily<TParameters>)oracle.Family;

    [Theory, MemberData(nameof(Configurations))]
    public void MeanMapAndInverseMatchUsualParameters(TConfiguration configuration) => FamilyLaws.MeanMapAndInverseMatchUsualParameters(Oracle(configuration));

    [Theory, MemberData(nameof(Configurations))]
    public void InverseMeanMapInvertsMeanMap(TConfiguration configuration) => FamilyLaws.InverseMeanMapInvertsMeanMap(Oracle(configuration));

    [Theory, MemberData(nameof(Configurations))]
    public void MeanMapInvertsInverseMeanMap(TConfiguration configuration) => FamilyLaws.MeanMapInvertsInverseMeanMap(Oracle(configuration));

    [Theory, MemberData(nameof(Configurations))]
    public void MeanMapIsGradientOfLogNormalizer(TConfiguration configuration) => FamilyLaws.MeanMapIsGradientOfLogNormalizer(Oracle(configuration));

    [Theory, MemberData(nameof(Configurations))]
    public void DomainsMatchDefinitions(TConfiguration configuration) => FamilyLaws.DomainsMatchDefinitions(Oracle(configuration));

    [Theory, MemberData(nameof(Configurations))]
    public void SufficientStatisticsMatchDefinition(TConfiguration configuration) => FamilyLaws.SufficientStatisticsMatchDefinition(Oracle(configuration));

    /// <summary>Against MathNet (Bernoulli, Categorical, Poisson, Exponential) or the textbook multivariate normal.</summary>
    [Theory, MemberData(nameof(Configurations))]
    public void LogDensityMatchesIndependentFormula(TConfiguration configuration) => FamilyLaws.LogDensityMatchesIndependentFormula(Oracle(configuration));

    [Theory, MemberData(nameof(Configurations))]
    public void ClosedFormMStepIsAMaximum(TConfiguration configuration) => FamilyLaws.ClosedFormMStepIsAMaximum(Oracle(configuration));

    [Theory, MemberData(nameof(Configurations))]
    public void SampleMeanMatchesMeanMap(TConfiguration configuration) => FamilyLaws.SampleMeanMatchesMeanMap(Oracle(configuration), SampleSeed(configuration));

    /// <summary>
    /// ToNatural of the usual parameters is the oracle's η, FromNatural gives them back, and ToNatural accepts
    /// what FromNatural returns (for the Gaussian: the covariance structure survives the trip).
    /// </summary>
    [Theory, MemberData(nameof(Configurations))]
    public void ToNaturalAndFromNaturalRoundTripUsualParameters(TConfiguration configuration)
    {
        var o = Oracle(configuration);
        var f = Family(o);
        var (natural, usual) = RoundTripTolerance;
        PropertyChecks.ForAll(Gens.Seed.Select(s => o.DrawParameters(new Random(s))).ToArbitrary(), draw =>
        {
            var parameters = UsualParameters(draw);
            var eta = f.ToNatural(parameters);
            Approx.Vector(draw.Natural, eta, natural, $"ToNatural for {draw}");
            var back = f.FromNatural(eta);
            foreach (var (expected, actual) in Entries(parameters).Zip(Entries(back)))
                Approx.Vector(expected.Values, actual.Values, usual, $"FromNatural(ToNatural) {expected.Name} for {draw}");
            Approx.Vector(eta, f.ToNatural(back), natural, $"ToNatural(FromNatural(η)) for {draw}");
        }, FamilyLaws.Cases);
    }

    [Theory, MemberData(nameof(Configurations))]
    public void ToNaturalRejectsParametersOfTheWrongSize(TConfiguration configuration)
    {
        var f = Family(Oracle(configuration));
        int size = ParameterSize(configuration);
        foreach (int wrong in new[] { size - 1, size + 1 }.Where(w => w >= MinimumParameterSize))
        {
            var parameters = UsualParametersOfSize(wrong);
            var ex = Assert.ThrowsAny<ArgumentException>(() => f.ToNatural(parameters));
            Assert.Equal("parameters", ex.ParamName);
            Assert.Contains(wrong.ToString(CultureInfo.InvariantCulture), ex.Message);
        }
    }

    [Theory, MemberData(nameof(Configurations))]
    public void CheckSupportAcceptsPointsOfTheSupport(TConfiguration configuration) =>
        FamilyLaws.CheckSupportAcceptsPointsOfTheSupport(Oracle(configuration), SupportEdgeCases(configuration));
}

/// <summary>The shared laws of a family with a conjugate prior, plus the MAP step under that prior.</summary>
public abstract class ConjugateFamilyLawTests<TSelf, TConfiguration, TParameters> : FamilyLawTests<TSelf, TConfiguration, TParameters>
    where TSelf : ConjugateFamilyLawTests<TSelf, TConfiguration, TParameters>, IFamilyConfigurations<TConfiguration>
{
    /// <summary>A random conjugate prior for the family of one configuration.</summary>
    protected abstract ConjugatePrior DrawConjugatePrior(TConfiguration configuration, Random r);

    [Theory, MemberData(nameof(Configurations))]
    public void ClosedFormMapStepWithConjugatePriorIsAMaximum(TConfiguration configuration) =>
        FamilyLaws.ClosedFormMStepIsAMaximum(Oracle(configuration), r => DrawConjugatePrior(configuration, r));
}

/// <summary>
/// A configuration of several settings as one theory argument. xunit serializes it property by property (ints and
/// enums), so every configuration stays its own test case, and shows it by the record's ToString.
/// </summary>
public abstract record SerializableConfiguration : IXunitSerializable
{
    /// <summary>For xunit's deserializer (each derived record declares one too).</summary>
    public SerializableConfiguration() { }

    private IEnumerable<PropertyInfo> Settings => GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite);

    void IXunitSerializable.Serialize(IXunitSerializationInfo info)
    {
        foreach (var p in Settings) info.AddValue(p.Name, p.GetValue(this), p.PropertyType);
    }

    void IXunitSerializable.Deserialize(IXunitSerializationInfo info)
    {
        foreach (var p in Settings) p.SetValue(this, info.GetValue(p.Name, p.PropertyType));
    }
}
