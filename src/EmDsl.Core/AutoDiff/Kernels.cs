using System.Buffers;
using System.Numerics.Tensors;

namespace EmDsl.AutoDiff;

/// <summary>A temporary buffer rented from the shared pool for the duration of one kernel call.</summary>
internal ref struct Scratch
{
    private readonly double[] _array;

    /// <summary>The first n entries of the rented array (contents unspecified).</summary>
    public readonly Span<double> Span;

    public Scratch(int n)
    {
        _array = ArrayPool<double>.Shared.Rent(Math.Max(n, 1));
        Span = _array.AsSpan(0, n);
    }

    public readonly void Dispose() => ArrayPool<double>.Shared.Return(_array);
}

/// <summary>An elementwise binary operation: a scalar rule and its vectorised span forms.</summary>
internal interface IBinaryOp
{
    static abstract double Apply(double x, double y);
    static abstract void Vector(ReadOnlySpan<double> x, ReadOnlySpan<double> y, Span<double> d);
    static abstract void VectorScalar(ReadOnlySpan<double> x, double y, Span<double> d);
    static abstract void ScalarVector(double x, ReadOnlySpan<double> y, Span<double> d);
}

internal readonly struct AddOp : IBinaryOp
{
    public static double Apply(double x, double y) => x + y;
    public static void Vector(ReadOnlySpan<double> x, ReadOnlySpan<double> y, Span<double> d) => TensorPrimitives.Add(x, y, d);
    public static void VectorScalar(ReadOnlySpan<double> x, double y, Span<double> d) => TensorPrimitives.Add(x, y, d);
    public static void ScalarVector(double x, ReadOnlySpan<double> y, Span<double> d) => TensorPrimitives.Add(y, x, d);
}

internal readonly struct SubtractOp : IBinaryOp
{
    public static double Apply(double x, double y) => x - y;
    public static void Vector(ReadOnlySpan<double> x, ReadOnlySpan<double> y, Span<double> d) => TensorPrimitives.Subtract(x, y, d);
    public static void VectorScalar(ReadOnlySpan<double> x, double y, Span<double> d) => TensorPrimitives.Subtract(x, y, d);
    public static void ScalarVector(double x, ReadOnlySpan<double> y, Span<double> d) => TensorPrimitives.Subtract(x, y, d);
}

internal readonly struct MultiplyOp : IBinaryOp
{
    public static double Apply(double x, double y) => x * y;
    public static void Vector(ReadOnlySpan<double> x, ReadOnlySpan<double> y, Span<double> d) => TensorPrimitives.Multiply(x, y, d);
    public static void VectorScalar(ReadOnlySpan<double> x, double y, Span<double> d) => TensorPrimitives.Multiply(x, y, d);
    public static void ScalarVector(double x, ReadOnlySpan<double> y, Span<double> d) => TensorPrimitives.Multiply(y, x, d);
}

internal readonly struct DivideOp : IBinaryOp
{
    public static double Apply(double x, double y) => x / y;
    public static void Vector(ReadOnlySpan<double> x, ReadOnlySpan<double> y, Span<double> d) => TensorPrimitives.Divide(x, y, d);
    public static void VectorScalar(ReadOnlySpan<double> x, double y, Span<double> d) => TensorPrimitives.Divide(x, y, d);
    public static void ScalarVector(double x, ReadOnlySpan<double> y, Span<double> d) => TensorPrimitives.Divide(x, y, d);
}

/// <summary>One term of a broadcast backward rule: the contribution of upstream gradient g given operands p and q.</summary>
internal interface IGradKernel
{
    static abstract double Apply(double g, double p, double q);
}

/// <summary>+g.</summary>
internal readonly struct PlusG : IGradKernel { public static double Apply(double g, double p, double q) => g; }

/// <summary>−g.</summary>
internal readonly struct MinusG : IGradKernel { public static double Apply(double g, double p, double q) => -g; }

/// <summary>g·p.</summary>
internal readonly struct GTimesP : IGradKernel { public static double Apply(double g, double p, double q) => g * p; }

/// <summary>g / p.</summary>
internal readonly struct GOverP : IGradKernel { public static double Apply(double g, double p, double q) => g / p; }

/// <summary>−g·p / q.</summary>
internal readonly struct MinusGTimesPOverQ : IGradKernel { public static double Apply(double g, double p, double q) => -g * p / q; }

/// <summary>Array kernels of the tape: broadcasting, reductions and numerically careful elementwise functions.</summary>
internal static class Kernels
{
    /// <summary>Rows narrower than this use plain loops: the vectorised primitives' per-call overhead would dominate.</summary>
    public const int Narrow = 16;

    /// <summary>A result buffer whose every entry the caller overwrites (skips zeroing for large arrays).</summary>
    public static double[] NewArray(int length) => GC.AllocateUninitializedArray<double>(length);

