using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Families.Priors;
using EmDsl.Inference;

namespace EmDsl.Tests.Engine;

/// <summary>
/// Categorical blocks are evaluated by lookups (η_k at each row's category) and their statistics summed by index, not
/// through the rows × S matrix T (issue 8: 20 000 categories on 10 000 rows needed 2 GB; now 80 MB). These tests check
/// that path against a hand-written oracle of the same mixture — per-row log-densities, and one EM step with a Dirichlet
/// prior, sample weights and rows whose block is missing — for the integer code, a contiguous one-hot block and a
/// one-hot block whose columns are out of order among other columns.
/// </summary>
public sealed class IndicatorStatisticsTests
{
    private const int Rows = 240, Categories = 300, K = 3;

    public enum Layout { Integer, OneHot, ScatteredOneHot }

    [Theory]
    [InlineData(Layout.Integer)]
    [InlineData(Layout.OneHot)]
    [InlineData(Layout.ScatteredOneHot)]
    public void OneStepEqualsTheHandWrittenMixture(Layout layout)
    {
        var random = new Random(11);
        var codes = new int[Rows];
        var missing = new bool[Rows];
        var weights = new double[Rows];
        for (int i = 0; i < Rows; i++)
        {
            codes[i] = random.NextDouble() < 0.7 ? (i % K) * 40 + random.Next(40) : random.Next(Categories);
            missing[i] = random.NextDouble() < 0.1;
            weights[i] = 0.5 + random.NextDouble();
        }
        codes[0] = Categories - 1; // the reference category, whose T is 0
        missing[0] = false;

        // The data: one code column, or C one-hot columns (scattered: reversed, after a constant column).
        int width = layout == Layout.Integer ? 1 : layout == Layout.OneHot ? Categories : Categories + 1;
        int[] columns = layout switch
        {
            Layout.Integer => [0],
            Layout.OneHot => Enumerable.Range(0, Categories).ToArray(),
            _ => Enumerable.Range(0, Categories).Select(j => Categories - j).ToArray(),
        };
        var values = new double[Rows, width];
        var observed = new bool[Rows, width];
        for (int i = 0; i < Rows; i++)
        {
            for (int c = 0; c < width; c++) observed[i, c] = true;
            if (layout == Layout.Integer) values[i, 0] = codes[i];
            else values[i, columns[codes[i]]] = 1;
            if (!missing[i]) continue;
            foreach (int c in columns) observed[i, c] = false;
        }
        var data = DataMatrix.WithMissing(values, observed);

        var prior = DirichletPrior.Symmetric(Categories, 1.5);
        var block = Blocks.Categorical("c", columns, Categories, prior);
        var model = Mixture.WithComponents(K).Observe(block).Build();
        var pi = new[] { 0.5, 0.3, 0.2 };
        var p = new double[K][];
        for (int k = 0; k < K; k++)
        {
            p[k] = Enumerable.Range(0, Categories).Select(j => 0.2 + random.NextDouble() + (j / 40 == k ? 3 : 0)).ToArray();
            double s = p[k].Sum();
            for (int j = 0; j < Categories; j++) p[k][j] /= s;
        }
        var start = Initialization.FromParameters(pi).With(block, p.Select(v => new CategoricalParameters(v)).ToArray());
        var options = FitOptions.Default with
        {
            Initialization = start, Tolerance = 0, RunAllIterations = true, MissingValues = MissingValuePolicy.Marginalize,
        };

        // Per-row log-densities at the start: log Σ_k π_k p_k[c_n], and 0 for a row whose block is missing.
        var atStart = model.Fit(data, options with { MaxIterations = 0 }, weights);
        var scores = atStart.ScoreSamples(data);
        var oracleLog = new double[Rows];
        var responsibilities = new double[Rows, K];
        for (int i = 0; i < Rows; i++)
        {
            var joint = Enumerable.Range(0, K).Select(k => Math.Log(pi[k]) + (missing[i] ? 0 : Math.Log(p[k][codes[i]]))).ToArray();
            double max = joint.Max(), lse = max + Math.Log(joint.Sum(v => Math.Exp(v - max)));
            oracleLog[i] = missing[i] ? 0 : lse;
            for (int k = 0; k < K; k++) responsibilities[i, k] = Math.Exp(joint[k] - lse);
            Assert.True(Math.Abs(scores[i] - oracleLog[i]) <= 1e-12 * Math.Max(1, Math.Abs(oracleLog[i])),
                $"{layout}: row {i} scores {scores[i]:G17}, the oracle {oracleLog[i]:G17}.");
        }

        // One EM step: π_k ∝ Σ w r, p_kj = (Σ w r [c = j] + α_j − 1) / (Σ w r + Σα − C) with a missing row's expected
        // indicator the state's own p_k (it adds w r p_kj).
        var one = model.Fit(data, options with { MaxIterations = 1 }, weights);
        var fitted = one.Parameters(block);
        double total = weights.Sum();
        for (int k = 0; k < K; k++)
        {
            double mass = 0;
            var counts = new double[Categories];
            for (int i = 0; i < Rows; i++)
            {
                double wr = weights[i] * responsibilities[i, k];
                mass += wr;
                if (missing[i]) for (int j = 0; j < Categories; j++) counts[j] += wr * p[k][j];
                else counts[codes[i]] += wr;
            }
            Assert.Equal(mass / total, one.Weights[k], 1e-12);
            for (int j = 0; j < Categories; j++)
            {
                double expected = (counts[j] + 0.5) / (mass + 0.5 * Categories);
                Assert.True(Math.Abs(fitted[k].Probabilities[j] - expected) <= 1e-12 * expected + 1e-15,
                    $"{layout}: component {k}, category {j}: {fitted[k].Probabilities[j]:G17}, the oracle {expected:G17}.");
            }
        }
    }
}
