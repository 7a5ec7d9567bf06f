using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Families.Priors;
using FsCheck;
using FsCheck.Fluent;
using static EmDsl.Tests.Engine.EngineFixtures;

namespace EmDsl.Tests.Engine;

public enum BlockKind { Gaussian, Bernoulli, Categorical, Poisson, Exponential }

/// <summary>Description of one random block: FsCheck generates and shrinks these; everything numeric comes from the seeds.</summary>
public sealed record BlockSpec(BlockKind Kind, int Dimension, CovarianceType Covariance, bool Shared, bool WithPrior, int Categories, bool OneHot, int PriorSeed)
{
    /// <summary>Data columns the block reads.</summary>
    public int Width => Kind switch
    {
        BlockKind.Categorical => OneHot ? Categories : 1,
        _ => Dimension,
    };

    public override string ToString() =>
        $"new({nameof(BlockKind)}.{Kind}, {Dimension}, {nameof(CovarianceType)}.{Covariance}, {Shared.ToString().ToLowerInvariant()}, {WithPrior.ToString().ToLowerInvariant()}, {Categories}, {OneHot.ToString().ToLowerInvariant()}, {PriorSeed})";
}

/// <summary>Description of one random model and data set.</summary>
public sealed record MixtureCase(int K, BlockSpec[] Blocks, int Rows, int DataSeed, bool Noise, bool Weighted, bool WeightPrior, int MaxIterations, int ChunkRows)
{
    /// <summary>C# that rebuilds the case, so a counterexample can be pasted into a regression test.</summary>
    public override string ToString() =>
        $"new MixtureCase({K}, [{string.Join(", ", Blocks.Select(b => b.ToString()))}], {Rows}, {DataSeed}, {Noise.ToString().ToLowerInvariant()}, " +
        $"{Weighted.ToString().ToLowerInvariant()}, {WeightPrior.ToString().ToLowerInvariant()}, {MaxIterations}, {ChunkRows})";
}

/// <summary>Random models, priors and data for the engine properties.</summary>
internal static class RandomMixtures
{
    private static Gen<bool> Chance(int percent) => Gen.Choose(1, 100).Select(x => x <= percent);

    private static readonly Gen<BlockSpec> BlockGen =
        from kind in Gen.Elements(Enum.GetValues<BlockKind>())
        from dim in Gen.Choose(1, 3)
        from cov in Gen.Elements(Enum.GetValues<CovarianceType>())
        from shared in Chance(20)
        from prior in Chance(50)
        from categories in Gen.Choose(2, 4)
        from oneHot in Chance(50)
        from priorSeed in Gen.Choose(0, int.MaxValue)
        select new BlockSpec(kind, dim, cov, shared && cov != CovarianceType.Tied, prior, categories, oneHot, priorSeed);

    public static readonly Gen<MixtureCase> CaseGen =
        from k in Gen.Choose(1, 4)
        from blockCount in Gen.Choose(1, 3)
        from blocks in Gen.ArrayOf(BlockGen, blockCount)
        from rows in Gen.Choose(5, 200)
        from seed in Gen.Choose(0, int.MaxValue)
        from noise in Chance(25)
        from weighted in Chance(30)
        from weightPrior in Chance(40)
        from maxIterations in Gen.Choose(30, 60)
        from chunk in Gen.Elements(7, 64, 4096)
        select new MixtureCase(k, blocks, rows, seed, noise, weighted, weightPrior, maxIterations, chunk);

    /// <summary>Simpler variants of a failing case (fewer rows, blocks, iterations; fewer options).</summary>
    public static IEnumerable<MixtureCase> Shrink(MixtureCase c)
    {
        if (c.Blocks.Length > 1)
            for (int i = 0; i < c.Blocks.Length; i++)
                yield return c with { Blocks = c.Blocks.Where((_, j) => j != i).ToArray() };
        if (c.Rows / 2 >= Math.Max(5, c.K)) yield return c with { Rows = c.Rows / 2 };
        if (c.K > 1) yield return c with { K = c.K - 1 };
        if (c.Weighted) yield return c with { Weighted = false };
        if (c.WeightPrior) yield return c with { WeightPrior = false };
        if (c.MaxIterations > 30) yield return c with { MaxIterations = 30 };
        if (c.ChunkRows != 4096) yield return c with { ChunkRows = 4096 };
        for (int i = 0; i < c.Blocks.Length; i++)
        {
            var b = c.Blocks[i];
            foreach (var simpler in ShrinkBlock(b))
            {
                var blocks = (BlockSpec[])c.Blocks.Clone();
                blocks[i] = simpler;
                yield return c with { Blocks = blocks };
            }
        }
    }

