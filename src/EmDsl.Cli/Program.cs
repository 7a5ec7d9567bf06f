using System.CommandLine;
using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Inference;
using EmDsl.Persistence;
using EmDsl.Plotting;
using Spectre.Console;

namespace EmDsl.Cli;

/// <summary>
/// <c>emdsl</c>: fit EM latent-variable models to CSV files. Every failure is one line on standard error and a non-zero
/// exit code (1: the data or the fit; 2: the command line), never a stack trace.
/// </summary>
public static class Program
{
    /// <summary>Runs the tool.</summary>
    public static int Main(string[] args)
    {
        var root = new RootCommand("emdsl — fit latent-variable models by Expectation–Maximization (EmDsl).");
        root.Subcommands.Add(FitCommand());
        root.Subcommands.Add(SelectCommand());
        root.Subcommands.Add(PredictCommand());
        root.Subcommands.Add(SampleCommand());
        try
        {
            return root.Parse(args).Invoke();
        }
        catch (Exception e)
        {
            return Fail(e);
        }
    }

    /// <summary>One line on standard error; 2 for a usage mistake, 1 otherwise.</summary>
    internal static int Fail(Exception e)
    {
        while (e is AggregateException { InnerExceptions.Count: 1 } a) e = a.InnerExceptions[0];
        Console.Error.WriteLine($"emdsl: error: {e.Message.ReplaceLineEndings(" ")}");
        return e is UsageException ? 2 : 1;
    }

    // ---------------------------------------------------------------- shared options

    private sealed class DataOptions
    {
        public readonly Argument<FileInfo> File = new("data") { Description = "A CSV file of numbers (a header line names the columns)." };
        public readonly Option<bool> NoHeader = new("--no-header") { Description = "The file has no header line; columns are referred to by 1-based position." };
        public readonly Option<string> Separator = new("--separator") { Description = "The cell separator (default ','; use ';' or 'tab').", DefaultValueFactory = _ => "," };
        public readonly Option<string?> Model = new("--model", "-m") { Description = "Family of one block over --columns: gaussian (default), poisson, bernoulli, categorical (one block per column)." };
        public readonly Option<string?> Columns = new("--columns", "-c") { Description = "Comma-separated column names (or 1-based positions) for --model; default every column." };
        public readonly Option<string[]> Blocks = new("--block", "-b") { Description = "A block [name=]family[/covariance]:col,col (repeat for mixed models), e.g. gaussian/diagonal:eruptions,waiting.", AllowMultipleArgumentsPerToken = false };
        public readonly Option<string> Covariance = new("--covariance") { Description = "Gaussian covariance: full (default), tied, diagonal, spherical.", DefaultValueFactory = _ => "full" };
        public readonly Option<bool> Hmm = new("--hmm") { Description = "A hidden Markov model over the rows in file order (one sequence) instead of a mixture." };
        public readonly Option<int> Seed = new("--seed") { Description = "Random seed (results are identical for a seed).", DefaultValueFactory = _ => 0 };
        public readonly Option<int> Restarts = new("--restarts") { Description = "EM runs from different starts; the best is kept.", DefaultValueFactory = _ => 3 };
        public readonly Option<int> MaxIterations = new("--max-iterations") { Description = "Iteration limit per run.", DefaultValueFactory = _ => 500 };
        public readonly Option<double> Tolerance = new("--tolerance") { Description = "Stop when the objective changes by less than this (relative).", DefaultValueFactory = _ => 1e-6 };
        public readonly Option<FileInfo?> Plot = new("--plot") { Description = "Draw the result into this .png or .svg file." };
        public readonly Option<FileInfo?> Save = new("--save") { Description = "Save the fitted model (the best one for select) to this JSON file." };

        public void AddTo(Command c)
        {
            c.Arguments.Add(File);
            foreach (var o in new Option[] { NoHeader, Separator, Model, Columns, Blocks, Covariance, Hmm, Seed, Restarts, MaxIterations, Tolerance, Plot, Save }) c.Options.Add(o);
        }

        public DataMatrix Read(ParseResult r)
        {
            var file = r.GetValue(File)!;
            if (!file.Exists) throw new UsageException($"{file.FullName}: no such file");
            string sep = r.GetValue(Separator)!;
            char separator = sep is "tab" or "\\t" ? '\t' : sep.Length == 1 ? sep[0] : throw new UsageException($"--separator '{sep}' must be one character or 'tab'");
            return DataMatrix.ReadCsv(file.FullName, new CsvOptions { Header = r.GetValue(NoHeader) ? CsvHeader.Absent : CsvHeader.Present, Separator = separator });
        }

