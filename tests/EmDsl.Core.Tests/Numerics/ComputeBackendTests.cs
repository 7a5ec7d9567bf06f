using EmDsl.Numerics;

namespace EmDsl.Tests.Numerics;

/// <summary>Tests that change EMDSL_BACKEND run alone, after every parallel test, and restore it.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class BackendEnvironmentCollection
{
    public const string Name = "EMDSL_BACKEND environment";
}

public class ComputeBackendTests
{
    [Fact]
    public void CreateManagedIsTheManagedBackend()
    {
        Assert.Same(ManagedBackend.Instance, ComputeBackend.Create(ComputeBackendKind.Managed));
        Assert.Equal("managed", ComputeBackend.Create(ComputeBackendKind.Managed).Name);
    }

    [Fact]
    public void CreateOpenBlasLoadsOpenBlasOrFailsWithTheReason()
    {
        bool loads = OpenBlasBackend.TryLoad(out var why) is not null;
        if (Backends.OpenBlasRequired) Assert.True(loads, $"EMDSL_BACKEND=openblas but OpenBLAS does not load: {why}");
        if (loads)
        {
            Assert.Equal("openblas", ComputeBackend.Create(ComputeBackendKind.OpenBlas).Name);
            Assert.Equal("openblas", ComputeBackend.Create(ComputeBackendKind.Auto).Name);
        }
        else
        {
            var ex = Assert.Throws<InvalidOperationException>(() => ComputeBackend.Create(ComputeBackendKind.OpenBlas));
            Assert.Contains(ComputeBackend.EnvironmentVariable, ex.Message);
            Assert.Equal("managed", ComputeBackend.Create(ComputeBackendKind.Auto).Name);
        }
    }

    /// <summary>The process's backend is the one EMDSL_BACKEND asks for (this is what makes the two CI runs test different code).</summary>
    [Fact]
    public void TheProcessUsesTheRequestedBackend()
    {
        switch (Backends.Requested)
        {
            case "managed":
                Assert.Equal("managed", ComputeBackend.Name);
                break;
            case "openblas":
                Assert.Equal("openblas", ComputeBackend.Name);
                break;
            default:
                Assert.Equal(OpenBlasBackend.TryLoad(out _) is not null ? "openblas" : "managed", ComputeBackend.Name);
                break;
        }
    }
}

[Collection(BackendEnvironmentCollection.Name)]
public class ComputeBackendEnvironmentTests
{
    private static T WithVariable<T>(string? value, Func<T> action)
    {
        // Make sure the process-wide backend is chosen before the variable changes, so no other code sees the test value.
        _ = ComputeBackend.Name;
        var saved = Environment.GetEnvironmentVariable(ComputeBackend.EnvironmentVariable);
        try
        {
            Environment.SetEnvironmentVariable(ComputeBackend.EnvironmentVariable, value);
            return action();
        }
        finally
        {
            Environment.SetEnvironmentVariable(ComputeBackend.EnvironmentVariable, saved);
        }
    }

    [Theory]
    [InlineData(null, ComputeBackendKind.Auto)]
    [InlineData("", ComputeBackendKind.Auto)]
    [InlineData("  ", ComputeBackendKind.Auto)]
    [InlineData("auto", ComputeBackendKind.Auto)]
    [InlineData("AUTO", ComputeBackendKind.Auto)]
    [InlineData("openblas", ComputeBackendKind.OpenBlas)]
    [InlineData(" OpenBLAS ", ComputeBackendKind.OpenBlas)]
    [InlineData("managed", ComputeBackendKind.Managed)]
    [InlineData("Managed\t", ComputeBackendKind.Managed)]
    public void FromEnvironmentParsesKnownValues(string? value, ComputeBackendKind expected)
    {
        var saved = Environment.GetEnvironmentVariable(ComputeBackend.EnvironmentVariable);
        Assert.Equal(expected, WithVariable(value, ComputeBackend.FromEnvironment));
        Assert.Equal(saved, Environment.GetEnvironmentVariable(ComputeBackend.EnvironmentVariable));
    }

    [Theory]
    [InlineData("bogus")]
    [InlineData("open-blas")]
    [InlineData("mkl")]
    [InlineData("managed,openblas")]
    public void FromEnvironmentRejectsUnknownValuesNamingTheVariable(string value)
    {
        var saved = Environment.GetEnvironmentVariable(ComputeBackend.EnvironmentVariable);
        var ex = WithVariable(value, () => Record.Exception(() => ComputeBackend.FromEnvironment()));
        Assert.IsType<InvalidOperationException>(ex);
        Assert.Contains(ComputeBackend.EnvironmentVariable, ex.Message);
        Assert.Contains(value, ex.Message);
        Assert.Equal(saved, Environment.GetEnvironmentVariable(ComputeBackend.EnvironmentVariable));
    }

    [Fact]
    public void OpenBlasIsSetToOneThreadUnlessTheEnvironmentChoseACount()
    {
        if (OpenBlasBackend.TryLoad(out _) is null) return; // nothing to set without the library (the managed backend has one thread)
        var saved = OpenBlasBackend.ThreadVariables.ToDictionary(v => v, Environment.GetEnvironmentVariable);
        try
        {
            foreach (var v in OpenBlasBackend.ThreadVariables) Environment.SetEnvironmentVariable(v, null);
            var ours = OpenBlasBackend.TryLoad(out _)!;
            Assert.Equal(1, ours.Threads);
            Assert.StartsWith("EmDsl", ours.ThreadsChosenBy);
            Environment.SetEnvironmentVariable("OPENBLAS_NUM_THREADS", "2");
            var theirs = OpenBlasBackend.TryLoad(out _)!;
            Assert.Equal("the environment (OPENBLAS_NUM_THREADS=2)", theirs.ThreadsChosenBy);
        }
        finally
        {
            foreach (var (v, value) in saved) Environment.SetEnvironmentVariable(v, value);
        }
    }
}
