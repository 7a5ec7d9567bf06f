using System.Text.RegularExpressions;

namespace EmDsl.Tests.Readme;

/// <summary>A name a README snippet uses as a placeholder for the reader's own value, declared in README by
/// <c>&lt;!-- snippet: given Type name; Type name --&gt;</c> on the line before the snippet's fence.</summary>
internal sealed record Given(string Type, string Name);

/// <summary>One fenced code block of README.md, as printed.</summary>
/// <param name="Language">The fence's info string: <c>csharp</c>, <c>fsharp</c>, <c>sh</c> or empty.</param>
/// <param name="FirstLine">README's 1-based line number of the block's first line of code.</param>
/// <param name="Code">The block's text, exactly as printed between the fences.</param>
/// <param name="Given">The placeholders declared for it (empty for almost every block).</param>
internal sealed record ReadmeSnippet(string Language, int FirstLine, string Code, IReadOnlyList<Given> Given)
{
    public override string ToString() => $"README.md:{FirstLine} ({Language})";
}

/// <summary>Reads the fenced code blocks of the repository's README.md.</summary>
internal static partial class ReadmeFile
{
    /// <summary>The repository's root: the nearest directory above the test's output that holds EmDsl.sln and README.md.</summary>
    public static string RepositoryRoot { get; } = FindRoot();

    public static string Path => System.IO.Path.Combine(RepositoryRoot, "README.md");

    public static IReadOnlyList<ReadmeSnippet> Snippets() => Parse(File.ReadAllText(Path));

    private static string FindRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(System.IO.Path.Combine(d.FullName, "README.md")) && File.Exists(System.IO.Path.Combine(d.FullName, "EmDsl.sln")))
                return d.FullName;
        throw new InvalidOperationException($"no directory above {AppContext.BaseDirectory} holds EmDsl.sln and README.md");
    }

    [GeneratedRegex(@"^<!--\s*snippet:\s*given\s+(?<decls>.+?)\s*-->\s*$")]
    private static partial Regex GivenComment();

    [GeneratedRegex(@"^(?<type>.+?)\s+(?<name>[A-Za-z_][A-Za-z0-9_]*)$")]
    private static partial Regex Declaration();

    /// <summary>Every fenced block (<c>```lang</c> … <c>```</c>) of a Markdown text, in order.</summary>
    public static IReadOnlyList<ReadmeSnippet> Parse(string markdown)
    {
        var lines = markdown.Replace("\r\n", "\n").Split('\n');
        var snippets = new List<ReadmeSnippet>();
        for (int i = 0; i < lines.Length; i++)
        {
            if (!lines[i].StartsWith("```", StringComparison.Ordinal)) continue;
            string language = lines[i][3..].Trim();
            int start = i + 1, end = start;
            while (end < lines.Length && !lines[end].StartsWith("```", StringComparison.Ordinal)) end++;
            if (end == lines.Length) throw new FormatException($"README.md:{i + 1}: the fence opened here is never closed");
            snippets.Add(new ReadmeSnippet(language, start + 1, string.Join("\n", lines[start..end]) + "\n", GivenBefore(lines, i)));
            i = end;
        }
        return snippets;
    }

    private static List<Given> GivenBefore(string[] lines, int fence)
    {
        int j = fence - 1;
        while (j >= 0 && lines[j].Trim().Length == 0) j--;
        var given = new List<Given>();
        if (j < 0) return given;
        var m = GivenComment().Match(lines[j].Trim());
        if (!m.Success) return given;
        foreach (var decl in m.Groups["decls"].Value.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var d = Declaration().Match(decl);
            if (!d.Success) throw new FormatException($"README.md:{j + 1}: '{decl}' is not a 'Type name' declaration");
            given.Add(new Given(d.Groups["type"].Value, d.Groups["name"].Value));
        }
        return given;
    }
}
