using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EmDsl.Building;
using EmDsl.Families;
using EmDsl.Families.Priors;
using EmDsl.Inference;

namespace EmDsl.Persistence;

/// <summary>
/// Saves fitted models (mixtures, mixtures of experts, hidden Markov models, factor models) to human-readable,
/// versioned JSON files and loads them back exactly: the loaded fit has bit-for-bit the saved parameters, so its
/// predictions, scores, samples and decodings are identical, and it reports the saved log-likelihood, log prior,
/// objective trace, iterations, status and diagnostics. Nothing is refitted on load.
/// <para>
/// <b>Format, version 1.</b> One JSON object (UTF-8, indented):
/// <code>
/// { "format": "emdsl-model", "version": 1, "kind": "mixture" | "hidden-markov",
///   "model": { the declaration: "components" (or "states", "structure", "tiedTransitions", "fixedTransitions",
///              "transitionPrior", "initialPrior"), "weightPrior", "gating",
///              "blocks": [ { "name", "type", "columns" (or "response" and "covariates"), "sharing", "prior", and the
///                            type's options: "covariance", "categories", "dispersion", "factors", "noise", … } ] },
///   "fit":   { "logLikelihood", "logPrior", "totalWeight", "iterations", "status", "objectiveTrace",
///              "freeEnergyTrace", "diagnostics", "weights" (and "gating") or "initial" and "transitions",
///              "blocks": [ { "name", "parameters": [ one record per component in the family's usual terms ],
///                            "natural": [ per component, the exact natural parameters the model evaluates with ],
///                            "frame": { a regression's covariate means and scales } } ] } }
/// </code>
/// Block types: "gaussian", "bernoulli", "categorical", "poisson", "exponential", "gamma", "beta", "dirichlet",
/// "von-mises", "negative-binomial", "factor", "linear-regression", "logistic-regression", "poisson-regression" and
/// "declared" (a family of your own, saved by name, dimension and statistic count; its parameter records are written
/// when it is a <see cref="DeclaredFamily"/>, and for another subclass of <see cref="ExponentialFamily{TParameters}"/>
/// rebuilt on load from the exact natural parameters with its <c>FromNatural</c>, which is how EM made them). Numbers are written in their
/// shortest round-trip form, so every double reads back to the same bits; trace values that are not finite are the
/// strings "NaN", "Infinity" and "-Infinity". Where both "parameters" and "natural" are written they must agree (to
/// 1e-6 relative): the parameters are what you read, the natural ones what makes predictions bit-identical.
/// </para>
/// <para>
/// <b>Loading</b> checks the whole file before anything is built — format tag, version (a newer file is refused:
/// "written by a newer EmDsl"), every field's presence, type and length, and every parameter's validity (positive
/// definite covariances, probabilities that sum to 1, positive rates, structural zeros of a transition structure) —
/// and throws one exception type, <see cref="ModelFileException"/>, naming the file and the JSON path of the bad
/// field. A block of a declared family needs that family: pass it to <see cref="Load(string, ExponentialFamily[])"/>;
/// it is matched by name and checked by dimension and number of statistics.
/// </para>
/// </summary>
public static class ModelFile
{
    /// <summary>The value of the "format" field.</summary>
    public const string FormatTag = "emdsl-model";

    /// <summary>The file format version this library writes, and the newest it reads.</summary>
    public const int Version = 1;

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>The fit as a model file's JSON text (indented); see <see cref="ModelFile"/> for the format.</summary>
    /// <exception cref="NotSupportedException">A block's prior has a custom log density (not a family's Conjugate or natural conjugate kernel).</exception>
    public static string ToJson(this ModelFit fit)
    {
        ArgumentNullException.ThrowIfNull(fit);
        return ModelFileWriter.Write(fit).ToJsonString(Indented);
    }

