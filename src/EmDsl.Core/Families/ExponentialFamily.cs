using EmDsl.Numerics;

namespace EmDsl.Families;

/// <summary>
/// A minimal exponential family over rows of <see cref="Dimension"/> values:
/// <code>p(x | η) = h(x) · exp( T(x) · η − A(η) )</code>
/// with sufficient statistics T(x) ∈ ℝ^S (<see cref="StatisticCount"/>), base measure h, natural parameter
/// η ∈ ℝ^S and log-normalizer A. The mean map ∇A(η) = E[T(x)] is one-to-one for a minimal family; its
/// inverse turns expected statistics into the maximum-likelihood natural parameter, which is the whole
/// M-step of EM for this family. A family knows nothing of mixtures or of the EM loop.
/// </summary>
public abstract class ExponentialFamily
{
    /// <summary>Human-readable name, used in messages ("Poisson", "Gaussian (full covariance)").</summary>
    public abstract string Name { get; }

    /// <summary>Number of data columns one observation occupies.</summary>
    public abstract int Dimension { get; }

    /// <summary>S: the length of T(x), of η and of the mean parameter μ = ∇A(η).</summary>
    public abstract int StatisticCount { get; }

    /// <summary>Number of free parameters of one distribution of the family (for BIC/AIC).</summary>
    public virtual int FreeParameterCount => StatisticCount;

    // ---- T(x) and log h(x) ----

    /// <summary>Writes T(x) (length S) for one observation x (length <see cref="Dimension"/>).</summary>
    public abstract void SufficientStatistics(ReadOnlySpan<double> x, Span<double> statistics);

    /// <summary>log h(x) for one observation.</summary>
    public abstract double LogBaseMeasure(ReadOnlySpan<double> x);

    /// <summary>
    /// T and log h for a batch: <paramref name="x"/> is rows×<see cref="Dimension"/> row-major,
    /// <paramref name="statistics"/> rows×S row-major, <paramref name="logBaseMeasure"/> one value per row.
    /// </summary>
    public virtual void SufficientStatistics(ReadOnlySpan<double> x, int rows, Span<double> statistics, Span<double> logBaseMeasure)
    {
        int d = Dimension, s = StatisticCount;
        for (int i = 0; i < rows; i++)
        {
            var xi = x.Slice(i * d, d);
            SufficientStatistics(xi, statistics.Slice(i * s, s));
            logBaseMeasure[i] = LogBaseMeasure(xi);
        }
    }

    /// <summary>True when log h(x) = 0 everywhere (the Bernoulli): the engine then skips it.</summary>
    internal virtual bool LogBaseMeasureIsZero => false;

    /// <summary>log h(x) when it is the same for every x (0 when <see cref="LogBaseMeasureIsZero"/>, −D/2 log 2π for the Gaussian), else null: the engine then adds it per chunk without reading the values or keeping a per-row array.</summary>
    internal virtual double? ConstantLogBaseMeasure => LogBaseMeasureIsZero ? 0 : null;

    /// <summary>True when T(x) = x (S = D), as for the Bernoulli and the Poisson: the engine may then use the data as the statistics.</summary>
    internal virtual bool StatisticsAreTheValues => false;

    /// <summary>
    /// True when T(x) is an indicator: every entry 0 except at most one, equal to 1 (the categorical's). The engine then
    /// evaluates T(x)·η_k as a lookup of η_k at <see cref="IndicatorIndex"/> and sums the statistics by index, never
    /// forming the rows × S matrix T (a block of 20 000 categories needs K × S numbers, not rows × S).
    /// </summary>
    internal virtual bool HasIndicatorStatistics => false;

    /// <summary>For a family with <see cref="HasIndicatorStatistics"/>: the index of T(x)'s 1 for the values x (in the support), or −1 when T(x) = 0.</summary>
    internal virtual int IndicatorIndex(ReadOnlySpan<double> x) =>
        throw new NotSupportedException($"Family '{Name}' does not have indicator statistics.");

    /// <summary>
    /// T(x) of a batch written into a strided buffer: row i of <paramref name="x"/> (rows×<see cref="Dimension"/>,
    /// row-major) goes to <c>statistics[i·stride + offset …]</c>. The default calls the one-row method per row;
    /// families that compute statistics faster in bulk override it.
    /// </summary>
    public virtual void SufficientStatistics(ReadOnlySpan<double> x, int rows, Span<double> statistics, int stride, int offset)
    {
        int d = Dimension, s = StatisticCount;
        for (int i = 0; i < rows; i++) SufficientStatistics(x.Slice(i * d, d), statistics.Slice(i * stride + offset, s));
    }

    /// <summary>Adds log h(x) of each row of a batch (rows×<see cref="Dimension"/>, row-major) to <paramref name="logBaseMeasure"/>.</summary>
    public virtual void AddLogBaseMeasure(ReadOnlySpan<double> x, int rows, Span<double> logBaseMeasure)
    {
        int d = Dimension;
        for (int i = 0; i < rows; i++) logBaseMeasure[i] += LogBaseMeasure(x.Slice(i * d, d));
    }

    /// <summary>
    /// Checks that an observation lies in the family's support; returns null when it does, otherwise which
    /// value (offset within the observation) is wrong and why.
    /// </summary>
    public abstract SupportViolation? CheckSupport(ReadOnlySpan<double> x);

