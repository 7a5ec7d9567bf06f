using EmDsl.Optimization;
using EmDsl.Tests.Families;
using FsCheck;
using FsCheck.Fluent;
using MathNet.Numerics.LinearAlgebra;

namespace EmDsl.Tests.Optimization;

/// <summary>Maximizer on problems with known maxima, for both methods.</summary>
public class MaximizerTests
{
    public static TheoryData<OptimizerMethod> Methods() => new() { OptimizerMethod.Lbfgs, OptimizerMethod.Newton };

    private static OptimizerOptions With(OptimizerMethod method) => OptimizerOptions.Default with { Method = method };

    private static string Describe(OptimizationResult r) =>
        $"stopped '{r.StopReason}' after {r.Iterations} iterations / {r.Evaluations} evaluations at {Fmt.V(r.Point)}, f = {Fmt.D(r.Value)}, ‖∇f‖∞ = {Fmt.D(r.GradientNorm)}";

    /// <summary>Random strictly concave quadratics, n = 1..8: the optimiser reaches the maximiser to 1e-8, converged.</summary>
    [Theory, MemberData(nameof(Methods))]
    public void ReachesTheMaximumOfRandomConcaveQuadratics(OptimizerMethod method)
    {
        var cases = Gen.Choose(1, 8).SelectMany(_ => Gens.Seed, (n, seed) => (n, seed)).ToArbitrary();
        PropertyChecks.ForAll(cases, c =>
        {
            var r = new Random(c.seed);
            var a = r.SpdMatrix(c.n);
            var m = r.Vector(c.n, -5, 5);
            var start = r.Vector(c.n, -5, 5);
            var result = Maximizer.Maximize(TestObjectives.ConcaveQuadratic(a, m), start, With(method));
            Assert.True(result.Converged, $"{method}, A = {Fmt.M(a)}, m = {Fmt.V(m)}: {Describe(result)}");
            Approx.Vector(m, result.Point, 0, $"{method}: maximiser of A = {Fmt.M(a)} from {Fmt.V(start)}", absolute: 1e-8);
            Assert.True(result.Value <= 0 && result.Value >= -1e-15, $"{method}: value {Fmt.D(result.Value)} is not the maximum 0 to rounding.");
            if (method == OptimizerMethod.Newton)
                Assert.True(result.Iterations <= 2, $"Newton on a quadratic took {result.Iterations} steps: {Describe(result)}");
        });
    }

    [Theory, MemberData(nameof(Methods))]
    public void MaximisesNegatedRosenbrockFromTheStandardStarts(OptimizerMethod method)
    {
        foreach (var start in new[] { new[] { -1.2, 1.0 }, new[] { 1.3, 0.7, 0.8, 1.9, 1.2 } })
        {
            var result = Maximizer.Maximize(TestObjectives.NegatedRosenbrock, start, With(method) with { MaxIterations = 1000 });
            Assert.True(result.Converged && result.StopReason == Maximizer.GradientToleranceReached, $"{method}, {start.Length}-D: {Describe(result)}");
            Approx.Vector(Enumerable.Repeat(1.0, start.Length).ToArray(), result.Point, 0, $"{method}: Rosenbrock maximiser from {Fmt.V(start)}", absolute: 1e-8);
        }
    }

