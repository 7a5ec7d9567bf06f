using EmDsl.Numerics;
using EmDsl.Tests.Families;
using FsCheck.Fluent;

namespace EmDsl.Tests.Numerics;

public class LogSpaceTests
{
    /// <summary>log Σ exp v by the definition, for moderate entries where it cannot overflow.</summary>
    private static double NaiveLogSumExp(IEnumerable<double> v) => Math.Log(v.Sum(Math.Exp));

    [Fact]
    public void LogSumExpOfHugeValuesIsFiniteAndExact()
    {
        double value = LogSpace.LogSumExp([1000, 1001]);
        Assert.True(double.IsFinite(value));
        Approx.Equal(1001 + Math.Log(1 + Math.Exp(-1)), value, 1e-15, 0, "LogSumExp([1000, 1001])");
        Approx.Equal(-1000 + Math.Log(2), LogSpace.LogSumExp([-1000, -1000]), 1e-15, 0, "LogSumExp([−1000, −1000])");
    }

    [Fact]
    public void LogSumExpIgnoresMinusInfinityEntries()
    {
        Approx.Equal(Math.Log(3), LogSpace.LogSumExp([double.NegativeInfinity, 0, Math.Log(2), double.NegativeInfinity]), 1e-15, 0, "LogSumExp([−∞, 0, log 2, −∞])");
        Assert.Equal(double.NegativeInfinity, LogSpace.LogSumExp([double.NegativeInfinity, double.NegativeInfinity]));
        Assert.Equal(double.NegativeInfinity, LogSpace.LogSumExp([double.NegativeInfinity]));
        Assert.Equal(double.NegativeInfinity, LogSpace.LogSumExp([]));
        Assert.Equal(double.PositiveInfinity, LogSpace.LogSumExp([1, double.PositiveInfinity]));
        Assert.True(double.IsNaN(LogSpace.LogSumExp([1, double.NaN])));
    }

    /// <summary>LogSumExp(v + c) = LogSumExp(v) + c for moderate v (checked by the definition) and offsets up to ±10⁵.</summary>
    [Fact]
    public void LogSumExpIsShiftEquivariant()
    {
        var cases = from n in Gen.Choose(1, 12)
                    from v in Gens.Vector(n, -30, 30)
                    from c in Gen.OneOf(Gen.Constant(0.0), Gens.Uniform(-1e5, 1e5))
                    from inf in Gen.Choose(0, n - 1)
                    select (v, c, inf);
        PropertyChecks.ForAll(cases.ToArbitrary(), t =>
        {
            var v = (double[])t.v.Clone();
            if (v.Length > 1) v[t.inf] = double.NegativeInfinity;
            double expected = NaiveLogSumExp(v) + t.c;
            double actual = LogSpace.LogSumExp(v.Select(x => x + t.c).ToArray());
            Approx.Equal(expected, actual, 1e-14, 1e-12, $"LogSumExp({Fmt.V(v)} + {t.c})");
        });
    }

    /// <summary>Softmax rows sum to one, keep the ratios exp(v_i − v_j), and report the row's log-sum-exp, for logits up to ±10⁵.</summary>
    [Fact]
    public void SoftmaxRowsSumToOneWithHugeLogits()
    {
        var cases = from rows in Gen.Choose(0, 6)
                    from cols in Gen.Choose(1, 8)
                    from seed in Gens.Seed
                    select (rows, cols, seed);
        PropertyChecks.ForAll(cases.ToArbitrary(), t =>
        {
            var r = new Random(t.seed);
            var offsets = r.Vector(t.rows, -1e5, 1e5);
            var v = new double[t.rows * t.cols];
            for (int i = 0; i < t.rows; i++)
                for (int j = 0; j < t.cols; j++) v[i * t.cols + j] = r.Next(8) == 0 && t.cols > 1 ? double.NegativeInfinity : r.Uniform(-30, 30);
            var logits = v.Select((x, k) => x + offsets[k / t.cols]).ToArray();
            var p = (double[])logits.Clone();
            var norm = new double[t.rows];
            LogSpace.SoftmaxRowsInPlace(p, t.rows, t.cols, norm);
            for (int i = 0; i < t.rows; i++)
            {
                // The logits as stored (v + offset rounded), shifted back: exact by Sterbenz when |offset| dominates.
                var vi = logits.Skip(i * t.cols).Take(t.cols).Select(x => x - offsets[i]).ToArray();
                double lse = NaiveLogSumExp(vi);
                if (double.IsNegativeInfinity(lse))
                {
                    Assert.Equal(double.NegativeInfinity, norm[i]);
                    Assert.All(p.Skip(i * t.cols).Take(t.cols), x => Assert.Equal(0, x));
                    continue;
                }
                Approx.Equal(lse + offsets[i], norm[i], 1e-14, 1e-10, $"row {i} log normaliser");
                Approx.Equal(1, p.Skip(i * t.cols).Take(t.cols).Sum(), 1e-14, 1e-14, $"row {i} sum");
                var expected = vi.Select(x => Math.Exp(x - lse)).ToArray();
                Approx.Vector(expected, p.AsSpan(i * t.cols, t.cols), 1e-12, $"row {i} softmax of {Fmt.V(vi)} + {offsets[i]}");
            }
        });
    }

