using System.Runtime.CompilerServices;
using EmDsl.Numerics;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Families.Priors;
using EmDsl.Inference;

namespace EmDsl.Building;

/// <summary>How a Gaussian block's covariance is parametrised across components (scikit-learn's covariance_type).</summary>
public enum CovarianceType
{
    /// <summary>Each component has its own full covariance matrix.</summary>
    Full,
    /// <summary>All components share one full covariance matrix; means stay per component.</summary>
    Tied,
    /// <summary>Each component has its own diagonal covariance.</summary>
    Diagonal,
    /// <summary>Each component has its own variance σ²·I.</summary>
    Spherical,
}

/// <summary>Factories for observed blocks. Each returns an immutable declaration that is also a typed handle.</summary>
public static partial class Blocks
{
    /// <summary>
    /// A D-dimensional Gaussian block over <paramref name="columns"/>; see <see cref="GaussianFamily"/> for the
    /// density. Statistics are computed about the block's (weighted) data mean, so adding a constant to the
    /// data changes nothing but the fitted means.
    /// </summary>
    /// <param name="name">Block name, unique in the model.</param>
    /// <param name="columns">Data columns read, one per dimension.</param>
    /// <param name="covariance">Covariance parametrisation; <see cref="CovarianceType.Tied"/> shares one matrix across components.</param>
    /// <param name="prior">Optional conjugate prior (MAP estimation); null is maximum likelihood.</param>
    /// <param name="sharing"><see cref="Sharing.Shared"/> gives every component the same mean and covariance.</param>
    [OverloadResolutionPriority(1)] // `[]` binds here, not to the overload taking names
    public static Block<GaussianParameters> Gaussian(string name, IEnumerable<int> columns,
        CovarianceType covariance = CovarianceType.Full, GaussianPrior? prior = null, Sharing sharing = Sharing.PerComponent)
    {
        ArgumentNullException.ThrowIfNull(columns);
        var cols = columns.ToArray();
        if (covariance == CovarianceType.Tied && sharing == Sharing.Shared)
            throw new ArgumentException($"Block '{name}': a tied covariance is already shared; a Shared block shares its means too. Pick one.", nameof(sharing));
        return new GaussianBlock(name, cols, covariance, prior, sharing);
    }

    /// <summary>D independent binary columns; see <see cref="BernoulliFamily"/>.</summary>
    [OverloadResolutionPriority(1)] // `[]` binds here, not to the overload taking names
    public static Block<BernoulliParameters> Bernoulli(string name, IEnumerable<int> columns, BetaPrior? prior = null, Sharing sharing = Sharing.PerComponent)
    {
        var cols = Materialise(name, columns);
        var family = new BernoulliFamily(cols.Length);
        return new ConjugateBlock<BernoulliParameters>(name, cols, family, prior is null ? null : family.Conjugate(prior), sharing);
    }

    /// <summary>
    /// One categorical variable with <paramref name="categories"/> categories; see <see cref="CategoricalFamily"/>.
    /// One column is read as integer codes 0…C−1; C columns are read as a one-hot encoding.
    /// </summary>
    [OverloadResolutionPriority(1)] // `[]` binds here, not to the overload taking names
    public static Block<CategoricalParameters> Categorical(string name, IEnumerable<int> columns, int categories, DirichletPrior? prior = null, Sharing sharing = Sharing.PerComponent)
    {
        var cols = Materialise(name, columns);
        var encoding = cols.Length == 1 ? CategoricalEncoding.Integer
            : cols.Length == categories ? CategoricalEncoding.OneHot
            : throw new ArgumentException($"Block '{name}': a categorical block with {categories} categories reads 1 column (integer codes) or {categories} (one-hot), not {cols.Length}.", nameof(columns));
        if (prior is not null && prior.Categories != categories)
            throw new ArgumentException($"Block '{name}': the Dirichlet prior has {prior.Categories} concentrations but the block has {categories} categories.", nameof(prior));
        var family = new CategoricalFamily(categories, encoding);
        return new ConjugateBlock<CategoricalParameters>(name, cols, family, prior is null ? null : family.Conjugate(prior), sharing);
    }

    /// <summary>D independent Poisson count columns; see <see cref="PoissonFamily"/>.</summary>
    [OverloadResolutionPriority(1)] // `[]` binds here, not to the overload taking names
    public static Block<PoissonParameters> Poisson(string name, IEnumerable<int> columns, GammaPrior? prior = null, Sharing sharing = Sharing.PerComponent)
    {
        var cols = Materialise(name, columns);
        var family = new PoissonFamily(cols.Length);
        return new ConjugateBlock<PoissonParameters>(name, cols, family, prior is null ? null : family.Conjugate(prior), sharing);
    }

    /// <summary>D independent Exponential columns; see <see cref="ExponentialDistributionFamily"/>.</summary>
    [OverloadResolutionPriority(1)] // `[]` binds here, not to the overload taking names
    public static Block<ExponentialParameters> Exponential(string name, IEnumerable<int> columns, GammaPrior? prior = null, Sharing sharing = Sharing.PerComponent)
    {
        var cols = Materialise(name, columns);
        var family = new ExponentialDistributionFamily(cols.Length);
        return new ConjugateBlock<ExponentialParameters>(name, cols, family, prior is null ? null : family.Conjugate(prior), sharing);
    }