    /// <summary>Gamma MLE over the positive quadrant (−∞ outside): matches the profile-equation solution.</summary>
    [Theory, MemberData(nameof(Methods))]
    public void GammaMaximumLikelihoodMatchesTheProfileEquation(OptimizerMethod method)
    {
        var cases = Gens.Seed.ToArbitrary();
        PropertyChecks.ForAll(cases, seed =>
        {
            var r = new Random(seed);
            double shape = r.Uniform(0.5, 8), rate = r.Uniform(0.1, 10);
            var data = new double[r.Next(20, 300)];
            MathNet.Numerics.Distributions.Gamma.Samples(r, data, shape, rate);
            var recorder = new RecordingObjective(TestObjectives.GammaLogLikelihood(data));
            var result = Maximizer.Maximize(recorder.Invoke, [1.0, 1.0], With(method) with { MaxIterations = 500 });
            var (alpha, beta) = TestObjectives.GammaMle(data);
            string what = $"{method}, seed {seed}, n = {data.Length}: {Describe(result)}";
            Assert.True(result.Converged, what);
            // The value is a sum of terms far larger than itself, so f resolves the maximum only to its rounding
            // noise, about ε·T; along the ill-conditioned (α, β) ridge that pins α down only to ~1e-6 relative.
            double n = data.Length, terms = n * Math.Abs(alpha * Math.Log(beta)) + n * Math.Abs(EmDsl.Numerics.SpecialFunctions.LogGamma(alpha))
                                           + Math.Abs((alpha - 1) * data.Sum(Math.Log)) + beta * data.Sum();
            double atMle = TestObjectives.GammaLogLikelihood(data)([alpha, beta], new double[2]);
            Assert.True(result.Value >= atMle - 64 * 2.2e-16 * terms, $"f = {Fmt.D(result.Value)} < f(MLE) = {Fmt.D(atMle)} beyond rounding ({Fmt.D(64 * 2.2e-16 * terms)}); {what}");
            Approx.Equal(alpha, result.Point[0], 2e-5, 0, $"shape; {what}");
            Approx.Equal(beta, result.Point[1], 2e-5, 0, $"rate; {what}");
        }, baseline: 50);
    }

    [Theory, MemberData(nameof(Methods))]
    public void LogisticRegressionMatchesIrls(OptimizerMethod method)
    {
        PropertyChecks.ForAll(Gens.Seed.ToArbitrary(), seed =>
        {
            var r = new Random(seed);
            int n = r.Next(40, 120), p = r.Next(1, 5);
            var x = Matrix<double>.Build.Dense(n, p, (i, j) => j == 0 ? 1 : r.Uniform(-2, 2));
            var truth = r.Vector(p, -1, 1);
            var y = new double[n];
            for (int i = 0; i < n; i++)
            {
                double eta = 0;
                for (int j = 0; j < p; j++) eta += x[i, j] * truth[j];
                y[i] = r.NextDouble() < 1 / (1 + Math.Exp(-eta)) ? 1 : 0;
            }
            if (y.All(v => v == y[0])) y[0] = 1 - y[0];
            var expected = TestObjectives.LogisticByIrls(x, y);
            var result = Maximizer.Maximize(TestObjectives.LogisticLogLikelihood(x, y), new double[p], With(method));
            Assert.True(result.Converged, $"{method}, seed {seed}: {Describe(result)}");
            Approx.Vector(expected, result.Point, 1e-7, $"{method}, seed {seed}: logistic coefficients", absolute: 1e-7);
        }, baseline: 50);
    }

    /// <summary>
    /// Σ log xᵢ − aᵢxᵢ from x = 1 with aᵢ ≥ 10: the first trial step leaves the domain, where the objective returns
    /// −∞ or NaN; the line search must back off, and the run still reaches 1/aᵢ.
    /// </summary>
    [Theory, MemberData(nameof(Methods))]
    public void BacksOffFromPointsOutsideTheDomain(OptimizerMethod method)
    {
        foreach (bool nan in new[] { false, true })
        {
            var r = new Random(nan ? 17 : 5);
            var a = r.Vector(4, 10, 100);
            var recorder = new RecordingObjective(TestObjectives.LogBarrier(a, nan));
            var result = Maximizer.Maximize(recorder.Invoke, [1.0, 1.0, 1.0, 1.0], With(method) with { MaxIterations = 500 });
            string what = $"{method}, {(nan ? "NaN" : "−∞")} outside: {Describe(result)}";
            Assert.Contains(recorder.Values, v => !double.IsFinite(v));
            Assert.True(result.Converged, what);
            Approx.Vector(a.Select(v => 1 / v).ToArray(), result.Point, 1e-8, what);
            Assert.True(double.IsFinite(result.Value), what);
        }
    }

