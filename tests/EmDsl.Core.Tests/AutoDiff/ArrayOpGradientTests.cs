using EmDsl.AutoDiff;
using EmDsl.Tests.Families;
using MathNet.Numerics;

namespace EmDsl.Tests.AutoDiff;

/// <summary>
/// Every single-operand operation: forward values against a direct computation on double[,], and the tape's
/// gradient of Σ W ∘ op(x) (W random, so every output entry's Jacobian row is weighted; and again with x used by a
/// later node too, so the rule must accumulate) against central differences,
/// on random shapes 1..5 × 1..5 with values inside the operation's domain.
/// </summary>
public class ArrayOpGradientTests
{
    private sealed record ArrayOp(double Lo, double Hi, Func<Var, Var> Apply, Func<double[,], double[,]> Reference);

    private static ArrayOp Elementwise(double lo, double hi, Func<Var, Var> apply, Func<double, double> f) =>
        new(lo, hi, apply, m => Matrices.Map(m, f));

    private static int Rows(double[,] m) => m.GetLength(0);
    private static int Cols(double[,] m) => m.GetLength(1);

    private static double RowLse(double[,] m, int i) => Math.Log(Enumerable.Range(0, Cols(m)).Sum(j => Math.Exp(m[i, j])));
    private static double ColumnLse(double[,] m, int j) => Math.Log(Enumerable.Range(0, Rows(m)).Sum(i => Math.Exp(m[i, j])));

    /// <summary>The column picked in row i by the SelectPerRow case.</summary>
    private static int Picked(int i, int cols) => (3 * i + 1) % cols;

    private static readonly Dictionary<string, ArrayOp> Ops = new()
    {
        ["Negate"] = Elementwise(-3, 3, x => -x, v => -v),
        ["Exp"] = Elementwise(-3, 3, x => x.Exp(), Math.Exp),
        ["Log"] = Elementwise(0.1, 5, x => x.Log(), Math.Log),
        ["Log1p"] = Elementwise(-0.9, 5, x => x.Log1p(), v => Math.Log(1 + v)),
        ["Softplus"] = Elementwise(-8, 8, x => x.Softplus(), v => Math.Log(1 + Math.Exp(v))),
        ["Sigmoid"] = Elementwise(-8, 8, x => x.Sigmoid(), v => 1 / (1 + Math.Exp(-v))),
        ["LogSigmoid"] = Elementwise(-8, 8, x => x.LogSigmoid(), v => -Math.Log(1 + Math.Exp(-v))),
        ["Square"] = Elementwise(-3, 3, x => x.Square(), v => v * v),
        ["Sqrt"] = Elementwise(0.1, 5, x => x.Sqrt(), Math.Sqrt),
        ["Pow(2.5)"] = Elementwise(0.2, 3, x => x.Pow(2.5), v => Math.Pow(v, 2.5)),
        ["Pow(-1.5)"] = Elementwise(0.2, 3, x => x.Pow(-1.5), v => Math.Pow(v, -1.5)),
        ["Pow(3) of negatives too"] = Elementwise(-2, 2, x => x.Pow(3), v => v * v * v),
        ["Pow(1)"] = Elementwise(-2, 2, x => x.Pow(1), v => v),
        ["Pow(0)"] = Elementwise(-2, 2, x => x.Pow(0), _ => 1),
        ["Sin"] = Elementwise(-4, 4, x => x.Sin(), Math.Sin),
        ["Cos"] = Elementwise(-4, 4, x => x.Cos(), Math.Cos),
        ["LogGamma"] = Elementwise(0.2, 8, x => x.LogGamma(), SpecialFunctions.GammaLn),
        ["Digamma"] = Elementwise(0.2, 8, x => x.Digamma(), SpecialFunctions.DiGamma),
        ["LogBesselI0"] = Elementwise(-30, 30, x => x.LogBesselI0(), v => Math.Log(SpecialFunctions.BesselI0(v))),
        ["Sum"] = new(-3, 3, x => x.Sum(), m => new[,] { { m.Cast<double>().Sum() } }),
        ["Mean"] = new(-3, 3, x => x.Mean(), m => new[,] { { m.Cast<double>().Average() } }),
        ["ColumnSums"] = new(-3, 3, x => x.ColumnSums(), m => Matrices.Build(1, Cols(m), (_, j) => Enumerable.Range(0, Rows(m)).Sum(i => m[i, j]))),
        ["ColumnMeans"] = new(-3, 3, x => x.ColumnMeans(), m => Matrices.Build(1, Cols(m), (_, j) => Enumerable.Range(0, Rows(m)).Average(i => m[i, j]))),
        ["RowSums"] = new(-3, 3, x => x.RowSums(), m => Matrices.Build(Rows(m), 1, (i, _) => Enumerable.Range(0, Cols(m)).Sum(j => m[i, j]))),
        ["RowMeans"] = new(-3, 3, x => x.RowMeans(), m => Matrices.Build(Rows(m), 1, (i, _) => Enumerable.Range(0, Cols(m)).Average(j => m[i, j]))),
        ["LogSumExp"] = new(-5, 5, x => x.LogSumExp(), m => new[,] { { Math.Log(m.Cast<double>().Sum(Math.Exp)) } }),
        ["RowLogSumExp"] = new(-5, 5, x => x.RowLogSumExp(), m => Matrices.Build(Rows(m), 1, (i, _) => RowLse(m, i))),
        ["ColumnLogSumExp"] = new(-5, 5, x => x.ColumnLogSumExp(), m => Matrices.Build(1, Cols(m), (_, j) => ColumnLse(m, j))),
        ["LogSoftmaxRows"] = new(-5, 5, x => x.LogSoftmaxRows(), m => Matrices.Build(Rows(m), Cols(m), (i, j) => m[i, j] - RowLse(m, i))),
        ["Transpose"] = new(-3, 3, x => x.Transpose(), m => Matrices.Build(Cols(m), Rows(m), (i, j) => m[j, i])),
        ["Reshape to one row"] = new(-3, 3, x => x.Reshape(1, x.Length), m => Matrices.Of(Matrices.Flat(m), 1, m.Length)),
        ["Reshape to cols×rows"] = new(-3, 3, x => x.Reshape(x.Cols, x.Rows), m => Matrices.Of(Matrices.Flat(m), Cols(m), Rows(m))),
        ["Columns (right half)"] = new(-3, 3, x => x.Columns(x.Cols / 2, x.Cols - x.Cols / 2),
            m => Matrices.Build(Rows(m), Cols(m) - Cols(m) / 2, (i, j) => m[i, Cols(m) / 2 + j])),
        ["ColumnRange (first column)"] = new(-3, 3, x => x.ColumnRange(0, 1), m => Matrices.Build(Rows(m), 1, (i, _) => m[i, 0])),
        ["RowRange (bottom half)"] = new(-3, 3, x => x.RowRange(x.Rows / 2, x.Rows - x.Rows / 2),
            m => Matrices.Build(Rows(m) - Rows(m) / 2, Cols(m), (i, j) => m[Rows(m) / 2 + i, j])),
        ["SelectPerRow"] = new(-3, 3, x => x.SelectPerRow(Enumerable.Range(0, x.Rows).Select(i => Picked(i, x.Cols)).ToArray()),
            m => Matrices.Build(Rows(m), 1, (i, _) => m[i, Picked(i, Cols(m))])),
        ["Dot with itself"] = new(-3, 3, x => x.Dot(x), m => new[,] { { m.Cast<double>().Sum(v => v * v) } }),
        ["Static Exp, Log, Sqrt, Sin, Cos, Pow (F# forms)"] = Elementwise(0.2, 3,
            x => Var.Exp(x) + Var.Log(x) + Var.Sqrt(x) + Var.Sin(x) + Var.Cos(x) + Var.Pow(x, 1.5),
            v => Math.Exp(v) + Math.Log(v) + Math.Sqrt(v) + Math.Sin(v) + Math.Cos(v) + Math.Pow(v, 1.5)),
    };

