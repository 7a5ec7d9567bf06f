using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Families.Priors;

namespace EmDsl.Building;

// Every factory again, reading columns by name: Blocks.Gaussian("geyser", ["eruptions", "waiting"]). A named block
// finds its columns in the data's ColumnNames (a CSV header, WithColumnNames) when a model is fitted, and the fit
// finds them again in the data it predicts or scores. The factory taking indices carries OverloadResolutionPriority,
// so that an empty collection expression `[]` still binds to it.
public static partial class Blocks
{
    /// <summary>
    /// A D-dimensional Gaussian block over the columns named <paramref name="columns"/>; otherwise as
    /// <see cref="Gaussian(string, IEnumerable{int}, CovarianceType, GaussianPrior, Sharing)"/>.
    /// </summary>
    /// <inheritdoc cref="Gaussian(string, IEnumerable{int}, CovarianceType, GaussianPrior, Sharing)" path="/param"/>
    public static Block<GaussianParameters> Gaussian(string name, IEnumerable<string> columns,
        CovarianceType covariance = CovarianceType.Full, GaussianPrior? prior = null, Sharing sharing = Sharing.PerComponent)
    {
        var names = ColumnNamesOf(name, columns);
        return Gaussian(name, ColumnNaming.Placeholders(names.Length), covariance, prior, sharing).Named(names);
    }

    /// <summary>D independent binary columns, named; see <see cref="BernoulliFamily"/>.</summary>
    /// <param name="name">Block name, unique in the model.</param>
    /// <param name="columns">Names of the data columns read.</param>
    /// <param name="prior">Optional Beta prior on each probability (MAP estimation); null is maximum likelihood.</param>
    /// <param name="sharing"><see cref="Sharing.Shared"/> gives every component the same parameters.</param>
    public static Block<BernoulliParameters> Bernoulli(string name, IEnumerable<string> columns, BetaPrior? prior = null, Sharing sharing = Sharing.PerComponent)
    {
        var names = ColumnNamesOf(name, columns);
        return Bernoulli(name, ColumnNaming.Placeholders(names.Length), prior, sharing).Named(names);
    }

    /// <summary>
    /// One categorical variable with <paramref name="categories"/> categories, read from named columns; see
    /// <see cref="CategoricalFamily"/>. One name is a column of integer codes 0…C−1; C names are a one-hot encoding.
    /// </summary>
    /// <param name="name">Block name, unique in the model.</param>
    /// <param name="columns">One column name (codes) or C (one-hot).</param>
    /// <param name="categories">C, the number of categories.</param>
    /// <param name="prior">Optional Dirichlet prior on the probabilities (MAP estimation); null is maximum likelihood.</param>
    /// <param name="sharing"><see cref="Sharing.Shared"/> gives every component the same parameters.</param>
    public static Block<CategoricalParameters> Categorical(string name, IEnumerable<string> columns, int categories, DirichletPrior? prior = null, Sharing sharing = Sharing.PerComponent)
    {
        var names = ColumnNamesOf(name, columns);
        return Categorical(name, ColumnNaming.Placeholders(names.Length), categories, prior, sharing).Named(names);
    }

    /// <summary>D independent Poisson count columns, named; see <see cref="PoissonFamily"/>.</summary>
    /// <param name="name">Block name, unique in the model.</param>
    /// <param name="columns">Names of the data columns read.</param>
    /// <param name="prior">Optional Gamma prior on each rate (MAP estimation); null is maximum likelihood.</param>
    /// <param name="sharing"><see cref="Sharing.Shared"/> gives every component the same parameters.</param>
    public static Block<PoissonParameters> Poisson(string name, IEnumerable<string> columns, GammaPrior? prior = null, Sharing sharing = Sharing.PerComponent)
    {
        var names = ColumnNamesOf(name, columns);
        return Poisson(name, ColumnNaming.Placeholders(names.Length), prior, sharing).Named(names);
    }

