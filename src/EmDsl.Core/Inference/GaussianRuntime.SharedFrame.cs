using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Numerics.Tensors;
using EmDsl.Families;
using EmDsl.Data;
using EmDsl.Numerics;

namespace EmDsl.Inference;

/// <summary>
/// The shared frame of the Gaussian block: every component near a shared centre m (the average of the component
/// means — a function of the parameters alone —, and before the first M-step the block's weighted data mean), measured
/// in its own units, is evaluated about m, all of them at once. For the chunk's rows T(y) = [y, second
/// moments of y] with y = x − m (restricted to the covariance structure, the layout of the statistics); the E-step adds
/// T·Hᵀ + c with H_k = [Λ_k δ_k, −½Λ_k packed] and c_k = −½ δ_kᵀΛ_kδ_k, δ_k = μ_k − m, which is
/// −½ (y − δ_k)ᵀΛ_k(y − δ_k), one product for all those components; the statistics are one product Rᵀ·T, about the
/// centre m. A component's terms there are of size about ρ_k = (‖δ_k‖² + tr Σ_k)·tr Λ_k / D² (its distance from m and
/// its spread, in its own units, and its condition), and the expanded form loses about log₁₀ ρ_k digits in the log-joint
/// (the covariance, recentred from moments about m, up to log₁₀ ρ_k D²: the tests find covariances of one step within
/// 1.2·10⁻⁸ of the own frames' at D ≤ 5, means within 2.5·10⁻¹⁰ of the spread, log-likelihoods within 10⁻¹¹); a component
/// with ρ_k above <see cref="SharedFrameLimit"/> stays in its own frame, exact as before. So data shifted by 10⁶ (m
/// moves with it) and a tight component far from the centre (ρ ~ 10¹²: its own frame) keep their digits.
/// </summary>
internal sealed partial class GaussianRuntime
{
    /// <summary>The largest ρ_k evaluated in the shared frame: about 4 of 16 digits of the log-joint traded for the one product.</summary>
    internal const double SharedFrameLimit = 1e4;

    /// <summary>Full covariances with more than this many values of D + S per row stay in their own frames (the scratch T would be large).</summary>
    private const int MaxSharedWidth = 256;

    private bool SharedFrameAllowed => !OwnFramesOnly.Value && (_family.Structure != CovarianceStructure.Full || Dimension + StatisticCount <= MaxSharedWidth);

    /// <summary>Tests: every component in its own frame (the exact path the shared frame is checked against).</summary>
    internal static readonly AsyncLocal<bool> OwnFramesOnly = new();

    /// <summary>Tests: how many components <paramref name="state"/> evaluates in the shared frame.</summary>
    internal static int SharedComponents(BlockState state) => ((Evaluation)state.Evaluation!).Shared?.Count(b => b) ?? 0;

    /// <summary>
    /// What a state precomputes: the whitening W_k = L_k⁻¹ of every component, the shared centre m, which components are in the shared frame
    /// (null when none is), and their rows [H_k, c_k] (zero for the others), K × (S + 1).
    /// </summary>
    private sealed record Evaluation(double[][] Whitening, double[] Centre, bool[]? Shared, double[] H)
    {
        public bool AllShared { get; } = Shared is not null && Array.TrueForAll(Shared, b => b);
    }

    private Evaluation Evaluate(GaussianParameters[] usual)
    {
        int d = Dimension, s = StatisticCount, k0 = Components;
        var whitening = Whiten(usual, d, Name);
        // m: the average of the component means, a function of the parameters alone, so that a saved and reloaded
        // fit, or a fit scoring other data, evaluates every row with the same bits.
        var centre = new double[d];
        for (int k = 0; k < k0; k++)
            for (int j = 0; j < d; j++) centre[j] += usual[k].Mean[j];
        for (int j = 0; j < d; j++) centre[j] /= k0;
        var shared = new bool[k0];
        int width = SharedWidth;
        var h = new double[k0 * width];
        var delta = new double[d];
        var lambda = new double[d * d];
        bool any = false;
        for (int k = 0; k < k0 && SharedFrameAllowed; k++)
        {
            var w = whitening[k];
            var cov = usual[k].Covariance;
            double distance = 0, traceSigma = 0, traceLambda = 0, mahalanobis = 0;
            for (int j = 0; j < d; j++)
            {
                delta[j] = usual[k].Mean[j] - centre[j];
                distance += delta[j] * delta[j];
                traceSigma += cov[j, j];
            }
            for (int i = 0; i < d; i++)
            {
                double v = 0;
                for (int j = 0; j <= i; j++)
                {
                    v += w[i * d + j] * delta[j];
                    traceLambda += w[i * d + j] * w[i * d + j];
                }
                mahalanobis += v * v;
            }
            double rho = (distance + traceSigma) * traceLambda / ((double)d * d);
            if (!(rho <= SharedFrameLimit)) continue;
            shared[k] = any = true;
            h[k * width + s] = -0.5 * mahalanobis;
            // Λ = WᵀW (W lower triangular).
            for (int a = 0; a < d; a++)
                for (int b = 0; b <= a; b++)
                {
                    double v = 0;
                    for (int i = a; i < d; i++) v += w[i * d + a] * w[i * d + b];
                    lambda[a * d + b] = lambda[b * d + a] = v;
                }
            var row = h.AsSpan(k * width, s);
            for (int a = 0; a < d; a++)
            {
                double v = 0;
                for (int b = 0; b < d; b++) v += lambda[a * d + b] * delta[b];
                row[a] = v;
            }
            switch (_family.Structure)
            {
                case CovarianceStructure.Diagonal:
                    for (int a = 0; a < d; a++) row[d + a] = -0.5 * lambda[a * d + a];
                    break;
                case CovarianceStructure.Spherical:
                    row[d] = -0.5 * lambda[0];
                    break;
                default:
                    int p = d;
                    for (int a = 0; a < d; a++)
                        for (int b = a; b < d; b++) row[p++] = a == b ? -0.5 * lambda[a * d + a] : -lambda[a * d + b];
                    break;
            }
        }
        return new Evaluation(whitening, centre, any ? shared : null, h);
    }

