using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EmDsl.Numerics;

/// <summary>
/// Log-space helpers that stay finite where naive formulas overflow. (TensorPrimitives.SoftMax does not
/// subtract the maximum and returns NaN for inputs like [1000, 1001]; these always shift first.)
/// </summary>
public static class LogSpace
{
    /// <summary>log Σ exp(v): −∞ for an empty span or when every entry is −∞; +∞ if any entry is +∞.</summary>
    public static double LogSumExp(ReadOnlySpan<double> values)
    {
        if (values.IsEmpty) return double.NegativeInfinity;
        double max = TensorPrimitives.Max(values);
        if (double.IsNegativeInfinity(max) || double.IsPositiveInfinity(max) || double.IsNaN(max)) return max;
        double sum = 0;
        foreach (var v in values) sum += Math.Exp(v - max);
        return max + Math.Log(sum);
    }

    /// <summary>
    /// Replaces each row of the rows×cols matrix <paramref name="logits"/> by its softmax (computed after
    /// subtracting the row maximum) and writes the row's log-sum-exp to <paramref name="logNormalizers"/>.
    /// A row whose entries are all −∞ gets normaliser −∞ and is left as zeros; a row with +∞ entries gets
    /// normaliser +∞ and shares its mass equally among them (the limit of the softmax); a row containing NaN
    /// gets normaliser NaN, which the caller must treat as an error.
    /// </summary>
    public static void SoftmaxRowsInPlace(Span<double> logits, int rows, int cols, Span<double> logNormalizers) =>
        SoftmaxRowsInPlace(logits, rows, cols, logNormalizers, Span<double>.Empty);

    /// <summary>
    /// <see cref="SoftmaxRowsInPlace(Span{double}, int, int, Span{double})"/>, and when <paramref name="entropies"/>
    /// is not empty also each row's entropy −Σ_j p_j log p_j (0·log 0 = 0), from the shifted logits it already has:
    /// with v_j = x_j − max and s = Σ exp(v_j), −Σ p_j log p_j = log s − Σ_j p_j v_j, so no logarithm per entry. The
    /// probabilities and normalisers are bit for bit those of the overload without entropies. A row whose
    /// normaliser is not finite gets entropy 0.
    /// </summary>
    public static void SoftmaxRowsInPlace(Span<double> logits, int rows, int cols, Span<double> logNormalizers, Span<double> entropies)
    {
        if (logits.Length < rows * cols) throw new ArgumentException("logits is smaller than rows×cols.", nameof(logits));
        if (logNormalizers.Length < rows) throw new ArgumentException("logNormalizers is shorter than rows.", nameof(logNormalizers));
        bool entropy = !entropies.IsEmpty;
        if (entropy && entropies.Length < rows) throw new ArgumentException("entropies is shorter than rows.", nameof(entropies));
        if (cols < 32)
        {
            if (cols >= 8 && Avx512F.IsSupported) SoftmaxEightRowsAtATime(logits, rows, cols, logNormalizers, entropies);
            else if (Avx.IsSupported) SoftmaxFourRowsAtATime(logits, rows, cols, logNormalizers, entropies);
            else SoftmaxShortRowsOneAtATime(logits, 0, rows, cols, logNormalizers, entropies);
            return;
        }
        double[]? shifted = entropy ? new double[cols] : null;
        for (int i = 0; i < rows; i++)
        {
            var row = logits.Slice(i * cols, cols);
            double max = TensorPrimitives.Max(row);
            if (!double.IsFinite(max))
            {
                logNormalizers[i] = max;
                if (entropy) entropies[i] = 0;
                if (double.IsNegativeInfinity(max)) row.Clear();
                else if (double.IsPositiveInfinity(max)) IndicatorOfPositiveInfinity(row);
                continue;
            }
            TensorPrimitives.Subtract(row, max, row);
            if (entropy) row.CopyTo(shifted);
            ReproducibleMath.Exp(row, row); // TensorPrimitives.Exp's last bits change when the JIT recompiles it
            double sum = TensorPrimitives.Sum(row);
            TensorPrimitives.Divide(row, sum, row);
            logNormalizers[i] = max + Math.Log(sum);
            if (entropy)
            {
                double pv = 0;
                for (int j = 0; j < cols; j++) if (row[j] > 0) pv += row[j] * shifted![j];
                entropies[i] = Math.Log(sum) - pv;
            }
        }
    }

