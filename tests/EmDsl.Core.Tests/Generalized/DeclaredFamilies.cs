using EmDsl.AutoDiff;
using EmDsl.Families;

namespace EmDsl.Tests.Generalized;

/// <summary>
/// Families declared through <see cref="FamilyDeclaration"/> only from T, log h and A written with autodiff
/// operations — replicas of the built-in families (whose hand-written ∇A and closed-form or Minka inverses they
/// are checked against), and the inverse Gaussian, which EmDsl does not ship.
/// </summary>
internal static class DeclaredFamilies
{
    /// <summary>Column j of an observation block or element j of η (a 1 × S row).</summary>
    public static Var At(this Var v, int j) => v.Columns(j, 1);

    /// <summary>The 1-D Gaussian: T = (x, x²), η = (μ/σ², −1/(2σ²)), A = −η₁²/(4η₂) − ½ log(−2η₂), log h = −½ log 2π.</summary>
    public static DeclaredFamily Gaussian1D() =>
        DeclaredFamily.Declare("declared Gaussian", 1,
                x => Var.ConcatColumns(x, x.Square()),
                eta => -eta.At(0).Square() / (4 * eta.At(1)) - 0.5 * (-2 * eta.At(1)).Log(),
                NaturalDomain.Coordinates(NaturalConstraint.Real, NaturalConstraint.Negative))
            .WithLogBaseMeasure(x => x * 0 - 0.5 * Math.Log(2 * Math.PI))
            .WithMeanDomain(m => m[1] > m[0] * m[0])
            .WithSampler((eta, r) => [MathNet.Numerics.Distributions.Normal.Sample(r, -eta[0] / (2 * eta[1]), Math.Sqrt(-1 / (2 * eta[1])))])
            .Build();

    /// <summary>
    /// The 2-D full-covariance Gaussian in the built-in packing T = (x₁, x₂, x₁², x₁x₂, x₂²), η = (Λμ, −½Λ₁₁, −Λ₁₂, −½Λ₂₂),
    /// A = ½ hᵀΛ⁻¹h − ½ log|Λ|, over a mapped domain: Λ = LLᵀ with L = [[e^u₁, 0], [u₂, e^u₃]].
    /// </summary>
    public static DeclaredFamily Gaussian2D()
    {
        var domain = NaturalDomain.FromMap(5, 5,
            u =>
            {
                var l11 = u.At(2).Exp();
                var l21 = u.At(3);
                var l22 = u.At(4).Exp();
                return Var.ConcatColumns(u.At(0), u.At(1), -0.5 * l11.Square(), -(l21 * l11), -0.5 * (l21.Square() + l22.Square()));
            },
            eta =>
            {
                double a = -2 * eta[2], b = -eta[3], c = -2 * eta[4];
                double l11 = Math.Sqrt(a), l21 = b / l11, l22 = Math.Sqrt(c - l21 * l21);
                return [eta[0], eta[1], Math.Log(l11), l21, Math.Log(l22)];
            },
            eta => eta[2] < 0 && eta[4] < 0 && 4 * eta[2] * eta[4] - eta[3] * eta[3] > 0);
        return DeclaredFamily.Declare("declared 2-D Gaussian", 2,
                x => Var.ConcatColumns(x.At(0), x.At(1), x.At(0).Square(), x.At(0) * x.At(1), x.At(1).Square()),
                eta =>
                {
                    Var a = -2 * eta.At(2), b = -eta.At(3), c = -2 * eta.At(4);
                    var det = a * c - b.Square();
                    Var h1 = eta.At(0), h2 = eta.At(1);
                    return 0.5 * (c * h1.Square() - 2 * b * h1 * h2 + a * h2.Square()) / det - 0.5 * det.Log();
                },
                domain)
            .WithLogBaseMeasure(x => x.At(0) * 0 - Math.Log(2 * Math.PI))
            .Build();
    }

