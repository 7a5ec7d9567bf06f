using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Families.Priors;
using EmDsl.Inference;

namespace EmDsl.Persistence;

/// <summary>
/// Reads a model file (see <see cref="ModelFile"/>): parses it, rebuilds the declaration through the public
/// factories (which validate it), then every block's and the latent structure's parameters, checking each, and
/// only then creates the fit. Every failure is a <see cref="ModelFileException"/> with the field's JSON path.
/// </summary>
internal static class ModelFileReader
{
    /// <summary>Two saved forms of one parameter must agree to this relative tolerance.</summary>
    private const double Agreement = 1e-6;

    public static ModelFit Read(string text, string? file, ExponentialFamily[]? families)
    {
        JsonNode? node;
        try { node = JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { MaxDepth = 64, AllowDuplicateProperties = false }); }
        catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException)
        {
            throw new ModelFileException(file, "$", $"not valid JSON (truncated or corrupted?): {e.Message}", e);
        }
        var root = new JsonCursor(file, node, "$");
        var format = root["format"];
        if (format.Node is not JsonValue fv || fv.GetValueKind() != JsonValueKind.String || fv.GetValue<string>() != ModelFile.FormatTag)
            throw format.Error($"not an EmDsl model file (expected \"format\": \"{ModelFile.FormatTag}\")");
        int version = root["version"].Int(min: 1);
        if (version > ModelFile.Version)
            throw root["version"].Error($"written by a newer EmDsl: version {version}, this reads up to {ModelFile.Version}");
        var kind = root["kind"].Choice("mixture", "hidden-markov");
        var model = root["model"];
        var fit = root["fit"];
        var known = families ?? [];
        return kind == "mixture" ? ReadMixture(model, fit, known) : ReadHiddenMarkov(model, fit, known);
    }

    // ---- mixtures ----

    private static MixtureFit ReadMixture(JsonCursor model, JsonCursor fit, ExponentialFamily[] families)
    {
        int k = model["components"].Int(1, 1 << 20);
        fit["weights"].Items(k, "weights (one per component)"); // K is checked against the data before anything K-sized is made
        var blocks = ReadBlocks(model["blocks"], k, families);
        var builder = Mixture.WithComponents(k);
        builder = model["blocks"].Check(() => builder.Observe(blocks));
        if (model.Optional("weightPrior") is { } wp)
        {
            var alpha = wp.Numbers(k, "concentrations");
            builder = wp.Check(() => builder.WithWeightPrior(new DirichletPrior(alpha)));
        }
        if (model.Optional("gating") is { } g)
        {
            var covariates = g["covariates"].Ints(min: 0);
            var precision = g.Optional("prior")?.Number();
            builder = g.Check(() => builder.GatedBy(covariates, precision is { } p ? new CoefficientPrior(p) : null));
        }
        var built = model.Check(builder.Build);

        LatentRuntime latent;
        LatentState latentState;
        var weights = Distribution(fit["weights"], k, "weights");
        if (built.Gating is { } gating)
        {
            var gs = fit["gating"];
            var frame = Frame(gs["frame"], gating.Covariates, intercept: true);
            var runtime = new GatedLabelRuntime(gating, k, frame);
            int p = frame.Size;
            var rows = gs["coefficients"].Items(p, "rows (intercept and one per covariate)");
            var v = new double[p * k];
            for (int i = 0; i < p; i++)
            {
                var row = rows[i].Numbers(k, "coefficients (one per component)");
                if (row[0] != 0) throw rows[i].Error("component 0 is the reference; its coefficients must be 0");
                row.CopyTo(v, i * k);
            }
            latent = runtime;
            latentState = new GatingState(v, weights);
        }
        else
        {
            latent = new MixtureLabelRuntime(k, built.WeightPrior);
            latentState = new WeightsState(weights);
        }
        var (runtimes, states) = ReadBlockStates(fit["blocks"], built.Blocks, k);
        var compiled = CompiledModel.Restore(built, latent, runtimes);
        return new MixtureFit(compiled, Result(fit, new ModelState(latentState, states), k));
    }

    // ---- hidden Markov models ----

    private static HiddenMarkovFit ReadHiddenMarkov(JsonCursor model, JsonCursor fit, ExponentialFamily[] families)
    {
        int k = model["states"].Int(1, 1 << 16);
        fit["initial"].Items(k, "initial probabilities (one per state)"); // K is checked against the data before anything K × K is made
        var blocks = ReadBlocks(model["blocks"], k, families);
        var builder = HiddenMarkov.WithStates(k);
        builder = model["blocks"].Check(() => builder.Observe(blocks));
        var s = model["structure"];
        var structure = s["type"].Choice("full", "left-to-right", "mask") switch
        {
            "full" => TransitionStructure.Full,
            "left-to-right" => s.Check(() => TransitionStructure.LeftToRight(s["maxJump"].Int(1))),
            _ => s.Check(() => TransitionStructure.FromMask(BoolMatrix(s["allowed"], k), s.Optional("initialStates")?.Items(k, "flags").Select(c => c.Bool()).ToArray())),
        };
        builder = s.Check(() => builder.WithTransitions(structure));
        if (model["tiedTransitions"].Bool()) builder = builder.TieTransitions();
        if (model.Optional("fixedTransitions") is { } f)
        {
            var m = f.Matrix(k, k);
            builder = f.Check(() => builder.FixTransitions(m));
        }
        if (model.Optional("transitionPrior") is { } tp)
        {
            var m = tp.Matrix(k, k);
            builder = tp.Check(() => builder.WithTransitionPrior(m));
        }
        if (model.Optional("initialPrior") is { } ip)
        {
            var a = ip.Numbers(k, "concentrations");
            builder = ip.Check(() => builder.WithInitialPrior(a));
        }
        var built = model.Check(builder.Build);

        var runtime = new MarkovChainRuntime(built);
        var initial = Distribution(fit["initial"], k, "initial probabilities");
        var t = fit["transitions"];
        var transitions = t.Matrix(k, k);
        for (int i = 0; i < k; i++) Distribution(t.Items()[i], k, "transition probabilities");
        // The chain's own checks: starts and moves the structure forbids, a fixed or tied matrix.
        t.Check(() => runtime.FromParameters(initial, built.FixedInternal is null ? transitions : null));
        if (built.FixedInternal is { } fixedMatrix)
            for (int i = 0; i < k; i++)
                for (int j = 0; j < k; j++)
                    if (BitConverter.DoubleToInt64Bits(fixedMatrix[i, j]) != BitConverter.DoubleToInt64Bits(transitions[i, j]))
                        throw t.Items()[i].Items()[j].Error($"the model's transitions are fixed at {JsonCursor.Show(fixedMatrix[i, j])} here, but the fit has {JsonCursor.Show(transitions[i, j])}");
        if (built.TiedTransitions)
            for (int i = 0; i < k; i++)
                for (int j = 0; j < k; j++)
                    if (Math.Abs(transitions[i, j] - initial[j]) > Agreement)
                        throw t.Items()[i].Items()[j].Error("the transitions are tied, so every row must equal the initial distribution");
        var flat = new double[k * k];
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++) flat[i * k + j] = transitions[i, j];
        var (runtimes, states) = ReadBlockStates(fit["blocks"], built.Blocks, k);
        var compiled = CompiledModel.Restore(built, runtime, runtimes);
        return new HiddenMarkovFit(compiled, Result(fit, new ModelState(new MarkovState(initial, flat), states), k));
    }

    private static bool[,] BoolMatrix(JsonCursor c, int k)
    {
        var rows = c.Items(k, "rows");
        var m = new bool[k, k];
        for (int i = 0; i < k; i++)
        {
            var row = rows[i].Items(k, "flags");
            for (int j = 0; j < k; j++) m[i, j] = row[j].Bool();
        }
        return m;
    }

    // ---- the fit's record ----

    private static EngineResult Result(JsonCursor fit, ModelState state, int k)
    {
        double logLikelihood = fit["logLikelihood"].Number();
        double logPrior = fit["logPrior"].AnyNumber();
        if (double.IsNaN(logPrior) || logPrior == double.PositiveInfinity) throw fit["logPrior"].Error("the log prior must be a number below +∞");
        double totalWeight = fit["totalWeight"].Positive();
        int iterations = fit["iterations"].Int(min: 0);
        var status = Enum<FitStatus>(fit["status"]);
        var traceItems = fit["objectiveTrace"].Items();
        if (traceItems.Length == 0) throw fit["objectiveTrace"].Error("the objective trace is empty; it has at least the initial objective");
        var trace = traceItems.Select(c => c.AnyNumber()).ToArray();
        var freeEnergy = fit["freeEnergyTrace"].Items().Select(p =>
            new FreeEnergyPoint(p["iteration"].Int(min: 0), Enum<HalfStep>(p["after"]), p["value"].AnyNumber())).ToArray();
        var d = fit["diagnostics"];
        var events = d["events"].Items().Select(e => new FitEvent(
            Enum<FitEventKind>(e["kind"]), e["restart"].Int(min: 0), e["iteration"].Int(min: 0),
            e.Optional("block")?.String(), e.Optional("component")?.Int(0, k - 1), e["message"].String())).ToArray();
        var diagnostics = new FitDiagnostics(events, d["eventsTruncated"].Bool(),
            d["restartObjectives"].Items().Select(c => c.AnyNumber()).ToArray(), d["bestRestart"].Int(min: 0), d["backend"].String(),
            d["emptyComponents"].Ints(min: 0, max: k - 1), d["stalledParameters"].Items().Select(c => c.String()).ToArray(),
            d["flooredEstimates"].Int(min: 0), d["invalidCandidates"].Int(min: 0));
        return new EngineResult(state, trace, freeEnergy, iterations, status, logLikelihood, logPrior, totalWeight, diagnostics);
    }

    private static T Enum<T>(JsonCursor c) where T : struct, Enum
    {
        var s = c.String();
        if (System.Enum.TryParse<T>(s, ignoreCase: false, out var v) && System.Enum.IsDefined(v) && !char.IsDigit(s[0]) && s[0] != '-') return v;
        throw c.Error($"\"{s}\" is not one of {string.Join(", ", System.Enum.GetNames<T>())}");
    }

    /// <summary>K probabilities: finite, ≥ 0, summing to 1 (within 1e-9).</summary>
    private static double[] Distribution(JsonCursor c, int k, string what)
    {
        var p = c.Numbers(k, what);
        for (int i = 0; i < k; i++)
            if (p[i] < 0) throw c.Items()[i].Error($"a probability of {JsonCursor.Show(p[i])}; probabilities must be ≥ 0");
        double sum = p.Sum();
        if (Math.Abs(sum - 1) > 1e-9) throw c.Error($"the {what} sum to {JsonCursor.Show(sum)}, not 1");
        return p;
    }

    private static CovariateFrame Frame(JsonCursor c, IReadOnlyList<int> covariates, bool intercept)
    {
        var means = c["means"].Numbers(covariates.Count, "means (one per covariate)");
        var scales = c["scales"].Numbers(covariates.Count, "scales (one per covariate)");
        return c.Check(() => CovariateFrame.Restore(covariates, intercept, means, scales));
    }

    // ---- declarations ----

    private static Block[] ReadBlocks(JsonCursor c, int k, ExponentialFamily[] families)
    {
        var items = c.Items();
        if (items.Length == 0) throw c.Error("a model observes at least one block");
        return items.Select(b => ReadBlock(b, families)).ToArray();
    }

    private static Block ReadBlock(JsonCursor b, ExponentialFamily[] families)
    {
        var name = b["name"].String();
        var type = b["type"].Choice("gaussian", "bernoulli", "categorical", "poisson", "exponential", "gamma", "beta", "dirichlet", "von-mises",
            "negative-binomial", "factor", "linear-regression", "logistic-regression", "poisson-regression", "declared");
        var sharing = b["sharing"].Choice("per-component", "shared") == "shared" ? Sharing.Shared : Sharing.PerComponent;
        if (type.EndsWith("-regression", StringComparison.Ordinal))
        {
            int response = b["response"].Int(min: 0);
            var covariates = b["covariates"].Ints(min: 0);
            bool intercept = b["intercept"].Bool();
            var precision = b.Optional("prior")?.Number();
            var prior = precision is { } p ? b["prior"].Check(() => new CoefficientPrior(p)) : null;
            return b.Check<Block>(() => type switch
            {
                "linear-regression" => Blocks.LinearRegression(name, response, covariates, intercept, prior, sharing),
                "logistic-regression" => Blocks.LogisticRegression(name, response, covariates, intercept, prior, sharing),
                _ => Blocks.PoissonRegression(name, response, covariates, intercept, prior, sharing),
            });
        }
        var columns = b["columns"].Ints(min: 0);
        var pc = b.Optional("prior");
        switch (type)
        {
            case "gaussian":
            {
                var covariance = b["covariance"].Choice("full", "tied", "diagonal", "spherical") switch
                {
                    "full" => CovarianceType.Full,
                    "tied" => CovarianceType.Tied,
                    "diagonal" => CovarianceType.Diagonal,
                    _ => CovarianceType.Spherical,
                };
                var prior = pc is null ? null : GaussianPriorOf(pc, columns.Length);
                return b.Check(() => Blocks.Gaussian(name, columns, covariance, prior, sharing));
            }
            case "factor":
            {
                int factors = b["factors"].Int(min: 0);
                var noise = b["noise"].Choice("diagonal", "isotropic") == "isotropic" ? NoiseModel.Isotropic : NoiseModel.Diagonal;
                bool sharedNoise = b["sharedNoise"].Bool();
                double floor = b["noiseFloor"].Number();
                int iterations = b["mStepIterations"].Int(min: 1);
                var prior = pc is null ? null : pc.Check(() => new FactorPrior(pc["noiseShape"].Number(), pc["noiseScale"].Number(), pc.Optional("loadingsPrecision")?.Number()));
                return b.Check(() => Blocks.Factor(name, columns, factors, noise, sharedNoise, prior, sharing, floor, iterations));
            }
            case "bernoulli":
                return b.Check(() => Blocks.Bernoulli(name, columns, pc is null ? null : Beta(pc), sharing));
            case "negative-binomial":
            {
                double dispersion = b["dispersion"].Positive();
                return b.Check(() => Blocks.NegativeBinomial(name, columns, dispersion, pc is null ? null : Beta(pc), sharing));
            }
            case "poisson":
                return b.Check(() => Blocks.Poisson(name, columns, pc is null ? null : Gamma(pc), sharing));
            case "exponential":
                return b.Check(() => Blocks.Exponential(name, columns, pc is null ? null : Gamma(pc), sharing));
            case "categorical":
            {
                int categories = b["categories"].Int(min: 2);
                DirichletPrior? prior = null;
                if (pc is not null)
                {
                    PriorType(pc, "dirichlet");
                    var alpha = pc["concentration"].Numbers(categories, "concentrations");
                    prior = pc.Check(() => new DirichletPrior(alpha));
                }
                return b.Check(() => Blocks.Categorical(name, columns, categories, prior, sharing));
            }
            case "gamma":
                return b.Check(() => Blocks.Gamma(name, columns, pc is null ? null : Natural(pc, new GammaFamily(columns.Length)), sharing));
            case "beta":
                return b.Check(() => Blocks.Beta(name, columns, pc is null ? null : Natural(pc, new BetaFamily(columns.Length)), sharing));
            case "dirichlet":
                return b.Check(() => Blocks.Dirichlet(name, columns, pc is null ? null : Natural(pc, new DirichletFamily(columns.Length)), sharing));
            case "von-mises":
                return b.Check(() => Blocks.VonMises(name, columns, pc is null ? null : Natural(pc, new VonMisesFamily(columns.Length)), sharing));
            default:
            {
                var familyName = b["family"].String();
                int dimension = b["dimension"].Int(min: 1);
                int statistics = b["statistics"].Int(min: 1);
                var family = families.FirstOrDefault(f => f.Name == familyName)
                    ?? throw b["family"].Error(families.Length == 0
                        ? $"block '{name}' uses the declared family '{familyName}'; pass that family to ModelFile.Load"
                        : $"block '{name}' uses the declared family '{familyName}', which is not among the families given ({string.Join(", ", families.Select(f => $"'{f.Name}'"))})");
                if (family.Dimension != dimension)
                    throw b["dimension"].Error($"the file's family '{familyName}' reads {dimension} columns, but the family given reads {family.Dimension}: not the same declaration");
                if (family.StatisticCount != statistics)
                    throw b["statistics"].Error($"the file's family '{familyName}' has {statistics} statistics, but the family given has {family.StatisticCount}: not the same declaration");
                var prior = pc is null ? null : Natural(pc, family);
                var parameters = FamilyParameters(family)
                    ?? throw b["family"].Error($"the family '{familyName}' given is not an ExponentialFamily<TParameters>");
                return b.Check(() => (Block)typeof(ModelFileReader).GetMethod(nameof(FromFamily), BindingFlags.NonPublic | BindingFlags.Static)!
                    .MakeGenericMethod(parameters).Invoke(null, [name, columns, family, prior, sharing])!);
            }
        }
    }

    private static Block FromFamily<TParameters>(string name, int[] columns, ExponentialFamily family, ConjugatePrior? prior, Sharing sharing)
    {
        try { return Blocks.FromFamily(name, columns, (ExponentialFamily<TParameters>)family, prior, sharing); }
        catch (TargetInvocationException e) when (e.InnerException is not null) { throw e.InnerException; }
    }

    private static Type? FamilyParameters(ExponentialFamily family)
    {
        for (var t = family.GetType(); t is not null; t = t.BaseType)
            if (t.IsGenericType && t.GetGenericTypeDefinition() == typeof(ExponentialFamily<>)) return t.GetGenericArguments()[0];
        return null;
    }

    private static void PriorType(JsonCursor pc, string expected)
    {
        var t = pc["type"].String();
        if (t != expected) throw pc["type"].Error($"this block's prior is a \"{expected}\" prior, not \"{t}\"");
    }

    private static BetaPrior Beta(JsonCursor pc)
    {
        PriorType(pc, "beta");
        return new BetaPrior(pc["alpha"].Number(), pc["beta"].Number());
    }

    private static GammaPrior Gamma(JsonCursor pc)
    {
        PriorType(pc, "gamma");
        return new GammaPrior(pc["shape"].Number(), pc["rate"].Number());
    }

    private static ConjugatePrior Natural(JsonCursor pc, ExponentialFamily family)
    {
        PriorType(pc, "natural-conjugate");
        var phi = pc["pseudoObservations"].Numbers(family.StatisticCount, "pseudo-observations (one per statistic)");
        double nu = pc["pseudoCount"].Positive();
        var description = pc["description"].String();
        return pc.Check(() => ConjugatePrior.NaturalKernel(family, phi, nu, description));
    }

    private static GaussianPrior GaussianPriorOf(JsonCursor pc, int d)
    {
        var form = pc["form"].Choice("normal-inverse-wishart", "normal-inverse-gamma", "pseudo-observations");
        var mean = pc["mean"].Numbers(d, "entries (one per column)");
        return form switch
        {
            "normal-inverse-wishart" => pc.Check(() => GaussianPrior.NormalInverseWishart(mean, pc["kappa"].Number(), new ReadOnlyMatrix(pc["scale"].Matrix(d, d)), pc["degreesOfFreedom"].Number())),
            "normal-inverse-gamma" => pc.Check(() => GaussianPrior.NormalInverseGamma(mean, pc["kappa"].Number(), pc["shape"].Number(), pc["scales"].Numbers(d, "scales"))),
            _ => pc.Check(() => new GaussianPrior(mean, pc["meanPseudoCount"].Number(), new ReadOnlyMatrix(pc["scatter"].Matrix(d, d)), pc["covariancePseudoCount"].Number())),
        };
    }

    // ---- parameters ----

    private static (BlockRuntime[] Runtimes, BlockState[] States) ReadBlockStates(JsonCursor c, IReadOnlyList<Block> blocks, int k)
    {
        var items = c.Items(blocks.Count, "blocks (one per block of the model)");
        var stand = StandIn(blocks);
        var runtimes = new BlockRuntime[blocks.Count];
        var states = new BlockState[blocks.Count];
        for (int b = 0; b < blocks.Count; b++)
        {
            var item = items[b];
            var name = item["name"].String();
            if (name != blocks[b].Name) throw item["name"].Error($"the fit's block {b} is '{name}', but the model's is '{blocks[b].Name}'");
            (runtimes[b], states[b]) = ReadBlockState(item, blocks[b], k, stand);
        }
        return (runtimes, states);
    }

    /// <summary>
    /// Rows for the runtimes that take a frame from data (Gaussian and factor blocks; their data frame only matters
    /// before a first M-step, which a loaded model never takes): every column varies, and there are more rows than
    /// columns.
    /// </summary>
    private static DataMatrix StandIn(IReadOnlyList<Block> blocks)
    {
        int columns = blocks.SelectMany(b => b.Columns.Concat(b.Covariates)).Max() + 1;
        int rows = columns + 2;
        var values = new double[rows * columns];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < columns; j++) values[i * columns + j] = ((i * 7 + j * 3) % rows) + 1;
        return DataMatrix.Wrap(values, rows, columns);
    }

    private static (BlockRuntime, BlockState) ReadBlockState(JsonCursor item, Block block, int k, DataMatrix stand)
    {
        var parameters = item["parameters"].Items(k, "parameter records (one per component)");
        switch (block)
        {
            case GaussianBlock g:
            {
                int d = g.Columns.Count;
                var runtime = block.CreateRuntime(stand, ReadOnlySpan<double>.Empty, k);
                var usual = parameters.Select(p => p.Check(() => new GaussianParameters(p["mean"].Numbers(d, "entries"), new ReadOnlyMatrix(p["covariance"].Matrix(d, d))))).ToArray();
                return (runtime, item["parameters"].Check(() => runtime.FromParameters(usual)));
            }
            case FactorBlock f:
            {
                int d = f.Columns.Count;
                var runtime = block.CreateRuntime(stand, ReadOnlySpan<double>.Empty, k);
                var usual = parameters.Select(p => p.Check(() => new FactorParameters(p["mean"].Numbers(d, "entries"), p["loadings"].Matrix(d, f.Factors), p["noiseVariances"].Numbers(d, "entries")))).ToArray();
                return (runtime, item["parameters"].Check(() => runtime.FromParameters(usual)));
            }
            case RegressionBlock<LinearRegressionParameters> l:
                return Regression(item, l, k, parameters);
            case RegressionBlock<RegressionParameters> r:
                return Regression(item, r, k, parameters);
        }
        var type = block.GetType();
        var method = typeof(ModelFileReader).GetMethod(nameof(Conjugate), BindingFlags.NonPublic | BindingFlags.Static)!
            .MakeGenericMethod(type.GetGenericArguments()[0]);
        try { return ((BlockRuntime, BlockState))method.Invoke(null, [item, block, k, parameters])!; }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw;
        }
    }

    private static (BlockRuntime, BlockState) Conjugate<TParameters>(JsonCursor item, ConjugateBlock<TParameters> block, int k, JsonCursor[] parameters)
    {
        var family = block.Family;
        int s = family.StatisticCount;
        var runtime = new ConjugateRuntime<TParameters>(block, k);
        var rows = item["natural"].Items(k, "natural parameter vectors (one per component)");
        var natural = new double[k * s];
        var usual = new TParameters[k];
        var logNormalizer = new double[k];
        for (int j = 0; j < k; j++)
        {
            var eta = rows[j].Numbers(s, "natural parameters (one per statistic)");
            if (!family.IsNaturalParameter(eta)) throw rows[j].Error($"not a natural parameter of the {family.Name} family (outside its domain)");
            eta.CopyTo(natural, j * s);
            logNormalizer[j] = family.LogNormalizer(eta);
            if (!double.IsFinite(logNormalizer[j])) throw rows[j].Error($"the log-normalizer is {logNormalizer[j]} here");
            var p = parameters[j];
            TParameters record;
            if (p.Node is null && family is not DeclaredFamily && Usual(p, family) is null) record = family.FromNatural(eta);
            else
            {
                record = (TParameters)(Usual(p, family) ?? throw p.Error($"expected the {family.Name} family's parameters"));
                var again = p.Check(() => family.ToNatural(record));
                for (int i = 0; i < s; i++)
                    if (!Agrees(again[i], eta[i]))
                        throw p.Error($"these parameters do not match the natural parameters at {rows[j].Path} (entry {i}: {JsonCursor.Show(again[i])} against {JsonCursor.Show(eta[i])})");
            }
            usual[j] = record;
        }
        SharedCheck(item, block, natural, s, k);
        return (runtime, new BlockState(natural, logNormalizer, usual));
    }

    private static (BlockRuntime, BlockState) Regression<TParameters>(JsonCursor item, RegressionBlock<TParameters> block, int k, JsonCursor[] parameters)
    {
        var frame = Frame(item["frame"], block.Covariates, block.Intercept);
        var runtime = new RegressionRuntime<TParameters>(block, k, frame);
        int w = runtime.Width;
        var rows = item["natural"].Items(k, "coefficient vectors (one per component)");
        var natural = new double[k * w];
        var usual = new TParameters[k];
        bool linear = block.Kind == RegressionKind.Linear;
        for (int j = 0; j < k; j++)
        {
            var row = rows[j].Numbers(w, linear ? "values (coefficients, then the variance)" : "coefficients");
            if (linear && !(row[w - 1] > 0)) throw rows[j].Error($"the variance {JsonCursor.Show(row[w - 1])} must be > 0");
            row.CopyTo(natural, j * w);
            var p = parameters[j];
            double intercept = p["intercept"].Number();
            var slopes = p["slopes"].Numbers(block.Covariates.Count, "slopes (one per covariate)");
            object record = linear
                ? p.Check(() => new LinearRegressionParameters(intercept, slopes, p["variance"].Positive()))
                : p.Check(() => new RegressionParameters(intercept, slopes));
            var made = runtime.UsualOf(row);
            var (a, b) = (Flatten(record), Flatten(made!));
            for (int i = 0; i < a.Length; i++)
                if (!Agrees(a[i], b[i]))
                    throw p.Error($"these coefficients do not match the frame coefficients at {rows[j].Path} (entry {i}: {JsonCursor.Show(a[i])} against {JsonCursor.Show(b[i])})");
            usual[j] = (TParameters)record;
        }
        SharedCheck(item, block, natural, w, k);
        return (runtime, new BlockState(natural, new double[k], usual));
    }

    private static double[] Flatten(object record) => record switch
    {
        LinearRegressionParameters l => [l.Coefficients.Intercept, .. l.Coefficients.Slopes, l.Variance],
        RegressionParameters r => [r.Intercept, .. r.Slopes],
        _ => [],
    };

    private static void SharedCheck(JsonCursor item, Block block, double[] natural, int width, int k)
    {
        if (block.Sharing != Sharing.Shared) return;
        for (int j = 1; j < k; j++)
            if (!natural.AsSpan(j * width, width).SequenceEqual(natural.AsSpan(0, width)))
                throw item["natural"].Items()[j].Error($"block '{block.Name}' is shared, but component {j}'s parameters differ from component 0's");
    }

    private static bool Agrees(double a, double b) => Math.Abs(a - b) <= Agreement * Math.Max(1, Math.Max(Math.Abs(a), Math.Abs(b)));

    /// <summary>A usual parameter record of a built-in family (or a declared family's <see cref="NaturalParameters"/>); null for another family.</summary>
    private static object? Usual(JsonCursor p, ExponentialFamily family)
    {
        int d = family.Dimension;
        return family switch
        {
            BernoulliFamily => p.Check(() => new BernoulliParameters(p["probabilities"].Numbers(d, "probabilities"))),
            CategoricalFamily c => p.Check(() => new CategoricalParameters(p["probabilities"].Numbers(c.Categories, "probabilities (one per category)"))),
            PoissonFamily => p.Check(() => new PoissonParameters(p["rates"].Numbers(d, "rates"))),
            ExponentialDistributionFamily => p.Check(() => new ExponentialParameters(p["rates"].Numbers(d, "rates"))),
            GammaFamily => p.Check(() => new GammaParameters(p["shapes"].Numbers(d, "shapes"), p["rates"].Numbers(d, "rates"))),
            BetaFamily => p.Check(() => new BetaParameters(p["alphas"].Numbers(d, "alphas"), p["betas"].Numbers(d, "betas"))),
            DirichletFamily => p.Check(() => new DirichletParameters(p["concentrations"].Numbers(d, "concentrations"))),
            VonMisesFamily => p.Check(() => new VonMisesParameters(p["meanDirections"].Numbers(d, "directions"), p["concentrations"].Numbers(d, "concentrations"))),
            NegativeBinomialFamily => p.Check(() => new NegativeBinomialParameters(p["means"].Numbers(d, "means"))),
            DeclaredFamily => p.Check(() => new NaturalParameters(p["natural"].Numbers(family.StatisticCount, "natural parameters"), p["mean"].Numbers(family.StatisticCount, "mean parameters"))),
            _ => null,
        };
    }
}
