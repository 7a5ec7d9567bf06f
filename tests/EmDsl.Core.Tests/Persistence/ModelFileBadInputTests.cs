using System.Text.Json.Nodes;
using EmDsl.Persistence;
using EmDsl.Tests.Generalized;
using static EmDsl.Tests.Persistence.ModelFileFixtures;

namespace EmDsl.Tests.Persistence;

/// <summary>Each kind of bad file is refused with a <see cref="ModelFileException"/> naming the file and the field.</summary>
public sealed class ModelFileBadInputTests
{
    private static JsonObject Document(string name) => JsonNode.Parse(Get(name).Fit.ToJson())!.AsObject();

    /// <summary>Writes the edited document to a file, loads it, and returns the error.</summary>
    private static ModelFileException Refused(JsonNode doc, params EmDsl.Families.ExponentialFamily[] families) => RefusedText(doc.ToJsonString(), families);

    private static ModelFileException RefusedText(string text, params EmDsl.Families.ExponentialFamily[] families)
    {
        var path = Path.Combine(Path.GetTempPath(), $"emdsl-bad-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, text);
        try
        {
            var e = Assert.Throws<ModelFileException>(() => ModelFile.Load(path, families));
            Assert.Contains(path, e.Message);
            Assert.Equal(path, e.File);
            return e;
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void TruncatedFile()
    {
        var json = Get("Gaussian Full").Fit.ToJson();
        var e = RefusedText(json[..(json.Length / 2)]);
        Assert.Equal("$", e.JsonPath);
        Assert.Contains("not valid JSON", e.Message);
    }

    [Fact]
    public void NotAModelFile()
    {
        var doc = Document("Gaussian Full");
        doc["format"] = "something-else";
        Assert.Equal("$.format", Refused(doc).JsonPath);
        Assert.Equal("$.format", RefusedText("{\"hello\": 1}").JsonPath);
        Assert.Contains("expected a JSON object", RefusedText("[1, 2]").Message);
    }

    [Fact]
    public void FutureVersion()
    {
        var doc = Document("Gaussian Full");
        doc["version"] = 2;
        var e = Refused(doc);
        Assert.Equal("$.version", e.JsonPath);
        Assert.Contains("written by a newer EmDsl: version 2, this reads up to 1", e.Message);
    }

    [Fact]
    public void MissingField()
    {
        var doc = Document("Gaussian Full");
        doc["fit"]!.AsObject().Remove("weights");
        var e = Refused(doc);
        Assert.Equal("$.fit.weights", e.JsonPath);
        Assert.Contains("missing", e.Message);
    }

    [Fact]
    public void WrongType()
    {
        var doc = Document("Gaussian Full");
        doc["fit"]!["iterations"] = "twelve";
        var e = Refused(doc);
        Assert.Equal("$.fit.iterations", e.JsonPath);
        Assert.Contains("expected an integer", e.Message);
    }

    [Fact]
    public void WrongArrayLength()
    {
        var doc = Document("Gaussian Full");
        doc["fit"]!["blocks"]![0]!["parameters"]![1]!["mean"]!.AsArray().RemoveAt(0);
        var e = Refused(doc);
        Assert.Equal("$.fit.blocks[0].parameters[1].mean", e.JsonPath);
        Assert.Contains("expected 2 entries, found 1", e.Message);
    }

    [Fact]
    public void CovarianceNotPositiveDefinite()
    {
        var doc = Document("Gaussian Full");
        var cov = doc["fit"]!["blocks"]![0]!["parameters"]![2]!["covariance"]!;
        cov[0]![1] = 100.0;
        cov[1]![0] = 100.0;
        var e = Refused(doc);
        Assert.StartsWith("$.fit.blocks[0].parameters", e.JsonPath);
        Assert.Contains("component 2", e.Message);
    }

    [Fact]
    public void WeightsNotSummingToOne()
    {
        var doc = Document("Gaussian Full");
        doc["fit"]!["weights"]![0] = 0.9;
        var e = Refused(doc);
        Assert.Equal("$.fit.weights", e.JsonPath);
        Assert.Contains("sum to", e.Message);
    }

    [Fact]
    public void NegativeRate()
    {
        var doc = Document("every conjugate family, priors and shared blocks");
        var blocks = doc["model"]!["blocks"]!.AsArray();
        int p = blocks.Select((b, i) => (b, i)).Single(t => t.b!["name"]!.GetValue<string>() == "p").i;
        doc["fit"]!["blocks"]![p]!["parameters"]![0]!["rates"]![0] = -1.0;
        var e = Refused(doc);
        Assert.Equal($"$.fit.blocks[{p}].parameters[0]", e.JsonPath);
    }

    [Fact]
    public void ParametersThatDisagreeWithTheNaturalOnes()
    {
        var doc = Document("every conjugate family, priors and shared blocks");
        doc["fit"]!["blocks"]![1]!["parameters"]![0]!["probabilities"]![0] = 0.999;
        var e = Refused(doc);
        Assert.Equal("$.fit.blocks[1].parameters[0]", e.JsonPath);
        Assert.Contains("do not match the natural parameters", e.Message);
    }

    [Fact]
    public void TransitionIntoAStructuralZero()
    {
        var doc = Document("left-to-right hidden Markov");
        var t = doc["fit"]!["transitions"]!;
        t[2]![0] = 0.5;
        t[2]![2] = 0.5;
        var e = Refused(doc);
        Assert.Equal("$.fit.transitions", e.JsonPath);
    }

    [Fact]
    public void UnknownBlockType()
    {
        var doc = Document("Gaussian Full");
        doc["model"]!["blocks"]![0]!["type"] = "lognormal";
        var e = Refused(doc);
        Assert.Equal("$.model.blocks[0].type", e.JsonPath);
        Assert.Contains("\"lognormal\" is not one of", e.Message);
    }

    [Fact]
    public void DeclaredFamilyMissingOrMismatched()
    {
        var doc = Document("declared family");
        var missing = Refused(doc);
        Assert.Equal("$.model.blocks[0].family", missing.JsonPath);
        Assert.Contains("pass that family to ModelFile.Load", missing.Message);
        var other = Refused(doc, DeclaredFamilies.Exponential());
        Assert.Contains("not among the families given ('declared Exponential')", other.Message);
        var twoD = EmDsl.Families.DeclaredFamily.Declare("declared Poisson", 2, x => x, eta => eta.Exp().Sum(), EmDsl.Families.NaturalDomain.Unconstrained(2)).Build();
        var mismatch = Refused(doc, twoD);
        Assert.Equal("$.model.blocks[0].dimension", mismatch.JsonPath);
        Assert.Contains("not the same declaration", mismatch.Message);
    }

    [Fact]
    public void DuplicateField()
    {
        var json = Get("Gaussian Full").Fit.ToJson();
        var e = RefusedText(json.Replace("\"version\": 1,", "\"version\": 1,\n  \"version\": 1,"));
        Assert.Equal("$", e.JsonPath);
    }

    [Fact]
    public void AHugeDeclaredSizeWithoutTheDataIsRefusedWithoutAllocatingIt()
    {
        var doc = Document("hidden Markov");
        doc["model"]!["states"] = 60000;
        var e = Refused(doc);
        Assert.StartsWith("$.", e.JsonPath);
    }

    [Fact]
    public void ATextWithoutAFileIsNamedAsJson()
    {
        var e = Assert.Throws<ModelFileException>(() => ModelFile.FromJson("{"));
        Assert.Null(e.File);
        Assert.StartsWith("Model JSON, at $:", e.Message);
    }
}
