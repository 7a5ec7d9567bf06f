using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Families.Priors;
using EmDsl.Inference;
using static EmDsl.Tests.Engine.EngineFixtures;

namespace EmDsl.Tests.Engine;

/// <summary>
/// Adding a constant to the data (and to the starting means) changes nothing but the fitted means: the Gaussian
/// block centres its statistics on the data mean, so 10⁶ + x does not lose the digits of x in x².
/// </summary>
public class ShiftInvarianceTests
{
    private const double Shift = 1e6;

    private static DataMatrix Shifted(DataMatrix data, double shift)
    {
        var a = data.ToArray();
        for (int i = 0; i < data.Rows; i++)
            for (int j = 0; j < data.Columns; j++) a[i, j] += shift;
        return DataMatrix.From(a);
    }

    private static GaussianParameters Start(CovarianceType type, int k, double shift)
    {
        double[][] means = [[2.0 + shift, 55.0 + shift], [4.5 + shift, 80.0 + shift]];
        return type switch
        {
            CovarianceType.Spherical => GaussianParameters.WithVariances(means[k], [15.05, 15.05]),
            _ => GaussianParameters.WithVariances(means[k], [0.1, 30.0]),
        };
    }

    private static MixtureFit FitShifted(CovarianceType type, double shift, GaussianPrior? prior = null)
    {
        var block = Blocks.Gaussian("geyser", [0, 1], type, prior);
        var options = FitOptions.Default with
        {
            Tolerance = 1e-12,
            MaxIterations = 2000,
            Initialization = Initialization.FromParameters([0.5, 0.5]).With(block, [Start(type, 0, shift), Start(type, 1, shift)]),
        };
        return Mixture.WithComponents(2).Observe(block).Build().Fit(Shifted(OldFaithful(), shift), options);
    }

    [Theory]
    [InlineData(CovarianceType.Full)]
    [InlineData(CovarianceType.Tied)]
    [InlineData(CovarianceType.Diagonal)]
    [InlineData(CovarianceType.Spherical)]
    public void OldFaithfulShiftedByAMillionGivesTheSameFit(CovarianceType type)
    {
        var plain = FitShifted(type, 0);
        var shifted = FitShifted(type, Shift);
        Assert.True(plain.Converged && shifted.Converged);
        Assert.Equal(plain.LogLikelihood, shifted.LogLikelihood, 1e-6);
        AssertClose(plain.Weights, shifted.Weights, 1e-6, "weights");
        var a = plain.Parameters((Block<GaussianParameters>)plain.Model.Blocks[0]);
        var b = shifted.Parameters((Block<GaussianParameters>)shifted.Model.Blocks[0]);
        for (int k = 0; k < 2; k++)
        {
            for (int i = 0; i < 2; i++)
                Assert.True(Math.Abs(b[k].Mean[i] - Shift - a[k].Mean[i]) <= 1e-6,
                    $"component {k}, mean {i}: {b[k].Mean[i]:G17} − 1e6 vs {a[k].Mean[i]:G17}");
            AssertClose(a[k].Covariance.ToArray().Cast<double>().ToArray(), b[k].Covariance.ToArray().Cast<double>().ToArray(), 1e-6, $"covariance {k}");
        }
        // Predictions on the shifted data agree with those on the original.
        AssertClose(plain.ScoreSamples(OldFaithful()), shifted.ScoreSamples(Shifted(OldFaithful(), Shift)), 1e-6, "ScoreSamples");
        Assert.Equal(plain.Predict(OldFaithful()), shifted.Predict(Shifted(OldFaithful(), Shift)));
    }

    /// <summary>With a prior whose mean moves with the data, MAP is shift invariant too.</summary>
    [Fact]
    public void ShiftInvarianceHoldsUnderAShiftedGaussianPrior()
    {
        GaussianPrior Prior(double shift) => new([3 + shift, 70 + shift], 2, new ReadOnlyMatrix(new double[,] { { 0.5, 0 }, { 0, 40 } }), 5);
        var plain = FitShifted(CovarianceType.Full, 0, Prior(0));
        var shifted = FitShifted(CovarianceType.Full, Shift, Prior(Shift));
        Assert.Equal(plain.Objective, shifted.Objective, 1e-6);
        Assert.Equal(plain.LogPrior, shifted.LogPrior, 1e-6);
        var a = plain.Parameters((Block<GaussianParameters>)plain.Model.Blocks[0]);
        var b = shifted.Parameters((Block<GaussianParameters>)shifted.Model.Blocks[0]);
        for (int k = 0; k < 2; k++)
            for (int i = 0; i < 2; i++) Assert.True(Math.Abs(b[k].Mean[i] - Shift - a[k].Mean[i]) <= 1e-6);
    }
}