    /// <summary>D independent Exponential columns, named; see <see cref="ExponentialDistributionFamily"/>.</summary>
    /// <param name="name">Block name, unique in the model.</param>
    /// <param name="columns">Names of the data columns read.</param>
    /// <param name="prior">Optional Gamma prior on each rate (MAP estimation); null is maximum likelihood.</param>
    /// <param name="sharing"><see cref="Sharing.Shared"/> gives every component the same parameters.</param>
    public static Block<ExponentialParameters> Exponential(string name, IEnumerable<string> columns, GammaPrior? prior = null, Sharing sharing = Sharing.PerComponent)
    {
        var names = ColumnNamesOf(name, columns);
        return Exponential(name, ColumnNaming.Placeholders(names.Length), prior, sharing).Named(names);
    }

    /// <summary>D independent Gamma columns, named; otherwise as <see cref="Gamma(string, IEnumerable{int}, ConjugatePrior, Sharing)"/>.</summary>
    /// <inheritdoc cref="Gamma(string, IEnumerable{int}, ConjugatePrior, Sharing)" path="/param"/>
    public static Block<GammaParameters> Gamma(string name, IEnumerable<string> columns, ConjugatePrior? prior = null, Sharing sharing = Sharing.PerComponent)
    {
        var names = ColumnNamesOf(name, columns);
        return Gamma(name, ColumnNaming.Placeholders(names.Length), prior, sharing).Named(names);
    }

    /// <summary>D independent Beta columns, named; otherwise as <see cref="Beta(string, IEnumerable{int}, ConjugatePrior, Sharing)"/>.</summary>
    /// <inheritdoc cref="Beta(string, IEnumerable{int}, ConjugatePrior, Sharing)" path="/param"/>
    public static Block<BetaParameters> Beta(string name, IEnumerable<string> columns, ConjugatePrior? prior = null, Sharing sharing = Sharing.PerComponent)
    {
        var names = ColumnNamesOf(name, columns);
        return Beta(name, ColumnNaming.Placeholders(names.Length), prior, sharing).Named(names);
    }

    /// <summary>D ≥ 2 proportions from named columns; otherwise as <see cref="Dirichlet(string, IEnumerable{int}, ConjugatePrior, Sharing)"/>.</summary>
    /// <inheritdoc cref="Dirichlet(string, IEnumerable{int}, ConjugatePrior, Sharing)" path="/param"/>
    public static Block<DirichletParameters> Dirichlet(string name, IEnumerable<string> columns, ConjugatePrior? prior = null, Sharing sharing = Sharing.PerComponent)
    {
        var names = ColumnNamesOf(name, columns);
        return Dirichlet(name, ColumnNaming.Placeholders(names.Length), prior, sharing).Named(names);
    }

    /// <summary>D independent von Mises columns (radians), named; otherwise as <see cref="VonMises(string, IEnumerable{int}, ConjugatePrior, Sharing)"/>.</summary>
    /// <inheritdoc cref="VonMises(string, IEnumerable{int}, ConjugatePrior, Sharing)" path="/param"/>
    public static Block<VonMisesParameters> VonMises(string name, IEnumerable<string> columns, ConjugatePrior? prior = null, Sharing sharing = Sharing.PerComponent)
    {
        var names = ColumnNamesOf(name, columns);
        return VonMises(name, ColumnNaming.Placeholders(names.Length), prior, sharing).Named(names);
    }

    /// <summary>D independent negative binomial count columns, named; otherwise as <see cref="NegativeBinomial(string, IEnumerable{int}, double, BetaPrior, Sharing)"/>.</summary>
    /// <inheritdoc cref="NegativeBinomial(string, IEnumerable{int}, double, BetaPrior, Sharing)" path="/param"/>
    public static Block<NegativeBinomialParameters> NegativeBinomial(string name, IEnumerable<string> columns, double dispersion,
        BetaPrior? prior = null, Sharing sharing = Sharing.PerComponent)
    {
        var names = ColumnNamesOf(name, columns);
        return NegativeBinomial(name, ColumnNaming.Placeholders(names.Length), dispersion, prior, sharing).Named(names);
    }

    /// <summary>A block of any exponential family over named columns; otherwise as <see cref="FromFamily{TParameters}(string, IEnumerable{int}, ExponentialFamily{TParameters}, ConjugatePrior, Sharing)"/>.</summary>
    /// <inheritdoc cref="FromFamily{TParameters}(string, IEnumerable{int}, ExponentialFamily{TParameters}, ConjugatePrior, Sharing)" path="/param"/>
    public static Block<TParameters> FromFamily<TParameters>(string name, IEnumerable<string> columns, ExponentialFamily<TParameters> family,
        ConjugatePrior? prior = null, Sharing sharing = Sharing.PerComponent)
    {
        var names = ColumnNamesOf(name, columns);
        return FromFamily(name, ColumnNaming.Placeholders(names.Length), family, prior, sharing).Named(names);
    }

