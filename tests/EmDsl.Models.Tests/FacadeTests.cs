using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Families.Priors;
using EmDsl.Inference;
using EmDsl.Models;

namespace EmDsl.Models.Tests;

/// <summary>The façades are thin: the same fit as Core's builder, their options reach the model, and bad input is reported.</summary>
public class FacadeTests
{
    private static DataMatrix OldFaithful() => DataMatrix.ReadCsv(Path.Combine(AppContext.BaseDirectory, "data", "old_faithful.csv"));

    private static DataMatrix Counts(int seed, int rows = 300)
    {
        var r = new Random(seed);
        return DataMatrix.FromRows(Enumerable.Range(0, rows).Select(i =>
            new double[] { MathNet.Numerics.Distributions.Poisson.Sample(r, i % 2 == 0 ? 2 : 9), MathNet.Numerics.Distributions.Poisson.Sample(r, i % 2 == 0 ? 7 : 1) }).ToArray());
    }

    private static DataMatrix Binary(int seed, int rows = 300)
    {
        var r = new Random(seed);
        return DataMatrix.FromRows(Enumerable.Range(0, rows).Select(i =>
            Enumerable.Range(0, 4).Select(d => r.NextDouble() < (i % 2 == 0 ? 0.2 + 0.1 * d : 0.9 - 0.2 * d) ? 1.0 : 0.0).ToArray()).ToArray());
    }

    [Theory]
    [InlineData(CovarianceType.Full)]
    [InlineData(CovarianceType.Tied)]
    [InlineData(CovarianceType.Diagonal)]
    [InlineData(CovarianceType.Spherical)]
    public void GaussianMixtureIsTheBuilderModelOverEveryColumn(CovarianceType type)
    {
        var data = OldFaithful();
        var options = FitOptions.Default with { Seed = 4 };
        var facade = new GaussianMixture(2) { Covariance = type }.Fit(data, options);
        var block = Blocks.Gaussian("gaussian", [0, 1], type);
        var core = Mixture.WithComponents(2).Observe(block).Build().Fit(data, options);
        Assert.Equal(core.LogLikelihood, facade.Result.LogLikelihood);
        Assert.Equal(core.Weights, facade.Weights);
        var a = core.Parameters(block);
        for (int k = 0; k < 2; k++)
        {
            Assert.Equal(a[k].Mean, facade.Components[k].Mean);
            Assert.Equal(a[k].Covariance.ToArray(), facade.Components[k].Covariance.ToArray());
        }
        Assert.Equal([0, 1], facade.Block.Columns);
        Assert.Equal(core.Predict(data), facade.Predict(data));
        Assert.Equal(core.PredictProba(data), facade.PredictProba(data));
        Assert.Equal(core.Bic(data), facade.Result.Bic(data));
    }

    [Fact]
    public void PoissonAndBernoulliMixturesAreTheBuilderModels()
    {
        var counts = Counts(1);
        var options = FitOptions.Default with { Seed = 2 };
        var p = new PoissonMixture(2).Fit(counts, options);
        var pBlock = Blocks.Poisson("poisson", [0, 1]);
        var pCore = Mixture.WithComponents(2).Observe(pBlock).Build().Fit(counts, options);
        Assert.Equal(pCore.Parameters(pBlock).Select(x => x.Rates.ToArray()), p.Components.Select(x => x.Rates.ToArray()));
        Assert.Equal(pCore.LogLikelihood, p.Result.LogLikelihood);

        var binary = Binary(2);
        var b = new BernoulliMixture(2).Fit(binary, options);
        var bBlock = Blocks.Bernoulli("bernoulli", [0, 1, 2, 3]);
        var bCore = Mixture.WithComponents(2).Observe(bBlock).Build().Fit(binary, options);
        Assert.Equal(bCore.Parameters(bBlock).Select(x => x.Probabilities.ToArray()), b.Components.Select(x => x.Probabilities.ToArray()));
        Assert.Equal(bCore.LogLikelihood, b.Result.LogLikelihood);
    }

    /// <summary>
    /// The façades default to WeightConcentration = 1, documented as maximum likelihood. The estimates are ML,
    /// but the objective should then be the log-likelihood (MixtureFit.LogPrior: "0 without priors").
    /// </summary>
    [Fact]
    public void DefaultFacadeFitHasNoLogPrior()
    {
        var fit = new GaussianMixture(3).Fit(OldFaithful(), FitOptions.Default with { Seed = 1 });
        Assert.Equal(0.0, fit.Result.LogPrior);
        Assert.Equal(fit.Result.LogLikelihood, fit.Result.Objective);
    }

