using System.Runtime.CompilerServices;
using EmDsl.Families;
using EmDsl.Families.Priors;

namespace EmDsl.Building;

public static partial class Blocks
{
    /// <summary>
    /// D independent Gamma columns (values &gt; 0, shape and rate per column); see <see cref="GammaFamily"/>. The
    /// M-step solves for the shape iteratively (Minka's generalized Newton).
    /// </summary>
    /// <param name="name">Block name, unique in the model.</param>
    /// <param name="columns">Data columns read, one per Gamma variable.</param>
    /// <param name="prior">
    /// Optional natural conjugate prior (MAP estimation) made by a <see cref="GammaFamily"/> over as many columns,
    /// e.g. <c>new GammaFamily(2).WeakPrior()</c> or <see cref="GammaFamily.Conjugate"/>; null is maximum likelihood.
    /// </param>
    /// <param name="sharing"><see cref="Sharing.Shared"/> gives every component the same parameters.</param>
    [OverloadResolutionPriority(1)] // `[]` binds here, not to the overload taking names
    public static Block<GammaParameters> Gamma(string name, IEnumerable<int> columns, ConjugatePrior? prior = null, Sharing sharing = Sharing.PerComponent)
    {
        var cols = Materialise(name, columns);
        var family = new GammaFamily(cols.Length);
        return new ConjugateBlock<GammaParameters>(name, cols, family, CheckNaturalPrior<GammaFamily>(name, family, prior), sharing);
    }

    /// <summary>
    /// D independent Beta columns (values in (0, 1), α and β per column); see <see cref="BetaFamily"/>. The M-step
    /// solves the Beta likelihood equations iteratively (Newton with trigamma).
    /// </summary>
    /// <param name="name">Block name, unique in the model.</param>
    /// <param name="columns">Data columns read, one per Beta variable.</param>
    /// <param name="prior">
    /// Optional natural conjugate prior (MAP estimation) made by a <see cref="BetaFamily"/> over as many columns,
    /// e.g. <c>new BetaFamily(1).WeakPrior()</c> or <see cref="BetaFamily.Conjugate"/>; null is maximum likelihood.
    /// </param>
    /// <param name="sharing"><see cref="Sharing.Shared"/> gives every component the same parameters.</param>
    [OverloadResolutionPriority(1)] // `[]` binds here, not to the overload taking names
    public static Block<BetaParameters> Beta(string name, IEnumerable<int> columns, ConjugatePrior? prior = null, Sharing sharing = Sharing.PerComponent)
    {
        var cols = Materialise(name, columns);
        var family = new BetaFamily(cols.Length);
        return new ConjugateBlock<BetaParameters>(name, cols, family, CheckNaturalPrior<BetaFamily>(name, family, prior), sharing);
    }

    /// <summary>
    /// One observation of D ≥ 2 proportions (each in (0, 1), summing to 1) over D columns; see <see cref="DirichletFamily"/>.
    /// The M-step solves for the concentrations iteratively.
    /// </summary>
    /// <param name="name">Block name, unique in the model.</param>
    /// <param name="columns">Data columns read, one per proportion (at least two).</param>
    /// <param name="prior">
    /// Optional natural conjugate prior (MAP estimation) made by a <see cref="DirichletFamily"/> over as many columns,
    /// e.g. <c>new DirichletFamily(3).WeakPrior()</c> or <see cref="DirichletFamily.Conjugate"/>; null is maximum likelihood.
    /// </param>
    /// <param name="sharing"><see cref="Sharing.Shared"/> gives every component the same parameters.</param>
    [OverloadResolutionPriority(1)] // `[]` binds here, not to the overload taking names
    public static Block<DirichletParameters> Dirichlet(string name, IEnumerable<int> columns, ConjugatePrior? prior = null, Sharing sharing = Sharing.PerComponent)
    {
        var cols = Materialise(name, columns);
        if (cols.Length < 2)
            throw new ArgumentException($"Block '{name}': a Dirichlet block reads at least 2 columns (proportions), not {cols.Length}.", nameof(columns));
        var family = new DirichletFamily(cols.Length);
        return new ConjugateBlock<DirichletParameters>(name, cols, family, CheckNaturalPrior<DirichletFamily>(name, family, prior), sharing);
    }

    /// <summary>
    /// D independent von Mises columns of angles in radians (mean direction and concentration per column); see
    /// <see cref="VonMisesFamily"/>. The M-step inverts the Bessel ratio I₁/I₀ iteratively (Newton).
    /// </summary>
    /// <param name="name">Block name, unique in the model.</param>
    /// <param name="columns">Data columns read, one per angle.</param>
    /// <param name="prior">
    /// Optional natural conjugate prior (MAP estimation) made by a <see cref="VonMisesFamily"/> over as many columns,
    /// e.g. <c>new VonMisesFamily(1).WeakPrior()</c> or <see cref="VonMisesFamily.Conjugate"/>; null is maximum likelihood.
    /// </param>
    /// <param name="sharing"><see cref="Sharing.Shared"/> gives every component the same parameters.</param>
    [OverloadResolutionPriority(1)] // `[]` binds here, not to the overload taking names
    public static Block<VonMisesParameters> VonMises(string name, IEnumerable<int> columns, ConjugatePrior? prior = null, Sharing sharing = Sharing.PerComponent)
    {
        var cols = Materialise(name, columns);
        var family = new VonMisesFamily(cols.Length);
        return new ConjugateBlock<VonMisesParameters>(name, cols, family, CheckNaturalPrior<VonMisesFamily>(name, family, prior), sharing);
    }

    /// <summary>
    /// D independent negative binomial count columns with a fixed dispersion r (estimated: the mean of each column);
    /// see <see cref="NegativeBinomialFamily"/>.
    /// </summary>
    /// <param name="name">Block name, unique in the model.</param>
    /// <param name="columns">Data columns read, one per count variable.</param>
    /// <param name="dispersion">r &gt; 0, shared by the columns and not estimated (Var x = m + m²/r).</param>
    /// <param name="prior">Optional Beta prior on each success probability p = m/(m + r) (MAP estimation); null is maximum likelihood.</param>
    /// <param name="sharing"><see cref="Sharing.Shared"/> gives every component the same means.</param>
    [OverloadResolutionPriority(1)] // `[]` binds here, not to the overload taking names
    public static Block<NegativeBinomialParameters> NegativeBinomial(string name, IEnumerable<int> columns, double dispersion,
        BetaPrior? prior = null, Sharing sharing = Sharing.PerComponent)
    {
        var cols = Materialise(name, columns);
        var family = new NegativeBinomialFamily(cols.Length, dispersion);
        return new ConjugateBlock<NegativeBinomialParameters>(name, cols, family, prior is null ? null : family.Conjugate(prior), sharing);
    }

    /// <summary>
    /// A natural conjugate prior must have been made for the same kind of family over the same columns (a Beta prior
    /// has as many statistics as a Gamma one, so the count alone would not catch the mix-up).
    /// </summary>
    private static ConjugatePrior? CheckNaturalPrior<TFamily>(string name, TFamily family, ConjugatePrior? prior) where TFamily : ExponentialFamily
    {
        if (prior?.Family is { } made && (made is not TFamily || made.Dimension != family.Dimension))
            throw new ArgumentException(
                $"Block '{name}': the prior was made for a {made.Name} family over {made.Dimension} columns, but the block is {family.Name} over {family.Dimension}; " +
                $"make it with new {typeof(TFamily).Name}({family.Dimension}).", nameof(prior));
        return prior;
    }
}
