using EmDsl.Families;
using EmDsl.Families.Priors;
using FsCheck.Fluent;
using MathNetSf = MathNet.Numerics.SpecialFunctions;

namespace EmDsl.Tests.Families;

/// <summary>
/// The von Mises family from its textbook definition, with MathNet's Bessel functions (Cephes I₀, I₁ below 700;
/// Amos's scaled ones above): T = (cos x, sin x), η = κ(cos μ, sin μ), E[T] = I₁(κ)/I₀(κ)·(cos μ, sin μ).
/// </summary>
internal sealed class VonMisesOracle(int dimension) : FamilyOracle
{
    public int Dimension { get; } = dimension;

    public override ExponentialFamily Family { get; } = new VonMisesFamily(dimension);

    public override string Label => $"von Mises(D = {Dimension})";

    public static (double[] Directions, double[] Kappas) Parameters(Draw d) => ((double[], double[]))d.Usual;

    /// <summary>I₁(κ)/I₀(κ) by MathNet.</summary>
    public static double Ratio(double kappa) =>
        kappa == 0 ? 0 : kappa <= 700 ? MathNetSf.BesselI1(kappa) / MathNetSf.BesselI0(kappa) : MathNetSf.BesselIScaled(1, kappa) / MathNetSf.BesselIScaled(0, kappa);

    /// <summary>log I₀(κ) by MathNet.</summary>
    public static double LogI0(double kappa) => kappa <= 700 ? Math.Log(MathNetSf.BesselI0(kappa)) : kappa + Math.Log(MathNetSf.BesselIScaled(0, kappa));

    public static Draw From(double[] directions, double[] kappas)
    {
        int n = directions.Length;
        var eta = new double[2 * n];
        var mean = new double[2 * n];
        for (int d = 0; d < n; d++)
        {
            double c = Math.Cos(directions[d]), s = Math.Sin(directions[d]), a = Ratio(kappas[d]);
            eta[2 * d] = kappas[d] * c;
            eta[2 * d + 1] = kappas[d] * s;
            mean[2 * d] = a * c;
            mean[2 * d + 1] = a * s;
        }
        return MakeDraw(eta, mean, (directions, kappas), $"von Mises μ = {Fmt.V(directions)}, κ = {Fmt.V(kappas)}");
    }

    public override Draw DrawParameters(Random r) => From(r.Vector(Dimension, -3.1, 3.1), r.Vector(Dimension, 0.05, 40));

    /// <summary>Any real angle; most in a few turns around 0.</summary>
    public override double[] DrawObservation(Random r) => r.Vector(Dimension, -20, 20);

    public override double[] Statistics(double[] x) => x.SelectMany(v => new[] { Math.Cos(v), Math.Sin(v) }).ToArray();

    public override double LogBaseMeasure(double[] x) => 0;

    /// <summary>κ cos(x − μ) − log(2π I₀(κ)).</summary>
    public override double LogDensity(double[] x, Draw draw)
    {
        var (mu, kappa) = Parameters(draw);
        return Enumerable.Range(0, Dimension).Sum(d => kappa[d] * Math.Cos(x[d] - mu[d]) - Math.Log(2 * Math.PI) - LogI0(kappa[d]));
    }

    public override bool? IsValidNatural(double[] eta) => eta.All(double.IsFinite);

    public override bool? IsValidMean(double[] mean)
    {
        if (!mean.All(double.IsFinite)) return false;
        bool? valid = true;
        for (int d = 0; d < Dimension; d++)
        {
            double rbar = Math.Sqrt(mean[2 * d] * mean[2 * d] + mean[2 * d + 1] * mean[2 * d + 1]);
            if (Math.Abs(rbar - 1) < 1e-12) valid = null;
            else if (rbar > 1) return false;
        }
        return valid;
    }

    public override double[] NaturalCandidate(Random r) =>
        r.Vector(2 * Dimension, -50, 50).Select(v => r.Next(8) == 0 ? BernoulliOracle.Pick(r, double.NaN, double.PositiveInfinity, double.NegativeInfinity, 0.0) : v).ToArray();

    public override double[] MeanCandidate(Random r) =>
        r.Vector(2 * Dimension, -1, 1).Select(v => r.Next(8) == 0 ? BernoulliOracle.Pick(r, double.NaN, double.PositiveInfinity, 0.0) : v).ToArray();

    /// <summary>One angle has no maximum-likelihood κ (R̄ = 1): two distinct angles are needed for an M-step with a maximum.</summary>
    public override int MinimumSampleSize => 2;
}

public class VonMisesFamilyTests : ConjugateFamilyLawTests<VonMisesFamilyTests, int, VonMisesParameters>, IFamilyConfigurations<int>
{
    private const double Eps = 2.220446049250313e-16;