    private static IEnumerable<BlockSpec> ShrinkBlock(BlockSpec b)
    {
        if (b.WithPrior) yield return b with { WithPrior = false };
        if (b.Shared) yield return b with { Shared = false };
        if (b.Dimension > 1) yield return b with { Dimension = b.Dimension - 1 };
        if (b.Categories > 2) yield return b with { Categories = b.Categories - 1 };
        if (b.OneHot) yield return b with { OneHot = false };
    }

    public static Arbitrary<MixtureCase> Arbitrary => Arb.From(CaseGen, Shrink);

    /// <summary>
    /// Cases for exact mode: data drawn from the model (no noise), 60–250 rows and K ≤ 3, so that estimates rarely
    /// degenerate without a covariance floor. Shrinking keeps at least 60 rows.
    /// </summary>
    public static readonly Gen<MixtureCase> ExactCaseGen =
        from c in CaseGen
        from k in Gen.Choose(1, 3)
        from rows in Gen.Choose(60, 250)
        select c with { K = k, Rows = rows, Noise = false };

    public static Arbitrary<MixtureCase> ExactArbitrary => Arb.From(ExactCaseGen, c => Shrink(c).Where(s => s.Rows >= 60));

    // ---------------------------------------------------------------- building

    /// <summary>The blocks of a case on consecutive columns, named b0, b1, …</summary>
    public static Block[] BuildBlocks(MixtureCase c)
    {
        var blocks = new Block[c.Blocks.Length];
        int column = 0;
        for (int i = 0; i < blocks.Length; i++)
        {
            var s = c.Blocks[i];
            var cols = Blocks.ColumnRange(column, s.Width);
            column += s.Width;
            var pr = new Random(s.PriorSeed);
            var sharing = s.Shared ? Sharing.Shared : Sharing.PerComponent;
            string name = $"b{i}";
            blocks[i] = s.Kind switch
            {
                BlockKind.Gaussian => Blocks.Gaussian(name, cols, s.Covariance, s.WithPrior ? RandomGaussianPrior(pr, s.Dimension) : null, sharing),
                BlockKind.Bernoulli => Blocks.Bernoulli(name, cols, s.WithPrior ? new BetaPrior(1 + 3 * pr.NextDouble(), 1 + 3 * pr.NextDouble()) : null, sharing),
                BlockKind.Categorical => Blocks.Categorical(name, cols, s.Categories,
                    s.WithPrior ? new DirichletPrior(Enumerable.Range(0, s.Categories).Select(_ => 1 + 2 * pr.NextDouble())) : null, sharing),
                BlockKind.Poisson => Blocks.Poisson(name, cols, s.WithPrior ? new GammaPrior(1 + 3 * pr.NextDouble(), 3 * pr.NextDouble()) : null, sharing),
                _ => Blocks.Exponential(name, cols, s.WithPrior ? new GammaPrior(1 + 3 * pr.NextDouble(), 3 * pr.NextDouble()) : null, sharing),
            };
        }
        return blocks;
    }

    /// <summary>A Gaussian prior with random κ, n, m and Ψ (sometimes zero, sometimes PSD but singular).</summary>
    public static GaussianPrior RandomGaussianPrior(Random r, int d)
    {
        double kappa = r.NextDouble() < 0.2 ? 0 : 5 * r.NextDouble();
        double n = r.NextDouble() < 0.2 ? 0 : 10 * r.NextDouble();
        var mean = Enumerable.Range(0, d).Select(_ => 3 * Normal(r)).ToArray();
        double[,] psi;
        double u = r.NextDouble();
        if (u < 0.2) psi = new double[d, d];
        else if (u < 0.35)
        {
            // rank one: v vᵀ
            var v = Enumerable.Range(0, d).Select(_ => Normal(r)).ToArray();
            psi = new double[d, d];
            for (int i = 0; i < d; i++)
                for (int j = 0; j < d; j++) psi[i, j] = v[i] * v[j];
        }
        else psi = RandomSpd(r, d, 0.2 + 2 * r.NextDouble());
        return new GaussianPrior(mean, kappa, new ReadOnlyMatrix(psi), n);
    }

    public static MixtureModel BuildModel(MixtureCase c, Block[] blocks)
    {
        var builder = Mixture.WithComponents(c.K);
        foreach (var b in blocks) builder = builder.Observe(b);
        if (c.WeightPrior && c.K > 1)
            builder = builder.WithWeightPrior(new DirichletPrior(Enumerable.Range(0, c.K).Select(i => 1 + 0.5 * i + 0.3 * (c.DataSeed % 3))));
        return builder.Build();
    }

