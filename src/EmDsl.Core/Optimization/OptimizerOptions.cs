namespace EmDsl.Optimization;

/// <summary>How <see cref="Maximizer"/> chooses its search directions.</summary>
public enum OptimizerMethod
{
    /// <summary>
    /// Limited-memory BFGS: builds a curvature model from the last <see cref="OptimizerOptions.Memory"/> steps and
    /// gradient changes (two-loop recursion), costing O(n·Memory) per iteration and one gradient per line-search
    /// trial. The default; the choice for anything beyond a handful of parameters, or when gradients are expensive.
    /// </summary>
    Lbfgs,

    /// <summary>
    /// Newton's method with a Hessian from central differences of the exact gradient (2n gradient evaluations per
    /// iteration, symmetrised), a Cholesky solve of −H with Levenberg damping λI added until −H + λI is positive
    /// definite, and a fall-back to the gradient direction when that fails. Quadratic convergence near a
    /// maximum with a negative-definite Hessian: pick it for small problems (n up to about 50) that need the
    /// last digits cheaply in iterations, such as an M-step of a few GLM coefficients. O(n³) per iteration.
    /// </summary>
    Newton,
}

/// <summary>
/// Settings of <see cref="Maximizer.Maximize"/>. Immutable; derive variants with <c>with</c> in C# or
/// <c>OptimizerOptions(Method = OptimizerMethod.Newton)</c> in F#.
/// </summary>
public sealed record OptimizerOptions
{
    /// <summary>The defaults documented on each property.</summary>
    public static OptimizerOptions Default { get; } = new();

    /// <summary>Search-direction method (default <see cref="OptimizerMethod.Lbfgs"/>).</summary>
    public OptimizerMethod Method { get; init; } = OptimizerMethod.Lbfgs;

    /// <summary>
    /// Maximum number of accepted steps (default 100; 0 only checks the start). A run that reaches it stops with
    /// <see cref="Maximizer.IterationLimit"/> and is reported as not converged.
    /// </summary>
    public int MaxIterations { get; init; } = 100;

    /// <summary>
    /// Gradient stopping rule (default 1e-10): the run stops, converged, at the first iterate x (the start included)
    /// with ‖∇f(x)‖∞ = max_i |∂f/∂x_i| ≤ <c>GradientTolerance</c> · max(1, |f(x)|).
    /// 0 disables the rule except for an exactly zero gradient.
    /// </summary>
    public double GradientTolerance { get; init; } = 1e-10;

    /// <summary>
    /// Value stopping rule (default 1e-15, about 5 units in the last place): the run stops, converged, after an
    /// accepted step from x to x′ with f(x′) − f(x) ≤ <c>ValueTolerance</c> · |f(x′)|, i.e. when one iteration's
    /// relative increase falls to this level. Every accepted step increases f strictly, so 0 disables the rule;
    /// being relative, it never fires at f = 0, where the gradient rule applies.
    /// </summary>
    public double ValueTolerance { get; init; } = 1e-15;

    /// <summary>Number of (step, gradient change) pairs L-BFGS keeps (default 10); ignored by Newton.</summary>
    public int Memory { get; init; } = 10;

    /// <summary>
    /// Called after every accepted step with the iteration number (1, 2, …) and the new, strictly higher, value;
    /// null (the default) for none. For progress reports and checks; it must not throw.
    /// </summary>
    public Action<int, double>? OnIteration { get; init; }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first invalid property.</summary>
    public void Validate()
    {
        if (!Enum.IsDefined(Method)) throw new ArgumentOutOfRangeException(nameof(Method), Method, "Method must be OptimizerMethod.Lbfgs or OptimizerMethod.Newton.");
        if (MaxIterations < 0) throw new ArgumentOutOfRangeException(nameof(MaxIterations), MaxIterations, "MaxIterations must be ≥ 0.");
        if (!(GradientTolerance >= 0) || double.IsInfinity(GradientTolerance)) throw new ArgumentOutOfRangeException(nameof(GradientTolerance), GradientTolerance, "GradientTolerance must be finite and ≥ 0.");
        if (!(ValueTolerance >= 0) || double.IsInfinity(ValueTolerance)) throw new ArgumentOutOfRangeException(nameof(ValueTolerance), ValueTolerance, "ValueTolerance must be finite and ≥ 0.");
        if (Memory < 1) throw new ArgumentOutOfRangeException(nameof(Memory), Memory, "Memory must be ≥ 1.");
    }
}
