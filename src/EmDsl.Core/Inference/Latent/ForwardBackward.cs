using System.Buffers;
using System.Diagnostics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using EmDsl.Numerics;

namespace EmDsl.Inference;

/// <summary>
/// What forward–backward reports for one sequence x_1:T: <see cref="LogLikelihood"/> = log p(x_1:T) relative to the
/// log-emission terms given (log Σ_z π_{z_1} Π_t A_{z_t z_{t+1}} Π_t exp ℓ_{t,z_t}), and <see cref="Entropy"/> =
/// H[p(z_1:T | x)] = −Σ_z q(z) log q(z), the entropy of the posterior over whole state paths (0 log 0 = 0).
/// </summary>
internal readonly record struct SequencePosterior(double LogLikelihood, double Entropy);

/// <summary>
/// Thrown when every state path has probability zero; <see cref="Step"/> is the first step (0-based) at which no
/// path survives, i.e. the first t with p(z_t = k, x_1:t) = 0 for every state k.
/// </summary>
internal sealed class ImpossibleSequenceException(int step, string message) : Exception(message)
{
    /// <summary>The first step (0-based) at which every state has probability zero.</summary>
    public int Step { get; } = step;

    /// <summary>The exception for step t, with a message that names it.</summary>
    internal static ImpossibleSequenceException AtStep(int step) =>
        new(step, $"Every state has probability zero at step {step}: no state path compatible with the initial " +
                  $"distribution, the transition matrix and the log-emission terms reaches step {step} (each state " +
                  "there is unreachable or has log-emission −∞).");
}

/// <summary>
/// The forward–backward (Baum–Welch E-step) kernel of a hidden Markov model with K states on one sequence of T
/// steps: from π_k = p(z_1 = k), A_ij = p(z_{t+1} = j | z_t = i) and the log-emission terms ℓ_tk = log p(x_t | z_t = k)
/// (up to a constant per step) it computes the posterior marginals γ_tk = p(z_t = k | x), the expected transition
/// counts Σ_t ξ_t(i, j) with ξ_t(i, j) = p(z_t = i, z_{t+1} = j | x), log p(x) and the posterior path entropy.
/// <para>
/// Recursions. With m_t = max_k ℓ_tk and e_tk = exp(ℓ_tk − m_t) (computed in bulk, a chunk of steps at a time), the
/// forward pass is the scaled forward algorithm in probability space: p_t = α̂_{t−1}ᵀA (p_1 = π), u_tk = p_tk e_tk,
/// c_t = Σ_k u_tk, α̂_t = u_t / c_t = p(z_t | x_1:t), log p(x) = Σ_t (m_t + log c_t). The backward pass keeps
/// β̂_t(i) ∝ p(x_{t+1:T} | z_t = i) scaled to maximum 1: s_t(i) = Σ_j A_ij e_{t+1,j} β̂_{t+1}(j), β̂_t = s_t / max s_t.
/// </para>
/// <para>
/// Storage and exactness. Both passes store their rows as logarithms (log α̂_t = log p_t + ℓ_t − m_t − log c_t and
/// log β̂_t = log s_t − log max s_t, the logarithms taken in bulk when a chunk is done). A row in probability space only
/// holds ratios down to ~e^−745 between its entries; with structural zeros in A the filter and the backward variable
/// can be tiny on complementary states (a state the filter rules out by 800 nats that only the future can explain),
/// and γ ∝ α̂ ∘ β̂ would then vanish although the sequence is possible. So a p_tk or s_t(i) below 10⁻²⁵⁰, where terms
/// lost to underflow in the probability-space sum could matter, is recomputed exactly in log space
/// (log Σ_i exp(log α̂_{t−1}(i) + log A_ik), resp. log Σ_j exp(log A_ij + ℓ_{t+1,j} − m_{t+1} + log β̂_{t+1}(j))), and a
/// whole step whose normaliser falls below 10⁻³⁰ is done in log space (log-sum-exp), so a sum that underflows in
/// probability space but is representable in log space is still exact, and what underflowed in the products before the
/// normalisation stays negligible after it. No path surviving step t (every term −∞) throws
/// <see cref="ImpossibleSequenceException"/>.
/// </para>
/// <para>
/// Smoothing. With w_j = exp(ℓ_{t+1,j} + log β̂_{t+1}(j) − max_j(…)) and a_i = α̂_t(i):
/// ξ_t(i, j) = a_i A_ij w_j / Z_t, Z_t = Σ_i a_i (Aw)_i (in log space when Z_t &lt; 10⁻³⁰), γ_t(i) = Σ_j ξ_t(i, j)
/// = a_i (Aw)_i / Z_t for t &lt; T and γ_T = α̂_T. The posterior is a Markov chain with transition
/// P_t(i, j) = A_ij w_j / (Aw)_i, so H = H(γ_1) + Σ_{t&lt;T} H(z_{t+1} | z_t) with
/// H(z_{t+1} | z_t) = −Σ_ij ξ_ij log P_ij = Σ_i γ_t(i) log (Aw)_i − Σ_ij ξ_ij log A_ij − Σ_j (Σ_i ξ_ij) log w_j:
/// every term from the posterior chain's own factors, O(K) logarithms per step (taken in bulk), never the forward
/// normalisers — so log p(x) = E_q[log p(x, z)] + H is an identity a caller can check. The K² work per step is two outer
/// products u_t w_tᵀ and u_t (w_t ∘ log w_t)ᵀ (u_t = α̂_t / Z_t) summed over a block; A multiplies them once per block
/// (A ∘ Σ u wᵀ = Σ ξ), so an entry with A_ij = 0 receives exactly 0.
/// </para>
/// <para>
/// Parallelism. With parallel = true the forward and backward recursions (independent) run concurrently, and the
/// smoothing runs over fixed blocks of <see cref="BlockSteps"/> steps with Parallel.For; block partial sums merge in
/// block order. parallel = false runs the same blocks in order, so the two modes are bit-identical for any thread count.
/// The bulk exponentials and logarithms use <see cref="ReproducibleMath"/>, not TensorPrimitives, whose Exp and Log
/// change in the last bit when the JIT recompiles them, so that identical calls are bit-identical at any time.
/// </para>
/// </summary>
internal static class ForwardBackward
{
    /// <summary>Steps per smoothing block: a constant, so block partial sums (and results) never depend on the thread count.</summary>
    internal const int BlockSteps = 16_384;

