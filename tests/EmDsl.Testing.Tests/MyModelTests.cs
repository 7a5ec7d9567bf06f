using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Inference;
using EmDsl.Testing;
using FsCheck;
using FsCheck.Fluent;

namespace MyModels;

/// <summary>
/// A user's own models, property-tested with EmDsl.Testing: the free energy never falls, the E-step closes the gap,
/// and the declared family's ∇A matches finite differences — from xunit facts and from FsCheck properties.
/// </summary>
public class MyModelTests
{
    private static readonly DeclaredFamily Rayleigh = MyFamilies.Rayleigh();
    private static readonly Block<NaturalParameters> Wind = Blocks.FromFamily("wind", [0], Rayleigh);
    private static readonly Block<PoissonParameters> Gusts = Blocks.FromFamily("gusts", [1], new HandWrittenPoisson());

    /// <summary>Rayleigh draws with scale σ = 1 or 3 (by inversion) and Poisson counts with rate 2 or 9, by regime.</summary>
    private static double[] Row(Random r, int regime) =>
        [(regime == 0 ? 1 : 3) * Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())), MathNet.Numerics.Distributions.Poisson.Sample(r, regime == 0 ? 2 : 9)];

    private static DataMatrix Rows(Random r) => DataMatrix.FromRows(Enumerable.Range(0, 200 + r.Next(200)).Select(_ => Row(r, r.Next(2))));

    private static SequenceData Sequences(Random r)
    {
        var sequences = new List<DataMatrix>();
        for (int s = 0; s < 1 + r.Next(4); s++)
        {
            int regime = r.Next(2);
            sequences.Add(DataMatrix.FromRows(Enumerable.Range(0, 50 + r.Next(100)).Select(_ =>
            {
                if (r.NextDouble() < 0.1) regime = 1 - regime;
                return Row(r, regime);
            })));
        }
        return SequenceData.FromMatrices(sequences);
    }

    [Fact]
    public void MixtureKeepsEmsGuarantees() =>
        EmProperties.CheckModel(Mixture.WithComponents(2).Observe(Wind, Gusts).Build(), Rows, cases: 10).ThrowIfViolated();

    [Fact]
    public void HiddenMarkovModelKeepsEmsGuarantees() =>
        EmProperties.CheckModel(HiddenMarkov.WithStates(2).Observe(Wind, Gusts).Build(), Sequences, cases: 10).ThrowIfViolated();

    [Fact]
    public void MyFamiliesObeyTheLawsOfExponentialFamilies()
    {
        EmProperties.CheckFamily(Rayleigh, r => [-(0.05 + 2 * r.NextDouble())]).ThrowIfViolated();
        EmProperties.CheckFamily(new HandWrittenPoisson(), r => [4 * r.NextDouble() - 2]).ThrowIfViolated();
    }

    /// <summary>The same check as an FsCheck property over seeds: a fit in exact mode keeps EM's guarantees.</summary>
    [Fact]
    public void FsCheckPropertyOverGeneratedData()
    {
        var model = Mixture.WithComponents(3).Observe(Wind, Gusts).Build();
        var property = Prop.ForAll(Arb.From(Gen.Choose(0, 100_000)), seed =>
            EmProperties.EmGuarantees(model.Fit(Rows(new Random(seed)), EmProperties.ExactMode(iterations: 30))).Holds);
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(25), property);
    }
}