    /// <summary>The dimensions D.</summary>
    static IEnumerable<int> IFamilyConfigurations<int>.All => [1, 2, 3];

    internal override VonMisesOracle Oracle(int d) => new(d);

    protected override int SampleSeed(int d) => 9000 + d;

    protected override ConjugatePrior DrawConjugatePrior(int d, Random r) =>
        new VonMisesFamily(d).Conjugate(new VonMisesParameters(r.Vector(d, -3, 3), r.Vector(d, 0, 20)), r.Uniform(0.01, 5));

    internal override VonMisesParameters UsualParameters(Draw draw)
    {
        var (mu, kappa) = VonMisesOracle.Parameters(draw);
        return new(mu, kappa);
    }

    protected override IEnumerable<(string Name, double[] Values)> Entries(VonMisesParameters parameters) =>
        [("directions", parameters.MeanDirections.ToArray()), ("concentrations", parameters.Concentrations.ToArray())];

    protected override (double Natural, double Usual) RoundTripTolerance => (1e-15, 1e-14);

    protected override int ParameterSize(int d) => d;

    protected override VonMisesParameters UsualParametersOfSize(int size) => new(Enumerable.Repeat(0.5, size), Enumerable.Repeat(2.0, size));

    /// <summary>Angles far outside [−π, π).</summary>
    protected override IEnumerable<double[]> SupportEdgeCases(int d) => [Enumerable.Repeat(1e12, d).ToArray(), Enumerable.Repeat(-7.5, d).ToArray()];

    [Theory, MemberData(nameof(Configurations))]
    public void CheckSupportReportsNonFiniteAngles(int d) =>
        FamilyLaws.CheckSupportReportsTheValueAtItsOffset(Oracle(d), double.NaN, double.PositiveInfinity, double.NegativeInfinity);

    [Fact]
    public void VonMisesParametersRejectBadEntriesNamingThem()
    {
        foreach (var bad in new[] { -0.5, double.NaN, double.PositiveInfinity })
        {
            var e = Assert.ThrowsAny<ArgumentException>(() => new VonMisesParameters([0.0, 1], [1.0, bad]));
            Assert.Equal("concentrations", e.ParamName);
            Assert.Matches(EntryPattern.For(1), e.Message);
        }
        var direction = Assert.ThrowsAny<ArgumentException>(() => new VonMisesParameters([double.NaN], [1.0]));
        Assert.Equal("meanDirections", direction.ParamName);
        var p = new VonMisesParameters([0.5, -2], [0, 3.25]);
        Assert.Equal("VonMisesParameters { MeanDirections = [0.5, -2], Concentrations = [0, 3.25] }", p.ToString());
        Assert.Equal(p, new VonMisesParameters([0.5, -2], [0, 3.25]));
    }

    /// <summary>
    /// κ from 0 to 1e8: the mean resultant length computed by MathNet for κ inverts back to κ. Near R̄ = 1 the problem is
    /// ill-conditioned — R̄ carries ~ε of rounding and dR̄/dκ = A₁′(κ) ≈ 1/(2κ²) — so κ is known to about
    /// 4ε/(κ A₁′(κ)) relative (≈ 1e-11 at κ = 1e4, 1e-7 at 1e8); the residual |A₁(κ̂) − R̄| must still be at rounding level.
    /// </summary>
    [Fact]
    public void ConcentrationIsAccurateFromZeroToHuge()
    {
        foreach (var kappa in new[] { 1e-300, 1e-12, 1e-6, 1e-3, 0.1, 0.5, 1, 2.5, 10, 19.9, 20.1, 50, 300, 1e3, 1e4, 1e5, 1e6, 1e8 })
        {
            double rbar = VonMisesOracle.Ratio(kappa);
            double fitted = VonMisesFamily.ConcentrationFromMeanResultantLength(rbar);
            EmDsl.Numerics.SpecialFunctions.BesselRatioI1I0(kappa, out double slope);
            double conditioning = 4 * Eps * rbar / (kappa * slope);
            Approx.Equal(kappa, fitted, 1e-13 + conditioning, 0, $"κ from R̄ = {rbar}");
            Approx.Equal(rbar, VonMisesFamily.MeanResultantLength(fitted), 4 * Eps, 0, $"A₁(κ̂) for κ = {kappa}");
        }
        Assert.Equal(0, VonMisesFamily.ConcentrationFromMeanResultantLength(0));
        Assert.Equal((0.0, 0.0), VonMisesFamily.FromMeanResultant(0, 0));
    }

