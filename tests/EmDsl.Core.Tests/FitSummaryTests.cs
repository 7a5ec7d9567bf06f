using System.Globalization;
using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Inference;

namespace EmDsl.Tests;

/// <summary>The R-like printed summaries of fits: tables of parameters per component, objective, status, criteria, diagnostics.</summary>
public class FitSummaryTests
{
    private static string[] Lines(string text) => text.Split(Environment.NewLine);

    /// <summary>The lines of the table under <paramref name="title"/>, up to the blank line after it.</summary>
    private static string[] TableUnder(string text, string title)
    {
        var lines = Lines(text);
        int start = Array.FindIndex(lines, l => l.StartsWith(title, StringComparison.Ordinal));
        Assert.True(start >= 0, $"No line starts with \"{title}\" in:\n{text}");
        return lines.Skip(start + 1).TakeWhile(l => l.Length > 0).ToArray();
    }

    /// <summary>Every line of a right-aligned table ends at the same column, and so does every column's header.</summary>
    private static void AssertAligned(string[] table)
    {
        Assert.True(table.Length >= 2, string.Join("\n", table));
        Assert.All(table, l => Assert.Equal(table[0].Length, l.Length));
    }

    private static string Row(string[] table, string label) =>
        Assert.Single(table, l => l.TrimStart().StartsWith(label + " ", StringComparison.Ordinal));

    [Fact]
    public void MixtureFitPrintsTheModelTheWeightsAndEachParameterPerComponentInAlignedColumns()
    {
        var data = OldFaithfulReferenceTests.OldFaithful();
        var geyser = Blocks.Gaussian("geyser", columns: [0, 1], CovarianceType.Full);
        var model = Mixture.WithComponents(2).Observe(geyser).Build();
        var fit = model.Fit(data, FitOptions.Default with { Seed = 1, Tolerance = 1e-8 });
        string text = fit.ToString();

        Assert.StartsWith(model.ToString(), text);
        var weights = TableUnder(text, "Weights:");
        AssertAligned(weights);
        Assert.Matches(@"^\s+component 0\s+component 1$", weights[0]);
        var weightCells = Row(weights, "weight").Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..];
        Assert.Equal(fit.Weights.Select(w => FitSummary.Number(w)), weightCells);

