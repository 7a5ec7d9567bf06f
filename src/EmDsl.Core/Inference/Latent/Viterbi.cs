using System.Buffers;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace EmDsl.Inference;

/// <summary>
/// The Viterbi decoder of a hidden Markov model with K states: the most probable state path
/// z* = argmax_z log π_{z_1} + Σ_{t&lt;T} log A_{z_t z_{t+1}} + Σ_t ℓ_{t,z_t}, by the max-product recursion in log space
/// δ_1(k) = log π_k + ℓ_1k, δ_t(j) = max_i (δ_{t−1}(i) + log A_ij) + ℓ_tj, with backpointers ψ_t(j) = argmax_i and
/// z*_T = argmax_k δ_T(k), z*_{t−1} = ψ_t(z*_t). Each δ_t is shifted so that its maximum is 0 (the shifts are summed
/// with compensation), which keeps the comparisons at full precision for any T.
/// </summary>
internal static class Viterbi
{
    /// <summary>
    /// Writes the most probable path to <paramref name="path"/>[0 .. T) and returns its value
    /// max_z log [π_{z_1} Π_t A_{z_t z_{t+1}} Π_t exp(ℓ_{t,z_t})]. <paramref name="logEmission"/> is the T × K row-major
    /// block of ℓ_tk (finite or −∞), <paramref name="initial"/> π (K) and <paramref name="transition"/> A (K × K,
    /// row-major); zeros are structural (log 0 = −∞). Ties, between predecessors and between final states, go to the
    /// lowest state index, so the result is deterministic. T = 0 returns 0.
    /// </summary>
    /// <exception cref="ArgumentException">A log-emission term is NaN or +∞, a probability is negative or not finite, or a span has the wrong length.</exception>
    /// <exception cref="ImpossibleSequenceException">Every path has probability zero (at the first step where every δ_t is −∞).</exception>
    public static double Decode(ReadOnlySpan<double> logEmission, int length, int states,
        ReadOnlySpan<double> initial, ReadOnlySpan<double> transition, Span<int> path)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(states, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (logEmission.Length < (long)length * states)
            throw new ArgumentException($"The log-emission block has {logEmission.Length} values, fewer than {length} steps × {states} states.", nameof(logEmission));
        if (path.Length < length) throw new ArgumentException($"The path has room for {path.Length} steps, fewer than {length}.", nameof(path));
        ForwardBackward.ValidateChain(initial, transition, states);
        if (length == 0) return 0;
        logEmission = logEmission[..(length * states)];
        ForwardBackward.ValidateLogEmissions(logEmission, states, nameof(logEmission));
        return states <= 256
            ? Decode<byte>(logEmission, length, states, initial, transition, path)
            : Decode<int>(logEmission, length, states, initial, transition, path);
    }

    /// <summary>The recursion with backpointers of type <typeparamref name="TIndex"/> ((T − 1) × K, pooled): bytes when K ≤ 256.</summary>
    private static double Decode<TIndex>(ReadOnlySpan<double> logEmission, int length, int k,
        ReadOnlySpan<double> initial, ReadOnlySpan<double> transition, Span<int> path)
        where TIndex : unmanaged, IBinaryInteger<TIndex>
    {
        double[] scratch = ArrayPool<double>.Shared.Rent(k * k + 2 * k);
        TIndex[] back = ArrayPool<TIndex>.Shared.Rent(Math.Max(1, (length - 1) * k));
        try
        {
            var logTransition = scratch.AsSpan(0, k * k);
            for (int i = 0; i < k * k; i++)
                logTransition[i] = transition[i] > 0 ? Math.Log(transition[i]) : double.NegativeInfinity;
            var delta = scratch.AsSpan(k * k, k);
            var next = scratch.AsSpan(k * k + k, k);
            var total = new ForwardBackward.CompensatedSum();

            for (int j = 0; j < k; j++)
                delta[j] = (initial[j] > 0 ? Math.Log(initial[j]) : double.NegativeInfinity) + logEmission[j];
            total.Add(Normalize(delta, 0));
            for (int t = 1; t < length; t++)
            {
                Step(delta, logTransition, logEmission.Slice(t * k, k), next, back.AsSpan((t - 1) * k, k));
                total.Add(Normalize(next, t));
                var swap = delta;
                delta = next;
                next = swap;
            }

            int state = 0;
            for (int j = 1; j < k; j++)
                if (delta[j] > delta[state]) state = j;
            double value = total.Value + delta[state]; // delta[state] is 0 after the shift
            path[length - 1] = state;
            for (int t = length - 1; t > 0; t--)
            {
                state = int.CreateTruncating(back[(t - 1) * k + state]);
                path[t - 1] = state;
            }
            return value;
        }
        finally
        {
            ArrayPool<double>.Shared.Return(scratch);
            ArrayPool<TIndex>.Shared.Return(back);
        }
    }

    /// <summary>
    /// next_j = max_i (δ_i + log A_ij) + ℓ_j and pointers_j = the first maximising i, for four states j at a time: the
    /// predecessors are scanned in increasing order and a candidate replaces the best only if strictly greater, so ties
    /// go to the lowest index (the same rule as the scalar tail). Predecessors with δ_i = −∞ cannot win and are skipped.
    /// </summary>
    private static void Step<TIndex>(ReadOnlySpan<double> delta, ReadOnlySpan<double> logTransition, ReadOnlySpan<double> emission,
        Span<double> next, Span<TIndex> pointers)
        where TIndex : unmanaged, IBinaryInteger<TIndex>
    {
        int k = delta.Length, j = 0;
        ref double logA = ref MemoryMarshal.GetReference(logTransition);
        Span<double> argmaxLanes = stackalloc double[4];
        for (; j + 4 <= k; j += 4)
        {
            var best = Vector256.Create(double.NegativeInfinity);
            var argmax = Vector256<double>.Zero;
            for (int i = 0; i < k; i++)
            {
                double d = delta[i];
                if (double.IsNegativeInfinity(d)) continue;
                var candidate = Vector256.Create(d) + Vector256.LoadUnsafe(ref logA, (nuint)(i * k + j));
                var better = Vector256.GreaterThan(candidate, best);
                best = Vector256.ConditionalSelect(better, candidate, best);
                argmax = Vector256.ConditionalSelect(better, Vector256.Create((double)i), argmax);
            }
            (best + Vector256.Create(emission.Slice(j, 4))).CopyTo(next.Slice(j, 4));
            argmax.CopyTo(argmaxLanes);
            for (int lane = 0; lane < 4; lane++) pointers[j + lane] = TIndex.CreateTruncating((int)argmaxLanes[lane]);
        }
        for (; j < k; j++)
        {
            double best = double.NegativeInfinity;
            int argmax = 0;
            for (int i = 0; i < k; i++)
            {
                double candidate = delta[i] + logTransition[i * k + j];
                if (candidate > best) { best = candidate; argmax = i; }
            }
            next[j] = best + emission[j];
            pointers[j] = TIndex.CreateTruncating(argmax);
        }
    }

    /// <summary>Subtracts max_k δ(k) from δ and returns it; throws when every entry is −∞ (no path reaches step t).</summary>
    private static double Normalize(Span<double> delta, int step)
    {
        double max = double.NegativeInfinity;
        foreach (var d in delta) if (d > max) max = d;
        if (double.IsNegativeInfinity(max)) throw ImpossibleSequenceException.AtStep(step);
        for (int j = 0; j < delta.Length; j++) delta[j] -= max;
        return max;
    }
}
