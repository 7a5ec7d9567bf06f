namespace EmDsl.Inference;

/// <summary>All parameters of a mixture at one iteration: weights and every block's state. Immutable.</summary>
internal sealed class ModelState
{
    public ModelState(double[] weights, BlockState[] blocks, double[]? gating = null)
    {
        Weights = weights;
        Blocks = blocks;
        Gating = gating;
        LogWeights = gating is null ? weights.Select(w => Math.Log(w)).ToArray() : new double[weights.Length];
    }

    /// <summary>π_k; for a gated mixture, the average of π_k(x_n) over the training rows.</summary>
    public double[] Weights { get; }

    /// <summary>log π_k (−∞ for an empty component under maximum likelihood); 0 for a gated mixture, whose log π_k(x_n) the gating adds per row.</summary>
    public double[] LogWeights { get; }

    /// <summary>The gating coefficients V (P × K, frame coordinates), or null without a gating network.</summary>
    public double[]? Gating { get; }

    /// <summary>One state per block, in the model's block order.</summary>
    public BlockState[] Blocks { get; }
}

/// <summary>
/// Additive expected sufficient statistics of a set of rows under fixed parameters: responsibility mass
/// R_k, statistic sums S_k = Σ_n w_n r_nk T(x_n) for every block side by side (K × total S), the weighted
/// log-likelihood and the total weight. The summary of a union of rows is the sum of the summaries.
/// </summary>
internal sealed class Summary
{
    public Summary(int components, int statistics)
    {
        Counts = new double[components];
        Statistics = new double[components * statistics];
        StatisticCount = statistics;
    }

    /// <summary>R_k.</summary>
    public double[] Counts { get; }

    /// <summary>K × total-S statistic sums, row k for component k.</summary>
    public double[] Statistics { get; }

    /// <summary>Total statistics per component (all blocks).</summary>
    public int StatisticCount { get; }

    /// <summary>Σ_n w_n log p(x_n).</summary>
    public double LogLikelihood { get; set; }

    /// <summary>Σ_n w_n.</summary>
    public double Weight { get; set; }

    public void Clear()
    {
        Array.Clear(Counts);
        Array.Clear(Statistics);
        LogLikelihood = 0;
        Weight = 0;
    }

    /// <summary>Adds another summary (of other rows) to this one.</summary>
    public void Add(Summary other)
    {
        for (int i = 0; i < Counts.Length; i++) Counts[i] += other.Counts[i];
        for (int i = 0; i < Statistics.Length; i++) Statistics[i] += other.Statistics[i];
        LogLikelihood += other.LogLikelihood;
        Weight += other.Weight;
    }

    /// <summary>The K × S block of statistics of the block whose statistics start at <paramref name="offset"/>.</summary>
    public double[] BlockStatistics(int offset, int count)
    {
        int k0 = Counts.Length;
        var s = new double[k0 * count];
        for (int k = 0; k < k0; k++) Array.Copy(Statistics, k * StatisticCount + offset, s, k * count, count);
        return s;
    }
}
