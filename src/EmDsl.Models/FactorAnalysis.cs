using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Inference;

namespace EmDsl.Models;

/// <summary>How a factor-analysis fit chooses its first loadings and noise variances.</summary>
public enum FactorStart
{
    /// <summary>From the sample covariance: the leading eigenvectors (probabilistic PCA's solution), Ψ = diag(S)/2.</summary>
    Pca,
    /// <summary>Random loadings, Λ_dj ~ N(0, S_dd/q), and Ψ = diag(S)/2; each restart draws anew from its seed.</summary>
    Random,
}

/// <summary>
/// Factor analysis over every column of the data: x = μ + Λz + ε, z ~ N(0, I_q), ε ~ N(0, Ψ) with Ψ diagonal, so
/// p(x) = N(x | μ, ΛΛᵀ + Ψ) — or, with <see cref="NoiseModel.Isotropic"/> (see <see cref="ProbabilisticPca"/>), Ψ = σ²I.
/// Declared with Core's builder as one <see cref="Blocks.Factor(string, IEnumerable{int}, int, NoiseModel, bool, FactorPrior, Sharing, double, int)"/> block in a one-component mixture, so the fit is
/// EM (ECME, monotone) with the objective trace, diagnostics and properties of every EmDsl model.
/// <c>new FactorAnalysis(3).Fit(data)</c>.
/// </summary>
/// <param name="Factors">q, with 0 ≤ q &lt; D.</param>
public sealed record FactorAnalysis(int Factors)
{
    /// <summary>Diagonal (factor analysis, default) or isotropic (probabilistic PCA) noise.</summary>
    public NoiseModel Noise { get; init; } = NoiseModel.Diagonal;

    /// <summary>Optional prior (MAP); null is maximum likelihood.</summary>
    public FactorPrior? Prior { get; init; }

    /// <summary>Floor on each noise variance relative to its column's variance (see <see cref="Blocks.Factor(string, IEnumerable{int}, int, NoiseModel, bool, FactorPrior, Sharing, double, int)"/>).</summary>
    public double NoiseFloor { get; init; } = 1e-12;

    /// <summary>ECME rounds per M-step (see <see cref="Blocks.Factor(string, IEnumerable{int}, int, NoiseModel, bool, FactorPrior, Sharing, double, int)"/>).</summary>
    public int MStepIterations { get; init; } = 50;

    /// <summary>The first parameters (default <see cref="FactorStart.Pca"/>).</summary>
    public FactorStart Start { get; init; } = FactorStart.Pca;

    /// <summary>Given first parameters (D columns, <see cref="Factors"/> factors); when set, <see cref="Start"/> is ignored.</summary>
    public FactorParameters? StartParameters { get; init; }

    /// <summary>
    /// Fits the model to every column of <paramref name="data"/>. With <see cref="FactorStart.Random"/>, each of
    /// <see cref="FitOptions.Restarts"/> runs draws its own start (seeded by <see cref="FitOptions.Seed"/> + run) and the
    /// highest objective wins; the PCA start is deterministic and runs once.
    /// </summary>
    public FactorAnalysisFit Fit(DataMatrix data, FitOptions? options = null, IReadOnlyList<double>? sampleWeights = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        options ??= new FitOptions();
        var block = Blocks.Factor("factors", Blocks.ColumnRange(0, data.Columns), Factors, Noise, prior: Prior,
            noiseFloor: NoiseFloor, mStepIterations: MStepIterations);
        var model = Mixture.WithComponents(1).Observe(block).Build();
        if (StartParameters is not null)
        {
            var given = Initialization.FromParameters([1.0]).With(block, [StartParameters]);
            return new FactorAnalysisFit(model.Fit(data, options with { Restarts = 1, Initialization = given }, sampleWeights, null, cancellationToken), block);
        }
        if (Start == FactorStart.Pca)
            return new FactorAnalysisFit(model.Fit(data, options with { Restarts = 1 }, sampleWeights, null, cancellationToken), block);
        MixtureFit? best = null;
        for (int run = 0; run < options.Restarts; run++)
        {
            var start = Initialization.FromParameters([1.0]).With(block, [RandomStart(data, Factors, Noise, options.Seed + run)]);
            var fit = model.Fit(data, options with { Restarts = 1, Initialization = start }, sampleWeights, null, cancellationToken);
            if (best is null || fit.Objective > best.Objective) best = fit;
        }
        return new FactorAnalysisFit(best!, block);
    }

