using EmDsl.Families;
using EmDsl.Families.Priors;
using FsCheck.Fluent;
using MathNetSf = MathNet.Numerics.SpecialFunctions;

namespace EmDsl.Tests.Families;

/// <summary>The Dirichlet family from its textbook definition: T = log x, η = α − 1, μ_i = ψ(α_i) − ψ(Σα).</summary>
internal sealed class DirichletOracle(int dimension) : FamilyOracle
{
    public int Dimension { get; } = dimension;

    public override ExponentialFamily Family { get; } = new DirichletFamily(dimension);

    public override string Label => $"Dirichlet(D = {Dimension})";

    public static double[] Concentrations(Draw d) => (double[])d.Usual;

    public static Draw From(double[] alpha)
    {
        double psiTotal = MathNetSf.DiGamma(alpha.Sum());
        return MakeDraw(alpha.Select(a => a - 1).ToArray(), alpha.Select(a => MathNetSf.DiGamma(a) - psiTotal).ToArray(), alpha, $"Dirichlet α = {Fmt.V(alpha)}");
    }

    public override Draw DrawParameters(Random r) => From(r.Vector(Dimension, 0.2, 20));

    public override double[] DrawObservation(Random r) => r.ProbabilityVector(Dimension);

    public override double[] Statistics(double[] x) => x.Select(v => Math.Log(v)).ToArray();

    public override double LogBaseMeasure(double[] x) => 0;

    /// <summary>The textbook density Γ(Σα)/ΠΓ(α_i) Π x_i^{α_i − 1}, with MathNet's log Γ.</summary>
    public override double LogDensity(double[] x, Draw draw)
    {
        var alpha = Concentrations(draw);
        double s = MathNetSf.GammaLn(alpha.Sum());
        for (int i = 0; i < Dimension; i++) s += (alpha[i] - 1) * Math.Log(x[i]) - MathNetSf.GammaLn(alpha[i]);
        return s;
    }

    public override bool? IsValidNatural(double[] eta) => eta.All(v => double.IsFinite(v) && v > -1);

    public override bool? IsValidMean(double[] mean)
    {
        if (!mean.All(double.IsFinite)) return false;
        double e = mean.Sum(v => Math.Exp(v));
        return Math.Abs(e - 1) < 1e-12 ? null : e < 1;
    }

    public override double[] NaturalCandidate(Random r) =>
        r.Vector(Dimension, -2, 10).Select(v => r.Next(8) == 0 ? BernoulliOracle.Pick(r, double.NaN, double.PositiveInfinity, -1.0) : v).ToArray();

    public override double[] MeanCandidate(Random r) =>
        r.Vector(Dimension, -4, 0.2).Select(v => r.Next(8) == 0 ? BernoulliOracle.Pick(r, double.NaN, double.NegativeInfinity, double.PositiveInfinity) : v).ToArray();

    /// <summary>One row has no maximum-likelihood Dirichlet: two distinct rows are needed for an M-step with a maximum.</summary>
    public override int MinimumSampleSize => 2;
}

public class DirichletFamilyTests : ConjugateFamilyLawTests<DirichletFamilyTests, int, DirichletParameters>, IFamilyConfigurations<int>
{
    private const double Eps = 2.220446049250313e-16;

    /// <summary>The numbers of proportions D.</summary>
    static IEnumerable<int> IFamilyConfigurations<int>.All => [2, 3, 5];

    internal override DirichletOracle Oracle(int d) => new(d);

    protected override int SampleSeed(int d) => 7000 + d;

    protected override ConjugatePrior DrawConjugatePrior(int d, Random r) =>
        new DirichletFamily(d).Conjugate(new DirichletParameters(r.Vector(d, 0.3, 10)), r.Uniform(0.01, 5));

    internal override DirichletParameters UsualParameters(Draw draw) => new(DirichletOracle.Concentrations(draw));

    protected override IEnumerable<(string Name, double[] Values)> Entries(DirichletParameters parameters) => [("concentrations", parameters.Concentrations.ToArray())];

    protected override (double Natural, double Usual) RoundTripTolerance => (1e-15, 1e-14);

    protected override int ParameterSize(int d) => d;

    protected override int MinimumParameterSize => 2;

    protected override DirichletParameters UsualParametersOfSize(int size) => new(Enumerable.Repeat(2.0, size));

    /// <summary>Proportions near 0 and 1, and a sum off by less than the tolerance.</summary>
    protected override IEnumerable<double[]> SupportEdgeCases(int d)
    {
        var tiny = Enumerable.Repeat(1e-300, d).ToArray();
        tiny[0] = Math.BitDecrement(1.0);
        var off = Enumerable.Repeat(1.0 / d, d).ToArray();
        off[d - 1] += 0.9 * DirichletFamily.SimplexTolerance;
        return [tiny, off];
    }

