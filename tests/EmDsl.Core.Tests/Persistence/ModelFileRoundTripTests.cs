using EmDsl.Building;
using EmDsl.Inference;
using EmDsl.Persistence;
using static EmDsl.Tests.Persistence.ModelFileFixtures;

namespace EmDsl.Tests.Persistence;

/// <summary>Saving and loading every kind of fit gives back the same fit, bit for bit.</summary>
public sealed class ModelFileRoundTripTests
{
    [Theory, MemberData(nameof(ModelFileFixtures.Names), MemberType = typeof(ModelFileFixtures))]
    public void RoundTripThroughAFileIsBitForBit(string name)
    {
        var c = Get(name);
        var path = Path.Combine(Path.GetTempPath(), $"emdsl-{Guid.NewGuid():N}.json");
        try
        {
            c.Fit.Save(path);
            AssertSame(c, ModelFile.Load(path, c.Families));
        }
        finally { File.Delete(path); }
    }

    [Theory, MemberData(nameof(ModelFileFixtures.Names), MemberType = typeof(ModelFileFixtures))]
    public void TheFileIsIndentedVersionedJson(string name)
    {
        var json = Get(name).Fit.ToJson();
        Assert.StartsWith("{\n  \"format\": \"emdsl-model\",\n  \"version\": 1,", json.Replace("\r\n", "\n"));
        Assert.Contains("\n      \"blocks\": [", json.Replace("\r\n", "\n").Replace("\n    \"blocks\": [", "\n      \"blocks\": ["));
        Assert.True(json.Split('\n').Length > 30, "one value per line, not one long line");
    }

    [Fact]
    public void TypedLoadersCheckTheKind()
    {
        var mixture = Get("Gaussian Full");
        var hmm = Get("hidden Markov");
        var (a, b) = (Temp(), Temp());
        try
        {
            mixture.Fit.Save(a);
            hmm.Fit.Save(b);
            Assert.IsType<MixtureFit>(ModelFile.LoadMixture(a));
            Assert.IsType<HiddenMarkovFit>(ModelFile.LoadHiddenMarkov(b));
            var e = Assert.Throws<ModelFileException>(() => ModelFile.LoadMixture(b));
            Assert.Contains(b, e.Message);
            Assert.Contains("LoadHiddenMarkov", e.Message);
            Assert.Throws<ModelFileException>(() => ModelFile.LoadHiddenMarkov(a));
        }
        finally { File.Delete(a); File.Delete(b); }
    }

    [Fact]
    public void ALoadedFitStartsANewFit()
    {
        var c = Get("every conjugate family, priors and shared blocks");
        var loaded = (MixtureFit)ModelFile.FromJson(c.Fit.ToJson());
        var again = loaded.Model.Fit(c.Rows!, FitOptions.Default with { Initialization = Initialization.FromFit(loaded), MaxIterations = 3 });
        Assert.True(again.Objective >= loaded.Objective - 1e-9 * Math.Abs(loaded.Objective));
    }

    [Fact]
    public void ACustomPriorDensityCannotBeSaved()
    {
        var prior = new EmDsl.Families.Priors.ConjugatePrior([1.0], 1.0, eta => -eta[0] * eta[0], "my own");
        var fit = Mixture.WithComponents(1).Observe(Blocks.FromFamily("p", [3], new EmDsl.Families.PoissonFamily(1), prior)).Build()
            .Fit(Mixed(50, 4), FitOptions.Default with { MaxIterations = 2 });
        var e = Assert.Throws<NotSupportedException>(() => fit.ToJson());
        Assert.Contains("Block 'p'", e.Message);
    }

    private static string Temp() => Path.Combine(Path.GetTempPath(), $"emdsl-{Guid.NewGuid():N}.json");
}
