using System.Globalization;
using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Inference;

namespace EmDsl.Testing;

/// <summary>
/// The properties EM guarantees, as checks you can run on your own models and families from any test framework.
/// <para>
/// EM is coordinate ascent on the free energy F(q, θ) = E_q[log p(x, z | θ)] + H[q] + log p(θ): the E-step sets q to
/// the posterior, which makes F equal to the objective log p(x | θ) + log p(θ) (it closes the gap), and the M-step
/// raises F over θ. So the free energy after every half-step (<see cref="ModelFit.FreeEnergyTrace"/>) never falls, and
/// after every E-step it equals the objective. A wrong M-step — a hand-written inverse mean map that is off, say —
/// breaks the first; an E-step inconsistent with the statistics breaks the second. Run fits in
/// <see cref="ExactMode"/> so that the engine does not quietly reject a wrong M-step's candidates.
/// </para>
/// <para>
/// The families' laws: ∇A, the mean map, equals the finite differences of the log-normalizer A, and the inverse
/// mean map inverts it.
/// </para>
/// Every check returns a <see cref="PropertyReport"/>: <c>.Holds</c> for an FsCheck property, <c>.ThrowIfViolated()</c>
/// for xunit or NUnit.
/// </summary>
public static class EmProperties
{
    /// <summary>The default relative slack for rounding: 1e-9·max(1, |value|), the engine's own.</summary>
    public const double DefaultTolerance = 1e-9;

    /// <summary>
    /// Options for checking EM itself: no covariance floor (so built-in Gaussian M-steps are exact), every M-step
    /// candidate taken as computed (<see cref="FitOptions.CheckMSteps"/> off, so a wrong one is not replaced by the
    /// previous parameters but shows in the free energy), and exactly <paramref name="iterations"/> iterations unless
    /// the objective stops changing altogether.
    /// </summary>
    public static FitOptions ExactMode(FitOptions? options = null, int iterations = 50)
    {
        if (iterations < 1) throw new ArgumentOutOfRangeException(nameof(iterations), iterations, "Run at least one iteration.");
        return (options ?? FitOptions.Default) with { CovarianceFloor = 0, CheckMSteps = false, Tolerance = 0, MaxIterations = iterations };
    }

    // ---------------------------------------------------------------- one fit

    /// <summary>No half-step lowered the free energy by more than <paramref name="tolerance"/>·max(1, |F|), and every value is finite.</summary>
    public static PropertyReport FreeEnergyNeverFalls(ModelFit fit, double tolerance = DefaultTolerance)
    {
        ArgumentNullException.ThrowIfNull(fit);
        var f = fit.FreeEnergyTrace;
        var violations = new List<string>();
        for (int i = 0; i < f.Count; i++)
        {
            if (!double.IsFinite(f[i].Value)) violations.Add($"F after the {Half(f[i])} of iteration {f[i].Iteration} is {Format(f[i].Value)}");
            else if (i > 0 && f[i].Value < f[i - 1].Value - tolerance * Math.Max(1, Math.Abs(f[i - 1].Value)))
                violations.Add($"the {Half(f[i])} of iteration {f[i].Iteration} lowered F from {Format(f[i - 1].Value)} to {Format(f[i].Value)} (by {Format(f[i - 1].Value - f[i].Value)})");
        }
        return new PropertyReport("the free energy never falls", violations);
    }

    /// <summary>After every E-step the free energy equals the objective, log p(x | θ) + log p(θ), to <paramref name="tolerance"/>·max(1, |objective|).</summary>
    public static PropertyReport EStepClosesTheGap(ModelFit fit, double tolerance = DefaultTolerance)
    {
        ArgumentNullException.ThrowIfNull(fit);
        var violations = new List<string>();
        var afterE = fit.FreeEnergyTrace.Where(p => p.After == HalfStep.Expectation).ToArray();
        for (int t = 0; t < Math.Min(afterE.Length, fit.ObjectiveTrace.Count); t++)
        {
            double objective = fit.ObjectiveTrace[t], f = afterE[t].Value;
            if (!(Math.Abs(f - objective) <= tolerance * Math.Max(1, Math.Abs(objective))))
                violations.Add($"after the E-step of iteration {t}, F = {Format(f)} but the objective is {Format(objective)} (gap {Format(f - objective)})");
        }
        if (afterE.Length != fit.ObjectiveTrace.Count)
            violations.Add($"{afterE.Length} free-energy values after E-steps for {fit.ObjectiveTrace.Count} objective values");
        return new PropertyReport("the E-step closes the gap to the objective", violations);
    }

    /// <summary>No M-step candidate was rejected (in exact mode, where the engine takes every candidate, only an invalid one can be).</summary>
    public static PropertyReport NoCandidateRejected(ModelFit fit)
    {
        ArgumentNullException.ThrowIfNull(fit);
        var rejected = fit.Diagnostics.Events.Where(e => e.Kind == FitEventKind.MStepRejected).Select(e => e.ToString()).ToArray();
        return new PropertyReport("no M-step candidate was rejected", rejected);
    }