    /// <summary>o = a ⊕ b with numpy broadcasting; o is R×C, the broadcast shape.</summary>
    public static void BroadcastForward<TOp>(ReadOnlySpan<double> a, int ar, int ac, ReadOnlySpan<double> b, int br, int bc, Span<double> o, int rows, int cols)
        where TOp : struct, IBinaryOp
    {
        if (ar == br && ac == bc) { TOp.Vector(a, b, o); return; }
        if (b.Length == 1) { TOp.VectorScalar(a, b[0], o); return; }
        if (a.Length == 1) { TOp.ScalarVector(a[0], b, o); return; }
        if (cols < Narrow)
        {
            int sa = ac == 1 ? 0 : 1, sb = bc == 1 ? 0 : 1;
            for (int i = 0; i < rows; i++)
            {
                int ao = (ar == 1 ? 0 : i) * ac, bo = (br == 1 ? 0 : i) * bc, oo = i * cols;
                for (int j = 0; j < cols; j++) o[oo + j] = TOp.Apply(a[ao + j * sa], b[bo + j * sb]);
            }
            return;
        }
        for (int i = 0; i < rows; i++)
        {
            var ai = a.Slice((ar == 1 ? 0 : i) * ac, ac);
            var bi = b.Slice((br == 1 ? 0 : i) * bc, bc);
            var oi = o.Slice(i * cols, cols);
            if (ac == bc) TOp.Vector(ai, bi, oi);
            else if (bc == 1) TOp.VectorScalar(ai, bi[0], oi);
            else TOp.ScalarVector(ai[0], bi, oi);
        }
    }

    /// <summary>
    /// t[tr×tc] += Σ over broadcast dimensions of K(g, p, q), where g is R×C and t, p, q broadcast to R×C
    /// (each dimension equal to R or C, or 1). This is the general backward rule of a broadcast binary op.
    /// </summary>
    public static void ReduceInto<K>(Span<double> t, int tr, int tc, ReadOnlySpan<double> g, int rows, int cols,
        ReadOnlySpan<double> p, int pr, int pc, ReadOnlySpan<double> q, int qr, int qc) where K : struct, IGradKernel
    {
        int st = tc == 1 ? 0 : 1, sp = pc == 1 ? 0 : 1, sq = qc == 1 ? 0 : 1;
        for (int i = 0; i < rows; i++)
        {
            int to = (tr == 1 ? 0 : i) * tc, po = (pr == 1 ? 0 : i) * pc, qo = (qr == 1 ? 0 : i) * qc, go = i * cols;
            for (int j = 0; j < cols; j++) t[to + j * st] += K.Apply(g[go + j], p[po + j * sp], q[qo + j * sq]);
        }
    }

    /// <summary>t += sign · (g summed over the dimensions along which t was broadcast to R×C).</summary>
    public static void AccumulateSum(Span<double> t, int tr, int tc, ReadOnlySpan<double> g, int rows, int cols, bool negate)
    {
        if (tr == rows && tc == cols)
        {
            if (negate) TensorPrimitives.Subtract(t, g, t);
            else TensorPrimitives.Add(t, g, t);
        }
        else if (t.Length == 1)
        {
            double s = TensorPrimitives.Sum(g);
            t[0] += negate ? -s : s;
        }
        else if (negate) ReduceInto<MinusG>(t, tr, tc, g, rows, cols, g, rows, cols, g, rows, cols);
        else ReduceInto<PlusG>(t, tr, tc, g, rows, cols, g, rows, cols, g, rows, cols);
    }

    /// <summary>t += reduce(g ∘ p), p broadcast to R×C.</summary>
    public static void AccumulateProduct(Span<double> t, int tr, int tc, ReadOnlySpan<double> g, int rows, int cols, ReadOnlySpan<double> p, int pr, int pc)
    {
        bool tFull = tr == rows && tc == cols, pFull = pr == rows && pc == cols;
        if (tFull && pFull) TensorPrimitives.MultiplyAdd(g, p, t, t);
        else if (tFull && p.Length == 1) TensorPrimitives.MultiplyAdd(g, p[0], t, t);
        else if (t.Length == 1 && pFull) t[0] += TensorPrimitives.Dot(g, p);
        else ReduceInto<GTimesP>(t, tr, tc, g, rows, cols, p, pr, pc, p, pr, pc);
    }

    /// <summary>t += reduce(g / p), p broadcast to R×C (the numerator's rule for a quotient).</summary>
    public static void AccumulateQuotient(Span<double> t, int tr, int tc, ReadOnlySpan<double> g, int rows, int cols, ReadOnlySpan<double> p, int pr, int pc)
    {
        bool tFull = tr == rows && tc == cols, pFull = pr == rows && pc == cols;
        if (tFull && (pFull || p.Length == 1))
        {
            using var s = new Scratch(g.Length);
            if (pFull) TensorPrimitives.Divide(g, p, s.Span);
            else TensorPrimitives.Divide(g, p[0], s.Span);
            TensorPrimitives.Add(t, s.Span, t);
        }
        else ReduceInto<GOverP>(t, tr, tc, g, rows, cols, p, pr, pc, p, pr, pc);
    }