        public ModelSpec Spec(ParseResult r, DataMatrix data) =>
            ModelSpec.Parse(data, r.GetValue(Model), r.GetValue(Columns), r.GetValue(Blocks) ?? [], r.GetValue(Covariance)!, r.GetValue(Hmm));

        public FitOptions Options(ParseResult r)
        {
            int restarts = r.GetValue(Restarts), maxIterations = r.GetValue(MaxIterations);
            if (restarts < 1) throw new UsageException($"--restarts {restarts}: must be at least 1");
            if (maxIterations < 1) throw new UsageException($"--max-iterations {maxIterations}: must be at least 1");
            double tolerance = r.GetValue(Tolerance);
            if (!(tolerance >= 0) || double.IsInfinity(tolerance)) throw new UsageException($"--tolerance {tolerance}: must be finite and ≥ 0");
            return FitOptions.Default with { Seed = r.GetValue(Seed), Restarts = restarts, MaxIterations = maxIterations, Tolerance = tolerance };
        }
    }

    // ---------------------------------------------------------------- fit

    private static Command FitCommand()
    {
        var data = new DataOptions();
        var k = new Option<int>("--components", "-k") { Description = "Number of mixture components or hidden states.", DefaultValueFactory = _ => 2 };
        var command = new Command("fit", "Fit one model and print its summary.");
        data.AddTo(command);
        command.Options.Add(k);
        command.SetAction(r => Guard(() =>
        {
            if (r.GetValue(data.Plot) is { } early) Drawing.Check(early.FullName);
            var matrix = data.Read(r);
            var spec = data.Spec(r, matrix);
            int components = r.GetValue(k);
            if (components < 1) throw new UsageException($"--components {components}: must be at least 1");
            var fit = Fitting.Fit(spec, matrix, components, data.Options(r), null);
            Summary.Print(fit, matrix, r.GetValue(data.File)!.Name);
            if (r.GetValue(data.Plot) is { } plot) Drawing.Fit(fit, matrix, plot.FullName);
            if (r.GetValue(data.Save) is { } save) { fit.Save(save.FullName); Console.WriteLine($"saved: {save.FullName}"); }
            return 0;
        }));
        return command;
    }

    // ---------------------------------------------------------------- select

    private static Command SelectCommand()
    {
        var data = new DataOptions();
        var maxK = new Option<int>("--max-components", "-K") { Description = "Fit K = 1 … this many components (or states).", DefaultValueFactory = _ => 5 };
        var types = new Option<string>("--covariance-types") { Description = "Comma-separated covariance types to compare for Gaussian blocks, or 'all'.", DefaultValueFactory = _ => "all" };
        var command = new Command("select", "Fit K = 1 … n (and covariance types) and report the BIC table with the best model, like mclust.");
        data.AddTo(command);
        command.Options.Add(maxK);
        command.Options.Add(types);
        command.SetAction(r => Guard(() =>
        {
            if (r.GetValue(data.Plot) is { } early) Drawing.Check(early.FullName);
            var matrix = data.Read(r);
            var spec = data.Spec(r, matrix);
            int n = r.GetValue(maxK);
            if (n < 1) throw new UsageException($"--max-components {n}: must be at least 1");
            string typeText = r.GetValue(types)!;
            var covariances = !spec.HasGaussian ? [(CovarianceType?)null]
                : typeText.Trim().Equals("all", StringComparison.OrdinalIgnoreCase)
                    ? Enum.GetValues<CovarianceType>().Select(t => (CovarianceType?)t).ToArray()
                    : typeText.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                        .Select(t => (CovarianceType?)ModelSpec.ParseCovariance(t, "--covariance-types")).Distinct().ToArray();
            if (covariances.Length == 0) throw new UsageException("--covariance-types: none given");
            var options = data.Options(r);
            var rows = new List<Selection.Row>();
            foreach (var cov in covariances)
                for (int kk = 1; kk <= n; kk++)
                {
                    try
                    {
                        var fit = Fitting.Fit(spec, matrix, kk, options, cov);
                        rows.Add(new Selection.Row(kk, cov, fit, null));
                    }
                    catch (Exception e) when (e is ArgumentException or InvalidOperationException)
                    {
                        rows.Add(new Selection.Row(kk, cov, null, e.Message.ReplaceLineEndings(" ")));
                    }
                }
            Selection.Print(rows, matrix, r.GetValue(data.File)!.Name);
            if (r.GetValue(data.Plot) is { } plot) Drawing.Bic(rows, plot.FullName);
            if (r.GetValue(data.Save) is { } save && rows.Where(x => x.Fit is not null).MinBy(x => x.Fit!.BayesianInformationCriterion) is { } bestRow)
            {
                bestRow.Fit!.Save(save.FullName);
                Console.WriteLine($"saved: {save.FullName}");
            }
            return rows.Any(x => x.Fit is not null) ? 0 : 1;
        }));
        return command;
    }

