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
    /// <summary>
    /// The failures of one parallel loop: the lowest failing index and its exception. Iterations above the lowest failure
    /// seen so far are skipped; those below it still run (the lowest only falls), so the failure reported is the lowest
    /// failing index of the whole loop, whatever the timing.
    /// </summary>
    private sealed class Failures
    {
        private int _lowest = int.MaxValue;
        private ExceptionDispatchInfo? _failure;

        public bool Skips(int index) => index > Volatile.Read(ref _lowest);

        public void Record(int index, Exception e)
        {
            lock (this)
                if (index < _lowest)
                {
                    _failure = ExceptionDispatchInfo.Capture(e);
                    Volatile.Write(ref _lowest, index);
                }
        }

        /// <summary>Runs iteration <paramref name="index"/> unless a lower one failed, recording its failure (cancellation propagates).</summary>
        public T Guard<T>(int index, T skipped, Func<T> action)
        {
            if (Skips(index)) return skipped;
            try { return action(); }
            catch (OperationCanceledException) { throw; }
            catch (Exception e)
            {
                Record(index, e);
                return skipped;
            }
        }

        public void ThrowIfAny() => _failure?.Throw();
    }

    /// <summary><see cref="Parallel.For(int, int, ParallelOptions, Action{int})"/>, its failures unwrapped.</summary>
    public static void For(int fromInclusive, int toExclusive, ParallelOptions options, Action<int> body)
    {
        var failures = new Failures();
        Run(() => Parallel.For(fromInclusive, toExclusive, options, i => failures.Guard(i, 0, () => { body(i); return 0; })));
        failures.ThrowIfAny();
    }

    /// <summary>Parallel.For with thread-local state, its failures unwrapped.</summary>
    public static void For<TLocal>(int fromInclusive, int toExclusive, ParallelOptions options, Func<TLocal> localInit, Func<int, TLocal, TLocal> body)
    {
        var failures = new Failures();
        Run(() => Parallel.For(fromInclusive, toExclusive, options, localInit, (i, _, local) => failures.Guard(i, local, () => body(i, local)), _ => { }));
        failures.ThrowIfAny();
    }

    /// <summary>
    /// <see cref="For{TLocal}(int, int, ParallelOptions, Func{TLocal}, Func{int, TLocal, TLocal})"/> whose thread-local
    /// states come from <paramref name="pool"/> and return to it (Parallel.For may start many more local states than
    /// there are threads; pooling them keeps a pass from allocating its scratch over and over). A state's contents are
    /// whatever the previous user left: the body must not rely on them.
    /// </summary>
    public static void For<TLocal>(int fromInclusive, int toExclusive, ParallelOptions options, System.Collections.Concurrent.ConcurrentBag<TLocal> pool,
        Func<TLocal> create, Func<int, TLocal, TLocal> body)
    {
        var failures = new Failures();
        Run(() => Parallel.For(fromInclusive, toExclusive, options, () => pool.TryTake(out var local) ? local : create(),
            (i, _, local) => failures.Guard(i, local, () => body(i, local)), pool.Add));
        failures.ThrowIfAny();
    }

    /// <summary><see cref="Parallel.Invoke(Action[])"/>, its failures unwrapped (the first action's first).</summary>
    public static void Invoke(params Action[] actions)
    {
        var failures = new Failures();
        Run(() => Parallel.Invoke(actions.Select((a, i) => (Action)(() => failures.Guard(i, 0, () => { a(); return 0; }))).ToArray()));
        failures.ThrowIfAny();
    }

    /// <summary>Runs a loop; a cancellation (or a failure of the loop itself) arrives unwrapped from its AggregateException.</summary>
    private static void Run(Action action)
    {
        try { action(); }
        catch (AggregateException e)
        {
            var all = e.Flatten().InnerExceptions;
            if (all.Count > 0) ExceptionDispatchInfo.Capture(all[0]).Throw();
            throw;
        }
    }
}
