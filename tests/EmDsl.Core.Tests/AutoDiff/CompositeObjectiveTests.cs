using EmDsl.AutoDiff;
using EmDsl.Tests.Families;
using FsCheck.Fluent;

namespace EmDsl.Tests.AutoDiff;

/// <summary>
/// Composite functions of the kind the engine differentiates — EM M-step objectives over data — against central
/// differences and against their hand-derived gradients.
/// </summary>
public class CompositeObjectiveTests
{
    private sealed record Problem(int N, int D, int K, double[] X, double[] Y, double[] R, int[] Labels, double[] B);

    /// <summary>Random data: X N×D, Y N×K in {0, 1}, responsibilities R N×K (rows sum to 1), labels, coefficients D×K.</summary>
    private static FsCheck.Arbitrary<Problem> Problems =>
        (from n in Gen.Choose(1, 12)
         from d in Gen.Choose(1, 4)
         from k in Gen.Choose(1, 4)
         from seed in Gens.Seed
         select Make(n, d, k, seed)).ToArbitrary();

    private static Problem Make(int n, int d, int k, int seed)
    {
        var r = new Random(seed);
        var resp = Enumerable.Range(0, n).SelectMany(_ => r.ProbabilityVector(k)).ToArray();
        return new Problem(n, d, k, r.Vector(n * d, -2, 2), Enumerable.Range(0, n * k).Select(_ => (double)r.Next(2)).ToArray(),
            resp, Enumerable.Range(0, n).Select(_ => r.Next(k)).ToArray(), r.Vector(d * k, -1, 1));
    }

    /// <summary>Xᵀ·G for X N×D and G N×K (by loops).</summary>
    private static double[] XtG(Problem p, Func<int, int, double> g)
    {
        var result = new double[p.D * p.K];
        for (int a = 0; a < p.D; a++)
            for (int c = 0; c < p.K; c++)
                for (int i = 0; i < p.N; i++) result[a * p.K + c] += p.X[i * p.D + a] * g(i, c);
        return result;
    }

    private static double Eta(Problem p, int i, int c) => Enumerable.Range(0, p.D).Sum(a => p.X[i * p.D + a] * p.B[a * p.K + c]);

    [Fact]
    public void BernoulliGlmObjectiveHasGradientXtTimesRTimesYMinusSigma() =>
        PropertyChecks.ForAll(Problems, p =>
        {
            // Q(B) = Σ R ∘ (Y ∘ XB − softplus(XB)); ∇Q = Xᵀ (R ∘ (Y − σ(XB))).
            var x = Var.Constant(p.X, p.N, p.D);
            var y = Var.Constant(p.Y, p.N, p.K);
            var r = Var.Constant(p.R, p.N, p.K);
            Func<Var, Var> q = b =>
            {
                var eta = x.MatMul(b);
                return (r * (y * eta - eta.Softplus())).Sum();
            };
            var report = AutoDiffAssert.Gradient(q, p.B, p.D, p.K, "GLM Q(B)");
            double value = 0;
            for (int i = 0; i < p.N; i++)
                for (int c = 0; c < p.K; c++)
                {
                    double eta = Eta(p, i, c);
                    value += p.R[i * p.K + c] * (p.Y[i * p.K + c] * eta - Math.Log(1 + Math.Exp(eta)));
                }
            Approx.Equal(value, report.Value, 1e-12, 1e-12, "Q(B)");
            var expected = XtG(p, (i, c) => p.R[i * p.K + c] * (p.Y[i * p.K + c] - 1 / (1 + Math.Exp(-Eta(p, i, c)))));
            Approx.Vector(expected, report.Analytic, 1e-12, "Xᵀ(R ∘ (Y − σ(XB)))");
        });

