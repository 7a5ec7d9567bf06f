using System.Collections;
using System.Globalization;
using System.Reflection;
using System.Text;
using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Families.Priors;
using EmDsl.Inference;
using EmDsl.Numerics;

namespace EmDsl.Bench;

/// <summary>
/// Prints every number a set of reference fits returns (objective traces, parameters, log-likelihoods, event
/// counts) with 17 significant digits, one line per fit, so that two builds of the engine can be compared bit for
/// bit: <c>dotnet run -c Release --project bench/EmDsl.Bench -- golden &gt; before.txt</c>, change the engine, run it
/// again and <c>diff</c>. The fits cover every covariance type from k-means++ starts, weights, priors, mixed
/// blocks, the iterative families, regressions, experts and a declared family, on 1 and 2 threads.
/// </summary>
internal static class GoldenBench
{
    public static void Run(string faithfulCsv)
    {
        var faithful = DataMatrix.ReadCsv(faithfulCsv);
        var output = new StringBuilder();
        void Emit(string name, MixtureFit fit)
        {
            var values = new List<double>();
            values.AddRange(fit.ObjectiveTrace);
            values.Add(fit.LogLikelihood);
            values.Add(fit.LogPrior);
            values.AddRange(fit.Weights);
            foreach (var b in fit.Model.Blocks)
                foreach (var p in fit.Parameters(b.Name)) Collect(p, values);
            foreach (var g in fit.GatingCoefficients) Collect(g, values);
            var events = string.Join(",", fit.Diagnostics.Events.GroupBy(e => e.Kind).Select(g => $"{g.Key}:{g.Count()}"));
            output.AppendLine($"{name} | it {fit.Iterations} conv {fit.Converged} | events {events} | " +
                string.Join(" ", values.Select(v => v.ToString("G17", CultureInfo.InvariantCulture))));
        }

        foreach (var cov in Enum.GetValues<CovarianceType>())
        {
            var model = Mixture.WithComponents(2).Observe(Blocks.Gaussian("g", [0, 1], cov)).Build();
            Emit($"faithful-{cov}", model.Fit(faithful, FitOptions.Default with { Seed = 1, Restarts = 2 }));
            Emit($"faithful-{cov}-sk", model.Fit(faithful, FitOptions.Default with { Seed = 3, Floors = FloorStrategy.MatchScikitLearn }));
            var prior = Mixture.WithComponents(3).Observe(Blocks.Gaussian("g", [0, 1], cov,
                prior: cov is CovarianceType.Full or CovarianceType.Tied
                    ? GaussianPrior.NormalInverseWishart([3, 70], 0.01, ReadOnlyMatrix.Identity(2), 4)
                    : GaussianPrior.NormalInverseGamma([3, 70], 0.01, 2, 0.5))).WithWeightPrior(1.5).Build();
            Emit($"faithful-{cov}-prior", prior.Fit(faithful, FitOptions.Default with { Seed = 2, MaxIterations = 80 }));
        }

        var random = new Random(5);
        var rows = new List<double[]>();
        for (int i = 0; i < 6000; i++)
        {
            int k = i % 3;
            double z1 = Normal(random), z2 = Normal(random);
            rows.Add([k * 3 + z1, -k + 0.5 * z1 + z2, 1e6 + k + 0.1 * z2,
                MathNet.Numerics.Distributions.Poisson.Sample(random, 1 + 3 * k),
                random.NextDouble() < 0.2 + 0.3 * k ? 1 : 0,
                random.Next(2 + k),
                MathNet.Numerics.Distributions.Gamma.Sample(random, 2 + k, 1.5)]);
        }
        var mixed = DataMatrix.FromRows(rows);
        var weights = Enumerable.Range(0, mixed.Rows).Select(i => 0.25 + i % 4 * 0.5).ToArray();
        var mixedModel = Mixture.WithComponents(3)
            .Observe(Blocks.Gaussian("x", [0, 1, 2]), Blocks.Poisson("n", [3]), Blocks.Bernoulli("b", [4]), Blocks.Categorical("c", [5], 4),
                Blocks.Gamma("t", [6]))
            .Build();
        foreach (int threads in new[] { 1, 2 })
        {
            var options = FitOptions.Default with { Seed = 4, ChunkRows = 500, MaxDegreeOfParallelism = threads, MaxIterations = 60 };
            Emit($"mixed-{threads}", mixedModel.Fit(mixed, options));
            Emit($"mixed-weighted-{threads}", mixedModel.Fit(mixed, options, weights));
        }
        var diag = Mixture.WithComponents(4).Observe(Blocks.Gaussian("x", [0, 1, 2], CovarianceType.Diagonal, sharing: Sharing.PerComponent),
            Blocks.Exponential("e", [6], prior: new GammaPrior(2, 1))).WithWeightPrior(1.1).Build();
        Emit("diag-exp", diag.Fit(mixed, FitOptions.Default with { Seed = 9, Restarts = 3, MaxIterations = 40 }));

        var reg = new List<double[]>();
        for (int i = 0; i < 3000; i++)
        {
            double x = Normal(random), g = Normal(random);
            int k = random.NextDouble() < 1 / (1 + Math.Exp(-2 * g)) ? 1 : 0;
            double mu = k == 0 ? 1 + 2 * x : -1 + 0.5 * x;
            reg.Add([mu + 0.3 * Normal(random), MathNet.Numerics.Distributions.Poisson.Sample(random, Math.Exp(0.3 + (k == 0 ? 0.5 : -0.5) * x)), x, g]);
        }
        var regData = DataMatrix.FromRows(reg);
        var lin = Blocks.LinearRegression("y", 0, [2]);
        var pois = Blocks.PoissonRegression("p", 1, [2]);
        Emit("linear", Mixture.WithComponents(2).Observe(lin).Build().Fit(regData, FitOptions.Default with { Seed = 1, MaxIterations = 50 }));
        Emit("joint-gated", Mixture.WithComponents(2).Observe(lin, pois).GatedBy([3]).Build().Fit(regData, FitOptions.Default with { Seed = 1, MaxIterations = 30 }));

        var inverseGaussian = DeclaredFamily.Declare("inverse Gaussian", 1,
                x => EmDsl.AutoDiff.Var.ConcatColumns(x, 1.0 / x),
                eta => -2 * (eta.Columns(0, 1) * eta.Columns(1, 1)).Sqrt() - 0.5 * (-2 * eta.Columns(1, 1)).Log(),
                NaturalDomain.Coordinates(NaturalConstraint.Negative, NaturalConstraint.Negative))
            .WithLogBaseMeasure(x => -0.5 * Math.Log(2 * Math.PI) - 1.5 * x.Log())
            .WithSupport(ColumnSupport.Positive)
            .WithMeanDomain(m => m[0] > 0 && m[0] * m[1] > 1)
            .Build();
        Emit("declared", Mixture.WithComponents(2).Observe(Blocks.FromFamily("w", [1], inverseGaussian)).Build()
            .Fit(faithful, FitOptions.Default with { Seed = 1, Restarts = 2, MaxIterations = 60 }));
        Console.Write(output.ToString());
        Console.Error.WriteLine($"backend {ComputeBackend.Name}");
    }

    private static double Normal(Random r) => MathNet.Numerics.Distributions.Normal.Sample(r, 0, 1);

    /// <summary>Every double reachable from a parameter record's public properties, in declaration order.</summary>
    private static void Collect(object? value, List<double> into)
    {
        switch (value)
        {
            case null: return;
            case double d: into.Add(d); return;
            case ReadOnlyMatrix m: into.AddRange(m.ToArray().Cast<double>()); return;
            case string: return;
            case IEnumerable e:
                foreach (var item in e) Collect(item, into);
                return;
        }
        foreach (var p in value.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
            if (p.GetIndexParameters().Length == 0 && p.Name != "EqualityContract" && p.Name != "Dimension")
                Collect(p.GetValue(value), into);
    }
}
