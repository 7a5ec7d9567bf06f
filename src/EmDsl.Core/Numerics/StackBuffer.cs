namespace EmDsl.Numerics;

/// <summary>
/// The one rule for <c>stackalloc</c> in EmDsl: a buffer whose length comes from the data or the model (a dimension,
/// a number of categories, a number of statistics) lives on the stack only up to <see cref="MaxDoubles"/> doubles,
/// and on the heap beyond, written as <c>n &lt;= StackBuffer.MaxDoubles ? stackalloc double[n] : new double[n]</c>.
/// A stack buffer sized by user data overflows the thread's stack (which kills the process, with no exception to
/// catch) at a few hundred thousand doubles. Constant sizes (<c>stackalloc double[4]</c>) are the only other form
/// allowed; a test scans the sources for anything else.
/// </summary>
internal static class StackBuffer
{
    /// <summary>The largest data-sized stack buffer, in doubles (2 KB).</summary>
    public const int MaxDoubles = 256;
}
