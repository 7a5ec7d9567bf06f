using EmDsl.Families;
using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.Distributions;

namespace EmDsl.Tests.Families;

/// <summary>
/// One distribution of a family, drawn in its usual parametrisation, with its natural parameter η and mean
/// parameter μ = E[T(x)] computed by the oracle from the textbook definitions (never by the family).
/// </summary>
internal sealed record Draw(double[] Natural, double[] Mean, object Usual, string Description)
{
    public override string ToString() => $"{Description}; η = {Fmt.V(Natural)}; μ = {Fmt.V(Mean)}";
}

/// <summary>
/// An independent model of one family configuration: the textbook T(x), log h(x), density (MathNet or a
/// hand-written formula), natural and mean parameters, and parameter domains. The family's own code is
/// checked against this; nothing here calls into the family under test.
/// </summary>
internal abstract class FamilyOracle
{
    public abstract ExponentialFamily Family { get; }

    public abstract string Label { get; }

    public override string ToString() => Label;

    /// <summary>Random valid usual parameters (in well-conditioned ranges) with η and μ from the definitions.</summary>
    public abstract Draw DrawParameters(Random r);

    /// <summary>A random point of the support (not necessarily a draw from any particular distribution).</summary>
    public abstract double[] DrawObservation(Random r);

    /// <summary>T(x) from the definition.</summary>
    public abstract double[] Statistics(double[] x);

    /// <summary>log h(x) from the definition.</summary>
    public abstract double LogBaseMeasure(double[] x);

    /// <summary>log p(x | θ) for the usual parameters of <paramref name="draw"/>, by MathNet or a textbook formula.</summary>
    public abstract double LogDensity(double[] x, Draw draw);

    /// <summary>Whether η is a natural parameter (A(η) finite); null when η is too close to the boundary to say.</summary>
    public abstract bool? IsValidNatural(double[] eta);

    /// <summary>Whether μ is interior to the mean domain; null when too close to the boundary to say.</summary>
    public abstract bool? IsValidMean(double[] mean);

    /// <summary>A random vector of length S in a box wide enough to contain invalid natural parameters too.</summary>
    public abstract double[] NaturalCandidate(Random r);

    /// <summary>A random vector of length S, valid or not as a mean parameter.</summary>
    public abstract double[] MeanCandidate(Random r);

    /// <summary>
    /// An observation for an M-step data set. Defaults to <see cref="DrawObservation"/>; a family whose
    /// likelihood is unbounded on a boundary data set (the Exponential when a column is all zeros) draws away from it.
    /// </summary>
    public virtual double[] DrawDataObservation(Random r) => DrawObservation(r);

    /// <summary>Lower bound of the observations generated for an M-step data set (Gaussian needs enough points).</summary>
    public virtual int MinimumSampleSize => 1;

    protected static Draw MakeDraw(double[] eta, double[] mean, object usual, string description) => new(eta, mean, usual, description);
}

internal sealed class BernoulliOracle(int dimension) : FamilyOracle
{
    public int Dimension { get; } = dimension;

    public override ExponentialFamily Family { get; } = new BernoulliFamily(dimension);

    public override string Label => $"Bernoulli(D = {Dimension})";

    public static double[] Probabilities(Draw d) => (double[])d.Usual;

    public override Draw DrawParameters(Random r)
    {
        var p = r.Vector(Dimension, 0.001, 0.999);
        var eta = p.Select(v => Math.Log(v / (1 - v))).ToArray();
        return MakeDraw(eta, (double[])p.Clone(), p, $"{Label} p = {Fmt.V(p)}");
    }

    public override double[] DrawObservation(Random r) => Enumerable.Range(0, Dimension).Select(_ => (double)r.Next(2)).ToArray();

    public override double[] Statistics(double[] x) => (double[])x.Clone();

    public override double LogBaseMeasure(double[] x) => 0;

    public override double LogDensity(double[] x, Draw draw)
    {
        var p = Probabilities(draw);
        double s = 0;
        for (int d = 0; d < Dimension; d++) s += Bernoulli.PMFLn(p[d], (int)x[d]);
        return s;
    }

