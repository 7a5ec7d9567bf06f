namespace EmDsl.Optimization;

/// <summary>
/// The L-BFGS ascent direction d = H·∇f, with H the limited-memory BFGS approximation of (−∇²f)⁻¹ built by the
/// two-loop recursion from the last <c>memory</c> pairs s = x_{k+1} − x_k, y = ∇f(x_k) − ∇f(x_{k+1})
/// (for a concave f, yᵀs &gt; 0) and the initial scaling γ = sᵀy / yᵀy of the newest pair. A pair with
/// yᵀs ≤ ε·yᵀy (no usable positive curvature along s) is skipped. With no pairs, d = ∇f.
/// </summary>
internal sealed class LbfgsDirection
{
    private const double MachineEpsilon = 2.220446049250313e-16;

    private readonly int n, memory;
    private readonly double[][] s, y;
    private readonly double[] rho, coefficient;
    private int count, newest = -1;

    public LbfgsDirection(int n, int memory)
    {
        this.n = n;
        this.memory = memory;
        s = new double[memory][];
        y = new double[memory][];
        for (int i = 0; i < memory; i++)
        {
            s[i] = new double[n];
            y[i] = new double[n];
        }
        rho = new double[memory];
        coefficient = new double[memory];
    }

    /// <summary>Forgets every pair: the next direction is the gradient.</summary>
    public void Reset()
    {
        count = 0;
        newest = -1;
    }

    /// <summary>Writes the direction into <paramref name="d"/>; returns true when it is the plain gradient (no pairs).</summary>
    public bool Compute(double[] gradient, double[] d)
    {
        Array.Copy(gradient, d, n);
        if (count == 0) return true;
        for (int k = 0, i = newest; k < count; k++, i = (i - 1 + memory) % memory)
        {
            double a = rho[i] * LineSearch.Dot(s[i], d);
            coefficient[i] = a;
            var yi = y[i];
            for (int j = 0; j < n; j++) d[j] -= a * yi[j];
        }
        var yn = y[newest];
        double gamma = 1 / (rho[newest] * LineSearch.Dot(yn, yn));
        for (int j = 0; j < n; j++) d[j] *= gamma;
        for (int k = 0, i = (newest - count + 1 + memory) % memory; k < count; k++, i = (i + 1) % memory)
        {
            double b = rho[i] * LineSearch.Dot(y[i], d);
            double c = coefficient[i] - b;
            var si = s[i];
            for (int j = 0; j < n; j++) d[j] += c * si[j];
        }
        return false;
    }

    /// <summary>Records the pair from an accepted step; skipped when its curvature yᵀs is not safely positive.</summary>
    public void Update(double[] previousPoint, double[] previousGradient, double[] point, double[] gradient)
    {
        double ys = 0, yy = 0;
        for (int j = 0; j < n; j++)
        {
            double sj = point[j] - previousPoint[j], yj = previousGradient[j] - gradient[j];
            ys += yj * sj;
            yy += yj * yj;
        }
        if (!(ys > MachineEpsilon * yy) || !double.IsFinite(ys) || !double.IsFinite(yy)) return;
        int slot = (newest + 1) % memory;
        var si = s[slot];
        var yi = y[slot];
        for (int j = 0; j < n; j++)
        {
            si[j] = point[j] - previousPoint[j];
            yi[j] = previousGradient[j] - gradient[j];
        }
        rho[slot] = 1 / ys;
        newest = slot;
        count = Math.Min(count + 1, memory);
    }
}
