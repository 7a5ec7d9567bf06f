using System.Text.Json.Nodes;
using EmDsl.Building;
using EmDsl.Families;
using EmDsl.Families.Priors;
using EmDsl.Inference;

namespace EmDsl.Persistence;

/// <summary>Writes a fit as a model file document (see <see cref="ModelFile"/> for the format).</summary>
internal static class ModelFileWriter
{
    public static JsonObject Write(ModelFit fit)
    {
        var doc = new JsonObject
        {
            ["format"] = ModelFile.FormatTag,
            ["version"] = ModelFile.Version,
        };
        var compiled = fit.Compiled;
        var model = new JsonObject();
        var state = new JsonObject();
        switch (fit)
        {
            case MixtureFit m:
                doc["kind"] = "mixture";
                model["components"] = m.Model.Components;
                model["weightPrior"] = m.Model.WeightPrior is { } wp ? Numbers(wp.Concentration) : null;
                model["gating"] = m.Model.Gating is { } g
                    ? new JsonObject { ["covariates"] = Ints(g.Covariates), ["prior"] = g.Prior is null ? null : g.Prior.Precision }
                    : null;
                state["weights"] = Numbers(m.Weights);
                if (m.State.Latent is GatingState gs)
                {
                    var frame = ((GatedLabelRuntime)compiled.Latent).Frame;
                    int p = frame.Size, k0 = m.States;
                    state["gating"] = new JsonObject
                    {
                        ["frame"] = Frame(frame),
                        ["coefficients"] = new JsonArray(Enumerable.Range(0, p).Select(i => (JsonNode)Numbers(gs.Coefficients.AsSpan(i * k0, k0).ToArray())).ToArray()),
                    };
                }
                break;
            case HiddenMarkovFit h:
                doc["kind"] = "hidden-markov";
                var hm = h.Model;
                model["states"] = hm.States;
                model["structure"] = Structure(hm.Structure, hm.States);
                model["tiedTransitions"] = hm.TiedTransitions;
                model["fixedTransitions"] = hm.FixedInternal is { } f ? Matrix(f) : null;
                model["transitionPrior"] = hm.TransitionPriorInternal is { } tp ? Matrix(tp) : null;
                model["initialPrior"] = hm.InitialPriorInternal is { } ip ? Numbers(ip) : null;
                state["initial"] = Numbers(h.InitialProbabilities);
                state["transitions"] = Matrix(h.TransitionMatrix);
                break;
            default:
                throw new NotSupportedException($"Cannot save a {fit.GetType().Name}.");
        }
        var blocks = new JsonArray();
        var blockStates = new JsonArray();
        for (int b = 0; b < compiled.Blocks.Length; b++)
        {
            blocks.Add(Declaration(compiled.Blocks[b].Block, fit.States));
            blockStates.Add(BlockParameters(compiled.Blocks[b], fit.State.Blocks[b]));
        }
        model["blocks"] = blocks;
        doc["model"] = model;

        var result = new JsonObject
        {
            ["logLikelihood"] = Number(fit.LogLikelihood),
            ["logPrior"] = Number(fit.LogPrior),
            ["totalWeight"] = Number(fit.TotalWeight),
            ["iterations"] = fit.Iterations,
            ["status"] = fit.Status.ToString(),
            ["objectiveTrace"] = new JsonArray(fit.ObjectiveTrace.Select(Number).ToArray()),
            ["freeEnergyTrace"] = new JsonArray(fit.FreeEnergyTrace.Select(p => (JsonNode)new JsonObject
            {
                ["iteration"] = p.Iteration,
                ["after"] = p.After.ToString(),
                ["value"] = Number(p.Value),
            }).ToArray()),
            ["diagnostics"] = Diagnostics(fit.Diagnostics),
        };
        foreach (var (key, value) in state.ToArray())
        {
            state.Remove(key);
            result[key] = value;
        }
        result["blocks"] = blockStates;
        doc["fit"] = result;
        return doc;
    }

    // ---- declarations ----

    private static JsonObject Structure(TransitionStructure s, int k)
    {
        if (s.IsFull) return new JsonObject { ["type"] = "full" };
        if (s.IsLeftToRight) return new JsonObject { ["type"] = "left-to-right", ["maxJump"] = s.MaxJump };
        var mask = s.AllowedMask!;
        return new JsonObject
        {
            ["type"] = "mask",
            ["allowed"] = new JsonArray(Enumerable.Range(0, k).Select(i => (JsonNode)new JsonArray(Enumerable.Range(0, k).Select(j => (JsonNode)JsonValue.Create(mask[i, j])).ToArray())).ToArray()),
            ["initialStates"] = s.InitialMask is { } init ? new JsonArray(init.Select(v => (JsonNode)JsonValue.Create(v)).ToArray()) : null,
        };
    }

