using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace EmDsl.Inference;

/// <summary>
/// A model bound to its training data: one latent structure (<see cref="LatentRuntime"/>) and the observed blocks'
/// runtimes, with the batched E-step. For a chunk of rows, T is the rows × S matrix of the shared-frame blocks'
/// sufficient statistics side by side and H the K × S matrix of their natural parameters, so
/// <code>log p(x_n | z_n = k) + b_k = (T Hᵀ)_nk + b_k − Σ_b A_b(η_bk) + log h(x_n)</code>
/// is one matrix product (b_k the latent structure's bias, log π_k for a mixture). Blocks that evaluate each state
/// in their own frame (Gaussians, whose T(x)·η would otherwise cancel catastrophically for a tight component far
/// from the data's centre) and per-row blocks (regressions) add their terms per state, and the latent structure adds
/// per-row terms of its own (a gating network's log π_k(x_n)). The latent structure turns that log-joint into the
/// posterior; a second product Rᵀ T gives the shared-frame blocks' statistic sums, and the other blocks accumulate
/// theirs from the weighted posterior they are handed.
/// <para>
/// Rows that are independent given the parameters (mixtures) are processed chunk by chunk in one fused pass.
/// Rows coupled by a Markov chain are processed in three phases: every chunk's log-joint into one rows × K
/// buffer, forward–backward per sequence (in parallel over sequences, and for a long sequence over its forward and
/// backward recursions), then every chunk's statistics. Partial results are merged in a fixed order (chunks, then
/// sequence groups, in data order), so a pass gives the same result bit for bit on any number of threads.
/// </para>
/// </summary>
internal sealed partial class CompiledModel
{
    /// <summary>A sequence at least this long runs forward and backward concurrently.</summary>
    private const int LongSequence = 1 << 15;

    private readonly int[] _offsets;

    private CompiledModel(ILatentModel model, LatentRuntime latent, BlockRuntime[] blocks)
    {
        Model = model;
        Latent = latent;
        Blocks = blocks;
        _offsets = new int[blocks.Length];
        int shared = 0, maxDim = 0, scratch = 0, square = 0, product = 0;
        for (int b = 0; b < blocks.Length; b++)
        {
            var block = blocks[b];
            // The gather buffer serves T(x) of the shared-frame blocks and log h(x).
            if (block.SharesFrame || !block.Family.LogBaseMeasureIsZero) maxDim = Math.Max(maxDim, block.Dimension);
            ArraySize.Product(latent.States, block.StatisticCount,
                () => $"Block '{block.Name}' has {block.StatisticCount:N0} statistics per state: {latent.States} states of them");
            if (!block.SharesFrame)
            {
                if (!block.UsesScratch) continue;
                // Per-state blocks (Gaussian, factor) accumulate centred moments in a D × D scratch.
                ArraySize.Product(block.Dimension, block.Dimension,
                    () => $"Block '{block.Name}' has {block.Dimension:N0} columns: its D × D scratch");
                square = Math.Max(square, block.Dimension);
                scratch = Math.Max(scratch, block.ScratchPerRow);
                product = Math.Max(product, block.ProductWidth);
                continue;
            }
            _offsets[b] = shared;
            shared += blocks[b].StatisticCount;
        }
        SharedStatisticCount = shared;
        AutomaticChunkRows = ChunkFor(shared + product);
        MaxDimension = maxDim;
        SquareDimension = square;
        ScratchPerRow = Math.Max(scratch, latent.AddsRowTerms ? latent.ScratchPerRow : 0);
        // One shared block whose T is its values (Bernoulli, Poisson) over all the data's columns in order: the
        // products read the data directly.
        _statisticsAreTheData = blocks.Length == 1 && blocks[0].SharesFrame && blocks[0].Family.StatisticsAreTheValues
            && blocks[0].FirstOfContiguousColumns == 0;
        // The one block that uses the per-state scratch, when only one does and the latent structure adds no row terms
        // (which use it too): what its terms leave there survives until its statistics are accumulated.
        var users = Enumerable.Range(0, blocks.Length).Where(b => blocks[b].UsesScratch).ToArray();
        _soleScratchUser = users.Length == 1 && !latent.AddsRowTerms ? users[0] : -1;
        KeepsRowPosterior = latent.KeepsRowPosterior || blocks.Any(b => b.KeepsRowPosterior);
    }

    /// <summary>The declaration (a <see cref="MixtureModel"/> or a <see cref="HiddenMarkovModel"/>).</summary>
    public ILatentModel Model { get; }

    public LatentRuntime Latent { get; }

    public BlockRuntime[] Blocks { get; }

    /// <summary>K.</summary>
    public int States => Latent.States;

    /// <summary>Statistics of the shared-frame blocks (columns of T and H in the products).</summary>
    public int SharedStatisticCount { get; }

    /// <summary>
    /// The chunk rows when <see cref="FitOptions.ChunkRows"/> is null: the largest power of two from 256 to 4096 whose
    /// rows of the statistics the products read twice (T, <paramref name="width"/> doubles per row: the shared blocks'
    /// and the widest per-state block's) stay within <see cref="ChunkStatisticsBytes"/>, so that T is still in the
    /// core's cache when Rᵀ·T reads it again.
    /// </summary>
    private static int ChunkFor(int width)
    {
        int rows = MaxAutomaticChunkRows;
        while (rows > 256 && (long)rows * width * sizeof(double) > ChunkStatisticsBytes) rows /= 2;
        return rows;
    }

