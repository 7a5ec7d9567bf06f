// Factor analysis of the wine data (UCI Wine recognition data, as shipped with scikit-learn: 178 wines from three
// cultivars, 13 chemical measurements), standardised: choose the number of factors by BIC, report the varimax-rotated
// loadings and the communalities, then fit a mixture of factor analysers with three components and compare its BIC.
// Draws the BIC curve over the number of factors into a PNG.
//
//   dotnet run --project examples/WineFactors -c Release [-- output.png]   (default: wine_factors_bic.png in the temp folder)
using System.Globalization;
using EmDsl.Data;
using EmDsl.Inference;
using EmDsl.Models;
using EmDsl.Plotting;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
string path = Path.Combine(AppContext.BaseDirectory, "data", "wine.csv");
string[] names = File.ReadLines(path).First().Split(',');
var raw = DataMatrix.ReadCsv(path);

// Standardise the columns: the measurements have wildly different units (proline ~ 10³, hue ~ 1).
var x = raw.ToArray();
int n = raw.Rows, d = raw.Columns;
for (int j = 0; j < d; j++)
{
    double mean = 0, sq = 0;
    for (int i = 0; i < n; i++) mean += x[i, j] / n;
    for (int i = 0; i < n; i++) sq += (x[i, j] - mean) * (x[i, j] - mean) / n;
    for (int i = 0; i < n; i++) x[i, j] = (x[i, j] - mean) / Math.Sqrt(sq);
}
var data = DataMatrix.From(x);

string plotPath = args.Length > 0 ? args[0] : Path.Combine(Path.GetTempPath(), "wine_factors_bic.png");
var options = new FitOptions { Tolerance = 1e-10, MaxIterations = 500 };
Console.WriteLine("factors  log-likelihood   parameters        BIC");
FactorAnalysisFit? best = null;
var bic = new List<(int Factors, double Bic)>();
for (int q = 1; q <= 5; q++)
{
    var fit = new FactorAnalysis(q).Fit(data, options);
    Console.WriteLine($"{q,7} {fit.LogLikelihood,15:F3} {fit.FreeParameterCount,12} {fit.Bic(data),10:F2}  {fit.Result.Status}");
    bic.Add((q, fit.Bic(data)));
    if (best is null || fit.Bic(data) < best.Bic(data)) best = fit;
}

int factors = best!.Parameters.Factors;
Console.WriteLine($"\nBest by BIC: {factors} factors. Varimax-rotated loadings and communalities:");
var loadings = best.RotatedLoadings;
Console.WriteLine($"{"",-34}" + string.Concat(Enumerable.Range(1, factors).Select(j => $"{"F" + j,8}")) + "  communality");
for (int i = 0; i < d; i++)
    Console.WriteLine($"{names[i],-34}" + string.Concat(Enumerable.Range(0, factors).Select(j => $"{loadings[i, j],8:F3}")) + $"  {best.Parameters.Communalities[i],11:F3}");
foreach (var e in best.Result.Diagnostics.Events) Console.WriteLine(e);

var mixture = new MixtureOfFactorAnalysers(3, 1).Fit(data, options with { Restarts = 3, Seed = 1 });
Console.WriteLine($"\nMixture of 3 one-factor analysers: log-likelihood {mixture.LogLikelihood:F3}, BIC {mixture.Bic(data):F2} " +
                  $"(single {factors}-factor model: {best.Bic(data):F2}); weights {string.Join(", ", mixture.Weights.Select(w => w.ToString("F3")))}");
var sizes = mixture.Predict(data).GroupBy(k => k).OrderBy(g => g.Key).Select(g => g.Count());
Console.WriteLine($"Rows per component: {string.Join(", ", sizes)} (the data has 59, 71 and 48 wines of the three cultivars)");

var bicPlot = FitPlots.BicCurve(bic, "factors q", "Wine (13 standardised measurements): factor analysis BIC");
Console.WriteLine($"Wrote {PlotFiles.Save(bicPlot, plotPath, 800, 500)}");