    private static JsonObject Declaration(Block block, int states)
    {
        var o = new JsonObject
        {
            ["name"] = block.Name,
            ["type"] = ModelFile.TypeOf(block),
            ["columns"] = Ints(block.Columns),
            ["sharing"] = block.Sharing == Sharing.Shared ? "shared" : "per-component",
        };
        switch (block)
        {
            case GaussianBlock g:
                o["covariance"] = g.Covariance.ToString().ToLowerInvariant();
                o["prior"] = g.Prior is null ? null : GaussianPrior(g.Prior);
                break;
            case FactorBlock f:
                o["factors"] = f.Factors;
                o["noise"] = f.Noise == NoiseModel.Isotropic ? "isotropic" : "diagonal";
                o["sharedNoise"] = f.SharedNoise;
                o["noiseFloor"] = f.NoiseFloor;
                o["mStepIterations"] = f.MStepIterations;
                o["prior"] = f.Prior is null ? null : new JsonObject
                {
                    ["noiseShape"] = f.Prior.NoiseShape,
                    ["noiseScale"] = f.Prior.NoiseScale,
                    ["loadingsPrecision"] = f.Prior.LoadingsPrecision,
                };
                break;
            default:
                if (ModelFile.Regression(block) is { } r)
                {
                    o.Remove("columns");
                    o["response"] = block.Columns[0];
                    o["covariates"] = Ints(block.Covariates);
                    o["intercept"] = r.Intercept;
                    o["prior"] = r.Prior is null ? null : r.Prior.Precision;
                    break;
                }
                var prior = ModelFile.ConjugatePriorOf(block);
                switch (block.Family)
                {
                    case CategoricalFamily c: o["categories"] = c.Categories; break;
                    case NegativeBinomialFamily nb: o["dispersion"] = nb.Dispersion; break;
                }
                if (o["type"]!.GetValue<string>() == "declared")
                {
                    o["family"] = block.Family.Name;
                    o["dimension"] = block.Family.Dimension;
                    o["statistics"] = block.Family.StatisticCount;
                }
                o["prior"] = prior is null ? null : ConjugatePrior(block, prior);
                break;
        }
        return o;
    }

    private static JsonObject GaussianPrior(GaussianPrior p) => p.Form switch
    {
        GaussianPriorForm.NormalInverseWishart => new JsonObject
        {
            ["form"] = "normal-inverse-wishart",
            ["mean"] = Numbers(p.Mean),
            ["kappa"] = p.MeanPseudoCount,
            ["scale"] = Matrix(p.Scatter.ToArray()),
            ["degreesOfFreedom"] = p.DegreesOfFreedom,
        },
        GaussianPriorForm.NormalInverseGamma => new JsonObject
        {
            ["form"] = "normal-inverse-gamma",
            ["mean"] = Numbers(p.Mean),
            ["kappa"] = p.MeanPseudoCount,
            ["shape"] = p.Shape,
            ["scales"] = Numbers(p.Scales!),
        },
        _ => new JsonObject
        {
            ["form"] = "pseudo-observations",
            ["mean"] = Numbers(p.Mean),
            ["meanPseudoCount"] = p.MeanPseudoCount,
            ["scatter"] = Matrix(p.Scatter.ToArray()),
            ["covariancePseudoCount"] = p.CovariancePseudoCount,
        },
    };

    private static JsonObject ConjugatePrior(Block block, ConjugatePrior prior) => prior.Source switch
    {
        BetaPrior b => new JsonObject { ["type"] = "beta", ["alpha"] = b.Alpha, ["beta"] = b.Beta },
        GammaPrior g => new JsonObject { ["type"] = "gamma", ["shape"] = g.Shape, ["rate"] = g.Rate },
        DirichletPrior d => new JsonObject { ["type"] = "dirichlet", ["concentration"] = Numbers(d.Concentration) },
        _ when prior.Family is not null => new JsonObject
        {
            ["type"] = "natural-conjugate",
            ["pseudoObservations"] = Numbers(prior.PseudoObservations),
            ["pseudoCount"] = prior.PseudoCount,
            ["description"] = prior.Description,
        },
        _ => throw new NotSupportedException(
            $"Block '{block.Name}': its prior ({prior.Description}) was made with a custom log density, which a model file cannot hold. " +
            "Make it with the family's Conjugate or WeakPrior (a natural conjugate kernel) to save the model."),
    };

    // ---- parameters ----

    private static JsonObject BlockParameters(BlockRuntime runtime, BlockState state)
    {
        var o = new JsonObject { ["name"] = runtime.Name };
        var usual = state.Usual.Cast<object>().ToArray();
        o["parameters"] = new JsonArray(usual.Select(u => (JsonNode?)Usual(u)).ToArray());
        var block = runtime.Block;
        if (block is GaussianBlock or FactorBlock) return o;
        int width = state.Natural.Length / runtime.Components;
        o["natural"] = new JsonArray(Enumerable.Range(0, runtime.Components)
            .Select(k => (JsonNode)Numbers(state.Natural.AsSpan(k * width, width).ToArray())).ToArray());
        if (ModelFile.Regression(block) is not null) o["frame"] = Frame(ModelFile.FrameOf(runtime));
        return o;
    }

