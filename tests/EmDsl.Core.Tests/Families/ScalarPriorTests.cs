using EmDsl.Families.Priors;
using FsCheck.Fluent;
using MathNet.Numerics.Distributions;

namespace EmDsl.Tests.Families;

public class BetaPriorTests
{
    [Fact]
    public void LogDensityMatchesMathNetBeta() =>
        PropertyChecks.ForAll(Gens.ConcentrationAtLeastOne(20).Two().SelectMany(_ => Gens.Uniform(1e-6, 1 - 1e-6), (ab, p) => (ab.Item1, ab.Item2, p)).ToArbitrary(), c =>
        {
            var (a, b, p) = c;
            Approx.Equal(Beta.PDFLn(a, b, p), new BetaPrior(a, b).LogDensity(p), 1e-11, 1e-11, $"log Beta({p} | {a}, {b})");
        });

    [Fact]
    public void LogDensityAtTheBoundariesAndOutside()
    {
        PropertyChecks.ForAll(Gens.Uniform(1, 20).Two().ToArbitrary(), ab =>
        {
            var (a, b) = ab;
            var prior = new BetaPrior(a, b);
            Assert.Equal(double.NegativeInfinity, prior.LogDensity(-1e-9));
            Assert.Equal(double.NegativeInfinity, prior.LogDensity(1 + 1e-9));
            // log Beta(0 | 1, b) = −log B(1, b) = log b, and the density vanishes at 0 when α > 1.
            Approx.Equal(Math.Log(b), new BetaPrior(1, b).LogDensity(0), 1e-12, 1e-12, $"log Beta(0 | 1, {b})");
            Approx.Equal(Math.Log(a), new BetaPrior(a, 1).LogDensity(1), 1e-12, 1e-12, $"log Beta(1 | {a}, 1)");
            if (a > 1) Assert.Equal(double.NegativeInfinity, prior.LogDensity(0));
            if (b > 1) Assert.Equal(double.NegativeInfinity, prior.LogDensity(1));
        });
        Assert.Equal(0, new BetaPrior(1, 1).LogDensity(0.3), 12);
    }

    [Theory]
    [InlineData(0.999, 2, "alpha")]
    [InlineData(0, 2, "alpha")]
    [InlineData(-1, 2, "alpha")]
    [InlineData(double.NaN, 2, "alpha")]
    [InlineData(double.PositiveInfinity, 2, "alpha")]
    [InlineData(2, 0.5, "beta")]
    [InlineData(2, double.NaN, "beta")]
    [InlineData(2, double.PositiveInfinity, "beta")]
    public void ConstructorRejectsInvalidHyperparametersNamingThem(double a, double b, string parameter)
    {
        var ex = Assert.ThrowsAny<ArgumentException>(() => new BetaPrior(a, b));
        Assert.Equal(parameter, ex.ParamName);
    }
}

public class GammaPriorTests
{
    [Fact]
    public void LogDensityMatchesMathNetGammaShapeRate() =>
        PropertyChecks.ForAll(Gens.ConcentrationAtLeastOne(20).SelectMany(_ => Gens.Uniform(0.01, 10), (a, b) => (a, b))
            .SelectMany(_ => Gens.Uniform(1e-4, 30), (ab, x) => (ab.a, ab.b, x)).ToArbitrary(), c =>
        {
            var (a, b, x) = c;
            var prior = new GammaPrior(a, b);
            Assert.True(prior.IsProper);
            Approx.Equal(Gamma.PDFLn(a, b, x), prior.LogDensity(x), 1e-11, 1e-11, $"log Gamma({x} | shape {a}, rate {b})");
        });

    /// <summary>Rate 0 is improper: LogDensity is the kernel (a − 1) log λ, with no normalising constant.</summary>
    [Fact]
    public void ImproperRateZeroGivesTheKernel() =>
        PropertyChecks.ForAll(Gens.ConcentrationAtLeastOne(20).SelectMany(_ => Gens.Uniform(1e-4, 30), (a, x) => (a, x)).ToArbitrary(), c =>
        {
            var (a, x) = c;
            var prior = new GammaPrior(a, 0);
            Assert.False(prior.IsProper);
            Approx.Equal((a - 1) * Math.Log(x), prior.LogDensity(x), 1e-12, 1e-12, $"kernel of Gamma({a}, 0) at {x}");
        });

    [Fact]
    public void LogDensityAtZeroAndBelow()
    {
        PropertyChecks.ForAll(Gens.Uniform(1, 20).SelectMany(_ => Gens.Uniform(0.01, 10), (a, b) => (a, b)).ToArbitrary(), c =>
        {
            var (a, b) = c;
            Assert.Equal(double.NegativeInfinity, new GammaPrior(a, b).LogDensity(-1e-9));
            // Gamma(1, b) is the Exponential(b): density b at 0.
            Approx.Equal(Math.Log(b), new GammaPrior(1, b).LogDensity(0), 1e-12, 1e-12, $"log Gamma(0 | 1, {b})");
            if (a > 1) Assert.Equal(double.NegativeInfinity, new GammaPrior(a, b).LogDensity(0));
        });
    }

