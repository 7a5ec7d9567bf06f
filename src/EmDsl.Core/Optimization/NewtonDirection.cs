using EmDsl.Numerics;

namespace EmDsl.Optimization;

/// <summary>
/// The damped Newton ascent direction d = (−H + λI)⁻¹·∇f. H is the Hessian by central differences of the exact
/// gradient, column j = (∇f(x + hⱼeⱼ) − ∇f(x − hⱼeⱼ)) / 2hⱼ with hⱼ = ε^⅓·max(1, |xⱼ|) (rounded so that x ± hⱼ is
/// exact), one-sided where one side is outside the domain, then symmetrised. λ is 0 when −H is positive
/// definite; otherwise it starts at 10⁻⁸·max|Hᵢⱼ| and grows tenfold until the Cholesky factorisation of −H + λI
/// succeeds. When the Hessian cannot be formed (both sides of a coordinate outside the domain, or H = 0), when no
/// λ up to 10⁸·max|Hᵢⱼ| works, or when the solve is not an ascent direction, the caller uses the gradient instead.
/// </summary>
internal sealed class NewtonDirection(CountingObjective objective, int n)
{
    private static readonly double StepScale = Math.Cbrt(2.220446049250313e-16);

    private readonly double[] probe = new double[n], plus = new double[n], minus = new double[n];
    private readonly double[] negativeHessian = new double[n * n], factor = new double[n * n];

    /// <summary>Writes the damped Newton direction into <paramref name="d"/>; false when it is unavailable.</summary>
    public bool TryCompute(double[] x, double[] gradient, double[] d)
    {
        if (!TryNegativeHessian(x, gradient)) return false;
        double scale = 0;
        foreach (var v in negativeHessian) scale = Math.Max(scale, Math.Abs(v));
        if (!(scale > 0) || !double.IsFinite(scale)) return false;

        var backend = ComputeBackend.Current;
        double lambda = 0;
        while (true)
        {
            Array.Copy(negativeHessian, factor, n * n);
            for (int i = 0; i < n; i++) factor[i * n + i] += lambda;
            if (backend.CholeskyInPlace(factor, n)) break;
            lambda = lambda == 0 ? 1e-8 * scale : lambda * 10;
            if (lambda > 1e8 * scale) return false;
        }
        Array.Copy(gradient, d, n);
        backend.SolveLowerInPlace(factor, n, d, 1, transpose: false);
        backend.SolveLowerInPlace(factor, n, d, 1, transpose: true);
        foreach (var v in d)
            if (!double.IsFinite(v)) return false;
        return LineSearch.Dot(gradient, d) > 0;
    }

    /// <summary>Fills <see cref="negativeHessian"/> with −(H + Hᵀ)/2; false when some column cannot be differenced.</summary>
    private bool TryNegativeHessian(double[] x, double[] gradient)
    {
        Array.Copy(x, probe, n);
        for (int j = 0; j < n; j++)
        {
            double xj = x[j];
            double h = StepScale * Math.Max(1, Math.Abs(xj));
            probe[j] = xj + h;
            double up = probe[j] - xj;
            bool plusOk = objective.TryEvaluate(probe, plus, out _);
            probe[j] = xj - h;
            double down = xj - probe[j];
            bool minusOk = objective.TryEvaluate(probe, minus, out _);
            probe[j] = xj;
            if (plusOk && minusOk)
                for (int i = 0; i < n; i++) negativeHessian[i * n + j] = -(plus[i] - minus[i]) / (up + down);
            else if (plusOk)
                for (int i = 0; i < n; i++) negativeHessian[i * n + j] = -(plus[i] - gradient[i]) / up;
            else if (minusOk)
                for (int i = 0; i < n; i++) negativeHessian[i * n + j] = -(gradient[i] - minus[i]) / down;
            else
                return false;
        }
        SymmetricMatrix.Symmetrize(negativeHessian, n);
        return true;
    }
}
