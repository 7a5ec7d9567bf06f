using System.Runtime.ExceptionServices;

namespace EmDsl.Numerics;

/// <summary>
/// The only way EmDsl runs work in parallel (a test scans the sources for other uses of <c>Parallel</c>). A failure in
/// any iteration reaches the caller as itself — the exception the iteration threw, with its stack trace — never as an
/// <see cref="AggregateException"/>; when several iterations fail, the one with the lowest index is rethrown, so the
/// reported row does not depend on thread timing. Cancellation is reported as <see cref="OperationCanceledException"/>.
/// </summary>
internal static class ParallelWork
{
    /// <summary>An iteration's failure tagged with its index, so the lowest can be chosen.</summary>
    private sealed class IndexedFailure(int index, Exception inner) : Exception(inner.Message, inner)
    {
        public int Index { get; } = index;
    }

    /// <summary><see cref="Parallel.For(int, int, ParallelOptions, Action{int})"/>, its failures unwrapped.</summary>
    public static void For(int fromInclusive, int toExclusive, ParallelOptions options, Action<int> body) =>
        Run(() => Parallel.For(fromInclusive, toExclusive, options, i => Tag(i, () => body(i))));

    /// <summary>Parallel.For with thread-local state, its failures unwrapped.</summary>
    public static void For<TLocal>(int fromInclusive, int toExclusive, ParallelOptions options, Func<TLocal> localInit, Func<int, TLocal, TLocal> body) =>
        Run(() => Parallel.For(fromInclusive, toExclusive, options, localInit, (i, _, local) => Tag(i, () => body(i, local)), _ => { }));

    /// <summary>
    /// <see cref="For{TLocal}(int, int, ParallelOptions, Func{TLocal}, Func{int, TLocal, TLocal})"/> whose thread-local
    /// states come from <paramref name="pool"/> and return to it (Parallel.For may start many more local states than
    /// there are threads; pooling them keeps a pass from allocating its scratch over and over). A state's contents are
    /// whatever the previous user left: the body must not rely on them.
    /// </summary>
    public static void For<TLocal>(int fromInclusive, int toExclusive, ParallelOptions options, System.Collections.Concurrent.ConcurrentBag<TLocal> pool,
        Func<TLocal> create, Func<int, TLocal, TLocal> body) =>
        Run(() => Parallel.For(fromInclusive, toExclusive, options, () => pool.TryTake(out var local) ? local : create(),
            (i, _, local) => Tag(i, () => body(i, local)), pool.Add));

    /// <summary><see cref="Parallel.Invoke(Action[])"/>, its failures unwrapped (the first action's first).</summary>
    public static void Invoke(params Action[] actions) =>
        Run(() => Parallel.Invoke(actions.Select((a, i) => (Action)(() => Tag(i, a))).ToArray()));

    private static void Tag(int index, Action action) => Tag(index, () => { action(); return 0; });

    private static T Tag<T>(int index, Func<T> action)
    {
        try { return action(); }
        catch (OperationCanceledException) { throw; }
        catch (Exception e) { throw new IndexedFailure(index, e); }
    }

    private static void Run(Action action)
    {
        try { action(); }
        catch (AggregateException e)
        {
            var all = e.Flatten().InnerExceptions;
            var first = all.OfType<IndexedFailure>().MinBy(f => f.Index);
            if (first is not null) ExceptionDispatchInfo.Capture(first.InnerException!).Throw();
            if (all.Count > 0) ExceptionDispatchInfo.Capture(all[0]).Throw();
            throw;
        }
    }
}
