namespace EmDsl.Numerics;

/// <summary>Which implementation of dense products and small linear algebra EmDsl uses.</summary>
public enum ComputeBackendKind
{
    /// <summary>OpenBLAS when the system library loads, the managed implementation otherwise.</summary>
    Auto,
    /// <summary>The system's OpenBLAS (fails with a clear message when it cannot be loaded).</summary>
    OpenBlas,
    /// <summary>Managed code only (System.Numerics.Tensors).</summary>
    Managed,
}

/// <summary>
/// Reports and selects the compute backend. The choice is made once per process, from the environment
/// variable <c>EMDSL_BACKEND</c> (<c>auto</c>, <c>openblas</c> or <c>managed</c>; default <c>auto</c>).
/// </summary>
public static class ComputeBackend
{
    /// <summary>Name of the environment variable that forces a backend.</summary>
    public const string EnvironmentVariable = "EMDSL_BACKEND";

    private static readonly Lazy<IDenseBackend> Selected = new(() => Create(FromEnvironment()));

    /// <summary>Name of the backend in use: "openblas" or "managed".</summary>
    public static string Name => Current.Name;

    internal static IDenseBackend Current => Selected.Value;

    /// <summary>
    /// The threads the backend's own products use: OpenBLAS's thread count (1 unless the environment set
    /// <c>OPENBLAS_NUM_THREADS</c>, <c>GOTO_NUM_THREADS</c> or <c>OMP_NUM_THREADS</c>, which EmDsl respects), or 1 for
    /// the managed backend. EmDsl's own parallelism over chunks is <see cref="Inference.FitOptions.MaxDegreeOfParallelism"/>.
    /// </summary>
    public static int BackendThreads => Current is OpenBlasBackend o ? Math.Max(1, o.Threads) : 1;

    /// <summary>Who chose <see cref="BackendThreads"/>: "EmDsl (1 thread; …)", "the environment (OPENBLAS_NUM_THREADS=4)", or for the managed backend "managed".</summary>
    public static string BackendThreadsChosenBy => Current is OpenBlasBackend o ? o.ThreadsChosenBy : "managed";

    /// <summary>Parses <c>EMDSL_BACKEND</c>; an unknown value is an error, never silently ignored.</summary>
    internal static ComputeBackendKind FromEnvironment()
    {
        var value = Environment.GetEnvironmentVariable(EnvironmentVariable)?.Trim();
        return value?.ToLowerInvariant() switch
        {
            null or "" or "auto" => ComputeBackendKind.Auto,
            "openblas" => ComputeBackendKind.OpenBlas,
            "managed" => ComputeBackendKind.Managed,
            _ => throw new InvalidOperationException(
                $"{EnvironmentVariable}='{value}' is not a backend; use 'auto', 'openblas' or 'managed'."),
        };
    }

    internal static IDenseBackend Create(ComputeBackendKind kind)
    {
        switch (kind)
        {
            case ComputeBackendKind.Managed:
                return ManagedBackend.Instance;
            case ComputeBackendKind.OpenBlas:
                return OpenBlasBackend.TryLoad(out var why)
                       ?? throw new InvalidOperationException($"{EnvironmentVariable}=openblas, but {why}");
            default:
                return (IDenseBackend?)OpenBlasBackend.TryLoad(out _) ?? ManagedBackend.Instance;
        }
    }
}
