using EmDsl.Building;
using EmDsl.Data;

namespace EmDsl.Inference;

internal static partial class EmEngine
{
    /// <summary>
    /// Fits a mixture to a streamed source: a scan (count, finiteness, reservoir sample), then the usual EM loop whose
    /// E-steps are passes over the source (<see cref="CompiledModel.StreamPass"/>) and whose starts are made from the
    /// sample.
    /// </summary>
    public static MixtureFit FitMixture(MixtureModel model, DataSource source, FitOptions options, IProgress<FitProgress>? progress,
        CancellationToken cancellationToken)
    {
        var (compiled, stream) = PrepareStream(model, source, options, cancellationToken);
        var result = new Run(compiled, stream.Sample, [0, stream.Sample.Rows], null, options, progress, cancellationToken, stream).Execute();
        return new MixtureFit(compiled, result);
    }

    /// <summary>The start of a fit to a streamed source (the best of the restarts, evaluated by one pass over the source), for online EM.</summary>
    internal static (CompiledModel Model, StreamedData Stream, EngineResult Start) StreamStart(MixtureModel model, DataSource source, FitOptions options,
        CancellationToken cancellationToken)
    {
        var (compiled, stream) = PrepareStream(model, source, options, cancellationToken);
        var start = new Run(compiled, stream.Sample, [0, stream.Sample.Rows], null, options with { MaxIterations = 0 }, null, cancellationToken, stream).Execute();
        return (compiled, stream, start);
    }

    /// <summary>Checks what a streamed fit supports, resolves named columns against the source's, scans it and compiles the model on its sample.</summary>
    private static (CompiledModel, StreamedData) PrepareStream(MixtureModel model, DataSource source, FitOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(source);
        options.Validate();
        if (options.Initialization is ResponsibilityInitialization)
            throw new NotSupportedException(
                "Initialization.FromResponsibilities gives a row-by-row posterior of data held in memory; a fit to a streamed source starts from Initialization.KMeansPlusPlus, RandomPartitions (both on a sample of the rows), FromParameters or FromFit.");
        // Blocks declared by name read the source's columns of those names.
        model = model.Resolve(DataMatrix.Wrap([], 0, source.Columns, source.ColumnNames?.ToArray()));
        if (model.Gating is not null)
            throw new NotSupportedException(
                "A mixture with a gating network cannot be fitted to a streamed source: its M-step keeps every row's posterior and re-reads the covariates of the whole data in memory. Load the data into a DataMatrix and call Fit(DataMatrix, ...).");
        if (model.Blocks.FirstOrDefault(b => b.Covariates.Count > 0) is { } regression)
            throw new NotSupportedException(
                $"Block '{regression.Name}' is a regression: its M-step keeps every row's posterior and re-reads the covariates of the whole data in memory, so it cannot be fitted to a streamed source. Load the data into a DataMatrix and call Fit(DataMatrix, ...).");
        int sampleRows = options.StartSampleRows ?? StreamedData.DefaultSampleRows(model.Components, source.Columns);
        if (options.KnownLabels is not null)
            throw new NotSupportedException(
                "FitOptions.KnownLabels gives one label per row of data held in memory; a fit to a streamed source does not take them. Fit a DataMatrix, or leave the labels out.");
        var stream = StreamedData.Scan(source, sampleRows, options.ChunkRows ?? CompiledModel.MaxAutomaticChunkRows, options.Seed, cancellationToken,
            allowMissing: options.MissingValues == MissingValuePolicy.Marginalize);
        RequireEnoughRows(model.Components, "components", stream.Sample.Rows, null);
        CompiledModel compiled;
        try
        {
            compiled = CompiledModel.Create(model, LatentOf(model, stream.Sample, null), stream.Sample, null, options.MissingValues, validate: false);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"{source.Description}: {e.Message}", nameof(source), e);
        }
        try { compiled.Validate(stream.Sample); }
        catch (ArgumentException)
        {
            compiled.CheckSource(stream, options, cancellationToken); // names the row in the source, not in the sample
            throw;
        }
        return (compiled, stream);
    }
}
