using System.Runtime.CompilerServices;
using EmDsl.Families;
using EmDsl.Families.Priors;

namespace EmDsl.Building;

public static partial class Blocks
{
    /// <summary>
    /// A block of any exponential family with an inverse mean map — a <see cref="DeclaredFamily"/> built from its
    /// log-normalizer, or your own subclass of <see cref="ExponentialFamily{TParameters}"/>. Its M-step is the same
    /// as a built-in family's: η = (∇A)⁻¹((φ + S)/(ν + R)), accepted only when it does not lower the expected
    /// complete-data objective.
    /// </summary>
    /// <param name="name">Block name, unique in the model.</param>
    /// <param name="columns">Data columns read, one per dimension of the family.</param>
    /// <param name="family">The family.</param>
    /// <param name="prior">Optional conjugate prior in pseudo-observation form (e.g. <see cref="DeclaredFamily.Conjugate"/>); null is maximum likelihood.</param>
    /// <param name="sharing"><see cref="Sharing.Shared"/> gives every component the same parameters.</param>
    [OverloadResolutionPriority(1)] // `[]` binds here, not to the overload taking names
    public static Block<TParameters> FromFamily<TParameters>(string name, IEnumerable<int> columns, ExponentialFamily<TParameters> family,
        ConjugatePrior? prior = null, Sharing sharing = Sharing.PerComponent)
    {
        ArgumentNullException.ThrowIfNull(family);
        return new ConjugateBlock<TParameters>(name, Materialise(name, columns), family, prior, sharing);
    }
}
