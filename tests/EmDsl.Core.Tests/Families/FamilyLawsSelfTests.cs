using EmDsl.Families;

namespace EmDsl.Tests.Families;

/// <summary>
/// The family laws must be able to fail: each is run against a family with one small planted defect (and,
/// as a control, against the same wrapper without it, which must pass).
/// </summary>
public class FamilyLawsSelfTests
{
    /// <summary>Delegates to a real family; each hook, when set, replaces one member.</summary>
    private sealed class Mutant(ExponentialFamily inner) : ExponentialFamily
    {
        public Action<double[], double[]>? AfterInverseMeanMap { get; init; }
        public Action<double[], double[]>? AfterMeanMap { get; init; }
        public Func<double[], double, double>? AfterLogNormalizer { get; init; }
        public Action<double[], double[]>? AfterSample { get; init; }

        public override string Name => "mutant " + inner.Name;
        public override int Dimension => inner.Dimension;
        public override int StatisticCount => inner.StatisticCount;
        public override void SufficientStatistics(ReadOnlySpan<double> x, Span<double> statistics) => inner.SufficientStatistics(x, statistics);
        public override double LogBaseMeasure(ReadOnlySpan<double> x) => inner.LogBaseMeasure(x);
        public override SupportViolation? CheckSupport(ReadOnlySpan<double> x) => inner.CheckSupport(x);
        public override bool IsNaturalParameter(ReadOnlySpan<double> eta) => inner.IsNaturalParameter(eta);
        public override bool IsMeanParameter(ReadOnlySpan<double> mean) => inner.IsMeanParameter(mean);
        public override void ProjectMeanIntoDomain(Span<double> mean, double floor) => inner.ProjectMeanIntoDomain(mean, floor);

        public override double LogNormalizer(ReadOnlySpan<double> eta)
        {
            double a = inner.LogNormalizer(eta);
            return AfterLogNormalizer is null ? a : AfterLogNormalizer(eta.ToArray(), a);
        }

        public override void MeanMap(ReadOnlySpan<double> eta, Span<double> mean)
        {
            inner.MeanMap(eta, mean);
            if (AfterMeanMap is null) return;
            var m = mean.ToArray();
            AfterMeanMap(eta.ToArray(), m);
            m.CopyTo(mean);
        }

        public override void InverseMeanMap(ReadOnlySpan<double> mean, Span<double> eta)
        {
            inner.InverseMeanMap(mean, eta);
            if (AfterInverseMeanMap is null) return;
            var e = eta.ToArray();
            AfterInverseMeanMap(mean.ToArray(), e);
            e.CopyTo(eta);
        }

        public override void Sample(ReadOnlySpan<double> eta, Random random, Span<double> x)
        {
            inner.Sample(eta, random, x);
            if (AfterSample is null) return;
            var v = x.ToArray();
            AfterSample(eta.ToArray(), v);
            v.CopyTo(x);
        }
    }

    /// <summary>The oracle of a real configuration, with the family under test replaced.</summary>
    private sealed class Substituted(FamilyOracle inner, ExponentialFamily family) : FamilyOracle
    {
        public override ExponentialFamily Family => family;
        public override string Label => family.Name;
        public override Draw DrawParameters(Random r) => inner.DrawParameters(r);
        public override double[] DrawObservation(Random r) => inner.DrawObservation(r);
        public override double[] DrawDataObservation(Random r) => inner.DrawDataObservation(r);
        public override double[] Statistics(double[] x) => inner.Statistics(x);
        public override double LogBaseMeasure(double[] x) => inner.LogBaseMeasure(x);
        public override double LogDensity(double[] x, Draw draw) => inner.LogDensity(x, draw);
        public override bool? IsValidNatural(double[] eta) => inner.IsValidNatural(eta);
        public override bool? IsValidMean(double[] mean) => inner.IsValidMean(mean);
        public override double[] NaturalCandidate(Random r) => inner.NaturalCandidate(r);
        public override double[] MeanCandidate(Random r) => inner.MeanCandidate(r);
        public override int MinimumSampleSize => inner.MinimumSampleSize;
    }