    /// <summary>Before the first M-step every component is about m (all in the shared frame when the structure allows it).</summary>
    private bool[]? _allShared;

    /// <summary>The components whose statistics are about m under <paramref name="state"/>, or null when none is.</summary>
    private bool[]? SharedMask(BlockState? state) =>
        state is null
            ? (SharedFrameAllowed ? _allShared ??= Enumerable.Repeat(true, Components).ToArray() : null)
            : ((Evaluation)state.Evaluation!).Shared;

    /// <summary>The shared mask when the chunk is evaluated through the products: not on a chunk that may have holes (every component in its own way there).</summary>
    private static bool[]? SharedHere(DataChunk data, bool[]? mask) => data.MayHaveMissing ? null : mask;

    /// <summary>The centre of state k's statistics: m for a component in the shared frame (and for all before the first M-step), μ_k otherwise.</summary>
    private IReadOnlyList<double> StatisticsCentre(BlockState? state, int k) =>
        SharedMask(state) is { } mask && mask[k] ? SharedCentre(state) : Frame(state, k);

    /// <summary>m under <paramref name="state"/>: the average of its means, or the data's mean before the first M-step.</summary>
    private double[] SharedCentre(BlockState? state) => state is null ? _origin : ((Evaluation)state.Evaluation!).Centre;

    /// <summary>Columns of the shared T: the S statistics, then a constant 1 that carries c_k through the product.</summary>
    private int SharedWidth => StatisticCount + 1;

    /// <summary>
    /// Writes [T(x − m), 1] of the chunk's rows (rows × (S + 1), T in the statistics' layout) after room for the gathered rows in
    /// <paramref name="scratch"/>. Plain loops: per-row calls of the span primitives cost more than the arithmetic at these widths.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private Span<double> SharedStatistics(DataChunk data, ReadOnlySpan<double> m, Span<double> scratch)
    {
        int d = Dimension, w = SharedWidth, rows = data.Rows;
        var x = RowsOf(data, scratch.Slice(0, rows * d));
        var t = scratch.Slice(rows * d, rows * w);
        var structure = _family.Structure;
        if (m.Length < d || t.Length < rows * w || x.Length < rows * d) throw new ArgumentException("SharedStatistics: buffers too small.");
        int vectors = d / 4 * 4;
        ref double m0 = ref MemoryMarshal.GetReference(m);
        ref double x0 = ref MemoryMarshal.GetReference(x);
        ref double t0 = ref MemoryMarshal.GetReference(t);
        for (int i = 0; i < rows; i++)
        {
            ref double ti = ref Unsafe.Add(ref t0, (nint)i * w);
            ref double xi = ref Unsafe.Add(ref x0, (nint)i * d);
            Prefetch.Lines(x, i * d + Prefetch.AheadDoubles, d);
            var squares = Vector256<double>.Zero;
            for (int j = 0; j < vectors; j += 4)
            {
                var y = Vector256.LoadUnsafe(ref xi, (nuint)j) - Vector256.LoadUnsafe(ref m0, (nuint)j);
                y.StoreUnsafe(ref ti, (nuint)j);
                if (structure == CovarianceStructure.Diagonal) (y * y).StoreUnsafe(ref ti, (nuint)(d + j));
                else squares += y * y;
            }
            for (int j = vectors; j < d; j++)
            {
                double y = Unsafe.Add(ref xi, j) - Unsafe.Add(ref m0, j);
                Unsafe.Add(ref ti, j) = y;
                if (structure == CovarianceStructure.Diagonal) Unsafe.Add(ref ti, d + j) = y * y;
            }
            if (structure == CovarianceStructure.Spherical)
            {
                double sum = (squares[0] + squares[1]) + (squares[2] + squares[3]);
                for (int j = vectors; j < d; j++) sum += Unsafe.Add(ref ti, j) * Unsafe.Add(ref ti, j);
                Unsafe.Add(ref ti, d) = sum;
            }
            else if (structure == CovarianceStructure.Full)
            {
                // vech(y yᵀ), row a of the upper triangle (y_a y_b, b ≥ a) at o_a = d + a·d − a(a − 1)/2: the whole
                // row y_a·y in vectors, written from o_a − a so that y_a y_a lands at o_a. Its first a products fall on
                // the places of rows before a, which are written after it (a descends), and it ends at o_(a+1), so
                // every place ends up with its own product. d² products instead of d(d + 1)/2, but no scalar stores (D ≤ 20
                // here: full covariances wider than MaxSharedWidth keep their own frames).
                for (int a = d - 1; a >= 0; a--)
                {
                    ref double from = ref Unsafe.Add(ref ti, d + a * (d - 1) - a * (a - 1) / 2);
                    double ya = Unsafe.Add(ref ti, a);
                    var va = Vector256.Create(ya);
                    for (int b = 0; b < vectors; b += 4) (va * Vector256.LoadUnsafe(ref ti, (nuint)b)).StoreUnsafe(ref from, (nuint)b);
                    for (int b = vectors; b < d; b++) Unsafe.Add(ref from, b) = ya * Unsafe.Add(ref ti, b);
                }
            }
            Unsafe.Add(ref ti, w - 1) = 1;
        }
        return t;
    }

