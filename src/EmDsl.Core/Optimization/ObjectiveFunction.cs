namespace EmDsl.Optimization;

/// <summary>
/// A smooth objective to maximise: returns f(<paramref name="point"/>) and writes ∇f(<paramref name="point"/>)
/// into <paramref name="gradient"/> (same length as <paramref name="point"/>). It must not modify
/// <paramref name="point"/> or keep either array: <see cref="Maximizer"/> reuses them between calls.
/// Outside its domain it may return −∞ or NaN (+∞ is treated the same way); the optimiser then treats the step
/// as too long and shortens it. A value is accepted only when it and every gradient entry are finite.
/// The function must be deterministic: the same point must give the same value, bit for bit.
/// </summary>
/// <param name="point">Where to evaluate; read only.</param>
/// <param name="gradient">Receives ∂f/∂point_i; every entry must be written.</param>
/// <returns>f(point).</returns>
public delegate double ObjectiveFunction(double[] point, double[] gradient);
