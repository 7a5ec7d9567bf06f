using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Scripting;
using Microsoft.CodeAnalysis.Scripting;

namespace EmDsl.Tests.Readme;

/// <summary>
/// README's C# snippets as one C# script session, in README's order — like the cells of a C# notebook or
/// <c>csi</c>: a snippet sees the usings and variables of the snippets above it and may declare a name again.
/// Each snippet is its own submission, compiled exactly as printed. A snippet's placeholders
/// (<c>&lt;!-- snippet: given Type name --&gt;</c>) are declared by a submission of their own just before it.
/// </summary>
internal static class CSharpSnippetSession
{
    /// <summary>The implicit usings of an SDK project (<c>dotnet new console</c>, <c>ImplicitUsings</c> enabled), as
    /// README's note says; every other namespace a snippet needs must be imported by README.</summary>
    public static readonly string[] ImplicitUsings =
        ["System", "System.Collections.Generic", "System.IO", "System.Linq", "System.Net.Http", "System.Threading", "System.Threading.Tasks"];

    /// <summary>The references of a reader's project: the .NET runtime, EmDsl.Core, EmDsl.Models, EmDsl.Testing,
    /// EmDsl.Plotting with ScottPlot, and FsCheck (which README's testing snippet uses, with the FSharp.Core it needs) — nothing else the test host loads.</summary>
    public static ScriptOptions Options { get; } = CreateOptions();

    private static ScriptOptions CreateOptions()
    {
        string runtime = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        var platform = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => p.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) && Path.GetDirectoryName(p) == runtime);
        var libraries = new[]
        {
            typeof(EmDsl.Data.DataMatrix), typeof(EmDsl.Models.GaussianMixture), typeof(EmDsl.Testing.EmProperties),
            typeof(FsCheck.Fluent.Prop), typeof(Microsoft.FSharp.Core.FSharpFunc<,>),
            typeof(EmDsl.Plotting.PlotFiles), typeof(ScottPlot.Plot),
        }.Select(t => t.Assembly.Location);
        var references = platform.Concat(libraries).Distinct().Select(p => MetadataReference.CreateFromFile(p));
        return ScriptOptions.Default
            .WithReferences(references)
            .WithImports(ImplicitUsings)
            .WithLanguageVersion(LanguageVersion.Latest)
            .WithFilePath("README.md")
            .WithEmitDebugInformation(false);
    }

    /// <summary>The declaration of a snippet's placeholders, with their default values.</summary>
    public static string GivenDeclarations(ReadmeSnippet snippet) =>
        string.Concat(snippet.Given.Select(g => $"{g.Type} {g.Name} = default!;\n"));

    /// <summary>Compiles every C# snippet, without running any, and returns the errors, each located at its README line.
    /// A snippet that fails is left out of the session, so the snippets after it are still compiled (they may fail
    /// in turn when they use its names).</summary>
    public static IReadOnlyList<string> CompileAll(IEnumerable<ReadmeSnippet> snippets)
    {
        var errors = new List<string>();
        Script? script = null;
        foreach (var snippet in snippets.Where(s => s.Language == "csharp"))
        {
            if (snippet.Given.Count > 0 && !TryAdd(ref script, GivenDeclarations(snippet), snippet, "the placeholders declared before ", errors)) continue;
            TryAdd(ref script, snippet.Code, snippet, "", errors);
        }
        return errors;
    }

    private static bool TryAdd(ref Script? script, string code, ReadmeSnippet snippet, string prefix, List<string> errors)
    {
        var next = Continue(script, code);
        var found = Errors(next.GetCompilation().GetDiagnostics(), snippet, prefix).ToList();
        errors.AddRange(found);
        if (found.Count == 0) script = next;
        return found.Count == 0;
    }

    private static Script Continue(Script? script, string code) =>
        script is null ? CSharpScript.Create(code, Options) : script.ContinueWith(code, Options);

    /// <summary>Runs one snippet after <paramref name="state"/> (null: first), with its placeholders set to
    /// <paramref name="values"/>; compilation errors are thrown with their README lines.</summary>
    public static async Task<ScriptState<object>> RunAsync(ScriptState<object>? state, ReadmeSnippet snippet, IReadOnlyDictionary<string, object> values)
    {
        if (snippet.Given.Count > 0)
        {
            state = await Run(state, GivenDeclarations(snippet), snippet);
            foreach (var g in snippet.Given) state.GetVariable(g.Name).Value = values[g.Name];
        }
        return await Run(state, snippet.Code, snippet);
    }

    private static async Task<ScriptState<object>> Run(ScriptState<object>? state, string code, ReadmeSnippet snippet)
    {
        try
        {
            return state is null ? await CSharpScript.RunAsync(code, Options) : await state.ContinueWithAsync(code, Options);
        }
        catch (CompilationErrorException e)
        {
            throw new InvalidOperationException(string.Join("\n", Errors(e.Diagnostics, snippet, "")), e);
        }
    }

    private static IEnumerable<string> Errors(ImmutableArray<Diagnostic> diagnostics, ReadmeSnippet snippet, string prefix) =>
        diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Select(d =>
        {
            var at = d.Location.GetLineSpan().StartLinePosition;
            string where = prefix.Length > 0 ? $"{prefix}{snippet}" : $"README.md({snippet.FirstLine + at.Line},{at.Character + 1})";
            return $"{where}: error {d.Id}: {d.GetMessage(System.Globalization.CultureInfo.InvariantCulture)}";
        });
}