    /// <summary>
    /// The same for rows shorter than a few vectors (a mixture's K), rows firstRow to firstRow + rowCount − 1, where per-row calls of the vectorised primitives
    /// would cost more than the arithmetic. Each row is shifted by its maximum and exponentiated in place, a vector at a
    /// time (ReproducibleMath's kernel: the same bits on every thread), its last partial vector padded with −∞ (whose
    /// exp is exactly 0), while its sum and Σ e·v accumulate; a block's sums are then logged by one call of
    /// ReproducibleMath.Log and its rows scaled. Each row is summed in its own order, so rows are independent of the
    /// block they fall in.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void SoftmaxShortRowsOneAtATime(Span<double> logits, int firstRow, int rowCount, int cols, Span<double> logNormalizers,
        Span<double> entropies)
    {
        bool entropy = !entropies.IsEmpty;
        int end = firstRow + rowCount;
        int vectors = cols / 4 * 4, rest = cols - vectors;
        const int block = 64;
        // Per row of a block: the sum, its logarithm, Σ e·v, the maximum and whether the row is special (NaN or ±∞).
        Span<double> buffer = stackalloc double[320]; // 5 × block
        var sums = buffer.Slice(0, block);
        var logSums = buffer.Slice(block, block);
        var evs = buffer.Slice(2 * block, block);
        var maxima = buffer.Slice(3 * block, block);
        var special = buffer.Slice(4 * block, block);
        ref double logit0 = ref MemoryMarshal.GetReference(logits);
        var floor = Vector256.Create(-746.0);
        for (int first = firstRow; first < end; first += block)
        {
            int n = Math.Min(block, end - first);
            for (int r = 0; r < n; r++)
            {
                int i = first + r;
                ref double row = ref Unsafe.Add(ref logit0, (nint)i * cols);
                double max = double.NegativeInfinity;
                bool nan = false;
                if (vectors > 0)
                {
                    var m = Vector256.LoadUnsafe(ref row);
                    var ok = Vector256.Equals(m, m);
                    for (int j = 4; j < vectors; j += 4)
                    {
                        var x = Vector256.LoadUnsafe(ref row, (nuint)j);
                        m = Vector256.Max(m, x);
                        ok &= Vector256.Equals(x, x);
                    }
                    nan = !Vector256.EqualsAll(ok.AsUInt64(), Vector256<ulong>.AllBitsSet);
                    max = Math.Max(Math.Max(m[0], m[1]), Math.Max(m[2], m[3]));
                }
                for (int j = vectors; j < cols; j++)
                {
                    double x = Unsafe.Add(ref row, j);
                    if (x > max) max = x;
                    nan |= double.IsNaN(x);
                }
                special[r] = nan || !double.IsFinite(max) ? 1 : 0;
                if (special[r] != 0)
                {
                    var whole = logits.Slice(i * cols, cols);
                    sums[r] = 1;
                    logNormalizers[i] = nan ? double.NaN : max;
                    if (entropy) entropies[i] = nan ? double.NaN : 0;
                    if (nan) continue;
                    if (double.IsNegativeInfinity(max)) whole.Clear();
                    else IndicatorOfPositiveInfinity(whole);
                    continue;
                }
                maxima[r] = max;
                var shift = Vector256.Create(max);
                // e^−∞ is exactly 0 (the kernel clamps its argument), and so is e · max(v, −746) there: no 0·(−∞).
                var sumV = Vector256<double>.Zero;
                var evV = Vector256<double>.Zero;
                for (int j = 0; j < vectors; j += 4)
                {
                    var v = Vector256.LoadUnsafe(ref row, (nuint)j) - shift;
                    var e = ReproducibleMath.ExpLanes(v);
                    e.StoreUnsafe(ref row, (nuint)j);
                    sumV += e;
                    evV += e * Vector256.MaxNative(v, floor);
                }
                if (rest > 0)
                {
                    ref double last = ref Unsafe.Add(ref row, vectors);
                    var v = Vector256.Create(last - max,
                        rest > 1 ? Unsafe.Add(ref last, 1) - max : double.NegativeInfinity,
                        rest > 2 ? Unsafe.Add(ref last, 2) - max : double.NegativeInfinity,
                        double.NegativeInfinity);
                    var e = ReproducibleMath.ExpLanes(v);
                    last = e.GetElement(0);
                    if (rest > 1) Unsafe.Add(ref last, 1) = e.GetElement(1);
                    if (rest > 2) Unsafe.Add(ref last, 2) = e.GetElement(2);
                    sumV += e;
                    evV += e * Vector256.MaxNative(v, floor);
                }
                sums[r] = (sumV[0] + sumV[1]) + (sumV[2] + sumV[3]);
                evs[r] = (evV[0] + evV[1]) + (evV[2] + evV[3]);
            }
            ReproducibleMath.Log(sums.Slice(0, n), logSums);
            for (int r = 0; r < n; r++)
            {
                if (special[r] != 0) continue;
                int i = first + r;
                ref double row = ref Unsafe.Add(ref logit0, (nint)i * cols);
                double inv = 1 / sums[r];
                var scale = Vector256.Create(inv);
                for (int j = 0; j < vectors; j += 4) (Vector256.LoadUnsafe(ref row, (nuint)j) * scale).StoreUnsafe(ref row, (nuint)j);
                for (int j = vectors; j < cols; j++) Unsafe.Add(ref row, j) *= inv;
                logNormalizers[i] = maxima[r] + logSums[r];
                if (entropy) entropies[i] = logSums[r] - evs[r] * inv;
            }
        }
    }

    /// <summary>
    /// <see cref="SoftmaxShortRowsOneAtATime"/> four rows at a time, with the same bits: the four rows' columns are
    /// transposed (4 × 4 blocks, in registers) into vectors that hold one column of the four rows, so the maximum, the
    /// shift, exp, the sums, the scaling, the logarithm of the sums and the entropy are all lane-wise, with no
    /// horizontal reduction per row. Column j is added into the accumulator j mod 4, which is the lane the one-row code
    /// adds it into, and the four accumulators are added as that code adds its lanes, so each row's sum is formed in the
    /// same order. Groups of four rows go eight at a time (32 rows) through one exp call in ReproducibleMath's own loop;
    /// the sums' logarithms wait until 64 groups (256 rows) have their sums, and go through one log call, whose long
    /// chains (a division and an 11-step polynomial) then overlap 32 vectors deep instead of 4. A group with a NaN or an
    /// infinite maximum, and the last rows mod 4, go to the one-row code.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization), SkipLocalsInit] // every buffer entry is written before it is read
    internal static void SoftmaxFourRowsAtATime(Span<double> logits, int rows, int cols, Span<double> logNormalizers, Span<double> entropies)
    {
        const int groups = 8, room = 4 * 32; // cols < 32: a group's columns fill at most 4 · 31 doubles
        const int logGroups = 64;           // groups whose sums are logged together
        bool entropy = !entropies.IsEmpty;
        int vectors = cols / 4 * 4, quads = rows / 4 * 4, groupSize = 4 * cols;
        // Per group g of a block of eight at g · 4 cols: column j of its four rows at 4j, then shifted by their maxima; exps likewise.
        // Per group g of the 64 whose sums are logged together, at 4g: maxima, sums, (Σ e·v)/sum, the sums' logarithms, and whether it is special.
        Span<double> buffer = stackalloc double[3136]; // 2 · groups · room + 4 · 4 · logGroups + logGroups
        var shifted = buffer.Slice(0, groups * room);
        var exps = buffer.Slice(groups * room, groups * room);
        int at = 2 * groups * room;
        var maxima = buffer.Slice(at, 4 * logGroups);
        var sums = buffer.Slice(at + 4 * logGroups, 4 * logGroups);
        var evs = buffer.Slice(at + 8 * logGroups, 4 * logGroups);
        var logSums = buffer.Slice(at + 12 * logGroups, 4 * logGroups);
        var special = buffer.Slice(at + 16 * logGroups, logGroups); // 1 where the group goes to the one-row code
        ref double shifted0 = ref MemoryMarshal.GetReference(shifted);
        ref double exp0 = ref MemoryMarshal.GetReference(exps);
        ref double max0 = ref MemoryMarshal.GetReference(maxima);
        ref double sum0 = ref MemoryMarshal.GetReference(sums);
        ref double ev0 = ref MemoryMarshal.GetReference(evs);
        ref double logSum0 = ref MemoryMarshal.GetReference(logSums);
        ref double logit0 = ref MemoryMarshal.GetReference(logits);
        ref double normalizer0 = ref MemoryMarshal.GetReference(logNormalizers);
        ref double entropy0 = ref MemoryMarshal.GetReference(entropies);
        var floor = Vector256.Create(-746.0);
        var infinity = Vector256.Create(double.PositiveInfinity);
        nuint stride = (nuint)cols;
        for (int logFirst = 0; logFirst < quads; logFirst += 4 * logGroups)
        {
            int logCount = Math.Min(logGroups, (quads - logFirst) / 4);
            for (int block = 0; block < logCount; block += groups)
            {
                int first = logFirst + 4 * block, count = Math.Min(groups, logCount - block);
                for (int g = 0; g < count; g++)
                {
                    ref double row0 = ref Unsafe.Add(ref logit0, (nint)(first + 4 * g) * cols);
                    ref double column0 = ref Unsafe.Add(ref shifted0, g * groupSize);
                    var max = Vector256.Create(double.NegativeInfinity);
                    var ok = Vector256<double>.AllBitsSet;
                    for (int j = 0; j < vectors; j += 4)
                    {
                        var a = Vector256.LoadUnsafe(ref row0, (nuint)j);
                        var b = Vector256.LoadUnsafe(ref row0, stride + (nuint)j);
                        var c = Vector256.LoadUnsafe(ref row0, 2 * stride + (nuint)j);
                        var d = Vector256.LoadUnsafe(ref row0, 3 * stride + (nuint)j);
                        Transpose(ref a, ref b, ref c, ref d);
                        ok &= Vector256.Equals(a, a) & Vector256.Equals(b, b) & Vector256.Equals(c, c) & Vector256.Equals(d, d);
                        max = Vector256.MaxNative(max, Vector256.MaxNative(Vector256.MaxNative(a, b), Vector256.MaxNative(c, d)));
                        a.StoreUnsafe(ref column0, (nuint)(4 * j));
                        b.StoreUnsafe(ref column0, (nuint)(4 * j + 4));
                        c.StoreUnsafe(ref column0, (nuint)(4 * j + 8));
                        d.StoreUnsafe(ref column0, (nuint)(4 * j + 12));
                    }
                    for (int j = vectors; j < cols; j++)
                    {
                        var a = Vector256.Create(Unsafe.Add(ref row0, j), Unsafe.Add(ref row0, (nint)stride + j),
                            Unsafe.Add(ref row0, 2 * (nint)stride + j), Unsafe.Add(ref row0, 3 * (nint)stride + j));
                        ok &= Vector256.Equals(a, a);
                        max = Vector256.MaxNative(max, a);
                        a.StoreUnsafe(ref column0, (nuint)(4 * j));
                    }
                    ok &= Vector256.LessThan(Vector256.Abs(max), infinity);
                    special[block + g] = Vector256.EqualsAll(ok.AsUInt64(), Vector256<ulong>.AllBitsSet) ? 0 : 1;
                    if (special[block + g] != 0) max = Vector256<double>.Zero; // its buffers are exponentiated but not used
                    max.StoreUnsafe(ref max0, (nuint)(4 * (block + g)));
                    for (int j = 0; j < cols; j++)
                        (Vector256.LoadUnsafe(ref column0, (nuint)(4 * j)) - max).StoreUnsafe(ref column0, (nuint)(4 * j));
                }
                ReproducibleMath.ExpVectors(ref shifted0, ref exp0, count * groupSize);
                for (int g = 0; g < count; g++)
                {
                    ref double v0 = ref Unsafe.Add(ref shifted0, g * groupSize);
                    ref double e0 = ref Unsafe.Add(ref exp0, g * groupSize);
                    Vector256<double> s0 = default, s1 = default, s2 = default, s3 = default;
                    Vector256<double> w0 = default, w1 = default, w2 = default, w3 = default;
                    for (int j = 0; j < cols; j += 4)
                    {
                        nuint o = (nuint)(4 * j);
                        var x = Vector256.LoadUnsafe(ref e0, o);
                        s0 += x;
                        w0 += x * Vector256.MaxNative(Vector256.LoadUnsafe(ref v0, o), floor);
                        if (j + 1 == cols) break;
                        x = Vector256.LoadUnsafe(ref e0, o + 4);
                        s1 += x;
                        w1 += x * Vector256.MaxNative(Vector256.LoadUnsafe(ref v0, o + 4), floor);
                        if (j + 2 == cols) break;
                        x = Vector256.LoadUnsafe(ref e0, o + 8);
                        s2 += x;
                        w2 += x * Vector256.MaxNative(Vector256.LoadUnsafe(ref v0, o + 8), floor);
                        if (j + 3 == cols) break;
                        x = Vector256.LoadUnsafe(ref e0, o + 12);
                        s3 += x;
                        w3 += x * Vector256.MaxNative(Vector256.LoadUnsafe(ref v0, o + 12), floor);
                    }
                    var sum = (s0 + s1) + (s2 + s3);
                    nuint slot = (nuint)(4 * (block + g));
                    sum.StoreUnsafe(ref sum0, slot);
                    if (special[block + g] != 0) continue; // its rows go to the one-row code once the block's logarithms are taken
                    var inv = Vector256<double>.One / sum;
                    if (entropy) (((w0 + w1) + (w2 + w3)) * inv).StoreUnsafe(ref ev0, slot);
                    ref double row0 = ref Unsafe.Add(ref logit0, (nint)(first + 4 * g) * cols);
                    for (int j = 0; j < vectors; j += 4)
                    {
                        var a = Vector256.LoadUnsafe(ref e0, (nuint)(4 * j)) * inv;
                        var b = Vector256.LoadUnsafe(ref e0, (nuint)(4 * j + 4)) * inv;
                        var c = Vector256.LoadUnsafe(ref e0, (nuint)(4 * j + 8)) * inv;
                        var d = Vector256.LoadUnsafe(ref e0, (nuint)(4 * j + 12)) * inv;
                        Transpose(ref a, ref b, ref c, ref d);
                        a.StoreUnsafe(ref row0, (nuint)j);
                        b.StoreUnsafe(ref row0, stride + (nuint)j);
                        c.StoreUnsafe(ref row0, 2 * stride + (nuint)j);
                        d.StoreUnsafe(ref row0, 3 * stride + (nuint)j);
                    }
                    for (int j = vectors; j < cols; j++)
                    {
                        var a = Vector256.LoadUnsafe(ref e0, (nuint)(4 * j)) * inv;
                        Unsafe.Add(ref row0, j) = a.GetElement(0);
                        Unsafe.Add(ref row0, (nint)stride + j) = a.GetElement(1);
                        Unsafe.Add(ref row0, 2 * (nint)stride + j) = a.GetElement(2);
                        Unsafe.Add(ref row0, 3 * (nint)stride + j) = a.GetElement(3);
                    }
                }
            }
            // The sums' logarithms, all 64 groups' in one call (independent chains); a special group's sum is that of its zeroed shift, finite.
            ReproducibleMath.LogVectors(ref sum0, ref logSum0, 4 * logCount);
            for (int g = 0; g < logCount; g++)
            {
                int i = logFirst + 4 * g;
                if (special[g] != 0)
                {
                    SoftmaxShortRowsOneAtATime(logits, i, 4, cols, logNormalizers, entropies);
                    continue;
                }
                var logSum = Vector256.LoadUnsafe(ref logSum0, (nuint)(4 * g));
                (Vector256.LoadUnsafe(ref max0, (nuint)(4 * g)) + logSum).StoreUnsafe(ref normalizer0, (nuint)i);
                if (entropy) (logSum - Vector256.LoadUnsafe(ref ev0, (nuint)(4 * g))).StoreUnsafe(ref entropy0, (nuint)i);
            }
        }
        if (quads < rows) SoftmaxShortRowsOneAtATime(logits, quads, rows - quads, cols, logNormalizers, entropies);
    }

    /// <summary>
    /// <see cref="SoftmaxFourRowsAtATime"/> eight rows at a time in 512-bit vectors (K ≥ 8, where the processor has
    /// AVX-512), with the same bits as the one-row code: 8 × 8 blocks of the eight rows are transposed in registers, so
    /// each vector holds one column of eight rows; column j goes into the accumulator j mod 4, as there. It halves the
    /// instructions per row of the four-row code (the softmax was the largest part of a diagonal iteration). The
    /// columns K mod 8 are gathered lane by lane; the last rows mod 8, and groups with a NaN or an infinite maximum, go
    /// to the one-row code.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization), SkipLocalsInit] // every buffer entry is written before it is read
    internal static void SoftmaxEightRowsAtATime(Span<double> logits, int rows, int cols, Span<double> logNormalizers, Span<double> entropies)
    {
        const int groups = 8, room = 8 * 32; // cols < 32: a group's columns fill at most 8 · 31 doubles
        const int logGroups = 32;           // groups whose sums are logged together (256 rows)
        if (cols < 8 || cols >= 32 || logits.Length < rows * cols || logNormalizers.Length < rows || (!entropies.IsEmpty && entropies.Length < rows))
            throw new ArgumentException("SoftmaxEightRowsAtATime: 8 ≤ cols < 32 and buffers of rows × cols and rows.");
        bool entropy = !entropies.IsEmpty;
        int octets = rows / 8 * 8, whole = cols / 8 * 8, groupSize = 8 * cols;
        // Per group g of a block of eight at g · 8 cols: column j of its eight rows at 8j, then shifted by their maxima; exps likewise.
        // Per group g of the 32 whose sums are logged together, at 8g: maxima, sums, (Σ e·v)/sum, the sums' logarithms; and whether it is special.
        Span<double> buffer = stackalloc double[5152]; // 2 · groups · room + 4 · 8 · logGroups + logGroups
        var shifted = buffer.Slice(0, groups * room);
        var exps = buffer.Slice(groups * room, groups * room);
        int at = 2 * groups * room;
        var maxima = buffer.Slice(at, 8 * logGroups);
        var sums = buffer.Slice(at + 8 * logGroups, 8 * logGroups);
        var evs = buffer.Slice(at + 16 * logGroups, 8 * logGroups);
        var logSums = buffer.Slice(at + 24 * logGroups, 8 * logGroups);
        var special = buffer.Slice(at + 32 * logGroups, logGroups);
        ref double shifted0 = ref MemoryMarshal.GetReference(shifted);
        ref double exp0 = ref MemoryMarshal.GetReference(exps);
        ref double max0 = ref MemoryMarshal.GetReference(maxima);
        ref double sum0 = ref MemoryMarshal.GetReference(sums);
        ref double ev0 = ref MemoryMarshal.GetReference(evs);
        ref double logSum0 = ref MemoryMarshal.GetReference(logSums);
        ref double logit0 = ref MemoryMarshal.GetReference(logits);
        ref double normalizer0 = ref MemoryMarshal.GetReference(logNormalizers);
        ref double entropy0 = ref MemoryMarshal.GetReference(entropies);
        var floor = Vector512.Create(-746.0);
        var infinity = Vector512.Create(double.PositiveInfinity);
        nuint stride = (nuint)cols;
        for (int logFirst = 0; logFirst < octets; logFirst += 8 * logGroups)
        {
            int logCount = Math.Min(logGroups, (octets - logFirst) / 8);
            for (int block = 0; block < logCount; block += groups)
            {
                int first = logFirst + 8 * block, count = Math.Min(groups, logCount - block);
                for (int g = 0; g < count; g++)
                {
                    ref double row0 = ref Unsafe.Add(ref logit0, (nint)(first + 8 * g) * cols);
                    ref double column0 = ref Unsafe.Add(ref shifted0, g * groupSize);
                    var max = Vector512.Create(double.NegativeInfinity);
                    var ok = Vector512<double>.AllBitsSet;
                    for (int j = 0; j < whole; j += 8)
                    {
                        var c0 = Vector512.LoadUnsafe(ref row0, (nuint)j);
                        var c1 = Vector512.LoadUnsafe(ref row0, stride + (nuint)j);
                        var c2 = Vector512.LoadUnsafe(ref row0, 2 * stride + (nuint)j);
                        var c3 = Vector512.LoadUnsafe(ref row0, 3 * stride + (nuint)j);
                        var c4 = Vector512.LoadUnsafe(ref row0, 4 * stride + (nuint)j);
                        var c5 = Vector512.LoadUnsafe(ref row0, 5 * stride + (nuint)j);
                        var c6 = Vector512.LoadUnsafe(ref row0, 6 * stride + (nuint)j);
                        var c7 = Vector512.LoadUnsafe(ref row0, 7 * stride + (nuint)j);
                        Transpose(ref c0, ref c1, ref c2, ref c3, ref c4, ref c5, ref c6, ref c7);
                        ok &= (Vector512.Equals(c0, c0) & Vector512.Equals(c1, c1)) & (Vector512.Equals(c2, c2) & Vector512.Equals(c3, c3))
                            & (Vector512.Equals(c4, c4) & Vector512.Equals(c5, c5)) & (Vector512.Equals(c6, c6) & Vector512.Equals(c7, c7));
                        max = Vector512.MaxNative(max, Vector512.MaxNative(Vector512.MaxNative(Vector512.MaxNative(c0, c1), Vector512.MaxNative(c2, c3)),
                            Vector512.MaxNative(Vector512.MaxNative(c4, c5), Vector512.MaxNative(c6, c7))));
                        ref double to = ref Unsafe.Add(ref column0, 8 * j);
                        c0.StoreUnsafe(ref to);
                        c1.StoreUnsafe(ref to, 8);
                        c2.StoreUnsafe(ref to, 16);
                        c3.StoreUnsafe(ref to, 24);
                        c4.StoreUnsafe(ref to, 32);
                        c5.StoreUnsafe(ref to, 40);
                        c6.StoreUnsafe(ref to, 48);
                        c7.StoreUnsafe(ref to, 56);
                    }
                    for (int j = whole; j < cols; j++)
                    {
                        var a = Vector512.Create(Unsafe.Add(ref row0, j), Unsafe.Add(ref row0, (nint)stride + j),
                            Unsafe.Add(ref row0, 2 * (nint)stride + j), Unsafe.Add(ref row0, 3 * (nint)stride + j),
                            Unsafe.Add(ref row0, 4 * (nint)stride + j), Unsafe.Add(ref row0, 5 * (nint)stride + j),
                            Unsafe.Add(ref row0, 6 * (nint)stride + j), Unsafe.Add(ref row0, 7 * (nint)stride + j));
                        ok &= Vector512.Equals(a, a);
                        max = Vector512.MaxNative(max, a);
                        a.StoreUnsafe(ref column0, (nuint)(8 * j));
                    }
                    ok &= Vector512.LessThan(Vector512.Abs(max), infinity);
                    special[block + g] = Vector512.EqualsAll(ok.AsUInt64(), Vector512<ulong>.AllBitsSet) ? 0 : 1;
                    if (special[block + g] != 0) max = Vector512<double>.Zero; // its buffers are exponentiated but not used
                    max.StoreUnsafe(ref max0, (nuint)(8 * (block + g)));
                    for (int j = 0; j < cols; j++)
                        (Vector512.LoadUnsafe(ref column0, (nuint)(8 * j)) - max).StoreUnsafe(ref column0, (nuint)(8 * j));
                }
                ReproducibleMath.ExpVectors(ref shifted0, ref exp0, count * groupSize);
                for (int g = 0; g < count; g++)
                {
                    ref double v0 = ref Unsafe.Add(ref shifted0, g * groupSize);
                    ref double e0 = ref Unsafe.Add(ref exp0, g * groupSize);
                    Vector512<double> s0 = default, s1 = default, s2 = default, s3 = default;
                    Vector512<double> w0 = default, w1 = default, w2 = default, w3 = default;
                    for (int j = 0; j < cols; j += 4)
                    {
                        nuint o = (nuint)(8 * j);
                        var x = Vector512.LoadUnsafe(ref e0, o);
                        s0 += x;
                        w0 += x * Vector512.MaxNative(Vector512.LoadUnsafe(ref v0, o), floor);
                        if (j + 1 == cols) break;
                        x = Vector512.LoadUnsafe(ref e0, o + 8);
                        s1 += x;
                        w1 += x * Vector512.MaxNative(Vector512.LoadUnsafe(ref v0, o + 8), floor);
                        if (j + 2 == cols) break;
                        x = Vector512.LoadUnsafe(ref e0, o + 16);
                        s2 += x;
                        w2 += x * Vector512.MaxNative(Vector512.LoadUnsafe(ref v0, o + 16), floor);
                        if (j + 3 == cols) break;
                        x = Vector512.LoadUnsafe(ref e0, o + 24);
                        s3 += x;
                        w3 += x * Vector512.MaxNative(Vector512.LoadUnsafe(ref v0, o + 24), floor);
                    }
                    var sum = (s0 + s1) + (s2 + s3);
                    nuint slot = (nuint)(8 * (block + g));
                    sum.StoreUnsafe(ref sum0, slot);
                    if (special[block + g] != 0) continue; // its rows go to the one-row code once the block's logarithms are taken
                    var inv = Vector512<double>.One / sum;
                    if (entropy) (((w0 + w1) + (w2 + w3)) * inv).StoreUnsafe(ref ev0, slot);
                    ref double row0 = ref Unsafe.Add(ref logit0, (nint)(first + 8 * g) * cols);
                    for (int j = 0; j < whole; j += 8)
                    {
                        ref double from = ref Unsafe.Add(ref e0, 8 * j);
                        var c0 = Vector512.LoadUnsafe(ref from) * inv;
                        var c1 = Vector512.LoadUnsafe(ref from, 8) * inv;
                        var c2 = Vector512.LoadUnsafe(ref from, 16) * inv;
                        var c3 = Vector512.LoadUnsafe(ref from, 24) * inv;
                        var c4 = Vector512.LoadUnsafe(ref from, 32) * inv;
                        var c5 = Vector512.LoadUnsafe(ref from, 40) * inv;
                        var c6 = Vector512.LoadUnsafe(ref from, 48) * inv;
                        var c7 = Vector512.LoadUnsafe(ref from, 56) * inv;
                        Transpose(ref c0, ref c1, ref c2, ref c3, ref c4, ref c5, ref c6, ref c7);
                        c0.StoreUnsafe(ref row0, (nuint)j);
                        c1.StoreUnsafe(ref row0, stride + (nuint)j);
                        c2.StoreUnsafe(ref row0, 2 * stride + (nuint)j);
                        c3.StoreUnsafe(ref row0, 3 * stride + (nuint)j);
                        c4.StoreUnsafe(ref row0, 4 * stride + (nuint)j);
                        c5.StoreUnsafe(ref row0, 5 * stride + (nuint)j);
                        c6.StoreUnsafe(ref row0, 6 * stride + (nuint)j);
                        c7.StoreUnsafe(ref row0, 7 * stride + (nuint)j);
                    }
                    for (int j = whole; j < cols; j++)
                    {
                        var a = Vector512.LoadUnsafe(ref e0, (nuint)(8 * j)) * inv;
                        for (int r = 0; r < 8; r++) Unsafe.Add(ref row0, r * (nint)stride + j) = a.GetElement(r);
                    }
                }
            }
            // The sums' logarithms, all 32 groups' in one call; a special group's sum is that of its zeroed shift, finite.
            ReproducibleMath.LogVectors(ref sum0, ref logSum0, 8 * logCount);
            for (int g = 0; g < logCount; g++)
            {
                int i = logFirst + 8 * g;
                if (special[g] != 0)
                {
                    SoftmaxShortRowsOneAtATime(logits, i, 8, cols, logNormalizers, entropies);
                    continue;
                }
                var logSum = Vector512.LoadUnsafe(ref logSum0, (nuint)(8 * g));
                (Vector512.LoadUnsafe(ref max0, (nuint)(8 * g)) + logSum).StoreUnsafe(ref normalizer0, (nuint)i);
                if (entropy) (logSum - Vector512.LoadUnsafe(ref ev0, (nuint)(8 * g))).StoreUnsafe(ref entropy0, (nuint)i);
            }
        }
        if (octets < rows) SoftmaxShortRowsOneAtATime(logits, octets, rows - octets, cols, logNormalizers, entropies);
    }

    /// <summary>
    /// Transposes the 8 × 8 block whose rows are c0 … c7: pairs of rows interleaved within 128-bit lanes, then the
    /// lanes gathered by two rounds of 128-bit shuffles (24 shuffles). Its own inverse.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose(ref Vector512<double> c0, ref Vector512<double> c1, ref Vector512<double> c2, ref Vector512<double> c3,
        ref Vector512<double> c4, ref Vector512<double> c5, ref Vector512<double> c6, ref Vector512<double> c7)
    {
        var t0 = Avx512F.UnpackLow(c0, c1);  // r0_0 r1_0 | r0_2 r1_2 | r0_4 r1_4 | r0_6 r1_6
        var t1 = Avx512F.UnpackHigh(c0, c1); // r0_1 r1_1 | r0_3 r1_3 | …
        var t2 = Avx512F.UnpackLow(c2, c3);
        var t3 = Avx512F.UnpackHigh(c2, c3);
        var t4 = Avx512F.UnpackLow(c4, c5);
        var t5 = Avx512F.UnpackHigh(c4, c5);
        var t6 = Avx512F.UnpackLow(c6, c7);
        var t7 = Avx512F.UnpackHigh(c6, c7);
        var u0 = Avx512F.Shuffle4x128(t0, t2, 0x88); // r0_0 r1_0 | r0_4 r1_4 | r2_0 r3_0 | r2_4 r3_4
        var u1 = Avx512F.Shuffle4x128(t1, t3, 0x88); // columns 1 and 5
        var u2 = Avx512F.Shuffle4x128(t0, t2, 0xDD); // columns 2 and 6
        var u3 = Avx512F.Shuffle4x128(t1, t3, 0xDD); // columns 3 and 7
        var u4 = Avx512F.Shuffle4x128(t4, t6, 0x88);
        var u5 = Avx512F.Shuffle4x128(t5, t7, 0x88);
        var u6 = Avx512F.Shuffle4x128(t4, t6, 0xDD);
        var u7 = Avx512F.Shuffle4x128(t5, t7, 0xDD);
        c0 = Avx512F.Shuffle4x128(u0, u4, 0x88);     // r0_0 r1_0 | r2_0 r3_0 | r4_0 r5_0 | r6_0 r7_0
        c4 = Avx512F.Shuffle4x128(u0, u4, 0xDD);
        c1 = Avx512F.Shuffle4x128(u1, u5, 0x88);
        c5 = Avx512F.Shuffle4x128(u1, u5, 0xDD);
        c2 = Avx512F.Shuffle4x128(u2, u6, 0x88);
        c6 = Avx512F.Shuffle4x128(u2, u6, 0xDD);
        c3 = Avx512F.Shuffle4x128(u3, u7, 0x88);
        c7 = Avx512F.Shuffle4x128(u3, u7, 0xDD);
    }

    /// <summary>Transposes the 4 × 4 block whose rows are a, b, c, d.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose(ref Vector256<double> a, ref Vector256<double> b, ref Vector256<double> c, ref Vector256<double> d)
    {
        var ab0 = Avx.UnpackLow(a, b);   // a0 b0 a2 b2
        var ab1 = Avx.UnpackHigh(a, b);  // a1 b1 a3 b3
        var cd0 = Avx.UnpackLow(c, d);   // c0 d0 c2 d2
        var cd1 = Avx.UnpackHigh(c, d);  // c1 d1 c3 d3
        a = Avx.Permute2x128(ab0, cd0, 0x20);
        b = Avx.Permute2x128(ab1, cd1, 0x20);
        c = Avx.Permute2x128(ab0, cd0, 0x31);
        d = Avx.Permute2x128(ab1, cd1, 0x31);
    }

    /// <summary>The limit of softmax when some logits are +∞: their entries share the mass equally, the rest get 0.</summary>
    private static void IndicatorOfPositiveInfinity(Span<double> row)
    {
        int count = 0;
        foreach (var v in row) if (double.IsPositiveInfinity(v)) count++;
        for (int j = 0; j < row.Length; j++) row[j] = double.IsPositiveInfinity(row[j]) ? 1.0 / count : 0;
    }

    /// <summary>Softmax of a vector by shifting with its maximum; the result sums to one.</summary>
    public static double[] Softmax(ReadOnlySpan<double> logits)
    {
        var p = logits.ToArray();
        Span<double> lse = stackalloc double[1];
        SoftmaxRowsInPlace(p, 1, p.Length, lse);
        return p;
    }
}
