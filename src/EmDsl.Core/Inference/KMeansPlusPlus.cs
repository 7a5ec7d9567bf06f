using EmDsl.Data;

namespace EmDsl.Inference;

/// <summary>
/// Seeded k-means++ (Arthur &amp; Vassilvitskii 2007) followed by a few Lloyd iterations, on the columns a
/// model reads, each standardised by its weighted mean and standard deviation so that no column dominates
/// by its units. Used only to choose EM's first responsibilities.
/// </summary>
internal static class KMeansPlusPlus
{
    /// <summary>Hard cluster labels 0…K−1, one per row.</summary>
    public static int[] Cluster(DataMatrix data, int[] columns, double[]? weights, int k, Random random, int lloydIterations, CancellationToken cancellationToken)
    {
        int n = data.Rows, d = columns.Length;
        var x = Standardised(data, columns, weights);
        var centres = new double[k * d];
        var nearest = new double[n];

        int first = SampleIndex(random, n, i => weights?[i] ?? 1);
        Array.Copy(x, first * d, centres, 0, d);
        for (int i = 0; i < n; i++) nearest[i] = Distance2(x, i, centres, 0, d);
        for (int c = 1; c < k; c++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            double total = 0;
            for (int i = 0; i < n; i++) total += (weights?[i] ?? 1) * nearest[i];
            int pick = total > 0
                ? SampleIndex(random, n, i => (weights?[i] ?? 1) * nearest[i])
                : SampleIndex(random, n, i => weights?[i] ?? 1); // fewer distinct points than K
            Array.Copy(x, pick * d, centres, c * d, d);
            for (int i = 0; i < n; i++) nearest[i] = Math.Min(nearest[i], Distance2(x, i, centres, c, d));
        }

        var labels = new int[n];
        Assign(x, centres, k, d, labels);
        var sums = new double[k * d];
        var mass = new double[k];
        for (int iteration = 0; iteration < lloydIterations; iteration++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Array.Clear(sums);
            Array.Clear(mass);
            for (int i = 0; i < n; i++)
            {
                double w = weights?[i] ?? 1;
                mass[labels[i]] += w;
                for (int j = 0; j < d; j++) sums[labels[i] * d + j] += w * x[i * d + j];
            }
            for (int c = 0; c < k; c++)
                if (mass[c] > 0)
                    for (int j = 0; j < d; j++) centres[c * d + j] = sums[c * d + j] / mass[c];
            if (!Assign(x, centres, k, d, labels)) break;
        }
        return labels;
    }

    /// <summary>Assigns each row to its nearest centre (ties to the lowest index); true if any label changed.</summary>
    private static bool Assign(double[] x, double[] centres, int k, int d, int[] labels)
    {
        bool changed = false;
        int n = labels.Length;
        for (int i = 0; i < n; i++)
        {
            int best = 0;
            double bestD = double.PositiveInfinity;
            for (int c = 0; c < k; c++)
            {
                double dist = Distance2(x, i, centres, c, d);
                if (dist < bestD) { bestD = dist; best = c; }
            }
            if (labels[i] != best) { labels[i] = best; changed = true; }
        }
        return changed;
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

    private static double[] Standardised(DataMatrix data, int[] columns, double[]? weights)
    {
        if (data.HasMissingValues) return StandardisedObserved(data, columns, weights);
        int n = data.Rows, d = columns.Length;
        var x = new double[n * d];
        for (int j = 0; j < d; j++)
        {
            double total = 0, mean = 0;
            for (int i = 0; i < n; i++)
            {
                double w = weights?[i] ?? 1;
                total += w;
                mean += w * data[i, columns[j]];
            }
            mean /= total;
            double variance = 0;
            for (int i = 0; i < n; i++)
            {
                double diff = data[i, columns[j]] - mean;
                variance += (weights?[i] ?? 1) * diff * diff;
            }
            double sd = Math.Sqrt(variance / total);
            if (!(sd > 0)) sd = 1;
            for (int i = 0; i < n; i++) x[i * d + j] = (data[i, columns[j]] - mean) / sd;
        }
        return x;
    }

    /// <summary>
    /// As <see cref="Standardised"/>, each column's mean and spread taken over its observed values; a missing value
    /// becomes 0, the column's mean, so that it does not pull the distances.
    /// </summary>
    private static double[] StandardisedObserved(DataMatrix data, int[] columns, double[]? weights)
    {
        int n = data.Rows, d = columns.Length;
        var x = new double[n * d];
        for (int j = 0; j < d; j++)
        {
            double total = 0, mean = 0;
            for (int i = 0; i < n; i++)
            {
                double v = data[i, columns[j]];
                if (double.IsNaN(v)) continue;
                double w = weights?[i] ?? 1;
                total += w;
                mean += w * v;
            }
            mean = total > 0 ? mean / total : 0;
            double variance = 0;
            for (int i = 0; i < n; i++)
            {
                double v = data[i, columns[j]];
                if (double.IsNaN(v)) continue;
                variance += (weights?[i] ?? 1) * (v - mean) * (v - mean);
            }
            double sd = total > 0 ? Math.Sqrt(variance / total) : 1;
            if (!(sd > 0)) sd = 1;
            for (int i = 0; i < n; i++)
            {
                double v = data[i, columns[j]];
                x[i * d + j] = double.IsNaN(v) ? 0 : (v - mean) / sd;
            }
        }
        return x;
    }
}
