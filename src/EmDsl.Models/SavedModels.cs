using EmDsl.Building;
using EmDsl.Families;
using EmDsl.Inference;
using EmDsl.Persistence;

namespace EmDsl.Models;

/// <summary>
/// Saving and loading the ready models' fits. A façade's file is its general fit's (<see cref="ModelFile"/>: the
/// same versioned JSON, loaded back bit for bit); loading re-wraps it in the façade, after checking that the file
/// holds the model the façade is (one block of the expected family; one component for factor analysis).
/// </summary>
public static class SavedModels
{
    /// <summary>Saves a fitted single-block mixture (<see cref="GaussianMixture"/>, <see cref="BernoulliMixture"/>, <see cref="PoissonMixture"/>).</summary>
    public static void Save<TParameters>(this FittedMixture<TParameters> fit, string path)
    {
        ArgumentNullException.ThrowIfNull(fit);
        fit.Result.Save(path);
    }

    /// <summary>Saves a fitted factor-analysis or probabilistic PCA model.</summary>
    public static void Save(this FactorAnalysisFit fit, string path)
    {
        ArgumentNullException.ThrowIfNull(fit);
        fit.Result.Save(path);
    }

    /// <summary>Saves a fitted mixture of factor analysers.</summary>
    public static void Save(this MixtureOfFactorAnalysersFit fit, string path)
    {
        ArgumentNullException.ThrowIfNull(fit);
        fit.Result.Save(path);
    }

    /// <summary>
    /// Loads a single-block mixture saved by <see cref="Save{TParameters}(FittedMixture{TParameters}, string)"/>
    /// (or any mixture file with one block whose parameters are <typeparamref name="TParameters"/>), e.g.
    /// <c>SavedModels.LoadMixture&lt;GaussianParameters&gt;(path)</c>.
    /// </summary>
    /// <exception cref="ModelFileException">The file is not a valid model file, or not a one-block mixture of that family.</exception>
    public static FittedMixture<TParameters> LoadMixture<TParameters>(string path, params ExponentialFamily[] families)
    {
        var fit = ModelFile.LoadMixture(path, families);
        return new FittedMixture<TParameters>(fit, SingleBlock<TParameters>(fit, path));
    }

    /// <summary>Loads a factor-analysis (or probabilistic PCA) model: a one-component mixture of one factor block.</summary>
    /// <exception cref="ModelFileException">The file is not a valid model file, or not a factor-analysis model.</exception>
    public static FactorAnalysisFit LoadFactorAnalysis(string path)
    {
        var fit = ModelFile.LoadMixture(path);
        var block = SingleBlock<FactorParameters>(fit, path);
        if (fit.States != 1)
            throw new ModelFileException(path, "$.model.components", $"a factor-analysis model has one component, this file {fit.States}; use LoadMixtureOfFactorAnalysers");
        return new FactorAnalysisFit(fit, block);
    }

    /// <summary>Loads a mixture of factor analysers: a mixture of one factor block.</summary>
    /// <exception cref="ModelFileException">The file is not a valid model file, or not a mixture of factor analysers.</exception>
    public static MixtureOfFactorAnalysersFit LoadMixtureOfFactorAnalysers(string path)
    {
        var fit = ModelFile.LoadMixture(path);
        return new MixtureOfFactorAnalysersFit(fit, SingleBlock<FactorParameters>(fit, path));
    }

    private static Block<TParameters> SingleBlock<TParameters>(MixtureFit fit, string path)
    {
        if (fit.Model.Gating is not null)
            throw new ModelFileException(path, "$.model.gating", "the file holds a mixture of experts, not a single-block mixture; load it with ModelFile.LoadMixture");
        if (fit.Blocks.Count != 1)
            throw new ModelFileException(path, "$.model.blocks", $"the file's mixture has {fit.Blocks.Count} blocks, not one; load it with ModelFile.LoadMixture");
        return fit.Blocks[0] as Block<TParameters>
            ?? throw new ModelFileException(path, "$.model.blocks[0].type", $"the file's block '{fit.Blocks[0].Name}' is {fit.Blocks[0].Family.Name}, whose parameters are not {typeof(TParameters).Name}");
    }
}
