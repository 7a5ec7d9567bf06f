using EmDsl.Data;
using System.Runtime.CompilerServices;
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
    /// whole; the per-row work (distances to a new centre, nearest-centre assignment with the Lloyd sums) runs in parallel
    /// over blocks of rows, the seeding's sums run in row order and the Lloyd sums in fixed slabs added in order, so the
    /// labels are the same bit for bit on any number of threads.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int[] Cluster(DataMatrix data, int[] columns, double[]? weights, int k, Random random, int lloydIterations, CancellationToken cancellationToken,
        int maxDegreeOfParallelism = -1, int? seedingRows = null)
    {
        int n = data.Rows, d = columns.Length;
        int Block = Math.Clamp(BlockDoubles / Math.Max(1, d), 1, MaxBlock);
        var scale = new Standardisation(data, columns, weights);
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = maxDegreeOfParallelism, CancellationToken = cancellationToken };
        int blocks = (n + Block - 1) / Block;
        var centres = new double[k * d];
        // Workers' blocks of standardised rows, reused by every pass (Parallel.For may start many more local states than
        // there are threads: allocating one each time added tens of megabytes to a 10⁶-row fit's peak).
        var blockPool = new System.Collections.Concurrent.ConcurrentBag<double[]>();

        int sample = SeedingSampleRows(n, d, k, seedingRows);
        if (sample < n) SeedOnSample(sample);
        else
        {
            var nearest = new double[n];
            int first = SampleIndex(random, n, weights, default);
            scale.Row(first, centres.AsSpan(0, d));
            ForBlocks((start, rows, x) => Nearer(x, rows, d, centres.AsSpan(0, d), nearest.AsSpan(start, rows), first: true));
            for (int c = 1; c < k; c++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int pick = SampleIndex(random, n, weights, nearest);
                scale.Row(pick, centres.AsSpan(c * d, d));
                int centre = c;
                ForBlocks((start, rows, x) => Nearer(x, rows, d, centres.AsSpan(centre * d, d), nearest.AsSpan(start, rows), first: false));
            }
        }

        // Lloyd: each pass assigns every row to its nearest centre and sums the rows by their new label, slab by slab
        // (slabs of consecutive blocks, a fixed number whatever the thread count, summed in order: the same centres on any
        // number of threads); the next centres are those sums' means.
        var labels = new int[n];
        Array.Fill(labels, -1);
        int slabs = Math.Max(1, Math.Min(Math.Min(blocks, MaxSlabs), SlabDoubles / Math.Max(1, k * (d + 1))));
        var slabSums = new double[slabs * k * d];
        var slabMass = new double[slabs * k];
        var slabChanged = new bool[slabs];
        var sums = new double[k * d];
        var mass = new double[k];
        AssignAndSum();
        for (int iteration = 0; iteration < lloydIterations; iteration++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            for (int c = 0; c < k; c++)
                if (mass[c] > 0)
                    for (int j = 0; j < d; j++) centres[c * d + j] = sums[c * d + j] / mass[c];
            if (!AssignAndSum()) break;
        }
        return labels;

        // Assigns each row to its nearest centre (ties to the lowest index) and sums the standardised rows and their
        // weights by label into sums and mass; true if any label changed.
        bool AssignAndSum()
        {
            Array.Clear(slabSums);
            Array.Clear(slabMass);
            Array.Clear(slabChanged);
            var options = n < 4 * Block ? new ParallelOptions { MaxDegreeOfParallelism = 1, CancellationToken = cancellationToken } : parallel;
            ParallelWork.For(0, slabs, options, blockPool, () => new double[Block * d], (g, x) =>
            {
                var sum = slabSums.AsSpan(g * k * d, k * d);
                var m = slabMass.AsSpan(g * k, k);
                for (int b = (int)((long)g * blocks / slabs), end = (int)((long)(g + 1) * blocks / slabs); b < end; b++)
                {
                    int start = b * Block, rows = Math.Min(Block, n - start);
                    for (int i = 0; i < rows; i++) scale.Row(start + i, x.AsSpan(i * d, d));
                    if (AssignRows(x, rows, d, k, centres, labels.AsSpan(start, rows), weights is null ? default : weights.AsSpan(start, rows), sum, m))
                        slabChanged[g] = true;
                }
                return x;
            });
            Array.Clear(sums);
            Array.Clear(mass);
            for (int g = 0; g < slabs; g++)
            {
                for (int i = 0; i < k * d; i++) sums[i] += slabSums[g * k * d + i];
                for (int c = 0; c < k; c++) mass[c] += slabMass[g * k + c];
            }
            return slabChanged.Any(c => c);
        }

        // Runs body(first row, rows, standardised rows) over blocks of rows in parallel (blocks of size Block; small data on one thread).
        void ForBlocks(Action<int, int, double[]> body)
        {
            var options = n < 4 * Block ? new ParallelOptions { MaxDegreeOfParallelism = 1, CancellationToken = cancellationToken } : parallel;
            ParallelWork.For(0, blocks, options, blockPool, () => new double[Block * d], (b, x) =>
            {
                int start = b * Block, rows = Math.Min(Block, n - start);
                for (int i = 0; i < rows; i++) scale.Row(start + i, x.AsSpan(i * d, d));
                body(start, rows, x);
                return x;
            });
        }

        // The D² seeding on a uniform sample of the rows (drawn with the same random stream; sorted, so the draws
        // below see the rows in data order), greedy as scikit-learn's: each new centre is the best of 2 + ⌊ln K⌋
        // candidates drawn with probability ∝ weight × squared distance to the nearest centre so far, the one that
        // leaves the smallest weighted sum of those distances. On a sample these trials cost little, and they make up
        // for the rows the sample leaves out.
        void SeedOnSample(int size)
        {
            var rows = UniformSample(random, n, size);
            var x = new double[size * d];
            for (int i = 0; i < size; i++) scale.Row(rows[i], x.AsSpan(i * d, d));
            double[]? w = weights is null ? null : rows.Select(i => weights[i]).ToArray();
            var near = new double[size];
            var trial = new double[size];
            var best = new double[size];
            int trials = 2 + (int)Math.Log(k);
            int first = SampleIndex(random, size, w, default);
            x.AsSpan(first * d, d).CopyTo(centres.AsSpan(0, d));
            Nearer(x, size, d, centres.AsSpan(0, d), near, first: true);
            for (int c = 1; c < k; c++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int chosen = -1;
                double lowest = double.PositiveInfinity;
                for (int t = 0; t < trials; t++)
                {
                    int pick = SampleIndex(random, size, w, near);
                    near.CopyTo(trial, 0);
                    Nearer(x, size, d, x.AsSpan(pick * d, d), trial, first: false);
                    double potential = 0;
                    for (int i = 0; i < size; i++) potential += Weight(i, w, trial);
                    if (potential < lowest)
                    {
                        lowest = potential;
                        chosen = pick;
                        (trial, best) = (best, trial);
                    }
                }
                x.AsSpan(chosen * d, d).CopyTo(centres.AsSpan(c * d, d));
                (near, best) = (best, near);
            }
        }
    }

    /// <summary>Doubles of standardised rows a seeding sample may hold (32 MB); wider data is seeded on every row.</summary>
    private const int SampleDoubles = 1 << 22;

    /// <summary>
    /// The rows the D² seeding runs on: <paramref name="requested"/> or max(20·K·D, 10 000), at least K, at most
    /// <see cref="SampleDoubles"/> values; n (every row) when that is not fewer than n.
    /// </summary>
    internal static int SeedingSampleRows(int n, int d, int k, int? requested)
    {
        long size = Math.Max(k, requested ?? StreamedData.DefaultSampleRows(k, d));
        if (size >= n || size * Math.Max(1, d) > SampleDoubles) return n;
        return (int)size;
    }

    /// <summary>size distinct row indices out of n, uniformly (Floyd's algorithm), in increasing order.</summary>
    private static int[] UniformSample(Random random, int n, int size)
    {
        var chosen = new HashSet<int>(size);
        for (int j = n - size; j < n; j++)
        {
            int t = random.Next(j + 1);
            if (!chosen.Add(t)) chosen.Add(j);
        }
        var rows = chosen.ToArray();
        Array.Sort(rows);
        return rows;
    }

    /// <summary>nearest[i] = ‖x_i − c‖² (first) or the smaller of it and nearest[i], for the block's standardised rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // runs once per fit, before tiered compilation would optimise it
    private static void Nearer(double[] x, int rows, int d, ReadOnlySpan<double> centre, Span<double> nearest, bool first)
    {
        for (int i = 0; i < rows; i++)
        {
            double dist = Distance2(x.AsSpan(i * d, d), centre);
            nearest[i] = first ? dist : Math.Min(nearest[i], dist);
        }
    }

    /// <summary>
    /// Labels the block's standardised rows by their nearest centre (ties to the lowest index) and adds each row (times
    /// its weight, 1 when <paramref name="weights"/> is empty) and its weight to its label's sums; true if a label changed.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool AssignRows(double[] x, int rows, int d, int k, double[] centres, Span<int> labels, ReadOnlySpan<double> weights,
        Span<double> sum, Span<double> mass)
    {
        bool changed = false;
        for (int i = 0; i < rows; i++)
        {
            var xi = x.AsSpan(i * d, d);
            int best = 0;
            double bestD = double.PositiveInfinity;
            for (int c = 0; c < k; c++)
            {
                double dist = Distance2(xi, centres.AsSpan(c * d, d));
                if (dist < bestD) { bestD = dist; best = c; }
            }
            if (labels[i] != best) { labels[i] = best; changed = true; }
            double w = weights.IsEmpty ? 1 : weights[i];
            mass[best] += w;
            var target = sum.Slice(best * d, d);
            for (int j = 0; j < d; j++) target[j] += w * xi[j];
        }
        return changed;
    }

    /// <summary>Slabs the Lloyd sums are split into at most, and the doubles all their sums may take (K × D each).</summary>
    private const int MaxSlabs = 32, SlabDoubles = 1 << 22;

    /// <summary>‖x − c‖², four lanes at a time then the tail, in a fixed order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double Distance2(ReadOnlySpan<double> x, ReadOnlySpan<double> c)
    {
        int d = x.Length, j = 0;
        var acc = System.Runtime.Intrinsics.Vector256<double>.Zero;
        for (; j + 4 <= d; j += 4)
        {
            var diff = System.Runtime.Intrinsics.Vector256.Create(x.Slice(j, 4)) - System.Runtime.Intrinsics.Vector256.Create(c.Slice(j, 4));
            acc += diff * diff;
        }
        double s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
        for (; j < d; j++)
        {
            double diff = x[j] - c[j];
            s += diff * diff;
        }
        return s;
    }

    /// <summary>
    /// Draws row i with probability proportional to w_i·f_i (w the weights, 1 when null; f the factors, 1 when empty);
    /// when every w_i·f_i is 0 (every row already a centre: fewer distinct points than K), by the weights alone.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int SampleIndex(Random random, int n, double[]? weights, ReadOnlySpan<double> factors)
    {
        double total = 0;
        for (int i = 0; i < n; i++) total += Weight(i, weights, factors);
        if (!(total > 0) && !factors.IsEmpty)
        {
            factors = default;
            total = 0;
            for (int i = 0; i < n; i++) total += Weight(i, weights, factors);
        }
        double u = random.NextDouble() * total, c = 0;
        int last = 0;
        for (int i = 0; i < n; i++)
        {
            double w = Weight(i, weights, factors);
            if (w <= 0) continue;
            last = i;
            c += w;
            if (u < c) return i;
        }
        return last;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double Weight(int i, double[]? weights, ReadOnlySpan<double> factors)
    {
        double w = weights?[i] ?? 1;
        return factors.IsEmpty ? w : w * factors[i];
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

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public Standardisation(DataMatrix data, int[] columns, double[]? weights)
        {
            _data = data;
            _columns = columns;
            _missing = data.HasMissingValues;
            int n = data.Rows, d = columns.Length, width = data.Columns;
            var values = data.Values;
            _mean = new double[d];
            _sd = new double[d];
            // Two passes over the rows (each column's sums in row order), reading each row once per pass.
            var total = new double[d];
            for (int i = 0; i < n; i++)
            {
                double w = weights?[i] ?? 1;
                var row = values.Slice(i * width, width);
                for (int j = 0; j < d; j++)
                {
                    double v = row[columns[j]];
                    if (_missing && double.IsNaN(v)) continue;
                    total[j] += w;
                    _mean[j] += w * v;
                }
            }
            for (int j = 0; j < d; j++) _mean[j] = total[j] > 0 ? _mean[j] / total[j] : 0;
            var variance = new double[d];
            for (int i = 0; i < n; i++)
            {
                double w = weights?[i] ?? 1;
                var row = values.Slice(i * width, width);
                for (int j = 0; j < d; j++)
                {
                    double v = row[columns[j]];
                    if (_missing && double.IsNaN(v)) continue;
                    double diff = v - _mean[j];
                    variance[j] += w * diff * diff;
                }
            }
            for (int j = 0; j < d; j++)
            {
                double sd = total[j] > 0 ? Math.Sqrt(variance[j] / total[j]) : 1;
                _sd[j] = sd > 0 ? sd : 1;
            }
        }

        /// <summary>Writes row <paramref name="i"/>'s standardised values (x − mean) / sd into <paramref name="into"/> (0 where missing).</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
