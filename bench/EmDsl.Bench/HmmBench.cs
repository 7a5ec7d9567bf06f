using System.Diagnostics;
using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Inference;
using EmDsl.Numerics;

namespace EmDsl.Bench;

/// <summary>
/// One EM iteration of an 8-state hidden Markov model with a diagonal Gaussian emission on 10⁶ steps of 8-dimensional
/// data, next to its parts: the emission log-likelihoods alone (the part a mixture's E-step also has), forward–backward
/// alone (sequential, and with forward and backward run concurrently), and Viterbi. One long sequence, and the same
/// steps as 1000 sequences of 1000.
/// </summary>
internal static class HmmBench
{
    public static void Run(int steps, int iterations)
    {
        const int k = 8, d = 8;
        var random = new Random(3);
        var means = Enumerable.Range(0, k).Select(_ => Enumerable.Range(0, d).Select(_ => 4 * random.NextDouble() - 2).ToArray()).ToArray();
        var transitions = new double[k, k];
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++) transitions[i, j] = i == j ? 0.93 : 0.01;
        var rows = new double[steps][];
        int z = 0;
        for (int t = 0; t < steps; t++)
        {
            if (t > 0 && random.NextDouble() < 0.07) z = (z + 1 + random.Next(k - 1)) % k;
            rows[t] = Enumerable.Range(0, d).Select(j => means[z][j] + MathNet.Numerics.Distributions.Normal.Sample(random, 0, 1)).ToArray();
        }
        var data = DataMatrix.FromRows(rows);
        var block = Blocks.Gaussian("x", Blocks.ColumnRange(0, d), CovarianceType.Diagonal);
        var model = HiddenMarkov.WithStates(k).Observe(block).Build();
        var start = Initialization.FromParameters(Enumerable.Repeat(1.0 / k, k)).WithTransitions(transitions)
            .With(block, means.Select(m => GaussianParameters.WithVariances(m.Select(v => v + 0.3 * random.NextDouble()), Enumerable.Repeat(1.5, d))));
        Console.WriteLine($"EmDsl HMM on {steps} steps × {d} dimensions, K = {k}, diagonal Gaussian emission, backend {ComputeBackend.Name}, {Environment.ProcessorCount} cores");

        foreach (var (name, sequences) in new[] { ("one sequence", SequenceData.Single(data)), ("1000-step sequences", SequenceData.FromLengths(data, Lengths(steps, 1000))) })
            foreach (int threads in new[] { 1, -1 })
            {
                var options = FitOptions.Default with { Initialization = start, MaxIterations = iterations, Tolerance = 0, MaxDegreeOfParallelism = threads };
                model.Fit(sequences, options with { MaxIterations = 1 }); // warm-up (JIT)
                double best = double.PositiveInfinity;
                HiddenMarkovFit? fit = null;
                for (int rep = 0; rep < 3; rep++)
                {
                    var watch = Stopwatch.StartNew();
                    fit = model.Fit(sequences, options);
                    best = Math.Min(best, watch.Elapsed.TotalSeconds);
                }
                // A run of n iterations does n + 1 E-steps and n M-steps (and the initial one from the given parameters).
                Console.WriteLine($"  {name,-20} threads {(threads < 0 ? "all" : threads.ToString()),3}: {best / (fit!.Iterations + 1) * 1e3,7:F1} ms per EM iteration " +
                                  $"({fit.Iterations} iterations, log-likelihood {fit.LogLikelihood:F3})");
            }

        // The parts, at the fitted start's parameters.
        var one = model.Fit(SequenceData.Single(data), FitOptions.Default with { Initialization = start, MaxIterations = 0 });
        var compiled = one.Compiled;
        var state = one.State;
        foreach (int threads in new[] { 1, -1 })
        {
            var options = FitOptions.Default with { MaxDegreeOfParallelism = threads };
            double emission = Time(() => compiled.LogEmissions(data, state, options));
            Console.WriteLine($"  emission log-likelihoods alone, threads {(threads < 0 ? "all" : threads.ToString()),3}: {emission * 1e3,7:F1} ms");
        }
        var emissions = compiled.LogEmissions(data, state, FitOptions.Default);
        var chain = (MarkovState)state.Latent;
        foreach (bool parallel in new[] { false, true })
        {
            double fb = Time(() =>
            {
                var buffer = (double[])emissions.Clone();
                ForwardBackward.Run(buffer, 0, steps, k, chain.Initial, chain.Transitions, new double[k], new double[k * k], 1, parallel);
            });
            Console.WriteLine($"  forward–backward alone ({(parallel ? "forward ∥ backward" : "sequential")}): {fb * 1e3,7:F1} ms (including a {steps}×{k} copy)");
        }
        var path = new int[steps];
        double viterbi = Time(() => Viterbi.Decode(emissions, steps, k, chain.Initial, chain.Transitions, path));
        Console.WriteLine($"  Viterbi alone: {viterbi * 1e3,7:F1} ms");
    }

    private static int[] Lengths(int steps, int length) =>
        Enumerable.Range(0, (steps + length - 1) / length).Select(s => Math.Min(length, steps - s * length)).ToArray();

    /// <summary>The fastest of three runs after a warm-up, in seconds.</summary>
    private static double Time(Action action)
    {
        action();
        double best = double.PositiveInfinity;
        for (int rep = 0; rep < 3; rep++)
        {
            var watch = Stopwatch.StartNew();
            action();
            best = Math.Min(best, watch.Elapsed.TotalSeconds);
        }
        return best;
    }
}