    [Theory]
    [InlineData(0.5, 1, "shape")]
    [InlineData(-2, 1, "shape")]
    [InlineData(double.NaN, 1, "shape")]
    [InlineData(double.PositiveInfinity, 1, "shape")]
    [InlineData(2, -0.1, "rate")]
    [InlineData(2, double.NaN, "rate")]
    [InlineData(2, double.PositiveInfinity, "rate")]
    public void ConstructorRejectsInvalidHyperparametersNamingThem(double shape, double rate, string parameter)
    {
        var ex = Assert.ThrowsAny<ArgumentException>(() => new GammaPrior(shape, rate));
        Assert.Equal(parameter, ex.ParamName);
    }
}

public class DirichletPriorTests
{
    private static FsCheck.Arbitrary<(double[] Alpha, double[] P)> AlphaAndSimplexPoint() =>
        Gen.Choose(2, 6).SelectMany(c => Gens.ConcentrationAtLeastOne(10).ArrayOf(c), (c, alpha) => (c, alpha))
            .SelectMany(t => Gens.Seed, (t, seed) => (t.alpha, new Random(seed).ProbabilityVector(t.c))).ToArbitrary();

    [Fact]
    public void LogDensityMatchesMathNetDirichlet() =>
        PropertyChecks.ForAll(AlphaAndSimplexPoint(), c =>
        {
            var expected = new Dirichlet(c.Alpha).DensityLn(c.P);
            Approx.Equal(expected, new DirichletPrior(c.Alpha).LogDensity(c.P), 1e-11, 1e-11, $"log Dirichlet({Fmt.V(c.P)} | {Fmt.V(c.Alpha)})");
        });

    [Fact]
    public void LogDensityIsMinusInfinityForNegativeEntries() =>
        PropertyChecks.ForAll(AlphaAndSimplexPoint(), c =>
        {
            var p = (double[])c.P.Clone();
            p[0] = -0.01;
            p[1] += 0.01 + c.P[0];
            Assert.Equal(double.NegativeInfinity, new DirichletPrior(c.Alpha).LogDensity(p));
        });

    /// <summary>The documented contract: "−∞ off the simplex". Non-negative vectors that do not sum to one are off it.</summary>
    [Fact]
    public void LogDensityIsMinusInfinityOffTheSimplex() =>
        PropertyChecks.ForAll(AlphaAndSimplexPoint().Generator.SelectMany(_ => Gen.Elements(0.5, 0.9, 1.1, 2.0), (c, k) => (c.Alpha, c.P, k)).ToArbitrary(), c =>
        {
            var p = c.P.Select(v => v * c.k).ToArray();
            double value = new DirichletPrior(c.Alpha).LogDensity(p);
            Assert.True(double.IsNegativeInfinity(value), $"LogDensity({Fmt.V(p)}) (sum {p.Sum():G6}) = {value} under Dirichlet({Fmt.V(c.Alpha)}); expected −∞ off the simplex");
        });

    [Fact]
    public void LogDensityRejectsWrongLength()
    {
        var ex = Assert.ThrowsAny<ArgumentException>(() => DirichletPrior.Symmetric(3, 2).LogDensity([0.5, 0.5]));
        Assert.Equal("p", ex.ParamName);
    }

    /// <summary>
    /// The posterior mode of Dirichlet(α + n) is (α_j − 1 + n_j)/(Σα − C + Σn): it sums to one, and no nearby
    /// point of the simplex has a higher MathNet Dirichlet(α + n) density.
    /// </summary>
    [Fact]
    public void PosteriorModeIsTheModeOfThePosterior() =>
        PropertyChecks.ForAll(Gens.Seed.ToArbitrary(), seed =>
        {
            var r = new Random(seed);
            int c = r.Next(2, 7);
            var alpha = Enumerable.Range(0, c).Select(_ => r.Next(4) == 0 ? 1.0 : r.Uniform(1, 6)).ToArray();
            var counts = Enumerable.Range(0, c).Select(_ => r.Next(4) == 0 ? 0 : r.Uniform(0, 20)).ToArray();
            var prior = new DirichletPrior(alpha);
            var mode = new double[c];
            prior.PosteriorMode(counts, mode);
            double total = alpha.Sum() - c + counts.Sum();
            var expected = total > 0 ? alpha.Zip(counts, (a, n) => (a - 1 + n) / total).ToArray() : Enumerable.Repeat(1.0 / c, c).ToArray();
            Approx.Vector(expected, mode, 1e-13, $"mode of Dirichlet({Fmt.V(alpha)}) with counts {Fmt.V(counts)}");
            Approx.Equal(1, mode.Sum(), 1e-13, 1e-13, "sum of the posterior mode");
            if (mode.All(v => v > 1e-3))
            {
                var posterior = new Dirichlet(alpha.Zip(counts, (a, n) => a + n).ToArray());
                double top = posterior.DensityLn(mode);
                for (int k = 0; k < 20; k++)
                {
                    var p = mode.Select(v => v * Math.Exp(r.Uniform(-0.2, 0.2))).ToArray();
                    double s = p.Sum();
                    p = p.Select(v => v / s).ToArray();
                    Assert.True(posterior.DensityLn(p) <= top + 1e-10 * (1 + Math.Abs(top)),
                        $"{Fmt.V(p)} beats the mode {Fmt.V(mode)} of Dirichlet({Fmt.V(alpha)} + {Fmt.V(counts)})");
                }
            }
        });