    /// <summary>Steps per chunk of bulk exponentials and logarithms inside a pass (a fixed constant too).</summary>
    private const int ChunkSteps = 1_024;

    /// <summary>
    /// A predicted probability (forward) or backward sum below this is recomputed in log space: above it what the
    /// probability-space sum lost to underflow (at most ~2·10⁻²⁷⁸, see <see cref="UnderflowThreshold"/>) changes it by
    /// less than 10⁻²⁷ relatively.
    /// </summary>
    private const double TrustedInProbabilitySpace = 1e-250;

    /// <summary>
    /// A step normaliser (c_t, max s_t, Z_t) below this sends the step to log space. Products that underflow (below
    /// ~2·10⁻³⁰⁸) are lost before the normalisation divides by it, so above it such losses stay below ~2·10⁻²⁷⁸ —
    /// negligible next to <see cref="TrustedInProbabilitySpace"/>; below it they could reach 10⁻²⁸ and corrupt a
    /// "trusted" prediction of the next step.
    /// </summary>
    private const double UnderflowThreshold = 1e-30;

    /// <summary>
    /// Runs forward–backward on the T × K block <paramref name="buffer"/>[offset .. offset + T·K) (row-major). On entry it
    /// holds ℓ_tk = log p(x_t | z_t = k) up to a constant per row (finite or −∞); on exit γ_tk = p(z_t = k | x), each row
    /// summing to 1. Adds weight · γ_1k to <paramref name="initialCounts"/>[k] and weight · Σ_{t&lt;T} ξ_t(i, j) to
    /// <paramref name="transitionCounts"/>[i·K + j] (nothing at all where A_ij = 0). Returns log p(x) relative to the given
    /// terms and the entropy of p(z_1:T | x). T = 0 returns (0, 0) and changes nothing.
    /// </summary>
    /// <exception cref="ArgumentException">A log-emission term is NaN or +∞, a probability is negative or not finite, or a span has the wrong length.</exception>
    /// <exception cref="ImpossibleSequenceException">Every state path has probability zero; the counts and the buffer are then unchanged.</exception>
    public static SequencePosterior Run(double[] buffer, int offset, int length, int states,
        ReadOnlySpan<double> initial, ReadOnlySpan<double> transition,
        Span<double> initialCounts, Span<double> transitionCounts, double weight, bool parallel)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        ArgumentOutOfRangeException.ThrowIfLessThan(states, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if ((long)offset + (long)length * states > buffer.Length)
            throw new ArgumentException($"The buffer holds {buffer.Length} values; offset {offset} + {length} steps × {states} states does not fit.", nameof(buffer));
        ValidateChain(initial, transition, states);
        if (initialCounts.Length != states) throw new ArgumentException($"initialCounts has {initialCounts.Length} entries, not K = {states}.", nameof(initialCounts));
        if (transitionCounts.Length != states * states) throw new ArgumentException($"transitionCounts has {transitionCounts.Length} entries, not K² = {states * states}.", nameof(transitionCounts));
        if (length == 0) return new SequencePosterior(0, 0);
        ValidateLogEmissions(buffer.AsSpan(offset, length * states), states, nameof(buffer));

        using var work = new Workspace(buffer, offset, length, states, initial, transition);
        double logLikelihood;
        int backwardFailure;
        if (parallel)
        {
            double forwardResult = 0;
            int backwardResult = -1;
            ParallelWork.Invoke(() => forwardResult = work.Forward(), () => backwardResult = work.Backward());
            (logLikelihood, backwardFailure) = (forwardResult, backwardResult);
        }
        else
        {
            logLikelihood = work.Forward();
            backwardFailure = work.Backward();
        }
        // In exact arithmetic a possible sequence (the forward pass returned) has β_t > 0 somewhere at every t.
        if (backwardFailure >= 0) throw ImpossibleSequenceException.AtStep(backwardFailure);

        if (parallel) ParallelWork.For(0, work.Blocks, new ParallelOptions(), work.Smooth);
        else for (int b = 0; b < work.Blocks; b++) work.Smooth(b);
        double entropy = work.Finish(initialCounts, transitionCounts, weight);
        return new SequencePosterior(logLikelihood, entropy);
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first step and state whose log-emission term is NaN or +∞.</summary>
    internal static void ValidateLogEmissions(ReadOnlySpan<double> logEmission, int states, string parameterName)
    {
        double max = TensorPrimitives.Max(logEmission); // NaN if any entry is NaN
        if (!double.IsNaN(max) && !double.IsPositiveInfinity(max)) return;
        for (int i = 0; i < logEmission.Length; i++)
        {
            double v = logEmission[i];
            if (double.IsNaN(v) || double.IsPositiveInfinity(v))
                throw new ArgumentException($"The log-emission term at step {i / states}, state {i % states} is {v}; log-emission terms must be finite or −∞.", parameterName);
        }
    }

    /// <summary>
    /// Checks that π (K) and A (K × K) have the right lengths and finite non-negative entries; that each sums to 1 is the
    /// caller's guarantee (asserted in debug builds).
    /// </summary>
    internal static void ValidateChain(ReadOnlySpan<double> initial, ReadOnlySpan<double> transition, int states)
    {
        if (initial.Length != states) throw new ArgumentException($"The initial distribution has {initial.Length} entries, not K = {states}.", nameof(initial));
        if (transition.Length != states * states) throw new ArgumentException($"The transition matrix has {transition.Length} entries, not K² = {states * states}.", nameof(transition));
        for (int k = 0; k < states; k++)
            if (!(initial[k] >= 0) || double.IsPositiveInfinity(initial[k]))
                throw new ArgumentException($"π[{k}] = {initial[k]} is not a probability.", nameof(initial));
        for (int i = 0; i < transition.Length; i++)
            if (!(transition[i] >= 0) || double.IsPositiveInfinity(transition[i]))
                throw new ArgumentException($"A[{i / states}, {i % states}] = {transition[i]} is not a probability.", nameof(transition));
        AssertStochastic(initial, transition, states);
    }

    /// <summary>Debug check that π and every row of A sum to 1.</summary>
    [Conditional("DEBUG")]
    private static void AssertStochastic(ReadOnlySpan<double> initial, ReadOnlySpan<double> transition, int states)
    {
        double total = 0;
        foreach (var p in initial) total += p;
        Debug.Assert(Math.Abs(total - 1) <= 1e-9, $"π sums to {total}, not 1.");
        for (int i = 0; i < states; i++)
        {
            double row = 0;
            foreach (var p in transition.Slice(i * states, states)) row += p;
            Debug.Assert(Math.Abs(row - 1) <= 1e-9, $"Row {i} of A sums to {row}, not 1.");
        }
    }

    /// <summary>
    /// y += a · x elementwise, 4 lanes at a time: each entry is a · x_j rounded, then added and rounded (no fused
    /// multiply–add), the same arithmetic as the scalar loop in every lane.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddScaled(double a, ReadOnlySpan<double> x, Span<double> y)
    {
        int n = x.Length, j = 0;
        if (y.Length < n) throw new ArgumentException("y is shorter than x.", nameof(y));
        ref double xs = ref MemoryMarshal.GetReference(x);
        ref double ys = ref MemoryMarshal.GetReference(y);
        var scale = Vector256.Create(a);
        for (; j + 4 <= n; j += 4)
            (Vector256.LoadUnsafe(ref ys, (nuint)j) + scale * Vector256.LoadUnsafe(ref xs, (nuint)j)).StoreUnsafe(ref ys, (nuint)j);
        for (; j < n; j++) y[j] += a * x[j];
    }

    /// <summary>log of a probability: −∞ for 0.</summary>
    private static double LogOrMinusInfinity(double p) => p > 0 ? Math.Log(p) : double.NegativeInfinity;

    /// <summary>
    /// For each of <paramref name="rows"/> rows of ℓ: m = max_k ℓ_k into <paramref name="shift"/>, d = ℓ − m into
    /// <paramref name="shifted"/> (all −∞ when the row is) and e = exp d into <paramref name="scaled"/> (one bulk call).
    /// </summary>
    private static void ShiftEmissions(ReadOnlySpan<double> emission, int rows, int k, Span<double> shift, Span<double> shifted, Span<double> scaled)
    {
        for (int s = 0; s < rows; s++)
        {
            var row = emission.Slice(s * k, k);
            var d = shifted.Slice(s * k, k);
            double m = double.NegativeInfinity;
            foreach (var v in row) if (v > m) m = v;
            shift[s] = m;
            if (double.IsNegativeInfinity(m)) { d.Fill(double.NegativeInfinity); continue; }
            for (int j = 0; j < k; j++) d[j] = row[j] - m;
        }
        ReproducibleMath.Exp(shifted[..(rows * k)], scaled[..(rows * k)]);
    }

    /// <summary>
    /// Turns a chunk of stored rows into logarithms: row r held positive probability-space values v (and, at the
    /// recorded sentinel positions, exact logarithms); it becomes log v (or the sentinel) + <paramref name="add"/> row r
    /// (if given) − normaliser_r, where normaliser_r = log <paramref name="norms"/>[r] when that is positive and
    /// <paramref name="logNorms"/>[r] otherwise (a step done in log space).
    /// </summary>
    private static void FinishLogRows(Span<double> rows, int count, int k, ReadOnlySpan<int> sentinelIndex, ReadOnlySpan<double> sentinelValue,
        ReadOnlySpan<double> add, ReadOnlySpan<double> norms, Span<double> logNorms, Span<double> scratch)
    {
        var block = rows[..(count * k)];
        ReproducibleMath.Log(block, block);
        for (int i = 0; i < sentinelIndex.Length; i++) block[sentinelIndex[i]] = sentinelValue[i];
        if (!add.IsEmpty) TensorPrimitives.Add(block, add[..(count * k)], block);
        var logs = scratch[..count];
        ReproducibleMath.Log(norms[..count], logs);
        for (int r = 0; r < count; r++)
        {
            if (norms[r] > 0) logNorms[r] = logs[r];
            double subtract = logNorms[r];
            var row = block.Slice(r * k, k);
            for (int j = 0; j < k; j++) row[j] -= subtract;
        }
    }

    /// <summary>
    /// One sequence's scratch and passes: the chain in probability and log form, log α̂ and log β̂ (T × K each, pooled),
    /// γ of each block's first step (written to the buffer only after every block is done, since the previous block
    /// still reads that row's ℓ) and each block's partial sums.
    /// </summary>
    private sealed class Workspace : IDisposable
    {
        private readonly double[] _buffer;
        private readonly int _offset, _length, _states;
        private readonly double[] _initial;          // π, K
        private readonly double[] _transition;       // A, K × K
        private readonly double[] _transposed;       // Aᵀ, so that A·w is a sum of rows
        private readonly double[] _logTransition;    // log A_ij, −∞ where A_ij = 0
        private readonly double[] _logAlpha, _logBeta;
        private readonly double[] _firstRows;        // blocks × K
        private readonly double[] _partials;         // blocks × (K² transition sums, entropy)

        public Workspace(double[] buffer, int offset, int length, int states, ReadOnlySpan<double> initial, ReadOnlySpan<double> transition)
        {
            _buffer = buffer;
            _offset = offset;
            _length = length;
            _states = states;
            int kk = states * states;
            Blocks = (length + BlockSteps - 1) / BlockSteps;
            var pool = ArrayPool<double>.Shared;
            _initial = pool.Rent(states);
            _transition = pool.Rent(kk);
            _transposed = pool.Rent(kk);
            _logTransition = pool.Rent(kk);
            _logAlpha = pool.Rent(length * states);
            _logBeta = pool.Rent(length * states);
            _firstRows = pool.Rent(Blocks * states);
            _partials = pool.Rent(Blocks * PartialStride);
            initial.CopyTo(_initial);
            transition.CopyTo(_transition);
            for (int i = 0; i < states; i++)
                for (int j = 0; j < states; j++) _transposed[j * states + i] = transition[i * states + j];
            for (int i = 0; i < kk; i++) _logTransition[i] = LogOrMinusInfinity(transition[i]);
        }

        /// <summary>Number of smoothing blocks, ⌈T / <see cref="BlockSteps"/>⌉.</summary>
        public int Blocks { get; }

        /// <summary>Per block: K² sums Σ_t ξ_t(i, j), then the block's entropy terms.</summary>
        private int PartialStride => _states * _states + 1;

        /// <summary>The sequence's T × K block of the buffer: ℓ on entry, γ once smoothed.</summary>
        private Span<double> Emission => _buffer.AsSpan(_offset, _length * _states);

        /// <summary>
        /// The scaled forward recursion: stores log α̂_t = log p(z_t | x_1:t) for every t and returns
        /// log p(x) = Σ_t (m_t + log c_t), summed with compensation. During a chunk each row of the α array holds p_t
        /// (entries ≥ 10⁻²⁵⁰) or, at recorded sentinel positions, the exact log p_tk (below log 10⁻²⁵⁰, hence negative);
        /// the chunk's logarithms are taken together at its end.
        /// </summary>
        /// <exception cref="ImpossibleSequenceException">At the first t with p_tk e_tk = 0 for every k, exactly.</exception>
        public double Forward()
        {
            int k = _states, chunk = Math.Min(ChunkSteps, _length);
            ReadOnlySpan<double> emission = Emission;
            var pool = ArrayPool<double>.Shared;
            double[] scratch = pool.Rent(2 * chunk * k + 4 * chunk + 3 * k);
            double[] sentinelValues = pool.Rent(chunk * k);
            int[] sentinelPositions = ArrayPool<int>.Shared.Rent(chunk * k);
            try
            {
                var shifted = scratch.AsSpan(0, chunk * k);            // ℓ_tk − m_t
                var scaled = scratch.AsSpan(chunk * k, chunk * k);     // e_tk = exp(ℓ_tk − m_t)
                var shift = scratch.AsSpan(2 * chunk * k, chunk);      // m_t
                var norms = scratch.AsSpan(2 * chunk * k + chunk, chunk);      // c_t, or −1 for a step done in log space
                var logNorms = scratch.AsSpan(2 * chunk * k + 2 * chunk, chunk); // log c_t
                var logScratch = scratch.AsSpan(2 * chunk * k + 3 * chunk, chunk);
                var filtered = scratch.AsSpan(2 * chunk * k + 4 * chunk, k);     // α̂_{t−1}, probability space
                var predicted = scratch.AsSpan(2 * chunk * k + 4 * chunk + k, k);
                var previousLog = scratch.AsSpan(2 * chunk * k + 4 * chunk + 2 * k, k); // log α̂_{t−1}, decoded when needed
                var logLikelihood = new CompensatedSum();
                for (int c0 = 0; c0 < _length; c0 += ChunkSteps)
                {
                    int rows = Math.Min(ChunkSteps, _length - c0), sentinels = 0;
                    ShiftEmissions(emission.Slice(c0 * k, rows * k), rows, k, shift, shifted, scaled);
                    for (int s = 0; s < rows; s++)
                    {
                        int t = c0 + s;
                        if (double.IsNegativeInfinity(shift[s])) throw ImpossibleSequenceException.AtStep(t);
                        var stored = _logAlpha.AsSpan(t * k, k);
                        var d = shifted.Slice(s * k, k);
                        var e = scaled.Slice(s * k, k);
                        if (t == 0) _initial.AsSpan(0, k).CopyTo(predicted);
                        else Predict(filtered, predicted);
                        double c = 0;
                        bool decoded = false;
                        for (int j = 0; j < k; j++)
                        {
                            double p = predicted[j], u;
                            if (p >= TrustedInProbabilitySpace)
                            {
                                stored[j] = p;
                                u = p * e[j];
                            }
                            else
                            {
                                double logP;
                                if (t == 0) logP = LogOrMinusInfinity(_initial[j]);
                                else
                                {
                                    if (!decoded) DecodeLogRow(_logAlpha, t - 1, c0, shifted, norms, logNorms, previousLog);
                                    decoded = true;
                                    logP = ExactLogPredicted(j, previousLog);
                                }
                                stored[j] = logP;
                                sentinelPositions[sentinels] = s * k + j;
                                sentinelValues[sentinels++] = logP;
                                u = Math.Exp(logP + d[j]);
                            }
                            filtered[j] = u;
                            c += u;
                        }
                        if (c >= UnderflowThreshold)
                        {
                            norms[s] = c;
                            double inverse = 1 / c;
                            for (int j = 0; j < k; j++) filtered[j] *= inverse;
                        }
                        else
                        {
                            // log c_t = log Σ_k exp(log p_tk + ℓ_tk − m_t), exactly.
                            var terms = predicted; // p_t is not needed any more
                            double max = double.NegativeInfinity;
                            for (int j = 0; j < k; j++)
                            {
                                terms[j] = LogStored(stored[j]) + d[j];
                                max = Math.Max(max, terms[j]);
                            }
                            if (double.IsNegativeInfinity(max)) throw ImpossibleSequenceException.AtStep(t);
                            double sum = 0;
                            for (int j = 0; j < k; j++) sum += Math.Exp(terms[j] - max);
                            double logC = max + Math.Log(sum);
                            for (int j = 0; j < k; j++) filtered[j] = Math.Exp(terms[j] - logC);
                            norms[s] = -1;
                            logNorms[s] = logC;
                        }
                    }
                    FinishLogRows(_logAlpha.AsSpan(c0 * k, rows * k), rows, k, sentinelPositions.AsSpan(0, sentinels), sentinelValues.AsSpan(0, sentinels),
                        shifted, norms, logNorms, logScratch);
                    for (int s = 0; s < rows; s++)
                    {
                        logLikelihood.Add(shift[s]);
                        logLikelihood.Add(logNorms[s]);
                    }
                }
                return logLikelihood.Value;
            }
            finally
            {
                pool.Return(scratch);
                pool.Return(sentinelValues);
                ArrayPool<int>.Shared.Return(sentinelPositions);
            }
        }

        /// <summary>A stored entry's logarithm: a positive entry is a probability, a negative one (or −∞) already a logarithm.</summary>
        private static double LogStored(double stored) => stored > 0 ? Math.Log(stored) : stored;

        /// <summary>p = α̂ᵀA = Σ_i α̂(i) A_i· in probability space.</summary>
        private void Predict(ReadOnlySpan<double> filtered, Span<double> predicted)
        {
            int k = _states;
            predicted.Clear();
            for (int i = 0; i < k; i++)
                if (filtered[i] != 0) AddScaled(filtered[i], _transition.AsSpan(i * k, k), predicted);
        }

        /// <summary>A·w = Σ_j w_j (Aᵀ)_j· in probability space.</summary>
        private void Multiply(ReadOnlySpan<double> w, Span<double> product)
        {
            int k = _states;
            product.Clear();
            for (int j = 0; j < k; j++)
                if (w[j] != 0) AddScaled(w[j], _transposed.AsSpan(j * k, k), product);
        }

        /// <summary>
        /// The logarithms of row <paramref name="step"/> of a pass's array into <paramref name="destination"/>: the row as
        /// it is when the chunk (starting at <paramref name="chunkStart"/>, <paramref name="rows"/> rows) is finished (or
        /// the row lies outside it), else decoded like <see cref="FinishLogRows"/> does: log stored (or the sentinel)
        /// + shifted row (if given) − the step's log normaliser.
        /// </summary>
        private void DecodeLogRow(double[] array, int step, int chunkStart, ReadOnlySpan<double> shifted, ReadOnlySpan<double> norms,
            ReadOnlySpan<double> logNorms, Span<double> destination, int rows = int.MaxValue)
        {
            int k = _states, r = step - chunkStart;
            var stored = array.AsSpan(step * k, k);
            if (r < 0 || r >= rows) { stored.CopyTo(destination); return; }
            double logNorm = norms[r] > 0 ? Math.Log(norms[r]) : logNorms[r];
            for (int i = 0; i < k; i++)
                destination[i] = LogStored(stored[i]) + (shifted.IsEmpty ? 0 : shifted[r * k + i]) - logNorm;
        }

        /// <summary>log p_tj = log Σ_i exp(log α̂_{t−1}(i) + log A_ij) exactly (−∞ when no term is positive).</summary>
        private double ExactLogPredicted(int j, ReadOnlySpan<double> previousLog)
        {
            int k = _states;
            double max = double.NegativeInfinity;
            for (int i = 0; i < k; i++)
                if (_transition[i * k + j] > 0) max = Math.Max(max, previousLog[i] + _logTransition[i * k + j]);
            if (double.IsNegativeInfinity(max)) return max;
            double sum = 0;
            for (int i = 0; i < k; i++)
                if (_transition[i * k + j] > 0) sum += Math.Exp(previousLog[i] + _logTransition[i * k + j] - max);
            return max + Math.Log(sum);
        }

        /// <summary>
        /// The backward recursion (it does not need α): stores log β̂_t with β̂_T = 1 and β̂_t = s_t / max s_t,
        /// s_t(i) = Σ_j A_ij e_{t+1,j} β̂_{t+1}(j). As in the forward pass, rows hold s_t (entries ≥ 10⁻²⁵⁰) or exact logs
        /// at sentinel positions until the chunk's logarithms are taken. Returns −1, or the step t at which every β_t(i)
        /// vanished (impossible when the forward pass succeeds, so the caller reports it only then).
        /// </summary>
        public int Backward()
        {
            int k = _states, chunk = Math.Min(ChunkSteps, Math.Max(1, _length - 1));
            ReadOnlySpan<double> emission = Emission;
            var pool = ArrayPool<double>.Shared;
            double[] scratch = pool.Rent(2 * chunk * k + 4 * chunk + 4 * k);
            double[] sentinelValues = pool.Rent(chunk * k);
            int[] sentinelPositions = ArrayPool<int>.Shared.Rent(chunk * k);
            try
            {
                var shifted = scratch.AsSpan(0, chunk * k);            // ℓ_{t+1,j} − m_{t+1} (row s is step t = c0 + s)
                var scaled = scratch.AsSpan(chunk * k, chunk * k);     // e_{t+1,j}
                var shift = scratch.AsSpan(2 * chunk * k, chunk);
                var norms = scratch.AsSpan(2 * chunk * k + chunk, chunk);      // max_i s_t(i), or −1 for a step done in log space
                var logNorms = scratch.AsSpan(2 * chunk * k + 2 * chunk, chunk);
                var logScratch = scratch.AsSpan(2 * chunk * k + 3 * chunk, chunk);
                var next = scratch.AsSpan(2 * chunk * k + 4 * chunk, k);       // β̂_{t+1}, probability space
                var weights = scratch.AsSpan(2 * chunk * k + 4 * chunk + k, k);
                var followingLog = scratch.AsSpan(2 * chunk * k + 4 * chunk + 2 * k, k); // log β̂_{t+1}, decoded when needed
                var sums = scratch.AsSpan(2 * chunk * k + 4 * chunk + 3 * k, k);         // s_t
                _logBeta.AsSpan((_length - 1) * k, k).Clear();
                next.Fill(1);
                int steps = _length - 1; // t = 0 .. T − 2
                int lastChunk = steps == 0 ? -1 : (steps - 1) / ChunkSteps;
                for (int chunkIndex = lastChunk; chunkIndex >= 0; chunkIndex--)
                {
                    int c0 = chunkIndex * ChunkSteps, rows = Math.Min(ChunkSteps, steps - c0), sentinels = 0;
                    ShiftEmissions(emission.Slice((c0 + 1) * k, rows * k), rows, k, shift, shifted, scaled);
                    for (int s = rows - 1; s >= 0; s--)
                    {
                        int t = c0 + s;
                        if (double.IsNegativeInfinity(shift[s])) return t;
                        var stored = _logBeta.AsSpan(t * k, k);
                        var e = scaled.Slice(s * k, k);
                        for (int j = 0; j < k; j++) weights[j] = e[j] * next[j];
                        Multiply(weights, sums);
                        double norm = 0;
                        bool decoded = false;
                        for (int i = 0; i < k; i++)
                        {
                            double sum = sums[i];
                            if (sum >= TrustedInProbabilitySpace)
                            {
                                stored[i] = sum;
                                if (sum > norm) norm = sum;
                            }
                            else
                            {
                                if (!decoded) DecodeLogRow(_logBeta, t + 1, c0, ReadOnlySpan<double>.Empty, norms, logNorms, followingLog, rows);
                                decoded = true;
                                double logSum = ExactLogBackwardSum(i, shifted.Slice(s * k, k), followingLog);
                                stored[i] = logSum;
                                sentinelPositions[sentinels] = s * k + i;
                                sentinelValues[sentinels++] = logSum;
                            }
                        }
                        if (norm >= UnderflowThreshold)
                        {
                            norms[s] = norm;
                            double inverse = 1 / norm, logNorm = double.NaN;
                            for (int i = 0; i < k; i++)
                            {
                                if (stored[i] > 0) next[i] = stored[i] * inverse;
                                else
                                {
                                    if (double.IsNaN(logNorm)) logNorm = Math.Log(norm);
                                    next[i] = Math.Exp(stored[i] - logNorm);
                                }
                            }
                        }
                        else
                        {
                            double max = double.NegativeInfinity;
                            for (int i = 0; i < k; i++) max = Math.Max(max, LogStored(stored[i]));
                            if (double.IsNegativeInfinity(max)) return t;
                            for (int i = 0; i < k; i++) next[i] = Math.Exp(LogStored(stored[i]) - max);
                            norms[s] = -1;
                            logNorms[s] = max;
                        }
                    }
                    FinishLogRows(_logBeta.AsSpan(c0 * k, rows * k), rows, k, sentinelPositions.AsSpan(0, sentinels), sentinelValues.AsSpan(0, sentinels),
                        ReadOnlySpan<double>.Empty, norms, logNorms, logScratch);
                }
                return -1;
            }
            finally
            {
                pool.Return(scratch);
                pool.Return(sentinelValues);
                ArrayPool<int>.Shared.Return(sentinelPositions);
            }
        }

        /// <summary>
        /// log s_t(i) = log Σ_j exp(log A_ij + (ℓ_{t+1,j} − m_{t+1}) + log β̂_{t+1}(j)) exactly (−∞ when no term is positive).
        /// </summary>
        private double ExactLogBackwardSum(int i, ReadOnlySpan<double> shifted, ReadOnlySpan<double> followingLog)
        {
            int k = _states;
            double max = double.NegativeInfinity;
            for (int j = 0; j < k; j++)
                if (_transition[i * k + j] > 0) max = Math.Max(max, _logTransition[i * k + j] + shifted[j] + followingLog[j]);
            if (double.IsNegativeInfinity(max)) return max;
            double sum = 0;
            for (int j = 0; j < k; j++)
                if (_transition[i * k + j] > 0) sum += Math.Exp(_logTransition[i * k + j] + shifted[j] + followingLog[j] - max);
            return max + Math.Log(sum);
        }

        /// <summary>
        /// Smoothing of block b (steps [b·B, min(T, (b + 1)·B))), in sub-chunks of <see cref="ChunkSteps"/>: α̂ and the
        /// weights w in bulk, then per step γ_t into the buffer (the block's first row into <see cref="_firstRows"/>) and
        /// the outer products u_t w_tᵀ and u_t (w_t ∘ log w_t)ᵀ, u_t = α̂_t / Z_t, into G and L; at the block's end
        /// Σ_t ξ_t = A ∘ G, Σ_t Σ_ij ξ_ij log A_ij = Σ_ij A_ij log A_ij G_ij and Σ_t Σ_j c_tj log w_tj = Σ_ij A_ij L_ij.
        /// Σ_i γ_t(i) log (Aw)_i comes from one bulk logarithm per sub-chunk. Reads ℓ_{t+1} and log β̂_{t+1} of the next
        /// block's first row, which nobody writes during smoothing.
        /// </summary>
        public void Smooth(int block)
        {
            int k = _states, kk = k * k, t0 = block * BlockSteps, t1 = Math.Min(_length, t0 + BlockSteps), chunk = Math.Min(ChunkSteps, t1 - t0);
            var partial = _partials.AsSpan(block * PartialStride, PartialStride);
            var xiSums = partial[..kk]; // ξ of steps done in log space; A ∘ G is added at the end
            xiSums.Clear();
            var emission = Emission;
            double[] scratch = ArrayPool<double>.Shared.Rent(5 * chunk * k + 2 * kk + 2 * k);
            try
            {
                var alpha = scratch.AsSpan(0, chunk * k);
                var logWeights = scratch.AsSpan(chunk * k, chunk * k);
                var weights = scratch.AsSpan(2 * chunk * k, chunk * k);
                var mixed = scratch.AsSpan(3 * chunk * k, chunk * k);     // (Aw)_i, then its logarithm
                var marginals = scratch.AsSpan(4 * chunk * k, chunk * k); // γ_t(i) · Σ ξ_t, 0 where the step's term is already counted
                var outer = scratch.AsSpan(5 * chunk * k, kk);             // G = Σ_t u_t w_tᵀ
                var outerLog = scratch.AsSpan(5 * chunk * k + kk, kk);     // L = Σ_t u_t (w_t ∘ log w_t)ᵀ
                var weightedLog = scratch.AsSpan(5 * chunk * k + 2 * kk, k);
                var columns = scratch.AsSpan(5 * chunk * k + 2 * kk + k, k);
                outer.Clear();
                outerLog.Clear();
                var entropy = new CompensatedSum();
                for (int s0 = t0; s0 < t1; s0 += ChunkSteps)
                {
                    int s1 = Math.Min(t1, s0 + ChunkSteps), pairs = Math.Min(s1, _length - 1) - s0;
                    ReproducibleMath.Exp(_logAlpha.AsSpan(s0 * k, (s1 - s0) * k), alpha);
                    if (pairs > 0)
                    {
                        // log w for the steps s0 .. s0 + pairs − 1 reads rows s0 + 1 .. s0 + pairs of ℓ, before any of
                        // them is overwritten by γ (rows of later sub-chunks are written only after this).
                        var lw = logWeights[..(pairs * k)];
                        TensorPrimitives.Add(emission.Slice((s0 + 1) * k, pairs * k), _logBeta.AsSpan((s0 + 1) * k, pairs * k), lw);
                        for (int q = 0; q < pairs; q++)
                        {
                            var row = lw.Slice(q * k, k);
                            double max = double.NegativeInfinity;
                            foreach (var v in row) if (v > max) max = v;
                            if (double.IsNegativeInfinity(max)) throw ImpossibleSequenceException.AtStep(s0 + q + 1); // not reachable after a successful forward pass
                            for (int j = 0; j < k; j++) row[j] -= max;
                        }
                        ReproducibleMath.Exp(lw, weights[..(pairs * k)]);
                    }
                    for (int t = s0; t < s1; t++)
                    {
                        int q = t - s0;
                        var gamma = t == t0 ? _firstRows.AsSpan(block * k, k) : emission.Slice(t * k, k);
                        if (t == _length - 1)
                        {
                            // γ_T = α̂_T (β̂_T = 1).
                            var a = alpha.Slice(q * k, k);
                            double sum = 0;
                            foreach (var v in a) sum += v;
                            for (int j = 0; j < k; j++) gamma[j] = a[j] / sum;
                        }
                        else
                        {
                            double logSpaceTerms = PairStep(t, alpha.Slice(q * k, k), logWeights.Slice(q * k, k), weights.Slice(q * k, k),
                                mixed.Slice(q * k, k), marginals.Slice(q * k, k), outer, outerLog, weightedLog, columns, xiSums, gamma);
                            if (logSpaceTerms != 0) entropy.Add(logSpaceTerms);
                        }
                        if (t == 0)
                        {
                            double h = 0; // H(γ_1)
                            foreach (var g in gamma) if (g > 0) h -= g * Math.Log(g);
                            entropy.Add(h);
                        }
                    }
                    if (pairs > 0)
                    {
                        // Σ_t Σ_i γ_t(i) log (Aw)_i; a zero γ_t(i) has (Aw)_i ≥ 0, possibly 0: skip its term.
                        var logMixed = mixed[..(pairs * k)];
                        ReproducibleMath.Log(logMixed, logMixed);
                        double sum = 0;
                        var m = marginals[..(pairs * k)];
                        for (int i = 0; i < m.Length; i++) if (m[i] > 0) sum += m[i] * logMixed[i];
                        entropy.Add(sum);
                    }
                }
                double pairTerms = 0, columnTerms = 0;
                for (int i = 0; i < kk; i++)
                {
                    double a = _transition[i];
                    if (!(a > 0)) continue; // ξ_ij = 0 where A_ij = 0
                    double xi = a * outer[i];
                    xiSums[i] += xi;
                    pairTerms += xi * _logTransition[i];
                    columnTerms += a * outerLog[i];
                }
                entropy.Add(-pairTerms - columnTerms);
                partial[kk] = entropy.Value;
            }
            finally
            {
                ArrayPool<double>.Shared.Return(scratch);
            }
        }

        /// <summary>
        /// Step t &lt; T with a_i = α̂_t(i), (Aw)_i into <paramref name="mixed"/> and Z_t = Σ_i a_i (Aw)_i. Usually
        /// (Z_t ≥ 10⁻³⁰): u = a / Z_t, γ_t(i) = u_i (Aw)_i (the row sums of ξ_t, normalised) into <paramref name="gamma"/>
        /// and unnormalised into <paramref name="marginals"/> for the bulk Σ_i γ_t(i) log (Aw)_i, and u wᵀ, u (w ∘ log w)ᵀ
        /// added to <paramref name="outer"/> and <paramref name="outerLog"/>; returns 0. Otherwise the step is done in log
        /// space from log α̂_t: ξ_t into <paramref name="xiSums"/> directly, marginals 0, and its whole conditional entropy
        /// Σ_i γ_t(i) log (Aw)_i − Σ_ij ξ_ij log A_ij − Σ_j c_j log w_j returned.
        /// </summary>
        private double PairStep(int t, ReadOnlySpan<double> alpha, ReadOnlySpan<double> logWeights, ReadOnlySpan<double> weights,
            Span<double> mixed, Span<double> marginals, Span<double> outer, Span<double> outerLog, Span<double> weightedLog,
            Span<double> columns, Span<double> xiSums, Span<double> gamma)
        {
            int k = _states;
            Multiply(weights, mixed);
            double z = 0;
            for (int i = 0; i < k; i++) z += alpha[i] * mixed[i];
            double mass = 0;
            if (z >= UnderflowThreshold)
            {
                double inverse = 1 / z;
                for (int j = 0; j < k; j++) weightedLog[j] = weights[j] > 0 ? weights[j] * logWeights[j] : 0;
                for (int i = 0; i < k; i++)
                {
                    double u = alpha[i] * inverse, r = u * mixed[i];
                    marginals[i] = r;
                    mass += r;
                    if (u == 0) continue;
                    AddScaled(u, weights, outer.Slice(i * k, k));
                    AddScaled(u, weightedLog, outerLog.Slice(i * k, k));
                }
                double inverseMass = 1 / mass;
                for (int i = 0; i < k; i++) gamma[i] = marginals[i] * inverseMass;
                return 0;
            }

            var logAlpha = _logAlpha.AsSpan(t * k, k);
            double logZ = double.NegativeInfinity;
            for (int i = 0; i < k; i++)
                for (int j = 0; j < k; j++)
                    if (_transition[i * k + j] > 0) logZ = Math.Max(logZ, logAlpha[i] + _logTransition[i * k + j] + logWeights[j]);
            if (double.IsNegativeInfinity(logZ)) throw ImpossibleSequenceException.AtStep(t + 1); // not reachable after a successful forward pass
            double shift = logZ, total = 0;
            for (int i = 0; i < k; i++)
                for (int j = 0; j < k; j++)
                    if (_transition[i * k + j] > 0) total += Math.Exp(logAlpha[i] + _logTransition[i * k + j] + logWeights[j] - shift);
            logZ = shift + Math.Log(total);
            columns.Clear();
            double pairTerms = 0, rowTerms = 0;
            for (int i = 0; i < k; i++)
            {
                var sums = xiSums.Slice(i * k, k);
                double r = 0, rowMax = double.NegativeInfinity;
                for (int j = 0; j < k; j++)
                    if (_transition[i * k + j] > 0) rowMax = Math.Max(rowMax, _logTransition[i * k + j] + logWeights[j]);
                for (int j = 0; j < k; j++)
                {
                    if (!(_transition[i * k + j] > 0)) continue;
                    double xi = Math.Exp(logAlpha[i] + _logTransition[i * k + j] + logWeights[j] - logZ);
                    sums[j] += xi;
                    columns[j] += xi;
                    r += xi;
                    pairTerms += xi * _logTransition[i * k + j];
                }
                if (r > 0)
                {
                    // log (Aw)_i = log Σ_j exp(log A_ij + log w_j), exactly.
                    double s = 0;
                    for (int j = 0; j < k; j++)
                        if (_transition[i * k + j] > 0) s += Math.Exp(_logTransition[i * k + j] + logWeights[j] - rowMax);
                    rowTerms += r * (rowMax + Math.Log(s));
                }
                gamma[i] = r;
                mass += r;
                marginals[i] = 0; // this step's Σ_i γ_t(i) log (Aw)_i is in rowTerms already
            }
            double columnTerms = 0;
            for (int j = 0; j < k; j++)
                if (columns[j] > 0) columnTerms += columns[j] * logWeights[j];
            for (int i = 0; i < k; i++) gamma[i] /= mass;
            return rowTerms - pairTerms - columnTerms;
        }

        /// <summary>
        /// After every block: moves each block's first γ row into the buffer, adds weight · γ_1 and weight · Σ_t ξ_t
        /// (block partials merged in block order; entries with A_ij = 0 untouched) to the counts, and returns the entropy.
        /// </summary>
        public double Finish(Span<double> initialCounts, Span<double> transitionCounts, double weight)
        {
            int k = _states, kk = k * k;
            var emission = Emission;
            for (int b = 0; b < Blocks; b++) _firstRows.AsSpan(b * k, k).CopyTo(emission.Slice(b * BlockSteps * k, k));
            for (int j = 0; j < k; j++) initialCounts[j] += weight * emission[j];
            double[] totals = ArrayPool<double>.Shared.Rent(kk);
            try
            {
                var xi = totals.AsSpan(0, kk);
                xi.Clear();
                var entropy = new CompensatedSum();
                for (int b = 0; b < Blocks; b++)
                {
                    var partial = _partials.AsSpan(b * PartialStride, PartialStride);
                    for (int i = 0; i < kk; i++) xi[i] += partial[i];
                    entropy.Add(partial[kk]);
                }
                for (int i = 0; i < kk; i++)
                    if (_transition[i] > 0) transitionCounts[i] += weight * xi[i];
                return entropy.Value;
            }
            finally
            {
                ArrayPool<double>.Shared.Return(totals);
            }
        }

        /// <summary>Returns the pooled arrays.</summary>
        public void Dispose()
        {
            var pool = ArrayPool<double>.Shared;
            pool.Return(_initial);
            pool.Return(_transition);
            pool.Return(_transposed);
            pool.Return(_logTransition);
            pool.Return(_logAlpha);
            pool.Return(_logBeta);
            pool.Return(_firstRows);
            pool.Return(_partials);
        }
    }

    /// <summary>Neumaier's compensated sum: the error of n additions stays O(ε) instead of O(n ε).</summary>
    internal struct CompensatedSum
    {
        private double _sum, _compensation;

        /// <summary>Adds a finite x.</summary>
        public void Add(double x)
        {
            double t = _sum + x;
            _compensation += Math.Abs(_sum) >= Math.Abs(x) ? (_sum - t) + x : (x - t) + _sum;
            _sum = t;
        }

        /// <summary>The compensated total.</summary>
        public readonly double Value => _sum + _compensation;
    }
}
