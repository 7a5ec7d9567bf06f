namespace EmDsl.Building;

/// <summary>
/// A gating network for a mixture of experts: the mixing weights depend on covariates x through a softmax,
/// <code>π_k(x) = exp(v_k0 + Σ_j v_kj x_j) / Σ_l exp(v_l0 + Σ_j v_lj x_j)</code>
/// with component 0 the reference (v_0 = 0), so the coefficients are identified. The gating M-step has no
/// closed form; the engine takes generalized-EM steps on Σ_n Σ_k r_nk log π_k(x_n) (+ log prior), accepted
/// only when that rises. Declared with <see cref="MixtureBuilder.GatedBy(IEnumerable{int}, CoefficientPrior)"/>.
/// </summary>
public sealed class Gating
{
    private readonly int[] _covariates;
    private readonly bool _unresolved;

    internal Gating(int[] covariates, CoefficientPrior? prior, string[]? covariateNames = null, bool unresolved = false)
    {
        _covariates = covariates;
        Prior = prior;
        CovariateNames = covariateNames;
        _unresolved = unresolved;
    }

    /// <summary>The covariate columns x the weights depend on (an intercept is always included).</summary>
    /// <exception cref="InvalidOperationException">The gating names its covariates and has not been resolved against data yet (a fit's <c>Model.Gating</c> has the indices).</exception>
    public IReadOnlyList<int> Covariates => _unresolved
        ? throw new InvalidOperationException(
            $"The gating names its covariates ({ColumnNaming.Quote(CovariateNames!)}); their indices are known once the model is fitted to data with column names: read them from the fit's Model.Gating.")
        : _covariates;

    /// <summary>The names of the covariate columns when declared by name (<see cref="MixtureBuilder.GatedBy(IEnumerable{string}, CoefficientPrior)"/>); null when declared by index.</summary>
    public IReadOnlyList<string>? CovariateNames { get; }

    /// <summary>Whether <see cref="Covariates"/> is known: always when declared by index; when declared by name, once part of a fitted model.</summary>
    public bool IsResolved => !_unresolved;

    /// <summary>This gating bound to <paramref name="data"/> (itself when declared by index).</summary>
    internal Gating Resolve(Data.DataMatrix data) =>
        CovariateNames is null ? this : new Gating(ColumnNaming.Indices(data, CovariateNames, "The gating", "names its covariates"), Prior, (string[])CovariateNames);

    /// <summary>The covariates with their names (null when declared by index); the gating must be resolved.</summary>
    internal IEnumerable<(int Index, string? Name)> References() => Covariates.Select((c, i) => (c, CovariateNames?[i]));

    /// <summary>Optional ridge prior on the gating slopes.</summary>
    public CoefficientPrior? Prior { get; }

    /// <summary>Free parameters: (P + 1)(K − 1) for P covariates.</summary>
    public int FreeParameterCount(int components) => (_covariates.Length + 1) * (components - 1);

    /// <inheritdoc />
    public override string ToString() =>
        $"softmax gating on columns [{ColumnNaming.Describe(CovariateNames, _unresolved ? null : _covariates)}]" + (Prior is null ? "" : $", prior {Prior}");
}
