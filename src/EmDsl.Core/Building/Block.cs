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
        _columns = cols;
        _covariates = cov;
        Family = family;
        Sharing = sharing;
        Declaration = this;
    }

    // A block declared by names is made by its factory with placeholder indices 0…D−1 (so that every check of the
    // constructors runs on the right counts), then copied with the names and without indices (see WithNames); the
    // indices come from the data when the model is fitted (see Resolve), again as a copy. Nothing a subclass computes
    // depends on the index values, only on their count, so a memberwise copy is a faithful block.
    private int[] _columns;
    private int[] _covariates;
    private string[]? _columnNames;
    private string[]? _covariateNames;
    private bool _unresolved;

    /// <summary>The block's name, unique within a model; used in messages and results.</summary>
    public string Name { get; }

    /// <summary>The data columns the block reads, in the order the family sees them.</summary>
    /// <exception cref="InvalidOperationException">
    /// The block names its columns (<see cref="ColumnNames"/>) and has not been resolved against data yet: a fit's
    /// <c>Model.Blocks</c> hold the resolved indices.
    /// </exception>
    public IReadOnlyList<int> Columns => _unresolved ? throw Unresolved() : _columns;

    /// <summary>
    /// The data columns the block conditions on (regression covariates), empty for a plain observed block.
    /// Covariates are not modelled: the block's density is p(columns | covariates). Several blocks may
    /// condition on the same column, and a column modelled by one block may be another block's covariate.
    /// </summary>
    /// <exception cref="InvalidOperationException">As for <see cref="Columns"/>.</exception>
    public IReadOnlyList<int> Covariates => _unresolved ? throw Unresolved() : _covariates;

    /// <summary>
    /// The names of the columns the block reads, in the order the family sees them, when it was declared by name
    /// (e.g. <c>Blocks.Gaussian("geyser", ["eruptions", "waiting"])</c>); null when it was declared by index. A
    /// named block finds its columns in the data's <see cref="DataMatrix.ColumnNames"/> whenever a model is fitted
    /// (and the fit finds them again in any data it predicts or scores).
    /// </summary>
    public IReadOnlyList<string>? ColumnNames => _columnNames;

    /// <summary>The names of the covariate columns of a block declared by name (empty without covariates); null when declared by index.</summary>
    public IReadOnlyList<string>? CovariateNames => _covariateNames;

    /// <summary>
    /// Whether <see cref="Columns"/> and <see cref="Covariates"/> are known: always for a block declared by index;
    /// for a block declared by name, once it is part of a fitted model (<c>fit.Model.Blocks</c>).
    /// </summary>
    public bool IsResolved => !_unresolved;

    /// <summary>The block as declared: itself, or for a resolved copy of a named block, the block it was copied from.</summary>
    internal Block Declaration { get; private set; }

    /// <summary>D, known whether or not the block is resolved.</summary>
    internal int ColumnCount => _columns.Length;

    /// <summary>The number of covariates, known whether or not the block is resolved.</summary>
    internal int CovariateCount => _covariates.Length;

    private InvalidOperationException Unresolved() => new(
        $"Block '{Name}' names its columns ({ColumnNaming.Quote(_columnNames!)}); their indices are known once a model with the block is fitted " +
        "to data with column names: read them from the fit's Model.Blocks.");

    /// <summary>A copy of this block (made with placeholder indices) that reads the named columns instead.</summary>
    private protected Block WithNames(string[] columnNames, string[] covariateNames)
    {
        var copy = (Block)MemberwiseClone();
        copy._columnNames = columnNames;
        copy._covariateNames = covariateNames;
        copy._unresolved = true;
        copy.Declaration = copy;
        return copy;
    }

    /// <summary>
    /// This block bound to <paramref name="data"/>: for a block declared by name, a copy whose indices are the named
    /// columns' positions in the data (and which keeps the names); a block declared by index is returned as it is.
    /// </summary>
    /// <exception cref="ArgumentException">The data has no column names, or lacks one (the message names the block and lists the data's names).</exception>
    internal Block Resolve(DataMatrix data)
    {
        if (_columnNames is null) return this;
        var copy = (Block)MemberwiseClone();
        copy._columns = ColumnNaming.Indices(data, _columnNames, $"Block '{Name}'", "names its columns");
        copy._covariates = ColumnNaming.Indices(data, _covariateNames!, $"Block '{Name}'", "names its covariates");
        copy._unresolved = false;
        return copy;
    }

    /// <summary>The block's columns then covariates, each with its name (null for a block declared by index); the block must be resolved.</summary>
    internal IEnumerable<(int Index, string? Name)> References() =>
        Columns.Concat(Covariates).Select((c, i) => (c, _columnNames is null ? null : i < _columnNames.Length ? _columnNames[i] : _covariateNames![i - _columnNames.Length]));

    /// <summary>Whether <paramref name="other"/> reads the same columns: the same names, or for blocks declared by index, the same indices.</summary>
    internal bool SameColumns(Block other)
    {
        if (_columnNames is not null || other._columnNames is not null)
            return _columnNames is not null && other._columnNames is not null && _columnNames.SequenceEqual(other._columnNames) && _covariateNames!.SequenceEqual(other._covariateNames!);
        return _columns.SequenceEqual(other._columns) && _covariates.SequenceEqual(other._covariates);
    }

    /// <summary>The family modelling one observation of the block's columns (for a regression block, the response's family).</summary>
    public ExponentialFamily Family { get; }

    /// <summary>Per-component or shared parameters.</summary>
    public Sharing Sharing { get; }

    /// <summary>The prior, described in familiar terms, or "none" (maximum likelihood).</summary>
    public abstract string PriorDescription { get; }

    /// <summary>Number of free parameters of this block in a mixture of <paramref name="components"/> components.</summary>
    public abstract int FreeParameterCount(int components);

    /// <summary>Whether the block's runtime marginalises missing values (Gaussian and conjugate exponential-family blocks).</summary>
    internal virtual bool SupportsMissing => false;

    /// <summary>Creates the block's per-fit machinery (its data frame is taken from <paramref name="data"/>).</summary>
    internal abstract BlockRuntime CreateRuntime(DataMatrix data, ReadOnlySpan<double> sampleWeights, int components);

    /// <summary>How <see cref="ToString"/> names the family (a tied Gaussian block says so).</summary>
    private protected virtual string FamilyDescription => Family.Name;

    /// <inheritdoc />
    public override string ToString() =>
        $"{Name}: {FamilyDescription} on columns [{ColumnNaming.Describe(_columnNames, _unresolved ? null : _columns)}]" +
        (_covariates.Length == 0 ? "" : $" given columns [{ColumnNaming.Describe(_covariateNames, _unresolved ? null : _covariates)}]") +
        (Sharing == Sharing.Shared ? ", shared" : "") + (PriorDescription == "none" ? "" : $", prior {PriorDescription}");
}

/// <summary>A block whose fitted parameters come back as <typeparamref name="TParameters"/>, one per component.</summary>
/// <typeparam name="TParameters">The family's usual parameter record.</typeparam>
public abstract class Block<TParameters> : Block
{
    private protected Block(string name, IEnumerable<int> columns, ExponentialFamily family, Sharing sharing, IEnumerable<int>? covariates = null)
        : base(name, columns, family, sharing, covariates) { }

    /// <summary>A copy of this block (made with placeholder indices 0…D−1, covariates D…) that reads the named columns.</summary>
    internal Block<TParameters> Named(string[] columnNames, string[]? covariateNames = null) =>
        (Block<TParameters>)WithNames(columnNames, covariateNames ?? []);
}
