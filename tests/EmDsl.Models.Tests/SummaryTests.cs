using System.Globalization;
using EmDsl.Data;
using EmDsl.Inference;

namespace EmDsl.Models.Tests;

/// <summary>The façades' printed summaries: their own header, then the general fit's tables.</summary>
public class SummaryTests
{
    private static DataMatrix OldFaithful() => DataMatrix.ReadCsv(Path.Combine(AppContext.BaseDirectory, "data", "old_faithful.csv"));

    /// <summary>The numbers of the table row labelled <paramref name="label"/>, parsed.</summary>
    private static double[] Row(string text, string label)
    {
        var line = Assert.Single(text.Split(Environment.NewLine), l => l.TrimStart().StartsWith(label + " ", StringComparison.Ordinal));
        return line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..].Select(c => double.Parse(c, CultureInfo.InvariantCulture)).ToArray();
    }

    private static void Close(IEnumerable<double> expected, double[] printed)
    {
        var e = expected.ToArray();
        Assert.Equal(e.Length, printed.Length);
        for (int i = 0; i < e.Length; i++) Assert.Equal(e[i], printed[i], Math.Abs(e[i]) * 1e-4 + 1e-12);
    }

    [Fact]
    public void FittedMixturePrintsWeightsAndComponentParameters()
    {
        var fit = new GaussianMixture(2).Fit(OldFaithful(), FitOptions.Default with { Seed = 1 });
        string text = fit.ToString();
        Assert.StartsWith("Mixture of 2 components", text);
        Close(fit.Weights, Row(text, "weight"));
        Close(fit.Components.Select(c => c.Mean[1]), Row(text, "mean[1]"));
        Close(fit.Components.Select(c => c.Covariance[0, 1]), Row(text, "cov[0,1]"));
        Assert.Contains("status: converged", text);
    }

    [Fact]
    public void PoissonMixturePrintsRates()
    {
        var r = new Random(2);
        var data = DataMatrix.FromRows(Enumerable.Range(0, 200).Select(i => new double[] { MathNet.Numerics.Distributions.Poisson.Sample(r, i % 2 == 0 ? 2 : 12) }));
        var fit = new PoissonMixture(2).Fit(data, FitOptions.Default with { Seed = 1 });
        Close(fit.Components.Select(c => c.Rates[0]), Row(fit.ToString(), "rates[0]"));
    }

    [Fact]
    public void FactorAnalysisPrintsMeanLoadingsAndNoise()
    {
        var data = OldFaithful();
        var fit = new FactorAnalysis(1).Fit(data);
        string text = fit.ToString();
        Assert.StartsWith("Factor analysis with 1 factor on 2 columns" + Environment.NewLine + "Mixture of 1 component" + Environment.NewLine, text);
        Close([fit.Parameters.Loadings[0, 0]], Row(text, "loading[0,f0]"));
        Close([fit.Parameters.NoiseVariances[1]], Row(text, "noise[1]"));
        Close([fit.Parameters.Mean[0]], Row(text, "mean[0]"));
        Assert.Contains($"Log-likelihood: {fit.LogLikelihood.ToString("G10", CultureInfo.InvariantCulture)}", text);
    }

    [Fact]
    public void MixtureOfFactorAnalysersPrintsEveryComponent()
    {
        var data = OldFaithful();
        var fit = new MixtureOfFactorAnalysers(2, 1).Fit(data, FitOptions.Default with { Seed = 1 });
        string text = fit.ToString();
        Assert.StartsWith("Mixture of 2 factor analysers (1 factor each)", text);
        Close(fit.Weights, Row(text, "weight"));
        Close(fit.Components.Select(c => c.Loadings[1, 0]), Row(text, "loading[1,f0]"));
    }
}