    // ---------------------------------------------------------------- predict and sample

    private static ModelFit LoadModel(FileInfo file)
    {
        if (!file.Exists) throw new UsageException($"{file.FullName}: no such file");
        return ModelFile.Load(file.FullName);
    }

    private static TextWriter Output(FileInfo? file) => file is null ? Console.Out : new StreamWriter(file.FullName);

    private static Command PredictCommand()
    {
        var model = new Argument<FileInfo>("model") { Description = "A model saved by emdsl fit --save (or ModelFit.Save)." };
        var data = new DataOptions();
        var output = new Option<FileInfo?>("--output", "-o") { Description = "Write the CSV here instead of standard output." };
        var command = new Command("predict", "Label each row of a CSV with its most probable component (or decoded state) and the posterior probabilities.");
        command.Arguments.Add(model);
        command.Arguments.Add(data.File);
        command.Options.Add(data.NoHeader);
        command.Options.Add(data.Separator);
        command.Options.Add(output);
        command.SetAction(r => Guard(() =>
        {
            var fit = LoadModel(r.GetValue(model)!);
            var matrix = data.Read(r);
            int[] labels;
            double[,] probabilities;
            if (fit is HiddenMarkovFit chain)
            {
                labels = chain.Decode(matrix);
                probabilities = chain.PosteriorMarginals(matrix);
            }
            else
            {
                var mixture = (MixtureFit)fit;
                probabilities = mixture.PredictProba(matrix);
                labels = mixture.Predict(matrix);
            }
            using var writer = Output(r.GetValue(output));
            string label = fit is HiddenMarkovFit ? "state" : "component";
            writer.WriteLine(string.Join(",", new[] { label }.Concat(Enumerable.Range(0, fit.States).Select(k => $"p{k}"))));
            for (int i = 0; i < labels.Length; i++)
                writer.WriteLine(string.Join(",", new[] { labels[i].ToString(System.Globalization.CultureInfo.InvariantCulture) }
                    .Concat(Enumerable.Range(0, fit.States).Select(k => probabilities[i, k].ToString("R", System.Globalization.CultureInfo.InvariantCulture)))));
            return 0;
        }));
        return command;
    }

    private static Command SampleCommand()
    {
        var model = new Argument<FileInfo>("model") { Description = "A model saved by emdsl fit --save (or ModelFit.Save)." };
        var count = new Option<int>("--count", "-n") { Description = "Rows (or steps of one sequence) to draw.", DefaultValueFactory = _ => 100 };
        var seed = new Option<int>("--seed") { Description = "Random seed.", DefaultValueFactory = _ => 0 };
        var output = new Option<FileInfo?>("--output", "-o") { Description = "Write the CSV here instead of standard output." };
        var command = new Command("sample", "Draw rows from a saved model: the columns it reads, then the component (or state) that drew each row.");
        command.Arguments.Add(model);
        command.Options.Add(count);
        command.Options.Add(seed);
        command.Options.Add(output);
        command.SetAction(r => Guard(() =>
        {
            var fit = LoadModel(r.GetValue(model)!);
            int n = r.GetValue(count);
            if (n < 1) throw new UsageException($"--count {n}: must be at least 1");
            DataMatrix drawn;
            IReadOnlyList<int> states;
            if (fit is HiddenMarkovFit chain)
            {
                var s = chain.Sample(n, r.GetValue(seed));
                (drawn, states) = (s.Data.Data, s.States[0]);
            }
            else
            {
                var s = ((MixtureFit)fit).Sample(n, r.GetValue(seed));
                (drawn, states) = (s.Data, s.Components);
            }
            using var writer = Output(r.GetValue(output));
            // Only the columns the model reads (others are not modelled, so nothing is drawn for them).
            var read = fit.Blocks.SelectMany(b => b.Columns.Concat(b.Covariates)).Distinct().Order().ToArray();
            var names = read.Select(c => drawn.ColumnNames is { } cn ? cn[c] : $"x{c + 1}");
            writer.WriteLine(string.Join(",", names.Append(fit is HiddenMarkovFit ? "state" : "component")));
            for (int i = 0; i < drawn.Rows; i++)
                writer.WriteLine(string.Join(",", read.Select(c => drawn[i, c].ToString("R", System.Globalization.CultureInfo.InvariantCulture))
                    .Append(states[i].ToString(System.Globalization.CultureInfo.InvariantCulture))));
            return 0;
        }));
        return command;
    }