    [Fact]
    public void SoftmaxOfAnAllMinusInfinityRowIsZeroWithMinusInfinityNormaliser()
    {
        var p = new[] { double.NegativeInfinity, double.NegativeInfinity, 1000, 1001 };
        var norm = new double[2];
        LogSpace.SoftmaxRowsInPlace(p, 2, 2, norm);
        Assert.Equal(new[] { 0.0, 0.0 }, p.Take(2));
        Assert.Equal(double.NegativeInfinity, norm[0]);
        Approx.Equal(1 / (1 + Math.E), p[2], 1e-15, 0, "softmax([1000, 1001])[0]");
        Approx.Equal(1001 + Math.Log(1 + Math.Exp(-1)), norm[1], 1e-15, 0, "normaliser of [1000, 1001]");
    }

    [Fact]
    public void SoftmaxVectorSumsToOne() =>
        PropertyChecks.ForAll(Gen.Choose(1, 10).SelectMany(n => Gens.Vector(n, -800, 800), (_, v) => v).ToArbitrary(), v =>
        {
            var p = LogSpace.Softmax(v);
            Approx.Equal(1, p.Sum(), 1e-14, 1e-14, $"sum of softmax({Fmt.V(v)})");
            Assert.All(p, x => Assert.InRange(x, 0, 1));
            Assert.Equal(Array.IndexOf(v, v.Max()), Array.IndexOf(p, p.Max()));
        });

    /// <summary>
    /// Softmax is documented to return a vector that sums to one. With one logit +∞ (a degenerate component's
    /// log density) the limit is the indicator of that entry, and the log normaliser is +∞ as LogSumExp says.
    /// </summary>
    [Fact]
    public void SoftmaxWithOnePlusInfinityLogitIsTheIndicatorOfThatEntry()
    {
        var p = LogSpace.Softmax([0.5, double.PositiveInfinity, -3]);
        Assert.True(p.SequenceEqual([0.0, 1.0, 0.0]), $"softmax([0.5, +∞, −3]) = {Fmt.V(p)}; expected [0, 1, 0] (a vector summing to one)");
    }

    [Fact]
    public void SoftmaxRowsRejectsShortBuffers()
    {
        Assert.ThrowsAny<ArgumentException>(() => LogSpace.SoftmaxRowsInPlace(new double[5], 2, 3, new double[2]));
        Assert.ThrowsAny<ArgumentException>(() => LogSpace.SoftmaxRowsInPlace(new double[6], 2, 3, new double[1]));
    }

