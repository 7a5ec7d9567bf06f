namespace EmDsl.Optimization;

/// <summary>
/// Line search for maximisation along an ascent direction d from x (slope φ′(0) = ∇f(x)ᵀd &gt; 0), looking for a
/// step α with the strong Wolfe conditions
/// <list type="bullet">
/// <item>sufficient increase (Armijo): φ(α) ≥ φ(0) + c₁·α·φ′(0), c₁ = 10⁻⁴, and φ(α) &gt; φ(0) strictly;</item>
/// <item>curvature: |φ′(α)| ≤ c₂·φ′(0), c₂ = 0.9;</item>
/// </list>
/// where φ(α) = f(x + α·d). It is the bracketing-and-zoom search of Nocedal and Wright (Algorithms 3.5 and 3.6)
/// written as one loop over an interval [lo, hi]: lo is the best trial so far that satisfies sufficient increase
/// (initially α = 0), hi a trial known to be past a maximiser of φ (none while the step is being expanded by 4×).
/// Inside a bracket the next trial is the maximiser of the cubic through the two ends' values and slopes
/// (quadratic or bisection when the cubic is unusable), kept at least 10% of the width away from both ends.
/// A trial whose value or gradient is not finite becomes hi and the next trial bisects [lo, hi].
/// The search ends without a curvature match when its evaluation budget is spent or when the trial point
/// no longer differs from lo's in any coordinate; it then returns lo if lo ≠ 0 (a strict increase that
/// satisfies sufficient increase), and fails otherwise.
/// </summary>
internal sealed class LineSearch(CountingObjective objective, int n)
{
    private const double SufficientIncrease = 1e-4;
    private const double Curvature = 0.9;
    private const double ExpansionFactor = 4;
    private const double MinimumShrink = 0.1;
    private const int MaxEvaluations = 60;

    private double[] lowPoint = new double[n], lowGradient = new double[n];
    private double[] trialPoint = new double[n], trialGradient = new double[n];

    /// <summary>
    /// After a <see cref="Search"/>: the largest increase of f along the direction that a quadratic with the secant
    /// curvature of the first finite trial predicts, φ′(0)²/2κ with κ = (φ′(0) − φ′(α₁))/α₁. It uses gradients only,
    /// which stay accurate where values have run into rounding; +∞ when κ ≤ 0 or no trial was finite.
    /// </summary>
    public double PredictedIncrease { get; private set; }

    /// <summary>After a successful <see cref="Search"/>: the point the search started from.</summary>
    public double[] PreviousPoint => lowPoint;

    /// <summary>After a successful <see cref="Search"/>: the gradient at <see cref="PreviousPoint"/>.</summary>
    public double[] PreviousGradient => lowGradient;

