using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace EmDsl.Numerics;

/// <summary>Whether a span holds only finite values, a vector at a time (the span primitives compare doubles one by one).</summary>
internal static class Finite
{
    /// <summary>
    /// True when no element is NaN or ±∞: x · 0 is 0 for a finite x and NaN otherwise, so four accumulators of
    /// x · 0 stay 0 exactly when every element is finite.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool All(ReadOnlySpan<double> values)
    {
        ref double v0 = ref MemoryMarshal.GetReference(values);
        int n = values.Length, i = 0;
        var zero = Vector256<double>.Zero;
        Vector256<double> a = zero, b = zero, c = zero, d = zero;
        for (; i + 16 <= n; i += 16)
        {
            a += Vector256.LoadUnsafe(ref v0, (nuint)i) * zero;
            b += Vector256.LoadUnsafe(ref v0, (nuint)(i + 4)) * zero;
            c += Vector256.LoadUnsafe(ref v0, (nuint)(i + 8)) * zero;
            d += Vector256.LoadUnsafe(ref v0, (nuint)(i + 12)) * zero;
        }
        for (; i + 4 <= n; i += 4) a += Vector256.LoadUnsafe(ref v0, (nuint)i) * zero;
        double rest = 0;
        for (; i < n; i++) rest += Unsafe.Add(ref v0, i) * 0;
        var all = (a + b) + (c + d);
        return rest == 0 && Vector256.EqualsAll(all, zero);
    }
}
