using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Inference;
using Microsoft.CodeAnalysis.Scripting;

namespace EmDsl.Tests.Readme;

/// <summary>The README's snippets run from the repository's root (their paths are relative to it), so this
/// collection changes the working directory and runs alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ReadmeCollection
{
    public const string Name = "README";
}

/// <summary>
/// Runs README.md's C# snippets, as printed, in README's order, as one script session: every snippet up to the
/// first one with a placeholder this fixture has no value for (README's factor-analysis and testing snippets,
/// whose <c>columns</c>, <c>gaussianMixtureFit</c>, <c>MyData</c>, … are the reader's own) — those are compiled only,
/// by <see cref="ReadmeSnippetTests.EveryCSharpSnippetCompilesAsPrinted"/>.
/// </summary>
public sealed class ReadmeSession
{
    /// <summary>Values for README's placeholders: the mixture-of-experts snippet's <c>data</c> is flexmix's patent
    /// data (Patents, lgRD, RDS), the hidden-Markov snippet's <c>counts</c> the annual earthquake counts.</summary>
    internal static readonly IReadOnlyDictionary<string, object> Values = new Dictionary<string, object>
    {
        ["data"] = DataMatrix.ReadCsv(Path.Combine(AppContext.BaseDirectory, "fixtures", "r_patent.csv")),
        ["counts"] = Hmm.EarthquakeReferenceTests.Earthquakes().GetColumn(0),
    };

    internal List<(ReadmeSnippet Snippet, ScriptState<object> State)> Ran { get; } = [];
    internal List<ReadmeSnippet> CompiledOnly { get; } = [];
    internal Exception? Failure { get; }

    public ReadmeSession()
    {
        string previous = Environment.CurrentDirectory;
        Environment.CurrentDirectory = ReadmeFile.RepositoryRoot;
        try
        {
            ScriptState<object>? state = null;
            foreach (var snippet in ReadmeFile.Snippets().Where(s => s.Language == "csharp"))
            {
                if (CompiledOnly.Count > 0 || snippet.Given.Any(g => !Values.ContainsKey(g.Name))) { CompiledOnly.Add(snippet); continue; }
                try { state = CSharpSnippetSession.RunAsync(state, snippet, Values).GetAwaiter().GetResult(); }
                catch (Exception e) { Failure = new InvalidOperationException($"{snippet} failed when run", e); return; }
                Ran.Add((snippet, state));
            }
        }
        finally { Environment.CurrentDirectory = previous; }
    }

    /// <summary>The session's state just after the snippet that contains <paramref name="text"/>.</summary>
    internal ScriptState<object> After(string text)
    {
        if (Failure is not null) throw Failure;
        var found = Ran.Where(r => r.Snippet.Code.Contains(text, StringComparison.Ordinal)).ToList();
        Assert.True(found.Count == 1, $"expected one README C# snippet that ran and contains '{text}', found {found.Count}");
        return found[0].State;
    }
}

/// <summary>
/// README.md's code, compiled from README itself (every ```csharp block by Roslyn, as printed; the ```fsharp blocks
/// by EmDsl.FSharp.Tests, which extracts them at build time) and run where cheap, with checks of what it computes.
/// </summary>
[Collection(ReadmeCollection.Name)]
public class ReadmeSnippetTests(ReadmeSession session) : IClassFixture<ReadmeSession>
{
    [Fact]
    public void EveryFenceIsALanguageTheTestsKnow()
    {
        var snippets = ReadmeFile.Snippets();
        Assert.All(snippets, s => Assert.Contains(s.Language, new[] { "csharp", "fsharp", "sh", "" }));
        Assert.True(snippets.Count(s => s.Language == "csharp") >= 7, "README's C# snippets were not found");
        Assert.Contains(snippets, s => s.Language == "fsharp");
    }

    [Fact]
    public void EveryCSharpSnippetCompilesAsPrinted()
    {
        var errors = CSharpSnippetSession.CompileAll(ReadmeFile.Snippets());
        Assert.True(errors.Count == 0, "README's C# snippets do not compile as printed:\n" + string.Join("\n", errors));
    }

