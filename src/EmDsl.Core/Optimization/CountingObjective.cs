namespace EmDsl.Optimization;

/// <summary>The user's objective with an evaluation counter and the finiteness check every caller needs.</summary>
internal sealed class CountingObjective(ObjectiveFunction objective)
{
    /// <summary>Calls made so far.</summary>
    public int Evaluations { get; private set; }

    /// <summary>
    /// Evaluates f and ∇f at <paramref name="point"/>; false when the value or any gradient entry is not finite
    /// (outside the domain, or an overflow): the caller treats such a point as a step too long.
    /// </summary>
    public bool TryEvaluate(double[] point, double[] gradient, out double value)
    {
        Evaluations++;
        value = objective(point, gradient);
        if (!double.IsFinite(value)) return false;
        foreach (var gi in gradient)
            if (!double.IsFinite(gi)) return false;
        return true;
    }
}
