using System.Numerics.Tensors;
using EmDsl.Numerics;

namespace EmDsl.AutoDiff;

/// <summary>An elementwise function y = f(x) and its backward rule gx += g ∘ f′(x).</summary>
internal interface IUnaryOp
{
    static abstract void Forward(ReadOnlySpan<double> x, Span<double> y);

    /// <summary>gx += g ∘ f′(x), given y = f(x); <paramref name="scratch"/> holds x.Length entries of garbage.</summary>
    static abstract void Backward(ReadOnlySpan<double> g, ReadOnlySpan<double> x, ReadOnlySpan<double> y, Span<double> gx, Span<double> scratch);
}

internal readonly struct NegateOp : IUnaryOp
{
    public static void Forward(ReadOnlySpan<double> x, Span<double> y) => TensorPrimitives.Negate(x, y);
    public static void Backward(ReadOnlySpan<double> g, ReadOnlySpan<double> x, ReadOnlySpan<double> y, Span<double> gx, Span<double> s) =>
        TensorPrimitives.Subtract(gx, g, gx);
}

internal readonly struct ExpOp : IUnaryOp
{
    public static void Forward(ReadOnlySpan<double> x, Span<double> y) => TensorPrimitives.Exp(x, y);
    public static void Backward(ReadOnlySpan<double> g, ReadOnlySpan<double> x, ReadOnlySpan<double> y, Span<double> gx, Span<double> s) =>
        TensorPrimitives.MultiplyAdd(g, y, gx, gx);
}

internal readonly struct LogOp : IUnaryOp
{
    public static void Forward(ReadOnlySpan<double> x, Span<double> y) => TensorPrimitives.Log(x, y);
    public static void Backward(ReadOnlySpan<double> g, ReadOnlySpan<double> x, ReadOnlySpan<double> y, Span<double> gx, Span<double> s)
    {
        TensorPrimitives.Divide(g, x, s);
        TensorPrimitives.Add(gx, s, gx);
    }
}

internal readonly struct Log1pOp : IUnaryOp
{
    public static void Forward(ReadOnlySpan<double> x, Span<double> y) => Kernels.Log1p(x, y);
    public static void Backward(ReadOnlySpan<double> g, ReadOnlySpan<double> x, ReadOnlySpan<double> y, Span<double> gx, Span<double> s)
    {
        TensorPrimitives.Add(x, 1.0, s);
        TensorPrimitives.Divide(g, s, s);
        TensorPrimitives.Add(gx, s, gx);
    }
}

internal readonly struct SoftplusOp : IUnaryOp
{
    public static void Forward(ReadOnlySpan<double> x, Span<double> y) => Kernels.Softplus(x, y, logSigmoid: false);
    public static void Backward(ReadOnlySpan<double> g, ReadOnlySpan<double> x, ReadOnlySpan<double> y, Span<double> gx, Span<double> s)
    {
        TensorPrimitives.Sigmoid(x, s);
        TensorPrimitives.MultiplyAdd(g, s, gx, gx);
    }
}

internal readonly struct SigmoidOp : IUnaryOp
{
    public static void Forward(ReadOnlySpan<double> x, Span<double> y) => TensorPrimitives.Sigmoid(x, y);

    /// <summary>σ′(x) = σ(x)·σ(−x), which keeps full relative precision where 1 − σ(x) would round to 0.</summary>
    public static void Backward(ReadOnlySpan<double> g, ReadOnlySpan<double> x, ReadOnlySpan<double> y, Span<double> gx, Span<double> s)
    {
        TensorPrimitives.Negate(x, s);
        TensorPrimitives.Sigmoid(s, s);
        TensorPrimitives.Multiply(s, y, s);
        TensorPrimitives.MultiplyAdd(g, s, gx, gx);
    }
}

internal readonly struct LogSigmoidOp : IUnaryOp
{
    public static void Forward(ReadOnlySpan<double> x, Span<double> y) => Kernels.Softplus(x, y, logSigmoid: true);
    public static void Backward(ReadOnlySpan<double> g, ReadOnlySpan<double> x, ReadOnlySpan<double> y, Span<double> gx, Span<double> s)
    {
        TensorPrimitives.Negate(x, s);
        TensorPrimitives.Sigmoid(s, s);
        TensorPrimitives.MultiplyAdd(g, s, gx, gx);
    }
}

internal readonly struct SquareOp : IUnaryOp
{
    public static void Forward(ReadOnlySpan<double> x, Span<double> y) => TensorPrimitives.Multiply(x, x, y);
    public static void Backward(ReadOnlySpan<double> g, ReadOnlySpan<double> x, ReadOnlySpan<double> y, Span<double> gx, Span<double> s)
    {
        TensorPrimitives.Multiply(x, 2.0, s);
        TensorPrimitives.MultiplyAdd(g, s, gx, gx);
    }
}

