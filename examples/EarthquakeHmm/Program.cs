// A Poisson hidden Markov model of the annual counts of major earthquakes (magnitude 7 and above, worldwide,
// 1900–2006; Zucchini & MacDonald, "Hidden Markov Models for Time Series", 2009). Fits models of 1 to 4 states,
// compares them by AIC and BIC, prints the states, the transition matrix and the decoded (Viterbi) path of the
// 3-state model, and draws the series coloured by decoded state into a PNG.
//
//   dotnet run --project examples/EarthquakeHmm [-- output.png]     (default: earthquakes_hmm.png in the temporary folder)
using System.Globalization;
using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Inference;
using EmDsl.Plotting;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
var pngPath = args.Length > 0 ? args[0] : Path.Combine(Path.GetTempPath(), "earthquakes_hmm.png");

var lines = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "data", "earthquakes.csv")).Skip(1).Select(l => l.Split(',')).ToArray();
var years = lines.Select(l => int.Parse(l[0])).ToArray();
var data = DataMatrix.FromColumn(lines.Select(l => double.Parse(l[1])));   // one sequence: the rows in order

// The emission of every state is a Poisson count; the hidden regime follows a Markov chain.
var quakes = Blocks.Poisson("quakes", [0]);
var options = FitOptions.Default with { Restarts = 10, Seed = 1, Tolerance = 1e-10 };
var fits = new Dictionary<int, HiddenMarkovFit>();
Console.WriteLine($"{data.Rows} years, {years[0]}–{years[^1]}: mean {data.GetColumn(0).Average():F2} earthquakes a year");
Console.WriteLine();
Console.WriteLine("states  log-likelihood  parameters      AIC      BIC");
foreach (int k in new[] { 1, 2, 3, 4 })
{
    var fit = HiddenMarkov.WithStates(k).Observe(quakes).Build().Fit(data, options);
    fits[k] = fit;
    Console.WriteLine($"{k,6}  {fit.LogLikelihood,14:F4}  {fit.FreeParameterCount,10}  {fit.AkaikeInformationCriterion,7:F2}  {fit.BayesianInformationCriterion,7:F2}");
}

var best = fits[3];
var rates = best.Parameters(quakes).Select(p => p.Rates[0]).ToArray();
var order = Enumerable.Range(0, rates.Length).OrderBy(i => rates[i]).ToArray();   // report states by rising rate
var rank = new int[order.Length];
for (int i = 0; i < order.Length; i++) rank[order[i]] = i;
Console.WriteLine();
Console.WriteLine($"3-state model ({best.Status}, {best.Iterations} iterations):");
for (int i = 0; i < order.Length; i++)
    Console.WriteLine($"  state {i}: {rates[order[i]],6:F2} earthquakes a year, initial probability {best.InitialProbabilities[order[i]]:F3}");
Console.WriteLine("  transition matrix (row: from, column: to):");
var a = best.TransitionMatrix;
for (int i = 0; i < order.Length; i++)
    Console.WriteLine("    " + string.Join("  ", order.Select(j => a[order[i], j].ToString("F3"))));

var path = best.Decode(data).Select(s => rank[s]).ToArray();
Console.WriteLine();
Console.WriteLine("Decoded path (Viterbi), one digit per year:");
for (int start = 0; start < years.Length; start += 20)
    Console.WriteLine($"  {years[start]}  {string.Concat(path.Skip(start).Take(20))}");
var marginals = best.PosteriorMarginals(data);
int unsure = Enumerable.Range(0, data.Rows).Count(t => Enumerable.Range(0, 3).Max(j => marginals[t, j]) < 0.9);
Console.WriteLine($"  {unsure} of {data.Rows} years have no state with posterior probability ≥ 0.9");

// The free energy after every half-step: it never falls, and after each E-step it is the objective.
var f = best.FreeEnergyTrace;
Console.WriteLine();
Console.WriteLine($"Free energy: {f[0].Value:F4} after the first E-step, {f[^1].Value:F4} after the last; " +
                  $"lowest half-step change {Enumerable.Range(1, f.Count - 1).Min(i => f[i].Value - f[i - 1].Value):G3}");

var plot = HiddenMarkovPlots.Series(best, data, 0, years.Select(y => (double)y).ToArray(),
    "Major earthquakes per year, 1900–2006: a 3-state Poisson HMM");
plot.XLabel("year");
plot.YLabel("earthquakes of magnitude ≥ 7");
Console.WriteLine($"Wrote {PlotFiles.Save(plot, pngPath, 1000, 500)}");