    /// <summary>
    /// The softmax's entropy output is −Σ p log p of the probabilities it returns (0·log 0 = 0), for short rows and for
    /// rows of 32 or more, and the probabilities and normalisers are bit for bit those of the overload without it.
    /// </summary>
    [Theory]
    [InlineData(3)]
    [InlineData(40)]
    public void SoftmaxEntropyIsTheEntropyOfTheProbabilitiesItReturns(int cols)
    {
        var r = new Random(cols);
        int rows = 50;
        var logits = Enumerable.Range(0, rows * cols).Select(i => i % 7 == 3 ? double.NegativeInfinity : 30 * (r.NextDouble() - 0.5) + (i / cols) * 100).ToArray();
        for (int j = 0; j < cols; j++) logits[j] = double.NegativeInfinity; // a row with no probability at all
        var plain = (double[])logits.Clone();
        var withEntropy = (double[])logits.Clone();
        var lse1 = new double[rows];
        var lse2 = new double[rows];
        var entropy = new double[rows];
        LogSpace.SoftmaxRowsInPlace(plain, rows, cols, lse1);
        LogSpace.SoftmaxRowsInPlace(withEntropy, rows, cols, lse2, entropy);
        Assert.Equal(plain, withEntropy);
        Assert.Equal(lse1, lse2);
        for (int i = 0; i < rows; i++)
        {
            double direct = -withEntropy.Skip(i * cols).Take(cols).Where(p => p > 0).Sum(p => p * Math.Log(p));
            Approx.Equal(direct, entropy[i], 1e-12, 1e-12, $"entropy of row {i}");
        }
    }

    /// <summary>
    /// The short-row softmaxes that work on four or eight rows at a time (their columns transposed into vectors) give
    /// bit for bit what the one-row-at-a-time code gives: probabilities, normalisers and entropies, for every width below
    /// 32 and any row count, with rows holding −∞, +∞, NaN, huge and tiny logits mixed among ordinary ones.
    /// </summary>
    [Fact]
    public void FourAndEightRowSoftmaxesMatchTheOneRowSoftmaxBitForBit()
    {
        var cases = from cols in Gen.Choose(1, 31)
                    from rows in Gen.OneOf(Gen.Choose(1, 23), Gen.Choose(250, 600)) // one block of 64 groups whose sums are logged together, or several
                    from seed in Gens.Seed
                    select (cols, rows, seed);
        PropertyChecks.ForAll(cases.ToArbitrary(), c =>
        {
            var r = new Random(c.seed);
            var logits = new double[c.rows * c.cols];
            for (int i = 0; i < c.rows; i++)
            {
                double level = r.Next(4) switch { 0 => 0, 1 => 1e6, 2 => -1e300, _ => 700 };
                // +∞ and NaN (and all-−∞ rows, below) send a row's whole group of four or eight to the one-row code: rare
                // enough that most groups take the vector path.
                bool wild = r.Next(30) == 0;
                for (int j = 0; j < c.cols; j++)
                {
                    int u = r.Next(60);
                    if (!wild && u is 1 or 2) u = 5;
                    logits[i * c.cols + j] = u switch
                    {
                        0 => double.NegativeInfinity,
                        1 => double.PositiveInfinity,
                        2 => double.NaN,
                        3 => -0.0,
                        4 => level - 800,
                        _ => level + 40 * (r.NextDouble() - 0.5),
                    };
                }
                if (r.Next(60) == 0) logits.AsSpan(i * c.cols, c.cols).Fill(double.NegativeInfinity);
            }
            var one = (double[])logits.Clone();
            double[] lse1 = new double[c.rows], h1 = new double[c.rows];
            LogSpace.SoftmaxShortRowsOneAtATime(one, 0, c.rows, c.cols, lse1, h1);
            static long[] Bits(double[] v) => v.Select(BitConverter.DoubleToInt64Bits).ToArray();
            // The dispatch (eight rows at a time where the processor has AVX-512 and K ≥ 8), and each kernel directly.
            var kernels = new List<(string, LogSpaceKernel)> { ("dispatch", LogSpace.SoftmaxRowsInPlace) };
            if (System.Runtime.Intrinsics.X86.Avx.IsSupported) kernels.Add(("four rows", LogSpace.SoftmaxFourRowsAtATime));
            if (System.Runtime.Intrinsics.X86.Avx512F.IsSupported && c.cols >= 8) kernels.Add(("eight rows", LogSpace.SoftmaxEightRowsAtATime));
            foreach (var (name, kernel) in kernels)
            {
                var p = (double[])logits.Clone();
                double[] lse = new double[c.rows], h = new double[c.rows];
                kernel(p, c.rows, c.cols, lse, h);
                Assert.True(Bits(one).SequenceEqual(Bits(p)), $"{name}: probabilities");
                Assert.True(Bits(lse1).SequenceEqual(Bits(lse)), $"{name}: normalisers");
                Assert.True(Bits(h1).SequenceEqual(Bits(h)), $"{name}: entropies");
            }
        });
    }