    /// <summary>Adds T(x − m)·H_k + c_k for every row and every component in the shared frame (one product; 0 for the others).</summary>
    private void AddSharedTerms(DataChunk data, Evaluation evaluation, Span<double> logJoint, Span<double> scratch)
    {
        int w = SharedWidth, k0 = Components, rows = data.Rows;
        var t = SharedStatistics(data, evaluation.Centre, scratch);
        ComputeBackend.Current.Gemm(false, true, rows, k0, w, 1.0, t, w, evaluation.H, w, 1.0, logJoint, k0);
    }

    /// <summary>
    /// <see cref="Accumulate"/> right after this block's <see cref="AddComponentTerms"/> on the same chunk, no other
    /// block or latent structure having used the scratch in between: T(x − m) is reused rather than recomputed, unless
    /// a full-covariance component in its own frame wrote over it (the diagonal own-frame path keeps to the gathered rows).
    /// </summary>
    public override void AccumulateAfterTerms(DataChunk data, ReadOnlySpan<double> responsibilities, Statistics into, Span<double> scratch) =>
        AccumulateFrames(data, responsibilities, (ComponentStatistics)into, scratch, afterTerms: true);

    /// <summary>The shared-frame components through one product, then the others about their own centres.</summary>
    private void AccumulateFrames(DataChunk data, ReadOnlySpan<double> responsibilities, ComponentStatistics stats, Span<double> scratch, bool afterTerms)
    {
        var done = SharedHere(data, SharedMask(stats.State));
        if (done is not null)
        {
            bool ready = afterTerms && (_family.Structure != CovarianceStructure.Full || ((Evaluation)stats.State!.Evaluation!).AllShared);
            AccumulateShared(data, responsibilities, stats, done, scratch, ready);
        }
        CentredMoments.Accumulate(this, _family.Structure, data, responsibilities, stats, scratch, done);
    }

    /// <summary>Adds Σ_n r_nk T(x_n − m) to the statistics of every component in <paramref name="shared"/>, all through one product Rᵀ·T.</summary>
    private void AccumulateShared(DataChunk data, ReadOnlySpan<double> responsibilities, ComponentStatistics stats, bool[] shared, Span<double> scratch, bool ready)
    {
        int s = StatisticCount, w = SharedWidth, k0 = Components, rows = data.Rows;
        var t = ready ? scratch.Slice(rows * Dimension, rows * w) : SharedStatistics(data, SharedCentre(stats.State), scratch);
        var product = ArrayPool<double>.Shared.Rent(k0 * w);
        try
        {
            // Not the last column (Σ r, the counts: the engine's already), which would cost the tiles a leftover column.
            ComputeBackend.Current.Gemm(true, false, k0, s, rows, 1.0, responsibilities, k0, t, w, 0.0, product, w);
            for (int k = 0; k < k0; k++)
                if (shared[k]) TensorPrimitives.Add(stats.Sums.AsSpan(k * s, s), product.AsSpan(k * w, s), stats.Sums.AsSpan(k * s, s));
        }
        finally { ArrayPool<double>.Shared.Return(product); }
    }
}
