using EmDsl.Data;
using EmDsl.Families.Priors;
using EmDsl.Inference;

namespace EmDsl.Building;

/// <summary>
/// An immutable mixture declaration: K components, each observation's density the product over blocks,
/// <code>p(x) = Σ_k π_k Π_b p_b(x_b | θ_bk)</code>
/// with an optional Dirichlet prior on π and conjugate priors on the blocks. Regression blocks model a response
/// given covariates, and a <see cref="Building.Gating"/> network makes π_k depend on covariates (a mixture of experts). <see cref="Fit(DataMatrix, FitOptions?, IReadOnlyList{double}?, IProgress{FitProgress}?, CancellationToken)"/> runs EM
/// (or MAP-EM when priors are present) and monitors log p(X | θ) + log p(θ).
/// </summary>
public sealed class MixtureModel : ILatentModel
{
    internal MixtureModel(int components, IReadOnlyList<Block> blocks, DirichletPrior? weightPrior, Gating? gating)
    {
        Components = components;
        Blocks = blocks;
        WeightPrior = weightPrior;
        Gating = gating;
    }

    /// <summary>K.</summary>
    public int Components { get; }

    int ILatentModel.States => Components;

    /// <summary>The observed blocks, in declaration order.</summary>
    public IReadOnlyList<Block> Blocks { get; }

    /// <summary>The Dirichlet prior on the weights, or null (maximum likelihood).</summary>
    public DirichletPrior? WeightPrior { get; }

    /// <summary>The gating network of a mixture of experts (weights that depend on covariates), or null (constant weights).</summary>
    public Gating? Gating { get; }

    /// <summary>Whether the model conditions on covariates (regression blocks or a gating network).</summary>
    public bool HasCovariates => Gating is not null || Blocks.Any(b => b.CovariateCount > 0);

    /// <summary>
    /// Whether some block (or the gating) reads its columns by name. Such a model is resolved against the data's
    /// <see cref="DataMatrix.ColumnNames"/> whenever it is fitted; the fit's <see cref="MixtureFit.Model"/> is the
    /// resolved model, with both the names and the indices.
    /// </summary>
    public bool NamesColumns => Blocks.Any(b => b.ColumnNames is not null) || Gating?.CovariateNames is not null;

    /// <summary>The column names of the data a resolved model was resolved against (null for a model declared by index).</summary>
    internal IReadOnlyList<string>? DataColumnNames { get; private init; }

    IReadOnlyList<string>? ILatentModel.DataColumnNames => DataColumnNames;

    /// <summary>
    /// The model bound to <paramref name="data"/>: blocks and gating declared by name replaced by copies reading the
    /// data's columns of those names (the model itself when nothing is named).
    /// </summary>
    /// <exception cref="ArgumentException">A name is not in the data, the data has no names, or two blocks end up reading one column.</exception>
    internal MixtureModel Resolve(DataMatrix data)
    {
        if (!NamesColumns) return this;
        var blocks = Blocks.Select(b => b.Resolve(data)).ToArray();
        try
        {
            BlockChecks.Validate(blocks, "mixture");
        }
        catch (InvalidOperationException e)
        {
            throw new ArgumentException(e.Message, nameof(data), e);
        }
        return new MixtureModel(Components, blocks, WeightPrior, Gating?.Resolve(data)) { DataColumnNames = data.ColumnNames };
    }

    /// <summary>Number of data columns the model needs: one more than the largest column index read (responses and covariates).</summary>
    /// <exception cref="InvalidOperationException">The model reads columns by name and has not been resolved (a fit's <see cref="MixtureFit.Model"/> has).</exception>
    public int RequiredColumns =>
        Blocks.SelectMany(b => b.Columns.Concat(b.Covariates)).Concat(Gating?.Covariates ?? []).Max() + 1;

    /// <summary>Free parameters: K − 1 weights (or the gating's coefficients) plus every block's parameters (used by BIC and AIC).</summary>
    public int FreeParameterCount =>
        (Gating?.FreeParameterCount(Components) ?? Components - 1) + Blocks.Sum(b => b.FreeParameterCount(Components));

    /// <summary>
    /// Fits the model to <paramref name="data"/> by EM.
    /// </summary>
    /// <param name="data">Observations, one per row; the model reads the columns its blocks name.</param>
    /// <param name="options">Run settings; null uses <see cref="FitOptions.Default"/>.</param>
    /// <param name="sampleWeights">Optional non-negative weight per row (a weight of 2 counts a row twice).</param>
    /// <param name="progress">
    /// Receives one report per iteration, on the fitting thread. (<see cref="Progress{T}"/> re-posts reports to a
    /// synchronisation context or the thread pool, so they may arrive after Fit returns; implement
    /// <see cref="IProgress{T}"/> directly to handle them synchronously.)
    /// </param>
    /// <param name="cancellationToken">Stops the fit between chunks (throws <see cref="OperationCanceledException"/>).</param>
    /// <exception cref="ArgumentException">The data or weights do not fit the model (the message names the row, column or block).</exception>
    public MixtureFit Fit(DataMatrix data, FitOptions? options = null, IReadOnlyList<double>? sampleWeights = null,
        IProgress<FitProgress>? progress = null, CancellationToken cancellationToken = default) =>
        EmEngine.FitMixture(this, data, options ?? FitOptions.Default, sampleWeights, progress, cancellationToken);