    /// <summary>
    /// Searches along <paramref name="direction"/> from <paramref name="x"/> (value <paramref name="f0"/>, slope
    /// <paramref name="slope0"/> &gt; 0), first trying <paramref name="initialStep"/>. On success the accepted point
    /// and gradient are swapped into <paramref name="x"/> and <paramref name="gradient"/> (the arrays change
    /// identity; the old ones become <see cref="PreviousPoint"/> and <see cref="PreviousGradient"/>), and its value is returned in <paramref name="value"/>.
    /// On failure nothing changes.
    /// </summary>
    public bool Search(ref double[] x, ref double[] gradient, double f0, double[] direction, double slope0, double initialStep, out double value)
    {
        double aLo = 0, fLo = f0, sLo = slope0;
        bool haveHi = false, hiFinite = false;
        double aHi = 0, fHi = 0, sHi = 0;
        double alpha = initialStep;
        PredictedIncrease = double.PositiveInfinity;
        bool curvatureKnown = false;
        for (int evaluation = 0; evaluation < MaxEvaluations; evaluation++)
        {
            var from = aLo == 0 ? x : lowPoint;
            bool moved = false;
            for (int i = 0; i < n; i++)
            {
                trialPoint[i] = x[i] + alpha * direction[i];
                moved |= trialPoint[i] != from[i];
            }
            if (!moved) break;

            if (!objective.TryEvaluate(trialPoint, trialGradient, out double ft))
            {
                haveHi = true;
                hiFinite = false;
                aHi = alpha;
            }
            else
            {
                double st = Dot(trialGradient, direction);
                if (!curvatureKnown)
                {
                    curvatureKnown = true;
                    double kappa = (slope0 - st) / alpha;
                    if (kappa > 0) PredictedIncrease = slope0 * slope0 / (2 * kappa);
                }
                if (ft < f0 + SufficientIncrease * alpha * slope0 || ft <= fLo)
                {
                    haveHi = true;
                    hiFinite = true;
                    (aHi, fHi, sHi) = (alpha, ft, st);
                }
                else
                {
                    if (Math.Abs(st) <= Curvature * slope0)
                    {
                        (aLo, fLo) = (alpha, ft);
                        (lowPoint, trialPoint) = (trialPoint, lowPoint);
                        (lowGradient, trialGradient) = (trialGradient, lowGradient);
                        break;
                    }
                    // φ decreases beyond this trial (towards hi, or onwards while expanding): the old lo closes the bracket.
                    if (haveHi ? st * (aHi - alpha) < 0 : st < 0)
                    {
                        haveHi = true;
                        hiFinite = true;
                        (aHi, fHi, sHi) = (aLo, fLo, sLo);
                    }
                    (aLo, fLo, sLo) = (alpha, ft, st);
                    (lowPoint, trialPoint) = (trialPoint, lowPoint);
                    (lowGradient, trialGradient) = (trialGradient, lowGradient);
                }
            }

            alpha = !haveHi ? alpha * ExpansionFactor
                : hiFinite ? Interpolate(aLo, fLo, sLo, aHi, fHi, sHi)
                : aLo + 0.5 * (aHi - aLo);
        }

        if (aLo == 0)
        {
            value = f0;
            return false;
        }
        value = fLo;
        (x, lowPoint) = (lowPoint, x);
        (gradient, lowGradient) = (lowGradient, gradient);
        return true;
    }

    /// <summary>
    /// The maximiser of the cubic through (a, fa, φ′(a)) and (b, fb, φ′(b)) (Nocedal and Wright eq. 3.59 applied to −f),
    /// else of the quadratic through fa, φ′(a), fb, else the midpoint; clamped to the middle 80% of [a, b].
    /// </summary>
    internal static double Interpolate(double a, double fa, double sa, double b, double fb, double sb)
    {
        // Minimise ψ = −φ: ψ(a) = −fa, ψ′(a) = −sa, and the same at b.
        double pa = -fa, da = -sa, pb = -fb, db = -sb;
        double width = b - a;
        double t = double.NaN;
        double d1 = da + db - 3 * (pa - pb) / (a - b);
        double discriminant = d1 * d1 - da * db;
        if (discriminant >= 0)
        {
            double d2 = Math.CopySign(Math.Sqrt(discriminant), width);
            double denominator = db - da + 2 * d2;
            if (denominator != 0) t = b - width * (db + d2 - d1) / denominator;
        }
        if (!double.IsFinite(t))
        {
            double curvature = pb - pa - da * width;
            if (curvature > 0) t = a - da * width * width / (2 * curvature);
        }
        double low = Math.Min(a, b) + MinimumShrink * Math.Abs(width);
        double high = Math.Max(a, b) - MinimumShrink * Math.Abs(width);
        if (!double.IsFinite(t)) return 0.5 * (a + b);
        if (t > high) t = high;
        if (t < low) t = low;
        return t;
    }

    internal static double Dot(double[] u, double[] v)
    {
        double s = 0;
        for (int i = 0; i < u.Length; i++) s += u[i] * v[i];
        return s;
    }
}
