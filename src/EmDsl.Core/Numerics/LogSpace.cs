using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace EmDsl.Numerics;

/// <summary>
/// Log-space helpers that stay finite where naive formulas overflow. (TensorPrimitives.SoftMax does not
/// subtract the maximum and returns NaN for inputs like [1000, 1001]; these always shift first.)
/// </summary>
public static class LogSpace
{
    /// <summary>log Σ exp(v): −∞ for an empty span or when every entry is −∞; +∞ if any entry is +∞.</summary>
    public static double LogSumExp(ReadOnlySpan<double> values)
    {
        if (values.IsEmpty) return double.NegativeInfinity;
        double max = TensorPrimitives.Max(values);
        if (double.IsNegativeInfinity(max) || double.IsPositiveInfinity(max) || double.IsNaN(max)) return max;
        double sum = 0;
        foreach (var v in values) sum += Math.Exp(v - max);
        return max + Math.Log(sum);
    }

    /// <summary>
    /// Replaces each row of the rows×cols matrix <paramref name="logits"/> by its softmax (computed after
    /// subtracting the row maximum) and writes the row's log-sum-exp to <paramref name="logNormalizers"/>.
    /// A row whose entries are all −∞ gets normaliser −∞ and is left as zeros; a row with +∞ entries gets
    /// normaliser +∞ and shares its mass equally among them (the limit of the softmax); a row containing NaN
    /// gets normaliser NaN, which the caller must treat as an error.
    /// </summary>
    public static void SoftmaxRowsInPlace(Span<double> logits, int rows, int cols, Span<double> logNormalizers) =>
        SoftmaxRowsInPlace(logits, rows, cols, logNormalizers, Span<double>.Empty);

    /// <summary>
    /// <see cref="SoftmaxRowsInPlace(Span{double}, int, int, Span{double})"/>, and when <paramref name="entropies"/>
    /// is not empty also each row's entropy −Σ_j p_j log p_j (0·log 0 = 0), from the shifted logits it already has:
    /// with v_j = x_j − max and s = Σ exp(v_j), −Σ p_j log p_j = log s − Σ_j p_j v_j, so no logarithm per entry. The
    /// probabilities and normalisers are bit for bit those of the overload without entropies. A row whose
    /// normaliser is not finite gets entropy 0.
    /// </summary>
    public static void SoftmaxRowsInPlace(Span<double> logits, int rows, int cols, Span<double> logNormalizers, Span<double> entropies)
    {
        if (logits.Length < rows * cols) throw new ArgumentException("logits is smaller than rows×cols.", nameof(logits));
        if (logNormalizers.Length < rows) throw new ArgumentException("logNormalizers is shorter than rows.", nameof(logNormalizers));
        bool entropy = !entropies.IsEmpty;
        if (entropy && entropies.Length < rows) throw new ArgumentException("entropies is shorter than rows.", nameof(entropies));
        if (cols < 32)
        {
            SoftmaxShortRowsInPlace(logits, rows, cols, logNormalizers, entropies);
            return;
        }
        double[]? shifted = entropy ? new double[cols] : null;
        for (int i = 0; i < rows; i++)
        {
            var row = logits.Slice(i * cols, cols);
            double max = TensorPrimitives.Max(row);
            if (!double.IsFinite(max))
            {
                logNormalizers[i] = max;
                if (entropy) entropies[i] = 0;
                if (double.IsNegativeInfinity(max)) row.Clear();
                else if (double.IsPositiveInfinity(max)) IndicatorOfPositiveInfinity(row);
                continue;
            }
            TensorPrimitives.Subtract(row, max, row);
            if (entropy) row.CopyTo(shifted);
            ReproducibleMath.Exp(row, row); // TensorPrimitives.Exp's last bits change when the JIT recompiles it
            double sum = TensorPrimitives.Sum(row);
            TensorPrimitives.Divide(row, sum, row);
            logNormalizers[i] = max + Math.Log(sum);
            if (entropy)
            {
                double pv = 0;
                for (int j = 0; j < cols; j++) if (row[j] > 0) pv += row[j] * shifted![j];
                entropies[i] = Math.Log(sum) - pv;
            }
        }
    }

