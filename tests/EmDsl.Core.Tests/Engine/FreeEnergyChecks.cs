using EmDsl.Inference;

namespace EmDsl.Tests.Engine;

/// <summary>
/// The free-energy properties of one fit (seed 004: EM is coordinate ascent on F(q, θ)), as the suite checks them
/// for every model: the half-step trace has one value after every E- and M-step, never falls, and after every
/// E-step equals the objective (the E-step closes the gap); in exact mode also no candidate is rejected.
/// </summary>
internal static class FreeEnergyChecks
{
    /// <summary>The relative slack allowed for rounding, the engine's own.</summary>
    public static double Slack(double value) => 1e-9 * Math.Max(1, Math.Abs(value));

    public static void AssertHalfSteps(ModelFit fit, string what)
    {
        var f = fit.FreeEnergyTrace;
        Assert.True(f.Count == 2 * fit.Iterations + 1, $"{what}: {f.Count} free-energy values after {fit.Iterations} iterations (expected {2 * fit.Iterations + 1}).");
        for (int i = 0; i < f.Count; i++)
        {
            Assert.True(f[i].Iteration == i / 2 && f[i].After == (i % 2 == 0 ? HalfStep.Expectation : HalfStep.Maximization),
                $"{what}: free-energy value {i} is {f[i]}");
            Assert.True(double.IsFinite(f[i].Value), $"{what}: free energy {f[i]} is not finite.");
            if (i > 0)
                Assert.True(f[i].Value >= f[i - 1].Value - Slack(f[i - 1].Value),
                    $"{what}: the {(f[i].After == HalfStep.Expectation ? "E" : "M")}-step of iteration {f[i].Iteration} lowered F from {f[i - 1].Value:G17} to {f[i].Value:G17}. Events: {string.Join(" | ", fit.Diagnostics.Events)}");
        }
        for (int t = 0; t < fit.ObjectiveTrace.Count; t++)
        {
            double objective = fit.ObjectiveTrace[t], afterE = f[2 * t].Value;
            Assert.True(Math.Abs(afterE - objective) <= Slack(objective),
                $"{what}: after the E-step of iteration {t}, F = {afterE:G17} but the objective is {objective:G17} (gap {afterE - objective:G3}).");
        }
        Assert.DoesNotContain(fit.Diagnostics.Events, e => e.Kind == FitEventKind.FreeEnergyDecreased);
    }

    public static void AssertExact(ModelFit fit, string what)
    {
        Assert.True(fit.Diagnostics.RejectedCandidates == 0,
            $"{what}: exact mode, yet {fit.Diagnostics.RejectedCandidates} M-step candidates were rejected: {string.Join(" | ", fit.Diagnostics.Events)}");
        var f = fit.FreeEnergyTrace;
        for (int i = 1; i < f.Count; i += 2)
            Assert.True(f[i].Value >= f[i - 1].Value - Slack(f[i - 1].Value),
                $"{what}: exact mode, and the M-step of iteration {f[i].Iteration} lowered F from {f[i - 1].Value:G17} to {f[i].Value:G17}.");
        AssertHalfSteps(fit, what);
    }
}

/// <summary>Sets the engine's test-only Gaussian mean fault for the calling flow (null clears it).</summary>
internal static class GaussianRuntimeFault
{
    public static void Set(double? factor) => GaussianRuntime.SeededMeanFault.Value = factor;
}
