namespace EmDsl.Optimization;

/// <summary>
/// Maximises a smooth function of a few to a few thousand real parameters from its value and exact gradient
/// (<see cref="ObjectiveFunction"/>): the numerical optimiser behind M-steps that have no closed form.
/// <para>
/// <b>Methods.</b> <see cref="OptimizerMethod.Lbfgs"/> (default) builds a curvature model from recent steps and
/// needs only gradients: use it in general. <see cref="OptimizerMethod.Newton"/> differences the gradient into a
/// Hessian (2n extra gradient calls per iteration, O(n³) algebra) and converges quadratically near a maximum: use
/// it for small n (up to about 50) when evaluations are cheap and full precision is wanted in few iterations.
/// Both share one line search (strong Wolfe conditions, c₁ = 10⁻⁴, c₂ = 0.9, cubic interpolation; see
/// <see cref="OptimizerMethod"/>), and both fall back to the gradient direction when their own direction
/// yields no increasing step.
/// </para>
/// <para>
/// <b>Guarantees.</b> Monotone by construction: every accepted iterate has a strictly higher value than the one
/// before, so the result is never worse than the start; when no step along the method's direction or the
/// gradient increases f (the start is a maximum to rounding, or a kink), the start is returned with its value.
/// The returned <see cref="OptimizationResult.Value"/> is exactly what the objective returned at
/// <see cref="OptimizationResult.Point"/>. Deterministic: the same objective and start give the same result bit for
/// bit. On a smooth concave function with a maximum, both methods converge to it (for a strictly concave quadratic,
/// Newton in one step); on other functions they converge to a stationary point, normally a local maximum.
/// Points outside the domain (the objective returns −∞ or NaN) are never accepted; the line search shortens the
/// step instead, so a run started inside the domain stays inside.
/// </para>
/// <para>
/// <b>Stopping.</b> In this order, at each iterate: the gradient rule (<see cref="OptimizerOptions.GradientTolerance"/>),
/// the value rule on the last step (<see cref="OptimizerOptions.ValueTolerance"/>), the iteration limit; and
/// after a line search that found no increasing step, the rounding rule (<see cref="MaximumToRounding"/>). The
/// reasons are the constants on this class; the two tolerance rules and the rounding rule count as converged. Working memory is allocated once per call (O(n·Memory) for L-BFGS, O(n²) for Newton).
/// </para>
/// </summary>
public static class Maximizer
{
    /// <summary>Stop reason: ‖∇f‖∞ ≤ GradientTolerance·max(1, |f|) at the returned point (converged).</summary>
    public const string GradientToleranceReached = "gradient tolerance reached";

    /// <summary>Stop reason: the last step increased f by at most ValueTolerance·|f| (converged).</summary>
    public const string ValueToleranceReached = "value tolerance reached";

    /// <summary>
    /// Stop reason (converged): no step along the method's direction or the gradient increased f, yet the
    /// gradients say little is left: along the gradient g, the secant curvature of the first finite trial step α₁,
    /// κ = (‖g‖² − ∇f(x + α₁g)ᵀg)/α₁ &gt; 0, predicts a largest increase ‖g‖⁴/2κ of at most
    /// <see cref="RoundingLevel"/>·max(1, |f|). The search failed because f cannot resolve that increase: f is at
    /// its maximum to rounding. Typical for log-likelihoods, whose value is a sum of terms much larger than the
    /// differences left near the maximum, so that the gradient rule's last digits lie below the rounding of f.
    /// (At a kink the secant curvature stays moderate and the predicted increase large: <see cref="NoIncreasingStep"/>.)
    /// </summary>
    public const string MaximumToRounding = "maximum reached to rounding";

    /// <summary>
    /// √ε ≈ 1.5e-8: the relative size below which a predicted increase that no line-search trial could realise is
    /// attributed to rounding in f (see <see cref="MaximumToRounding"/>). An objective computed to fewer than half its
    /// digits may thus be reported converged up to that relative distance from its maximum value.
    /// </summary>
    public const double RoundingLevel = 1.4901161193847656e-8;

    /// <summary>
    /// Stop reason: neither the method's direction nor the gradient gave a step that increases f, and the gradients do
    /// not show that the remaining increase is negligible (see <see cref="MaximumToRounding"/>): a kink, a gradient
    /// that does not match the values, or a start at the maximum to rounding with no usable curvature; not converged.
    /// </summary>
    public const string NoIncreasingStep = "no increasing step found";

    /// <summary>Stop reason: <see cref="OptimizerOptions.MaxIterations"/> steps were taken (not converged).</summary>
    public const string IterationLimit = "iteration limit";

