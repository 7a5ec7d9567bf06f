using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Numerics;

namespace EmDsl.Inference;

/// <summary>
/// A model bound to its training data (the block runtimes), with the batched E-step.
/// For a chunk of rows, T is the rows × S matrix of the blocks' sufficient statistics side by side and H
/// the K × S matrix of natural parameters, so
/// <code>log p(x_n, z = k) = (T Hᵀ)_nk + log π_k − Σ_b A_b(η_bk) + log h(x_n)</code>
/// is one matrix product; a shifted softmax per row gives the responsibilities and log p(x_n), and a second
/// product Rᵀ T gives the chunk's statistic sums. Blocks that evaluate each component in its own frame
/// (Gaussians, whose T(x)·η would otherwise cancel catastrophically for a tight component far from the
/// data's centre) add their terms T(x − c_k)·η_k per component instead and sit after the shared blocks in
/// the statistics layout, as do regression blocks (their terms depend on each row's covariates) and the gating
/// network of a mixture of experts (which replaces log π_k by log π_k(x_n)). Chunk summaries are merged in chunk order, so the result is the same bit for bit
/// on any number of threads.
/// </summary>
internal sealed class CompiledMixture
{
    private readonly int[] _offsets;

    private CompiledMixture(MixtureModel model, BlockRuntime[] blocks, GatingRuntime? gating)
    {
        Model = model;
        Blocks = blocks;
        Gating = gating;
        _offsets = new int[blocks.Length];
        int total = 0, maxDim = 0, scratch = 0;
        // Shared-frame blocks first, so that their statistics are the leading columns the products use.
        foreach (bool shared in new[] { true, false })
            for (int b = 0; b < blocks.Length; b++)
            {
                if (blocks[b].SharesFrame != shared) continue;
                _offsets[b] = total;
                total += blocks[b].StatisticCount;
                if (shared) SharedStatisticCount = total;
                else scratch = Math.Max(scratch, blocks[b].ScratchPerRow);
                maxDim = Math.Max(maxDim, blocks[b].Dimension);
            }
        StatisticCount = total;
        MaxDimension = maxDim;
        ScratchPerRow = Math.Max(scratch, gating?.ScratchPerRow ?? 0);
        NeedsResponsibilities = gating is not null || blocks.Any(b => b.NeedsResponsibilities);
    }

    public MixtureModel Model { get; }

    public BlockRuntime[] Blocks { get; }

    /// <summary>The gating network of a mixture of experts, or null.</summary>
    public GatingRuntime? Gating { get; }

    /// <summary>Whether some M-step reads the rows' responsibilities (blocks with covariates, the gating).</summary>
    public bool NeedsResponsibilities { get; }

    public int Components => Model.Components;

    /// <summary>Total statistics over all blocks (columns of a summary's statistics).</summary>
    public int StatisticCount { get; }

    /// <summary>Statistics of the shared-frame blocks (columns of T and H in the products).</summary>
    public int SharedStatisticCount { get; }

    /// <summary>Scratch per row needed by the per-component-frame blocks.</summary>
    public int ScratchPerRow { get; }

    public int MaxDimension { get; }

    public int Offset(int block) => _offsets[block];

    /// <summary>Creates the runtimes for a fit: checks the data's columns and support, then fixes each block's frame.</summary>
    public static CompiledMixture Create(MixtureModel model, DataMatrix data, double[]? weights)
    {
        var runtimes = new BlockRuntime[model.Blocks.Count];
        for (int b = 0; b < runtimes.Length; b++)
        {
            runtimes[b] = model.Blocks[b].CreateRuntime(data, weights ?? ReadOnlySpan<double>.Empty, model.Components);
            runtimes[b].Validate(data);
        }
        var gating = model.Gating is null ? null : new GatingRuntime(model.Gating, model.Components, data, weights);
        return new CompiledMixture(model, runtimes, gating);
    }

    /// <summary>Checks that new data (for prediction) has the columns and support the model needs.</summary>
    public void Validate(DataMatrix data)
    {
        foreach (var b in Blocks) b.Validate(data);
        Gating?.Validate(data);
    }