    /// <summary>
    /// Fits the model by EM to rows streamed from <paramref name="source"/>, never holding the data: each E-step is one
    /// pass that reads chunks of <see cref="FitOptions.ChunkRows"/> rows (a few at a time, in parallel) and adds their
    /// statistics in chunk order, so the fit is bit for bit the in-memory <see cref="Fit(DataMatrix, FitOptions?, IReadOnlyList{double}?, IProgress{FitProgress}?, CancellationToken)"/>
    /// of the same rows from the same start, on any number of threads.
    /// <para>
    /// A first pass counts the rows, checks that every value is finite (the message names the source, row and column)
    /// and draws a seeded reservoir sample of <see cref="FitOptions.StartSampleRows"/> rows (default max(20·K·D, 10 000)).
    /// k-means++ and random-partition starts cluster the sample and take their first M-step from it; the Gaussian
    /// blocks' initial frames are its column means; every later E-step reads the whole source. Given parameters and
    /// earlier fits start as usual; <see cref="Initialization.FromResponsibilities"/> (a posterior per row) is not
    /// supported. A source with no more rows than the sample is sampled whole, so its fit equals the in-memory fit.
    /// </para>
    /// <para>
    /// Not supported (<see cref="NotSupportedException"/>): gating networks and regression blocks, whose M-steps keep
    /// every row's posterior and re-read the covariates in memory — fit those to a <see cref="DataMatrix"/>. Sample
    /// weights over a stream are not supported. Hidden Markov models are fitted to <see cref="SequenceData"/> in memory.
    /// Sources of more than <see cref="int.MaxValue"/> rows are rejected.
    /// </para>
    /// </summary>
    /// <param name="source">The rows; the model reads the columns its blocks name (names resolve against <see cref="DataSource.ColumnNames"/>).</param>
    /// <param name="options">Run settings; null uses <see cref="FitOptions.Default"/>.</param>
    /// <param name="progress">Receives one report per iteration, on the fitting thread.</param>
    /// <param name="cancellationToken">Stops the fit between chunks (throws <see cref="OperationCanceledException"/>).</param>
    /// <exception cref="ArgumentException">The data does not fit the model (the message names the source, row, column or block).</exception>
    /// <exception cref="InvalidDataException">A value is not finite, or the source gives different rows on different passes.</exception>
    /// <exception cref="NotSupportedException">A gating network, a regression block, or a responsibilities start.</exception>
    public MixtureFit Fit(DataSource source, FitOptions? options = null, IProgress<FitProgress>? progress = null, CancellationToken cancellationToken = default) =>
        EmEngine.FitMixture(this, source, options ?? FitOptions.Default, progress, cancellationToken);

    /// <summary>
    /// Fits the model to rows streamed from <paramref name="source"/> by incremental EM (Neal–Hinton) or stepwise online
    /// EM (Cappé–Moulines, Liang–Klein): parameters updated after every mini-batch of
    /// <see cref="OnlineEmOptions.BatchRows"/> rows rather than after every pass — see <see cref="OnlineMethod"/>. The
    /// start is made as in <see cref="Fit(DataSource, FitOptions?, IProgress{FitProgress}?, CancellationToken)"/> (scan,
    /// reservoir sample, k-means++ or given parameters; with <see cref="FitOptions.Restarts"/> the best start by its
    /// objective), then <see cref="OnlineEmOptions.Passes"/> passes (incremental EM adds one: its first pass is a full
    /// E-step that stores each part's statistics). <see cref="FitOptions.MaxIterations"/> and
    /// <see cref="FitOptions.Tolerance"/> apply to the start only.
    /// <para>
    /// The result's <see cref="ModelFit.ObjectiveTrace"/> is the objective log p(X | θ) + log p(θ) over the whole data at
    /// the start and after each pass (each an exact extra pass; with <see cref="OnlineEmOptions.EvaluateEachPass"/> false
    /// only the start and the end); <see cref="ModelFit.Iterations"/> counts the M-steps; the status is
    /// <see cref="FitStatus.IterationLimit"/> (a fixed number of passes, no convergence test). Incremental EM records
    /// F after every partial E-step and M-step in <see cref="ModelFit.FreeEnergyTrace"/>, and it never decreases.
    /// Empty components keep their parameters, as in batch EM.
    /// </para>
    /// <para>
    /// Not supported, as for streamed batch fits: gating networks and regression blocks (generalized-EM M-steps whose
    /// statistics are every row's posterior — stepwise EM needs finite additive statistics, and incremental EM would
    /// need the covariates of every part in memory); hidden Markov models.
    /// </para>
    /// </summary>
    /// <param name="source">The rows; see <see cref="Fit(DataSource, FitOptions?, IProgress{FitProgress}?, CancellationToken)"/>.</param>
    /// <param name="online">The method and its settings; null uses <see cref="OnlineEmOptions.Default"/> (one pass of stepwise EM).</param>
    /// <param name="options">Run settings (start, seed, floors, chunk size of the full passes); null uses <see cref="FitOptions.Default"/>.</param>
    /// <param name="progress">Receives the start's objective and one report per pass.</param>
    /// <param name="cancellationToken">Stops the fit between mini-batches.</param>
    /// <exception cref="ArgumentOutOfRangeException">An online setting outside its range (the message names it).</exception>
    /// <exception cref="NotSupportedException">A gating network, a regression block, or a responsibilities start.</exception>
    public MixtureFit FitOnline(DataSource source, OnlineEmOptions? online = null, FitOptions? options = null, IProgress<FitProgress>? progress = null,
        CancellationToken cancellationToken = default) =>
        OnlineEm.Fit(this, source, online ?? OnlineEmOptions.Default, options ?? FitOptions.Default, progress, cancellationToken);

    /// <inheritdoc />
    public override string ToString() =>
        $"Mixture of {Components} component{(Components == 1 ? "" : "s")}" + (WeightPrior is null ? "" : $", weights ~ {WeightPrior}") +
        (Gating is null ? "" : $", {Gating}") +
        string.Concat(Blocks.Select(b => Environment.NewLine + "  " + b));
}