    /// <summary>
    /// Over random problems (concave quadratics, a concave log-sum-exp, Rosenbrock from random starts, the log
    /// barrier): the accepted values reported by OnIteration increase strictly from f(start), each is a value the
    /// objective returned, the result's value is the last one and is exactly f(Point), and the counts agree.
    /// </summary>
    [Theory, MemberData(nameof(Methods))]
    public void AcceptedValuesIncreaseStrictlyAndTheResultIsExact(OptimizerMethod method)
    {
        var cases = Gen.Choose(0, 3).SelectMany(_ => Gen.Choose(1, 6), (kind, n) => (kind, n))
            .SelectMany(_ => Gens.Seed, (kn, seed) => (kn.kind, kn.n, seed)).ToArbitrary();
        PropertyChecks.ForAll(cases, c =>
        {
            var r = new Random(c.seed);
            var (objective, start) = RandomProblem(c.kind, c.n, r);
            var recorder = new RecordingObjective(objective);
            var accepted = new List<(int Iteration, double Value)>();
            var options = With(method) with { MaxIterations = 1 + r.Next(60), OnIteration = (i, v) => accepted.Add((i, v)) };
            var startCopy = (double[])start.Clone();
            var result = Maximizer.Maximize(recorder.Invoke, start, options);
            string what = $"{method}, kind {c.kind}, n = {c.n}, seed {c.seed}: {Describe(result)}";

            Assert.Equal(startCopy, start);
            Assert.True(recorder.Values.Count == result.Evaluations, $"{recorder.Values.Count} calls but {result.Evaluations} reported; {what}");
            Assert.True(accepted.Count == result.Iterations, $"{accepted.Count} callbacks but {result.Iterations} iterations; {what}");
            Assert.True(result.Iterations <= options.MaxIterations, what);
            double previous = recorder.Values[0];
            for (int k = 0; k < accepted.Count; k++)
            {
                Assert.True(accepted[k].Iteration == k + 1, what);
                Assert.True(accepted[k].Value > previous, $"iteration {k + 1}: {Fmt.D(accepted[k].Value)} ≤ {Fmt.D(previous)}; {what}");
                Assert.Contains(accepted[k].Value, recorder.Values);
                previous = accepted[k].Value;
            }
            Assert.True(result.Value == previous, $"result value {Fmt.D(result.Value)} is not the last accepted {Fmt.D(previous)}; {what}");
            var gradient = new double[start.Length];
            Assert.True(objective(result.Point, gradient) == result.Value, $"f(Point) differs from Value; {what}");
            Assert.True(gradient.Max(Math.Abs) == result.GradientNorm, what);
            if (result.Iterations == 0) Assert.Equal(start, result.Point);
        });
    }

    private static (ObjectiveFunction Objective, double[] Start) RandomProblem(int kind, int n, Random r)
    {
        switch (kind)
        {
            case 0:
                var a = r.SpdMatrix(n, 0.01, 1) * Math.Pow(10, r.Uniform(-2, 2));
                return (TestObjectives.ConcaveQuadratic(a, r.Vector(n, -5, 5), r.Uniform(-1e3, 1e3)), r.Vector(n, -5, 5));
            case 1:
                // −log Σₖ exp(bₖᵀx + cₖ) − ½μ‖x‖²: strictly concave.
                int k = 3 + r.Next(4);
                var b = Enumerable.Range(0, k).Select(_ => r.Vector(n, -3, 3)).ToArray();
                var offsets = r.Vector(k, -2, 2);
                double mu = r.Uniform(0.01, 1);
                var terms = new double[k];
                ObjectiveFunction f = (x, g) =>
                {
                    for (int j = 0; j < k; j++) terms[j] = offsets[j] + b[j].Zip(x, (u, v) => u * v).Sum();
                    double lse = EmDsl.Numerics.LogSpace.LogSumExp(terms);
                    for (int i = 0; i < n; i++)
                    {
                        g[i] = -mu * x[i];
                        for (int j = 0; j < k; j++) g[i] -= Math.Exp(terms[j] - lse) * b[j][i];
                    }
                    return -lse - 0.5 * mu * x.Sum(v => v * v);
                };
                return (f, r.Vector(n, -4, 4));
            case 2:
                return (TestObjectives.NegatedRosenbrock, r.Vector(Math.Max(2, n), -2, 2));
            default:
                return (TestObjectives.LogBarrier(r.Vector(n, 0.1, 100), r.Next(2) == 0), r.Vector(n, 0.01, 3));
        }
    }

