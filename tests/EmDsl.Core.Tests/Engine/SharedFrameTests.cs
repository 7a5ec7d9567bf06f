using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Inference;
using FsCheck;
using FsCheck.Fluent;
using static EmDsl.Tests.Engine.EngineFixtures;

namespace EmDsl.Tests.Engine;

/// <summary>
/// The Gaussian block's shared frame (one product T(x − m)·Hᵀ for the components near the shared centre m, one Rᵀ·T
/// for their statistics) against the exact per-component frames and against textbook densities: the digits it trades
/// are bounded, it is used where it should be, and a component far from m in its own units stays in its own frame.
/// </summary>
public class SharedFrameTests
{
    public static TheoryData<CovarianceType> Types => [CovarianceType.Full, CovarianceType.Tied, CovarianceType.Diagonal, CovarianceType.Spherical];

    /// <summary>Rows from K clusters of random spread and correlation in D dimensions, every value shifted by <paramref name="shift"/>.</summary>
    private static DataMatrix Clusters(Random r, int rows, int d, int k, double shift)
    {
        var centres = Enumerable.Range(0, k).Select(_ => Enumerable.Range(0, d).Select(_ => 8 * r.NextDouble() - 4).ToArray()).ToArray();
        var scales = Enumerable.Range(0, k).Select(_ => Enumerable.Range(0, d).Select(_ => 0.2 + 2 * r.NextDouble()).ToArray()).ToArray();
        var values = new double[rows, d];
        for (int i = 0; i < rows; i++)
        {
            int c = r.Next(k);
            double common = Normal(r);
            for (int j = 0; j < d; j++) values[i, j] = shift + centres[c][j] + scales[c][j] * (0.6 * common + 0.8 * Normal(r));
        }
        return DataMatrix.From(values);
    }

    private static Block<GaussianParameters> Block(int d, CovarianceType type) => Blocks.Gaussian("x", Enumerable.Range(0, d).ToArray(), type);

    private static MixtureFit Fit(DataMatrix data, int k, CovarianceType type, int iterations, bool ownFrames, Initialization? start = null)
    {
        GaussianRuntime.OwnFramesOnly.Value = ownFrames;
        try
        {
            var options = FitOptions.Default with { Seed = 3, MaxIterations = iterations, RunAllIterations = true, Tolerance = 0, ChunkRows = 64 };
            if (start is not null) options = options with { Initialization = start };
            return Mixture.WithComponents(k).Observe(Block(data.Columns, type)).Build().Fit(data, options);
        }
        finally { GaussianRuntime.OwnFramesOnly.Value = false; }
    }

    /// <summary>
    /// One EM iteration from the same parameters (those of a few iterations in own frames) with the shared frame and
    /// with every component in its own frame reaches the same log-likelihood to 1e-11, weights and means to 1e-8 of the spread (plus a few ulps
    /// of a mean at 10⁶) and covariances to 1e-7, on data near the
    /// origin and on data shifted by 10⁶ (m moves with the means, so the shift costs no digits), for every covariance
    /// type and random shapes. (One step, not ten: EM far from its optimum can amplify rounding differences, which
    /// would measure the path, not the digits the frame keeps.)
    /// </summary>
    [Theory, MemberData(nameof(Types))]
    public void SharedAndOwnFramesGiveTheSameStep(CovarianceType type)
    {
        var cases = Gen.Choose(0, 1_000_000).SelectMany(seed => Gen.Elements(0.0, 1e6).Select(shift => (seed, shift)));
        PropertyChecks.ForAll(cases.ToArbitrary(), c =>
        {
            var r = new Random(c.seed);
            int d = 1 + r.Next(5), k = 2 + r.Next(3);
            var data = Clusters(r, 400, d, k, c.shift);
            var before = Fit(data, k, type, 4, ownFrames: true);
            var start = Initialization.FromParameters(before.Weights.ToArray())
                .With(Block(d, type), before.Parameters("x").Cast<GaussianParameters>().ToArray());
            var shared = Fit(data, k, type, 1, ownFrames: false, start);
            var own = Fit(data, k, type, 1, ownFrames: true, start);
            Assert.True(GaussianRuntime.SharedComponents(shared.State.Blocks[0]) > 0, "the shared frame was not used");
            Assert.Equal(0, GaussianRuntime.SharedComponents(own.State.Blocks[0]));
            Assert.True(Math.Abs(shared.LogLikelihood - own.LogLikelihood) <= 1e-11 * Math.Abs(own.LogLikelihood),
                $"D = {d}, K = {k}, shift {c.shift}: log-likelihood {shared.LogLikelihood:R} shared, {own.LogLikelihood:R} own frames");
            var a = shared.Parameters("x").Cast<GaussianParameters>().ToArray();
            var b = own.Parameters("x").Cast<GaussianParameters>().ToArray();
            for (int j = 0; j < k; j++)
            {
                Assert.True(Math.Abs(shared.Weights[j] - own.Weights[j]) <= 1e-8, $"weight {j}: {shared.Weights[j]:R} vs {own.Weights[j]:R}");
                for (int i = 0; i < d; i++)
                {
                    double scale = Math.Sqrt(b[j].Covariance[i, i]);
                    Assert.True(Math.Abs(a[j].Mean[i] - b[j].Mean[i]) <= 1e-8 * scale + 1e-15 * Math.Abs(b[j].Mean[i]), $"component {j} mean {i}: {a[j].Mean[i]:R} vs {b[j].Mean[i]:R}");
                    // The covariance is recentred from moments about m, which cancels up to ‖δ‖²/λ_min ≤ ρ·D² (2.5·10⁵ for
                    // D = 5 at ρ = 10⁴) times its size. Soaks of 200 cases per type and backend found variances apart by up
                    // to 1.2·10⁻⁸ (seed 386373, shift 10⁶) and means by 2.5·10⁻¹⁰ of the spread; with ρ ≤ 10² still up to
                    // 5·10⁻¹⁰ (seeds 504015, 989751, 125007: one EM step's sensitivity to the log-joint's last digits).
                    for (int l = 0; l < d; l++)
                        Assert.True(Math.Abs(a[j].Covariance[i, l] - b[j].Covariance[i, l]) <= 1e-7 * scale * Math.Sqrt(b[j].Covariance[l, l]),
                            $"component {j} covariance ({i}, {l}): {a[j].Covariance[i, l]:R} vs {b[j].Covariance[i, l]:R}");
                }
            }
        }, 8);
    }

