using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Inference;

namespace EmDsl.Building;

/// <summary>Whether a block's parameters differ per mixture component or are one set for all of them.</summary>
public enum Sharing
{
    /// <summary>Each component has its own parameters (the usual mixture).</summary>
    PerComponent,
    /// <summary>All components share one set of parameters, estimated from all the data.</summary>
    Shared,
}

/// <summary>
/// An observed block: which data columns it reads, the exponential family that models them, whether
/// its parameters are per component or shared, and its prior. Blocks are immutable declarations; the same
/// object is the typed handle through which a fit returns the block's parameters.
/// Create blocks with <see cref="Blocks"/>.
/// </summary>
public abstract class Block
{
    private protected Block(string name, IEnumerable<int> columns, ExponentialFamily family, Sharing sharing, IEnumerable<int>? covariates = null)
    {
        if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("A block needs a non-empty name.", nameof(name));
        ArgumentNullException.ThrowIfNull(columns);
        var cols = columns.ToArray();
        if (cols.Length == 0) throw new ArgumentException($"Block '{name}' reads no columns.", nameof(columns));
        for (int i = 0; i < cols.Length; i++)
        {
            if (cols[i] < 0) throw new ArgumentOutOfRangeException(nameof(columns), cols[i], $"Block '{name}': column index {cols[i]} is negative.");
            for (int j = 0; j < i; j++)
                if (cols[j] == cols[i]) throw new ArgumentException($"Block '{name}' lists column {cols[i]} twice.", nameof(columns));
        }
        if (cols.Length != family.Dimension)
            throw new ArgumentException($"Block '{name}' lists {cols.Length} columns but its {family.Name} family reads {family.Dimension}.", nameof(columns));
        var cov = covariates?.ToArray() ?? [];
        for (int i = 0; i < cov.Length; i++)
        {
            if (cov[i] < 0) throw new ArgumentOutOfRangeException(nameof(covariates), cov[i], $"Block '{name}': covariate column index {cov[i]} is negative.");
            if (cols.Contains(cov[i])) throw new ArgumentException($"Block '{name}': column {cov[i]} is both a response and a covariate.", nameof(covariates));
            for (int j = 0; j < i; j++)
                if (cov[j] == cov[i]) throw new ArgumentException($"Block '{name}' lists covariate column {cov[i]} twice.", nameof(covariates));
        }
        Name = name;
        Columns = cols;
        Covariates = cov;
        Family = family;
        Sharing = sharing;
    }

    /// <summary>The block's name, unique within a model; used in messages and results.</summary>
    public string Name { get; }

    /// <summary>The data columns the block reads, in the order the family sees them.</summary>
    public IReadOnlyList<int> Columns { get; }

    /// <summary>
    /// The data columns the block conditions on (regression covariates), empty for a plain observed block.
    /// Covariates are not modelled: the block's density is p(columns | covariates). Several blocks may
    /// condition on the same column, and a column modelled by one block may be another block's covariate.
    /// </summary>
    public IReadOnlyList<int> Covariates { get; }

    /// <summary>The family modelling one observation of the block's columns (for a regression block, the response's family).</summary>
    public ExponentialFamily Family { get; }

    /// <summary>Per-component or shared parameters.</summary>
    public Sharing Sharing { get; }

    /// <summary>The prior, described in familiar terms, or "none" (maximum likelihood).</summary>
    public abstract string PriorDescription { get; }

    /// <summary>Number of free parameters of this block in a mixture of <paramref name="components"/> components.</summary>
    public abstract int FreeParameterCount(int components);

    /// <summary>Creates the block's per-fit machinery (its data frame is taken from <paramref name="data"/>).</summary>
    internal abstract BlockRuntime CreateRuntime(DataMatrix data, ReadOnlySpan<double> sampleWeights, int components);

    /// <summary>How <see cref="ToString"/> names the family (a tied Gaussian block says so).</summary>
    private protected virtual string FamilyDescription => Family.Name;

    /// <inheritdoc />
    public override string ToString() =>
        $"{Name}: {FamilyDescription} on columns [{string.Join(", ", Columns)}]" +
        (Covariates.Count == 0 ? "" : $" given columns [{string.Join(", ", Covariates)}]") +
        (Sharing == Sharing.Shared ? ", shared" : "") + (PriorDescription == "none" ? "" : $", prior {PriorDescription}");
}

/// <summary>A block whose fitted parameters come back as <typeparamref name="TParameters"/>, one per component.</summary>
/// <typeparam name="TParameters">The family's usual parameter record.</typeparam>
public abstract class Block<TParameters> : Block
{
    private protected Block(string name, IEnumerable<int> columns, ExponentialFamily family, Sharing sharing, IEnumerable<int>? covariates = null)
        : base(name, columns, family, sharing, covariates) { }
}