    public static TheoryData<string> Names => new(Ops.Keys);

    [Theory]
    [MemberData(nameof(Names))]
    public void ForwardValuesMatchADirectComputation(string name) => CheckValues(name, ShapeCase.Arbitrary, 100);

    [Theory]
    [MemberData(nameof(Names))]
    public void ForwardValuesMatchADirectComputationOnWideRows(string name) => CheckValues(name, ShapeCase.Wide, 25);

    [Theory]
    [MemberData(nameof(Names))]
    public void GradientMatchesCentralDifferences(string name) => CheckGradient(name, ShapeCase.Arbitrary, 100);

    [Theory]
    [MemberData(nameof(Names))]
    public void GradientMatchesCentralDifferencesOnWideRows(string name) => CheckGradient(name, ShapeCase.Wide, 20);

    private static void CheckValues(string name, FsCheck.Arbitrary<ShapeCase> shapes, int cases)
    {
        var op = Ops[name];
        PropertyChecks.ForAll(shapes, c =>
        {
            var values = new Random(c.Seed).Vector(c.Rows * c.Cols, op.Lo, op.Hi);
            var expected = op.Reference(Matrices.Of(values, c.Rows, c.Cols));
            var constant = op.Apply(Var.Constant(values, c.Rows, c.Cols));
            Assert.True(constant.IsConstant, $"{name} of a constant recorded on a tape");
            AutoDiffAssert.Values(expected, constant, 1e-13, $"{name} of {Fmt.V(values)} ({c.Rows}×{c.Cols})");
            var tape = new Tape();
            var taped = op.Apply(tape.Variable(values, c.Rows, c.Cols));
            Assert.Same(tape, taped.Tape);
            Assert.True(taped.Values.SequenceEqual(constant.Values), $"{name}: taped and forward-only values differ");
        }, cases);
    }

    private static void CheckGradient(string name, FsCheck.Arbitrary<ShapeCase> shapes, int cases)
    {
        var op = Ops[name];
        PropertyChecks.ForAll(shapes, c =>
        {
            var random = new Random(c.Seed);
            var values = random.Vector(c.Rows * c.Cols, op.Lo, op.Hi);
            var shape = op.Apply(Var.Constant(values, c.Rows, c.Cols));
            var weights = Var.Constant(random.Vector(shape.Length, -1, 1), shape.Rows, shape.Cols);
            var other = Var.Constant(random.Vector(values.Length, -1, 1), c.Rows, c.Cols);
            AutoDiffAssert.Gradient(x => op.Apply(x).Dot(weights), values, c.Rows, c.Cols, $"Σ W ∘ {name}(x)");
            // x used again by a later node, whose backward rule runs first: the op's rule must add, not overwrite.
            AutoDiffAssert.Gradient(x => op.Apply(x).Dot(weights) + x.Dot(other), values, c.Rows, c.Cols, $"Σ W ∘ {name}(x) + Σ V ∘ x");
        }, cases);
    }
}