    /// <summary>Random loadings Λ_dj ~ N(0, s_dd/q) about the column means, Ψ = diag(S)/2 (isotropic: its average).</summary>
    internal static FactorParameters RandomStart(DataMatrix data, int factors, NoiseModel noise, int seed)
    {
        int d = data.Columns, n = data.Rows;
        var mean = new double[d];
        var variance = new double[d];
        for (int r = 0; r < n; r++)
            for (int j = 0; j < d; j++) mean[j] += data[r, j] / n;
        for (int r = 0; r < n; r++)
            for (int j = 0; j < d; j++) variance[j] += (data[r, j] - mean[j]) * (data[r, j] - mean[j]) / n;
        var random = new Random(seed);
        var loadings = new double[d, factors];
        for (int j = 0; j < d; j++)
            for (int a = 0; a < factors; a++)
                loadings[j, a] = MathNet.Numerics.Distributions.Normal.Sample(random, 0, Math.Sqrt(variance[j] / Math.Max(factors, 1)));
        var psi = variance.Select(v => Math.Max(v / 2, double.Epsilon)).ToArray();
        if (noise == NoiseModel.Isotropic) Array.Fill(psi, psi.Average());
        return new FactorParameters(mean, loadings, psi);
    }
}

/// <summary>
/// Probabilistic PCA (Tipping &amp; Bishop 1999): factor analysis with isotropic noise, p(x) = N(x | μ, ΛΛᵀ + σ²I).
/// Its maximum-likelihood loadings span the leading principal subspace: Λ = U_q(L_q − σ²I)^(½)R, σ² the mean of the
/// discarded eigenvalues — the closed form every M-step of this model computes.
/// </summary>
/// <param name="Factors">q, with 0 ≤ q &lt; D.</param>
public sealed record ProbabilisticPca(int Factors)
{
    /// <summary>Optional prior (MAP) on σ² and the loadings; null is maximum likelihood (closed form).</summary>
    public FactorPrior? Prior { get; init; }

    /// <summary>Fits the model to every column of <paramref name="data"/>.</summary>
    public FactorAnalysisFit Fit(DataMatrix data, FitOptions? options = null, IReadOnlyList<double>? sampleWeights = null,
        CancellationToken cancellationToken = default) =>
        new FactorAnalysis(Factors) { Noise = NoiseModel.Isotropic, Prior = Prior }.Fit(data, options, sampleWeights, cancellationToken);
}

/// <summary>A fitted factor-analysis (or probabilistic PCA) model, with the general <see cref="MixtureFit"/> as <see cref="Result"/>.</summary>
public sealed class FactorAnalysisFit
{
    internal FactorAnalysisFit(MixtureFit result, Block<FactorParameters> block)
    {
        Result = result;
        Block = block;
        Parameters = result.Parameters(block)[0];
    }

    /// <summary>The general fit result (objective trace, free energy, diagnostics, status).</summary>
    public MixtureFit Result { get; }

    /// <summary>The factor block that was fitted.</summary>
    public Block<FactorParameters> Block { get; }

    /// <summary>μ, Λ and Ψ.</summary>
    public FactorParameters Parameters { get; }

    /// <summary>μ (D).</summary>
    public IReadOnlyList<double> Mean => Parameters.Mean;

    /// <summary>Λ (D × q), identified up to rotation; see <see cref="RotatedLoadings"/>.</summary>
    public ReadOnlyMatrix Loadings => Parameters.Loadings;

    /// <summary>ψ₁ … ψ_D.</summary>
    public IReadOnlyList<double> NoiseVariances => Parameters.NoiseVariances;

    /// <summary>ΛΛᵀ + Ψ.</summary>
    public ReadOnlyMatrix ImpliedCovariance => Parameters.Covariance;

    /// <summary>The varimax rotation of the loadings (for reporting; the likelihood is unchanged).</summary>
    public ReadOnlyMatrix RotatedLoadings => FactorRotation.Varimax(Loadings);

    /// <summary>Cov(z | x) = (I + ΛᵀΨ⁻¹Λ)⁻¹ (q × q), the same for every row.</summary>
    public ReadOnlyMatrix ScoreCovariance => Parameters.ScoreCovariance;