    /// <summary>
    /// The same for rows shorter than a few vectors (a mixture's K), where per-row calls of the vectorised primitives
    /// would cost more than the arithmetic. Each row is shifted by its maximum and exponentiated in place, a vector at a
    /// time (ReproducibleMath's kernel: the same bits on every thread), its last partial vector padded with −∞ (whose
    /// exp is exactly 0), while its sum and Σ e·v accumulate; a block's sums are then logged by one call of
    /// ReproducibleMath.Log and its rows scaled. Each row is summed in its own order, so rows are independent of the
    /// block they fall in.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SoftmaxShortRowsInPlace(Span<double> logits, int rows, int cols, Span<double> logNormalizers, Span<double> entropies)
    {
        bool entropy = !entropies.IsEmpty;
        int vectors = cols / 4 * 4, rest = cols - vectors;
        const int block = 64;
        // Per row of a block: the sum, its logarithm, Σ e·v, the maximum and whether the row is special (NaN or ±∞).
        Span<double> buffer = stackalloc double[320]; // 5 × block
        var sums = buffer.Slice(0, block);
        var logSums = buffer.Slice(block, block);
        var evs = buffer.Slice(2 * block, block);
        var maxima = buffer.Slice(3 * block, block);
        var special = buffer.Slice(4 * block, block);
        ref double logit0 = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(logits);
        var floor = Vector256.Create(-746.0);
        for (int first = 0; first < rows; first += block)
        {
            int n = Math.Min(block, rows - first);
            for (int r = 0; r < n; r++)
            {
                int i = first + r;
                ref double row = ref Unsafe.Add(ref logit0, (nint)i * cols);
                double max = double.NegativeInfinity;
                bool nan = false;
                if (vectors > 0)
                {
                    var m = Vector256.LoadUnsafe(ref row);
                    var ok = Vector256.Equals(m, m);
                    for (int j = 4; j < vectors; j += 4)
                    {
                        var x = Vector256.LoadUnsafe(ref row, (nuint)j);
                        m = Vector256.Max(m, x);
                        ok &= Vector256.Equals(x, x);
                    }
                    nan = !Vector256.EqualsAll(ok.AsUInt64(), Vector256<ulong>.AllBitsSet);
                    max = Math.Max(Math.Max(m[0], m[1]), Math.Max(m[2], m[3]));
                }
                for (int j = vectors; j < cols; j++)
                {
                    double x = Unsafe.Add(ref row, j);
                    if (x > max) max = x;
                    nan |= double.IsNaN(x);
                }
                special[r] = nan || !double.IsFinite(max) ? 1 : 0;
                if (special[r] != 0)
                {
                    var whole = logits.Slice(i * cols, cols);
                    sums[r] = 1;
                    logNormalizers[i] = nan ? double.NaN : max;
                    if (entropy) entropies[i] = nan ? double.NaN : 0;
                    if (nan) continue;
                    if (double.IsNegativeInfinity(max)) whole.Clear();
                    else IndicatorOfPositiveInfinity(whole);
                    continue;
                }
                maxima[r] = max;
                var shift = Vector256.Create(max);
                // e^−∞ is exactly 0 (the kernel clamps its argument), and so is e · max(v, −746) there: no 0·(−∞).
                var sumV = Vector256<double>.Zero;
                var evV = Vector256<double>.Zero;
                for (int j = 0; j < vectors; j += 4)
                {
                    var v = Vector256.LoadUnsafe(ref row, (nuint)j) - shift;
                    var e = ReproducibleMath.ExpLanes(v);
                    e.StoreUnsafe(ref row, (nuint)j);
                    sumV += e;
                    evV += e * Vector256.Max(v, floor);
                }
                if (rest > 0)
                {
                    ref double last = ref Unsafe.Add(ref row, vectors);
                    var v = Vector256.Create(last - max,
                        rest > 1 ? Unsafe.Add(ref last, 1) - max : double.NegativeInfinity,
                        rest > 2 ? Unsafe.Add(ref last, 2) - max : double.NegativeInfinity,
                        double.NegativeInfinity);
                    var e = ReproducibleMath.ExpLanes(v);
                    last = e.GetElement(0);
                    if (rest > 1) Unsafe.Add(ref last, 1) = e.GetElement(1);
                    if (rest > 2) Unsafe.Add(ref last, 2) = e.GetElement(2);
                    sumV += e;
                    evV += e * Vector256.Max(v, floor);
                }
                sums[r] = (sumV[0] + sumV[1]) + (sumV[2] + sumV[3]);
                evs[r] = (evV[0] + evV[1]) + (evV[2] + evV[3]);
            }
            ReproducibleMath.Log(sums.Slice(0, n), logSums);
            for (int r = 0; r < n; r++)
            {
                if (special[r] != 0) continue;
                int i = first + r;
                ref double row = ref Unsafe.Add(ref logit0, (nint)i * cols);
                double inv = 1 / sums[r];
                var scale = Vector256.Create(inv);
                for (int j = 0; j < vectors; j += 4) (Vector256.LoadUnsafe(ref row, (nuint)j) * scale).StoreUnsafe(ref row, (nuint)j);
                for (int j = vectors; j < cols; j++) Unsafe.Add(ref row, j) *= inv;
                logNormalizers[i] = maxima[r] + logSums[r];
                if (entropy) entropies[i] = logSums[r] - evs[r] * inv;
            }
        }
    }

    /// <summary>The limit of softmax when some logits are +∞: their entries share the mass equally, the rest get 0.</summary>
    private static void IndicatorOfPositiveInfinity(Span<double> row)
    {
        int count = 0;
        foreach (var v in row) if (double.IsPositiveInfinity(v)) count++;
        for (int j = 0; j < row.Length; j++) row[j] = double.IsPositiveInfinity(row[j]) ? 1.0 / count : 0;
    }

    /// <summary>Softmax of a vector by shifting with its maximum; the result sums to one.</summary>
    public static double[] Softmax(ReadOnlySpan<double> logits)
    {
        var p = logits.ToArray();
        Span<double> lse = stackalloc double[1];
        SoftmaxRowsInPlace(p, 1, p.Length, lse);
        return p;
    }
}
