namespace EmDsl.FSharp

open EmDsl.Building
open EmDsl.Families
open EmDsl.Families.Priors

/// <summary>
/// EmDsl.Building's <c>Sharing</c>, here so that <c>open EmDsl.FSharp</c> is enough to write <c>Sharing.Shared</c>
/// (one parameter set for every state) and <c>Sharing.PerComponent</c> (one per state).
/// </summary>
type Sharing = EmDsl.Building.Sharing

/// How a Gaussian block's covariance is parametrised across the K states (scikit-learn's covariance_type).
[<RequireQualifiedAccess>]
type Covariance =
    /// Each state k has its own full covariance Σ_k.
    | Full
    /// One full covariance Σ shared by every state; the means μ_k stay per state.
    | Tied
    /// Each state has its own diagonal covariance diag(σ²_k1, …, σ²_kD).
    | Diagonal
    /// Each state has its own σ²_k·I.
    | Spherical

/// The factor block's settings other than its columns and number of factors (see <see cref="Block.factorWith"/>).
type FactorSettings =
    { /// Diagonal Ψ (factor analysis) or σ²·I (probabilistic PCA).
      Noise: NoiseModel
      /// One Ψ for every state (Ghahramani &amp; Hinton's mixture of factor analysers) instead of one per state.
      SharedNoise: bool
      /// Optional prior on Ψ and Λ (MAP); None is maximum likelihood.
      Prior: FactorPrior option
      /// Sharing.Shared gives every state the same μ, Λ and Ψ.
      Sharing: Sharing
      /// The floor on each noise variance, relative to its column's variance; in (0, 1).
      NoiseFloor: float
      /// ECME rounds per M-step, ≥ 1.
      MStepIterations: int }

    /// Diagonal noise per state, no prior, per-state parameters, EmDsl's default floor (1e-12) and 50 ECME rounds.
    static member Default =
        { Noise = NoiseModel.Diagonal
          SharedNoise = false
          Prior = None
          Sharing = Sharing.PerComponent
          NoiseFloor = 1e-12
          MStepIterations = 50 }