    /// <summary>Final log-likelihood Σ_n w_n log N(x_n | μ, ΛΛᵀ + Ψ).</summary>
    public double LogLikelihood => Result.LogLikelihood;

    /// <summary>Free parameters: D + Dq − q(q − 1)/2 + D (diagonal noise) or + 1 (isotropic).</summary>
    public int FreeParameterCount => Result.FreeParameterCount;

    /// <summary>BIC on <paramref name="data"/>: −2 log L + p log N (lower is better).</summary>
    public double Bic(DataMatrix data) => Result.Bic(data);

    /// <summary>AIC on <paramref name="data"/>: −2 log L + 2p.</summary>
    public double Aic(DataMatrix data) => Result.Aic(data);

    /// <summary>log p(x_n) for every row of <paramref name="data"/>.</summary>
    public double[] ScoreSamples(DataMatrix data) => Result.ScoreSamples(data);

    /// <summary>The posterior factor scores E[z | x_n] (rows × q).</summary>
    public double[,] Scores(DataMatrix data) => FactorScores.Of(Parameters, data);

    /// <summary>The reconstruction μ + Λ·E[z | x_n] of every row (rows × D): the part of x the factors explain.</summary>
    public double[,] Reconstruct(DataMatrix data) => FactorScores.Reconstruct(Parameters, data);

    /// <summary>Draws <paramref name="count"/> rows from the fitted model, reproducibly for a given seed.</summary>
    public DataMatrix Sample(int count, int seed = 0) => Result.Sample(count, seed).Data;

    /// <summary>
    /// "Factor analysis with q factors on D columns", then the summary of <see cref="Result"/>: the mean, loadings
    /// and noise variances in a table, the log-likelihood, iterations, status, BIC, AIC and diagnostics.
    /// </summary>
    public override string ToString() =>
        $"Factor analysis with {Parameters.Factors} factor{(Parameters.Factors == 1 ? "" : "s")} on {Parameters.Dimension} columns" +
        Environment.NewLine + Result;
}

/// <summary>
/// A mixture of factor analysers (Ghahramani &amp; Hinton 1996): p(x) = Σ_k π_k N(x | μ_k, Λ_kΛ_kᵀ + Ψ_k), each component
/// with its own mean and loadings and, by default, its own diagonal noise (<see cref="SharedNoise"/> for one Ψ, as in
/// the original paper; <see cref="NoiseModel.Isotropic"/> for a mixture of probabilistic PCAs).
/// </summary>
/// <param name="Components">K ≥ 1.</param>
/// <param name="Factors">q per component, 0 ≤ q &lt; D.</param>
public sealed record MixtureOfFactorAnalysers(int Components, int Factors)
{
    /// <summary>Diagonal (default) or isotropic noise.</summary>
    public NoiseModel Noise { get; init; } = NoiseModel.Diagonal;

    /// <summary>One Ψ for every component.</summary>
    public bool SharedNoise { get; init; }

    /// <summary>Optional prior (MAP) on each component's noise and loadings.</summary>
    public FactorPrior? Prior { get; init; }

    /// <summary>Symmetric Dirichlet concentration on the weights (default 1: maximum likelihood).</summary>
    public double WeightConcentration { get; init; } = 1.0;

    /// <summary>Floor on each noise variance relative to its column's variance.</summary>
    public double NoiseFloor { get; init; } = 1e-12;

    /// <summary>ECME rounds per M-step.</summary>
    public int MStepIterations { get; init; } = 50;

    /// <summary>
    /// Fits the mixture to every column of <paramref name="data"/>: from <paramref name="start"/>'s responsibilities
    /// when given (for example a Gaussian mixture fitted first), else from the options' initialisation (k-means++ restarts).
    /// </summary>
    public MixtureOfFactorAnalysersFit Fit(DataMatrix data, FitOptions? options = null, MixtureFit? start = null,
        IReadOnlyList<double>? sampleWeights = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        options ??= new FitOptions();
        var block = Blocks.Factor("factors", Blocks.ColumnRange(0, data.Columns), Factors, Noise, SharedNoise, Prior,
            noiseFloor: NoiseFloor, mStepIterations: MStepIterations);
        var builder = Mixture.WithComponents(Components).Observe(block);
        var model = (WeightConcentration == 1 ? builder : builder.WithWeightPrior(WeightConcentration)).Build();
        if (start is not null)
        {
            if (start.States != Components)
                throw new ArgumentException($"The starting fit has {start.States} components; this mixture has {Components}.", nameof(start));
            options = options with { Restarts = 1, Initialization = Initialization.FromResponsibilities(start.PredictProba(data)) };
        }
        return new MixtureOfFactorAnalysersFit(model.Fit(data, options, sampleWeights, null, cancellationToken), block);
    }
}