    /// <summary>Σ_b log h_b(x_n) for every row (constant across iterations, so computed once per fit).</summary>
    public double[] LogBaseMeasure(DataMatrix data)
    {
        var logBase = new double[data.Rows];
        var gather = new double[Math.Min(data.Rows, 4096) * MaxDimension];
        for (int start = 0; start < data.Rows; start += 4096)
        {
            int rows = Math.Min(4096, data.Rows - start);
            foreach (var b in Blocks) b.AddLogBaseMeasure(data, start, rows, gather, logBase.AsSpan(start, rows));
        }
        return logBase;
    }

    /// <summary>H (K × shared S) of the shared-frame blocks and the bias log π_k − Σ_b A_b(η_bk) over all blocks.</summary>
    public (double[] H, double[] Bias) Pack(ModelState state)
    {
        int k0 = Components, s = SharedStatisticCount;
        var h = new double[k0 * s];
        var bias = (double[])state.LogWeights.Clone();
        for (int b = 0; b < Blocks.Length; b++)
        {
            int sb = Blocks[b].StatisticCount;
            var bs = state.Blocks[b];
            for (int k = 0; k < k0; k++)
            {
                if (Blocks[b].SharesFrame) Array.Copy(bs.Natural, k * sb, h, k * s + _offsets[b], sb);
                bias[k] -= bs.LogNormalizer[k];
            }
        }
        return (h, bias);
    }

    /// <summary>What one pass over the data should produce besides the summary.</summary>
    internal sealed class PassOutputs
    {
        /// <summary>Given responsibilities (rows × K) to use instead of computing them (initialisation).</summary>
        public double[]? FixedResponsibilities { get; init; }

        /// <summary>Receives the responsibilities (rows × K), unweighted.</summary>
        public double[]? Responsibilities { get; init; }

        /// <summary>Receives log p(x_n).</summary>
        public double[]? LogDensity { get; init; }

        /// <summary>Whether to accumulate statistics (false for pure prediction).</summary>
        public bool Accumulate { get; init; } = true;
    }

