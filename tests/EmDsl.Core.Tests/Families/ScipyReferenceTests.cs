using System.Text.Json;
using EmDsl.Families;
using Xunit.Abstractions;

namespace EmDsl.Tests.Families;

/// <summary>
/// The iterative inverse mean maps against scipy 1.10.1's maximum-likelihood fits of fixed-seed samples
/// (tests/fixtures/scipy_family_mle.json, written by tests/fixtures/make_scipy_fixtures.py; see its docstring for how
/// each scipy answer is obtained). For each sample the mean statistics are computed here and inverted; the result must
/// match scipy's MLE within the accuracy of scipy's own solver, and, since ours solves the likelihood equations to
/// rounding level, its log-likelihood (by our LogDensity) may not be below that at scipy's estimate by more than
/// rounding, and must agree with the log-likelihood scipy reports.
/// </summary>
public class ScipyReferenceTests(ITestOutputHelper output)
{
    private static readonly JsonElement Fixture =
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", "scipy_family_mle.json"))).RootElement;

    private static IEnumerable<JsonElement> Cases(string family) => Fixture.GetProperty(family).EnumerateArray();

    private static double[] Sample(JsonElement c) => c.GetProperty("x").EnumerateArray().Select(v => v.GetDouble()).ToArray();

    private static double Get(JsonElement c, string fit, string name) => c.GetProperty(fit).GetProperty(name).GetDouble();

    private static double LogLikelihood(ExponentialFamily f, double[] x, double[] eta) => x.Sum(v => f.LogDensity([v], eta));

    /// <summary>Relative difference |a − b| / |b|.</summary>
    private static double Rel(double a, double b) => Math.Abs(a - b) / Math.Abs(b);

    /// <summary>
    /// Our log-likelihood at our estimate is not below that at scipy's by more than summation rounding (1e-12 relative
    /// over a few hundred terms), and matches scipy's reported value (scipy's logpdf against ours: 1e-10 relative).
    /// </summary>
    private void CheckLogLikelihood(string what, ExponentialFamily f, double[] x, double[] ours, double[] scipys, double scipyReported)
    {
        double llOurs = LogLikelihood(f, x, ours), llScipy = LogLikelihood(f, x, scipys);
        output.WriteLine($"{what}: log-likelihood ours {llOurs:G17}, at scipy's estimate {llScipy:G17}, scipy reports {scipyReported:G17}");
        Assert.True(llOurs >= llScipy - 1e-12 * Math.Abs(llScipy), $"{what}: our log-likelihood {llOurs:G17} is below scipy's estimate's {llScipy:G17}");
        Approx.Equal(scipyReported, llOurs, 1e-10, 0, $"{what}: our log-likelihood vs scipy's");
    }

    /// <summary>
    /// scipy solves log a − ψ(a) = s by brentq (xtol 2e-12 absolute, rtol 4ε) with ψ subtracted from log a, which
    /// cancels: its a is off by up to ~2e-12 + 2a²ε·|log a|/… ≈ 1e-13–1e-12 relative for these shapes (0.3 to 60). We
    /// allow 1e-10 relative on the shape and rate (the rate is mean/shape in both), two orders of margin.
    /// </summary>
    [Fact]
    public void GammaMatchesScipyGammaFit()
    {
        foreach (var c in Cases("gamma"))
        {
            var x = Sample(c);
            double mean = x.Average(), meanLog = x.Average(v => Math.Log(v));
            var (shape, rate) = GammaFamily.FromMeanAndMeanLog(mean, meanLog);
            double a = Get(c, "fit", "shape"), b = Get(c, "fit", "rate");
            string what = $"Gamma '{c.GetProperty("name").GetString()}'";
            output.WriteLine($"{what}: shape {shape:G17} vs scipy {a:G17} (rel {Rel(shape, a):G3}); rate {rate:G17} vs {b:G17} (rel {Rel(rate, b):G3})");
            Approx.Equal(a, shape, 1e-10, 0, $"{what} shape");
            Approx.Equal(b, rate, 1e-10, 0, $"{what} rate");
            var f = new GammaFamily(1);
            CheckLogLikelihood(what, f, x, f.ToNatural(new GammaParameters([shape], [rate])), f.ToNatural(new GammaParameters([a], [b])), c.GetProperty("loglik").GetDouble());
        }
    }

