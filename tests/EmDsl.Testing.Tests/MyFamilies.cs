using EmDsl.AutoDiff;
using EmDsl.Families;

namespace MyModels;

/// <summary>
/// Families a user writes: the Rayleigh distribution declared by its ingredients, and a Poisson family written by
/// hand as a subclass (the way one writes a family EmDsl cannot declare), with a switch that breaks its M-step.
/// </summary>
public static class MyFamilies
{
    /// <summary>
    /// Rayleigh: p(x | σ) = x/σ² exp(−x²/2σ²) for x &gt; 0; T(x) = x², η = −1/(2σ²) &lt; 0, A(η) = −log(−2η), log h = log x.
    /// </summary>
    public static DeclaredFamily Rayleigh() =>
        DeclaredFamily.Declare("Rayleigh", 1, x => x.Square(), eta => -(-2 * eta).Log().Sum(), NaturalDomain.Coordinates(NaturalConstraint.Negative))
            .WithLogBaseMeasure(x => x.Log())
            .WithSupport(ColumnSupport.Positive)
            .WithMeanDomain(m => m[0] > 0)
            .Build();
}

/// <summary>
/// A one-column Poisson family written by hand. With <c>meanScale</c> ≠ 1 its inverse mean map is wrong — the rate
/// it returns for mean μ is meanScale·μ — the kind of bug a hand-written M-step has; with <c>meanMapScale</c> ≠ 1 its
/// mean map (∇A) is wrong.
/// </summary>
public sealed class HandWrittenPoisson(double meanScale = 1, double meanMapScale = 1) : ExponentialFamily<PoissonParameters>
{
    public override string Name => meanScale == 1 && meanMapScale == 1 ? "hand-written Poisson" : "broken hand-written Poisson";
    public override int Dimension => 1;
    public override int StatisticCount => 1;
    public override void SufficientStatistics(ReadOnlySpan<double> x, Span<double> statistics) => statistics[0] = x[0];
    public override double LogBaseMeasure(ReadOnlySpan<double> x) => -MathNet.Numerics.SpecialFunctions.GammaLn(x[0] + 1);
    public override SupportViolation? CheckSupport(ReadOnlySpan<double> x) =>
        x[0] >= 0 && Math.Floor(x[0]) == x[0] ? null : new SupportViolation(0, $"{x[0]} is not a count");
    public override double LogNormalizer(ReadOnlySpan<double> eta) => Math.Exp(eta[0]);
    public override void MeanMap(ReadOnlySpan<double> eta, Span<double> mean) => mean[0] = meanMapScale * Math.Exp(eta[0]);
    public override void InverseMeanMap(ReadOnlySpan<double> mean, Span<double> eta) => eta[0] = Math.Log(meanScale * mean[0]);
    public override bool IsNaturalParameter(ReadOnlySpan<double> eta) => double.IsFinite(eta[0]) && eta[0] < 700;
    public override bool IsMeanParameter(ReadOnlySpan<double> mean) => mean[0] > 0 && double.IsFinite(mean[0]);
    public override void ProjectMeanIntoDomain(Span<double> mean, double floor) => mean[0] = Math.Max(mean[0], floor);
    public override double[] ToNatural(PoissonParameters parameters) => [Math.Log(parameters.Rates[0])];
    public override PoissonParameters FromNatural(ReadOnlySpan<double> eta) => new([Math.Exp(eta[0])]);
    public override void Sample(ReadOnlySpan<double> eta, Random random, Span<double> x) =>
        x[0] = MathNet.Numerics.Distributions.Poisson.Sample(random, Math.Exp(eta[0]));
}