    /// <summary>Saves the fit to <paramref name="path"/> (UTF-8 JSON, replacing the file if it exists); see <see cref="ModelFile"/> for the format.</summary>
    /// <exception cref="NotSupportedException">A block's prior has a custom log density.</exception>
    public static void Save(this ModelFit fit, string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var json = ToJson(fit);
        File.WriteAllText(path, json, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
    }

    /// <summary>Loads a model file: a <see cref="MixtureFit"/> or a <see cref="HiddenMarkovFit"/>.</summary>
    /// <param name="path">The file.</param>
    /// <param name="families">The declared families the file's "declared" blocks use (matched by name).</param>
    /// <exception cref="ModelFileException">The file is not a valid model file (the message names the file and field).</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static ModelFit Load(string path, params ExponentialFamily[] families)
    {
        ArgumentNullException.ThrowIfNull(path);
        var text = File.ReadAllText(path);
        return ModelFileReader.Read(text, path, families);
    }

    /// <summary>Loads a model from JSON text (see <see cref="Load(string, ExponentialFamily[])"/>).</summary>
    /// <exception cref="ModelFileException">The text is not a valid model file.</exception>
    public static ModelFit FromJson(string json, params ExponentialFamily[] families)
    {
        ArgumentNullException.ThrowIfNull(json);
        return ModelFileReader.Read(json, null, families);
    }

    /// <summary>Loads a mixture's model file.</summary>
    /// <exception cref="ModelFileException">The file is not a valid model file, or holds a hidden Markov model.</exception>
    public static MixtureFit LoadMixture(string path, params ExponentialFamily[] families) =>
        Load(path, families) as MixtureFit ?? throw new ModelFileException(path, "$.kind", "the file holds a hidden Markov model, not a mixture; use LoadHiddenMarkov");

    /// <summary>Loads a hidden Markov model's file.</summary>
    /// <exception cref="ModelFileException">The file is not a valid model file, or holds a mixture.</exception>
    public static HiddenMarkovFit LoadHiddenMarkov(string path, params ExponentialFamily[] families) =>
        Load(path, families) as HiddenMarkovFit ?? throw new ModelFileException(path, "$.kind", "the file holds a mixture, not a hidden Markov model; use LoadMixture");

    // ---- what the writer and reader share ----

    internal static string TypeOf(Block block)
    {
        switch (block)
        {
            case GaussianBlock: return "gaussian";
            case FactorBlock: return "factor";
        }
        if (Regression(block) is { } r)
            return r.Kind switch
            {
                RegressionKind.Linear => "linear-regression",
                RegressionKind.Logistic => "logistic-regression",
                _ => "poisson-regression",
            };
        return block.Family switch
        {
            BernoulliFamily => "bernoulli",
            CategoricalFamily => "categorical",
            PoissonFamily => "poisson",
            ExponentialDistributionFamily => "exponential",
            GammaFamily => "gamma",
            BetaFamily => "beta",
            DirichletFamily => "dirichlet",
            VonMisesFamily => "von-mises",
            NegativeBinomialFamily => "negative-binomial",
            _ => "declared",
        };
    }

    internal sealed record RegressionDeclaration(RegressionKind Kind, bool Intercept, CoefficientPrior? Prior);

    /// <summary>The regression options of a regression block, or null.</summary>
    internal static RegressionDeclaration? Regression(Block block) => block switch
    {
        RegressionBlock<LinearRegressionParameters> l => new(l.Kind, l.Intercept, l.Prior),
        RegressionBlock<RegressionParameters> r => new(r.Kind, r.Intercept, r.Prior),
        _ => null,
    };

    internal static CovariateFrame FrameOf(BlockRuntime runtime) => runtime switch
    {
        RegressionRuntime<LinearRegressionParameters> l => l.Frame,
        RegressionRuntime<RegressionParameters> r => r.Frame,
        _ => throw new InvalidOperationException($"Block '{runtime.Name}' is not a regression."),
    };

    /// <summary>The conjugate prior of a conjugate block (whatever its parameter type), or null.</summary>
    internal static ConjugatePrior? ConjugatePriorOf(Block block)
    {
        var type = block.GetType();
        if (!type.IsGenericType || type.GetGenericTypeDefinition() != typeof(ConjugateBlock<>))
            throw new NotSupportedException($"Block '{block.Name}' is a {type.Name}, which a model file cannot hold.");
        return (ConjugatePrior?)type.GetProperty(nameof(ConjugateBlock<object>.Prior))!.GetValue(block);
    }
}