    [Fact]
    public void GatingObjectiveHasGradientXtTimesRMinusSoftmaxTimesRowTotals() =>
        PropertyChecks.ForAll(Problems, p =>
        {
            // G(V) = Σ R ∘ log softmax_rows(XV); ∇G = Xᵀ (R − P ∘ rowsum(R)), P = softmax_rows(XV).
            var x = Var.Constant(p.X, p.N, p.D);
            var r = Var.Constant(p.R, p.N, p.K);
            var report = AutoDiffAssert.Gradient(v => (r * x.MatMul(v).LogSoftmaxRows()).Sum(), p.B, p.D, p.K, "gating G(V)");
            double Softmax(int i, int c) => Math.Exp(Eta(p, i, c)) / Enumerable.Range(0, p.K).Sum(j => Math.Exp(Eta(p, i, j)));
            double RowTotal(int i) => Enumerable.Range(0, p.K).Sum(j => p.R[i * p.K + j]);
            Approx.Vector(XtG(p, (i, c) => p.R[i * p.K + c] - Softmax(i, c) * RowTotal(i)), report.Analytic, 1e-12, "Xᵀ(R − P ∘ rowsum R)");
        });

    [Fact]
    public void SoftmaxRegressionLogLikelihoodThreeWays() =>
        PropertyChecks.ForAll(Problems, p =>
        {
            // ℓ(W) = Σ_i log softmax(x_i W)[y_i], by one-hot weights, by a per-row gather, and by x·w − log Σ exp.
            var x = Var.Constant(p.X, p.N, p.D);
            var oneHot = Var.OneHot(p.Labels, p.K);
            var byOneHot = AutoDiffAssert.Gradient(w => (oneHot * x.MatMul(w).LogSoftmaxRows()).Sum(), p.B, p.D, p.K, "one-hot ℓ(W)");
            var byGather = AutoDiffAssert.Gradient(w => x.MatMul(w).LogSoftmaxRows().SelectPerRow(p.Labels).Sum(), p.B, p.D, p.K, "gathered ℓ(W)");
            var byParts = AutoDiffAssert.Gradient(w =>
            {
                var eta = x.MatMul(w);
                return eta.SelectPerRow(p.Labels).Sum() - eta.RowLogSumExp().Sum();
            }, p.B, p.D, p.K, "x·w_y − LSE");
            Approx.Equal(byOneHot.Value, byGather.Value, 1e-13, 1e-13, "one-hot vs gather value");
            Approx.Equal(byOneHot.Value, byParts.Value, 1e-12, 1e-12, "one-hot vs parts value");
            Approx.Vector(byOneHot.Analytic, byGather.Analytic, 1e-13, "one-hot vs gather gradient");
            Approx.Vector(byOneHot.Analytic, byParts.Analytic, 1e-12, "one-hot vs parts gradient");
        });

    [Fact]
    public void LogSumExpOfAMatrixProductAndAGaussianLikeObjective() =>
        PropertyChecks.ForAll(Problems, p =>
        {
            var x = Var.Constant(p.X, p.N, p.D);
            AutoDiffAssert.Gradient(w => x.MatMul(w).LogSumExp(), p.B, p.D, p.K, "LSE(XW)");
            AutoDiffAssert.Gradient(w => x.MatMul(w).ColumnLogSumExp().Sum() + x.MatMul(w).Transpose().RowLogSumExp().Mean(), p.B, p.D, p.K, "column LSEs two ways");
            // A log-density-like objective in (μ, log σ) packed as a 2×K matrix, with data Y N×K.
            var y = Var.Constant(p.Y.Select((v, i) => v + p.X[i % p.X.Length]).ToArray(), p.N, p.K);
            var start = p.B.Take(p.K).Concat(p.B.Take(p.K).Select(v => 0.3 * v)).ToArray();
            AutoDiffAssert.Gradient(theta =>
            {
                var mu = theta.RowRange(0, 1);
                var logSigma = theta.RowRange(1, 1);
                var z = (y - mu) / logSigma.Exp();
                return (-0.5 * z.Square() - logSigma).Sum() + (theta.Columns(0, 1).Square().Sum() * -0.01);
            }, start, 2, p.K, "Gaussian log-likelihood in (μ, log σ)");
        });
}
