namespace EmDsl.Building;

/// <summary>
/// A gating network for a mixture of experts: the mixing weights depend on covariates x through a softmax,
/// <code>π_k(x) = exp(v_k0 + Σ_j v_kj x_j) / Σ_l exp(v_l0 + Σ_j v_lj x_j)</code>
/// with component 0 the reference (v_0 = 0), so the coefficients are identified. The gating M-step has no
/// closed form; the engine takes generalized-EM steps on Σ_n Σ_k r_nk log π_k(x_n) (+ log prior), accepted
/// only when that rises. Declared with <see cref="MixtureBuilder.GatedBy"/>.
/// </summary>
public sealed class Gating
{
    internal Gating(int[] covariates, CoefficientPrior? prior)
    {
        Covariates = covariates;
        Prior = prior;
    }

    /// <summary>The covariate columns x the weights depend on (an intercept is always included).</summary>
    public IReadOnlyList<int> Covariates { get; }

    /// <summary>Optional ridge prior on the gating slopes.</summary>
    public CoefficientPrior? Prior { get; }

    /// <summary>Free parameters: (P + 1)(K − 1) for P covariates.</summary>
    public int FreeParameterCount(int components) => (Covariates.Count + 1) * (components - 1);

    /// <inheritdoc />
    public override string ToString() =>
        $"softmax gating on columns [{string.Join(", ", Covariates)}]" + (Prior is null ? "" : $", prior {Prior}");
}