    private static int Guard(Func<int> body)
    {
        try { return body(); }
        catch (Exception e) { return Fail(e); }
    }
}

/// <summary>Builds and fits the model a <see cref="ModelSpec"/> describes, with progress on standard error for long fits.</summary>
internal static class Fitting
{
    public static ModelFit Fit(ModelSpec spec, DataMatrix data, int components, FitOptions options, CovarianceType? covariance)
    {
        var blocks = spec.Declare(data, covariance);
        var progress = Console.IsErrorRedirected ? null : new ConsoleProgress();
        try
        {
            if (spec.HiddenMarkov)
                return HiddenMarkov.WithStates(components).Observe([.. blocks]).Build().Fit(data, options, progress);
            var builder = Mixture.WithComponents(components);
            foreach (var b in blocks) builder = builder.Observe(b);
            return builder.Build().Fit(data, options, progress: progress);
        }
        finally { progress?.Done(); }
    }

    /// <summary>Rewrites one status line on the terminal: restart, iteration, objective.</summary>
    private sealed class ConsoleProgress : IProgress<FitProgress>
    {
        private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
        private bool _shown;

        public void Report(FitProgress value)
        {
            if (_clock.ElapsedMilliseconds < 500) return;
            _shown = true;
            Console.Error.Write(FormattableString.Invariant($"\r  restart {value.Restart + 1}, iteration {value.Iteration}, objective {value.Objective:G10}      "));
        }

        public void Done()
        {
            if (_shown) Console.Error.Write("\r" + new string(' ', 72) + "\r");
        }
    }
}

/// <summary><c>--plot</c>: a mixture's first two columns coloured by component (with ellipses for Gaussian blocks), an
/// HMM's first column coloured by decoded state, or <c>select</c>'s BIC curves.</summary>
internal static class Drawing
{
    public static void Check(string path)
    {
        string ext = Path.GetExtension(path).ToLowerInvariant();
        if (ext is not ".png" and not ".svg") throw new UsageException($"--plot {path}: the file must end in .png or .svg");
    }

    public static void Fit(ModelFit fit, DataMatrix data, string path)
    {
        Check(path);
        ScottPlot.Plot plot;
        if (fit is HiddenMarkovFit chain) plot = HiddenMarkovPlots.Series(chain, data, fit.Blocks[0].Columns[0]);
        else
        {
            var mixture = (MixtureFit)fit;
            var columns = fit.Blocks.SelectMany(b => b.Columns).ToArray();
            var gaussian = fit.Blocks.FirstOrDefault(b => b.Family is EmDsl.Families.GaussianFamily && b.Columns.Count >= 2);
            plot = gaussian is not null ? MixturePlots.Scatter(mixture, data, gaussian)
                : columns.Length >= 2 ? MixturePlots.Scatter(mixture, data, columns[0], columns[1], ellipses: false)
                : FitPlots.ObjectiveTrace(fit);
        }
        Console.WriteLine($"plot: {PlotFiles.Save(plot, path)}");
    }

    public static void Bic(IReadOnlyList<Selection.Row> rows, string path)
    {
        Check(path);
        var best = rows.Where(r => r.Fit is not null).GroupBy(r => r.Covariance).OrderBy(g => g.Min(r => r.Fit!.BayesianInformationCriterion)).First();
        var plot = FitPlots.BicCurve(best.Select(r => (r.Components, r.Fit!.BayesianInformationCriterion)),
            title: best.Key is { } c ? $"BIC, {c.ToString().ToLowerInvariant()} covariance" : "BIC");
        Console.WriteLine($"plot: {PlotFiles.Save(plot, path)}");
    }
}