    [Fact]
    public void FromMeanResultantGivesTheDirectionAndRejectsResultantsOfOneOrMore()
    {
        PropertyChecks.ForAll(Gens.Seed.ToArbitrary(), seed =>
        {
            var r = new Random(seed);
            double mu = r.Uniform(-3.14, 3.14), kappa = Math.Pow(10, r.Uniform(-3, 4)), rbar = VonMisesOracle.Ratio(kappa);
            var (direction, fitted) = VonMisesFamily.FromMeanResultant(rbar * Math.Cos(mu), rbar * Math.Sin(mu));
            Approx.Equal(mu, direction, 1e-14, 1e-14, $"direction for μ = {mu}, κ = {kappa}");
            // R̄ reaches FromMeanResultant through MathNet's I₁/I₀, cos/sin, two products and hypot: up to ~8 ulps, which
            // 1/(κA₁′(κ)) ≈ 2κ amplifies (see ConcentrationIsAccurateFromZeroToHuge).
            Approx.Equal(kappa, fitted, 1e-12 + 8 * Eps * 2 * kappa, 0, $"κ = {kappa}");
        });
        foreach (var (c, s) in new[] { (1.0, 0.0), (0.8, 0.7), (double.NaN, 0.0), (0.0, double.PositiveInfinity) })
            Assert.ThrowsAny<ArgumentException>(() => VonMisesFamily.FromMeanResultant(c, s));
        Assert.Equal("meanResultantLength", Assert.ThrowsAny<ArgumentException>(() => VonMisesFamily.ConcentrationFromMeanResultantLength(-0.1)).ParamName);
        Assert.Equal("mean", Assert.ThrowsAny<ArgumentException>(() => new VonMisesFamily(1).InverseMeanMap([0.6, 0.8], new double[2])).ParamName);
        Assert.Equal("concentration", Assert.ThrowsAny<ArgumentException>(() => VonMisesFamily.MeanResultantLength(-1)).ParamName);
    }

    /// <summary>
    /// Large κ neither overflows nor loses the log normaliser: A(η) = log 2π + log I₀(κ) against MathNet's scaled Bessel
    /// function, and the mean map at κ = 1e4 and 1e8 is A₁(κ)(cos μ, sin μ). κ = 0 is the uniform distribution.
    /// </summary>
    [Fact]
    public void HugeAndZeroConcentrations()
    {
        var f = new VonMisesFamily(1);
        foreach (var kappa in new[] { 1e4, 1e8 })
        {
            var eta = f.ToNatural(new VonMisesParameters([1.2], [kappa]));
            Approx.Equal(Math.Log(2 * Math.PI) + VonMisesOracle.LogI0(kappa), f.LogNormalizer(eta), 1e-15, 0, $"A at κ = {kappa}");
            var mean = new double[2];
            f.MeanMap(eta, mean);
            Approx.Vector([VonMisesOracle.Ratio(kappa) * Math.Cos(1.2), VonMisesOracle.Ratio(kappa) * Math.Sin(1.2)], mean, 1e-14, $"∇A at κ = {kappa}");
        }
        // MathNet's Amos routine gives NaN at 1e15; there log I₀(κ) = κ − ½ log(2πκ) + 1/(8κ) + O(κ⁻²) suffices.
        double huge = 1e15;
        Approx.Equal(Math.Log(2 * Math.PI) + huge - 0.5 * Math.Log(2 * Math.PI * huge), f.LogNormalizer([0, huge]), 1e-15, 0, "A at κ = 1e15");
        var zero = new double[2];
        f.MeanMap([0, 0], zero);
        Assert.Equal([0.0, 0.0], zero);
        Assert.Equal(Math.Log(2 * Math.PI), f.LogNormalizer([0, 0]));
        var back = new double[2];
        f.InverseMeanMap([0, 0], back);
        Assert.Equal([0.0, 0.0], back);
        Assert.Equal(new VonMisesParameters([0.0], [0.0]), f.FromNatural([0, 0]));
        // The uniform distribution: log density −log 2π everywhere.
        Approx.Equal(-Math.Log(2 * Math.PI), f.LogDensity([2.7], [0, 0]), 1e-15, 0, "uniform density");
    }