    [Theory, MemberData(nameof(Configurations))]
    public void CheckSupportReportsProportionsOutsideTheOpenInterval(int d) =>
        FamilyLaws.CheckSupportReportsTheValueAtItsOffset(Oracle(d), 0.0, 1.0, -0.25, 1.5, double.NaN, double.PositiveInfinity);

    /// <summary>A row whose proportions lie in (0, 1) but do not sum to 1 is reported at the last offset, with its sum.</summary>
    [Fact]
    public void CheckSupportReportsARowThatDoesNotSumToOne()
    {
        var f = new DirichletFamily(3);
        var v = f.CheckSupport([0.2, 0.3, 0.4]);
        Assert.NotNull(v);
        Assert.Equal(2, v.Offset);
        Assert.Contains("sum to 0.9", v.Reason);
        Assert.NotNull(f.CheckSupport([0.2, 0.3, 0.5 + 2 * DirichletFamily.SimplexTolerance]));
        Assert.Null(f.CheckSupport([0.2, 0.3, 0.5 - 0.5 * DirichletFamily.SimplexTolerance]));
    }

    [Fact]
    public void ConstructionNeedsTwoProportions()
    {
        Assert.Equal("dimension", Assert.ThrowsAny<ArgumentException>(() => new DirichletFamily(1)).ParamName);
        var e = Assert.ThrowsAny<ArgumentException>(() => new DirichletParameters([2.0]));
        Assert.Equal("concentrations", e.ParamName);
        foreach (var bad in new[] { 0.0, -1.0, double.NaN, double.PositiveInfinity })
            Assert.Matches(EntryPattern.For(1), Assert.ThrowsAny<ArgumentException>(() => new DirichletParameters([2.0, bad, 3])).Message);
        var p = new DirichletParameters([1.5, 2, 0.5]);
        Assert.Equal("DirichletParameters { Concentrations = [1.5, 2, 0.5] }", p.ToString());
        Assert.Equal(p, new DirichletParameters(new List<double> { 1.5, 2, 0.5 }));
        Assert.Equal([0.375, 0.5, 0.125], p.Means);
    }

    /// <summary>
    /// FromMeanLog over concentrations from 1e-3 to 1e5 and D = 2…6. The mean logs m_i = ψ(α_i) − ψ(Σα) are differences
    /// of rounded digammas, each off by up to δm_i ≈ 4ε(|ψ(α_i)| + |ψ(Σα)| + 1), and the solver stops at a residual of
    /// 1e-14 of its scale, so the checks are (1) the residual max|m_i − ψ(α̂_i) + ψ(Σα̂)| ≤ 1e-13·max(1, |m|, |ψ(Σα̂)|)
    /// and (2) α̂ within the first-order propagation of those errors, |δα_i| ≤ 2 Σ_j |J⁻¹_ij| δm_j with J = ∇²A(η) =
    /// diag ψ₁(α) − ψ₁(Σα) 11ᵀ (large when one concentration is tiny next to a huge one, or when Σα is huge), plus 1e-10
    /// relative.
    /// </summary>
    [Fact]
    public void FromMeanLogIsAccurateFromTinyToHugeConcentrations() =>
        PropertyChecks.ForAll(Gens.Seed.ToArbitrary(), seed =>
        {
            var r = new Random(seed);
            int d = r.Next(2, 7);
            var alpha = Enumerable.Range(0, d).Select(_ => Math.Pow(10, r.Uniform(-3, 5))).ToArray();
            var m = DirichletOracle.From(alpha).Mean;
            var fitted = DirichletFamily.FromMeanLog(m);
            double total = fitted.Sum(), psiTotal = MathNetSf.DiGamma(total);
            double scale = Math.Max(1, Math.Max(m.Max(Math.Abs), Math.Abs(psiTotal)));
            for (int i = 0; i < d; i++)
                Approx.Equal(m[i], MathNetSf.DiGamma(fitted[i]) - psiTotal, 0, 1e-13 * scale, $"residual {i} for α = {Fmt.V(alpha)}");
            double s = alpha.Sum();
            var j = MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.Dense(d, d,
                (a, b) => (a == b ? EmDsl.Numerics.SpecialFunctions.Trigamma(alpha[a]) : 0) - EmDsl.Numerics.SpecialFunctions.Trigamma(s));
            var inverse = j.Inverse();
            var dm = alpha.Select(a => 4 * Eps * (Math.Abs(MathNetSf.DiGamma(a)) + Math.Abs(MathNetSf.DiGamma(s)) + 1) + 1e-14 * scale).ToArray();
            for (int i = 0; i < d; i++)
            {
                double bound = 2 * Enumerable.Range(0, d).Sum(k => Math.Abs(inverse[i, k]) * dm[k]);
                Approx.Equal(alpha[i], fitted[i], 1e-10, bound, $"α[{i}] of {Fmt.V(alpha)} (fitted {Fmt.V(fitted)})");
            }
        }, 300);

