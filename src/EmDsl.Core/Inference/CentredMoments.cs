using EmDsl.Data;
using EmDsl.Families;

namespace EmDsl.Inference;

/// <summary>
/// Gaussian-type statistics kept about a centre per state: Σ r_nk (x_n − c_k) and the packed second moments
/// Σ r_nk (x_n − c_k)(x_n − c_k)ᵀ (restricted to a covariance structure), with c_k next to state k's data, so a
/// tight state far from the origin keeps its digits. Shared by every block whose statistics are these moments
/// (the Gaussian block, the factor block).
/// </summary>
internal static class CentredMoments
{
    /// <summary>The (weighted) mean of the block's columns over all rows: every state's centre before the first M-step.</summary>
    public static double[] WeightedMean(IReadOnlyList<int> columns, DataMatrix data, ReadOnlySpan<double> weights)
    {
        var mean = new double[columns.Count];
        if (columns.Max() >= data.Columns) return mean; // Validate() reports the missing column.
        if (data.HasMissingValues) return ObservedMean(columns, data, weights);
        double total = 0;
        for (int r = 0; r < data.Rows; r++)
        {
            double w = weights.IsEmpty ? 1 : weights[r];
            total += w;
            var row = data.Row(r);
            for (int j = 0; j < mean.Length; j++) mean[j] += w * row[columns[j]];
        }
        for (int j = 0; j < mean.Length; j++) mean[j] /= total;
        return mean;
    }

    /// <summary>The (weighted) mean of each of the block's columns over the rows where it is observed (not NaN; 0 for a column never observed).</summary>
    private static double[] ObservedMean(IReadOnlyList<int> columns, DataMatrix data, ReadOnlySpan<double> weights)
    {
        var mean = new double[columns.Count];
        var total = new double[columns.Count];
        for (int r = 0; r < data.Rows; r++)
        {
            double w = weights.IsEmpty ? 1 : weights[r];
            var row = data.Row(r);
            for (int j = 0; j < mean.Length; j++)
            {
                double v = row[columns[j]];
                if (double.IsNaN(v)) continue;
                total[j] += w;
                mean[j] += w * v;
            }
        }
        // A column never observed is centred on 0 (any centre will do); a start from responsibilities reports it.
        for (int j = 0; j < mean.Length; j++) mean[j] = total[j] > 0 ? mean[j] / total[j] : 0;
        return mean;
    }

    /// <summary>The (weighted) variance of each of the block's columns about <paramref name="mean"/>, over all rows.</summary>
    public static double[] WeightedVariance(IReadOnlyList<int> columns, DataMatrix data, ReadOnlySpan<double> weights, double[] mean)
    {
        var variance = new double[columns.Count];
        if (columns.Max() >= data.Columns) return variance;
        double total = 0;
        for (int r = 0; r < data.Rows; r++)
        {
            double w = weights.IsEmpty ? 1 : weights[r];
            total += w;
            var row = data.Row(r);
            for (int j = 0; j < variance.Length; j++)
            {
                double e = row[columns[j]] - mean[j];
                variance[j] += w * e * e;
            }
        }
        for (int j = 0; j < variance.Length; j++) variance[j] /= total;
        return variance;
    }

    /// <summary>
    /// Y = X − c for the chunk's rows of the block's columns (rows × D). On a chunk that may have missing values, a row
    /// with any of them is all 0 (it adds nothing to the products; the block handles it apart).
    /// </summary>
    public static void Centred(BlockRuntime block, DataChunk data, IReadOnlyList<double> centre, Span<double> y)
    {
        int d = block.Dimension, rows = data.Rows;
        block.Gather(data, y);
        var c = new double[d];
        for (int j = 0; j < d; j++) c[j] = centre[j]; // once, not an interface call per element
        for (int i = 0; i < rows; i++)
            System.Numerics.Tensors.TensorPrimitives.Subtract(y.Slice(i * d, d), c, y.Slice(i * d, d));
        if (data.MayHaveMissing)
            for (int i = 0; i < rows; i++)
                if (HasNaN(y.Slice(i * d, d))) y.Slice(i * d, d).Clear();
    }

    private static bool HasNaN(ReadOnlySpan<double> v)
    {
        foreach (double x in v) if (double.IsNaN(x)) return true;
        return false;
    }

    /// <summary>
    /// Adds Σ_n r_nk T(x_n − c_k) to row k of the statistics, c_k the statistics' centre of state k: [Σ r y, packed
    /// Σ r y yᵀ] with y = x − c_k, the second moments (full structure) as one product (r∘Y)ᵀY per state. States
    /// marked in <paramref name="skip"/> are left alone (their caller has added them already).
    /// </summary>
    public static void Accumulate(BlockRuntime block, CovarianceStructure structure, DataChunk data, ReadOnlySpan<double> responsibilities,
        ComponentStatistics stats, Span<double> scratch, bool[]? skip = null)
    {
        int d = block.Dimension, s = stats.StatisticCount, k0 = stats.Counts.Length, rows = data.Rows;
        var y = scratch.Slice(0, rows * d);
        var ry = scratch.Slice(rows * d, rows * d);
        var moments = scratch.Slice(2 * rows * d, d * d);
        for (int k = 0; k < k0; k++)
        {
            if (skip is not null && skip[k]) continue;
            Centred(block, data, stats.Centres![k], y);
            var target = stats.Sums.AsSpan(k * s, s);
            for (int i = 0; i < rows; i++)
            {
                double r = responsibilities[i * k0 + k];
                for (int j = 0; j < d; j++)
                {
                    double v = r * y[i * d + j];
                    ry[i * d + j] = v;
                    target[j] += v;
                }
            }
            var second = target.Slice(d);
            switch (structure)
            {
                case CovarianceStructure.Full:
                    Numerics.ComputeBackend.Current.Gemm(true, false, d, d, rows, 1.0, ry, d, y, d, 0.0, moments, d);
                    int p = 0;
                    for (int i = 0; i < d; i++)
                        for (int j = i; j < d; j++) second[p++] += moments[i * d + j];
                    break;
                case CovarianceStructure.Diagonal:
                    for (int i = 0; i < rows; i++)
                        for (int j = 0; j < d; j++) second[j] += ry[i * d + j] * y[i * d + j];
                    break;
                default:
                    for (int i = 0; i < rows * d; i++) second[0] += ry[i] * y[i];
                    break;
            }
        }
    }
}