    public override bool? IsValidNatural(double[] eta) => eta.All(double.IsFinite);

    public override bool? IsValidMean(double[] mean) => mean.All(m => m > 0 && m < 1);

    public override double[] NaturalCandidate(Random r) =>
        r.Vector(Dimension, -8, 8).Select(v => r.Next(8) == 0 ? Pick(r, double.NaN, double.PositiveInfinity, double.NegativeInfinity) : v).ToArray();

    public override double[] MeanCandidate(Random r) =>
        r.Vector(Dimension, -0.3, 1.3).Select(v => r.Next(6) == 0 ? Pick(r, 0.0, 1.0, double.NaN) : v).ToArray();

    internal static double Pick(Random r, params double[] values) => values[r.Next(values.Length)];
}

internal sealed class CategoricalOracle(int categories, CategoricalEncoding encoding) : FamilyOracle
{
    public int Categories { get; } = categories;

    public CategoricalEncoding Encoding { get; } = encoding;

    public override ExponentialFamily Family { get; } = new CategoricalFamily(categories, encoding);

    public override string Label => $"Categorical(C = {Categories}, {Encoding})";

    public static double[] Probabilities(Draw d) => (double[])d.Usual;

    public override Draw DrawParameters(Random r)
    {
        var p = r.ProbabilityVector(Categories);
        var eta = Enumerable.Range(0, Categories - 1).Select(j => Math.Log(p[j]) - Math.Log(p[Categories - 1])).ToArray();
        return MakeDraw(eta, p.Take(Categories - 1).ToArray(), p, $"{Label} p = {Fmt.V(p)}");
    }

    public double[] Encode(int category)
    {
        if (Encoding == CategoricalEncoding.Integer) return [category];
        var x = new double[Categories];
        x[category] = 1;
        return x;
    }

    public int Decode(double[] x) => Encoding == CategoricalEncoding.Integer ? (int)x[0] : Array.IndexOf(x, 1.0);

    public override double[] DrawObservation(Random r) => Encode(r.Next(Categories));

    public override double[] Statistics(double[] x)
    {
        var t = new double[Categories - 1];
        int c = Decode(x);
        if (c < Categories - 1) t[c] = 1;
        return t;
    }

    public override double LogBaseMeasure(double[] x) => 0;

    public override double LogDensity(double[] x, Draw draw) => Categorical.PMFLn(Probabilities(draw), Decode(x));

    public override bool? IsValidNatural(double[] eta) => eta.All(double.IsFinite);

    public override bool? IsValidMean(double[] mean)
    {
        if (!mean.All(m => m > 0)) return false;
        double last = 1 - mean.Sum();
        if (Math.Abs(last) < 1e-12) return null;
        return last > 0;
    }

    public override double[] NaturalCandidate(Random r) =>
        r.Vector(Categories - 1, -8, 8).Select(v => r.Next(8) == 0 ? BernoulliOracle.Pick(r, double.NaN, double.PositiveInfinity, double.NegativeInfinity) : v).ToArray();

    public override double[] MeanCandidate(Random r) =>
        r.Vector(Categories - 1, -0.1, 1.2 / (Categories - 1)).Select(v => r.Next(8) == 0 ? BernoulliOracle.Pick(r, 0.0, double.NaN) : v).ToArray();
}

internal sealed class PoissonOracle(int dimension) : FamilyOracle
{
    public int Dimension { get; } = dimension;

    public override ExponentialFamily Family { get; } = new PoissonFamily(dimension);

    public override string Label => $"Poisson(D = {Dimension})";

    public static double[] Rates(Draw d) => (double[])d.Usual;

    public override Draw DrawParameters(Random r)
    {
        var rates = r.Vector(Dimension, 0.05, 40);
        return MakeDraw(rates.Select(v => Math.Log(v)).ToArray(), (double[])rates.Clone(), rates, $"{Label} λ = {Fmt.V(rates)}");
    }

    public override double[] DrawObservation(Random r) => Enumerable.Range(0, Dimension).Select(_ => (double)r.Next(0, 61)).ToArray();

