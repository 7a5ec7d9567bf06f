using EmDsl.AutoDiff;
using EmDsl.Tests.Families;
using FsCheck;
using FsCheck.Fluent;

namespace EmDsl.Tests.AutoDiff;

/// <summary>
/// The binary operations with broadcasting, matrix product, Dot and concatenation: values against direct index loops
/// and gradients (both operands at once, by packing them into one variable vector) against central differences.
/// </summary>
public class BinaryOpGradientTests
{
    private sealed record BinaryOp(Func<Var, Var, Var> Apply, Func<double, double, double> Reference, bool DividesByRight);

    private static readonly Dictionary<string, BinaryOp> Ops = new()
    {
        ["+"] = new((a, b) => a + b, (x, y) => x + y, false),
        ["-"] = new((a, b) => a - b, (x, y) => x - y, false),
        ["*"] = new((a, b) => a * b, (x, y) => x * y, false),
        ["/"] = new((a, b) => a / b, (x, y) => x / y, true),
    };

    public static TheoryData<string> Names => new(Ops.Keys);

    /// <summary>Values for the right operand: in ±[0.5, 2] for division (away from 0), [−2, 2] otherwise.</summary>
    private static double[] RightValues(Random random, int n, bool awayFromZero) =>
        awayFromZero
            ? random.Vector(n, 0.5, 2).Select(v => random.Next(2) == 0 ? v : -v).ToArray()
            : random.Vector(n, -2, 2);

    /// <summary>Splits the packed variable vector back into the two operands.</summary>
    private static (Var Left, Var Right) Unpack(Var packed, int lr, int lc, int rr, int rc) =>
        (packed.RowRange(0, lr * lc).Reshape(lr, lc), packed.RowRange(lr * lc, rr * rc).Reshape(rr, rc));