    /// <summary>
    /// One pass over the data under <paramref name="state"/> (ignored when responsibilities are fixed).
    /// <paramref name="logBase"/> may be null, in which case log h is computed per chunk.
    /// </summary>
    public Summary Pass(DataMatrix data, double[]? logBase, double[]? weights, ModelState? state, PassOutputs outputs,
        FitOptions options, CancellationToken cancellationToken)
    {
        int n = data.Rows, k0 = Components, s = StatisticCount, chunk = Math.Min(options.ChunkRows, n);
        int chunks = (n + chunk - 1) / chunk;
        var (h, bias) = state is null ? (Array.Empty<double>(), Array.Empty<double>()) : Pack(state);
        var partial = new Summary[chunks];
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = options.MaxDegreeOfParallelism, CancellationToken = cancellationToken };
        Parallel.For(0, chunks, parallel,
            () => new Workspace(chunk, SharedStatisticCount, k0, MaxDimension, ScratchPerRow),
            (c, _, ws) =>
            {
                cancellationToken.ThrowIfCancellationRequested();
                int start = c * chunk, rows = Math.Min(chunk, n - start);
                partial[c] = ProcessChunk(data, start, rows, logBase, weights, state, h, bias, outputs, ws);
                return ws;
            },
            _ => { });
        var total = new Summary(k0, s);
        foreach (var p in partial) total.Add(p); // fixed order: independent of the thread count
        return total;
    }

    private sealed class Workspace(int chunk, int sharedStatistics, int components, int maxDimension, int scratchPerRow)
    {
        public readonly double[] T = new double[chunk * sharedStatistics];
        public readonly double[] LogJoint = new double[chunk * components];
        public readonly double[] LogNormalizer = new double[chunk];
        public readonly double[] LogBase = new double[chunk];
        public readonly double[] Gather = new double[chunk * maxDimension];
        public readonly double[] Scratch = new double[chunk * scratchPerRow + maxDimension * maxDimension];
    }

    private Summary ProcessChunk(DataMatrix data, int start, int rows, double[]? logBase, double[]? weights,
        ModelState? state, double[] h, double[] bias, PassOutputs outputs, Workspace ws)
    {
        int k0 = Components, s = SharedStatisticCount;
        var backend = ComputeBackend.Current;
        var t = ws.T.AsSpan(0, rows * s);
        var r = ws.LogJoint.AsSpan(0, rows * k0);
        for (int b = 0; b < Blocks.Length; b++)
            if (Blocks[b].SharesFrame) Blocks[b].Statistics(data, start, rows, ws.Gather, t, s, _offsets[b]);
        var summary = new Summary(k0, StatisticCount);

        if (outputs.FixedResponsibilities is { } fixedR)
        {
            fixedR.AsSpan(start * k0, rows * k0).CopyTo(r);
        }
        else
        {
            ReadOnlySpan<double> lb;
            if (logBase is not null) lb = logBase.AsSpan(start, rows);
            else
            {
                ws.LogBase.AsSpan(0, rows).Clear();
                foreach (var b in Blocks) b.AddLogBaseMeasure(data, start, rows, ws.Gather, ws.LogBase.AsSpan(0, rows));
                lb = ws.LogBase.AsSpan(0, rows);
            }
            // log p(x_n, z = k) = bias_k + (T Hᵀ)_nk [+ per-component-frame terms], then the row-wise shifted softmax.
            for (int i = 0; i < rows; i++) bias.CopyTo(r.Slice(i * k0, k0));
            if (s > 0) backend.Gemm(false, true, rows, k0, s, 1.0, t, s, h, s, 1.0, r, k0);
            for (int b = 0; b < Blocks.Length; b++)
                if (!Blocks[b].SharesFrame) Blocks[b].AddComponentTerms(data, start, rows, state!.Blocks[b], r, ws.Scratch);
            if (Gating is not null) Gating.AddTerms(data, start, rows, state!.Gating!, r, ws.Scratch);
            var lse = ws.LogNormalizer.AsSpan(0, rows);
            LogSpace.SoftmaxRowsInPlace(r, rows, k0, lse);
            double ll = 0;
            for (int i = 0; i < rows; i++)
            {
                double li = lse[i] + lb[i];
                if (!double.IsFinite(li))
                    throw new InvalidOperationException(
                        $"Row {start + i} has log-likelihood {li} under every component; the parameters give it no probability. This is a bug in EmDsl's floors; please report it.");
                if (outputs.LogDensity is { } ld) ld[start + i] = li;
                double w = weights is null ? 1 : weights[start + i];
                if (w != 0) ll += w * li;
            }
            summary.LogLikelihood = ll;
            if (outputs.Responsibilities is { } resp) r.CopyTo(resp.AsSpan(start * k0, rows * k0));
        }
        if (weights is not null)
        {
            double wsum = 0;
            for (int i = 0; i < rows; i++)
            {
                double w = weights[start + i];
                wsum += w;
                var row = r.Slice(i * k0, k0);
                for (int k = 0; k < k0; k++) row[k] *= w;
            }
            summary.Weight = wsum;
        }
        else summary.Weight = rows;

        if (!outputs.Accumulate) return summary;
        for (int i = 0; i < rows; i++)
            for (int k = 0; k < k0; k++) summary.Counts[k] += r[i * k0 + k];
        // S = Rᵀ T: K × S statistic sums of the chunk (shared-frame blocks), then each framed block's own.
        if (s > 0) backend.Gemm(true, false, k0, s, rows, 1.0, r, k0, t, s, 0.0, summary.Statistics, StatisticCount);
        for (int b = 0; b < Blocks.Length; b++)
            if (!Blocks[b].SharesFrame)
                Blocks[b].AccumulateComponentStatistics(data, start, rows, state?.Blocks[b], r,
                    summary.Statistics.AsSpan(_offsets[b]), StatisticCount, ws.Scratch);
        return summary;
    }
}