    public override double[] Statistics(double[] x) => (double[])x.Clone();

    public override double LogBaseMeasure(double[] x) => -x.Sum(v => MathNet.Numerics.SpecialFunctions.FactorialLn((int)v));

    public override double LogDensity(double[] x, Draw draw)
    {
        var rates = Rates(draw);
        double s = 0;
        for (int d = 0; d < Dimension; d++) s += Poisson.PMFLn(rates[d], (int)x[d]);
        return s;
    }

    // A(η) = Σ e^η overflows past log(double.MaxValue) ≈ 709.78; the band [700, 710] is left to the family.
    public override bool? IsValidNatural(double[] eta)
    {
        if (!eta.All(v => !double.IsNaN(v) && v < double.PositiveInfinity)) return false;
        if (eta.Any(double.IsNegativeInfinity)) return false;
        if (eta.Any(v => v >= 700 && v <= 710)) return null;
        return eta.All(v => v < 700);
    }

    public override bool? IsValidMean(double[] mean) => mean.All(m => m > 0 && double.IsFinite(m));

    public override double[] NaturalCandidate(Random r) =>
        r.Vector(Dimension, -10, 10).Select(v => r.Next(8) == 0 ? BernoulliOracle.Pick(r, double.NaN, double.PositiveInfinity, double.NegativeInfinity, 720, 1e6) : v).ToArray();

    public override double[] MeanCandidate(Random r) =>
        r.Vector(Dimension, -2, 20).Select(v => r.Next(6) == 0 ? BernoulliOracle.Pick(r, 0.0, double.NaN, double.PositiveInfinity, -1e-300) : v).ToArray();
}

internal sealed class ExponentialOracle(int dimension) : FamilyOracle
{
    public int Dimension { get; } = dimension;

    public override ExponentialFamily Family { get; } = new ExponentialDistributionFamily(dimension);

    public override string Label => $"Exponential(D = {Dimension})";

    public static double[] Rates(Draw d) => (double[])d.Usual;

    public override Draw DrawParameters(Random r)
    {
        var rates = r.Vector(Dimension, 0.05, 20);
        return MakeDraw(rates.Select(v => -v).ToArray(), rates.Select(v => 1 / v).ToArray(), rates, $"{Label} λ = {Fmt.V(rates)}");
    }

    public override double[] DrawObservation(Random r) =>
        Enumerable.Range(0, Dimension).Select(_ => r.Next(10) == 0 ? 0.0 : r.Uniform(0, 10)).ToArray();

    // With every value of a column 0 the likelihood grows without bound as λ → ∞: there is no maximum to check.
    public override double[] DrawDataObservation(Random r) => r.Vector(Dimension, 0.01, 10);

    public override double[] Statistics(double[] x) => (double[])x.Clone();

    public override double LogBaseMeasure(double[] x) => 0;

    public override double LogDensity(double[] x, Draw draw)
    {
        var rates = Rates(draw);
        double s = 0;
        for (int d = 0; d < Dimension; d++) s += Exponential.PDFLn(rates[d], x[d]);
        return s;
    }

    public override bool? IsValidNatural(double[] eta) => eta.All(v => v < 0 && double.IsFinite(v));

    public override bool? IsValidMean(double[] mean) => mean.All(m => m > 0 && double.IsFinite(m));

    public override double[] NaturalCandidate(Random r) =>
        r.Vector(Dimension, -10, 3).Select(v => r.Next(6) == 0 ? BernoulliOracle.Pick(r, 0.0, double.NaN, double.NegativeInfinity, -0.0) : v).ToArray();

    public override double[] MeanCandidate(Random r) =>
        r.Vector(Dimension, -2, 20).Select(v => r.Next(6) == 0 ? BernoulliOracle.Pick(r, 0.0, double.NaN, double.PositiveInfinity) : v).ToArray();
}

/// <summary>
/// The Gaussian with its documented packing, re-implemented from the type's documentation: Full — x_i x_j for
/// i ≤ j with η = −½Λ_ii / −Λ_ij; Diagonal — x_i² with −½Λ_ii; Spherical — Σx_i² with −½λ.
/// </summary>
internal sealed class GaussianOracle(int dimension, CovarianceStructure structure) : FamilyOracle
{
    public int Dimension { get; } = dimension;

