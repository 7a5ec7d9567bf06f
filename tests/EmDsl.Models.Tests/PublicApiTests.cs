using EmDsl.Building;
using EmDsl.Models;
using PublicApiGenerator;

namespace EmDsl.Models.Tests;

/// <summary>
/// Public-API approval: the public surface of each library, as PublicApiGenerator prints it, must equal the approved
/// text in tests/api/. A change to the API fails this test and writes the new text beside the approved one
/// (<c>*.received.txt</c>, ignored by git); if the change is deliberate, review it and move it over the approved file.
/// </summary>
public class PublicApiTests
{
    public static TheoryData<string> Libraries() => new(["EmDsl.Core", "EmDsl.Models"]);

    [Theory]
    [MemberData(nameof(Libraries))]
    public void ThePublicApiIsTheApprovedOne(string library)
    {
        var assembly = library == "EmDsl.Core" ? typeof(Blocks).Assembly : typeof(GaussianMixture).Assembly;
        string api = assembly.GeneratePublicApi(new ApiGeneratorOptions { IncludeAssemblyAttributes = false }).Replace("\r\n", "\n");
        string directory = Path.Combine(RepositoryRoot(), "tests", "api");
        string approved = Path.Combine(directory, library + ".approved.txt");
        string received = Path.Combine(directory, library + ".received.txt");
        string expected = File.Exists(approved) ? File.ReadAllText(approved).Replace("\r\n", "\n") : "";
        if (expected != api)
        {
            File.WriteAllText(received, api);
            Assert.Fail($"The public API of {library} is not the approved one ({approved}). The new API is in {received}: " +
                        "review the difference, and if it is deliberate, move it over the approved file.");
        }
        if (File.Exists(received)) File.Delete(received);
    }

    /// <summary>The directory holding EmDsl.sln, found upwards from the test binaries.</summary>
    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "EmDsl.sln"))) return dir.FullName;
        throw new InvalidOperationException($"EmDsl.sln not found above {AppContext.BaseDirectory}.");
    }
}
