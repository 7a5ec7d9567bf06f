// A family EmDsl does not ship, declared in a dozen lines and fitted like a built-in one.
//
// The inverse Gaussian (Wald) distribution is the law of the first time a drifting Brownian motion reaches a
// level — a natural model for waiting times. Its density is
//     p(x | μ, λ) = √(λ / (2π x³)) · exp(−λ (x − μ)² / (2 μ² x)),   x > 0,
// an exponential family with T(x) = (x, 1/x), η = (−λ/(2μ²), −λ/2), A(η) = −2√(η₁η₂) − ½ log(−2η₂) and
// log h(x) = −½ log 2π − (3/2) log x. That is all EmDsl needs: ∇A comes from its autodiff, the M-step from a
// numeric inverse of ∇A, and the fit is EM with the usual guarantees.

using EmDsl.AutoDiff;
using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Inference;

var path = args.Length > 0 ? args[0] : Path.Combine(AppContext.BaseDirectory, "data", "old_faithful.csv");
var data = DataMatrix.ReadCsv(path);
Console.WriteLine($"Old Faithful: {data.Rows} eruptions; modelling the waiting time before each (column 1, minutes).");

var inverseGaussian = DeclaredFamily.Declare("inverse Gaussian", dimension: 1,
        statistics: x => Var.ConcatColumns(x, 1.0 / x),
        logNormalizer: eta => -2 * (eta.Columns(0, 1) * eta.Columns(1, 1)).Sqrt() - 0.5 * (-2 * eta.Columns(1, 1)).Log(),
        natural: NaturalDomain.Coordinates(NaturalConstraint.Negative, NaturalConstraint.Negative))
    .WithLogBaseMeasure(x => -0.5 * Math.Log(2 * Math.PI) - 1.5 * x.Log())
    .WithSupport(ColumnSupport.Positive)
    .WithMeanDomain(m => m[0] > 0 && m[0] * m[1] > 1) // E[x]·E[1/x] > 1 (Jensen)
    .Build();

var waiting = Blocks.FromFamily("waiting", [1], inverseGaussian);
var options = FitOptions.Default with { Restarts = 5, Seed = 1 };
var fit = Mixture.WithComponents(2).Observe(waiting).Build().Fit(data, options);

Console.WriteLine();
Console.WriteLine($"Two-component inverse Gaussian mixture: {fit}");
for (int k = 0; k < 2; k++)
{
    var eta = fit.Parameters(waiting)[k].Natural;
    double mean = Math.Sqrt(eta[1] / eta[0]), shape = -2 * eta[1];
    Console.WriteLine($"  component {k}: weight {fit.Weights[k]:F3}, mean {mean:F2} min, shape λ {shape:F1}, sd {Math.Sqrt(mean * mean * mean / shape):F2} min");
}
bool monotone = fit.ObjectiveTrace.Zip(fit.ObjectiveTrace.Skip(1)).All(p => p.Second >= p.First - 1e-9 * Math.Abs(p.First));
Console.WriteLine($"  {fit.Iterations} EM iterations, objective never decreased: {monotone}, events: {fit.Diagnostics.Events.Count}");

// The same question with the built-in Gaussian, for comparison: which family describes the waiting times better?
var gaussian = Blocks.Gaussian("waiting", [1]);
var gaussianFit = Mixture.WithComponents(2).Observe(gaussian).Build().Fit(data, options);
Console.WriteLine();
Console.WriteLine($"BIC, two inverse Gaussians: {fit.BayesianInformationCriterion:F1}");
Console.WriteLine($"BIC, two Gaussians:         {gaussianFit.BayesianInformationCriterion:F1}   (lower is better; both have 5 free parameters)");
