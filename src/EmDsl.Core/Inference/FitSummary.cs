using System.Globalization;
using System.Reflection;
using System.Text;
using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;

namespace EmDsl.Inference;

/// <summary>
/// The printed summary of a fit, after R's <c>print</c>/<c>summary</c>: the model's declaration, a table per block
/// (rows: parameters, columns: components or states), the objective, iterations, status, information criteria and
/// the diagnostics. Culture-invariant and deterministic.
/// </summary>
internal static class FitSummary
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static string Of(MixtureFit fit)
    {
        var text = new StringBuilder();
        text.Append(fit.Model).Append(NewLine).Append(NewLine);
        var columns = Headers("component", fit.States);
        var latent = new List<(string, double[])> { ("weight", fit.Weights.ToArray()) };
        var gating = fit.GatingCoefficients;
        if (gating.Count > 0)
        {
            latent.Add(("gating intercept", gating.Select(g => g.Intercept).ToArray()));
            var covariates = fit.Model.Gating!.Covariates;
            for (int j = 0; j < covariates.Count; j++)
                latent.Add(($"gating slope[{covariates[j]}]", gating.Select(g => g.Slopes[j]).ToArray()));
        }
        Table(text, gating.Count > 0 ? "Weights (averaged gating probabilities) and gating coefficients:" : "Weights:", columns, latent);
        Blocks(text, fit, columns);
        Footer(text, fit);
        return text.ToString().TrimEnd();
    }

    public static string Of(HiddenMarkovFit fit)
    {
        var text = new StringBuilder();
        text.Append(fit.Model).Append(NewLine).Append(NewLine);
        var columns = Headers("state", fit.States);
        Table(text, "Initial state probabilities:", columns, [("initial", fit.InitialProbabilities.ToArray())]);
        var a = fit.TransitionMatrix;
        var rows = Enumerable.Range(0, fit.States)
            .Select(i => ($"from state {i}", Enumerable.Range(0, fit.States).Select(j => a[i, j]).ToArray())).ToList();
        Table(text, "Transition matrix (row: from, column: to):", Headers("to state", fit.States), rows);
        Blocks(text, fit, columns);
        Footer(text, fit);
        return text.ToString().TrimEnd();
    }

    private static string NewLine => Environment.NewLine;

    private static string[] Headers(string what, int count) => Enumerable.Range(0, count).Select(k => $"{what} {k}").ToArray();

    private static void Blocks(StringBuilder text, ModelFit fit, string[] columns)
    {
        foreach (var block in fit.Blocks)
        {
            var parameters = fit.UsualParameters(block).Cast<object>().ToArray();
            string title = $"Block '{block.Name}': {block.Family.Name}" + (block.Sharing == Sharing.Shared ? ", shared by every state" : "");
            Table(text, title, columns, Rows(block, parameters));
        }
    }

    private static void Footer(StringBuilder text, ModelFit fit)
    {
        text.Append(Invariant, $"Log-likelihood: {fit.LogLikelihood:G10}   log prior: {fit.LogPrior:G10}   objective: {fit.Objective:G10}").Append(NewLine);
        text.Append(Invariant, $"Iterations: {fit.Iterations}   status: {Status(fit.Status)}").Append(NewLine);
        text.Append(Invariant, $"Free parameters: {fit.FreeParameterCount}   N: {fit.TotalWeight:G10}   BIC: {fit.BayesianInformationCriterion:F4}   AIC: {fit.AkaikeInformationCriterion:F4}").Append(NewLine);
        text.Append("Diagnostics: ").Append(fit.Diagnostics).Append(NewLine);
    }

    internal static string Status(FitStatus status) => status switch
    {
        FitStatus.Converged => "converged",
        FitStatus.IterationLimit => "stopped at the iteration limit",
        _ => "stalled",
    };

    /// <summary>Rows of one block's table: each parameter entry and its value per component.</summary>
    internal static List<(string Label, double[] Values)> Rows(Block block, IReadOnlyList<object> parameters)
    {
        var rows = new List<(string, double[])>();
        if (parameters.Count == 0) return rows;
        var columns = block.Columns;
        string Col(int i, int length) => length == columns.Count ? columns[i].ToString(Invariant) : i.ToString(Invariant);
        void Vector(string name, Func<object, IReadOnlyList<double>> get)
        {
            int length = get(parameters[0]).Count;
            for (int i = 0; i < length; i++) rows.Add(($"{name}[{Col(i, length)}]", parameters.Select(p => get(p)[i]).ToArray()));
        }
        void Scalar(string name, Func<object, double> get) => rows.Add((name, parameters.Select(get).ToArray()));

        switch (parameters[0])
        {
            case GaussianParameters first:
                {
                    bool full = block.Family is GaussianFamily { Structure: CovarianceStructure.Full };
                    Vector("mean", p => ((GaussianParameters)p).Mean);
                    int d = first.Dimension;
                    for (int i = 0; i < d; i++)
                    {
                        int ii = i;
                        rows.Add(($"var[{Col(i, d)}]", parameters.Select(p => ((GaussianParameters)p).Covariance[ii, ii]).ToArray()));
                    }
                    if (full)
                        for (int i = 0; i < d; i++)
                            for (int j = i + 1; j < d; j++)
                            {
                                int ii = i, jj = j;
                                rows.Add(($"cov[{Col(i, d)},{Col(j, d)}]", parameters.Select(p => ((GaussianParameters)p).Covariance[ii, jj]).ToArray()));
                            }
                    break;
                }
            case FactorParameters first:
                {
                    Vector("mean", p => ((FactorParameters)p).Mean);
                    for (int a = 0; a < first.Factors; a++)
                        for (int i = 0; i < first.Dimension; i++)
                        {
                            int ii = i, aa = a;
                            rows.Add(($"loading[{Col(i, first.Dimension)},f{a}]", parameters.Select(p => ((FactorParameters)p).Loadings[ii, aa]).ToArray()));
                        }
                    Vector("noise", p => ((FactorParameters)p).NoiseVariances);
                    break;
                }
            case RegressionParameters:
                Coefficients(rows, block, parameters.Select(p => (RegressionParameters)p).ToArray());
                break;
            case LinearRegressionParameters:
                Coefficients(rows, block, parameters.Select(p => ((LinearRegressionParameters)p).Coefficients).ToArray());
                Scalar("variance", p => ((LinearRegressionParameters)p).Variance);
                break;
            default:
                // Any other family's record: its public double, vector and matrix properties, in declaration order.
                foreach (var property in parameters[0].GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
                {
                    if (property.GetIndexParameters().Length > 0) continue;
                    string name = char.ToLowerInvariant(property.Name[0]) + property.Name[1..];
                    if (property.PropertyType == typeof(double))
                        Scalar(name, p => (double)property.GetValue(p)!);
                    else if (typeof(IReadOnlyList<double>).IsAssignableFrom(property.PropertyType))
                        Vector(name, p => (IReadOnlyList<double>)property.GetValue(p)!);
                    else if (property.PropertyType == typeof(ReadOnlyMatrix))
                    {
                        var m0 = (ReadOnlyMatrix)property.GetValue(parameters[0])!;
                        for (int i = 0; i < m0.Rows; i++)
                            for (int j = 0; j < m0.Columns; j++)
                            {
                                int ii = i, jj = j;
                                rows.Add(($"{name}[{i},{j}]", parameters.Select(p => ((ReadOnlyMatrix)property.GetValue(p)!)[ii, jj]).ToArray()));
                            }
                    }
                }
                break;
        }
        return rows;
    }

    private static void Coefficients(List<(string, double[])> rows, Block block, RegressionParameters[] coefficients)
    {
        rows.Add(("intercept", coefficients.Select(c => c.Intercept).ToArray()));
        for (int j = 0; j < coefficients[0].Slopes.Count; j++)
        {
            string name = j < block.Covariates.Count ? block.Covariates[j].ToString(Invariant) : j.ToString(Invariant);
            int jj = j;
            rows.Add(($"slope[{name}]", coefficients.Select(c => c.Slopes[jj]).ToArray()));
        }
    }

    /// <summary>A titled table: labels left-aligned, every column right-aligned to its widest entry.</summary>
    internal static void Table(StringBuilder text, string title, string[] headers, IReadOnlyList<(string Label, double[] Values)> rows)
    {
        text.Append(title).Append(NewLine);
        var cells = rows.Select(r => r.Values.Select(Number).ToArray()).ToArray();
        int labelWidth = rows.Count == 0 ? 0 : rows.Max(r => r.Label.Length);
        var widths = headers.Select((h, k) => Math.Max(h.Length, cells.Length == 0 ? 0 : cells.Max(c => c[k].Length))).ToArray();
        var line = new StringBuilder();
        line.Append(' ', labelWidth + 2);
        for (int k = 0; k < headers.Length; k++) line.Append("  ").Append(headers[k].PadLeft(widths[k]));
        text.Append(line.ToString().TrimEnd()).Append(NewLine);
        for (int r = 0; r < rows.Count; r++)
        {
            line.Clear().Append("  ").Append(rows[r].Label.PadRight(labelWidth));
            for (int k = 0; k < headers.Length; k++) line.Append("  ").Append(cells[r][k].PadLeft(widths[k]));
            text.Append(line).Append(NewLine);
        }
        text.Append(NewLine);
    }

    /// <summary>
    /// Five significant digits, fixed-point between 10⁻⁴ and 10⁷ (trailing zeros kept, so a column reads evenly),
    /// scientific outside; 0, infinities and NaN as themselves.
    /// </summary>
    internal static string Number(double v)
    {
        if (v == 0) return "0";
        if (!double.IsFinite(v)) return v.ToString(Invariant);
        double magnitude = Math.Abs(v);
        if (magnitude < 1e-4 || magnitude >= 1e7) return v.ToString("0.0000e+00", Invariant);
        int exponent = (int)Math.Floor(Math.Log10(magnitude));
        int decimals = Math.Max(0, 4 - exponent);
        string s = v.ToString("F" + decimals.ToString(Invariant), Invariant);
        // Rounding can carry into a new digit (9.99996 → "10.0000"): drop the extra decimal.
        if (decimals > 0 && s.TrimStart('-').Replace(".", "").TrimStart('0').Length > 5) s = v.ToString("F" + (decimals - 1).ToString(Invariant), Invariant);
        return s;
    }
}