    /// <summary>
    /// SupportScan.All&lt;Finite&gt;, the vectorised check the engine runs over every chunk whose statistics are its values, is false exactly
    /// when some element is NaN or ±∞, wherever it sits (in the four-vector body, the one-vector loop or the scalar tail),
    /// and true for the extremes of the finite doubles.
    /// </summary>
    [Fact]
    public void FiniteAllFindsEveryNonFiniteElement()
    {
        var cases = from n in Gen.Choose(0, 45)
                    from seed in Gens.Seed
                    select (n, seed);
        PropertyChecks.ForAll(cases.ToArbitrary(), c =>
        {
            var r = new Random(c.seed);
            double[] finite = { double.MaxValue, -double.MaxValue, double.Epsilon, -0.0, 1e-310, 3.5, -2e300 };
            var v = Enumerable.Range(0, c.n).Select(_ => finite[r.Next(finite.Length)]).ToArray();
            Assert.True(SupportScan.All<SupportScan.Finite>(v));
            if (c.n == 0) return;
            foreach (var bad in new[] { double.NaN, double.PositiveInfinity, double.NegativeInfinity })
            {
                int at = r.Next(c.n);
                var w = (double[])v.Clone();
                w[at] = bad;
                Assert.False(SupportScan.All<SupportScan.Finite>(w), $"{bad} at {at} of {c.n}");
            }
        });
    }

    /// <summary>
    /// ReproducibleMath.Exp over a span runs its bulk on 512-bit vectors where the processor has them; every element
    /// must get the bits the 4-lane kernel gives it (the one the softmax's tails and other machines use): arguments
    /// over the whole range, including those whose results are subnormal, 0, +∞ or NaN.
    /// </summary>
    [Fact]
    public void ExpGivesTheSameBitsAtEveryVectorWidth()
    {
        var r = new Random(5);
        double[] specials = { double.NaN, double.PositiveInfinity, double.NegativeInfinity, -0.0, 0.0, 709.78, 709.79, -708.4, -745.1, -745.2, -746, 1e-300, -1e-20 };
        SameBitsOverTheSpanAndByTheLanes("exp", ReproducibleMath.Exp, ReproducibleMath.ExpLanes, 200_003, i =>
            r.Next(50) == 0 ? specials[r.Next(specials.Length)] : r.Next(3) switch
            {
                0 => -760 + 1480 * r.NextDouble(),
                1 => -40 * r.NextDouble(),
                _ => -750 + 50 * r.NextDouble(),
            });
    }

    /// <summary>The same for log, whose 512-bit kernel serves the softmax's sums: subnormal, zero, negative, infinite and NaN arguments included.</summary>
    [Fact]
    public void LogGivesTheSameBitsAtEveryVectorWidth()
    {
        var r = new Random(6);
        double[] specials = { double.NaN, double.PositiveInfinity, double.NegativeInfinity, -0.0, 0.0, -1, double.Epsilon, 2.2250738585072014E-308,
            2.225073858507201E-308, 1.4142135623730951, 1.414213562373095, 0.7071067811865476, 1, double.MaxValue };
        SameBitsOverTheSpanAndByTheLanes("log", ReproducibleMath.Log, ReproducibleMath.LogLanes, 200_003, i =>
            r.Next(50) == 0 ? specials[r.Next(specials.Length)] : r.Next(3) switch
            {
                0 => Math.Exp(-745 + 1454 * r.NextDouble()),
                1 => 1 + 31 * r.NextDouble(), // a softmax's sums lie in [1, K]
                _ => 0.5 + r.NextDouble(),
            });
    }