internal readonly struct SqrtOp : IUnaryOp
{
    public static void Forward(ReadOnlySpan<double> x, Span<double> y) => TensorPrimitives.Sqrt(x, y);
    public static void Backward(ReadOnlySpan<double> g, ReadOnlySpan<double> x, ReadOnlySpan<double> y, Span<double> gx, Span<double> s)
    {
        TensorPrimitives.Multiply(y, 2.0, s);
        TensorPrimitives.Divide(g, s, s);
        TensorPrimitives.Add(gx, s, gx);
    }
}

// Sine and cosine are scalar loops: TensorPrimitives' Sin/Cos give an element different last bits in a vector lane
// and in the scalar tail, and the taped and forward-only evaluations of one expression were seen to disagree in
// the last bit on wide rows (CI, managed backend). Math.Sin/Math.Cos give every element one answer.
internal readonly struct SinOp : IUnaryOp
{
    public static void Forward(ReadOnlySpan<double> x, Span<double> y)
    {
        for (int i = 0; i < x.Length; i++) y[i] = Math.Sin(x[i]);
    }

    public static void Backward(ReadOnlySpan<double> g, ReadOnlySpan<double> x, ReadOnlySpan<double> y, Span<double> gx, Span<double> s)
    {
        for (int i = 0; i < x.Length; i++) gx[i] += g[i] * Math.Cos(x[i]);
    }
}

internal readonly struct CosOp : IUnaryOp
{
    public static void Forward(ReadOnlySpan<double> x, Span<double> y)
    {
        for (int i = 0; i < x.Length; i++) y[i] = Math.Cos(x[i]);
    }

    public static void Backward(ReadOnlySpan<double> g, ReadOnlySpan<double> x, ReadOnlySpan<double> y, Span<double> gx, Span<double> s)
    {
        for (int i = 0; i < x.Length; i++) gx[i] -= g[i] * Math.Sin(x[i]);
    }
}

internal readonly struct LogGammaOp : IUnaryOp
{
    public static void Forward(ReadOnlySpan<double> x, Span<double> y)
    {
        for (int i = 0; i < x.Length; i++) y[i] = SpecialFunctions.LogGamma(x[i]);
    }

    public static void Backward(ReadOnlySpan<double> g, ReadOnlySpan<double> x, ReadOnlySpan<double> y, Span<double> gx, Span<double> s)
    {
        for (int i = 0; i < x.Length; i++) gx[i] += g[i] * SpecialFunctions.Digamma(x[i]);
    }
}

internal readonly struct LogBesselI0Op : IUnaryOp
{
    public static void Forward(ReadOnlySpan<double> x, Span<double> y)
    {
        for (int i = 0; i < x.Length; i++) y[i] = SpecialFunctions.LogBesselI0(x[i]);
    }

    public static void Backward(ReadOnlySpan<double> g, ReadOnlySpan<double> x, ReadOnlySpan<double> y, Span<double> gx, Span<double> s)
    {
        for (int i = 0; i < x.Length; i++) gx[i] += g[i] * Math.Sign(x[i]) * SpecialFunctions.BesselRatioI1I0(Math.Abs(x[i]), out _);
    }
}

internal readonly struct DigammaOp : IUnaryOp
{
    public static void Forward(ReadOnlySpan<double> x, Span<double> y)
    {
        for (int i = 0; i < x.Length; i++) y[i] = SpecialFunctions.Digamma(x[i]);
    }

    public static void Backward(ReadOnlySpan<double> g, ReadOnlySpan<double> x, ReadOnlySpan<double> y, Span<double> gx, Span<double> s)
    {
        for (int i = 0; i < x.Length; i++) gx[i] += g[i] * SpecialFunctions.Trigamma(x[i]);
    }
}

public sealed partial class Var
{
    /// <summary>Elementwise eˣ. Gradient: upstream ∘ eˣ.</summary>
    public Var Exp() => Unary<ExpOp>();

    /// <summary>Elementwise natural logarithm (IEEE: −∞ at 0, NaN below; the domain is the caller's responsibility). Gradient: upstream / x.</summary>
    public Var Log() => Unary<LogOp>();

    /// <summary>Elementwise log(1 + x), accurate for tiny x (−∞ at −1, NaN below). Gradient: upstream / (1 + x).</summary>
    public Var Log1p() => Unary<Log1pOp>();

    /// <summary>Elementwise softplus log(1 + eˣ), computed as max(x, 0) + log1p(e^−|x|): no overflow, full precision for very negative x. Gradient: upstream ∘ σ(x).</summary>
    public Var Softplus() => Unary<SoftplusOp>();

    /// <summary>Elementwise logistic σ(x) = 1 / (1 + e^−x). Gradient: upstream ∘ σ(x)·σ(−x).</summary>
    public Var Sigmoid() => Unary<SigmoidOp>();

