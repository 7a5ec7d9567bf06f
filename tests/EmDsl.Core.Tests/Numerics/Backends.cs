using EmDsl.Numerics;

namespace EmDsl.Tests.Numerics;

/// <summary>
/// The backends every dense-algebra property runs on: managed always; OpenBLAS when it loads, and always
/// when EMDSL_BACKEND=openblas, in which case a failure to load fails the test instead of skipping it.
/// </summary>
internal static class Backends
{
    public const string Managed = "managed";
    public const string OpenBlas = "openblas";

    /// <summary>EMDSL_BACKEND as this process started with it (read once, before any test may change it).</summary>
    public static readonly string? Requested = Environment.GetEnvironmentVariable(ComputeBackend.EnvironmentVariable)?.Trim().ToLowerInvariant();

    public static bool OpenBlasRequired => Requested == OpenBlas;

    public static string[] List() =>
        OpenBlasRequired || OpenBlasBackend.TryLoad(out _) is not null ? [Managed, OpenBlas] : [Managed];

    public static TheoryData<string> Names() => new(List());

    /// <summary>The managed products without the register tiles (what a machine without 256-bit vectors runs); for the GEMM tests.</summary>
    public const string ManagedWithoutTiles = "managed-without-tiles";

    /// <summary>The managed products with the 256-bit tiles alone (what a machine without 512-bit vectors runs); for the GEMM tests.</summary>
    public const string ManagedWith256BitTiles = "managed-256-bit-tiles";

    public static IDenseBackend Resolve(string name)
    {
        if (name == Managed) return ManagedBackend.Instance;
        if (name == ManagedWithoutTiles) return ManagedBackend.WithoutTiles;
        if (name == ManagedWith256BitTiles) return ManagedBackend.With256BitTiles;
        var backend = OpenBlasBackend.TryLoad(out var why);
        Assert.True(backend is not null, $"OpenBLAS did not load ({ComputeBackend.EnvironmentVariable}={Requested ?? "<unset>"}): {why}");
        return backend;
    }
}