    private static void SameBitsOverTheSpanAndByTheLanes(string name, SpanFunction span, Func<System.Runtime.Intrinsics.Vector256<double>, System.Runtime.Intrinsics.Vector256<double>> lanes,
        int n, Func<int, double> argument)
    {
        var x = Enumerable.Range(0, n).Select(argument).ToArray();
        var bulk = new double[n];
        span(x, bulk);
        for (int i = 0; i < n; i += 4)
        {
            var four = lanes(System.Runtime.Intrinsics.Vector256.Create(x[i], x[Math.Min(i + 1, n - 1)], x[Math.Min(i + 2, n - 1)], x[Math.Min(i + 3, n - 1)]));
            for (int l = 0; l < 4 && i + l < n; l++)
                Assert.True(BitConverter.DoubleToInt64Bits(four[l]) == BitConverter.DoubleToInt64Bits(bulk[i + l]) || double.IsNaN(four[l]) && double.IsNaN(bulk[i + l]), // NaN's payload carries no meaning
                    $"{name}({x[i + l]:R}): {bulk[i + l]:R} over the span, {four[l]:R} by the 4-lane kernel");
        }
    }

    private delegate void LogSpaceKernel(Span<double> logits, int rows, int cols, Span<double> logNormalizers, Span<double> entropies);

    private delegate void SpanFunction(ReadOnlySpan<double> source, Span<double> destination);
}

public class SpecialFunctionsTests
{
    [Fact]
    public void Log1pExpAndLogisticAreStableAndMatchTheDefinitions() =>
        PropertyChecks.ForAll(Gen.OneOf(Gens.Uniform(-30, 30), Gens.Uniform(-1000, 1000)).ToArbitrary(), x =>
        {
            double softplus = SpecialFunctions.Log1pExp(x), sigma = SpecialFunctions.Logistic(x);
            Assert.True(double.IsFinite(softplus) && double.IsFinite(sigma), $"x = {x}: softplus {softplus}, σ {sigma}");
            if (Math.Abs(x) <= 30)
            {
                Approx.Equal(Math.Log(1 + Math.Exp(x)), softplus, 1e-14, 1e-300, $"log(1 + e^{x})");
                Approx.Equal(1 / (1 + Math.Exp(-x)), sigma, 1e-14, 1e-300, $"σ({x})");
            }
            // softplus(x) − softplus(−x) = x and σ(x) + σ(−x) = 1 hold for every x.
            Approx.Equal(x, softplus - SpecialFunctions.Log1pExp(-x), 1e-14, 1e-14, $"softplus identity at {x}");
            Approx.Equal(1, sigma + SpecialFunctions.Logistic(-x), 1e-15, 1e-15, $"logistic symmetry at {x}");
        });

    [Fact]
    public void LogMultivariateGammaSatisfiesItsRecursion() =>
        PropertyChecks.ForAll(Gen.Choose(1, 6).SelectMany(d => Gens.Uniform((d - 1) / 2.0 + 0.05, 20), (d, a) => (d, a)).ToArbitrary(), c =>
        {
            // Γ_1(a) = Γ(a);  Γ_d(a) = π^{(d−1)/2} Γ(a) Γ_{d−1}(a − ½).
            double expected = c.d == 1
                ? MathNet.Numerics.SpecialFunctions.GammaLn(c.a)
                : 0.5 * (c.d - 1) * Math.Log(Math.PI) + MathNet.Numerics.SpecialFunctions.GammaLn(c.a) + SpecialFunctions.LogMultivariateGamma(c.a - 0.5, c.d - 1);
            Approx.Equal(expected, SpecialFunctions.LogMultivariateGamma(c.a, c.d), 1e-12, 1e-12, $"log Γ_{c.d}({c.a})");
        });

    [Fact]
    public void LogBetaAndDigammaMatchMathNet() =>
        PropertyChecks.ForAll(Gens.Vector(2, 0.1, 30).ToArbitrary(), v =>
        {
            Approx.Equal(MathNet.Numerics.SpecialFunctions.BetaLn(v[0], v[1]), SpecialFunctions.LogBeta(v), 1e-12, 1e-12, $"log B({v[0]}, {v[1]})");
            double h = 1e-5 * v[0];
            double fd = (SpecialFunctions.LogGamma(v[0] + h) - SpecialFunctions.LogGamma(v[0] - h)) / (2 * h);
            Approx.Equal(fd, SpecialFunctions.Digamma(v[0]), 1e-6, 1e-6, $"ψ({v[0]}) vs d/dx log Γ");
        });
}