    [Fact]
    public void TheSnippetsRunUpToTheOnesWithTheReadersOwnPlaceholders()
    {
        if (session.Failure is not null) throw session.Failure;
        // Old Faithful, the mixed blocks, the declared family, the experts and the HMM run; factor analysis and the
        // testing kit's snippet (placeholders for the reader's own columns, fits, data generators) compile only.
        Assert.True(session.Ran.Count >= 5, $"only {session.Ran.Count} C# snippets ran: {string.Join(", ", session.Ran.Select(r => r.Snippet))}");
        Assert.All(session.CompiledOnly, s => Assert.Contains(s.Given, g => !ReadmeSession.Values.ContainsKey(g.Name)));
    }

    [Fact]
    public void OldFaithfulSnippetFitsTwoComponents()
    {
        var state = session.After("Observe(geyser)");
        var fit = (MixtureFit)state.GetVariable("fit").Value;
        var labels = (int[])state.GetVariable("labels").Value;
        Assert.True(fit.Converged);
        Assert.Equal(272, labels.Length);
        var geyser = (Block<GaussianParameters>)state.GetVariable("geyser").Value;
        Assert.Equal([55.0, 80.0], fit.Parameters(geyser).Select(p => Math.Round(p.Mean[1] / 5) * 5).Order());
    }

    [Fact]
    public void MissingValuesSnippetFitsOldFaithfulWithHolesNearTheCompleteFit()
    {
        var state = session.After("MissingValuePolicy.Marginalize");
        var fit = (MixtureFit)state.GetVariable("withHoles").Value;
        var holed = (DataMatrix)state.GetVariable("holed").Value;
        var both = (Block<GaussianParameters>)state.GetVariable("both").Value;
        Assert.True(holed.HasMissingValues);
        Assert.True(fit.Converged);
        Assert.False(fit.Diagnostics.FreeEnergyEverDecreased);
        Assert.Equal(fit.LogLikelihood, ((double[])state.GetVariable("logDensity").Value).Sum(), 6);
        // The complete-data fit's waiting-time means are ≈ 54.5 and 80.0 (the Old Faithful snippet above).
        Assert.Equal([55.0, 80.0], fit.Parameters(both).Select(p => Math.Round(p.Mean[1] / 5) * 5).Order());
    }

    [Fact]
    public void MultiBlockModelFromTheReadmeFitsAndRecoversItsGroups()
    {
        var state = session.After("Blocks.Categorical(\"region\"");
        var model = (MixtureModel)state.GetVariable("model").Value;
        var vitals = (Block<GaussianParameters>)state.GetVariable("vitals").Value;
        var visits = (Block<PoissonParameters>)state.GetVariable("visits").Value;
        var smoker = (Block<BernoulliParameters>)state.GetVariable("smoker").Value;
        var region = (Block<CategoricalParameters>)state.GetVariable("region").Value;

        // Three groups of patients with distinct vitals, visit counts, smoking and region.
        var random = new Random(7);
        var rows = new List<double[]>();
        var truth = new List<int>();
        double[][] vitalsMean = [[-2, 0, 1], [2, 1, -1], [0, -2, 0]];
        double[] visitRate = [1, 5, 12];
        double[] smokeP = [0.1, 0.5, 0.9];
        for (int i = 0; i < 900; i++)
        {
            int g = i % 3;
            truth.Add(g);
            var row = new double[6];
            for (int j = 0; j < 3; j++) row[j] = vitalsMean[g][j] + 0.5 * MathNet.Numerics.Distributions.Normal.Sample(random, 0, 1);
            row[3] = MathNet.Numerics.Distributions.Poisson.Sample(random, visitRate[g]);
            row[4] = random.NextDouble() < smokeP[g] ? 1 : 0;
            row[5] = random.NextDouble() < 0.7 ? g : random.Next(4);
            rows.Add(row);
        }
        var data = DataMatrix.FromRows(rows);

        var fit = model.Fit(data, FitOptions.Default with { Seed = 3, Restarts = 3 });
        Assert.True(fit.Converged);
        Assert.True(fit.LogPrior != 0);
        Assert.Equal(fit.LogLikelihood + fit.LogPrior, fit.Objective, 9);

        // Each fitted component is one true group: match by visit rate, then check every block.
        var rates = fit.Parameters(visits).Select(p => p.Rates[0]).ToArray();
        var order = Enumerable.Range(0, 3).OrderBy(k => rates[k]).ToArray();
        var labels = fit.Predict(data);
        int agree = labels.Zip(truth).Count(p => order[p.Second] == p.First);
        Assert.True(agree > 0.97 * data.Rows, $"only {agree} of {data.Rows} rows in their true group");
        for (int g = 0; g < 3; g++)
        {
            int k = order[g];
            Assert.Equal(visitRate[g], rates[k], 0.15 * visitRate[g] + 0.3);
            Assert.Equal(smokeP[g], fit.Parameters(smoker)[k].Probabilities[0], 0.08);
            Assert.Equal(0.7 + 0.3 / 4, fit.Parameters(region)[k].Probabilities[g], 0.08);
            for (int j = 0; j < 3; j++) Assert.Equal(vitalsMean[g][j], fit.Parameters(vitals)[k].Mean[j], 0.12);
        }
    }