    [Fact]
    public void PosteriorModeOfAFlatPriorWithoutCountsIsUniform()
    {
        var mode = new double[4];
        DirichletPrior.Symmetric(4, 1).PosteriorMode(new double[4], mode);
        Assert.All(mode, v => Assert.Equal(0.25, v, 15));
    }

    [Fact]
    public void ConstructorRejectsConcentrationBelowOneNamingTheEntry()
    {
        PropertyChecks.ForAll(Gens.Seed.SelectMany(_ => Gen.Elements(0.999, 0.0, -1.0, double.NaN, double.PositiveInfinity), (s, v) => (s, v)).ToArbitrary(), c =>
        {
            var r = new Random(c.s);
            var alpha = r.Vector(r.Next(2, 7), 1, 5);
            int bad = r.Next(alpha.Length);
            alpha[bad] = c.v;
            var ex = Assert.ThrowsAny<ArgumentException>(() => new DirichletPrior(alpha));
            Assert.Equal("concentration", ex.ParamName);
            Assert.Matches(EntryPattern.For(bad), ex.Message);
        }, 30);
        Assert.Equal("concentration", Assert.ThrowsAny<ArgumentException>(() => new DirichletPrior([2.0])).ParamName);
        Assert.Equal("categories", Assert.ThrowsAny<ArgumentException>(() => DirichletPrior.Symmetric(1, 2)).ParamName);
        Assert.ThrowsAny<ArgumentException>(() => DirichletPrior.Symmetric(3, 0.5));
    }

    [Fact]
    public void EqualityIsOverTheConcentrations()
    {
        var a = new DirichletPrior([1.5, 2, 3]);
        var b = new DirichletPrior(new List<double> { 1.5, 2, 3 });
        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, new DirichletPrior([1.5, 2, 3.5]));
        Assert.NotEqual(a, new DirichletPrior([1.5, 2]));
    }
}

public class ConjugatePriorTests
{
    /// <summary>(φ + S)/(ν + R) entrywise, whatever φ, ν, S and R are.</summary>
    [Fact]
    public void PosteriorMeanParameterIsPseudoPlusDataOverPseudoCountPlusCount() =>
        PropertyChecks.ForAll(Gens.Seed.ToArbitrary(), seed =>
        {
            var r = new Random(seed);
            int s = r.Next(1, 8);
            var phi = r.Vector(s, -5, 5);
            double nu = r.Next(4) == 0 ? 0 : r.Uniform(0, 10);
            var stats = r.Vector(s, -50, 50);
            double count = r.Uniform(0.1, 30);
            var prior = new ConjugatePrior(phi, nu, _ => 0, "test");
            var mean = new double[s];
            prior.PosteriorMeanParameter(stats, count, mean);
            Approx.Vector(phi.Zip(stats, (p, t) => (p + t) / (nu + count)).ToArray(), mean, 1e-15, $"φ = {Fmt.V(phi)}, ν = {nu}");
            Assert.Equal(phi, prior.PseudoObservations);
            Assert.Equal(nu, prior.PseudoCount);
        });

    [Fact]
    public void ConstructorRejectsNegativeCountAndNonFinitePseudoObservations()
    {
        foreach (var bad in new[] { -1e-12, -1, double.NaN, double.PositiveInfinity })
            Assert.Equal("pseudoCount", Assert.ThrowsAny<ArgumentException>(() => new ConjugatePrior([1.0], bad, _ => 0, "bad ν")).ParamName);
        foreach (var bad in new[] { double.NaN, double.PositiveInfinity, double.NegativeInfinity })
        {
            var ex = Assert.ThrowsAny<ArgumentException>(() => new ConjugatePrior([1.0, 2.0, bad], 1, _ => 0, "bad φ"));
            Assert.Equal("pseudoObservations", ex.ParamName);
            Assert.Matches(EntryPattern.For(2), ex.Message);
        }
    }
}