    [Fact]
    public void FromMeanLogRejectsMeansOutsideTheDomain()
    {
        Assert.Equal("meanLog", Assert.ThrowsAny<ArgumentException>(() => DirichletFamily.FromMeanLog([-1.0])).ParamName);
        Assert.Matches(EntryPattern.For(1), Assert.ThrowsAny<ArgumentException>(() => DirichletFamily.FromMeanLog([-1.0, double.NaN])).Message);
        var e = Assert.ThrowsAny<ArgumentException>(() => DirichletFamily.FromMeanLog([Math.Log(0.5), Math.Log(0.5)]));
        Assert.Contains("must be < 1", e.Message);
        Assert.ThrowsAny<ArgumentException>(() => new DirichletFamily(3).InverseMeanMap([-1.0, -1, 0.1], new double[3]));
    }

    /// <summary>
    /// ProjectMeanIntoDomain makes Σ e^{m_i} ≤ 1 − √floor (strictly below 1) by one common shift, leaving interior means
    /// unchanged; the shifted mean inverts to finite concentrations, Σα below about D/(2√floor).
    /// </summary>
    [Theory, MemberData(nameof(Configurations))]
    public void ProjectMeanIntoDomainKeepsMeansInterior(int d)
    {
        var f = new DirichletFamily(d);
        PropertyChecks.ForAll(Gens.Seed.ToArbitrary(), seed =>
        {
            var r = new Random(seed);
            double floor = Math.Pow(10, -r.Uniform(2, 14)), margin = Math.Sqrt(floor);
            var p = r.ProbabilityVector(d);
            double stretch = BernoulliOracle.Pick(r, 1, 1 + 1e-13, 1 - margin / 2, 1 - margin * 2, 1.3, r.Uniform(0.2, 0.99));
            var mean = p.Select(v => Math.Log(v * stretch)).ToArray();
            var projected = (double[])mean.Clone();
            f.ProjectMeanIntoDomain(projected, floor);
            double e = projected.Sum(v => Math.Exp(v));
            Assert.True(f.IsMeanParameter(projected) && e < 1, $"Σe^m = {e} after projecting {Fmt.V(mean)} (floor {floor})");
            if (mean.Sum(v => Math.Exp(v)) <= 1 - margin) Assert.Equal(mean, projected);
            else
            {
                Approx.Equal(1 - margin, e, 1e-14, 0, "Σe^m after the shift");
                double shift = projected[0] - mean[0];
                for (int i = 1; i < d; i++) Approx.Equal(shift, projected[i] - mean[i], 0, 1e-14, "common shift");
            }
            var eta = new double[d];
            f.InverseMeanMap(projected, eta);
            Assert.True(f.IsNaturalParameter(eta), $"η = {Fmt.V(eta)}");
            Assert.True(eta.Sum() + d <= d / margin, $"Σα = {eta.Sum() + d} above D/√floor");
        }, FamilyLaws.Cases);
    }

    [Fact]
    public void ConjugatePriorWithoutDataGivesTheReferenceAndWeakPriorIsUniform()
    {
        var f = new DirichletFamily(3);
        var reference = new DirichletParameters([0.7, 3, 12]);
        var prior = f.Conjugate(reference, 2.5);
        var mean = new double[3];
        prior.PosteriorMeanParameter(new double[3], 0, mean);
        var eta = new double[3];
        f.InverseMeanMap(mean, eta);
        Approx.Vector(f.ToNatural(reference), eta, 1e-11, "MAP without data");
        var weak = f.WeakPrior();
        Assert.Equal(0.01, weak.PseudoCount);
        double psi1MinusPsi3 = MathNetSf.DiGamma(1) - MathNetSf.DiGamma(3);
        Approx.Vector(Enumerable.Repeat(0.01 * psi1MinusPsi3, 3).ToArray(), weak.PseudoObservations.ToArray(), 1e-14, "φ of the weak prior");
        Assert.Equal("reference", Assert.ThrowsAny<ArgumentException>(() => f.Conjugate(new DirichletParameters([1.0, 1]), 1)).ParamName);
        // A component whose rows are all the same point gets finite concentrations under the weak prior.
        var x = new[] { 0.2, 0.5, 0.3 };
        weak.PosteriorMeanParameter(x.Select(v => 4 * Math.Log(v)).ToArray(), 4, mean);
        f.InverseMeanMap(mean, eta);
        Assert.True(f.IsNaturalParameter(eta));
        Assert.All(f.FromNatural(eta).Concentrations, a => Assert.InRange(a, 1, 1e6));
    }

    /// <summary>Sampling with tiny concentrations stays in the support (log-space Gamma draws, clamped proportions).</summary>
    [Fact]
    public void SamplingTinyConcentrationsStaysInTheSupport()
    {
        var f = new DirichletFamily(4);
        var eta = f.ToNatural(new DirichletParameters([0.02, 0.05, 0.01, 3]));
        var random = new Random(71);
        var x = new double[4];
        for (int i = 0; i < 5000; i++)
        {
            f.Sample(eta, random, x);
            Assert.Null(f.CheckSupport(x));
        }
    }
}