    /// <summary>t += reduce(−g ∘ y / q) for y = a / q (the denominator's rule for a quotient), y R×C, q t-shaped.</summary>
    public static void AccumulateDenominator(Span<double> t, int tr, int tc, ReadOnlySpan<double> g, int rows, int cols, ReadOnlySpan<double> y, ReadOnlySpan<double> q)
    {
        if (tr == rows && tc == cols)
        {
            using var s = new Scratch(g.Length);
            TensorPrimitives.Divide(y, q, s.Span);
            TensorPrimitives.Multiply(s.Span, g, s.Span);
            TensorPrimitives.Subtract(t, s.Span, t);
        }
        else if (t.Length == 1) t[0] -= TensorPrimitives.Dot(g, y) / q[0];
        else ReduceInto<MinusGTimesPOverQ>(t, tr, tc, g, rows, cols, y, rows, cols, q, tr, tc);
    }

    /// <summary>log(1 + x) to full relative precision: u = 1 ⊕ x, then log(u)·x/(u − 1) (Goldberg), vectorised log.</summary>
    public static void Log1p(ReadOnlySpan<double> x, Span<double> y)
    {
        using var s = new Scratch(x.Length);
        var logU = s.Span;
        TensorPrimitives.Add(x, 1.0, logU);
        TensorPrimitives.Log(logU, logU);
        for (int i = 0; i < x.Length; i++) y[i] = Log1pCorrected(x[i], logU[i]);
    }

    /// <summary>log1p(x) from x and a computed log(1 ⊕ x).</summary>
    private static double Log1pCorrected(double x, double logU)
    {
        double u = 1 + x, d = u - 1;
        if (d == 0) return x; // |x| below half an ulp of 1: log1p(x) = x to full precision (also x = ±0)
        if (double.IsInfinity(u)) return logU;
        return logU * (x / d);
    }

    /// <summary>
    /// y = softplus(x) = max(x, 0) + log1p(e^{−|x|}), or with <paramref name="logSigmoid"/> y = log σ(x) = −softplus(−x)
    /// = min(x, 0) − log1p(e^{−|x|}): never overflows, full relative precision in the exponentially small tails.
    /// </summary>
    public static void Softplus(ReadOnlySpan<double> x, Span<double> y, bool logSigmoid)
    {
        using var s = new Scratch(x.Length);
        var logU = s.Span;
        TensorPrimitives.Abs(x, y);
        TensorPrimitives.Negate(y, y);
        TensorPrimitives.Exp(y, y);                // e = exp(−|x|) ∈ (0, 1]
        TensorPrimitives.Add(y, 1.0, logU);
        TensorPrimitives.Log(logU, logU);
        for (int i = 0; i < x.Length; i++)
        {
            double tail = Log1pCorrected(y[i], logU[i]);
            double xi = x[i];
            y[i] = logSigmoid ? Math.Min(xi, 0) - tail : Math.Max(xi, 0) + tail;
        }
    }

    /// <summary>Largest entry, NaN if any entry is NaN (plain loop for short rows).</summary>
    public static double Max(ReadOnlySpan<double> v)
    {
        if (v.Length >= Narrow) return TensorPrimitives.Max(v);
        double max = double.NegativeInfinity;
        foreach (var x in v)
        {
            if (double.IsNaN(x)) return double.NaN;
            if (x > max) max = x;
        }
        return max;
    }

    /// <summary>Sum of a span (plain loop for short spans).</summary>
    public static double Sum(ReadOnlySpan<double> v)
    {
        if (v.Length >= Narrow) return TensorPrimitives.Sum(v);
        double s = 0;
        foreach (var x in v) s += x;
        return s;
    }

    /// <summary>The shift used before exponentiating: the maximum if finite, 0 otherwise (so an all −∞ row sums to 0).</summary>
    public static double Shift(double max) => double.IsFinite(max) ? max : 0;

