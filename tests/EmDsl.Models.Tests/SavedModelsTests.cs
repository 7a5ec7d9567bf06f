using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Inference;
using EmDsl.Models;
using EmDsl.Persistence;

namespace EmDsl.Models.Tests;

/// <summary>The façades' fits save and load back through their general fit, with identical predictions.</summary>
public class SavedModelsTests
{
    private static DataMatrix OldFaithful() => DataMatrix.ReadCsv(Path.Combine(AppContext.BaseDirectory, "data", "old_faithful.csv"));

    private static string Temp() => Path.Combine(Path.GetTempPath(), $"emdsl-facade-{Guid.NewGuid():N}.json");

    private static void Same(double[,] a, double[,] b)
    {
        Assert.Equal(a.Length, b.Length);
        Assert.Equal(a.Cast<double>().Select(BitConverter.DoubleToInt64Bits), b.Cast<double>().Select(BitConverter.DoubleToInt64Bits));
    }

    [Fact]
    public void GaussianMixtureRoundTrip()
    {
        var data = OldFaithful();
        var fit = new GaussianMixture(2).Fit(data, FitOptions.Default with { Seed = 1 });
        var path = Temp();
        try
        {
            fit.Save(path);
            var loaded = SavedModels.LoadMixture<GaussianParameters>(path);
            Assert.Equal(fit.Components, loaded.Components);
            Assert.Equal(fit.Weights, loaded.Weights);
            Same(fit.PredictProba(data), loaded.PredictProba(data));
            var wrongFamily = Assert.Throws<ModelFileException>(() => SavedModels.LoadMixture<PoissonParameters>(path));
            Assert.Contains("not PoissonParameters", wrongFamily.Message);
            Assert.Throws<ModelFileException>(() => SavedModels.LoadFactorAnalysis(path));
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void FactorModelsRoundTrip()
    {
        var data = OldFaithful();
        var r = new Random(2);
        var wide = DataMatrix.FromRows(Enumerable.Range(0, data.Rows).Select(i =>
            new[] { data[i, 0], data[i, 1], data[i, 0] + r.NextDouble(), data[i, 1] * 0.5 + r.NextDouble() }));
        var fa = new FactorAnalysis(1).Fit(wide);
        var mfa = new MixtureOfFactorAnalysers(2, 1).Fit(wide, FitOptions.Default with { Seed = 1, MaxIterations = 30 });
        var (a, b) = (Temp(), Temp());
        try
        {
            fa.Save(a);
            mfa.Save(b);
            var fa2 = SavedModels.LoadFactorAnalysis(a);
            Assert.Equal(fa.Parameters, fa2.Parameters);
            Same(fa.Scores(wide), fa2.Scores(wide));
            var mfa2 = SavedModels.LoadMixtureOfFactorAnalysers(b);
            Assert.Equal(mfa.Components, mfa2.Components);
            Same(mfa.Result.PredictProba(wide), mfa2.Result.PredictProba(wide));
            Assert.Contains("use LoadMixtureOfFactorAnalysers", Assert.Throws<ModelFileException>(() => SavedModels.LoadFactorAnalysis(b)).Message);
        }
        finally { File.Delete(a); File.Delete(b); }
    }
}
