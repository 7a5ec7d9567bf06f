using System.Text.Json.Nodes;
using EmDsl.Inference;
using EmDsl.Persistence;
using FsCheck.Fluent;
using static EmDsl.Tests.Persistence.ModelFileFixtures;

namespace EmDsl.Tests.Persistence;

/// <summary>
/// The loader on damaged files: truncated at any point, a character changed anywhere, any field removed. It must
/// either throw <see cref="ModelFileException"/> or load a model that is usable (finite parameters, predictions
/// that run) — never another exception, never NaN — and a truncated file or a removed field is always refused.
/// </summary>
public sealed class ModelFileFuzzTests
{
    private static readonly string[] Fuzzed = ["every conjugate family, priors and shared blocks", "mixture of experts", "left-to-right hidden Markov", "mixture of factor analysers", "declared family"];

    private static string Json(int which) => Get(Fuzzed[which % Fuzzed.Length]).Fit.ToJson();

    /// <summary>Loads, or returns null when refused with the documented exception; anything else fails the property.</summary>
    private static ModelFit? TryLoad(string text, int which)
    {
        var c = Get(Fuzzed[which % Fuzzed.Length]);
        ModelFit fit;
        try { fit = ModelFile.FromJson(text, c.Families); }
        catch (ModelFileException) { return null; }
        foreach (var b in fit.Blocks)
        {
            var state = fit.State.Blocks[fit.Blocks.ToList().IndexOf(b)];
            Assert.All(state.Natural, v => Assert.True(double.IsFinite(v), $"block '{b.Name}': a natural parameter is {v}"));
            Assert.All(state.LogNormalizer, v => Assert.True(double.IsFinite(v), $"block '{b.Name}': a log-normalizer is {v}"));
        }
        // A loaded model must work: predictions on the training data run and are finite.
        switch (fit)
        {
            case MixtureFit m:
                try { Assert.All(m.ScoreSamples(c.Rows!), v => Assert.False(double.IsNaN(v))); }
                catch (ArgumentException) { } // data outside an edited model's support (e.g. more categories) is the data's problem
                break;
            case HiddenMarkovFit h:
                try { Assert.All(h.ScoreSequences(c.Sequences!), v => Assert.False(double.IsNaN(v))); }
                catch (ArgumentException) { }
                break;
        }
        return fit;
    }

    [Fact]
    public void TruncatedAnywhereIsRefused() =>
        PropertyChecks.ForAll(Gen.Choose(0, 1 << 30).Two().ToArbitrary(), t =>
        {
            var json = Json(t.Item1);
            int cut = t.Item2 % json.TrimEnd().Length;
            Assert.Null(TryLoad(json[..cut], t.Item1));
        }, 200);

    [Fact]
    public void ACharacterChangedAnywhereLoadsOrIsRefused() =>
        PropertyChecks.ForAll(Gen.Choose(0, 1 << 30).Three().ToArbitrary(), t =>
        {
            var json = Json(t.Item1).ToCharArray();
            int at = t.Item2 % json.Length;
            const string alphabet = "0123456789-+.eE,:{}[]\"ntfalsuNI ";
            json[at] = alphabet[t.Item3 % alphabet.Length];
            TryLoad(new string(json), t.Item1);
        }, 300);

    [Fact]
    public void AnyFieldRemovedIsRefused() =>
        PropertyChecks.ForAll(Gen.Choose(0, 1 << 30).Two().ToArbitrary(), t =>
        {
            var doc = JsonNode.Parse(Json(t.Item1))!;
            var fields = new List<(JsonObject Parent, string Name)>();
            void Walk(JsonNode? n)
            {
                switch (n)
                {
                    case JsonObject o:
                        foreach (var (k, v) in o) { fields.Add((o, k)); Walk(v); }
                        break;
                    case JsonArray a:
                        foreach (var v in a) Walk(v);
                        break;
                }
            }
            Walk(doc);
            var (parent, name) = fields[t.Item2 % fields.Count];
            parent.Remove(name);
            var e = Record.Exception(() => TryLoad(doc.ToJsonString(), t.Item1));
            Assert.Null(e);
            Assert.Null(TryLoad(doc.ToJsonString(), t.Item1));
        }, 200);
}