    [Theory, MemberData(nameof(Methods))]
    public void MaxIterationsIsRespected(OptimizerMethod method)
    {
        double[] start = [-1.2, 1];
        for (int limit = 0; limit <= 4; limit++)
        {
            int calls = 0;
            var result = Maximizer.Maximize(TestObjectives.NegatedRosenbrock, start, With(method) with { MaxIterations = limit, OnIteration = (_, _) => calls++ });
            Assert.Equal(limit, result.Iterations);
            Assert.Equal(limit, calls);
            Assert.False(result.Converged);
            Assert.Equal(Maximizer.IterationLimit, result.StopReason);
            if (limit == 0)
            {
                Assert.Equal(start, result.Point);
                Assert.Equal(1, result.Evaluations);
                Assert.Equal(-24.2, result.Value, 12);
            }
            else Assert.True(result.Value > -24.2, Describe(result));
        }
    }

    [Theory, MemberData(nameof(Methods))]
    public void StartAtTheMaximumReturnsTheStartConverged(OptimizerMethod method)
    {
        var a = Matrix<double>.Build.DenseOfArray(new double[,] { { 2, 0.5 }, { 0.5, 1 } });
        double[] m = [0.25, -3];
        var result = Maximizer.Maximize(TestObjectives.ConcaveQuadratic(a, m, 7), m, With(method));
        Assert.True(result.Converged);
        Assert.Equal(Maximizer.GradientToleranceReached, result.StopReason);
        Assert.Equal(m, result.Point);
        Assert.NotSame(m, result.Point);
        Assert.Equal(7, result.Value);
        Assert.Equal(0, result.Iterations);
        Assert.Equal(1, result.Evaluations);
        Assert.Equal(0, result.GradientNorm);
    }

    /// <summary>f = −|x| at its kink x = 0 with gradient −1 there: no step increases f, so the start comes back, not converged.</summary>
    [Theory, MemberData(nameof(Methods))]
    public void NoIncreasingStepReturnsTheStart(OptimizerMethod method)
    {
        var result = Maximizer.Maximize((x, g) => { g[0] = x[0] >= 0 ? -1 : 1; return -Math.Abs(x[0]); }, [0.0], With(method));
        Assert.Equal(Maximizer.NoIncreasingStep, result.StopReason);
        Assert.False(result.Converged);
        Assert.Equal([0.0], result.Point);
        Assert.Equal(0, result.Value);
        Assert.Equal(0, result.Iterations);
        Assert.Equal(1, result.GradientNorm);
    }

    /// <summary>
    /// f = (10⁶ − ½(x − m)ᵀD(x − m)) − 10⁶ resolves values only to ulp(10⁶) ≈ 1.2e-10. One micro-unit from m the
    /// remaining increase (~1e-12) is invisible, the gradient (~1e-6) is far above the gradient rule, and the gradients'
    /// secant curvature predicts a negligible gain: the start comes back, converged, "maximum reached to rounding".
    /// From far away L-BFGS ends the same way within rounding distance of m.
    /// </summary>
    [Theory, MemberData(nameof(Methods))]
    public void AMaximumHiddenByRoundingIsReportedAsSuch(OptimizerMethod method)
    {
        double[] m = [0.3, -0.1];
        ObjectiveFunction f = (x, g) =>
        {
            double u = x[0] - m[0], v = x[1] - m[1];
            g[0] = -u;
            g[1] = -2 * v;
            return (1e6 - 0.5 * (u * u + 2 * v * v)) - 1e6;
        };
        double[] near = [0.3 + 1e-6, -0.1 - 1e-6];
        var result = Maximizer.Maximize(f, near, With(method));
        Assert.True(result.StopReason == Maximizer.MaximumToRounding && result.Converged, Describe(result));
        Assert.Equal(near, result.Point);
        Assert.Equal(0, result.Iterations);
        Assert.True(result.GradientNorm > 1e-6, Describe(result));

        var far = Maximizer.Maximize(f, [3.0, 4.0], With(method));
        Assert.True(far.Converged, Describe(far));
        Approx.Vector(m, far.Point, 0, $"{method}: maximiser under rounding", absolute: 1e-4);
    }

    [Theory, MemberData(nameof(Methods))]
    public void ValueToleranceStopsARunThatGainsTooLittle(OptimizerMethod method)
    {
        // A huge ValueTolerance stops after the first step, which improves on −24.2 by far less than 10⁶·24.
        var result = Maximizer.Maximize(TestObjectives.NegatedRosenbrock, [-1.2, 1], With(method) with { ValueTolerance = 1e6, GradientTolerance = 0 });
        Assert.Equal(Maximizer.ValueToleranceReached, result.StopReason);
        Assert.True(result.Converged);
        Assert.Equal(1, result.Iterations);
    }

