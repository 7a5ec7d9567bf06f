using System.Diagnostics;
using EmDsl.AutoDiff;
using EmDsl.Numerics;

namespace EmDsl.Bench;

/// <summary>
/// Times the reverse-mode tape on the two M-step objectives the engine differentiates over data:
/// a Bernoulli GLM Q(B) = Σ R ∘ (Y ∘ XB − softplus(XB)) and the gating objective Σ R ∘ log softmax_rows(XV),
/// with X rows×4 and B, V 4×3: forward only (constants, nothing recorded), taped forward, and forward + backward.
/// </summary>
internal static class AutoDiffBench
{
    private const int D = 4, K = 3, Runs = 20;

    public static void Run(int rows)
    {
        var random = new Random(7);
        double[] Fill(int n, Func<double> f) { var v = new double[n]; for (int i = 0; i < n; i++) v[i] = f(); return v; }
        var x = Var.Constant(Fill(rows * D, () => random.NextDouble() * 2 - 1), rows, D);
        var y = Var.Constant(Fill(rows * K, () => random.Next(2)), rows, K);
        var r = Var.Constant(Responsibilities(random, rows), rows, K);
        var b0 = Fill(D * K, () => random.NextDouble() - 0.5);

        Func<Var, Var> glm = b =>
        {
            var eta = x.MatMul(b);
            return (r * (y * eta - eta.Softplus())).Sum();
        };
        Func<Var, Var> gating = v => (r * x.MatMul(v).LogSoftmaxRows()).Sum();

        Console.WriteLine($"AutoDiff on {rows} rows, X {rows}×{D}, parameters {D}×{K}, backend {ComputeBackend.Name}, {Environment.ProcessorCount} cores; median of {Runs} runs after warm-up");
        Console.WriteLine("  ms per evaluation, median (fastest); grad/fwd = (forward + backward) / forward-only, medians");
        Console.WriteLine($"  {"objective",-34} {"forward-only",18} {"taped forward",18} {"forward+backward",18} {"grad/fwd",9}");
        Time("GLM  Σ R∘(Y∘XB − softplus(XB))", glm, b0);
        Time("gating  Σ R∘logsoftmax(XV)", gating, b0);
    }

    private static double[] Responsibilities(Random random, int rows)
    {
        var v = new double[rows * K];
        for (int i = 0; i < rows; i++)
        {
            double s = 0;
            for (int k = 0; k < K; k++) s += v[i * K + k] = random.NextDouble() + 0.05;
            for (int k = 0; k < K; k++) v[i * K + k] /= s;
        }
        return v;
    }

    private static void Time(string name, Func<Var, Var> f, double[] point)
    {
        double sink = 0;
        var (forward, forwardMin) = Median(() => sink += f(Var.Constant(point, D, K)).Scalar);
        var (taped, tapedMin) = Median(() =>
        {
            var tape = new Tape();
            sink += f(tape.Variable(point, D, K)).Scalar;
        });
        var (gradient, gradientMin) = Median(() =>
        {
            var tape = new Tape();
            var b = tape.Variable(point, D, K);
            var q = f(b);
            tape.Backward(q);
            sink += b.Gradient[0];
        });
        static string Ms(double median, double min) => $"{median,7:F2} ({min,6:F2})";
        Console.WriteLine($"  {name,-34} {Ms(forward, forwardMin),18} {Ms(taped, tapedMin),18} {Ms(gradient, gradientMin),18} {gradient / forward,8:F2}×" +
                          (double.IsFinite(sink) ? "" : " (non-finite result!)"));
    }

    /// <summary>Milliseconds per call: five warm-up calls, then the median and the fastest of <see cref="Runs"/> timed calls.</summary>
    private static (double Median, double Min) Median(Action action)
    {
        for (int i = 0; i < 5; i++) action();
        var times = new double[Runs];
        for (int i = 0; i < Runs; i++)
        {
            var sw = Stopwatch.StartNew();
            action();
            times[i] = sw.Elapsed.TotalMilliseconds;
        }
        Array.Sort(times);
        return ((times[Runs / 2 - 1] + times[Runs / 2]) / 2, times[0]);
    }
}