    public CovarianceStructure Structure { get; } = structure;

    public override ExponentialFamily Family { get; } = new GaussianFamily(dimension, structure);

    public override string Label => $"Gaussian(D = {Dimension}, {Structure})";

    public int SecondCount => Structure switch
    {
        CovarianceStructure.Full => Dimension * (Dimension + 1) / 2,
        CovarianceStructure.Diagonal => Dimension,
        _ => 1,
    };

    public int StatisticCount => Dimension + SecondCount;

    public override int MinimumSampleSize => 2 * Dimension + 3;

    public static (double[] Mean, Matrix<double> Covariance) Moments(Draw d) => ((double[], Matrix<double>))d.Usual;

    /// <summary>A random covariance of this structure.</summary>
    public Matrix<double> DrawCovariance(Random r) => Structure switch
    {
        CovarianceStructure.Full => r.SpdMatrix(Dimension),
        CovarianceStructure.Diagonal => Matrix<double>.Build.DenseOfDiagonalArray(r.Vector(Dimension, 0.2, 4)),
        _ => Matrix<double>.Build.DenseIdentity(Dimension) * r.Uniform(0.2, 4),
    };

    public double[] PackPrecision(Matrix<double> precision)
    {
        var second = new List<double>();
        int d = Dimension;
        switch (Structure)
        {
            case CovarianceStructure.Full:
                for (int i = 0; i < d; i++)
                    for (int j = i; j < d; j++) second.Add(i == j ? -0.5 * precision[i, i] : -precision[i, j]);
                break;
            case CovarianceStructure.Diagonal:
                for (int i = 0; i < d; i++) second.Add(-0.5 * precision[i, i]);
                break;
            default:
                second.Add(-0.5 * precision[0, 0]);
                break;
        }
        return second.ToArray();
    }

    public Matrix<double> UnpackPrecision(double[] eta)
    {
        int d = Dimension;
        var l = Matrix<double>.Build.Dense(d, d);
        int p = d;
        switch (Structure)
        {
            case CovarianceStructure.Full:
                for (int i = 0; i < d; i++)
                    for (int j = i; j < d; j++, p++)
                    {
                        l[i, j] = i == j ? -2 * eta[p] : -eta[p];
                        l[j, i] = l[i, j];
                    }
                break;
            case CovarianceStructure.Diagonal:
                for (int i = 0; i < d; i++) l[i, i] = -2 * eta[d + i];
                break;
            default:
                for (int i = 0; i < d; i++) l[i, i] = -2 * eta[d];
                break;
        }
        return l;
    }

    public double[] SecondMoments(double[] mu, Matrix<double> covariance)
    {
        int d = Dimension;
        var second = new List<double>();
        switch (Structure)
        {
            case CovarianceStructure.Full:
                for (int i = 0; i < d; i++)
                    for (int j = i; j < d; j++) second.Add(covariance[i, j] + mu[i] * mu[j]);
                break;
            case CovarianceStructure.Diagonal:
                for (int i = 0; i < d; i++) second.Add(covariance[i, i] + mu[i] * mu[i]);
                break;
            default:
                second.Add(Enumerable.Range(0, d).Sum(i => covariance[i, i] + mu[i] * mu[i]));
                break;
        }
        return second.ToArray();
    }

    public Draw DrawFrom(double[] mu, Matrix<double> covariance)
    {
        var precision = RandomExtensions.Symmetrize(covariance.Inverse());
        var eta = (precision * Vector<double>.Build.DenseOfArray(mu)).ToArray().Concat(PackPrecision(precision)).ToArray();
        var mean = mu.Concat(SecondMoments(mu, covariance)).ToArray();
        return MakeDraw(eta, mean, (mu, covariance), $"{Label} μ = {Fmt.V(mu)}, Σ = {Fmt.M(covariance)}");
    }

    public override Draw DrawParameters(Random r) => DrawFrom(r.Vector(Dimension, -3, 3), DrawCovariance(r));