    /// <summary>
    /// Maximises <paramref name="objective"/> from <paramref name="start"/> (which is not modified).
    /// </summary>
    /// <param name="objective">f and its gradient; see <see cref="ObjectiveFunction"/>.</param>
    /// <param name="start">The first point; f and ∇f must be finite there.</param>
    /// <param name="options">Method, tolerances and limits (<see cref="OptimizerOptions.Default"/> when null).</param>
    /// <returns>The best point found, its value and gradient norm, counts, and why the run stopped.</returns>
    /// <exception cref="ArgumentNullException">A null objective or start.</exception>
    /// <exception cref="ArgumentException">A non-finite start coordinate, or a non-finite value or gradient at the start.</exception>
    /// <exception cref="ArgumentOutOfRangeException">Invalid options (see <see cref="OptimizerOptions.Validate"/>).</exception>
    public static OptimizationResult Maximize(ObjectiveFunction objective, double[] start, OptimizerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(objective);
        ArgumentNullException.ThrowIfNull(start);
        options ??= OptimizerOptions.Default;
        options.Validate();
        int n = start.Length;
        for (int i = 0; i < n; i++)
            if (!double.IsFinite(start[i]))
                throw new ArgumentException($"Start coordinate {i} is {start[i]}; every coordinate must be finite.", nameof(start));

        var counted = new CountingObjective(objective);
        var x = (double[])start.Clone();
        var gradient = new double[n];
        counted.TryEvaluate(x, gradient, out double value);
        if (!double.IsFinite(value))
            throw new ArgumentException($"The objective at the start point is {value}; it must be finite.", nameof(start));
        for (int i = 0; i < n; i++)
            if (!double.IsFinite(gradient[i]))
                throw new ArgumentException($"Gradient entry {i} at the start point is {gradient[i]}; the gradient must be finite there.", nameof(start));

        var direction = new double[n];
        var search = new LineSearch(counted, n);
        var lbfgs = options.Method == OptimizerMethod.Lbfgs ? new LbfgsDirection(n, options.Memory) : null;
        var newton = options.Method == OptimizerMethod.Newton ? new NewtonDirection(counted, n) : null;
        int iterations = 0;
        double lastIncrease = double.PositiveInfinity;
        string reason;
        while (true)
        {
            double gradientNorm = MaxAbs(gradient);
            if (gradientNorm <= options.GradientTolerance * Math.Max(1, Math.Abs(value))) { reason = GradientToleranceReached; break; }
            if (lastIncrease <= options.ValueTolerance * Math.Abs(value)) { reason = ValueToleranceReached; break; }
            if (iterations >= options.MaxIterations) { reason = IterationLimit; break; }

            bool isGradient = lbfgs?.Compute(gradient, direction) ?? !newton!.TryCompute(x, gradient, direction);
            if (newton is not null && isGradient) Array.Copy(gradient, direction, n);
            double slope = LineSearch.Dot(gradient, direction);
            if (!isGradient && !(slope > 0 && double.IsFinite(slope)))
            {
                // Rounding can spoil an L-BFGS direction: restart from the gradient.
                lbfgs?.Reset();
                Array.Copy(gradient, direction, n);
                isGradient = true;
                slope = LineSearch.Dot(gradient, direction);
            }
            double previous = value;
            bool found = search.Search(ref x, ref gradient, value, direction, slope, isGradient ? GradientStep(gradient) : 1, out value);
            if (!found && !isGradient)
            {
                lbfgs?.Reset();
                Array.Copy(gradient, direction, n);
                slope = LineSearch.Dot(gradient, direction);
                found = search.Search(ref x, ref gradient, value, direction, slope, GradientStep(gradient), out value);
            }
            if (!found)
            {
                reason = search.PredictedIncrease <= RoundingLevel * Math.Max(1, Math.Abs(value)) ? MaximumToRounding : NoIncreasingStep;
                break;
            }

            lbfgs?.Update(search.PreviousPoint, search.PreviousGradient, x, gradient);
            iterations++;
            lastIncrease = value - previous;
            options.OnIteration?.Invoke(iterations, value);
        }
        bool converged = reason is GradientToleranceReached or ValueToleranceReached or MaximumToRounding;
        return new OptimizationResult(x, value, MaxAbs(gradient), iterations, counted.Evaluations, converged, reason);
    }

    /// <summary>First trial step along the raw gradient: a move of length at most 1, α = min(1, 1/‖∇f‖₂).</summary>
    private static double GradientStep(double[] gradient)
    {
        // ‖g‖₂ = m·‖g/m‖₂ with m = ‖g‖∞, so that huge entries do not overflow the sum of squares.
        double m = MaxAbs(gradient), sum = 0;
        foreach (var gi in gradient) sum += (gi / m) * (gi / m);
        return Math.Min(1, 1 / (m * Math.Sqrt(sum)));
    }

    private static double MaxAbs(double[] v)
    {
        double m = 0;
        foreach (var a in v) m = Math.Max(m, Math.Abs(a));
        return m;
    }
}