    [Theory, MemberData(nameof(Methods))]
    public void RunsAreDeterministic(OptimizerMethod method)
    {
        double[] start = [1.3, 0.7, 0.8, 1.9, 1.2];
        var first = Maximizer.Maximize(TestObjectives.NegatedRosenbrock, start, With(method) with { MaxIterations = 15 });
        var second = Maximizer.Maximize(TestObjectives.NegatedRosenbrock, start, With(method) with { MaxIterations = 15 });
        Assert.Equal(first.Point, second.Point);
        Assert.Equal(first with { Point = second.Point }, second);
    }

    [Fact]
    public void NonFiniteStartsThrowNamingTheValue()
    {
        foreach (double bad in new[] { double.NaN, double.NegativeInfinity, double.PositiveInfinity })
        {
            var e = Assert.Throws<ArgumentException>(() => Maximizer.Maximize((_, g) => { g[0] = 0; return bad; }, [1.0]));
            Assert.Contains("start point is " + bad, e.Message);
            Assert.Equal("start", e.ParamName);
        }
        var coordinate = Assert.Throws<ArgumentException>(() => Maximizer.Maximize((_, g) => { g[0] = 0; return 0; }, [double.NaN]));
        Assert.Contains("coordinate 0 is NaN", coordinate.Message);
        var gradient = Assert.Throws<ArgumentException>(() => Maximizer.Maximize((_, g) => { g[0] = 1; g[1] = double.NaN; return 0; }, [1.0, 2.0]));
        Assert.Contains("Gradient entry 1", gradient.Message);
        Assert.Throws<ArgumentNullException>(() => Maximizer.Maximize(null!, [1.0]));
        Assert.Throws<ArgumentNullException>(() => Maximizer.Maximize((_, _) => 0, null!));
    }

    [Fact]
    public void InvalidOptionsAreRejectedByName()
    {
        var bad = new (OptimizerOptions Options, string Property)[]
        {
            (OptimizerOptions.Default with { Method = (OptimizerMethod)7 }, nameof(OptimizerOptions.Method)),
            (OptimizerOptions.Default with { MaxIterations = -1 }, nameof(OptimizerOptions.MaxIterations)),
            (OptimizerOptions.Default with { GradientTolerance = -1e-3 }, nameof(OptimizerOptions.GradientTolerance)),
            (OptimizerOptions.Default with { GradientTolerance = double.NaN }, nameof(OptimizerOptions.GradientTolerance)),
            (OptimizerOptions.Default with { GradientTolerance = double.PositiveInfinity }, nameof(OptimizerOptions.GradientTolerance)),
            (OptimizerOptions.Default with { ValueTolerance = -1 }, nameof(OptimizerOptions.ValueTolerance)),
            (OptimizerOptions.Default with { ValueTolerance = double.NaN }, nameof(OptimizerOptions.ValueTolerance)),
            (OptimizerOptions.Default with { Memory = 0 }, nameof(OptimizerOptions.Memory)),
        };
        foreach (var (options, property) in bad)
        {
            var direct = Assert.Throws<ArgumentOutOfRangeException>(options.Validate);
            Assert.Equal(property, direct.ParamName);
            Assert.Contains(property + " must", direct.Message);
            var viaMaximize = Assert.Throws<ArgumentOutOfRangeException>(() => Maximizer.Maximize(TestObjectives.NegatedRosenbrock, [0.0, 0.0], options));
            Assert.Equal(property, viaMaximize.ParamName);
        }
        OptimizerOptions.Default.Validate();
        (OptimizerOptions.Default with { MaxIterations = 0, GradientTolerance = 0, ValueTolerance = 0, Memory = 1 }).Validate();
    }

    [Fact]
    public void DefaultsAreTheDocumentedOnes()
    {
        var d = new OptimizerOptions();
        Assert.Equal(OptimizerMethod.Lbfgs, d.Method);
        Assert.Equal(100, d.MaxIterations);
        Assert.Equal(1e-10, d.GradientTolerance);
        Assert.Equal(1e-15, d.ValueTolerance);
        Assert.Equal(10, d.Memory);
        Assert.Null(d.OnIteration);
        Assert.Equal(d, OptimizerOptions.Default);
    }
}
