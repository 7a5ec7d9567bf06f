using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Inference;

namespace EmDsl.Tests.Numerics;

/// <summary>
/// The vector support scan that validates a fit's data (ExponentialFamily.AllValuesInSupport) says yes exactly when
/// the row-by-row CheckSupport accepts every value, and a fit that it sends to the row-by-row check still names the
/// first bad row and column.
/// </summary>
public class SupportScanTests
{
    private static readonly double[] Pool =
    [
        0, -0.0, 1, 2, 3, 0.5, -1, -0.5, 1e300, -1e300, double.Epsilon, 1 - 1e-16, 1 + 2.2e-16,
        9007199254740991, 9007199254740992, 4503599627370496.5, double.NaN, double.PositiveInfinity, double.NegativeInfinity,
    ];

    public static TheoryData<string> Families => new() { "Bernoulli", "Poisson", "NegativeBinomial", "Gaussian" };

    private static ExponentialFamily Family(string name) => name switch
    {
        "Bernoulli" => new BernoulliFamily(1),
        "Poisson" => new PoissonFamily(1),
        "NegativeBinomial" => new NegativeBinomialFamily(1, 2.5),
        _ => new GaussianFamily(1, CovarianceStructure.Full),
    };

    [Theory]
    [MemberData(nameof(Families))]
    public void TheScanAcceptsExactlyWhatTheRowCheckAccepts(string name)
    {
        var family = Family(name);
        var random = new Random(4711);
        for (int trial = 0; trial < 3000; trial++)
        {
            int n = random.Next(0, 71);
            // Mostly values in the support, so that whole spans pass; now and then one value from anywhere in the pool.
            var values = Enumerable.Range(0, n).Select(_ => random.Next(8) == 0 ? Pool[random.Next(Pool.Length)] : random.Next(2)).ToArray();
            bool expected = values.All(v => family.CheckSupport([v]) is null);
            Assert.Equal(expected, family.AllValuesInSupport(values));
        }
        foreach (double v in Pool) Assert.Equal(family.CheckSupport([v]) is null, family.AllValuesInSupport([0, 1, 0, 1, v, 1, 0]));
    }

    [Theory]
    [InlineData(0, 6)] // the block reads all the data's columns: one scan of the whole data
    [InlineData(2, 3)] // the block reads columns 2..4 of 6: one scan per row
    public void AFitStillNamesTheFirstBadRowAndColumn(int first, int width)
    {
        var random = new Random(17);
        var rows = Enumerable.Range(0, 5000).Select(_ => Enumerable.Range(0, 6).Select(_ => (double)random.Next(2)).ToArray()).ToArray();
        rows[4321][first + 1] = 2;
        rows[4999][first] = 0.5;
        var block = Blocks.Bernoulli("flags", Enumerable.Range(first, width));
        var model = Mixture.WithComponents(2).Observe(block).Build();
        var e = Assert.Throws<ArgumentException>(() => model.Fit(DataMatrix.FromRows(rows)));
        Assert.Contains($"Row 4321, column {first + 1}", e.Message);
        Assert.Contains("is not 0 or 1", e.Message);

        var counts = Blocks.Poisson("counts", Enumerable.Range(first, width));
        rows[4321][first + 1] = 1;
        rows[4999][first] = 1;
        rows[17][first + width - 1] = -3;
        var poisson = Mixture.WithComponents(2).Observe(counts).Build();
        var p = Assert.Throws<ArgumentException>(() => poisson.Fit(DataMatrix.FromRows(rows)));
        Assert.Contains($"Row 17, column {first + width - 1}", p.Message);
    }
}
