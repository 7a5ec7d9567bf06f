// Old Faithful: a two-component, full-covariance Gaussian mixture fitted with EmDsl's builder.
// Prints the parameters, the objective trace and BIC, and draws (with EmDsl.Plotting) the data coloured by
// component with each component's 1σ and 2σ ellipses, and the objective trace beside it (name_trace.png).
//
//   dotnet run --project examples/OldFaithful [-- output.png|output.svg]   (default: old_faithful.png in the temp folder)
using System.Globalization;
using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Inference;
using EmDsl.Plotting;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
var plotPath = args.Length > 0 ? args[0] : Path.Combine(Path.GetTempPath(), "old_faithful.png");

// 272 eruptions of the Old Faithful geyser: eruption length (minutes) and waiting time to the next (minutes).
var data = DataMatrix.ReadCsv(Path.Combine(AppContext.BaseDirectory, "data", "old_faithful.csv"));

// One observed block reading both columns, a Gaussian with its own full covariance per component.
var geyser = Blocks.Gaussian("geyser", columns: [0, 1], CovarianceType.Full);
var model = Mixture.WithComponents(2).Observe(geyser).Build();

var fit = model.Fit(data, FitOptions.Default with { Seed = 1, Tolerance = 1e-8 });

Console.WriteLine(model);
Console.WriteLine();
Console.WriteLine($"Backend: {fit.Diagnostics.Backend}   rows: {data.Rows}   " +
                  $"iterations: {fit.Iterations}   converged: {fit.Converged}");
var components = fit.Parameters(geyser);
for (int k = 0; k < components.Count; k++)
{
    var c = components[k];
    Console.WriteLine($"Component {k}: weight {fit.Weights[k]:F4}");
    Console.WriteLine($"  mean        [eruptions {c.Mean[0],8:F4}, waiting {c.Mean[1],8:F4}]");
    Console.WriteLine($"  covariance  [[{c.Covariance[0, 0],8:F4}, {c.Covariance[0, 1],8:F4}],");
    Console.WriteLine($"               [{c.Covariance[1, 0],8:F4}, {c.Covariance[1, 1],8:F4}]]");
}
Console.WriteLine();
Console.WriteLine("Objective (log-likelihood + log prior) per iteration:");
for (int i = 0; i < fit.ObjectiveTrace.Count; i++)
    Console.WriteLine($"  {i,3}  {fit.ObjectiveTrace[i],16:F8}");
Console.WriteLine();
Console.WriteLine($"Log-likelihood {fit.LogLikelihood:F6}   free parameters {fit.FreeParameterCount}   " +
                  $"BIC {fit.BayesianInformationCriterion:F4}   AIC {fit.AkaikeInformationCriterion:F4}");
foreach (var e in fit.Diagnostics.Events) Console.WriteLine($"Diagnostics: {e}");

var scatter = MixturePlots.Scatter(fit, data, geyser, title: "Old Faithful: 2-component Gaussian mixture");
scatter.XLabel("eruption length (min)");
scatter.YLabel("waiting time to the next eruption (min)");
Console.WriteLine($"Wrote {PlotFiles.Save(scatter, plotPath, 800, 600)}");
var tracePath = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(plotPath))!,
    Path.GetFileNameWithoutExtension(plotPath) + "_trace" + Path.GetExtension(plotPath));
Console.WriteLine($"Wrote {PlotFiles.Save(FitPlots.ObjectiveTrace(fit, logGap: true), tracePath, 800, 500)}");
