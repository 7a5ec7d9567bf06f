using System.Globalization;
using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Inference;
using Spectre.Console;

namespace EmDsl.Cli;

/// <summary>A readable summary of a fit: the model, the weights (or initial and transition probabilities), each block's
/// parameters per component, the objective, BIC/AIC, convergence and diagnostics.</summary>
internal static class Summary
{
    public static string N(double v) => v.ToString("G6", CultureInfo.InvariantCulture);

    public static void Print(ModelFit fit, DataMatrix data, string file)
    {
        var console = AnsiConsole.Console;
        bool hmm = fit is HiddenMarkovFit;
        int k = fit.States;
        console.WriteLine($"{(hmm ? "Hidden Markov model" : "Mixture")} of {k} {(hmm ? "states" : "components")} fitted to {file} ({data.Rows} rows × {data.Columns} columns)");
        foreach (var b in fit.Blocks) console.WriteLine($"  block {b}");
        console.WriteLine();

        var head = new Table().Border(TableBorder.Simple);
        head.AddColumn("");
        for (int j = 0; j < k; j++) head.AddColumn(new TableColumn($"{(hmm ? "state" : "component")} {j}").RightAligned());
        if (fit is MixtureFit mixture) Row(head, "weight", mixture.Weights);
        if (fit is HiddenMarkovFit chain)
        {
            Row(head, "initial", chain.InitialProbabilities);
            var a = chain.TransitionMatrix;
            for (int i = 0; i < k; i++) Row(head, $"P(→ | {i})", Enumerable.Range(0, k).Select(j => a[i, j]).ToArray());
        }
        foreach (var block in fit.Blocks) AddBlock(head, fit, block, data);
        console.Write(head);

        var stats = new Table().Border(TableBorder.Simple).HideHeaders();
        stats.AddColumn("");
        stats.AddColumn(new TableColumn("").RightAligned());
        stats.AddRow("log-likelihood", N(fit.LogLikelihood));
        if (fit.LogPrior != 0) stats.AddRow("log prior", N(fit.LogPrior));
        stats.AddRow("free parameters", fit.FreeParameterCount.ToString(CultureInfo.InvariantCulture));
        stats.AddRow("BIC (−2 log L + p log n; lower is better)", N(fit.BayesianInformationCriterion));
        stats.AddRow("AIC", N(fit.AkaikeInformationCriterion));
        stats.AddRow("iterations", fit.Iterations.ToString(CultureInfo.InvariantCulture));
        stats.AddRow("status", fit.Status.ToString());
        console.Write(stats);
        var events = fit.Diagnostics.Events;
        if (events.Count > 0)
        {
            console.WriteLine($"diagnostics: {events.Count} event(s)");
            foreach (var e in events.Take(10)) console.WriteLine(Markup.Escape($"  {e}"));
            if (events.Count > 10) console.WriteLine($"  … and {events.Count - 10} more");
        }
    }

    private static void Row(Table t, string label, IReadOnlyList<double> values) =>
        t.AddRow([Markup.Escape(label), .. values.Select(N)]);

    private static void AddBlock(Table t, ModelFit fit, Block block, DataMatrix data)
    {
        var parameters = fit.Parameters(block.Name);
        string Col(int i) => data.ColumnNames is { } names && block.Columns[i] < names.Count ? names[block.Columns[i]] : $"column {block.Columns[i] + 1}";
        switch (parameters[0])
        {
            case GaussianParameters:
            {
                var g = parameters.Cast<GaussianParameters>().ToArray();
                for (int i = 0; i < block.Columns.Count; i++) Row(t, $"{block.Name}: mean {Col(i)}", g.Select(p => p.Mean[i]).ToArray());
                for (int i = 0; i < block.Columns.Count; i++) Row(t, $"{block.Name}: sd {Col(i)}", g.Select(p => Math.Sqrt(p.Covariance[i, i])).ToArray());
                for (int i = 0; i < block.Columns.Count; i++)
                    for (int j = i + 1; j < block.Columns.Count; j++)
                        if (g.Any(p => p.Covariance[i, j] != 0))
                            Row(t, $"{block.Name}: corr {Col(i)},{Col(j)}", g.Select(p => p.Covariance[i, j] / Math.Sqrt(p.Covariance[i, i] * p.Covariance[j, j])).ToArray());
                break;
            }
            case PoissonParameters:
            {
                var p = parameters.Cast<PoissonParameters>().ToArray();
                for (int i = 0; i < block.Columns.Count; i++) Row(t, $"{block.Name}: rate {Col(i)}", p.Select(x => x.Rates[i]).ToArray());
                break;
            }
            case BernoulliParameters:
            {
                var p = parameters.Cast<BernoulliParameters>().ToArray();
                for (int i = 0; i < block.Columns.Count; i++) Row(t, $"{block.Name}: P({Col(i)} = 1)", p.Select(x => x.Probabilities[i]).ToArray());
                break;
            }
            case CategoricalParameters:
            {
                var p = parameters.Cast<CategoricalParameters>().ToArray();
                for (int c = 0; c < p[0].Probabilities.Count; c++) Row(t, $"{block.Name}: P({Col(0)} = {c})", p.Select(x => x.Probabilities[c]).ToArray());
                break;
            }
            default:
                for (int j = 0; j < parameters.Count; j++) AnsiConsole.WriteLine(Markup.Escape($"{block.Name}, {j + 1}: {parameters[j]}"));
                break;
        }
    }
}

/// <summary>The model-selection table of <c>emdsl select</c>.</summary>
internal static class Selection
{
    public sealed record Row(int Components, CovarianceType? Covariance, ModelFit? Fit, string? Error);

    public static void Print(IReadOnlyList<Row> rows, DataMatrix data, string file)
    {
        var console = AnsiConsole.Console;
        console.WriteLine($"BIC = −2 log L + p log n for {file} ({data.Rows} rows); lower is better (mclust reports −BIC).");
        var covariances = rows.Select(r => r.Covariance).Distinct().ToArray();
        var ok = rows.Where(r => r.Fit is not null).ToArray();
        var best = ok.Length == 0 ? null : ok.MinBy(r => r.Fit!.BayesianInformationCriterion);
        var table = new Table().Border(TableBorder.Simple);
        table.AddColumn(new TableColumn("K").RightAligned());
        foreach (var c in covariances) table.AddColumn(new TableColumn(c?.ToString().ToLowerInvariant() ?? "BIC").RightAligned());
        foreach (int k in rows.Select(r => r.Components).Distinct())
        {
            var cells = new List<string> { k.ToString(CultureInfo.InvariantCulture) };
            foreach (var c in covariances)
            {
                var r = rows.First(x => x.Components == k && x.Covariance == c);
                cells.Add(r.Fit is null ? "failed" : Summary.N(r.Fit.BayesianInformationCriterion) + (r == best ? " *" : ""));
            }
            table.AddRow(cells.ToArray());
        }
        console.Write(table);
        foreach (var r in rows.Where(r => r.Error is not null))
            console.WriteLine(Markup.Escape($"K = {r.Components}{(r.Covariance is { } c ? $", {c.ToString().ToLowerInvariant()}" : "")}: {r.Error}"));
        if (best is null) { console.WriteLine("No model could be fitted."); return; }
        console.WriteLine($"Best: K = {best.Components}{(best.Covariance is { } bc ? $", {bc.ToString().ToLowerInvariant()} covariance" : "")} (BIC {Summary.N(best.Fit!.BayesianInformationCriterion)}).");
        console.WriteLine();
        Summary.Print(best.Fit, data, file);
    }
}