    [Theory]
    [MemberData(nameof(Names))]
    public void BroadcastValuesFollowTheNumpyRule(string name)
    {
        var op = Ops[name];
        PropertyChecks.ForAll(Arb.From(Gen.OneOf(BroadcastCase.Arbitrary.Generator, BroadcastCase.Wide.Generator)), c =>
        {
            var random = new Random(c.Seed);
            var a = random.Vector(c.LeftRows * c.LeftCols, -2, 2);
            var b = RightValues(random, c.RightRows * c.RightCols, op.DividesByRight);
            var result = op.Apply(Var.Constant(a, c.LeftRows, c.LeftCols), Var.Constant(b, c.RightRows, c.RightCols));
            var expected = Matrices.Build(c.Rows, c.Cols, (i, j) => op.Reference(
                a[(c.LeftRows == 1 ? 0 : i) * c.LeftCols + (c.LeftCols == 1 ? 0 : j)],
                b[(c.RightRows == 1 ? 0 : i) * c.RightCols + (c.RightCols == 1 ? 0 : j)]));
            AutoDiffAssert.Values(expected, result, 1e-15, $"{c.LeftRows}×{c.LeftCols} {name} {c.RightRows}×{c.RightCols}");
        });
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void BroadcastGradientsSumOverBroadcastDimensions(string name) => CheckBroadcastGradient(name, BroadcastCase.Arbitrary, 100);

    [Theory]
    [MemberData(nameof(Names))]
    public void BroadcastGradientsOnWideRows(string name) => CheckBroadcastGradient(name, BroadcastCase.Wide, 20);

    private static void CheckBroadcastGradient(string name, FsCheck.Arbitrary<BroadcastCase> shapes, int cases)
    {
        var op = Ops[name];
        PropertyChecks.ForAll(shapes, c =>
        {
            var random = new Random(c.Seed);
            var a = random.Vector(c.LeftRows * c.LeftCols, -2, 2);
            var b = RightValues(random, c.RightRows * c.RightCols, op.DividesByRight);
            var weights = Var.Constant(random.Vector(c.Rows * c.Cols, -1, 1), c.Rows, c.Cols);
            var packed = Matrices.Concat(a, b);
            var va = Var.Constant(random.Vector(a.Length, -1, 1), c.LeftRows, c.LeftCols);
            var vb = Var.Constant(random.Vector(b.Length, -1, 1), c.RightRows, c.RightCols);
            AutoDiffAssert.Gradient(p =>
            {
                var (left, right) = Unpack(p, c.LeftRows, c.LeftCols, c.RightRows, c.RightCols);
                return op.Apply(left, right).Dot(weights);
            }, packed, packed.Length, 1, $"Σ W ∘ ({c.LeftRows}×{c.LeftCols} {name} {c.RightRows}×{c.RightCols})");
            // Both operands used again by later nodes (whose rules run first): the rule must accumulate.
            AutoDiffAssert.Gradient(p =>
            {
                var (left, right) = Unpack(p, c.LeftRows, c.LeftCols, c.RightRows, c.RightCols);
                return op.Apply(left, right).Dot(weights) + left.Dot(va) + right.Dot(vb);
            }, packed, packed.Length, 1, $"Σ W ∘ (a {name} b) + Σ Va ∘ a + Σ Vb ∘ b");

            // With a constant on either side, the taped side still gets the right gradient and the constant none.
            AutoDiffAssert.Gradient(x => op.Apply(x, Var.Constant(b, c.RightRows, c.RightCols)).Dot(weights), a, c.LeftRows, c.LeftCols, $"variable {name} constant");
            AutoDiffAssert.Gradient(y => op.Apply(Var.Constant(a, c.LeftRows, c.LeftCols), y).Dot(weights), b, c.RightRows, c.RightCols, $"constant {name} variable");
        }, cases);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void ScalarOperandsOnEitherSide(string name)
    {
        var op = Ops[name];
        var cases = from shape in ShapeCase.Arbitrary.Generator
                    from scalar in Gens.Uniform(0.5, 2)
                    select (shape, scalar);
        PropertyChecks.ForAll(cases.ToArbitrary(), t =>
        {
            var (c, s) = t;
            var random = new Random(c.Seed);
            var x = op.DividesByRight ? random.Vector(c.Rows * c.Cols, 0.5, 2) : random.Vector(c.Rows * c.Cols, -2, 2);
            var weights = Var.Constant(random.Vector(c.Rows * c.Cols, -1, 1), c.Rows, c.Cols);
            // The double overloads (x ⊕ 2.5, 2.5 ⊕ x) against the Var overloads and the reference.
            Func<Var, Var> right = name switch { "+" => v => v + s, "-" => v => v - s, "*" => v => v * s, _ => v => v / s };
            Func<Var, Var> left = name switch { "+" => v => s + v, "-" => v => s - v, "*" => v => s * v, _ => v => s / v };
            var constant = Var.Constant(x, c.Rows, c.Cols);
            AutoDiffAssert.Values(Matrices.Map(Matrices.Of(x, c.Rows, c.Cols), v => op.Reference(v, s)), right(constant), 1e-15, $"x {name} {s}");
            AutoDiffAssert.Values(Matrices.Map(Matrices.Of(x, c.Rows, c.Cols), v => op.Reference(s, v)), left(constant), 1e-15, $"{s} {name} x");
            AutoDiffAssert.Gradient(v => right(v).Dot(weights), x, c.Rows, c.Cols, $"x {name} {s}");
            AutoDiffAssert.Gradient(v => left(v).Dot(weights), x, c.Rows, c.Cols, $"{s} {name} x");
            AutoDiffAssert.Gradient(v => op.Apply(v, s).Dot(weights), x, c.Rows, c.Cols, $"x {name} (Var){s}");
        });
    }

    [Fact]
    public void MatMulValuesAndGradients()
    {
        var cases = from m in Gen.Choose(1, 5)
                    from k in Gen.Choose(1, 5)
                    from n in Gen.Choose(1, 5)
                    from seed in Gens.Seed
                    select (m, k, n, seed);
        PropertyChecks.ForAll(cases.ToArbitrary(), t =>
        {
            var (m, k, n, seed) = t;
            var random = new Random(seed);
            var a = random.Vector(m * k, -2, 2);
            var b = random.Vector(k * n, -2, 2);
            var weights = Var.Constant(random.Vector(m * n, -1, 1), m, n);
            var expected = Matrices.Build(m, n, (i, j) => Enumerable.Range(0, k).Sum(p => a[i * k + p] * b[p * n + j]));
            AutoDiffAssert.Values(expected, Var.Constant(a, m, k).MatMul(Var.Constant(b, k, n)), 1e-14, $"{m}×{k} · {k}×{n}");
            var packed = Matrices.Concat(a, b);
            AutoDiffAssert.Gradient(p =>
            {
                var (left, right) = Unpack(p, m, k, k, n);
                return left.MatMul(right).Dot(weights);
            }, packed, packed.Length, 1, $"Σ W ∘ (A·B), {m}×{k} · {k}×{n}");
            var va = Var.Constant(random.Vector(a.Length, -1, 1), m, k);
            var vb = Var.Constant(random.Vector(b.Length, -1, 1), k, n);
            AutoDiffAssert.Gradient(p =>
            {
                var (left, right) = Unpack(p, m, k, k, n);
                return left.MatMul(right).Dot(weights) + left.Dot(va) + right.Dot(vb);
            }, packed, packed.Length, 1, "Σ W ∘ (A·B) + Σ Va ∘ A + Σ Vb ∘ B (accumulation)");
            AutoDiffAssert.Gradient(x => Var.Constant(a, m, k).MatMul(x).Dot(weights) + x.Dot(vb), b, k, n, "constant A · variable B");
            AutoDiffAssert.Gradient(x => x.MatMul(Var.Constant(b, k, n)).Dot(weights) + x.Dot(va), a, m, k, "variable A · constant B");
        });
    }

    [Fact]
    public void DotValuesAndGradients() =>
        PropertyChecks.ForAll(ShapeCase.Arbitrary, c =>
        {
            var random = new Random(c.Seed);
            var a = random.Vector(c.Rows * c.Cols, -2, 2);
            var b = random.Vector(c.Rows * c.Cols, -2, 2);
            Approx.Equal(a.Zip(b, (x, y) => x * y).Sum(), Var.Constant(a, c.Rows, c.Cols).Dot(Var.Constant(b, c.Rows, c.Cols)).Scalar, 1e-14, 1e-14, "Dot");
            var packed = Matrices.Concat(a, b);
            AutoDiffAssert.Gradient(p =>
            {
                var (left, right) = Unpack(p, c.Rows, c.Cols, c.Rows, c.Cols);
                return left.Dot(right).Square();
            }, packed, packed.Length, 1, "(a · b)²");
        });

    [Fact]
    public void ConcatenationValuesAndGradients()
    {
        var cases = from rows in Gen.Choose(1, 4)
                    from count in Gen.Choose(1, 3)
                    from widths in Gen.Choose(1, 3).ArrayOf(count)
                    from constantPart in Gen.Choose(-1, 2)
                    from seed in Gens.Seed
                    select (rows, widths, constantPart, seed);
        PropertyChecks.ForAll(cases.ToArbitrary(), t =>
        {
            var (n, widths, constantPart, seed) = t;
            var random = new Random(seed);
            var blocks = widths.Select(w => random.Vector(n * w, -2, 2)).ToArray();
            int total = widths.Sum();
            var packed = Matrices.Concat(blocks);

            // Side by side: part q is n × widths[q]; stacked: part q (as widths[q] × n) under the previous ones.
            var sideBySide = Matrices.Build(n, total, (i, j) =>
            {
                int q = 0, at = j;
                while (at >= widths[q]) at -= widths[q++];
                return blocks[q][i * widths[q] + at];
            });
            var stacked = Matrices.Of(packed, total, n);
            AutoDiffAssert.Values(sideBySide, Var.ConcatColumns(blocks.Select((b, q) => Var.Constant(b, n, widths[q])).ToArray()), 0, "ConcatColumns");
            AutoDiffAssert.Values(stacked, Var.ConcatRows(blocks.Select((b, q) => Var.Constant(b, widths[q], n)).ToArray()), 0, "ConcatRows");

            var wColumns = Var.Constant(random.Vector(n * total, -1, 1), n, total);
            var wRows = Var.Constant(random.Vector(n * total, -1, 1), total, n);
            Var[] Parts(Var p, bool byRows)
            {
                var parts = new Var[widths.Length];
                for (int q = 0, at = 0; q < widths.Length; at += n * widths[q], q++)
                {
                    // One part (if constantPart names one) is a constant: it must simply get no gradient.
                    var part = q == constantPart ? Var.Constant(blocks[q], n * widths[q], 1) : p.RowRange(at, n * widths[q]);
                    parts[q] = byRows ? part.Reshape(widths[q], n) : part.Reshape(n, widths[q]);
                }
                return parts;
            }
            var v = Var.Constant(random.Vector(packed.Length, -1, 1), packed.Length, 1);
            Var Accumulate(Var p, Var[] parts) => parts.Aggregate(p.Dot(v), (s, part) => s + part.Sum()); // later uses of every part
            AutoDiffAssert.Gradient(p => { var parts = Parts(p, false); return Var.ConcatColumns(parts).Dot(wColumns) + Accumulate(p, parts); },
                packed, packed.Length, 1, $"ConcatColumns widths {string.Join(",", widths)}");
            AutoDiffAssert.Gradient(p => { var parts = Parts(p, true); return Var.ConcatRows(parts).Dot(wRows) + Accumulate(p, parts); },
                packed, packed.Length, 1, $"ConcatRows heights {string.Join(",", widths)}");
        });
    }
}