    /// <summary>
    /// 640 KiB: measured on the development machine (1 MiB of L2 per core, two threads), chunks of 4096 rows were best
    /// for 10⁶ × 8 diagonal (T 136 bytes per row) and 1024 for 10⁶ × 8 full (360 bytes: 4096 rows were 10% slower),
    /// 512 for 16-D full (1224 bytes: 4096 rows 15–20% slower), 1024 for 64-column Bernoulli (512 bytes).
    /// </summary>
    internal const int ChunkStatisticsBytes = 640 * 1024;

    /// <summary>The largest automatic chunk (narrow statistics), also the streamed scan's reading buffer when ChunkRows is null.</summary>
    internal const int MaxAutomaticChunkRows = 4096;

    /// <summary>The chunk rows of a fit without <see cref="FitOptions.ChunkRows"/>: see <see cref="ChunkFor"/>.</summary>
    public int AutomaticChunkRows { get; }

    /// <summary>Rows per chunk of a pass over <paramref name="rows"/> rows: the option, or <see cref="AutomaticChunkRows"/>.</summary>
    public int ChunkRows(FitOptions options, int rows) => Math.Min(options.ChunkRows ?? AutomaticChunkRows, rows);

    /// <summary>Scratch per row needed by the per-state blocks and the latent structure's row terms.</summary>
    public int ScratchPerRow { get; }

    private readonly int _soleScratchUser;

    private readonly bool _statisticsAreTheData;

    /// <summary>The widest block whose values are gathered (for T(x) in the shared frame, or log h(x)).</summary>
    public int MaxDimension { get; }

    /// <summary>The largest D of the per-state blocks, whose centred moments need a D × D scratch (0 when none).</summary>
    public int SquareDimension { get; }

    /// <summary>Whether some statistics keep the posterior rows themselves (regressions, a gating network).</summary>
    public bool KeepsRowPosterior { get; }

    /// <summary>Creates the runtimes for a fit: checks the data's columns and support, then fixes each block's frame.</summary>
    public static CompiledModel Create(ILatentModel model, LatentRuntime latent, DataMatrix data, double[]? weights,
        MissingValuePolicy missing = MissingValuePolicy.Reject, bool validate = true)
    {
        var runtimes = new BlockRuntime[model.Blocks.Count];
        for (int b = 0; b < runtimes.Length; b++)
        {
            runtimes[b] = model.Blocks[b].CreateRuntime(data, weights ?? ReadOnlySpan<double>.Empty, model.States);
            if (validate) runtimes[b].Validate(data.All);
        }
        if (validate) latent.Validate(data.All);
        return new CompiledModel(model, latent, runtimes) { MissingValues = missing };
    }

    // ---------------------------------------------------------------- missing values

    /// <summary>The fit's <see cref="FitOptions.MissingValues"/> (Reject for a model loaded from a file); predictions follow it.</summary>
    public MissingValuePolicy MissingValues { get; private init; } = MissingValuePolicy.Reject;