    /// <summary>
    /// lse[i] = log Σ_j exp x[i, j] for the R×C matrix x, shifted by each row's maximum: −∞ for an all −∞ row,
    /// +∞ if the row holds +∞, NaN if it holds NaN. The exponentials are vectorised over the whole matrix.
    /// </summary>
    public static void RowLogSumExp(ReadOnlySpan<double> x, int rows, int cols, Span<double> lse)
    {
        using var m = new Scratch(rows);
        using var e = new Scratch(x.Length);
        var max = m.Span;
        var ex = e.Span;
        for (int i = 0; i < rows; i++)
        {
            var row = x.Slice(i * cols, cols);
            max[i] = Max(row);
            double shift = Shift(max[i]);
            var er = ex.Slice(i * cols, cols);
            if (cols >= Narrow) TensorPrimitives.Subtract(row, shift, er);
            else for (int j = 0; j < cols; j++) er[j] = row[j] - shift;
        }
        TensorPrimitives.Exp(ex, ex);
        for (int i = 0; i < rows; i++) lse[i] = Sum(ex.Slice(i * cols, cols));
        TensorPrimitives.Log(lse, lse);
        for (int i = 0; i < rows; i++) lse[i] = double.IsFinite(max[i]) ? max[i] + lse[i] : max[i];
    }

    /// <summary>lse[j] = log Σ_i exp x[i, j] for the R×C matrix x, shifted by each column's maximum (same conventions as rows).</summary>
    public static void ColumnLogSumExp(ReadOnlySpan<double> x, int rows, int cols, Span<double> lse)
    {
        using var m = new Scratch(cols);
        using var sh = new Scratch(cols);
        using var e = new Scratch(x.Length);
        var max = m.Span;
        var shift = sh.Span;
        var ex = e.Span;
        max.Fill(double.NegativeInfinity);
        for (int i = 0; i < rows; i++)
        {
            var row = x.Slice(i * cols, cols);
            for (int j = 0; j < cols; j++)
            {
                double v = row[j];
                if (!(v <= max[j]) && !double.IsNaN(max[j])) max[j] = v; // a larger entry, or the first NaN (which then sticks)
            }
        }
        for (int j = 0; j < cols; j++) shift[j] = Shift(max[j]);
        SubtractRowVector(x, rows, cols, shift, ex);
        TensorPrimitives.Exp(ex, ex);
        ColumnSums(ex, rows, cols, lse);
        TensorPrimitives.Log(lse, lse);
        for (int j = 0; j < cols; j++) lse[j] = double.IsFinite(max[j]) ? max[j] + lse[j] : max[j];
    }

    /// <summary>o[i, j] = x[i, j] − v[j].</summary>
    public static void SubtractRowVector(ReadOnlySpan<double> x, int rows, int cols, ReadOnlySpan<double> v, Span<double> o)
    {
        for (int i = 0; i < rows; i++)
        {
            var xi = x.Slice(i * cols, cols);
            var oi = o.Slice(i * cols, cols);
            if (cols >= Narrow) TensorPrimitives.Subtract(xi, v, oi);
            else for (int j = 0; j < cols; j++) oi[j] = xi[j] - v[j];
        }
    }

    /// <summary>o[i, j] = x[i, j] − v[i].</summary>
    public static void SubtractColumnVector(ReadOnlySpan<double> x, int rows, int cols, ReadOnlySpan<double> v, Span<double> o)
    {
        for (int i = 0; i < rows; i++)
        {
            var xi = x.Slice(i * cols, cols);
            var oi = o.Slice(i * cols, cols);
            double vi = v[i];
            if (cols >= Narrow) TensorPrimitives.Subtract(xi, vi, oi);
            else for (int j = 0; j < cols; j++) oi[j] = xi[j] - vi;
        }
    }

    /// <summary>s[j] = Σ_i x[i, j] (overwrites s).</summary>
    public static void ColumnSums(ReadOnlySpan<double> x, int rows, int cols, Span<double> s)
    {
        s.Clear();
        for (int i = 0; i < rows; i++)
        {
            var xi = x.Slice(i * cols, cols);
            if (cols >= Narrow) TensorPrimitives.Add(s, xi, s);
            else for (int j = 0; j < cols; j++) s[j] += xi[j];
        }
    }

    /// <summary>t[i, j] += scale · v[j] (a 1×C row added to every row).</summary>
    public static void AddRowVector(Span<double> t, int rows, int cols, ReadOnlySpan<double> v, double scale)
    {
        for (int i = 0; i < rows; i++)
        {
            var ti = t.Slice(i * cols, cols);
            if (cols >= Narrow) TensorPrimitives.MultiplyAdd(v, scale, ti, ti);
            else for (int j = 0; j < cols; j++) ti[j] += scale * v[j];
        }
    }

    /// <summary>t[i, j] += scale · v[i] (an R×1 column added to every column).</summary>
    public static void AddColumnVector(Span<double> t, int rows, int cols, ReadOnlySpan<double> v, double scale)
    {
        for (int i = 0; i < rows; i++)
        {
            var ti = t.Slice(i * cols, cols);
            double vi = scale * v[i];
            if (cols >= Narrow) TensorPrimitives.Add(ti, vi, ti);
            else for (int j = 0; j < cols; j++) ti[j] += vi;
        }
    }
}