/// <summary>
/// Observed blocks, declared with curried functions over F# lists. Each returns EmDsl's immutable
/// <c>Block&lt;'P&gt;</c>: the declaration that a model observes and also the typed handle through which a fit returns
/// that block's parameters as <c>'P list</c> (<see cref="Fit.parameters"/>), without downcasts.
/// </summary>
/// <remarks>
/// The plain functions declare a maximum-likelihood block whose parameters differ between states. Each
/// <c>…With</c> variant takes first an option-typed conjugate prior (<c>None</c> is maximum likelihood, <c>Some p</c>
/// is MAP estimation with prior <c>p</c>) and the <c>Sharing</c> (<c>Sharing.Shared</c>: one parameter set for every
/// state), so that <c>Block.poissonWith maybePrior Sharing.PerComponent</c> can be partially applied.
/// Columns are 0-based indices into the data.
/// </remarks>
[<RequireQualifiedAccess>]
module Block =
    let internal covarianceType =
        function
        | Covariance.Full -> CovarianceType.Full
        | Covariance.Tied -> CovarianceType.Tied
        | Covariance.Diagonal -> CovarianceType.Diagonal
        | Covariance.Spherical -> CovarianceType.Spherical

    /// <summary>
    /// A D-dimensional Gaussian block over <paramref name="columns"/> (D = their count):
    /// p(x | z = k) = (2π)^(−D/2) |Σ_k|^(−1/2) exp(−½ (x − μ_k)ᵀ Σ_k⁻¹ (x − μ_k)), Σ_k as <paramref name="covariance"/> says.
    /// Parameters: <c>GaussianParameters</c> (<c>Mean</c>, <c>Covariance</c>).
    /// </summary>
    /// <param name="prior">Normal–inverse-Wishart (full, tied) or normal–inverse-gamma (diagonal, spherical) prior, e.g. <c>GaussianPrior.NormalInverseWishart(…)</c>.</param>
    /// <param name="sharing">Sharing.Shared: every state has the same mean and covariance (not with <c>Covariance.Tied</c>).</param>
    /// <param name="name">Block name, unique in the model.</param>
    /// <param name="columns">Data columns, one per dimension.</param>
    /// <param name="covariance">The covariance parametrisation.</param>
    let gaussianWith (prior: GaussianPrior option) (sharing: Sharing) (name: string) (columns: int list) (covariance: Covariance) : Block<GaussianParameters> =
        Blocks.Gaussian(name, columns, covarianceType covariance, Option.toObj prior, sharing)

    /// <summary>A maximum-likelihood Gaussian block with per-state parameters; see <see cref="gaussianWith"/>.</summary>
    let gaussian (name: string) (columns: int list) (covariance: Covariance) : Block<GaussianParameters> =
        gaussianWith None Sharing.PerComponent name columns covariance

    /// <summary>
    /// D independent binary columns (values 0 or 1): p(x | z = k) = Π_d p_kd^(x_d) (1 − p_kd)^(1 − x_d).
    /// Parameters: <c>BernoulliParameters</c> (<c>Probabilities</c>). Prior: <c>BetaPrior(α, β)</c> on each p_kd.
    /// </summary>
    let bernoulliWith (prior: BetaPrior option) (sharing: Sharing) (name: string) (columns: int list) : Block<BernoulliParameters> =
        Blocks.Bernoulli(name, columns, Option.toObj prior, sharing)

    /// <summary>A maximum-likelihood Bernoulli block; see <see cref="bernoulliWith"/>.</summary>
    let bernoulli (name: string) (columns: int list) : Block<BernoulliParameters> =
        bernoulliWith None Sharing.PerComponent name columns

    /// <summary>
    /// One categorical variable with C categories: P(x = c | z = k) = p_kc. One column is read as integer codes
    /// 0…C−1, C columns as a one-hot encoding. Parameters: <c>CategoricalParameters</c> (<c>Probabilities</c>).
    /// Prior: a <c>DirichletPrior</c> with C concentrations (e.g. <c>DirichletPrior.Symmetric(C, 1.1)</c>).
    /// </summary>
    let categoricalWith (prior: DirichletPrior option) (sharing: Sharing) (name: string) (columns: int list) (categories: int) : Block<CategoricalParameters> =
        Blocks.Categorical(name, columns, categories, Option.toObj prior, sharing)

    /// <summary>A maximum-likelihood categorical block; see <see cref="categoricalWith"/>.</summary>
    let categorical (name: string) (columns: int list) (categories: int) : Block<CategoricalParameters> =
        categoricalWith None Sharing.PerComponent name columns categories

    /// <summary>
    /// D independent count columns: p(x | z = k) = Π_d λ_kd^(x_d) e^(−λ_kd) / x_d!. Parameters: <c>PoissonParameters</c>
    /// (<c>Rates</c>). Prior: <c>GammaPrior(shape, rate)</c> on each λ_kd.
    /// </summary>
    let poissonWith (prior: GammaPrior option) (sharing: Sharing) (name: string) (columns: int list) : Block<PoissonParameters> =
        Blocks.Poisson(name, columns, Option.toObj prior, sharing)

    /// <summary>A maximum-likelihood Poisson block; see <see cref="poissonWith"/>.</summary>
    let poisson (name: string) (columns: int list) : Block<PoissonParameters> =
        poissonWith None Sharing.PerComponent name columns

    /// <summary>
    /// D independent non-negative columns: p(x | z = k) = Π_d λ_kd e^(−λ_kd x_d). Parameters:
    /// <c>ExponentialParameters</c> (<c>Rates</c>). Prior: <c>GammaPrior(shape, rate)</c> on each rate.
    /// </summary>
    let exponentialWith (prior: GammaPrior option) (sharing: Sharing) (name: string) (columns: int list) : Block<ExponentialParameters> =
        Blocks.Exponential(name, columns, Option.toObj prior, sharing)

    /// <summary>A maximum-likelihood Exponential block; see <see cref="exponentialWith"/>.</summary>
    let exponential (name: string) (columns: int list) : Block<ExponentialParameters> =
        exponentialWith None Sharing.PerComponent name columns

    /// <summary>
    /// D independent positive columns, each Gamma with shape a and rate b: p(x) = bᵃ xᵃ⁻¹ e^(−b x) / Γ(a).
    /// Parameters: <c>GammaParameters</c>. Prior: a natural conjugate prior made by a <c>GammaFamily</c> over as many columns.
    /// </summary>
    let gammaWith (prior: ConjugatePrior option) (sharing: Sharing) (name: string) (columns: int list) : Block<GammaParameters> =
        Blocks.Gamma(name, columns, Option.toObj prior, sharing)

    /// <summary>A maximum-likelihood Gamma block; see <see cref="gammaWith"/>.</summary>
    let gamma (name: string) (columns: int list) : Block<GammaParameters> = gammaWith None Sharing.PerComponent name columns

    /// <summary>
    /// D independent columns in (0, 1), each Beta: p(x) = x^(α−1) (1 − x)^(β−1) / B(α, β). Parameters: <c>BetaParameters</c>.
    /// Prior: a natural conjugate prior made by a <c>BetaFamily</c> over as many columns.
    /// </summary>
    let betaWith (prior: ConjugatePrior option) (sharing: Sharing) (name: string) (columns: int list) : Block<BetaParameters> =
        Blocks.Beta(name, columns, Option.toObj prior, sharing)

    /// <summary>A maximum-likelihood Beta block; see <see cref="betaWith"/>.</summary>
    let beta (name: string) (columns: int list) : Block<BetaParameters> = betaWith None Sharing.PerComponent name columns

    /// <summary>
    /// One composition over C columns (positive, summing to 1), Dirichlet: p(x) = Γ(Σα_c) / Π Γ(α_c) · Π x_c^(α_c − 1).
    /// Parameters: <c>DirichletParameters</c>. Prior: a natural conjugate prior made by a <c>DirichletFamily</c>.
    /// </summary>
    let dirichletWith (prior: ConjugatePrior option) (sharing: Sharing) (name: string) (columns: int list) : Block<DirichletParameters> =
        Blocks.Dirichlet(name, columns, Option.toObj prior, sharing)

    /// <summary>A maximum-likelihood Dirichlet block; see <see cref="dirichletWith"/>.</summary>
    let dirichlet (name: string) (columns: int list) : Block<DirichletParameters> = dirichletWith None Sharing.PerComponent name columns

    /// <summary>
    /// D independent angles (radians), von Mises: p(x) = e^(κ cos(x − μ)) / (2π I₀(κ)). Parameters: <c>VonMisesParameters</c>.
    /// Prior: a natural conjugate prior made by a <c>VonMisesFamily</c> (e.g. <c>VonMisesFamily(1).WeakPrior()</c>).
    /// </summary>
    let vonMisesWith (prior: ConjugatePrior option) (sharing: Sharing) (name: string) (columns: int list) : Block<VonMisesParameters> =
        Blocks.VonMises(name, columns, Option.toObj prior, sharing)

    /// <summary>A maximum-likelihood von Mises block; see <see cref="vonMisesWith"/>.</summary>
    let vonMises (name: string) (columns: int list) : Block<VonMisesParameters> = vonMisesWith None Sharing.PerComponent name columns

    /// <summary>
    /// D independent count columns, negative binomial with mean m_kd and a fixed dispersion r (not estimated):
    /// P(x) = Γ(x + r) / (x! Γ(r)) · pˣ (1 − p)ʳ with p = m/(m + r), so Var x = m + m²/r. Parameters:
    /// <c>NegativeBinomialParameters</c> (<c>Means</c>). Prior: <c>BetaPrior</c> on each p.
    /// </summary>
    let negativeBinomialWith (prior: BetaPrior option) (sharing: Sharing) (name: string) (columns: int list) (dispersion: float) : Block<NegativeBinomialParameters> =
        Blocks.NegativeBinomial(name, columns, dispersion, Option.toObj prior, sharing)

    /// <summary>A maximum-likelihood negative-binomial block; see <see cref="negativeBinomialWith"/>.</summary>
    let negativeBinomial (name: string) (columns: int list) (dispersion: float) : Block<NegativeBinomialParameters> =
        negativeBinomialWith None Sharing.PerComponent name columns dispersion

    /// <summary>
    /// A block of any exponential family: a <c>DeclaredFamily</c> built from T(x), log h(x) and A(η), or a subclass of
    /// <c>ExponentialFamily&lt;'P&gt;</c>; p(x | η_k) = h(x) exp(η_k · T(x) − A(η_k)).
    /// </summary>
    let fromFamilyWith (prior: ConjugatePrior option) (sharing: Sharing) (name: string) (columns: int list) (family: ExponentialFamily<'P>) : Block<'P> =
        Blocks.FromFamily(name, columns, family, Option.toObj prior, sharing)

    /// <summary>A maximum-likelihood block of an exponential family of your own; see <see cref="fromFamilyWith"/>.</summary>
    let fromFamily (name: string) (columns: int list) (family: ExponentialFamily<'P>) : Block<'P> =
        fromFamilyWith None Sharing.PerComponent name columns family

    /// <summary>
    /// A factor-analysis block over D columns with q factors (0 ≤ q &lt; D): x | z = k ~ N(μ_k, Λ_k Λ_kᵀ + Ψ_k), Λ_k
    /// D × q, Ψ_k diagonal (or σ²_k·I for probabilistic PCA). Parameters: <c>FactorParameters</c>.
    /// </summary>
    let factorWith (settings: FactorSettings) (name: string) (columns: int list) (factors: int) : Block<FactorParameters> =
        Blocks.Factor(name, columns, factors, settings.Noise, settings.SharedNoise, Option.toObj settings.Prior, settings.Sharing,
                      settings.NoiseFloor, settings.MStepIterations)

    /// <summary>A maximum-likelihood factor-analysis block (diagonal noise per state); see <see cref="factorWith"/>.</summary>
    let factor (name: string) (columns: int list) (factors: int) : Block<FactorParameters> =
        factorWith FactorSettings.Default name columns factors

    /// <summary>A probabilistic-PCA block (isotropic noise σ²_k·I); see <see cref="factorWith"/>.</summary>
    let ppca (name: string) (columns: int list) (factors: int) : Block<FactorParameters> =
        factorWith { FactorSettings.Default with Noise = NoiseModel.Isotropic } name columns factors

    /// <summary>
    /// A mixture of linear regressions: in state k, y | x ~ N(β_k0 + Σ_j β_kj x_j, σ²_k), the covariates x conditioned
    /// on, not modelled. Parameters: <c>LinearRegressionParameters</c> (<c>Coefficients</c>, <c>Variance</c>).
    /// </summary>
    /// <param name="prior">Optional ridge prior N(0, 1/precision) on each slope.</param>
    /// <param name="intercept">Whether the predictor has an intercept β₀.</param>
    /// <param name="sharing">Sharing.Shared: every state has the same regression.</param>
    /// <param name="name">Block name, unique in the model.</param>
    /// <param name="response">The response column y.</param>
    /// <param name="covariates">The covariate columns x.</param>
    let linearRegressionWith (prior: CoefficientPrior option) (intercept: bool) (sharing: Sharing) (name: string) (response: int) (covariates: int list) : Block<LinearRegressionParameters> =
        Blocks.LinearRegression(name, response, covariates, intercept, Option.toObj prior, sharing)

    /// <summary>A linear-regression block with an intercept and no prior; see <see cref="linearRegressionWith"/>.</summary>
    let linearRegression (name: string) (response: int) (covariates: int list) : Block<LinearRegressionParameters> =
        linearRegressionWith None true Sharing.PerComponent name response covariates

    /// <summary>
    /// A mixture of logistic regressions: in state k, P(y = 1 | x) = σ(β_k0 + Σ_j β_kj x_j), y ∈ {0, 1}; fitted by
    /// generalized-EM steps. Parameters: <c>RegressionParameters</c> (<c>Intercept</c>, <c>Slopes</c>).
    /// </summary>
    let logisticRegressionWith (prior: CoefficientPrior option) (intercept: bool) (sharing: Sharing) (name: string) (response: int) (covariates: int list) : Block<RegressionParameters> =
        Blocks.LogisticRegression(name, response, covariates, intercept, Option.toObj prior, sharing)

    /// <summary>A logistic-regression block with an intercept and no prior; see <see cref="logisticRegressionWith"/>.</summary>
    let logisticRegression (name: string) (response: int) (covariates: int list) : Block<RegressionParameters> =
        logisticRegressionWith None true Sharing.PerComponent name response covariates

    /// <summary>
    /// A mixture of Poisson regressions: in state k, the count y ~ Poisson(exp(β_k0 + Σ_j β_kj x_j)); fitted by
    /// generalized-EM steps. Parameters: <c>RegressionParameters</c>.
    /// </summary>
    let poissonRegressionWith (prior: CoefficientPrior option) (intercept: bool) (sharing: Sharing) (name: string) (response: int) (covariates: int list) : Block<RegressionParameters> =
        Blocks.PoissonRegression(name, response, covariates, intercept, Option.toObj prior, sharing)

    /// <summary>A Poisson-regression block with an intercept and no prior; see <see cref="poissonRegressionWith"/>.</summary>
    let poissonRegression (name: string) (response: int) (covariates: int list) : Block<RegressionParameters> =
        poissonRegressionWith None true Sharing.PerComponent name response covariates

    /// <summary>The block's name.</summary>
    let name (block: #Block) : string = block.Name

    /// <summary>The data columns the block reads.</summary>
    let columns (block: #Block) : int list = List.ofSeq block.Columns