    /// <summary>
    /// EM's guarantees for one fit: <see cref="FreeEnergyNeverFalls"/> and <see cref="EStepClosesTheGap"/>, and — when
    /// no floor bound and no estimate degenerated (<see cref="FitDiagnostics.FlooredEstimates"/>,
    /// <see cref="FitDiagnostics.InvalidCandidates"/>), so that EM ran exactly — <see cref="NoCandidateRejected"/>.
    /// </summary>
    public static PropertyReport EmGuarantees(ModelFit fit, double tolerance = DefaultTolerance)
    {
        var report = FreeEnergyNeverFalls(fit, tolerance).And(EStepClosesTheGap(fit, tolerance));
        bool exact = fit.Diagnostics.FlooredEstimates == 0 && fit.Diagnostics.InvalidCandidates == 0;
        return exact ? report.And(NoCandidateRejected(fit)) : report;
    }

    // ---------------------------------------------------------------- a model and a data generator

    /// <summary>
    /// Fits <paramref name="model"/> in <see cref="ExactMode"/> (on top of <paramref name="options"/>) to
    /// <paramref name="cases"/> data sets from <paramref name="generate"/> (each given its own seeded
    /// <see cref="Random"/>: seed <paramref name="seed"/> + case) and checks <see cref="EmGuarantees"/> on each.
    /// A fit that throws is a violation too. Violations name the case and its seed, to replay it.
    /// </summary>
    public static PropertyReport CheckModel(MixtureModel model, Func<Random, DataMatrix> generate, int cases = 20, int seed = 0,
        FitOptions? options = null, int iterations = 50, double tolerance = DefaultTolerance)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(generate);
        return CheckFits("mixture", r => model.Fit(generate(r), ExactMode(options, iterations)), cases, seed, tolerance);
    }

    /// <summary>The same for a hidden Markov model and a generator of sequences.</summary>
    public static PropertyReport CheckModel(HiddenMarkovModel model, Func<Random, SequenceData> generate, int cases = 20, int seed = 0,
        FitOptions? options = null, int iterations = 50, double tolerance = DefaultTolerance)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(generate);
        return CheckFits("hidden Markov model", r => model.Fit(generate(r), ExactMode(options, iterations)), cases, seed, tolerance);
    }

    /// <summary>
    /// <see cref="EmGuarantees"/> over <paramref name="cases"/> fits made by <paramref name="fit"/> from seeded
    /// <see cref="Random"/>s (seed <paramref name="seed"/> + case), for any model and options of your choosing.
    /// </summary>
    public static PropertyReport CheckFits(string what, Func<Random, ModelFit> fit, int cases = 20, int seed = 0, double tolerance = DefaultTolerance)
    {
        ArgumentNullException.ThrowIfNull(fit);
        if (cases < 1) throw new ArgumentOutOfRangeException(nameof(cases), cases, "Check at least one case.");
        var violations = new List<string>();
        for (int c = 0; c < cases; c++)
        {
            int s = unchecked(seed + c);
            ModelFit result;
            try { result = fit(new Random(s)); }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException)
            {
                violations.Add($"case {c} (seed {s}): the fit threw {e.GetType().Name}: {e.Message}");
                continue;
            }
            violations.AddRange(EmGuarantees(result, tolerance).Violations.Select(v => $"case {c} (seed {s}): {v}"));
        }
        return new PropertyReport($"EM's guarantees for the {what} over {cases} generated data sets", violations);
    }

    // ---------------------------------------------------------------- families

    /// <summary>
    /// ∇A(η), the family's mean map, equals the central differences (A(η + h eᵢ) − A(η − h eᵢ)) / 2h at
    /// <paramref name="eta"/>, coordinate by coordinate, to <paramref name="tolerance"/> relative
    /// (|a − n| / max(1, |a|, |n|)). Where a step leaves the natural domain a one-sided difference is used.
    /// </summary>
    public static PropertyReport MeanMapMatchesFiniteDifferences(ExponentialFamily family, IReadOnlyList<double> eta, double tolerance = 1e-6)
    {
        string name = $"∇A of {family?.Name} equals the finite differences of A";
        if (NotANaturalParameter(family, eta, name) is { } invalid) return invalid;
        int s = family!.StatisticCount;
        var point = eta.ToArray();
        var mean = new double[s];
        family.MeanMap(point, mean);
        double a0 = family.LogNormalizer(point);
        var violations = new List<string>();
        var probe = (double[])point.Clone();
        for (int i = 0; i < s; i++)
        {
            double h = 6.0554544523933395e-6 * Math.Max(1, Math.Abs(point[i])), numeric;
            probe[i] = point[i] + h;
            bool up = family.IsNaturalParameter(probe);
            double aUp = up ? family.LogNormalizer(probe) : double.NaN;
            probe[i] = point[i] - h;
            bool down = family.IsNaturalParameter(probe);
            double aDown = down ? family.LogNormalizer(probe) : double.NaN;
            probe[i] = point[i];
            if (up && down) numeric = (aUp - aDown) / (2 * h);
            else if (up) numeric = (aUp - a0) / h;
            else if (down) numeric = (a0 - aDown) / h;
            else { violations.Add($"η ± h along coordinate {i} both leave the natural domain (h = {Format(h)})"); continue; }
            double error = Math.Abs(mean[i] - numeric) / Math.Max(1, Math.Max(Math.Abs(mean[i]), Math.Abs(numeric)));
            if (!(error <= tolerance))
                violations.Add($"at η = {Format(point)}: ∂A/∂η[{i}] is {Format(mean[i])} by the mean map but {Format(numeric)} by finite differences (relative error {Format(error)})");
        }
        return new PropertyReport(name, violations);
    }

    /// <summary>
    /// The inverse mean map inverts the mean map at <paramref name="eta"/>: with μ = ∇A(η) and η' = (∇A)⁻¹(μ),
    /// ∇A(η') = μ and η' = η, to <paramref name="tolerance"/> relative (|a − b| / max(1, |a|, |b|)).
    /// </summary>
    public static PropertyReport InverseMeanMapInvertsMeanMap(ExponentialFamily family, IReadOnlyList<double> eta, double tolerance = 1e-6)
    {
        string name = $"(∇A)⁻¹ of {family?.Name} inverts ∇A";
        if (NotANaturalParameter(family, eta, name) is { } invalid) return invalid;
        int s = family!.StatisticCount;
        var point = eta.ToArray();
        var mean = new double[s];
        family.MeanMap(point, mean);
        var back = new double[s];
        try { family.InverseMeanMap(mean, back); }
        catch (ArgumentException e) { return new PropertyReport(name, [$"at μ = ∇A({Format(point)}) = {Format(mean)}: the inverse mean map threw: {e.Message}"]); }
        var again = new double[s];
        var violations = new List<string>();
        if (!family.IsNaturalParameter(back)) return new PropertyReport(name, [$"(∇A)⁻¹({Format(mean)}) = {Format(back)} is not a natural parameter"]);
        family.MeanMap(back, again);
        for (int i = 0; i < s; i++)
        {
            double em = Relative(mean[i], again[i]), ee = Relative(point[i], back[i]);
            if (!(em <= tolerance)) violations.Add($"at η = {Format(point)}: ∇A((∇A)⁻¹(μ))[{i}] = {Format(again[i])} but μ[{i}] = {Format(mean[i])}");
            if (!(ee <= tolerance)) violations.Add($"at η = {Format(point)}: (∇A)⁻¹(∇A(η))[{i}] = {Format(back[i])}");
        }
        return new PropertyReport(name, violations);
    }

    /// <summary>
    /// Both family laws (<see cref="MeanMapMatchesFiniteDifferences"/>, <see cref="InverseMeanMapInvertsMeanMap"/>) at
    /// <paramref name="cases"/> natural parameters drawn by <paramref name="naturalParameters"/> from seeded
    /// <see cref="Random"/>s (seed <paramref name="seed"/> + case).
    /// </summary>
    public static PropertyReport CheckFamily(ExponentialFamily family, Func<Random, double[]> naturalParameters, int cases = 50, int seed = 0, double tolerance = 1e-6)
    {
        ArgumentNullException.ThrowIfNull(family);
        ArgumentNullException.ThrowIfNull(naturalParameters);
        if (cases < 1) throw new ArgumentOutOfRangeException(nameof(cases), cases, "Check at least one case.");
        var report = PropertyReport.Passed($"the laws of {family.Name}");
        for (int c = 0; c < cases; c++)
        {
            var eta = naturalParameters(new Random(unchecked(seed + c)));
            report = report.And(MeanMapMatchesFiniteDifferences(family, eta, tolerance)).And(InverseMeanMapInvertsMeanMap(family, eta, tolerance));
        }
        return new PropertyReport($"the laws of {family.Name} at {cases} natural parameters", report.Violations);
    }

    /// <summary>A failed report when η is not a natural parameter of the family (wrong length, outside the domain); else null.</summary>
    private static PropertyReport? NotANaturalParameter(ExponentialFamily? family, IReadOnlyList<double> eta, string name)
    {
        ArgumentNullException.ThrowIfNull(family);
        ArgumentNullException.ThrowIfNull(eta);
        if (eta.Count != family.StatisticCount) return new PropertyReport(name, [$"η has {eta.Count} entries; the family has {family.StatisticCount} statistics"]);
        return family.IsNaturalParameter(eta.ToArray()) ? null : new PropertyReport(name, [$"η = {Format(eta)} is not a natural parameter of the family"]);
    }

    private static double Relative(double a, double b) => Math.Abs(a - b) / Math.Max(1, Math.Max(Math.Abs(a), Math.Abs(b)));

    private static string Half(FreeEnergyPoint p) => p.After == HalfStep.Expectation ? "E-step" : "M-step";

    private static string Format(double v) => v.ToString("G10", CultureInfo.InvariantCulture);

    private static string Format(IEnumerable<double> v) => "[" + string.Join(", ", v.Select(Format)) + "]";
}