    /// <summary>The column indices start, start + 1, …, start + count − 1.</summary>
    public static int[] ColumnRange(int start, int count)
    {
        if (start < 0) throw new ArgumentOutOfRangeException(nameof(start), start, "The first column must be ≥ 0.");
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "A block reads at least one column.");
        return Enumerable.Range(start, count).ToArray();
    }

    private static int[] Materialise(string name, IEnumerable<int> columns)
    {
        ArgumentNullException.ThrowIfNull(columns);
        var cols = columns.ToArray();
        if (cols.Length == 0) throw new ArgumentException($"Block '{name}' reads no columns; a block must read at least one column.", nameof(columns));
        return cols;
    }
}

/// <summary>A block of a family whose M-step is (∇A)⁻¹((φ + S)/(ν + R)) with an optional canonical conjugate prior.</summary>
internal sealed class ConjugateBlock<TParameters> : Block<TParameters>
{
    public ConjugateBlock(string name, int[] columns, ExponentialFamily<TParameters> family, ConjugatePrior? prior, Sharing sharing)
        : base(name, columns, family, sharing)
    {
        if (prior is not null && prior.PseudoObservations.Count != family.StatisticCount)
            throw new ArgumentException($"Block '{name}': the prior has {prior.PseudoObservations.Count} pseudo-observations; the family has {family.StatisticCount} statistics.");
        Prior = prior;
    }

    public ConjugatePrior? Prior { get; }

    public new ExponentialFamily<TParameters> Family => (ExponentialFamily<TParameters>)base.Family;

    public override string PriorDescription => Prior?.Description ?? "none";

    public override int FreeParameterCount(int components) =>
        (Sharing == Sharing.Shared ? 1 : components) * Family.FreeParameterCount;

    internal override bool SupportsMissing => true;

    internal override BlockRuntime CreateRuntime(DataMatrix data, ReadOnlySpan<double> sampleWeights, int components) =>
        new ConjugateRuntime<TParameters>(this, components, data, sampleWeights);
}

/// <summary>A Gaussian block: covariance type (including tied), the Gaussian prior, and a centring origin.</summary>
internal sealed class GaussianBlock : Block<GaussianParameters>
{
    public GaussianBlock(string name, int[] columns, CovarianceType covariance, GaussianPrior? prior, Sharing sharing)
        : base(name, columns, new GaussianFamily(CheckedDimension(name, columns), StructureOf(covariance)), sharing)
    {
        if (prior is not null && prior.Dimension != columns.Length)
            throw new ArgumentException($"Block '{name}': the Gaussian prior is {prior.Dimension}-dimensional but the block reads {columns.Length} columns.", nameof(prior));
        if (prior?.Mismatch(StructureOf(covariance)) is { } why)
            throw new ArgumentException($"Block '{name}' has {covariance.ToString().ToLowerInvariant()} covariance: {why}", nameof(prior));
        Covariance = covariance;
        Prior = prior;
    }

    /// <summary>D, checked before the family is made so that the messages name the block.</summary>
    private static int CheckedDimension(string name, int[] columns)
    {
        if (columns.Length == 0) throw new ArgumentException($"Block '{name}' reads no columns; a block must read at least one column.", nameof(columns));
        ArraySize.Argument(columns.Length, columns.Length, nameof(columns), () => $"Block '{name}' has {columns.Length:N0} columns: its D × D covariance");
        return columns.Length;
    }

    public CovarianceType Covariance { get; }

    public GaussianPrior? Prior { get; }

    private protected override string FamilyDescription =>
        Covariance == CovarianceType.Tied ? $"Gaussian (tied covariance, shared by every component)" : Family.Name;

    public new GaussianFamily Family => (GaussianFamily)base.Family;

    public override string PriorDescription => Prior?.ToString() ?? "none";

    public override int FreeParameterCount(int components)
    {
        int d = ColumnCount, full = d * (d + 1) / 2;
        int groups = Sharing == Sharing.Shared ? 1 : components;
        return Covariance switch
        {
            CovarianceType.Full => groups * (d + full),
            CovarianceType.Tied => groups * d + full,
            CovarianceType.Diagonal => groups * 2 * d,
            _ => groups * (d + 1),
        };
    }

    internal override bool SupportsMissing => true;

    internal override BlockRuntime CreateRuntime(DataMatrix data, ReadOnlySpan<double> sampleWeights, int components) =>
        new GaussianRuntime(this, components, data, sampleWeights);

    private static CovarianceStructure StructureOf(CovarianceType t) => t switch
    {
        CovarianceType.Diagonal => CovarianceStructure.Diagonal,
        CovarianceType.Spherical => CovarianceStructure.Spherical,
        _ => CovarianceStructure.Full,
    };
}
