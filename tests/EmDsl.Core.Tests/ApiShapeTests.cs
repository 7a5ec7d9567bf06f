using System.Reflection;
using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Inference;

namespace EmDsl.Tests;

/// <summary>Small guarantees of the public API's shape that F# and C# users rely on.</summary>
public class ApiShapeTests
{
    [Fact]
    public void FitOptionsCopyConstructorCopiesEveryProperty()
    {
        // Give every settable property a non-default value, then copy: a property added later but
        // forgotten in the copy constructor makes this fail.
        var changed = new FitOptions
        {
            MaxIterations = 7, Tolerance = 0.5, Restarts = 3, Seed = 11, Initialization = Initialization.KMeansPlusPlus(2),
            CovarianceFloor = 0.25, Floors = FloorStrategy.MatchScikitLearn, ProbabilityFloor = 0.01, EmptyComponentThreshold = 0.125, ChunkRows = 9, MaxDegreeOfParallelism = 2,
            MStepOptimizer = new EmDsl.Optimization.OptimizerOptions { Method = EmDsl.Optimization.OptimizerMethod.Newton, MaxIterations = 3 }, CheckMSteps = false,
            MissingValues = MissingValuePolicy.Marginalize,
            RunAllIterations = true, KnownLabels = [0, -1], Frozen = new FrozenParameters { Weights = true }, StartSampleRows = 5,
        };
        var defaults = FitOptions.Default;
        var copy = new FitOptions(changed);
        foreach (var p in typeof(FitOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
        {
            Assert.NotEqual(p.GetValue(defaults), p.GetValue(changed));
            Assert.Equal(p.GetValue(changed), p.GetValue(copy));
        }
        Assert.Equal(changed, copy);
    }

    [Fact]
    public void ParameterRecordsCompareByValueAndPrintTheirNumbers()
    {
        var a = new GaussianParameters([1.5, 2], new double[,] { { 1, 0.5 }, { 0.5, 2 } });
        var b = new GaussianParameters([1.5, 2], new double[,] { { 1, 0.5 }, { 0.5, 2 } });
        var c = new GaussianParameters([1.5, 2.5], new double[,] { { 1, 0.5 }, { 0.5, 2 } });
        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, c);
        Assert.Equal("GaussianParameters { Mean = [1.5, 2], Covariance = [[1, 0.5], [0.5, 2]] }", a.ToString());
        Assert.Equal("PoissonParameters { Rates = [0.5, 3] }", new PoissonParameters([0.5, 3]).ToString());
        BernoulliParameters first = new([0.25]), second = new([0.25]);
        Assert.NotSame(first, second);
        Assert.Equal(first, second); // value equality, not reference equality
        Assert.NotEqual(new CategoricalParameters([0.25, 0.75]), new CategoricalParameters([0.75, 0.25]));
        Assert.Equal([0.5, 2], a.Covariance.GetRow(1));
    }

    [Fact]
    public void UntypedParametersByBlockNameMatchTheTypedHandle()
    {
        var data = OldFaithfulReferenceTests.OldFaithful();
        var geyser = Blocks.Gaussian("geyser", [0, 1]);
        var fit = Mixture.WithComponents(2).Observe(geyser).Build().Fit(data, FitOptions.Default with { MaxIterations = 5 });
        Assert.Equal(fit.Parameters(geyser).Cast<object>(), fit.Parameters("geyser"));
        var e = Assert.Throws<ArgumentException>(() => fit.Parameters("nope"));
        Assert.Contains("'nope'", e.Message);
        Assert.Contains("geyser", e.Message);
    }

    [Fact]
    public void ObserveTakesSeveralBlocksInOrder()
    {
        var a = Blocks.Poisson("a", [0]);
        var b = Blocks.Bernoulli("b", [1]);
        var model = Mixture.WithComponents(2).Observe(a, b).Build();
        Assert.Equal(["a", "b"], model.Blocks.Select(x => x.Name));
        Assert.Throws<ArgumentNullException>(() => Mixture.WithComponents(2).Observe(a, null!));
    }
}