    public override double[] DrawObservation(Random r) => r.Vector(Dimension, -6, 6);

    public override double[] Statistics(double[] x)
    {
        int d = Dimension;
        var t = new List<double>(x);
        switch (Structure)
        {
            case CovarianceStructure.Full:
                for (int i = 0; i < d; i++)
                    for (int j = i; j < d; j++) t.Add(x[i] * x[j]);
                break;
            case CovarianceStructure.Diagonal:
                for (int i = 0; i < d; i++) t.Add(x[i] * x[i]);
                break;
            default:
                t.Add(x.Sum(v => v * v));
                break;
        }
        return t.ToArray();
    }

    public override double LogBaseMeasure(double[] x) => -0.5 * Dimension * Math.Log(2 * Math.PI);

    public override double LogDensity(double[] x, Draw draw)
    {
        var (mu, cov) = Moments(draw);
        return Dense.MultivariateNormalLogDensity(x, mu, cov);
    }

    public override bool? IsValidNatural(double[] eta)
    {
        if (!eta.All(double.IsFinite)) return false;
        var precision = UnpackPrecision(eta);
        double min = Dense.MinEigenvalue(precision), scale = Math.Max(1, Dense.MaxAbsEigenvalue(precision));
        if (Math.Abs(min) <= 1e-8 * scale) return null;
        return min > 0;
    }

    public override bool? IsValidMean(double[] mean)
    {
        if (!mean.All(double.IsFinite)) return false;
        int d = Dimension;
        var mu = mean.Take(d).ToArray();
        var cov = Matrix<double>.Build.Dense(d, d);
        int p = d;
        switch (Structure)
        {
            case CovarianceStructure.Full:
                for (int i = 0; i < d; i++)
                    for (int j = i; j < d; j++, p++)
                    {
                        cov[i, j] = mean[p] - mu[i] * mu[j];
                        cov[j, i] = cov[i, j];
                    }
                break;
            case CovarianceStructure.Diagonal:
                for (int i = 0; i < d; i++) cov[i, i] = mean[d + i] - mu[i] * mu[i];
                break;
            default:
                double v = (mean[d] - mu.Sum(m => m * m)) / d;
                for (int i = 0; i < d; i++) cov[i, i] = v;
                break;
        }
        double min = Dense.MinEigenvalue(cov), scale = Math.Max(1, Dense.MaxAbsEigenvalue(cov) + mu.Sum(m => m * m));
        if (Math.Abs(min) <= 1e-8 * scale) return null;
        return min > 0;
    }

    public override double[] NaturalCandidate(Random r)
    {
        // A symmetric "precision" that is positive definite only some of the time.
        int d = Dimension;
        var lambda = RandomExtensions.Symmetrize(Matrix<double>.Build.Dense(d, d, (_, _) => r.Uniform(-1, 1)));
        lambda += Matrix<double>.Build.DenseIdentity(d) * r.Uniform(-0.5, 2);
        if (Structure != CovarianceStructure.Full) lambda = Matrix<double>.Build.DenseOfDiagonalVector(lambda.Diagonal());
        if (Structure == CovarianceStructure.Spherical) lambda = Matrix<double>.Build.DenseIdentity(d) * lambda[0, 0];
        return r.Vector(d, -3, 3).Concat(PackPrecision(lambda)).ToArray();
    }

    public override double[] MeanCandidate(Random r)
    {
        int d = Dimension;
        var mu = r.Vector(d, -3, 3);
        var cov = RandomExtensions.Symmetrize(Matrix<double>.Build.Dense(d, d, (_, _) => r.Uniform(-1, 1)));
        cov += Matrix<double>.Build.DenseIdentity(d) * r.Uniform(-0.5, 2);
        if (Structure != CovarianceStructure.Full) cov = Matrix<double>.Build.DenseOfDiagonalVector(cov.Diagonal());
        if (Structure == CovarianceStructure.Spherical) cov = Matrix<double>.Build.DenseIdentity(d) * cov[0, 0];
        return mu.Concat(SecondMoments(mu, cov)).ToArray();
    }
}