    /// <summary>
    /// Per column, ProjectMeanIntoDomain shrinks a mean resultant longer than 1 − √floor to 1 − √floor, keeping its
    /// direction, and leaves shorter ones alone; the result inverts to a finite κ ≲ 1/(2√floor).
    /// </summary>
    [Theory, MemberData(nameof(Configurations))]
    public void ProjectMeanIntoDomainKeepsMeansInterior(int d)
    {
        var f = new VonMisesFamily(d);
        PropertyChecks.ForAll(Gens.Seed.ToArbitrary(), seed =>
        {
            var r = new Random(seed);
            double floor = Math.Pow(10, -r.Uniform(2, 14)), margin = Math.Sqrt(floor);
            var mean = new double[2 * d];
            for (int j = 0; j < d; j++)
            {
                double angle = r.Uniform(-10, 10), length = BernoulliOracle.Pick(r, 1, 1 + 1e-15, 1 - margin / 2, 1 - 2 * margin, 1.5, r.Uniform(0, 0.99));
                mean[2 * j] = length * Math.Cos(angle);
                mean[2 * j + 1] = length * Math.Sin(angle);
            }
            var projected = (double[])mean.Clone();
            f.ProjectMeanIntoDomain(projected, floor);
            Assert.True(f.IsMeanParameter(projected), $"{Fmt.V(projected)} from {Fmt.V(mean)} (floor {floor})");
            for (int j = 0; j < d; j++)
            {
                double before = double.Hypot(mean[2 * j], mean[2 * j + 1]), after = double.Hypot(projected[2 * j], projected[2 * j + 1]);
                if (before <= 1 - margin) Assert.Equal(mean.AsSpan(2 * j, 2).ToArray(), projected.AsSpan(2 * j, 2).ToArray());
                else
                {
                    Approx.Equal(1 - margin, after, 1e-15, 0, "shrunk resultant length");
                    Approx.Equal(Math.Atan2(mean[2 * j + 1], mean[2 * j]), Math.Atan2(projected[2 * j + 1], projected[2 * j]), 1e-14, 1e-14, "direction kept");
                }
            }
            var eta = new double[2 * d];
            f.InverseMeanMap(projected, eta);
            Assert.True(f.IsNaturalParameter(eta));
            for (int j = 0; j < d; j++) Assert.True(double.Hypot(eta[2 * j], eta[2 * j + 1]) <= 0.51 / margin + 1, $"κ above 1/(2√{floor})");
        }, FamilyLaws.Cases);
    }

    [Fact]
    public void ConjugatePriorWithoutDataGivesTheReferenceAndWeakPriorShrinksTheResultant()
    {
        var f = new VonMisesFamily(2);
        var reference = new VonMisesParameters([2.0, -0.4], [0.7, 15]);
        var prior = f.Conjugate(reference, 1.5);
        var mean = new double[4];
        prior.PosteriorMeanParameter(new double[4], 0, mean);
        var eta = new double[4];
        f.InverseMeanMap(mean, eta);
        Approx.Vector(f.ToNatural(reference), eta, 1e-12, "MAP without data");
        var weak = f.WeakPrior();
        Assert.Equal([0.0, 0, 0, 0], weak.PseudoObservations);
        // Three rows all at angle 1: the ML κ is infinite; under the weak prior R̄ = 3/3.01.
        f.WeakPrior().PosteriorMeanParameter(new double[] { 3 * Math.Cos(1), 3 * Math.Sin(1), 3 * Math.Cos(1), 3 * Math.Sin(1) }.AsSpan(0, 4), 3, mean);
        f.InverseMeanMap(mean, eta);
        Assert.True(f.IsNaturalParameter(eta));
        Approx.Equal(3 / 3.01, VonMisesFamily.MeanResultantLength(f.FromNatural(eta).Concentrations[0]), 1e-14, 0, "shrunk R̄");
        Assert.Equal("reference", Assert.ThrowsAny<ArgumentException>(() => f.Conjugate(new VonMisesParameters([0.0], [1.0]), 1)).ParamName);
    }

    /// <summary>Samples at κ = 1e7 (normal approximation) and κ = 1e-9 (uniform) have the mean resultant A₁(κ) within 4.5 standard errors, in [−π, π).</summary>
    [Fact]
    public void SamplingAtExtremeConcentrations()
    {
        var f = new VonMisesFamily(1);
        foreach (var (kappa, mu, seed) in new[] { (1e7, 3.1, 91), (1e-9, -1.0, 92), (3e5, 0.0, 93) })
        {
            var eta = f.ToNatural(new VonMisesParameters([mu], [kappa]));
            var random = new Random(seed);
            var x = new double[1];
            double sc = 0, ss = 0, scc = 0, sss = 0;
            const int n = 20_000;
            for (int i = 0; i < n; i++)
            {
                f.Sample(eta, random, x);
                Assert.InRange(x[0], -Math.PI, Math.BitDecrement(Math.PI));
                double c = Math.Cos(x[0]), s = Math.Sin(x[0]);
                sc += c; ss += s; scc += c * c; sss += s * s;
            }
            var expected = new double[2];
            f.MeanMap(eta, expected);
            double mc = sc / n, ms = ss / n;
            double sec = Math.Sqrt(Math.Max(scc / n - mc * mc, 0) / n), ses = Math.Sqrt(Math.Max(sss / n - ms * ms, 0) / n);
            Assert.True(Math.Abs(mc - expected[0]) <= 4.5 * sec + 1e-12, $"mean cos {mc} vs {expected[0]} (se {sec}) at κ = {kappa}");
            Assert.True(Math.Abs(ms - expected[1]) <= 4.5 * ses + 1e-12, $"mean sin {ms} vs {expected[1]} (se {ses}) at κ = {kappa}");
        }
    }
}