    /// <summary>Elementwise log σ(x) = −softplus(−x), stable for large |x|. Gradient: upstream ∘ σ(−x).</summary>
    public Var LogSigmoid() => Unary<LogSigmoidOp>();

    /// <summary>Elementwise x². Gradient: upstream ∘ 2x.</summary>
    public Var Square() => Unary<SquareOp>();

    /// <summary>Elementwise √x (NaN below 0). Gradient: upstream / (2√x), which is +∞ at x = 0 (NaN where the upstream gradient is also 0).</summary>
    public Var Sqrt() => Unary<SqrtOp>();

    /// <summary>Elementwise sine. Gradient: upstream ∘ cos x.</summary>
    public Var Sin() => Unary<SinOp>();

    /// <summary>Elementwise cosine. Gradient: −upstream ∘ sin x.</summary>
    public Var Cos() => Unary<CosOp>();

    /// <summary>Elementwise log Γ(x) for x &gt; 0 (<see cref="SpecialFunctions.LogGamma"/>). Gradient: upstream ∘ ψ(x) (digamma).</summary>
    public Var LogGamma() => Unary<LogGammaOp>();

    /// <summary>Elementwise digamma ψ(x) for x &gt; 0 (<see cref="SpecialFunctions.Digamma"/>). Gradient: upstream ∘ ψ₁(x) (<see cref="SpecialFunctions.Trigamma"/>).</summary>
    public Var Digamma() => Unary<DigammaOp>();

    /// <summary>
    /// Elementwise log I₀(x), the log of the modified Bessel function of order 0 (the von Mises normaliser), without
    /// overflow (<see cref="SpecialFunctions.LogBesselI0"/>). Gradient: upstream ∘ I₁(x)/I₀(x).
    /// </summary>
    public Var LogBesselI0() => Unary<LogBesselI0Op>();

    /// <summary>
    /// Elementwise x^exponent (IEEE <see cref="Math.Pow"/>: NaN for negative x with a non-integer exponent).
    /// Gradient: upstream ∘ exponent·x^(exponent − 1); zero for exponent 0; +∞ at x = 0 when exponent &lt; 1.
    /// </summary>
    public Var Pow(double exponent)
    {
        var data = Kernels.NewArray(Length);
        TensorPrimitives.Pow(Data, exponent, data);
        if (_tape is null) return Wrap(data, Rows, Cols);
        var x = this;
        return new Var(data, Rows, Cols, _tape, node =>
        {
            if (exponent == 0) return;
            var gx = x.GradientBuffer();
            using var s = new Scratch(x.Length);
            TensorPrimitives.Pow(x.Data, exponent - 1, s.Span);
            TensorPrimitives.Multiply(s.Span, exponent, s.Span);
            TensorPrimitives.MultiplyAdd(node.Upstream, s.Span, gx, gx);
        });
    }

    // Static forms, so that F#'s exp, log, sqrt, sin, cos and ** work on Var.

    /// <summary>Elementwise eˣ (static form of <see cref="Exp()"/>; F#'s <c>exp</c>).</summary>
    public static Var Exp(Var x) => NotNull(x).Exp();

    /// <summary>Elementwise log x (static form of <see cref="Log()"/>; F#'s <c>log</c>).</summary>
    public static Var Log(Var x) => NotNull(x).Log();

    /// <summary>Elementwise √x (static form of <see cref="Sqrt()"/>; F#'s <c>sqrt</c>).</summary>
    public static Var Sqrt(Var x) => NotNull(x).Sqrt();

    /// <summary>Elementwise sine (static form of <see cref="Sin()"/>; F#'s <c>sin</c>).</summary>
    public static Var Sin(Var x) => NotNull(x).Sin();

    /// <summary>Elementwise cosine (static form of <see cref="Cos()"/>; F#'s <c>cos</c>).</summary>
    public static Var Cos(Var x) => NotNull(x).Cos();

    /// <summary>Elementwise x^exponent (static form of <see cref="Pow(double)"/>; F#'s <c>**</c>).</summary>
    public static Var Pow(Var x, double exponent) => NotNull(x).Pow(exponent);

    private static Var NotNull(Var x)
    {
        ArgumentNullException.ThrowIfNull(x);
        return x;
    }

    private Var Unary<TOp>() where TOp : struct, IUnaryOp
    {
        var data = Kernels.NewArray(Length);
        TOp.Forward(Data, data);
        if (_tape is null) return Wrap(data, Rows, Cols);
        var x = this;
        return new Var(data, Rows, Cols, _tape, node =>
        {
            using var s = new Scratch(x.Length);
            TOp.Backward(node.Upstream, x.Data, node.Data, x.GradientBuffer(), s.Span);
        });
    }
}