    /// <summary>Poisson: T = x, η = log λ, A = e^η, log h = −log x!.</summary>
    public static DeclaredFamily Poisson() =>
        DeclaredFamily.Declare("declared Poisson", 1, x => x, eta => eta.Exp().Sum(), NaturalDomain.Unconstrained(1))
            .WithLogBaseMeasure(x => -(x + 1).LogGamma())
            .WithSupport(ColumnSupport.NonNegativeInteger)
            .WithMeanDomain(m => m[0] > 0)
            .Build();

    /// <summary>Bernoulli: T = x, η = logit p, A = log(1 + e^η).</summary>
    public static DeclaredFamily Bernoulli() =>
        DeclaredFamily.Declare("declared Bernoulli", 1, x => x, eta => eta.Softplus().Sum(), NaturalDomain.Unconstrained(1))
            .WithSupport(ColumnSupport.Binary)
            .WithMeanDomain(m => m[0] > 0 && m[0] < 1)
            .Build();

    /// <summary>Exponential: T = x, η = −λ &lt; 0, A = −log(−η).</summary>
    public static DeclaredFamily Exponential() =>
        DeclaredFamily.Declare("declared Exponential", 1, x => x, eta => -(-eta).Log().Sum(), NaturalDomain.Coordinates(NaturalConstraint.Negative))
            .WithSupport(ColumnSupport.Positive)
            .WithMeanDomain(m => m[0] > 0)
            .Build();

    /// <summary>Categorical over 3 integer codes: T = one-hot of the first C − 1, A = log(1 + Σ e^η).</summary>
    public static DeclaredFamily Categorical3() =>
        DeclaredFamily.Declare("declared categorical", 1,
                x => Var.OneHot(x.Values.ToArray().Select(v => (int)v).ToArray(), 3).Columns(0, 2),
                eta => Var.ConcatColumns(Var.Constant(0.0), eta).LogSumExp(),
                NaturalDomain.Unconstrained(2))
            .WithSupport(ColumnSupport.Where(v => v is 0 or 1 or 2, "0, 1 or 2"))
            .WithMeanDomain(m => m[0] > 0 && m[1] > 0 && m[0] + m[1] < 1)
            .Build();

    /// <summary>Gamma: T = (x, log x), η = (−β, α − 1), A = log Γ(α) − α log β.</summary>
    public static DeclaredFamily Gamma() =>
        DeclaredFamily.Declare("declared Gamma", 1,
                x => Var.ConcatColumns(x, x.Log()),
                eta => (eta.At(1) + 1).LogGamma() - (eta.At(1) + 1) * (-eta.At(0)).Log(),
                NaturalDomain.Coordinates(NaturalConstraint.Negative, NaturalConstraint.GreaterThan(-1)))
            .WithSupport(ColumnSupport.Positive)
            .WithMeanDomain(m => m[0] > 0 && Math.Log(m[0]) > m[1])
            .Build();

    /// <summary>Beta: T = (log x, log(1 − x)), η = (α − 1, β − 1), A = log B(α, β).</summary>
    public static DeclaredFamily Beta() =>
        DeclaredFamily.Declare("declared Beta", 1,
                x => Var.ConcatColumns(x.Log(), (1 - x).Log()),
                eta =>
                {
                    Var a = eta.At(0) + 1, b = eta.At(1) + 1;
                    return a.LogGamma() + b.LogGamma() - (a + b).LogGamma();
                },
                NaturalDomain.Coordinates(NaturalConstraint.GreaterThan(-1), NaturalConstraint.GreaterThan(-1)))
            .WithSupport(ColumnSupport.UnitInterval)
            .WithMeanDomain(m => m[0] < 0 && m[1] < 0 && Math.Exp(m[0]) + Math.Exp(m[1]) < 1)
            .Build();