    /// <summary>A factor block over named columns; otherwise as <see cref="Factor(string, IEnumerable{int}, int, NoiseModel, bool, FactorPrior, Sharing, double, int)"/>.</summary>
    /// <inheritdoc cref="Factor(string, IEnumerable{int}, int, NoiseModel, bool, FactorPrior, Sharing, double, int)" path="/param"/>
    public static Block<FactorParameters> Factor(string name, IEnumerable<string> columns, int factors,
        NoiseModel noise = NoiseModel.Diagonal, bool sharedNoise = false, FactorPrior? prior = null,
        Sharing sharing = Sharing.PerComponent, double noiseFloor = 1e-12, int mStepIterations = 50)
    {
        var names = ColumnNamesOf(name, columns);
        return Factor(name, ColumnNaming.Placeholders(names.Length), factors, noise, sharedNoise, prior, sharing, noiseFloor, mStepIterations).Named(names);
    }

    /// <summary>A mixture of linear regressions of the column named <paramref name="response"/> on named covariates; otherwise as <see cref="LinearRegression(string, int, IEnumerable{int}, bool, CoefficientPrior, Sharing)"/>.</summary>
    /// <inheritdoc cref="LinearRegression(string, int, IEnumerable{int}, bool, CoefficientPrior, Sharing)" path="/param"/>
    public static Block<LinearRegressionParameters> LinearRegression(string name, string response, IEnumerable<string> covariates,
        bool intercept = true, CoefficientPrior? prior = null, Sharing sharing = Sharing.PerComponent)
    {
        var (y, x) = RegressionNamesOf(name, response, covariates);
        return LinearRegression(name, 0, ColumnNaming.Placeholders(x.Length, 1), intercept, prior, sharing).Named(y, x);
    }

    /// <summary>A mixture of logistic regressions of the column named <paramref name="response"/> on named covariates; otherwise as <see cref="LogisticRegression(string, int, IEnumerable{int}, bool, CoefficientPrior, Sharing)"/>.</summary>
    /// <inheritdoc cref="LinearRegression(string, string, IEnumerable{string}, bool, CoefficientPrior, Sharing)" path="/param"/>
    public static Block<RegressionParameters> LogisticRegression(string name, string response, IEnumerable<string> covariates,
        bool intercept = true, CoefficientPrior? prior = null, Sharing sharing = Sharing.PerComponent)
    {
        var (y, x) = RegressionNamesOf(name, response, covariates);
        return LogisticRegression(name, 0, ColumnNaming.Placeholders(x.Length, 1), intercept, prior, sharing).Named(y, x);
    }

    /// <summary>A mixture of Poisson regressions of the column named <paramref name="response"/> on named covariates; otherwise as <see cref="PoissonRegression(string, int, IEnumerable{int}, bool, CoefficientPrior, Sharing)"/>.</summary>
    /// <inheritdoc cref="LinearRegression(string, string, IEnumerable{string}, bool, CoefficientPrior, Sharing)" path="/param"/>
    public static Block<RegressionParameters> PoissonRegression(string name, string response, IEnumerable<string> covariates,
        bool intercept = true, CoefficientPrior? prior = null, Sharing sharing = Sharing.PerComponent)
    {
        var (y, x) = RegressionNamesOf(name, response, covariates);
        return PoissonRegression(name, 0, ColumnNaming.Placeholders(x.Length, 1), intercept, prior, sharing).Named(y, x);
    }

    private static string[] ColumnNamesOf(string name, IEnumerable<string> columns) =>
        ColumnNaming.Checked($"Block '{name}'", "column", columns, nameof(columns));

    private static (string[] Response, string[] Covariates) RegressionNamesOf(string name, string response, IEnumerable<string> covariates)
    {
        ArgumentNullException.ThrowIfNull(response);
        var y = ColumnNaming.Checked($"Block '{name}'", "response column", [response], nameof(response));
        return (y, ColumnNaming.Checked($"Block '{name}'", "covariate column", covariates, nameof(covariates), y));
    }
}