    /// <summary>
    /// Checks missing values in the columns a model reads before anything is built from the data: under
    /// <see cref="MissingValuePolicy.Reject"/> the first is an error naming the row, column and option; under
    /// <see cref="MissingValuePolicy.Marginalize"/>, a gating network's covariate or a block that cannot marginalise
    /// (regression, factor) with a missing value is an error naming it. (Hidden Markov models marginalise like mixtures:
    /// the emissions are the blocks' marginal densities and phase 3 adds the holes' statistics and entropy.)
    /// </summary>
    internal static void CheckMissing(ILatentModel model, DataMatrix data, MissingValuePolicy policy, bool chain, string what = "fit")
    {
        if (!data.HasMissingValues) return;
        var read = model.Blocks.SelectMany(b => b.Columns.Concat(b.Covariates)).Concat(model.Gating?.Covariates ?? []).Distinct().Order().ToArray();
        if (data.FirstMissing(read) is not { } first) return;
        if (policy == MissingValuePolicy.Reject)
            throw new ArgumentException(
                $"Row {first.Row}, column {first.Column} is missing (NaN), and FitOptions.MissingValues is Reject{(what == "fit" ? "" : " for this model's fit")}: set FitOptions.MissingValues = MissingValuePolicy.Marginalize to marginalise missing values, or remove the row.");
        if (model.Gating is { } gating && data.FirstMissing(gating.Covariates) is { } g)
            throw new NotSupportedException(
                $"Row {g.Row}, column {g.Column} is missing, but it is a covariate of the gating network, whose weights π_k(x) need every covariate: remove the row or impute the covariate.");
        foreach (var block in model.Blocks)
        {
            if (block.SupportsMissing) continue;
            if (data.FirstMissing(block.Columns.Concat(block.Covariates).ToArray()) is { } b)
                throw new NotSupportedException(
                    $"Row {b.Row}, column {b.Column} is missing, but block '{block.Name}' ({block.GetType().Name.Replace("Block", "").ToLowerInvariant()}) cannot marginalise missing values (only Gaussian and exponential-family blocks can): remove the row or impute the value.");
        }
    }

    /// <summary>The rows with every column of the model missing: how many, and the first few (row numbers).</summary>
    internal (int Count, int[] First) RowsWithoutObservations(DataMatrix data)
    {
        if (!data.HasMissingValues) return (0, []);
        var read = Blocks.SelectMany(b => b.Columns.ToArray()).Distinct().ToArray();
        int count = 0;
        var first = new List<int>();
        for (int i = 0; i < data.Rows; i++)
        {
            var row = data.Row(i);
            bool none = true;
            foreach (int c in read) none &= double.IsNaN(row[c]);
            if (none)
            {
                count++;
                if (first.Count < 5) first.Add(i);
            }
        }
        return (count, first.ToArray());
    }

    /// <summary>A compiled model from runtimes made without training data (a loaded model file's).</summary>
    internal static CompiledModel Restore(ILatentModel model, LatentRuntime latent, BlockRuntime[] blocks) => new(model, latent, blocks);

    /// <summary>Checks that new data (for prediction) has the columns and support the model needs.</summary>
    public void Validate(DataMatrix data)
    {
        CheckMissing(Model, data, MissingValues, chain: !Latent.RowsIndependent, what: "prediction");
        foreach (var b in Blocks) b.Validate(data.All);
        Latent.Validate(data.All);
    }

    /// <summary>Σ_b log h_b(x_n) for every row (constant across iterations, so computed once per fit).</summary>
    public double[] LogBaseMeasure(DataMatrix data)
    {
        var logBase = new double[data.Rows];
        var gather = new double[ArraySize.Product(Math.Min(data.Rows, 4096), MaxDimension, () => $"log h(x) of 4096 rows × {MaxDimension} columns")];
        for (int start = 0; start < data.Rows; start += 4096)
        {
            int rows = Math.Min(4096, data.Rows - start);
            var chunk = data.Chunk(start, rows);
            foreach (var b in Blocks) b.AddLogBaseMeasure(chunk, gather, logBase.AsSpan(start, rows));
        }
        return logBase;
    }

    /// <summary>Whether every block's log h(x) is a constant (<see cref="Families.ExponentialFamily.ConstantLogBaseMeasure"/>).</summary>
    public bool LogBaseIsConstant => Blocks.All(b => b.Family.ConstantLogBaseMeasure is not null);

    /// <summary>Empty statistics for a pass under <paramref name="state"/> (null: the initial frames).</summary>
    public Summary NewSummary(ModelState? state) =>
        new(Latent.CreateStatistics(), Blocks.Select((b, i) => b.CreateStatistics(state?.Blocks[i])).ToArray());

    /// <summary>H (K × shared S) of the shared-frame blocks and the bias b_k − Σ_b A_b(η_bk) over all blocks.</summary>
    public (double[] H, double[] Bias) Pack(ModelState state)
    {
        int k0 = States, s = SharedStatisticCount;
        var h = new double[k0 * s];
        var bias = new double[k0];
        Latent.FillBias(state.Latent, bias);
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
        /// <summary>Given posterior (rows × K) to use instead of inferring it (starts).</summary>
        public double[]? FixedResponsibilities { get; init; }

        /// <summary>Given hard labels (one per row) whose one-hot posterior to use instead of inferring it (a mixture's start).</summary>
        public int[]? FixedLabels { get; init; }

        /// <summary>Receives the posterior marginals (rows × K), unweighted.</summary>
        public double[]? Responsibilities { get; init; }

        /// <summary>Receives log p(x_n) per row (rows independent only).</summary>
        public double[]? LogDensity { get; init; }

        /// <summary>Receives log p(x⁽ˢ⁾) per sequence (Markov chains only).</summary>
        public double[]? SequenceLogLikelihood { get; init; }

        /// <summary>
        /// Known states per row (−1 unknown), or null: a labelled row's log-joint keeps only its label's entry (the others
        /// become −∞), which fixes its posterior and makes its term log p(x_n, z_n = label).
        /// </summary>
        public int[]? KnownLabels { get; init; }

        /// <summary>Whether to accumulate statistics (false for pure prediction).</summary>
        public bool Accumulate { get; init; } = true;
    }

    /// <summary>
    /// One pass over the data under <paramref name="state"/> (ignored when the posterior is given).
    /// <paramref name="logBase"/> may be null, in which case log h is computed per chunk; <paramref name="sequences"/>
    /// gives the row offsets of the sequences (length S + 1) for a Markov chain, and is ignored otherwise.
    /// </summary>
    public Summary Pass(DataMatrix data, int[] sequences, double[]? logBase, double[]? weights, ModelState? state, PassOutputs outputs,
        FitOptions options, CancellationToken cancellationToken) =>
        Latent.RowsIndependent
            ? FusedPass(data, logBase, weights, state, outputs, options, cancellationToken)
            : ChainPass(data, sequences, logBase, weights, state, outputs, options, cancellationToken);

    private sealed class Workspace(CompiledModel model, int chunk)
    {
        public readonly double[] T = model.Size(chunk, model.SharedStatisticCount, () => $"{chunk} rows × {model.SharedStatisticCount} statistics of T(x)");
        public readonly double[] LogJoint = model.Size(chunk, model.States, () => $"{chunk} rows × {model.States} states");
        public readonly double[] Product = model.Size(model.States, model.SharedStatisticCount, () => $"{model.States} states × {model.SharedStatisticCount} statistics");
        public readonly double[] LogNormalizer = new double[chunk];
        public readonly double[] Entropy = new double[chunk];
        public readonly double[] LogBase = new double[chunk];
        public readonly double[] Gather = model.Size(chunk, model.MaxDimension, () => $"{chunk} rows × {model.MaxDimension} columns of the widest block");
        public readonly double[] Scratch = model.Size(1, (long)chunk * model.ScratchPerRow + (long)model.SquareDimension * model.SquareDimension,
            () => $"the per-state blocks' scratch ({chunk} rows × {model.ScratchPerRow} + {model.SquareDimension}²)");
    }

    /// <summary>A zeroed a × b array, its size checked (the message says what it was for and suggests a smaller ChunkRows).</summary>
    private double[] Size(long a, long b, Func<string> what) =>
        new double[ArraySize.Product(a, b, () => $"The E-step's workspace for {what()} (lower FitOptions.ChunkRows, or narrow the model)")];

    private Workspace NewWorkspace(int chunk) => new(this, chunk);

    /// <summary>Workspaces of one chunk size, kept between passes (a fit makes hundreds of passes).</summary>
    private sealed record WorkspacePool(int Chunk, System.Collections.Concurrent.ConcurrentBag<Workspace> Pool);

    /// <summary>The pool of the last chunk size used (replaced whole, so concurrent predictions never see a torn pair).</summary>
    private WorkspacePool _workspaces = new(0, []);

    /// <summary>The pool of workspaces for <paramref name="chunk"/> rows (a new one when the chunk size changed).</summary>
    private System.Collections.Concurrent.ConcurrentBag<Workspace> Workspaces(int chunk)
    {
        var current = _workspaces;
        if (current.Chunk == chunk) return current.Pool;
        var fresh = new WorkspacePool(chunk, []);
        _workspaces = fresh;
        return fresh.Pool;
    }

    private static ParallelOptions Parallelism(FitOptions options, CancellationToken cancellationToken) =>
        new() { MaxDegreeOfParallelism = options.MaxDegreeOfParallelism, CancellationToken = cancellationToken };

    /// <summary>
    /// A row with no probability under any state. Values so large that the log-density itself leaves the range of a
    /// double (a Gaussian's ½(x − μ)²/σ² overflows near |x − μ| ~ 10¹⁵⁴σ) are the data's, and said so; otherwise the
    /// parameters give the row no probability, which the floors should prevent.
    /// </summary>
    private static InvalidOperationException NoProbability(DataChunk data, int i, double li)
    {
        var row = data.Row(i);
        int column = 0;
        for (int j = 1; j < row.Length; j++) if (Math.Abs(row[j]) > Math.Abs(row[column])) column = j;
        double largest = row.Length == 0 ? 0 : row[column];
        return Math.Abs(largest) > 1e100
            ? new InvalidOperationException(
                $"Row {data.FirstRow + i}: its log-likelihood is below the range of a double (computed as {li}) under every component: column {column} is {largest:G6}, so far from every component that even the logarithm of its density overflows. Rescale the data.")
            : new InvalidOperationException(
                $"Row {data.FirstRow + i} has log-likelihood {li} under every component: the parameters give it no probability. The probability and covariance floors should prevent this; please report it with the data.");
    }

    // ---------------------------------------------------------------- rows independent (mixtures)

    private Summary FusedPass(DataMatrix data, double[]? logBase, double[]? weights, ModelState? state, PassOutputs outputs,
        FitOptions options, CancellationToken cancellationToken)
    {
        int n = data.Rows, chunk = ChunkRows(options, n);
        int chunks = (n + chunk - 1) / chunk;
        var (h, bias) = state is null ? (Array.Empty<double>(), Array.Empty<double>()) : Pack(state);
        // Chunks are summed into a fixed number of slabs of consecutive chunks (a slab's chunks in order, by one worker),
        // and the slabs in order: the same sums on any number of threads, with one summary per slab rather than per chunk.
        int slabs = SlabCount(chunks);
        var partial = new Summary[slabs];
        ParallelWork.For(0, slabs, Parallelism(options, cancellationToken),
            Workspaces(chunk), () => NewWorkspace(chunk),
            (g, ws) =>
            {
                var summary = NewSummary(state);
                for (int c = SlabStart(g, chunks, slabs), end = SlabStart(g + 1, chunks, slabs); c < end; c++)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    int start = c * chunk, rows = Math.Min(chunk, n - start);
                    ProcessChunk(data.Chunk(start, rows), logBase, weights, state, h, bias, outputs, ws, summary);
                }
                partial[g] = summary;
                return ws;
            });
        var total = NewSummary(state);
        foreach (var p in partial) total.Add(p); // fixed order: independent of the thread count
        return total;
    }

