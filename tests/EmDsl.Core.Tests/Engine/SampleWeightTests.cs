using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Inference;
using static EmDsl.Tests.Engine.EngineFixtures;

namespace EmDsl.Tests.Engine;

/// <summary>A sample weight w on a row is the same as the row appearing w times; weight 0 is the row's absence.</summary>
public class SampleWeightTests
{
    private static DataMatrix Repeat(DataMatrix data, IReadOnlyList<int> times) =>
        DataMatrix.FromRows(Enumerable.Range(0, data.Rows).SelectMany(i => Enumerable.Repeat(data.GetRow(i), times[i])).ToArray());

    [Theory]
    [InlineData(CovarianceType.Full)]
    [InlineData(CovarianceType.Tied)]
    [InlineData(CovarianceType.Diagonal)]
    [InlineData(CovarianceType.Spherical)]
    public void IntegerWeightsEqualDuplicatedRows(CovarianceType covariance)
    {
        var m = new MixedModel(covariance);
        var data = MixedModel.Data(120, seed: 51);
        var r = new Random(52);
        var times = Enumerable.Range(0, data.Rows).Select(_ => r.Next(1, 5)).ToArray();
        var weighted = m.Model.Fit(data, m.Options(12), times.Select(t => (double)t).ToArray());
        var duplicated = m.Model.Fit(Repeat(data, times), m.Options(12));
        Assert.Equal(12, weighted.Iterations);
        Assert.Equal(duplicated.Iterations, weighted.Iterations);
        Assert.Equal(times.Sum(), weighted.TotalWeight);
        AssertClose(duplicated.ObjectiveTrace, weighted.ObjectiveTrace, 1e-9, "trace");
        AssertClose(AllValues(duplicated), AllValues(weighted), 1e-9, "parameters");
        Assert.Equal(duplicated.BayesianInformationCriterion, weighted.BayesianInformationCriterion, 1e-9 * Math.Abs(duplicated.BayesianInformationCriterion));
    }

    [Fact]
    public void IntegerWeightsEqualDuplicatedRowsUnderPriorsAndSharing()
    {
        var gauss = Blocks.Gaussian("g", [0, 1], CovarianceType.Full, new EmDsl.Families.Priors.GaussianPrior([0, 0], 1, Data.ReadOnlyMatrix.Identity(2), 4));
        var counts = Blocks.Poisson("c", [2], new EmDsl.Families.Priors.GammaPrior(2, 1), Sharing.Shared);
        var model = Mixture.WithComponents(3).Observe(gauss).Observe(counts).WithWeightPrior(1.5).Build();
        var data = MixedModel.Data(90, seed: 53);
        var r = new Random(54);
        var times = Enumerable.Range(0, data.Rows).Select(_ => r.Next(1, 4)).ToArray();
        var options = FitOptions.Default with { Seed = 5, MaxIterations = 10, Tolerance = 0, Initialization = Initialization.KMeansPlusPlus(0) };
        var start = model.Fit(data, options with { MaxIterations = 0 });
        options = options with { Initialization = Initialization.FromFit(start) };
        var weighted = model.Fit(data, options, times.Select(t => (double)t).ToArray());
        var duplicated = model.Fit(Repeat(data, times), options);
        AssertClose(duplicated.ObjectiveTrace, weighted.ObjectiveTrace, 1e-9, "trace");
        AssertClose(AllValues(duplicated), AllValues(weighted), 1e-9, "parameters");
        Assert.Equal(duplicated.LogPrior, weighted.LogPrior, 1e-9);
    }

    [Fact]
    public void ZeroWeightEqualsRemovingTheRow()
    {
        var m = new MixedModel();
        var data = MixedModel.Data(100, seed: 55);
        int[] dropped = [0, 17, 42, 99];
        var w = Enumerable.Range(0, data.Rows).Select(i => dropped.Contains(i) ? 0.0 : 1.0).ToArray();
        var weighted = m.Model.Fit(data, m.Options(12), w);
        var removed = m.Model.Fit(DataMatrix.FromRows(Enumerable.Range(0, data.Rows).Where(i => !dropped.Contains(i)).Select(data.GetRow).ToArray()), m.Options(12));
        Assert.Equal(96, weighted.TotalWeight);
        AssertClose(removed.ObjectiveTrace, weighted.ObjectiveTrace, 1e-9, "trace");
        AssertClose(AllValues(removed), AllValues(weighted), 1e-9, "parameters");
    }

    /// <summary>A zero-weight outlier must not pull anything, even the Gaussian block's centring origin.</summary>
    [Fact]
    public void ZeroWeightOutlierChangesNothing()
    {
        var data = TwoClusters(80, seed: 56);
        var withOutlier = DataMatrix.FromRows(Enumerable.Range(0, data.Rows).Select(data.GetRow).Append([1e7, -1e7]).ToArray());
        var block = Blocks.Gaussian("g", [0, 1]);
        var model = Mixture.WithComponents(2).Observe(block).Build();
        var init = Initialization.FromParameters([0.5, 0.5]).With(block,
            [GaussianParameters(0, 0), GaussianParameters(5, -3)]);
        var options = FitOptions.Default with { Initialization = init, MaxIterations = 15, Tolerance = 0 };
        var a = model.Fit(data, options);
        var b = model.Fit(withOutlier, options, Enumerable.Repeat(1.0, data.Rows).Append(0).ToArray());
        AssertClose(a.ObjectiveTrace, b.ObjectiveTrace, 1e-9, "trace");
        AssertClose(AllValues(a), AllValues(b), 1e-9, "parameters");

        static EmDsl.Families.GaussianParameters GaussianParameters(double x, double y) => EmDsl.Families.GaussianParameters.WithVariances([x, y], [1, 1]);
    }
}
