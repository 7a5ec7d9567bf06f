using EmDsl.AutoDiff;
using EmDsl.Optimization;

namespace EmDsl.Inference;

/// <summary>The outcome of one generalized-EM ascent of an M-step objective.</summary>
/// <param name="Point">The accepted parameters (the start when no step raised the objective).</param>
/// <param name="Value">The objective at <paramref name="Point"/>.</param>
/// <param name="StartValue">The objective at the start (the previous parameters).</param>
/// <param name="StopReason">Why the optimiser stopped.</param>
/// <param name="Converged">Whether a tolerance rule stopped the optimiser (it stands at a maximum, to its tolerance or to rounding).</param>
internal sealed record AscentResult(double[] Point, double Value, double StartValue, string StopReason, bool Converged)
{
    /// <summary>Whether the objective rose.</summary>
    public bool Improved => Value > StartValue;

    /// <summary>Whether no step was needed: the start is a maximum to the optimiser's tolerance or to rounding.</summary>
    public bool AtMaximum => !Improved && Converged;
}

/// <summary>
/// Generalized EM (seed 001, "Generalized EM"): where the M-step has no closed form, any step that raises the
/// expected complete-data objective Q keeps EM's guarantee. This helper ascends a Q written with the autodiff
/// operations, from the previous parameters, with the optimiser the options name; the optimiser accepts only
/// increases, so the result never lowers Q.
/// </summary>
internal static class GeneralizedEm
{
    /// <summary>Ascends <paramref name="objective"/> over a rows × cols parameter array starting at <paramref name="start"/>.</summary>
    public static AscentResult Ascend(Func<Var, Var> objective, double[] start, int rows, int cols, OptimizerOptions options)
    {
        // The optimiser evaluates the start first (and rejects a non-finite value there); that value is Q at the
        // previous parameters, and the optimiser returns the start unless it found a higher value.
        double startValue = double.NaN;
        var result = Maximizer.Maximize((point, gradient) =>
        {
            var g = Differentiation.ValueAndGradient(objective, point, rows, cols);
            g.Gradient.CopyTo(gradient, 0);
            if (double.IsNaN(startValue)) startValue = g.Value;
            return g.Value;
        }, start, options);
        return new AscentResult(result.Point, result.Value, startValue, result.StopReason, result.Converged);
    }

    /// <summary>
    /// How the acceptance policy sees an ascent: the optimiser only returns points that raise Q, so a rise is
    /// taken; no rise at a maximum (to rounding, or by the gradient rule) is a tie; no rise for any other reason
    /// (an iteration limit of 0, a line search that found nothing) is a rejection: the parameters could not move.
    /// </summary>
    public static void Report(AscentResult result, MStepContext context, string who)
    {
        if (result.Improved) context.TakenWithoutComparison(who);
        else if (result.AtMaximum) context.AtMaximum(who);
        else context.Invalid(who, null, $"no step raised the expected complete-data objective ({result.StopReason})");
    }
}
