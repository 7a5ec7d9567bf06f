using System.Globalization;
using EmDsl.Families;
using EmDsl.Families.Priors;
using FsCheck;
using FsCheck.Fluent;

namespace EmDsl.Tests.Families;

/// <summary>
/// The properties every exponential family must have, checked against an independent <see cref="FamilyOracle"/>.
/// <see cref="FamilyLawTests{TSelf, TConfiguration, TParameters}"/> runs the general ones for every configuration of
/// every family; the ones that hold for some families only (the support's invalid values, a positive mean domain)
/// are run by those families' test classes.
/// </summary>
internal static class FamilyLaws
{
    public const int Cases = 100;

    private static Arbitrary<Draw> Parameters(FamilyOracle o) => Gens.Seed.Select(s => o.DrawParameters(new Random(s))).ToArbitrary();

    private static double[] MeanMap(ExponentialFamily f, double[] eta)
    {
        var mean = new double[f.StatisticCount];
        f.MeanMap(eta, mean);
        return mean;
    }

    private static double[] InverseMeanMap(ExponentialFamily f, double[] mean)
    {
        var eta = new double[f.StatisticCount];
        f.InverseMeanMap(mean, eta);
        return eta;
    }

    private static double Dot(double[] a, double[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += a[i] * b[i];
        return s;
    }

    /// <summary>∇A(η) and (∇A)⁻¹(μ) agree with the moments of the usual parameters.</summary>
    public static void MeanMapAndInverseMatchUsualParameters(FamilyOracle o) =>
        PropertyChecks.ForAll(Parameters(o), draw =>
        {
            Approx.Vector(draw.Mean, MeanMap(o.Family, draw.Natural), 1e-9, $"∇A(η) vs E[T(x)] for {draw}");
            Approx.Vector(draw.Natural, InverseMeanMap(o.Family, draw.Mean), 1e-9, $"(∇A)⁻¹(μ) vs η for {draw}");
        }, Cases);

    /// <summary>(∇A)⁻¹(∇A(η)) = η.</summary>
    public static void InverseMeanMapInvertsMeanMap(FamilyOracle o) =>
        PropertyChecks.ForAll(Parameters(o), draw =>
        {
            var f = o.Family;
            var mean = MeanMap(f, draw.Natural);
            Assert.True(f.IsMeanParameter(mean), $"∇A(η) is not a mean parameter: {Fmt.V(mean)} for {draw}");
            Approx.Vector(draw.Natural, InverseMeanMap(f, mean), 1e-8, $"(∇A)⁻¹(∇A(η)) for {draw}");
        }, Cases);

    /// <summary>∇A((∇A)⁻¹(μ)) = μ.</summary>
    public static void MeanMapInvertsInverseMeanMap(FamilyOracle o) =>
        PropertyChecks.ForAll(Parameters(o), draw =>
        {
            var f = o.Family;
            Assert.True(f.IsMeanParameter(draw.Mean), $"a valid mean parameter is rejected by IsMeanParameter: {draw}");
            var eta = InverseMeanMap(f, draw.Mean);
            Assert.True(f.IsNaturalParameter(eta), $"(∇A)⁻¹(μ) = {Fmt.V(eta)} is not a natural parameter, for {draw}");
            Approx.Vector(draw.Mean, MeanMap(f, eta), 1e-8, $"∇A((∇A)⁻¹(μ)) for {draw}");
        }, Cases);

    /// <summary>∇A equals central finite differences of A, with a step scaled to each coordinate.</summary>
    public static void MeanMapIsGradientOfLogNormalizer(FamilyOracle o) =>
        PropertyChecks.ForAll(Parameters(o), draw =>
        {
            var f = o.Family;
            var eta = draw.Natural;
            var mean = MeanMap(f, eta);
            double scale = mean.Max(Math.Abs);
            for (int i = 0; i < eta.Length; i++)
            {
                double h = 1e-6 * Math.Max(1, Math.Abs(eta[i]));
                var plus = (double[])eta.Clone();
                var minus = (double[])eta.Clone();
                plus[i] += h;
                minus[i] -= h;
                double fd = (f.LogNormalizer(plus) - f.LogNormalizer(minus)) / (plus[i] - minus[i]);
                Approx.Equal(mean[i], fd, 1e-5, 1e-5 * Math.Max(1e-3 * scale, 1e-6), $"∂A/∂η[{i}] by central differences for {draw}");
            }
        }, Cases);

    /// <summary>IsNaturalParameter and IsMeanParameter agree with the oracle's domains; (∇A)⁻¹ rejects what is outside.</summary>
    public static void DomainsMatchDefinitions(FamilyOracle o) =>
        PropertyChecks.ForAll(Gens.Seed.ToArbitrary(), seed =>
        {
            var r = new Random(seed);
            var f = o.Family;
            var eta = o.NaturalCandidate(r);
            var expected = o.IsValidNatural(eta);
            if (expected is bool e)
                Assert.True(e == f.IsNaturalParameter(eta), $"{o}: IsNaturalParameter({Fmt.V(eta)}) should be {e}.");
            var mean = o.MeanCandidate(r);
            var valid = o.IsValidMean(mean);
            if (valid is bool v)
            {
                Assert.True(v == f.IsMeanParameter(mean), $"{o}: IsMeanParameter({Fmt.V(mean)}) should be {v}.");
                if (!v) Assert.ThrowsAny<ArgumentException>(() => f.InverseMeanMap(mean, new double[f.StatisticCount]));
            }
        }, Cases);

    /// <summary>T(x) and log h(x), one row and in batches, match the definitions.</summary>
    public static void SufficientStatisticsMatchDefinition(FamilyOracle o) =>
        PropertyChecks.ForAll(Gens.Seed.ToArbitrary(), seed =>
        {
            var r = new Random(seed);
            var f = o.Family;
            int rows = r.Next(0, 6), d = f.Dimension, s = f.StatisticCount;
            var xs = Enumerable.Range(0, rows).Select(_ => o.DrawObservation(r)).ToArray();
            var batch = new double[rows * s];
            var logH = new double[rows];
            f.SufficientStatistics(xs.SelectMany(x => x).ToArray(), rows, batch, logH);
            for (int i = 0; i < rows; i++)
            {
                var expected = o.Statistics(xs[i]);
                var t = new double[s];
                f.SufficientStatistics(xs[i], t);
                Approx.Vector(expected, t, 1e-15, $"{o}: T({Fmt.V(xs[i])})", 0);
                Approx.Vector(expected, batch.AsSpan(i * s, s), 1e-15, $"{o}: batched T(x) row {i}", 0);
                Approx.Equal(o.LogBaseMeasure(xs[i]), f.LogBaseMeasure(xs[i]), 1e-13, 1e-13, $"{o}: log h({Fmt.V(xs[i])})");
                Approx.Equal(o.LogBaseMeasure(xs[i]), logH[i], 1e-13, 1e-13, $"{o}: batched log h row {i}");
            }
            Assert.Equal(d, xs.FirstOrDefault()?.Length ?? d);
        }, Cases);

    /// <summary>LogDensity(x, η) equals MathNet's (or the textbook) log density at the usual parameters.</summary>
    public static void LogDensityMatchesIndependentFormula(FamilyOracle o) =>
        PropertyChecks.ForAll(Gens.Seed.ToArbitrary(), seed =>
        {
            var r = new Random(seed);
            var draw = o.DrawParameters(r);
            var x = o.DrawObservation(r);
            double expected = o.LogDensity(x, draw);
            Approx.Equal(expected, o.Family.LogDensity(x, draw.Natural), 1e-9, 1e-9, $"log p({Fmt.V(x)}) for {draw}");
        }, Cases);

    /// <summary>A weighted data set from the support: statistic sum S and total weight R (both from the oracle's T).</summary>
    private sealed record DataSet(double[][] X, double[] W, double[] S, double R)
    {
        public override string ToString() =>
            $"{X.Length} rows, S = {Fmt.V(S)}, R = {Fmt.D(R)}: " + string.Join(" ", X.Zip(W, (x, w) => $"{Fmt.V(x)}×{w:G4}"));
    }

    private static DataSet DrawData(FamilyOracle o, Random r)
    {
        int n = r.Next(o.MinimumSampleSize, o.MinimumSampleSize + 25);
        var xs = Enumerable.Range(0, n).Select(_ => o.DrawDataObservation(r)).ToArray();
        var w = Enumerable.Range(0, n).Select(_ => r.Next(4) == 0 ? 1.0 : r.Uniform(0.05, 3)).ToArray();
        var s = new double[o.Family.StatisticCount];
        for (int i = 0; i < n; i++)
        {
            var t = o.Statistics(xs[i]);
            for (int j = 0; j < s.Length; j++) s[j] += w[i] * t[j];
        }
        return new DataSet(xs, w, s, w.Sum());
    }

    /// <summary>
    /// The closed-form (MAP or ML) M-step is a maximum: η̂ = (∇A)⁻¹(mean) with mean = S/R, or the prior's
    /// posterior mean parameter, is never beaten by a random valid perturbation of
    /// η·S − R·A(η) [+ prior log density]. When the mean is on the boundary it is floored first
    /// (ProjectMeanIntoDomain with 1e-10), which may lose at most about (R + ν)·floor per statistic.
    /// </summary>
    public static void ClosedFormMStepIsAMaximum(FamilyOracle o, Func<Random, ConjugatePrior>? drawPrior = null) =>
        PropertyChecks.ForAll(Gens.Seed.ToArbitrary(), seed =>
        {
            var r = new Random(seed);
            var f = o.Family;
            var prior = drawPrior?.Invoke(r);
            var data = DrawData(o, r);
            var mean = new double[f.StatisticCount];
            if (prior is null) for (int j = 0; j < mean.Length; j++) mean[j] = data.S[j] / data.R;
            else prior.PosteriorMeanParameter(data.S, data.R, mean);
            const double floor = 1e-10;
            double slack = 0;
            string context = $"{o}, prior {prior?.ToString() ?? "none"}, data {data}";
            if (!f.IsMeanParameter(mean))
            {
                Assert.False(f is GaussianFamily, $"continuous data with enough rows gave a boundary mean {Fmt.V(mean)}: {context}");
                f.ProjectMeanIntoDomain(mean, floor);
                Assert.True(f.IsMeanParameter(mean), $"ProjectMeanIntoDomain left {Fmt.V(mean)} outside the mean domain: {context}");
                slack = 10 * (data.R + (prior?.PseudoCount ?? 0) + 1) * (mean.Length + 1) * floor;
            }
            var best = InverseMeanMap(f, mean);
            double Objective(double[] eta) => Dot(eta, data.S) - data.R * f.LogNormalizer(eta) + (prior?.LogDensity(eta) ?? 0);
            double top = Objective(best);
            Assert.True(double.IsFinite(top), $"objective at η̂ = {Fmt.V(best)} is {top}: {context}");
            double magnitude = Math.Abs(Dot(best, data.S)) + data.R * Math.Abs(f.LogNormalizer(best)) + Math.Abs(prior?.LogDensity(best) ?? 0) + 1;
            double tol = 1e-9 * magnitude + slack;
            double[] scales = [1e-3, 1e-2, 0.1, 0.5, 2];
            for (int k = 0; k < 30; k++)
            {
                double s = scales[k % scales.Length];
                var eta = best.Select(v => v + s * r.Uniform(-1, 1) * Math.Max(1, Math.Abs(v))).ToArray();
                var valid = o.IsValidNatural(eta);
                if (valid is bool v) Assert.True(v == f.IsNaturalParameter(eta), $"IsNaturalParameter({Fmt.V(eta)}) should be {v}: {context}");
                if (valid != true) continue;
                double value = Objective(eta);
                if (value > top + tol)
                    Assert.Fail($"η = {Fmt.V(eta)} beats the closed form η̂ = {Fmt.V(best)}: {Fmt.D(value)} > {Fmt.D(top)} (+{Fmt.D(tol)}); {context}");
            }
        }, Cases);

    /// <summary>
    /// With a fixed seed, the average of T(x) over 20 000 draws is within 4.5 standard errors of ∇A(η) (and of
    /// the oracle's moments), and every draw lies in the support. Deterministic: the seed is fixed.
    /// </summary>
    public static void SampleMeanMatchesMeanMap(FamilyOracle o, int seed, int draws = 20_000)
    {
        var f = o.Family;
        var draw = o.DrawParameters(new Random(seed));
        var random = new Random(seed + 1);
        int s = f.StatisticCount;
        var sum = new double[s];
        var sumSq = new double[s];
        var x = new double[f.Dimension];
        for (int n = 0; n < draws; n++)
        {
            f.Sample(draw.Natural, random, x);
            var violation = f.CheckSupport(x);
            Assert.True(violation is null, $"sample {Fmt.V(x)} is outside the support ({violation}) for {draw}");
            var t = o.Statistics(x);
            for (int j = 0; j < s; j++)
            {
                sum[j] += t[j];
                sumSq[j] += t[j] * t[j];
            }
        }
        var expected = MeanMap(f, draw.Natural);
        Approx.Vector(draw.Mean, expected, 1e-9, $"∇A(η) vs E[T(x)] for {draw}");
        for (int j = 0; j < s; j++)
        {
            double m = sum[j] / draws;
            double variance = Math.Max(0, sumSq[j] / draws - m * m);
            double se = Math.Sqrt(variance / draws);
            double z = Math.Abs(m - expected[j]) / se;
            Assert.True(Math.Abs(m - expected[j]) <= 4.5 * se + 1e-12,
                $"sample mean of T[{j}] = {Fmt.D(m)} is {z:F2} standard errors ({Fmt.D(se)}) from ∇A(η)[{j}] = {Fmt.D(expected[j])} for {draw}");
        }
    }

    /// <summary>CheckSupport accepts random observations (20 cases) and the given points of the support.</summary>
    public static void CheckSupportAcceptsPointsOfTheSupport(FamilyOracle o, IEnumerable<double[]> edgeCases)
    {
        PropertyChecks.ForAll(Gens.Seed.ToArbitrary(), seed => Assert.Null(o.Family.CheckSupport(o.DrawObservation(new Random(seed)))), 20);
        foreach (var x in edgeCases) Assert.Null(o.Family.CheckSupport(x));
    }

    /// <summary>
    /// An observation with one entry replaced by one of <paramref name="valuesOutsideTheSupport"/> is rejected by
    /// CheckSupport, which names that entry's offset and value.
    /// </summary>
    public static void CheckSupportReportsTheValueAtItsOffset(FamilyOracle o, params double[] valuesOutsideTheSupport)
    {
        var bad = Gen.Elements(valuesOutsideTheSupport);
        PropertyChecks.ForAll(Gens.Seed.SelectMany(_ => bad, (s, v) => (Seed: s, Value: v)).ToArbitrary(), c =>
        {
            var r = new Random(c.Seed);
            var x = o.DrawObservation(r);
            int at = r.Next(x.Length);
            x[at] = c.Value;
            var violation = o.Family.CheckSupport(x);
            Assert.NotNull(violation);
            Assert.Equal(at, violation.Offset);
            Assert.Contains(c.Value.ToString(CultureInfo.InvariantCulture), violation.Reason);
        }, 50);
    }

    /// <summary>
    /// For a mean domain (0, ∞)^S (Poisson rates, Exponential means): ProjectMeanIntoDomain raises every mean below
    /// the floor (zeros among them) exactly to it and leaves the others untouched.
    /// </summary>
    public static void ProjectMeanIntoDomainRaisesMeansToTheFloor(FamilyOracle o) =>
        PropertyChecks.ForAll(Gens.Seed.ToArbitrary(), seed =>
        {
            var f = o.Family;
            var r = new Random(seed);
            double floor = Math.Pow(10, -r.Uniform(2, 12));
            var mean = Enumerable.Range(0, f.StatisticCount).Select(_ => BernoulliOracle.Pick(r, 0, floor / 2, r.Uniform(0, 10))).ToArray();
            var projected = (double[])mean.Clone();
            f.ProjectMeanIntoDomain(projected, floor);
            Approx.Vector(mean.Select(m => Math.Max(m, floor)).ToArray(), projected, 0, $"floor {floor} on {Fmt.V(mean)}", 0);
        }, Cases);

    /// <summary>
    /// Rates of 1 to <paramref name="maxDimension"/> columns with one entry replaced by one of
    /// <paramref name="badValues"/> (not finite and positive) are rejected, by the parameter record or by ToNatural,
    /// and the message names the entry.
    /// </summary>
    public static void RatesOutsideTheDomainAreRejectedNamingTheEntry(Action<double[]> toNatural, int maxDimension, params double[] badValues) =>
        PropertyChecks.ForAll(Gens.Seed.SelectMany(_ => Gen.Elements(badValues), (s, v) => (Seed: s, Value: v)).ToArbitrary(), c =>
        {
            var r = new Random(c.Seed);
            var rates = r.Vector(r.Next(1, maxDimension + 1), 0.1, 5);
            int bad = r.Next(rates.Length);
            rates[bad] = c.Value;
            var ex = Assert.ThrowsAny<ArgumentException>(() => toNatural(rates));
            Assert.Matches(EntryPattern.For(bad), ex.Message);
        }, 20);
}
