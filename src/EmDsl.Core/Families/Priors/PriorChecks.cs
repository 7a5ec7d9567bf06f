namespace EmDsl.Families.Priors;

internal static class PriorChecks
{
    public static void AtLeastOne(double value, string parameter, string what)
    {
        if (!(value >= 1) || double.IsInfinity(value))
            throw new ArgumentOutOfRangeException(parameter, value,
                $"{what} must be finite and ≥ 1: EmDsl's MAP estimate is the posterior mode, which leaves the parameter domain below 1.");
    }

    /// <summary>x·log y with the convention 0·log 0 = 0 (so a flat factor never turns into NaN).</summary>
    public static double XLogY(double x, double y) => x == 0 ? 0 : x * Math.Log(y);
}