/// <summary>A fitted mixture of factor analysers, with the general <see cref="MixtureFit"/> as <see cref="Result"/>.</summary>
public sealed class MixtureOfFactorAnalysersFit
{
    internal MixtureOfFactorAnalysersFit(MixtureFit result, Block<FactorParameters> block)
    {
        Result = result;
        Block = block;
        Components = result.Parameters(block);
    }

    /// <summary>The general fit result.</summary>
    public MixtureFit Result { get; }

    /// <summary>The factor block that was fitted.</summary>
    public Block<FactorParameters> Block { get; }

    /// <summary>π_k.</summary>
    public IReadOnlyList<double> Weights => Result.Weights;

    /// <summary>μ_k, Λ_k and Ψ_k per component.</summary>
    public IReadOnlyList<FactorParameters> Components { get; }

    /// <summary>Final log-likelihood.</summary>
    public double LogLikelihood => Result.LogLikelihood;

    /// <summary>Free parameters, the rotation freedom of each component's loadings subtracted.</summary>
    public int FreeParameterCount => Result.FreeParameterCount;

    /// <summary>BIC on <paramref name="data"/>.</summary>
    public double Bic(DataMatrix data) => Result.Bic(data);

    /// <summary>AIC on <paramref name="data"/>.</summary>
    public double Aic(DataMatrix data) => Result.Aic(data);

    /// <summary>p(component k | x_n) for every row.</summary>
    public double[,] PredictProba(DataMatrix data) => Result.PredictProba(data);

    /// <summary>Most probable component of every row.</summary>
    public int[] Predict(DataMatrix data) => Result.Predict(data);

    /// <summary>E[z | x_n, component k] for every row (rows × q): the factor scores within component k.</summary>
    public double[,] Scores(DataMatrix data, int component)
    {
        if (component < 0 || component >= Components.Count)
            throw new ArgumentOutOfRangeException(nameof(component), component, $"Components are 0…{Components.Count - 1}.");
        return FactorScores.Of(Components[component], data);
    }

    /// <summary>Draws <paramref name="count"/> rows with their components, reproducibly for a given seed.</summary>
    public MixtureSample Sample(int count, int seed = 0) => Result.Sample(count, seed);

    /// <summary>"Mixture of K factor analysers (q factors each)", then the summary of <see cref="Result"/>.</summary>
    public override string ToString() =>
        $"Mixture of {Components.Count} factor analysers ({Components[0].Factors} factor{(Components[0].Factors == 1 ? "" : "s")} each)" +
        Environment.NewLine + Result;
}

/// <summary>Factor scores of whole data sets through <see cref="FactorParameters.Scores"/>.</summary>
internal static class FactorScores
{
    public static double[,] Of(FactorParameters p, DataMatrix data)
    {
        Check(p, data);
        var scores = new double[data.Rows, p.Factors];
        var row = new double[data.Columns];
        for (int r = 0; r < data.Rows; r++)
        {
            for (int j = 0; j < row.Length; j++) row[j] = data[r, j];
            var z = p.Scores(row);
            for (int a = 0; a < z.Length; a++) scores[r, a] = z[a];
        }
        return scores;
    }

    public static double[,] Reconstruct(FactorParameters p, DataMatrix data)
    {
        var scores = Of(p, data);
        var x = new double[data.Rows, p.Dimension];
        for (int r = 0; r < data.Rows; r++)
            for (int d = 0; d < p.Dimension; d++)
            {
                double v = p.Mean[d];
                for (int a = 0; a < p.Factors; a++) v += p.Loadings[d, a] * scores[r, a];
                x[r, d] = v;
            }
        return x;
    }

    private static void Check(FactorParameters p, DataMatrix data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.Columns != p.Dimension)
            throw new ArgumentException($"The data has {data.Columns} columns; the factor model was fitted to {p.Dimension}.", nameof(data));
    }
}
