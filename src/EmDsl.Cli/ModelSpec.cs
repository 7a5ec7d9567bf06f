using EmDsl.Building;
using EmDsl.Data;

namespace EmDsl.Cli;

/// <summary>A model described on the command line: blocks over named columns and the latent structure.</summary>
internal sealed record ModelSpec(IReadOnlyList<BlockSpec> Blocks, bool HiddenMarkov)
{
    /// <summary>The families <c>--model</c> and <c>--block</c> accept.</summary>
    public static readonly string[] Families = ["gaussian", "poisson", "bernoulli", "categorical"];

    /// <summary>The covariance types, as written on the command line.</summary>
    public static readonly string[] CovarianceNames = ["full", "tied", "diagonal", "spherical"];

    /// <summary>
    /// From <c>--model family</c> over <c>--columns</c> (every column when empty), or from <c>--block</c> specifications
    /// <c>[name=]family[/covariance]:col1,col2</c>.
    /// </summary>
    public static ModelSpec Parse(DataMatrix data, string? model, string? columns, IReadOnlyList<string> blocks, string covariance, bool hiddenMarkov)
    {
        if (blocks.Count > 0 && (model is not null || columns is not null))
            throw new UsageException("give either --model (with --columns) or --block, not both");
        var parsedCovariance = ParseCovariance(covariance, "--covariance");
        var specs = new List<BlockSpec>();
        if (blocks.Count == 0)
        {
            string family = Family(model ?? "gaussian", "--model");
            var cols = columns is null ? Enumerable.Range(0, data.Columns).ToArray() : ResolveColumns(data, columns, "--columns");
            if (family == "categorical")
                specs.AddRange(cols.Select(c => new BlockSpec(ColumnLabel(data, c), family, [c], parsedCovariance)));
            else specs.Add(new BlockSpec(family, family, cols, parsedCovariance));
        }
        else
        {
            foreach (var text in blocks)
            {
                int colon = text.IndexOf(':');
                if (colon <= 0 || colon == text.Length - 1)
                    throw new UsageException($"--block '{text}' is not of the form [name=]family[/covariance]:column,column (e.g. gaussian/diagonal:eruptions,waiting)");
                string head = text[..colon];
                string? name = null;
                int eq = head.IndexOf('=');
                if (eq >= 0) { name = head[..eq].Trim(); head = head[(eq + 1)..]; }
                var cov = parsedCovariance;
                int slash = head.IndexOf('/');
                if (slash >= 0) { cov = ParseCovariance(head[(slash + 1)..], $"--block '{text}'"); head = head[..slash]; }
                string family = Family(head.Trim(), $"--block '{text}'");
                if (slash >= 0 && family != "gaussian") throw new UsageException($"--block '{text}': only a gaussian block takes a covariance type");
                var cols = ResolveColumns(data, text[(colon + 1)..], $"--block '{text}'");
                if (family == "categorical" && cols.Length != 1)
                    throw new UsageException($"--block '{text}': a categorical block reads one column of integer codes 0…C−1");
                name = string.IsNullOrEmpty(name) ? $"{family}:{string.Join(",", cols.Select(c => ColumnLabel(data, c)))}" : name;
                if (specs.Any(s => s.Name == name)) throw new UsageException($"two blocks are named '{name}'; name them with name=family:columns");
                specs.Add(new BlockSpec(name, family, cols, cov));
            }
        }
        return new ModelSpec(specs, hiddenMarkov);
    }

    /// <summary>The declared blocks for <paramref name="data"/> (categorical blocks take C = the largest code + 1).</summary>
    public IReadOnlyList<Block> Declare(DataMatrix data, CovarianceType? covarianceOverride = null) =>
        Blocks.Select(b => b.Declare(data, covarianceOverride)).ToArray();

    /// <summary>Whether any block is Gaussian (the only blocks with a covariance type).</summary>
    public bool HasGaussian => Blocks.Any(b => b.Family == "gaussian");

    private static string Family(string text, string where)
    {
        string f = text.Trim().ToLowerInvariant();
        return Families.Contains(f) ? f : throw new UsageException($"{where}: unknown family '{text}'; expected one of {string.Join(", ", Families)}");
    }

    public static CovarianceType ParseCovariance(string text, string where) => text.Trim().ToLowerInvariant() switch
    {
        "full" => CovarianceType.Full,
        "tied" => CovarianceType.Tied,
        "diagonal" or "diag" => CovarianceType.Diagonal,
        "spherical" => CovarianceType.Spherical,
        _ => throw new UsageException($"{where}: unknown covariance type '{text}'; expected one of {string.Join(", ", CovarianceNames)}"),
    };

    /// <summary>
    /// Columns by header name, or by 1-based position (a number that is not itself a column name); a name that is missing
    /// is reported with the names that exist.
    /// </summary>
    public static int[] ResolveColumns(DataMatrix data, string list, string where)
    {
        var tokens = list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (tokens.Length == 0) throw new UsageException($"{where}: no columns given");
        var result = new int[tokens.Length];
        for (int i = 0; i < tokens.Length; i++)
        {
            string t = tokens[i];
            var names = data.ColumnNames;
            if (names is not null && names.Contains(t)) result[i] = data.ColumnIndex(t);
            else if (int.TryParse(t, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int position))
            {
                if (position < 1 || position > data.Columns)
                    throw new UsageException($"{where}: column {position} does not exist; the file has columns 1…{data.Columns}");
                result[i] = position - 1;
            }
            else if (names is null)
                throw new UsageException($"{where}: column '{t}' is not a position, and the file has no header to name columns (columns are 1…{data.Columns})");
            else
                throw new UsageException($"{where}: no column is named '{t}'; the columns are {string.Join(", ", names)}");
        }
        var duplicate = result.GroupBy(c => c).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new UsageException($"{where}: column '{ColumnLabel(data, duplicate.Key)}' is given twice");
        return result;
    }

    /// <summary>A column's header name, or its 1-based position.</summary>
    public static string ColumnLabel(DataMatrix data, int column) =>
        data.ColumnNames is { } names ? names[column] : (column + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>One block: its name, family, 0-based columns and (for Gaussian blocks) covariance type.</summary>
internal sealed record BlockSpec(string Name, string Family, int[] Columns, CovarianceType Covariance)
{
    public Block Declare(DataMatrix data, CovarianceType? covarianceOverride) => Family switch
    {
        "gaussian" => Blocks.Gaussian(Name, Columns, covarianceOverride ?? Covariance),
        "poisson" => Blocks.Poisson(Name, Columns),
        "bernoulli" => Blocks.Bernoulli(Name, Columns),
        "categorical" => Blocks.Categorical(Name, Columns, Categories(data)),
        _ => throw new InvalidOperationException($"unknown family {Family}"),
    };

    private int Categories(DataMatrix data)
    {
        double max = 0;
        for (int i = 0; i < data.Rows; i++)
        {
            double v = data[i, Columns[0]];
            if (v < 0 || v != Math.Floor(v))
                throw new UsageException($"block '{Name}': row {i + 1} has {v.ToString(System.Globalization.CultureInfo.InvariantCulture)}; a categorical column holds integer codes 0, 1, 2, …");
            max = Math.Max(max, v);
        }
        return (int)max + 1;
    }
}

/// <summary>A mistake in the command line: reported as one line, exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
