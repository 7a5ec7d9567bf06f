using System.Numerics.Tensors;

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
    /// The same for rows shorter than a few vectors (a mixture's K), where per-call overhead of the vectorised
    /// primitives would dominate: plain loops, one pass for the maximum and one for exp and the sum.
    /// </summary>
    private static void SoftmaxShortRowsInPlace(Span<double> logits, int rows, int cols, Span<double> logNormalizers, Span<double> entropies)
    {
        bool entropy = !entropies.IsEmpty;
        for (int i = 0; i < rows; i++)
        {
            var row = logits.Slice(i * cols, cols);
            double max = double.NegativeInfinity;
            bool nan = false;
            foreach (var v in row)
            {
                if (v > max) max = v;
                nan |= double.IsNaN(v);
            }
            if (nan) { logNormalizers[i] = double.NaN; if (entropy) entropies[i] = double.NaN; continue; }
            if (!double.IsFinite(max))
            {
                logNormalizers[i] = max;
                if (entropy) entropies[i] = 0;
                if (double.IsNegativeInfinity(max)) row.Clear();
                else IndicatorOfPositiveInfinity(row);
                continue;
            }
            double sum = 0, ev = 0;
            for (int j = 0; j < row.Length; j++)
            {
                double v = row[j] - max;
                double e = Math.Exp(v);
                row[j] = e;
                sum += e;
                if (e > 0) ev += e * v;
            }
            double inv = 1 / sum;
            for (int j = 0; j < row.Length; j++) row[j] *= inv;
            double logSum = Math.Log(sum);
            logNormalizers[i] = max + logSum;
            if (entropy) entropies[i] = logSum - ev * inv;
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