    /// <summary>ScoreSamples through the shared frame equals the textbook log density of every row to 1e-12 (relative to max(1, |log p|)).</summary>
    [Theory, MemberData(nameof(Types))]
    public void ScoresThroughTheSharedFrameAreTextbookDensities(CovarianceType type)
    {
        var r = new Random(11);
        var data = Clusters(r, 300, 3, 3, 1e6);
        var fit = Fit(data, 3, type, 5, ownFrames: false);
        Assert.Equal(3, GaussianRuntime.SharedComponents(fit.State.Blocks[0]));
        var scores = fit.ScoreSamples(data);
        for (int i = 0; i < data.Rows; i++)
        {
            double expected = LogSumExp(LogJoint(fit, data.GetRow(i)));
            Assert.True(Math.Abs(scores[i] - expected) <= 1e-12 * Math.Max(1, Math.Abs(expected)), $"row {i}: {scores[i]:R} vs textbook {expected:R}");
        }
    }

    /// <summary>
    /// A stuck sensor's cluster (variance at the floor, 10⁻⁶, 1000 from the other data) is ρ ~ 10¹² from the shared centre
    /// in its own units: it stays in its own frame, the broad component uses the shared one, and every row's score is
    /// still the textbook value.
    /// </summary>
    [Fact]
    public void AComponentFarFromTheCentreInItsOwnUnitsKeepsItsOwnFrame()
    {
        var r = new Random(44);
        var rows = new List<double[]>();
        for (int i = 0; i < 60; i++) rows.Add([Normal(r), Normal(r)]);
        for (int i = 0; i < 40; i++) rows.Add([1000.0, -1000.0]);
        var data = DataMatrix.FromRows(rows);
        foreach (var type in new[] { CovarianceType.Full, CovarianceType.Diagonal, CovarianceType.Spherical })
        {
            var fit = Fit(data, 2, type, 10, ownFrames: false);
            Assert.Equal(0, GaussianRuntime.SharedComponents(fit.State.Blocks[0])); // m is halfway: both far in their own units
            var three = Fit(DataMatrix.FromRows(rows.Concat(Enumerable.Range(0, 60).Select(_ => new[] { 990 + 5 * Normal(r), -1010 + 5 * Normal(r) }))), 3, type, 10, ownFrames: false);
            int shared = GaussianRuntime.SharedComponents(three.State.Blocks[0]);
            Assert.InRange(shared, 1, 2); // the broad components near m share it; the stuck one never does
            var all = DataMatrix.FromRows(rows);
            var scores = three.ScoreSamples(all);
            for (int i = 0; i < all.Rows; i++)
            {
                double expected = LogSumExp(LogJoint(three, all.GetRow(i)));
                Assert.True(Math.Abs(scores[i] - expected) <= 1e-9 * Math.Max(1, Math.Abs(expected)), $"{type}, row {i}: {scores[i]:R} vs textbook {expected:R}");
            }
        }
    }
}