    /// <summary>Data for a case: a random mixture of the same blocks, or structureless noise in each block's support.</summary>
    public static DataMatrix BuildData(MixtureCase c)
    {
        var r = new Random(c.DataSeed);
        int width = c.Blocks.Sum(b => b.Width);
        var rows = new double[c.Rows][];
        var weights = RandomSimplex(r, c.K, 0.1);
        // Per block and component, the true parameters of a generating mixture.
        var truth = c.Blocks.Select(b => Enumerable.Range(0, c.K).Select(_ => TrueParameters(r, b)).ToArray()).ToArray();
        for (int b = 0; b < c.Blocks.Length; b++)
        {
            if (c.Blocks[b].Shared || (c.Blocks[b].Kind == BlockKind.Gaussian && c.Blocks[b].Covariance == CovarianceType.Tied))
                for (int k = 1; k < c.K; k++)
                    truth[b][k] = c.Blocks[b].Shared ? truth[b][0] : truth[b][k] with { Covariance = truth[b][0].Covariance };
        }
        for (int i = 0; i < c.Rows; i++)
        {
            if (i > 0 && r.NextDouble() < 0.1) { rows[i] = (double[])rows[r.Next(i)].Clone(); continue; } // exact duplicates
            var row = new double[width];
            int k = SampleIndex(r, weights), column = 0;
            for (int b = 0; b < c.Blocks.Length; b++)
            {
                var spec = c.Blocks[b];
                var x = c.Noise ? NoiseValue(r, spec) : Draw(r, spec, truth[b][k]);
                x.CopyTo(row, column);
                column += spec.Width;
            }
            rows[i] = row;
        }
        return DataMatrix.FromRows(rows);
    }

    /// <summary>Sample weights: a mix of 0, fractions and integers, with at least K positive.</summary>
    public static double[]? BuildWeights(MixtureCase c)
    {
        if (!c.Weighted) return null;
        var r = new Random(unchecked(c.DataSeed * 31 + 7));
        double[] choices = [0, 0.25, 1, 1, 2, 3.5];
        var w = Enumerable.Range(0, c.Rows).Select(_ => choices[r.Next(choices.Length)]).ToArray();
        for (int i = 0; i < c.K; i++) w[i] = 1;
        return w;
    }

    private sealed record Truth(double[] Mean, double[,] Covariance, double[] Probabilities, double[] Rates);

    private static Truth TrueParameters(Random r, BlockSpec s)
    {
        int d = s.Dimension;
        double scale = Math.Exp(2 * r.NextDouble() - 1);
        double[,] cov = RandomSpd(r, d, 0.5 * scale);
        if (s.Covariance is CovarianceType.Diagonal or CovarianceType.Spherical)
        {
            double v = 0.2 + r.NextDouble();
            for (int i = 0; i < d; i++)
                for (int j = 0; j < d; j++) cov[i, j] = i != j ? 0 : s.Covariance == CovarianceType.Spherical ? v : 0.2 + r.NextDouble();
        }
        return new Truth(
            Enumerable.Range(0, d).Select(_ => 4 * scale * Normal(r)).ToArray(),
            cov,
            s.Kind == BlockKind.Categorical ? RandomSimplex(r, s.Categories, 0.02) : Enumerable.Range(0, d).Select(_ => 0.03 + 0.94 * r.NextDouble()).ToArray(),
            Enumerable.Range(0, d).Select(_ => s.Kind == BlockKind.Poisson ? 0.3 + 15 * r.NextDouble() : Math.Exp(4 * r.NextDouble() - 2)).ToArray());
    }

    private static double[] Draw(Random r, BlockSpec s, Truth t) => s.Kind switch
    {
        BlockKind.Gaussian => SampleMvn(r, t.Mean, t.Covariance),
        BlockKind.Bernoulli => t.Probabilities.Select(p => r.NextDouble() < p ? 1.0 : 0.0).ToArray(),
        BlockKind.Categorical => Code(s, SampleIndex(r, t.Probabilities)),
        BlockKind.Poisson => t.Rates.Select(l => (double)MathNet.Numerics.Distributions.Poisson.Sample(r, l)).ToArray(),
        _ => t.Rates.Select(l => MathNet.Numerics.Distributions.Exponential.Sample(r, l)).ToArray(),
    };

    private static double[] NoiseValue(Random r, BlockSpec s) => s.Kind switch
    {
        BlockKind.Gaussian => Enumerable.Range(0, s.Dimension).Select(_ => 10 * (r.NextDouble() - 0.5)).ToArray(),
        BlockKind.Bernoulli => Enumerable.Range(0, s.Dimension).Select(_ => (double)r.Next(2)).ToArray(),
        BlockKind.Categorical => Code(s, r.Next(s.Categories)),
        BlockKind.Poisson => Enumerable.Range(0, s.Dimension).Select(_ => (double)r.Next(21)).ToArray(),
        _ => Enumerable.Range(0, s.Dimension).Select(_ => r.NextDouble() < 0.1 ? 0 : 5 * r.NextDouble()).ToArray(),
    };

    private static double[] Code(BlockSpec s, int category)
    {
        if (!s.OneHot) return [category];
        var x = new double[s.Categories];
        x[category] = 1;
        return x;
    }
}