    /// <summary>Slabs of consecutive chunks a pass over rows in memory is divided into (at most; fewer when there are fewer chunks).</summary>
    private const int Slabs = 32;

    private static int SlabCount(int chunks) => Math.Min(chunks, Slabs);

    /// <summary>The first chunk of slab <paramref name="g"/> (g = slabs: one past the last chunk).</summary>
    private static int SlabStart(int g, int chunks, int slabs) => (int)((long)g * chunks / slabs);

    /// <summary>Summarises one chunk, into <paramref name="into"/> when given (added to what it holds), else into a new summary.</summary>
    private Summary ProcessChunk(DataChunk data, double[]? logBase, double[]? weights, ModelState? state, double[] h, double[] bias,
        PassOutputs outputs, Workspace ws, Summary? into = null)
    {
        int k0 = States, s = SharedStatisticCount, rows = data.Rows, start = data.FirstRow;
        var r = ws.LogJoint.AsSpan(0, rows * k0);
        var t = SharedStatistics(data, ws);
        var summary = into ?? NewSummary(state);

        if (outputs.FixedResponsibilities is { } fixedR)
        {
            fixedR.AsSpan(start * k0, rows * k0).CopyTo(r);
        }
        else if (outputs.FixedLabels is { } labels)
        {
            r.Clear();
            for (int i = 0; i < rows; i++) r[i * k0 + labels[start + i]] = 1;
        }
        else
        {
            var lb = ChunkLogBase(data, logBase, ws);
            LogJoint(data, state!, h, bias, t, r, ws);
            if (outputs.KnownLabels is { } known) KeepKnown(known, start, rows, r);
            var lse = ws.LogNormalizer.AsSpan(0, rows);
            var entropy = ws.Entropy.AsSpan(0, rows);
            LogSpace.SoftmaxRowsInPlace(r, rows, k0, lse, entropy);
            var w = weights is null ? ReadOnlySpan<double>.Empty : weights.AsSpan(start, rows);
            if (!RowSums(lse, lb, entropy, w, out double ll, out double h0, out double lbSum))
                for (int i = 0; i < rows; i++)
                    if (!double.IsFinite(lse[i] + lb[i])) throw NoProbability(data, i, lse[i] + lb[i]);
            if (outputs.LogDensity is { } ld)
                for (int i = 0; i < rows; i++) ld[start + i] = lse[i] + lb[i];
            summary.LogLikelihood += ll;
            summary.Entropy += h0;
            summary.LogBase += lbSum;
            if (outputs.Responsibilities is { } resp) r.CopyTo(resp.AsSpan(start * k0, rows * k0));
        }
        Weigh(r, rows, start, weights, summary);
        if (!outputs.Accumulate) return summary;
        Accumulate(data, r, summary, ws, t, termsJustAdded: outputs.FixedResponsibilities is null && outputs.FixedLabels is null);
        return summary;
    }