    private static void FailsOnlyWithTheDefect(FamilyOracle real, Func<ExponentialFamily, Mutant> mutate, Action<FamilyOracle> law)
    {
        law(new Substituted(real, new Mutant(real.Family)));
        Assert.ThrowsAny<Exception>(() => law(new Substituted(real, mutate(real.Family))));
    }

    public static TheoryData<string> Oracles() => new() { "poisson", "bernoulli", "categorical", "gaussian-full", "gaussian-spherical" };

    private static FamilyOracle Real(string name) => name switch
    {
        "poisson" => new PoissonOracle(2),
        "bernoulli" => new BernoulliOracle(3),
        "categorical" => new CategoricalOracle(4, CategoricalEncoding.OneHot),
        "gaussian-full" => new GaussianOracle(2, CovarianceStructure.Full),
        _ => new GaussianOracle(3, CovarianceStructure.Spherical),
    };

    [Theory, MemberData(nameof(Oracles))]
    public void InverseLawsCatchABiasedInverseMeanMap(string name)
    {
        Mutant Biased(ExponentialFamily f) => new(f) { AfterInverseMeanMap = (_, eta) => eta[0] += 1e-6 * Math.Max(1, Math.Abs(eta[0])) };
        FailsOnlyWithTheDefect(Real(name), Biased, FamilyLaws.InverseMeanMapInvertsMeanMap);
        FailsOnlyWithTheDefect(Real(name), Biased, FamilyLaws.MeanMapInvertsInverseMeanMap);
        FailsOnlyWithTheDefect(Real(name), Biased, FamilyLaws.MeanMapAndInverseMatchUsualParameters);
    }

    [Theory, MemberData(nameof(Oracles))]
    public void MStepLawCatchesABiasedInverseMeanMap(string name) =>
        FailsOnlyWithTheDefect(Real(name), f => new Mutant(f) { AfterInverseMeanMap = (_, eta) => eta[^1] += 0.01 * Math.Max(1, Math.Abs(eta[^1])) },
            o => FamilyLaws.ClosedFormMStepIsAMaximum(o));

    [Theory, MemberData(nameof(Oracles))]
    public void GradientLawCatchesAMeanMapOffByOnePartIn10000(string name) =>
        FailsOnlyWithTheDefect(Real(name), f => new Mutant(f) { AfterMeanMap = (_, mean) => mean[^1] *= 1 + 1e-4 }, FamilyLaws.MeanMapIsGradientOfLogNormalizer);

    [Theory, MemberData(nameof(Oracles))]
    public void DensityLawCatchesAShiftedLogNormalizer(string name) =>
        FailsOnlyWithTheDefect(Real(name), f => new Mutant(f) { AfterLogNormalizer = (eta, a) => a + 1e-6 * (1 + Math.Abs(a)) }, FamilyLaws.LogDensityMatchesIndependentFormula);

    /// <summary>A Gaussian sampler whose spread is 3% too wide, or whose draws are shifted by a tenth of a standard deviation.</summary>
    [Fact]
    public void SamplingLawCatchesAMiscalibratedSampler()
    {
        var real = new GaussianOracle(2, CovarianceStructure.Full);
        double[] Mu(ExponentialFamily f, double[] eta)
        {
            var mean = new double[f.StatisticCount];
            f.MeanMap(eta, mean);
            return mean;
        }
        FailsOnlyWithTheDefect(real, f => new Mutant(f) { AfterSample = (eta, x) => { var m = Mu(f, eta); for (int i = 0; i < x.Length; i++) x[i] = m[i] + 1.03 * (x[i] - m[i]); } },
            o => FamilyLaws.SampleMeanMatchesMeanMap(o, seed: 9));
        FailsOnlyWithTheDefect(real, f => new Mutant(f) { AfterSample = (eta, x) => { var m = Mu(f, eta); x[1] += 0.1 * Math.Sqrt(m[4] - m[1] * m[1]); } },
            o => FamilyLaws.SampleMeanMatchesMeanMap(o, seed: 9));
    }
}