        var table = TableUnder(text, "Block 'geyser': Gaussian (full covariance)");
        AssertAligned(table);
        var p = fit.Parameters(geyser);
        foreach (var (label, values) in new[]
                 {
                     ("mean[0]", p.Select(c => c.Mean[0])), ("mean[1]", p.Select(c => c.Mean[1])),
                     ("var[0]", p.Select(c => c.Covariance[0, 0])), ("var[1]", p.Select(c => c.Covariance[1, 1])),
                     ("cov[0,1]", p.Select(c => c.Covariance[0, 1])),
                 })
        {
            var cells = Row(table, label).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..];
            Assert.Equal(values.Select(FitSummary.Number), cells);
            foreach (var (cell, value) in cells.Zip(values)) // five significant digits
                Assert.Equal(value, double.Parse(cell, CultureInfo.InvariantCulture), Math.Abs(value) * 1e-4);
        }
        Assert.Contains($"Log-likelihood: {fit.LogLikelihood.ToString("G10", CultureInfo.InvariantCulture)}", text);
        Assert.Contains($"objective: {fit.Objective.ToString("G10", CultureInfo.InvariantCulture)}", text);
        Assert.Contains($"Iterations: {fit.Iterations}   status: converged", text);
        Assert.Contains($"Free parameters: 11   N: 272   BIC: {fit.BayesianInformationCriterion.ToString("F4", CultureInfo.InvariantCulture)}", text);
        Assert.Contains("Diagnostics: " + fit.Diagnostics, text);
    }

    [Fact]
    public void TheSummaryIsDeterministicAndADiagonalCovarianceListsVariancesOnly()
    {
        // (The projects build with InvariantGlobalization, so no other culture can be switched to here; the summary
        // formats every number with the invariant culture explicitly.)
        var data = OldFaithfulReferenceTests.OldFaithful();
        var model = Mixture.WithComponents(2).Observe(Blocks.Gaussian("g", [0, 1], CovarianceType.Diagonal)).Build();
        var options = FitOptions.Default with { Seed = 3 };
        string text = model.Fit(data, options).ToString();
        Assert.Equal(text, model.Fit(data, options).ToString());
        Assert.Contains("var[1]", text);
        Assert.DoesNotContain("cov[", text);
    }

    [Fact]
    public void AnIterationLimitIsReportedAsTheStatus()
    {
        var data = OldFaithfulReferenceTests.OldFaithful();
        var fit = Mixture.WithComponents(2).Observe(Blocks.Gaussian("g", [0, 1], CovarianceType.Full)).Build()
            .Fit(data, FitOptions.Default with { Seed = 1, MaxIterations = 2, Tolerance = 1e-14 });
        Assert.Equal(FitStatus.IterationLimit, fit.Status);
        Assert.Contains("Iterations: 2   status: stopped at the iteration limit", fit.ToString());
    }

    [Fact]
    public void HiddenMarkovFitPrintsInitialDistributionTransitionMatrixAndEmissionsPerState()
    {
        var data = Hmm.EarthquakeReferenceTests.Earthquakes();
        var quakes = Blocks.Poisson("quakes", [0]);
        var model = HiddenMarkov.WithStates(3).Observe(quakes).Build();
        var fit = model.Fit(data, FitOptions.Default with { Restarts = 3, Seed = 1 });
        string text = fit.ToString();

        Assert.StartsWith(model.ToString(), text);
        var initial = TableUnder(text, "Initial state probabilities:");
        AssertAligned(initial);
        Assert.Equal(fit.InitialProbabilities.Select(FitSummary.Number), Row(initial, "initial").Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..]);

        var transitions = TableUnder(text, "Transition matrix");
        AssertAligned(transitions);
        Assert.Equal(4, transitions.Length);
        var a = fit.TransitionMatrix;
        for (int i = 0; i < 3; i++)
            Assert.Equal(Enumerable.Range(0, 3).Select(j => FitSummary.Number(a[i, j])),
                Row(transitions, $"from state {i}").Split(' ', StringSplitOptions.RemoveEmptyEntries)[3..]);

        var emissions = TableUnder(text, "Block 'quakes': Poisson");
        AssertAligned(emissions);
        Assert.Matches(@"^\s+state 0\s+state 1\s+state 2$", emissions[0]);
        Assert.Equal(fit.Parameters(quakes).Select(p => FitSummary.Number(p.Rates[0])),
            Row(emissions, "rates[0]").Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..]);
        Assert.Contains($"Iterations: {fit.Iterations}   status: converged", text);
        Assert.Contains($"Free parameters: {fit.FreeParameterCount}   N: 107", text);
    }

    [Fact]
    public void RegressionBlocksAndGatingPrintTheirCoefficients()
    {
        var random = new Random(4);
        var rows = Enumerable.Range(0, 300).Select(_ =>
        {
            double x = random.NextDouble() * 2 - 1, g = random.NextDouble() * 2 - 1;
            bool first = random.NextDouble() < 1 / (1 + Math.Exp(-3 * g));
            double y = first ? 1 + 2 * x : -1 - x;
            return new[] { y + 0.1 * (random.NextDouble() - 0.5), x, g };
        });
        var data = DataMatrix.FromRows(rows);
        var expert = Blocks.LinearRegression("line", response: 0, covariates: [1]);
        var fit = Mixture.WithComponents(2).Observe(expert).GatedBy([2]).Build().Fit(data, FitOptions.Default with { Seed = 2, Restarts = 3 });
        string text = fit.ToString();
        var latent = TableUnder(text, "Weights (averaged gating probabilities) and gating coefficients:");
        AssertAligned(latent);
        Assert.Equal(fit.GatingCoefficients.Select(c => FitSummary.Number(c.Slopes[0])), Row(latent, "gating slope[2]").Split(' ', StringSplitOptions.RemoveEmptyEntries)[2..]);
        var table = TableUnder(text, "Block 'line'");
        AssertAligned(table);
        var p = fit.Parameters(expert);
        Assert.Equal(p.Select(c => FitSummary.Number(c.Coefficients.Slopes[0])), Row(table, "slope[1]").Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..]);
        Assert.Equal(p.Select(c => FitSummary.Number(c.Variance)), Row(table, "variance").Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..]);
    }

    [Theory]
    [InlineData(0.64413123, "0.64413")]
    [InlineData(79.96812, "79.968")]
    [InlineData(-1130.26396, "-1130.3")]
    [InlineData(1.0, "1.0000")]
    [InlineData(9.999996, "10.000")]
    [InlineData(2.0127e-67, "2.0127e-67")]
    [InlineData(12345678.9, "1.2346e+07")]
    [InlineData(0.0, "0")]
    public void NumbersKeepFiveSignificantDigits(double value, string expected) => Assert.Equal(expected, FitSummary.Number(value));
}