    /// <summary>
    /// The chunk's Σ wᵢℓᵢ, Σ wᵢHᵢ and Σ wᵢ log hᵢ, with ℓᵢ = lseᵢ + lbᵢ the row's log-likelihood, Hᵢ its posterior's
    /// entropy and wᵢ its weight (1 when <paramref name="weights"/> is empty; w · x is x exactly for w = 1, so unit
    /// weights give the same bits). Rows go four at a time into the lanes of vector sums, whose lanes are added at the
    /// end, a fixed order: one running sum per quantity, a chain of dependent additions over the chunk's 4096 rows, had
    /// cost as much as the softmax's logarithms. False when some ℓᵢ is not finite (the caller then names the row).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool RowSums(ReadOnlySpan<double> lse, ReadOnlySpan<double> lb, ReadOnlySpan<double> entropy, ReadOnlySpan<double> weights,
        out double ll, out double h, out double lbSum)
    {
        int rows = lse.Length, whole = rows / 4 * 4;
        if (lb.Length < rows || entropy.Length < rows || (!weights.IsEmpty && weights.Length < rows))
            throw new ArgumentException("RowSums: buffers too small.");
        bool weighted = !weights.IsEmpty;
        ref double lse0 = ref MemoryMarshal.GetReference(lse);
        ref double lb0 = ref MemoryMarshal.GetReference(lb);
        ref double h0 = ref MemoryMarshal.GetReference(entropy);
        ref double w0 = ref MemoryMarshal.GetReference(weights);
        Vector256<double> sumL = default, sumH = default, sumB = default, zero = default; // zero: ℓ · 0, NaN for a non-finite ℓ
        for (int i = 0; i < whole; i += 4)
        {
            var b = Vector256.LoadUnsafe(ref lb0, (nuint)i);
            var l = Vector256.LoadUnsafe(ref lse0, (nuint)i) + b;
            var e = Vector256.LoadUnsafe(ref h0, (nuint)i);
            zero += l * Vector256<double>.Zero;
            if (weighted)
            {
                var w = Vector256.LoadUnsafe(ref w0, (nuint)i);
                l *= w;
                e *= w;
                b *= w;
            }
            sumL += l;
            sumH += e;
            sumB += b;
        }
        ll = (sumL[0] + sumL[1]) + (sumL[2] + sumL[3]);
        h = (sumH[0] + sumH[1]) + (sumH[2] + sumH[3]);
        lbSum = (sumB[0] + sumB[1]) + (sumB[2] + sumB[3]);
        bool finite = Vector256.EqualsAll(zero, Vector256<double>.Zero);
        for (int i = whole; i < rows; i++)
        {
            double l = lse[i] + lb[i], w = weighted ? weights[i] : 1;
            finite &= double.IsFinite(l);
            ll += w * l;
            h += w * entropy[i];
            lbSum += w * lb[i];
        }
        return finite;
    }

    /// <summary>
    /// T(x) of the chunk's rows for the shared-frame blocks (rows × shared S): the chunk's own values when they are
    /// T (<see cref="_statisticsAreTheData"/>), otherwise written into the workspace.
    /// </summary>
    private ReadOnlySpan<double> SharedStatistics(DataChunk data, Workspace ws)
    {
        int s = SharedStatisticCount;
        if (_statisticsAreTheData && !data.MayHaveMissing && data.Columns == s)
        {
            var values = data.Values.Slice(0, data.Rows * s);
            if (!SupportScan.All<SupportScan.Finite>(values)) Blocks[0].Statistics(data, ws.Gather, ws.T, s, 0); // reports the row
            return values;
        }
        var t = ws.T.AsSpan(0, data.Rows * s);
        for (int b = 0; b < Blocks.Length; b++)
            if (Blocks[b].SharesFrame) Blocks[b].Statistics(data, ws.Gather, t, s, _offsets[b]);
        return t;
    }

    /// <summary>log h of the chunk's rows: a slice of the precomputed array, or computed into the workspace.</summary>
    private ReadOnlySpan<double> ChunkLogBase(DataChunk data, double[]? logBase, Workspace ws)
    {
        if (logBase is not null) return logBase.AsSpan(data.FirstRow, data.Rows);
        var lb = ws.LogBase.AsSpan(0, data.Rows);
        lb.Clear();
        foreach (var b in Blocks) b.AddLogBaseMeasure(data, ws.Gather, lb);
        return lb;
    }

    /// <summary>
    /// The chunk's rows × K log-joint without log h: the bias b_k − Σ A, plus T·Hᵀ, plus the per-state blocks' terms,
    /// plus the latent structure's row terms.
    /// </summary>
    private void LogJoint(DataChunk data, ModelState state, double[] h, double[] bias, ReadOnlySpan<double> t, Span<double> r, Workspace ws)
    {
        int k0 = States, s = SharedStatisticCount, rows = data.Rows;
        FillRows(bias, r, rows);
        if (s > 0) ComputeBackend.Current.Gemm(false, true, rows, k0, s, 1.0, t, s, h, s, 1.0, r, k0);
        if (data.MayHaveMissing)
            for (int b = 0; b < Blocks.Length; b++)
                if (Blocks[b].SharesFrame) Blocks[b].AddMissingTerms(data, state.Blocks[b], r);
        for (int b = 0; b < Blocks.Length; b++)
            if (!Blocks[b].SharesFrame) Blocks[b].AddComponentTerms(data, state.Blocks[b], r, ws.Scratch);
        if (Latent.AddsRowTerms) Latent.AddRowTerms(data, state.Latent, r, ws.Scratch);
    }

    /// <summary>Copies <paramref name="row"/> into each of the first <paramref name="rows"/> rows of <paramref name="into"/>, by doubling copies.</summary>
    private static void FillRows(ReadOnlySpan<double> row, Span<double> into, int rows)
    {
        int width = row.Length, total = rows * width;
        if (total == 0) return;
        row.CopyTo(into);
        for (int filled = width; filled < total; filled *= 2)
            into.Slice(0, Math.Min(filled, total - filled)).CopyTo(into.Slice(filled));
    }

    /// <summary>Sets the log-joint of every labelled row among rows [start, start + rows) to −∞ except at its label.</summary>
    private void KeepKnown(int[] known, int start, int rows, Span<double> logJoint)
    {
        int k0 = States;
        for (int i = 0; i < rows; i++)
        {
            int label = known[start + i];
            if (label < 0) continue;
            var row = logJoint.Slice(i * k0, k0);
            for (int k = 0; k < k0; k++)
                if (k != label) row[k] = double.NegativeInfinity;
        }
    }

    /// <summary>Multiplies each row of the posterior by its sample weight and adds the chunk's total weight to the summary's.</summary>
    private void Weigh(Span<double> r, int rows, int start, double[]? weights, Summary summary)
    {
        int k0 = States;
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
            summary.Weight += wsum;
        }
        else summary.Weight += rows;
    }

    /// <summary>
    /// Adds the chunk's statistics under its weighted posterior <paramref name="r"/>: the counts R_k, every
    /// shared-frame block's sums through one product Rᵀ·T, the other blocks' own statistics, and the posterior rows
    /// for the statistics that keep them. <paramref name="t"/> is the chunk's T when already computed, empty otherwise;
    /// <paramref name="termsJustAdded"/> says the blocks' E-step terms were computed on this chunk just before.
    /// </summary>
    private void Accumulate(DataChunk data, ReadOnlySpan<double> r, Summary summary, Workspace ws, ReadOnlySpan<double> t, bool termsJustAdded = false)
    {
        int k0 = States, s = SharedStatisticCount, rows = data.Rows;
        // The chunk's counts, added to the latent structure's and every block's.
        Span<double> counts = k0 <= StackBuffer.MaxDoubles ? stackalloc double[k0] : new double[k0];
        ColumnSums(r, rows, k0, counts);
        for (int k = 0; k < k0; k++) summary.Latent.Counts[k] += counts[k];
        foreach (var stats in summary.Blocks)
            for (int k = 0; k < k0; k++) stats.Counts[k] += counts[k];
        if (s > 0)
        {
            if (t.IsEmpty) t = SharedStatistics(data, ws);
            ComputeBackend.Current.Gemm(true, false, k0, s, rows, 1.0, r, k0, t, s, 0.0, ws.Product, s);
        }
        double[]? kept = KeepsRowPosterior ? r.Slice(0, rows * k0).ToArray() : null;
        if (Latent.KeepsRowPosterior) ((RowPosteriorStatistics)summary.Latent).AddRows(data.FirstRow, rows, kept!);
        for (int b = 0; b < Blocks.Length; b++)
        {
            var block = Blocks[b];
            if (block.SharesFrame) block.TakeSharedProduct(ws.Product, s, _offsets[b], summary.Blocks[b]);
            else if (block.KeepsRowPosterior) ((RowPosteriorStatistics)summary.Blocks[b]).AddRows(data.FirstRow, rows, kept!);
            else if (termsJustAdded && b == _soleScratchUser) block.AccumulateAfterTerms(data, r, summary.Blocks[b], ws.Scratch);
            else block.Accumulate(data, r, summary.Blocks[b], ws.Scratch);
        }
        if (data.MayHaveMissing)
            for (int b = 0; b < Blocks.Length; b++) summary.Entropy += Blocks[b].AccumulateMissing(data, r, summary.Blocks[b]);
    }

    /// <summary>
    /// sums[k] = Σ_i r[i·K + k]: up to sixteen columns at a time in four hardware vectors, each summing the even rows
    /// and the odd rows apart (a fixed order: the two sums added at the end), so a chunk of 4096 rows makes chains of
    /// 2048 dependent additions rather than 4096, which the processor overlaps; the last K mod 4 columns in one more.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ColumnSums(ReadOnlySpan<double> r, int rows, int k0, Span<double> sums)
    {
        if (r.Length < rows * k0 || sums.Length < k0) throw new ArgumentException("ColumnSums: buffers too small.");
        ref double r0 = ref MemoryMarshal.GetReference(r);
        int whole = k0 / 4 * 4, rest = k0 - whole;
        for (int k = 0; k < whole; k += 16)
        {
            int vectors = Math.Min(4, (whole - k) / 4);
            Vector256<double> a0 = default, a1 = default, a2 = default, a3 = default; // even rows
            Vector256<double> b0 = default, b1 = default, b2 = default, b3 = default; // odd rows
            int i = 0;
            for (; i + 2 <= rows; i += 2)
            {
                ref double column = ref Unsafe.Add(ref r0, (nint)i * k0 + k); // no reference past the end, even unread
                ref double next = ref Unsafe.Add(ref column, k0);
                a0 += Vector256.LoadUnsafe(ref column);
                b0 += Vector256.LoadUnsafe(ref next);
                if (vectors > 1) { a1 += Vector256.LoadUnsafe(ref column, 4); b1 += Vector256.LoadUnsafe(ref next, 4); }
                if (vectors > 2) { a2 += Vector256.LoadUnsafe(ref column, 8); b2 += Vector256.LoadUnsafe(ref next, 8); }
                if (vectors > 3) { a3 += Vector256.LoadUnsafe(ref column, 12); b3 += Vector256.LoadUnsafe(ref next, 12); }
            }
            if (i < rows)
            {
                ref double column = ref Unsafe.Add(ref r0, (nint)i * k0 + k);
                a0 += Vector256.LoadUnsafe(ref column);
                if (vectors > 1) a1 += Vector256.LoadUnsafe(ref column, 4);
                if (vectors > 2) a2 += Vector256.LoadUnsafe(ref column, 8);
                if (vectors > 3) a3 += Vector256.LoadUnsafe(ref column, 12);
            }
            a0 += b0;
            a1 += b1;
            a2 += b2;
            a3 += b3;
            a0.CopyTo(sums.Slice(k, 4));
            if (vectors > 1) a1.CopyTo(sums.Slice(k + 4, 4));
            if (vectors > 2) a2.CopyTo(sums.Slice(k + 8, 4));
            if (vectors > 3) a3.CopyTo(sums.Slice(k + 12, 4));
        }
        if (rest > 0)
        {
            var acc = Vector256<double>.Zero;
            for (int i = 0; i < rows; i++)
            {
                ref double column = ref Unsafe.Add(ref r0, (nint)i * k0 + whole);
                acc += Vector256.Create(column, rest > 1 ? Unsafe.Add(ref column, 1) : 0, rest > 2 ? Unsafe.Add(ref column, 2) : 0, 0);
            }
            for (int j = 0; j < rest; j++) sums[whole + j] = acc[j];
        }
    }

    // ---------------------------------------------------------------- Markov chains (HMMs)

    private Summary ChainPass(DataMatrix data, int[] sequences, double[]? logBase, double[]? weights, ModelState? state, PassOutputs outputs,
        FitOptions options, CancellationToken cancellationToken)
    {
        int n = data.Rows, k0 = States, chunk = ChunkRows(options, n);
        int chunks = (n + chunk - 1) / chunk;
        var parallel = Parallelism(options, cancellationToken);
        var chain = (MarkovChainRuntime)Latent;
        var posterior = new double[ArraySize.Product(n, k0, () => $"The posterior of {n:N0} steps × {k0} states (split the data into fewer steps per fit)")]; // log-emissions, then the posterior marginals in place
        var lb = logBase ?? new double[n];
        var total = NewSummary(state);

        // Phase 1: every row's log p(x_n | z_n = k) − log h(x_n), chunk by chunk.
        if (outputs.FixedResponsibilities is { } fixedR) fixedR.AsSpan(0, n * k0).CopyTo(posterior);
        else
        {
            FillLogEmissions(data, state!, posterior, logBase is null ? lb : null, options, cancellationToken);
            if (outputs.KnownLabels is { } known) KeepKnown(known, 0, n, posterior);
        }

        // Phase 2: forward–backward per sequence, sequences grouped (by the chunk size, not the thread count) so that
        // each group's partial statistics are merged in data order.
        var groups = SequenceGroups(sequences, chunk);
        var groupSummaries = new Summary[groups.Count];
        bool fixedPosterior = outputs.FixedResponsibilities is not null;
        ParallelWork.For(0, groups.Count, parallel, g =>
        {
            cancellationToken.ThrowIfCancellationRequested();
            var summary = NewSummary(state);
            var stats = (MarkovStatistics)summary.Latent;
            for (int s = groups[g].First; s < groups[g].End; s++)
            {
                int start = sequences[s], length = sequences[s + 1] - start;
                double w = weights is null ? 1 : weights[start];
                if (fixedPosterior)
                {
                    chain.AccumulateGiven(posterior.AsSpan(start * k0, length * k0), length, stats, w);
                    continue;
                }
                SequencePosterior result;
                try
                {
                    result = chain.Posterior(posterior, start * k0, length, (MarkovState)state!.Latent, stats, w,
                        parallel: length >= LongSequence && options.MaxDegreeOfParallelism != 1);
                }
                catch (ImpossibleSequenceException e)
                {
                    throw new InvalidOperationException(
                        $"Sequence {s}, step {e.Step} (row {start + e.Step}): every state has probability zero there under the current parameters, so the sequence has no probability. {e.Message}", e);
                }
                double logBaseSum = 0;
                for (int t = 0; t < length; t++) logBaseSum += lb[start + t];
                double li = result.LogLikelihood + logBaseSum;
                if (!double.IsFinite(li))
                    throw new InvalidOperationException($"Sequence {s} has log-likelihood {li}; the parameters give it no probability.");
                if (outputs.SequenceLogLikelihood is { } sl) sl[s] = li;
                if (w != 0)
                {
                    summary.LogLikelihood += w * li;
                    summary.Entropy += w * result.Entropy;
                    summary.LogBase += w * logBaseSum;
                }
            }
            groupSummaries[g] = summary;
        });
        foreach (var gs in groupSummaries) total.Add(gs);
        if (outputs.Responsibilities is { } resp) posterior.AsSpan(0, n * k0).CopyTo(resp);
        if (!outputs.Accumulate) return total;

        // Phase 3: the blocks' statistics (and the occupancy counts), chunk by chunk from the weighted posterior.
        var partial = new Summary[chunks];
        ParallelWork.For(0, chunks, parallel, Workspaces(chunk), () => NewWorkspace(chunk), (c, ws) =>
        {
            cancellationToken.ThrowIfCancellationRequested();
            int start = c * chunk, rows = Math.Min(chunk, n - start);
            var summary = NewSummary(state);
            var r = ws.LogJoint.AsSpan(0, rows * k0);
            posterior.AsSpan(start * k0, rows * k0).CopyTo(r);
            Weigh(r, rows, start, weights, summary);
            Accumulate(data.Chunk(start, rows), r, summary, ws, t: default);
            partial[c] = summary;
            return ws;
        });
        foreach (var p in partial) total.Add(p);
        return total;
    }

    /// <summary>log p(x_n | z_n = k) − log h(x_n) of every row (rows × K) under <paramref name="state"/>, chunk by chunk.</summary>
    public double[] LogEmissions(DataMatrix data, ModelState state, FitOptions options)
    {
        var result = new double[ArraySize.Product(data.Rows, States, () => $"The log-emissions of {data.Rows:N0} rows × {States} states")];
        FillLogEmissions(data, state, result, null, options, CancellationToken.None);
        return result;
    }

    /// <summary>
    /// Writes every row's log-joint without log h (rows × K) into <paramref name="logJoint"/>, chunk by chunk in parallel,
    /// and, when <paramref name="logBase"/> is given, every row's log h into it.
    /// </summary>
    private void FillLogEmissions(DataMatrix data, ModelState state, double[] logJoint, double[]? logBase, FitOptions options, CancellationToken cancellationToken)
    {
        int n = data.Rows, k0 = States, chunk = ChunkRows(options, n);
        int chunks = (n + chunk - 1) / chunk;
        var (h, bias) = Pack(state);
        ParallelWork.For(0, chunks, Parallelism(options, cancellationToken), Workspaces(chunk), () => NewWorkspace(chunk), (c, ws) =>
        {
            cancellationToken.ThrowIfCancellationRequested();
            int start = c * chunk, rows = Math.Min(chunk, n - start);
            var part = data.Chunk(start, rows);
            var t = SharedStatistics(part, ws);
            if (logBase is not null) ChunkLogBase(part, null, ws).CopyTo(logBase.AsSpan(start, rows));
            LogJoint(part, state, h, bias, t, logJoint.AsSpan(start * k0, rows * k0), ws);
            return ws;
        });
    }

    /// <summary>Consecutive sequences grouped until a group holds at least <paramref name="rows"/> steps.</summary>
    private static List<(int First, int End)> SequenceGroups(int[] sequences, int rows)
    {
        var groups = new List<(int, int)>();
        int count = sequences.Length - 1, first = 0;
        for (int s = 0; s < count; s++)
            if (sequences[s + 1] - sequences[first] >= rows || s == count - 1)
            {
                groups.Add((first, s + 1));
                first = s + 1;
            }
        return groups;
    }
}

/// <summary>What the engine needs of a model declaration, whatever its latent structure.</summary>
internal interface ILatentModel
{
    /// <summary>K: states of the latent variable.</summary>
    int States { get; }

    /// <summary>The observed blocks, in declaration order.</summary>
    IReadOnlyList<Block> Blocks { get; }

    /// <summary>The gating network, if any (its covariates are columns the model reads).</summary>
    Gating? Gating => null;

    /// <summary>The column names of the data a model declared by name was resolved against; null otherwise.</summary>
    IReadOnlyList<string>? DataColumnNames { get; }
}
