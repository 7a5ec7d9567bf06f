using EmDsl.Data;
using static EmDsl.Tests.Engine.EngineFixtures;

namespace EmDsl.Tests.Hmm;

/// <summary>Samplers of hidden Markov data that do not use EmDsl, and helpers to compare fits up to a relabelling of the states.</summary>
internal static class HmmFixtures
{
    /// <summary>A state path of <paramref name="length"/> steps from π and A.</summary>
    public static int[] SamplePath(Random r, double[] initial, double[,] transitions, int length)
    {
        int k = initial.Length;
        var z = new int[length];
        z[0] = SampleIndex(r, initial);
        for (int t = 1; t < length; t++)
            z[t] = SampleIndex(r, Enumerable.Range(0, k).Select(j => transitions[z[t - 1], j]).ToArray());
        return z;
    }

    /// <summary>Sequences whose rows come from <paramref name="emit"/>(state) along sampled paths; also returns the paths.</summary>
    public static (SequenceData Data, int[][] Paths) Sample(Random r, double[] initial, double[,] transitions, int[] lengths, Func<int, double[]> emit)
    {
        var paths = lengths.Select(l => SamplePath(r, initial, transitions, l)).ToArray();
        var matrices = paths.Select(p => DataMatrix.FromRows(p.Select(emit))).ToList();
        return (SequenceData.FromMatrices(matrices), paths);
    }

    /// <summary>A K × K matrix with <paramref name="stay"/> on the diagonal and the rest spread evenly.</summary>
    public static double[,] Sticky(int k, double stay)
    {
        var a = new double[k, k];
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++) a[i, j] = k == 1 ? 1 : i == j ? stay : (1 - stay) / (k - 1);
        return a;
    }

    /// <summary>The permutation that sorts the states by <paramref name="key"/> (fitted state order → ascending key).</summary>
    public static int[] OrderBy(IReadOnlyList<double> key) => Enumerable.Range(0, key.Count).OrderBy(i => key[i]).ToArray();

    /// <summary>A[order[i], order[j]]: the matrix with its states relabelled.</summary>
    public static double[,] Permute(double[,] a, int[] order)
    {
        int k = order.Length;
        var p = new double[k, k];
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++) p[i, j] = a[order[i], order[j]];
        return p;
    }

    /// <summary>
    /// Two objective traces agree on their common iterations (Tolerance 0 stops a run when its objective repeats
    /// exactly, which rounding may make one or two iterations apart), of which there must be at least <paramref name="minimum"/>.
    /// </summary>
    public static void AssertTracesClose(IReadOnlyList<double> a, IReadOnlyList<double> b, double tolerance, int minimum = 5)
    {
        int common = Math.Min(a.Count, b.Count);
        Assert.True(common >= minimum, $"only {common} iterations to compare");
        Engine.EngineFixtures.AssertClose(a.Take(common).ToArray(), b.Take(common).ToArray(), tolerance, "objective trace");
    }

    /// <summary>Every entry of two matrices within an absolute tolerance, with a readable failure.</summary>
    public static void AssertMatrixClose(double[,] expected, double[,] actual, double tolerance, string what)
    {
        for (int i = 0; i < expected.GetLength(0); i++)
            for (int j = 0; j < expected.GetLength(1); j++)
                Assert.True(Math.Abs(expected[i, j] - actual[i, j]) <= tolerance,
                    $"{what}[{i},{j}]: expected {expected[i, j]:G6}, got {actual[i, j]:G6} (tolerance {tolerance}).");
    }
}