    /// <summary>
    /// Whether every value of <paramref name="values"/> (coordinates of observations, in any order) passes
    /// <see cref="CheckSupport"/>, judged a vector at a time: true when all do; false when one may not (the row-by-row
    /// check then finds and names it); null when the support is not one set per coordinate, so values cannot be judged
    /// alone (the default: every row goes through <see cref="CheckSupport"/>).
    /// </summary>
    internal virtual bool? AllValuesInSupport(ReadOnlySpan<double> values) => null;

    // ---- A(η), ∇A and (∇A)⁻¹ ----

    /// <summary>A(η), the log-normalizer. Requires <see cref="IsNaturalParameter"/>.</summary>
    public abstract double LogNormalizer(ReadOnlySpan<double> eta);

    /// <summary>Writes μ = ∇A(η) = E[T(x)].</summary>
    public abstract void MeanMap(ReadOnlySpan<double> eta, Span<double> mean);

    /// <summary>
    /// Writes η = (∇A)⁻¹(μ), the natural parameter whose expected statistics are μ. Closed form for most
    /// built-in families; the Gamma, Beta, Dirichlet and von Mises families solve for it iteratively (each
    /// documents its method and tolerance) and throw rather than return an unconverged value. Throws
    /// <see cref="ArgumentException"/> when μ is not in the interior of the mean domain (see <see cref="IsMeanParameter"/>).
    /// </summary>
    public abstract void InverseMeanMap(ReadOnlySpan<double> mean, Span<double> eta);

    /// <summary>
    /// Whether <see cref="InverseMeanMap"/> is a closed form (exact to rounding) rather than an iteration that stops
    /// at a tolerance. The engine takes an unfloored closed-form M-step as it is, and checks any other candidate
    /// against the previous parameters. False unless a built-in family says otherwise.
    /// </summary>
    internal virtual bool HasClosedFormInverse => false;

    /// <summary>
    /// Whether the family is a product of independent one-column families with one statistic each: T_j(x) = x_j,
    /// A(η) = Σ_j <see cref="ColumnLogNormalizer"/>(η_j), log h(x) = Σ_j log h_j(x_j) with log h_j(0) = 0, and the
    /// mean of column j depending on η_j alone. Then a missing column drops its statistic and its log-normalizer term
    /// exactly (missing values, <see cref="Inference.MissingValuePolicy.Marginalize"/>). False unless a built-in family says otherwise.
    /// </summary>
    internal virtual bool SeparatesColumns => false;

    /// <summary>A_j(η_j) of one column of a family that <see cref="SeparatesColumns"/>.</summary>
    internal virtual double ColumnLogNormalizer(double eta) =>
        throw new NotSupportedException($"The {Name} family's statistics do not separate by column.");

    /// <summary>Whether η is a valid natural parameter (A(η) finite).</summary>
    public abstract bool IsNaturalParameter(ReadOnlySpan<double> eta);

    /// <summary>Whether μ lies in the interior of the mean domain, where (∇A)⁻¹ is defined.</summary>
    public abstract bool IsMeanParameter(ReadOnlySpan<double> mean);

    /// <summary>
    /// Makes an estimated mean parameter safely interior so that its natural parameter is finite, in the
    /// way the family documents: the discrete families raise probabilities and rates below
    /// <paramref name="floor"/> to it (leaving others unchanged); the Gaussian adds <paramref name="floor"/>
    /// to every variance (scikit-learn's reg_covar).
    /// </summary>
    public abstract void ProjectMeanIntoDomain(Span<double> mean, double floor);

    // ---- densities and sampling ----

    /// <summary>log p(x | η) = T(x)·η − A(η) + log h(x).</summary>
    public double LogDensity(ReadOnlySpan<double> x, ReadOnlySpan<double> eta)
    {
        Span<double> t = StatisticCount <= StackBuffer.MaxDoubles ? stackalloc double[StatisticCount] : new double[StatisticCount];
        SufficientStatistics(x, t);
        double dot = 0;
        for (int i = 0; i < t.Length; i++) dot += t[i] * eta[i];
        return dot - LogNormalizer(eta) + LogBaseMeasure(x);
    }

    /// <summary>Draws one observation from p(x | η) into <paramref name="x"/>.</summary>
    public abstract void Sample(ReadOnlySpan<double> eta, Random random, Span<double> x);
}

/// <summary>An observation outside a family's support: which value (offset within the observation) and why.</summary>
/// <param name="Offset">Offset of the offending value within the observation (0 for the first column the family reads).</param>
/// <param name="Reason">What is wrong, e.g. "−1 is not a non-negative integer".</param>
public sealed record SupportViolation(int Offset, string Reason);

/// <summary>
/// An exponential family with a typed "usual" parametrisation <typeparamref name="TParameters"/>
/// (means and covariances, probabilities, rates) and conversions to and from the natural parameter.
/// </summary>
/// <typeparam name="TParameters">The familiar parameter record of one distribution of the family.</typeparam>
public abstract class ExponentialFamily<TParameters> : ExponentialFamily
{
    /// <summary>The natural parameter η of a distribution given in the usual parametrisation.</summary>
    /// <exception cref="ArgumentException">The parameters do not fit this family (dimension, range).</exception>
    public abstract double[] ToNatural(TParameters parameters);

    /// <summary>The usual parametrisation of the distribution with natural parameter η.</summary>
    public abstract TParameters FromNatural(ReadOnlySpan<double> eta);
}
