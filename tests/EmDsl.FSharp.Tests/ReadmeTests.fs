module EmDsl.FSharp.Tests.ReadmeTests

// README.md's F# blocks, extracted at build time by ReadmeSnippets.targets into modules Readme.FSharpSnippetN of this
// assembly (so they compiled as printed, or this project would not have built), run from the repository's root,
// where their paths (examples/data/…) are relative to.

open System
open System.IO
open System.Reflection
open System.Text.RegularExpressions
open Xunit

[<CollectionDefinition("README", DisableParallelization = true)>]
type ReadmeCollection() = class end

let private root =
    let rec up (d: DirectoryInfo | null) =
        match d with
        | null -> failwith "no directory above the tests holds EmDsl.sln and README.md"
        | d when File.Exists(Path.Combine(d.FullName, "EmDsl.sln")) && File.Exists(Path.Combine(d.FullName, "README.md")) -> d.FullName
        | d -> up d.Parent
    up (DirectoryInfo AppContext.BaseDirectory)

let private snippetModules () =
    Assembly.GetExecutingAssembly().GetTypes()
    |> Array.filter (fun t -> t.Namespace = "Readme" && t.Name.StartsWith "FSharpSnippet")
    |> Array.sortBy (fun t -> int (t.Name.Substring "FSharpSnippet".Length))

[<Collection("README")>]
type ReadmeFSharpSnippets() =
    [<Fact>]
    member _.``every fsharp block of README was compiled into this assembly``() =
        let blocks = Regex.Matches(File.ReadAllText(Path.Combine(root, "README.md")), "^```fsharp\\s*$", RegexOptions.Multiline).Count
        Assert.True(blocks > 0, "README has no fsharp block")
        Assert.Equal(blocks, snippetModules().Length)

    [<Fact>]
    member _.``every fsharp block of README runs``() =
        let previous = Environment.CurrentDirectory
        Environment.CurrentDirectory <- root
        try
            for m in snippetModules () do
                // Reading a module's values runs the generated file's top-level code, every snippet in README's order.
                for p in m.GetProperties(BindingFlags.Public ||| BindingFlags.Static) do
                    Assert.NotNull(p.GetValue null)
        finally
            Environment.CurrentDirectory <- previous