    /// <summary>A usual parameter record in familiar terms (null for a custom family's record, rebuilt from η on load).</summary>
    private static JsonObject? Usual(object p) => p switch
    {
        GaussianParameters g => new JsonObject { ["mean"] = Numbers(g.Mean), ["covariance"] = Matrix(g.Covariance.ToArray()) },
        FactorParameters f => new JsonObject
        {
            ["mean"] = Numbers(f.Mean),
            ["loadings"] = Matrix(f.Loadings.ToArray()),
            ["noiseVariances"] = Numbers(f.NoiseVariances),
        },
        BernoulliParameters b => new JsonObject { ["probabilities"] = Numbers(b.Probabilities) },
        CategoricalParameters c => new JsonObject { ["probabilities"] = Numbers(c.Probabilities) },
        PoissonParameters q => new JsonObject { ["rates"] = Numbers(q.Rates) },
        ExponentialParameters e => new JsonObject { ["rates"] = Numbers(e.Rates) },
        GammaParameters g => new JsonObject { ["shapes"] = Numbers(g.Shapes), ["rates"] = Numbers(g.Rates) },
        BetaParameters b => new JsonObject { ["alphas"] = Numbers(b.Alphas), ["betas"] = Numbers(b.Betas) },
        DirichletParameters d => new JsonObject { ["concentrations"] = Numbers(d.Concentrations) },
        VonMisesParameters v => new JsonObject { ["meanDirections"] = Numbers(v.MeanDirections), ["concentrations"] = Numbers(v.Concentrations) },
        NegativeBinomialParameters n => new JsonObject { ["means"] = Numbers(n.Means) },
        NaturalParameters n => new JsonObject { ["natural"] = Numbers(n.Natural), ["mean"] = Numbers(n.Mean) },
        LinearRegressionParameters l => new JsonObject
        {
            ["intercept"] = l.Coefficients.Intercept,
            ["slopes"] = Numbers(l.Coefficients.Slopes),
            ["variance"] = l.Variance,
        },
        RegressionParameters r => new JsonObject { ["intercept"] = r.Intercept, ["slopes"] = Numbers(r.Slopes) },
        _ => null,
    };

    private static JsonObject Frame(CovariateFrame frame) => new()
    {
        ["means"] = Numbers(frame.Means),
        ["scales"] = Numbers(frame.Scales),
    };

    private static JsonObject Diagnostics(FitDiagnostics d) => new()
    {
        ["backend"] = d.Backend,
        ["bestRestart"] = d.BestRestart,
        ["restartObjectives"] = new JsonArray(d.RestartObjectives.Select(Number).ToArray()),
        ["emptyComponents"] = Ints(d.EmptyComponents),
        ["stalledParameters"] = new JsonArray(d.StalledParameters.Select(s => (JsonNode)JsonValue.Create(s)).ToArray()),
        ["flooredEstimates"] = d.FlooredEstimates,
        ["invalidCandidates"] = d.InvalidCandidates,
        ["eventsTruncated"] = d.EventsTruncated,
        ["events"] = new JsonArray(d.Events.Select(e => (JsonNode)new JsonObject
        {
            ["kind"] = e.Kind.ToString(),
            ["restart"] = e.Restart,
            ["iteration"] = e.Iteration,
            ["block"] = e.Block,
            ["component"] = e.Component,
            ["message"] = e.Message,
        }).ToArray()),
    };

    // ---- numbers ----

    /// <summary>A double as a JSON number (shortest round-trip form), or, when not finite, the string "NaN", "Infinity" or "-Infinity".</summary>
    private static JsonNode Number(double d) =>
        double.IsFinite(d) ? JsonValue.Create(d) : JsonValue.Create(double.IsNaN(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity");

    private static JsonArray Numbers(IEnumerable<double> values) => new(values.Select(v =>
        double.IsFinite(v) ? (JsonNode)JsonValue.Create(v) : throw new InvalidOperationException($"A parameter is {v}; a model file holds finite parameters only.")).ToArray());

    private static JsonArray Ints(IEnumerable<int> values) => new(values.Select(v => (JsonNode)JsonValue.Create(v)).ToArray());

    private static JsonArray Matrix(double[,] m) =>
        new(Enumerable.Range(0, m.GetLength(0)).Select(i => (JsonNode)Numbers(Enumerable.Range(0, m.GetLength(1)).Select(j => m[i, j]))).ToArray());
}