    [Fact]
    public void DeclaredFamilyFromTheReadmeFitsOldFaithfulWaitingTimes()
    {
        var state = session.After("DeclaredFamily.Declare");
        var fit = (MixtureFit)state.GetVariable("fit").Value;
        var waiting = (Block<NaturalParameters>)state.GetVariable("waiting").Value;
        var data = OldFaithfulReferenceTests.OldFaithful();

        // README: "It reaches BIC 2093.4 against 2096.0 for two Gaussians on the same column."
        var gaussian = Mixture.WithComponents(2).Observe(Blocks.Gaussian("waiting", [1])).Build().Fit(data, FitOptions.Default with { Restarts = 5, Seed = 1 });
        Assert.Equal(2093.4, fit.BayesianInformationCriterion, 0.05);
        Assert.Equal(2096.0, gaussian.BayesianInformationCriterion, 0.05);
        var means = fit.Parameters(waiting).Select(p => Math.Sqrt(p.Natural[1] / p.Natural[0])).Order().ToArray();
        Assert.Equal(55.2, means[0], 0.1);
        Assert.Equal(80.4, means[1], 0.1);
    }

    [Fact]
    public void MixtureOfExpertsFromTheReadmeRunsOnThePatentData()
    {
        var state = session.After("GatedBy(");
        var fit = (MixtureFit)state.GetVariable("fit").Value;
        var experts = (IReadOnlyList<RegressionParameters>)state.GetVariable("experts").Value;
        var gating = (IReadOnlyList<RegressionParameters>)state.GetVariable("gating").Value;

        Assert.Equal(3, experts.Count);
        Assert.Equal(new RegressionParameters(0, [0.0]), gating[0]);
        Assert.False(fit.Diagnostics.ObjectiveEverDecreased);
        Assert.True(fit.Converged);
        Assert.Equal(1, fit.Weights.Sum(), 1e-12);
    }

    [Fact]
    public void HiddenMarkovSnippetFromTheReadmeRunsOnTheEarthquakeCounts()
    {
        var state = session.After("HiddenMarkov.WithStates");
        var fit = (HiddenMarkovFit)state.GetVariable("fit").Value;
        var data = (DataMatrix)state.GetVariable("data").Value;
        var a = (double[,])state.GetVariable("a").Value;
        var pi = (IReadOnlyList<double>)state.GetVariable("pi").Value;
        var rates = (IReadOnlyList<PoissonParameters>)state.GetVariable("rates").Value;
        var path = (int[])state.GetVariable("path").Value;
        var marginals = (double[,])state.GetVariable("marginals").Value;

        Assert.Equal(-328.5275, fit.LogLikelihood, 3);
        Assert.All(rates.Select(r => r.Rates[0]).Order().Zip([13.13, 19.71, 29.71]), p => Assert.Equal(p.Second, p.First, 0.02));
        Assert.Equal(1, pi.Sum(), 12);
        Assert.Equal(1, a[2, 0] + a[2, 1] + a[2, 2], 12);
        Assert.Equal(data.Rows, path.Length);
        Assert.Equal(data.Rows, marginals.GetLength(0));
    }
}