    /// <summary>
    /// "fit" solves scipy's own Beta likelihood equations with fsolve until it reports no further improvement and the
    /// residual per observation is below 1e-12; with the Fisher information of these samples (condition numbers below
    /// 1e4) that pins α and β to ~1e-11 relative, so we allow 1e-9. beta.fit's default answer ("fit_default", fsolve at
    /// xtol 1.49e-8) must agree within that xtol (we allow 1e-7).
    /// </summary>
    [Fact]
    public void BetaMatchesScipyBetaFit()
    {
        foreach (var c in Cases("beta"))
        {
            var x = Sample(c);
            double meanLog = x.Average(v => Math.Log(v)), meanLog1m = x.Average(v => EmDsl.Numerics.SpecialFunctions.Log1p(-v));
            var (alpha, beta) = BetaFamily.FromMeanLogs(meanLog, meanLog1m);
            double a = Get(c, "fit", "alpha"), b = Get(c, "fit", "beta");
            string what = $"Beta '{c.GetProperty("name").GetString()}'";
            output.WriteLine($"{what}: α {alpha:G17} vs scipy {a:G17} (rel {Rel(alpha, a):G3}); β {beta:G17} vs {b:G17} (rel {Rel(beta, b):G3}); " +
                             $"vs beta.fit's default: rel {Rel(alpha, Get(c, "fit_default", "alpha")):G3}, {Rel(beta, Get(c, "fit_default", "beta")):G3}");
            Approx.Equal(a, alpha, 1e-9, 0, $"{what} α");
            Approx.Equal(b, beta, 1e-9, 0, $"{what} β");
            Approx.Equal(Get(c, "fit_default", "alpha"), alpha, 1e-7, 0, $"{what} α vs beta.fit's default");
            Approx.Equal(Get(c, "fit_default", "beta"), beta, 1e-7, 0, $"{what} β vs beta.fit's default");
            var f = new BetaFamily(1);
            CheckLogLikelihood(what, f, x, f.ToNatural(new BetaParameters([alpha], [beta])), f.ToNatural(new BetaParameters([a], [b])), c.GetProperty("loglik").GetDouble());
        }
    }

    /// <summary>
    /// "fit" is the exact MLE by scipy's functions: atan2 of the mean sine and cosine, and κ from brentq on
    /// i1e/i0e − R̄ (xtol 1e-15, rtol 4ε), so we allow 1e-10 relative on κ (its conditioning, ε/(κA₁′(κ)), is at most
    /// ~4e-14 here) and 1e-12 on the direction. vonmises.fit itself (generic Nelder–Mead, run with xtol 1e-12 and
    /// ftol 1e-14) stops where the simplex no longer resolves the log-likelihood, ~1e-8 relative away: we allow 1e-6.
    /// </summary>
    [Fact]
    public void VonMisesMatchesScipyVonMisesFit()
    {
        foreach (var c in Cases("vonmises"))
        {
            var x = Sample(c);
            double meanCos = x.Average(Math.Cos), meanSin = x.Average(Math.Sin);
            var (direction, kappa) = VonMisesFamily.FromMeanResultant(meanCos, meanSin);
            double mu = Get(c, "fit", "direction"), k = Get(c, "fit", "kappa");
            double muOpt = Get(c, "fit_optimizer", "direction"), kOpt = Get(c, "fit_optimizer", "kappa");
            string what = $"von Mises '{c.GetProperty("name").GetString()}'";
            output.WriteLine($"{what}: κ {kappa:G17} vs scipy {k:G17} (rel {Rel(kappa, k):G3}); direction {direction:G17} vs {mu:G17} (Δ {Math.Abs(direction - mu):G3}); " +
                             $"vs vonmises.fit: κ rel {Rel(kappa, kOpt):G3}, direction Δ {Math.Abs(direction - muOpt):G3}");
            Approx.Equal(k, kappa, 1e-10, 0, $"{what} κ");
            Approx.Equal(mu, direction, 0, 1e-12, $"{what} direction");
            Approx.Equal(kOpt, kappa, 1e-6, 0, $"{what} κ vs vonmises.fit");
            Approx.Equal(muOpt, direction, 0, 1e-6, $"{what} direction vs vonmises.fit");
            var f = new VonMisesFamily(1);
            var ours = f.ToNatural(new VonMisesParameters([direction], [kappa]));
            CheckLogLikelihood(what, f, x, ours, f.ToNatural(new VonMisesParameters([mu], [k])), c.GetProperty("loglik").GetDouble());
            Assert.True(LogLikelihood(f, x, ours) >= LogLikelihood(f, x, f.ToNatural(new VonMisesParameters([muOpt], [kOpt]))) - 1e-12 * Math.Abs(c.GetProperty("loglik").GetDouble()),
                $"{what}: our log-likelihood is below vonmises.fit's");
        }
    }

    [Fact]
    public void FixtureRecordsItsProvenance()
    {
        Assert.Equal("1.10.1", Fixture.GetProperty("scipy_version").GetString());
        Assert.Equal(3, Cases("gamma").Count());
        Assert.Equal(3, Cases("beta").Count());
        Assert.Equal(3, Cases("vonmises").Count());
        Assert.All(Cases("gamma").Concat(Cases("beta")).Concat(Cases("vonmises")), c => Assert.InRange(Sample(c).Length, 300, 1000));
    }
}