    [Fact]
    public void PriorsAndWeightConcentrationReachTheModel()
    {
        var data = OldFaithful();
        var prior = new GaussianPrior([3, 70], 50, new ReadOnlyMatrix(new double[,] { { 5, 0 }, { 0, 500 } }), 50);
        var ml = new GaussianMixture(2).Fit(data, FitOptions.Default with { Seed = 1 });
        var map = new GaussianMixture(2) { Prior = prior, WeightConcentration = 30 }.Fit(data, FitOptions.Default with { Seed = 1 });
        Assert.Contains("GaussianPrior", map.Result.Model.ToString());
        Assert.Equal(DirichletPrior.Symmetric(2, 30), map.Result.Model.WeightPrior);
        Assert.NotEqual(ml.Components[0].Mean, map.Components[0].Mean);
        Assert.True(map.Result.LogPrior != 0);

        var counts = Counts(3);
        var gp = new GammaPrior(40, 1);
        var pmap = new PoissonMixture(2) { Prior = gp }.Fit(counts, FitOptions.Default with { Seed = 1 });
        Assert.Contains(gp.ToString(), pmap.Result.Model.ToString());
        var bp = new BetaPrior(30, 2);
        var bmap = new BernoulliMixture(2) { Prior = bp }.Fit(Binary(3), FitOptions.Default with { Seed = 1 });
        Assert.Contains(bp.ToString(), bmap.Result.Model.ToString());
        Assert.All(bmap.Components.SelectMany(c => c.Probabilities), q => Assert.True(q > 0.3, $"Beta(30, 2) should pull every probability up; got {q}"));
    }

    [Fact]
    public void FacadesPassSampleWeightsProgressAndCancellation()
    {
        var counts = Counts(4, 100);
        var w = Enumerable.Range(0, counts.Rows).Select(i => (double)(i % 3)).ToArray();
        var fit = new PoissonMixture(2).Fit(counts, FitOptions.Default with { Seed = 1 }, w);
        Assert.Equal(w.Sum(), fit.Result.TotalWeight);
        int reports = 0;
        var progress = new Progress(() => reports++);
        fit = new PoissonMixture(2).Fit(counts, FitOptions.Default with { Seed = 1 }, progress: progress);
        Assert.Equal(fit.Result.Iterations + 1, reports);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => new BernoulliMixture(2).Fit(Binary(4), cancellationToken: cts.Token));
    }

    private sealed class Progress(Action report) : IProgress<FitProgress>
    {
        public void Report(FitProgress value) => report();
    }

    [Fact]
    public void FacadeBadInput()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new GaussianMixture(0).Fit(OldFaithful()));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new PoissonMixture(2) { WeightConcentration = 0.5 }.Fit(Counts(5)));
        Assert.Contains("Dirichlet", e.Message);
        var notBinary = DataMatrix.FromRows([[0.0, 1], [1, 1], [0, 3], [1, 0]]);
        var be = Assert.Throws<ArgumentException>(() => new BernoulliMixture(2).Fit(notBinary));
        Assert.Contains("Row 2", be.Message);
        Assert.Contains("column 1", be.Message);
        Assert.Contains("'bernoulli'", be.Message);
        var pe = Assert.Throws<ArgumentException>(() => new PoissonMixture(2).Fit(DataMatrix.FromRows([[0.0, 1], [1, 1.5], [2, 2]])));
        Assert.Contains("Row 1", pe.Message);
        Assert.Contains("column 1", pe.Message);
        var ge = Assert.Throws<ArgumentException>(() => new GaussianMixture(2) { Prior = new GaussianPrior([0, 0, 0], 1, ReadOnlyMatrix.Identity(3), 1) }.Fit(OldFaithful()));
        Assert.Contains("3-dimensional", ge.Message);
        Assert.Throws<ArgumentNullException>(() => new GaussianMixture(2).Fit(null!));
        Assert.Throws<ArgumentException>(() => new GaussianMixture(300).Fit(OldFaithful()));
    }
    [Fact]
    public void FacadesModelTheNamedColumnsOnly()
    {
        // Old Faithful with an extra first column: by name, the façade models only the two named ones.
        var faithful = OldFaithful();
        var rows = Enumerable.Range(0, faithful.Rows).Select(i => new[] { (double)i, faithful[i, 0], faithful[i, 1] });
        var data = DataMatrix.FromRows(rows).WithColumnNames(["row", "eruptions", "waiting"]);
        var options = FitOptions.Default with { Seed = 4 };
        var named = new GaussianMixture(2) { ColumnNames = ["eruptions", "waiting"] }.Fit(data, options);
        var indexed = Mixture.WithComponents(2).Observe(Blocks.Gaussian("gaussian", [1, 2])).Build().Fit(data, options);
        Assert.Equal(indexed.ObjectiveTrace, named.Result.ObjectiveTrace);
        Assert.Equal(indexed.Parameters((Block<GaussianParameters>)indexed.Blocks[0]), named.Components);
        Assert.Equal([1, 2], named.Result.Model.Blocks[0].Columns);
        Assert.Equal(["eruptions", "waiting"], named.Block.ColumnNames!);
        Assert.Equal(indexed.Predict(data), named.Predict(data));

        var counts = new PoissonMixture(2) { ColumnNames = ["b"] }.Fit(Counts(3).WithColumnNames(["a", "b"]), options);
        Assert.Equal([1], counts.Result.Model.Blocks[0].Columns);
        var e = Assert.Throws<ArgumentException>(() => new BernoulliMixture(2) { ColumnNames = ["q"] }.Fit(Binary(2)));
        Assert.Contains("no column names", e.Message);
        e = Assert.Throws<ArgumentException>(() => new BernoulliMixture(2) { ColumnNames = ["q"] }.Fit(Binary(2).WithColumnNames(["a", "b", "c", "d"])));
        Assert.Contains("'q'", e.Message);
        Assert.Contains("'a', 'b', 'c', 'd'", e.Message);
    }
}
