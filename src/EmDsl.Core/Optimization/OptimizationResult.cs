namespace EmDsl.Optimization;

/// <summary>The outcome of <see cref="Maximizer.Maximize"/>.</summary>
/// <param name="Point">The best point found (a new array): the start, or the last accepted iterate.</param>
/// <param name="Value">f(<paramref name="Point"/>), exactly as the objective returned it there.</param>
/// <param name="GradientNorm">‖∇f(<paramref name="Point"/>)‖∞, the largest absolute gradient entry.</param>
/// <param name="Iterations">Number of accepted steps (each increased f strictly).</param>
/// <param name="Evaluations">Number of calls to the objective, finite-difference Hessian columns included.</param>
/// <param name="Converged">True only when a tolerance rule stopped the run (<see cref="Maximizer.GradientToleranceReached"/>, <see cref="Maximizer.ValueToleranceReached"/> or <see cref="Maximizer.MaximumToRounding"/>).</param>
/// <param name="StopReason">Why the run stopped: one of the reason constants on <see cref="Maximizer"/>.</param>
public sealed record OptimizationResult(double[] Point, double Value, double GradientNorm, int Iterations, int Evaluations, bool Converged, string StopReason);
