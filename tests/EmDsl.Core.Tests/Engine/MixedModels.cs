using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Inference;
using static EmDsl.Tests.Engine.EngineFixtures;

namespace EmDsl.Tests.Engine;

/// <summary>
/// A fixed two-component model over four kinds of block (Gaussian full 2-D, Poisson, integer categorical,
/// Bernoulli), seeded data from a known mixture of it, and a fixed initial point, so fits can be compared
/// across options without k-means++ in the way.
/// </summary>
internal sealed class MixedModel
{
    public readonly Block<GaussianParameters> Gauss;
    public readonly Block<PoissonParameters> Counts = Blocks.Poisson("counts", [2]);
    public readonly Block<CategoricalParameters> Colour = Blocks.Categorical("colour", [3], 3);
    public readonly Block<BernoulliParameters> Flags = Blocks.Bernoulli("flags", [4, 5]);
    public readonly MixtureModel Model;

    public MixedModel(CovarianceType covariance = CovarianceType.Full)
    {
        Gauss = Blocks.Gaussian("gauss", [0, 1], covariance);
        Model = Mixture.WithComponents(2).Observe(Gauss).Observe(Counts).Observe(Colour).Observe(Flags).Build();
    }

    /// <summary>Rows from the true mixture: weights 0.6/0.4, well but not perfectly separated.</summary>
    public static DataMatrix Data(int rows, int seed)
    {
        var r = new Random(seed);
        var data = new double[rows][];
        for (int i = 0; i < rows; i++)
        {
            bool b = r.NextDouble() < 0.4;
            var g = b ? SampleMvn(r, [3, -1], new double[,] { { 1.0, 0.3 }, { 0.3, 0.5 } }) : SampleMvn(r, [0, 0], new double[,] { { 1.0, -0.4 }, { -0.4, 2.0 } });
            double count = MathNet.Numerics.Distributions.Poisson.Sample(r, b ? 7 : 2);
            int colour = SampleIndex(r, b ? [0.1, 0.3, 0.6] : [0.5, 0.3, 0.2]);
            double f1 = r.NextDouble() < (b ? 0.8 : 0.3) ? 1 : 0, f2 = r.NextDouble() < (b ? 0.2 : 0.6) ? 1 : 0;
            data[i] = [g[0], g[1], count, colour, f1, f2];
        }
        return DataMatrix.FromRows(data);
    }

    /// <summary>A deliberately rough starting point (different from the truth).</summary>
    public ParameterInitialization Start()
    {
        var cov = new double[,] { { 2, 0 }, { 0, 2 } }; // valid for every covariance type
        return Initialization.FromParameters([0.5, 0.5])
            .With(Gauss, [new GaussianParameters([-0.5, 0.5], cov), new GaussianParameters([2, -2], cov)])
            .With(Counts, [new PoissonParameters([3]), new PoissonParameters([5])])
            .With(Colour, [new CategoricalParameters([0.4, 0.3, 0.3]), new CategoricalParameters([0.3, 0.3, 0.4])])
            .With(Flags, [new BernoulliParameters([0.4, 0.5]), new BernoulliParameters([0.6, 0.4])]);
    }

    /// <summary>Untyped initial records of one block, as the block runtimes take them.</summary>
    public IReadOnlyList<object> StartRecords(Block block) => block.Name switch
    {
        "gauss" => [new GaussianParameters([-0.5, 0.5], new double[,] { { 2, 0 }, { 0, 2 } }), new GaussianParameters([2, -2], new double[,] { { 2, 0 }, { 0, 2 } })],
        "counts" => [new PoissonParameters([3]), new PoissonParameters([5])],
        "colour" => [new CategoricalParameters([0.4, 0.3, 0.3]), new CategoricalParameters([0.3, 0.3, 0.4])],
        _ => [new BernoulliParameters([0.4, 0.5]), new BernoulliParameters([0.6, 0.4])],
    };

    public FitOptions Options(int iterations = 25) =>
        FitOptions.Default with { Initialization = Start(), MaxIterations = iterations, Tolerance = 0 };
}
