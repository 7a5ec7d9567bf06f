using EmDsl.Families;
using EmDsl.Families.Priors;
using FsCheck.Fluent;

namespace EmDsl.Tests.Families;

/// <summary><see cref="ConjugatePrior.NaturalKernel"/>: the kernel η·φ − νA(η) of any family, and its argument checks.</summary>
public class NaturalKernelPriorTests
{
    /// <summary>For the Poisson (closed-form A = Σe^η) and the Gamma, the log density is η·φ − ν A(η) by the textbook A.</summary>
    [Fact]
    public void LogDensityIsTheKernelInNaturalCoordinates() =>
        PropertyChecks.ForAll(Gens.Seed.ToArbitrary(), seed =>
        {
            var r = new Random(seed);
            int d = r.Next(1, 4);
            double nu = r.Uniform(0.01, 10);
            var rates = r.Vector(d, 0.1, 20);
            var poisson = ConjugatePrior.NaturalKernel(new PoissonFamily(d), rates.Select(v => nu * v).ToArray(), nu, "test");
            var eta = r.Vector(d, -3, 3);
            Approx.Equal(eta.Zip(rates, (e, l) => e * nu * l).Sum() - nu * eta.Sum(Math.Exp), poisson.LogDensity(eta), 1e-13, 1e-13, "Poisson kernel");

            var shapes = r.Vector(d, 0.3, 10);
            var gammaRates = r.Vector(d, 0.1, 5);
            var gamma = new GammaFamily(d).Conjugate(new GammaParameters(shapes, gammaRates), nu);
            var phi = gamma.PseudoObservations;
            var a = r.Vector(d, 0.3, 10);
            var b = r.Vector(d, 0.1, 5);
            double expected = 0;
            for (int j = 0; j < d; j++)
                expected += -b[j] * phi[2 * j] + (a[j] - 1) * phi[2 * j + 1] - nu * (MathNet.Numerics.SpecialFunctions.GammaLn(a[j]) - a[j] * Math.Log(b[j]));
            var point = new GammaFamily(d).ToNatural(new GammaParameters(a, b));
            Approx.Equal(expected, gamma.LogDensity(point), 1e-12, 1e-12, "Gamma kernel");
        });

    [Fact]
    public void ArgumentsAreCheckedAndNamed()
    {
        var f = new GammaFamily(2);
        var length = Assert.ThrowsAny<ArgumentException>(() => ConjugatePrior.NaturalKernel(f, [1.0, -0.5, 1.0], 1, "x"));
        Assert.Equal("pseudoObservations", length.ParamName);
        Assert.Contains("4 sufficient statistics", length.Message);
        Assert.Contains("got 3", length.Message);
        foreach (var nu in new[] { 0.0, -1.0, double.NaN, double.PositiveInfinity })
            Assert.Equal("pseudoCount", Assert.ThrowsAny<ArgumentException>(() => ConjugatePrior.NaturalKernel(f, [1.0, -0.5, 1, -0.5], nu, "x")).ParamName);
        var notFinite = Assert.ThrowsAny<ArgumentException>(() => ConjugatePrior.NaturalKernel(f, [1.0, -0.5, double.NaN, -0.5], 1, "x"));
        Assert.Equal("pseudoObservations", notFinite.ParamName);
        Assert.Matches(EntryPattern.For(2), notFinite.Message);
        // φ/ν = (1, 0.5): log 1 > 0.5 fails, so the kernel is not normalisable.
        var outside = Assert.ThrowsAny<ArgumentException>(() => ConjugatePrior.NaturalKernel(f, [1.0, -0.5, 1, 0.5], 1, "x"));
        Assert.Equal("pseudoObservations", outside.ParamName);
        Assert.Contains("mean domain", outside.Message);
        Assert.ThrowsAny<ArgumentNullException>(() => ConjugatePrior.NaturalKernel(null!, [1.0], 1, "x"));
        var prior = ConjugatePrior.NaturalKernel(f, [2.0, -1, 2, -1], 2, "two pseudo-observations");
        Assert.Equal("two pseudo-observations", prior.ToString());
        Assert.Equal([2.0, -1, 2, -1], prior.PseudoObservations);
    }
}
