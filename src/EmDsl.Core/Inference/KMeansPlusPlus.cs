using EmDsl.Data;
using EmDsl.Numerics;

namespace EmDsl.Inference;

/// <summary>
/// Seeded k-means++ (Arthur &amp; Vassilvitskii 2007) followed by a few Lloyd iterations, on the columns a
/// model reads, each standardised by its weighted mean and standard deviation so that no column dominates
/// by its units. Used only to choose EM's first responsibilities.
/// </summary>
internal static class KMeansPlusPlus
{
    /// <summary>Rows standardised at a time by one worker (the data is never copied whole), fewer for wide data.</summary>
    private const int MaxBlock = 4096;

    /// <summary>Doubles of standardised rows one worker holds at most (8 MB): a one-hot block of 20 000 columns takes 52 rows at a time.</summary>
    private const int BlockDoubles = 1 << 20;

    /// <summary>
    /// Hard cluster labels 0…K−1, one per row. The rows are standardised block by block as they are read, never copied
    /// whole; the per-row work (distances to a new centre, nearest-centre assignment) runs in parallel over blocks of rows,
    /// and every sum runs in row order, so the labels are the same bit for bit on any number of threads.
    /// </summary>
    public static int[] Cluster(DataMatrix data, int[] columns, double[]? weights, int k, Random random, int lloydIterations, CancellationToken cancellationToken,
        int maxDegreeOfParallelism = -1)
    {
        int n = data.Rows, d = columns.Length;
        int Block = Math.Clamp(BlockDoubles / Math.Max(1, d), 1, MaxBlock);
        var scale = new Standardisation(data, columns, weights);
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = maxDegreeOfParallelism, CancellationToken = cancellationToken };
        int blocks = (n + Block - 1) / Block;
        var centres = new double[k * d];
        var nearest = new double[n];

        int first = SampleIndex(random, n, i => weights?[i] ?? 1);
        scale.Row(first, centres.AsSpan(0, d));
        ForBlocks(1, (start, rows, x) =>
        {
            for (int i = 0; i < rows; i++) nearest[start + i] = Distance2(x, i, centres, 0, d);
        });
        for (int c = 1; c < k; c++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            double total = 0;
            for (int i = 0; i < n; i++) total += (weights?[i] ?? 1) * nearest[i];
            int pick = total > 0
                ? SampleIndex(random, n, i => (weights?[i] ?? 1) * nearest[i])
                : SampleIndex(random, n, i => weights?[i] ?? 1); // fewer distinct points than K
            scale.Row(pick, centres.AsSpan(c * d, d));
            int centre = c;
            ForBlocks(1, (start, rows, x) =>
            {
                for (int i = 0; i < rows; i++) nearest[start + i] = Math.Min(nearest[start + i], Distance2(x, i, centres, centre, d));
            });
        }

        var labels = new int[n];
        Assign(labels);
        var sums = new double[k * d];
        var mass = new double[k];
        var row = new double[d];
        for (int iteration = 0; iteration < lloydIterations; iteration++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Array.Clear(sums);
            Array.Clear(mass);
            for (int i = 0; i < n; i++)
            {
                double w = weights?[i] ?? 1;
                mass[labels[i]] += w;
                scale.Row(i, row);
                for (int j = 0; j < d; j++) sums[labels[i] * d + j] += w * row[j];
            }
            for (int c = 0; c < k; c++)
                if (mass[c] > 0)
                    for (int j = 0; j < d; j++) centres[c * d + j] = sums[c * d + j] / mass[c];
            if (!Assign(labels)) break;
        }
        return labels;

        // Assigns each row to its nearest centre (ties to the lowest index); true if any label changed.
        bool Assign(int[] labels)
        {
            var changed = new bool[blocks];
            ForBlocks(0, (start, rows, x) =>
            {
                for (int i = 0; i < rows; i++)
                {
                    int best = 0;
                    double bestD = double.PositiveInfinity;
                    for (int c = 0; c < k; c++)
                    {
                        double dist = Distance2(x, i, centres, c, d);
                        if (dist < bestD) { bestD = dist; best = c; }
                    }
                    if (labels[start + i] != best) { labels[start + i] = best; changed[start / Block] = true; }
                }
            });
            return changed.Any(c => c);
        }

        // Runs body(first row, rows, standardised rows) over blocks of rows in parallel (blocks of size Block; small data on one thread).
        void ForBlocks(int unused, Action<int, int, double[]> body)
        {
            var options = n < 4 * Block ? new ParallelOptions { MaxDegreeOfParallelism = 1, CancellationToken = cancellationToken } : parallel;
            ParallelWork.For(0, blocks, options, () => new double[Block * d], (b, x) =>
            {
                int start = b * Block, rows = Math.Min(Block, n - start);
                for (int i = 0; i < rows; i++) scale.Row(start + i, x.AsSpan(i * d, d));
                body(start, rows, x);
                return x;
            });
        }
    }

    private static double Distance2(double[] x, int i, double[] centres, int c, int d)
    {
        double s = 0;
        for (int j = 0; j < d; j++)
        {
            double diff = x[i * d + j] - centres[c * d + j];
            s += diff * diff;
        }
        return s;
    }

    private static int SampleIndex(Random random, int n, Func<int, double> weight)
    {
        double total = 0;
        for (int i = 0; i < n; i++) total += weight(i);
        double u = random.NextDouble() * total, c = 0;
        int last = 0;
        for (int i = 0; i < n; i++)
        {
            double w = weight(i);
            if (w <= 0) continue;
            last = i;
            c += w;
            if (u < c) return i;
        }
        return last;
    }

    /// <summary>
    /// Each column's weighted mean and standard deviation, and rows standardised by them on demand. With missing values
    /// the mean and spread are taken over the observed values, and a missing value standardises to 0, the column's
    /// mean, so that it does not pull the distances.
    /// </summary>
    private sealed class Standardisation
    {
        private readonly DataMatrix _data;
        private readonly int[] _columns;
        private readonly double[] _mean, _sd;
        private readonly bool _missing;

        public Standardisation(DataMatrix data, int[] columns, double[]? weights)
        {
            _data = data;
            _columns = columns;
            _missing = data.HasMissingValues;
            int n = data.Rows, d = columns.Length, width = data.Columns;
            var values = data.Values;
            _mean = new double[d];
            _sd = new double[d];
            for (int j = 0; j < d; j++)
            {
                int col = columns[j];
                double total = 0, mean = 0;
                for (int i = 0; i < n; i++)
                {
                    double v = values[i * width + col];
                    if (_missing && double.IsNaN(v)) continue;
                    double w = weights?[i] ?? 1;
                    total += w;
                    mean += w * v;
                }
                mean = total > 0 ? mean / total : 0;
                double variance = 0;
                for (int i = 0; i < n; i++)
                {
                    double v = values[i * width + col];
                    if (_missing && double.IsNaN(v)) continue;
                    double diff = v - mean;
                    variance += (weights?[i] ?? 1) * diff * diff;
                }
                double sd = total > 0 ? Math.Sqrt(variance / total) : 1;
                if (!(sd > 0)) sd = 1;
                _mean[j] = mean;
                _sd[j] = sd;
            }
        }

        /// <summary>Writes row <paramref name="i"/>'s standardised values (x − mean) / sd into <paramref name="into"/> (0 where missing).</summary>
        public void Row(int i, Span<double> into)
        {
            var row = _data.Row(i);
            for (int j = 0; j < _columns.Length; j++)
            {
                double v = row[_columns[j]];
                into[j] = _missing && double.IsNaN(v) ? 0 : (v - _mean[j]) / _sd[j];
            }
        }
    }
}