    /// <summary>Dirichlet over 3 columns: T = log x, η = α − 1, A = Σ log Γ(α_i) − log Γ(Σ α_i).</summary>
    public static DeclaredFamily Dirichlet3() =>
        DeclaredFamily.Declare("declared Dirichlet", 3,
                x => x.Log(),
                eta => (eta + 1).LogGamma().Sum() - (eta + 1).Sum().LogGamma(),
                NaturalDomain.Coordinates(NaturalConstraint.GreaterThan(-1), NaturalConstraint.GreaterThan(-1), NaturalConstraint.GreaterThan(-1)))
            .WithSupport(ColumnSupport.UnitInterval)
            .WithMeanDomain(m => m.All(v => v < 0) && m.Sum(Math.Exp) < 1)
            .Build();

    /// <summary>Negative binomial with dispersion 3: T = x, η = log p &lt; 0, A = −3 log(1 − e^η), log h = log Γ(x + 3) − log Γ(3) − log x!.</summary>
    public static DeclaredFamily NegativeBinomial3() =>
        DeclaredFamily.Declare("declared negative binomial", 1,
                x => x,
                eta => -3 * (1 - eta.Exp()).Log().Sum(),
                NaturalDomain.Coordinates(NaturalConstraint.Negative))
            .WithLogBaseMeasure(x => (x + 3).LogGamma() - MathNet.Numerics.SpecialFunctions.GammaLn(3) - (x + 1).LogGamma())
            .WithSupport(ColumnSupport.NonNegativeInteger)
            .WithMeanDomain(m => m[0] > 0)
            .Build();

    /// <summary>von Mises: T = (cos x, sin x), η = κ(cos μ, sin μ), A = log 2π + log I₀(|η|).</summary>
    public static DeclaredFamily VonMises() =>
        DeclaredFamily.Declare("declared von Mises", 1,
                x => Var.ConcatColumns(x.Cos(), x.Sin()),
                eta => Math.Log(2 * Math.PI) + eta.Square().Sum().Sqrt().LogBesselI0(),
                NaturalDomain.Unconstrained(2))
            .WithMeanDomain(m => m[0] * m[0] + m[1] * m[1] < 1)
            .WithStart(0.5, 0.5)
            .Build();

    /// <summary>
    /// The inverse Gaussian (Wald), which EmDsl does not ship: p(x | μ, λ) = √(λ / (2π x³)) exp(−λ(x − μ)² / (2μ²x)).
    /// T = (x, 1/x), η = (−λ/(2μ²), −λ/2), A = −2√(η₁η₂) − ½ log(−2η₂), log h = −½ log 2π − (3/2) log x.
    /// </summary>
    public static DeclaredFamily InverseGaussian() =>
        DeclaredFamily.Declare("inverse Gaussian", 1,
                x => Var.ConcatColumns(x, 1.0 / x),
                eta => -2 * (eta.At(0) * eta.At(1)).Sqrt() - 0.5 * (-2 * eta.At(1)).Log(),
                NaturalDomain.Coordinates(NaturalConstraint.Negative, NaturalConstraint.Negative))
            .WithLogBaseMeasure(x => -0.5 * Math.Log(2 * Math.PI) - 1.5 * x.Log())
            .WithSupport(ColumnSupport.Positive)
            .WithMeanDomain(m => m[0] > 0 && m[1] * m[0] > 1)
            // Keeps λ ≤ 10⁶ μ: a component collapsing onto one value stops there instead of at a spike whose
            // natural parameters (≈ −λ/2) would make T(x)·η − A(η) cancel catastrophically.
            .WithMeanProjection((m, _) => [m[0], Math.Max(m[1], (1 + 1e-6) / m[0])])
            .WithSampler((eta, r) => [MathNet.Numerics.Distributions.InverseGaussian.Sample(r, Math.Sqrt(eta[1] / eta[0]), -2 * eta[1])])
            .Build();

    /// <summary>(μ, λ) of an inverse Gaussian from η.</summary>
    public static (double Mean, double Shape) InverseGaussianParameters(IReadOnlyList<double> eta) => (Math.Sqrt(eta[1] / eta[0]), -2 * eta[1]);

    /// <summary>η of an inverse Gaussian from (μ, λ).</summary>
    public static double[] InverseGaussianNatural(double mean, double shape) => [-shape / (2 * mean * mean), -shape / 2];
}
