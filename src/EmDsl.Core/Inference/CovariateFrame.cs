using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Numerics;

namespace EmDsl.Inference;

/// <summary>
/// The design of a linear predictor in a well-conditioned frame: z = [1, (x − m)/s] with an intercept, z = x/s
/// without one, where m and s are the training data's (weighted) column means and standard deviations (root
/// mean squares without an intercept). Coefficients γ live in this frame during a fit and are converted to the
/// user's β on the way out, so covariates of size 1e6 or 1e-6 cost no accuracy.
/// </summary>
internal sealed class CovariateFrame
{
    private readonly int[] _columns;
    private readonly double[] _mean;
    private readonly double[] _scale;

    private CovariateFrame(int[] columns, bool intercept, double[] mean, double[] scale)
    {
        _columns = columns;
        Intercept = intercept;
        _mean = mean;
        _scale = scale;
    }

    public bool Intercept { get; }

    /// <summary>P: the length of z (covariates plus the intercept).</summary>
    public int Size => _columns.Length + (Intercept ? 1 : 0);

    public int CovariateCount => _columns.Length;

    /// <summary>m: the training means of the covariates (zeros without an intercept), not copied.</summary>
    internal double[] Means => _mean;

    /// <summary>s: the training scales of the covariates, not copied.</summary>
    internal double[] Scales => _scale;

    /// <summary>A frame from saved means and scales (a model file's), which must be finite, with scales &gt; 0.</summary>
    internal static CovariateFrame Restore(IReadOnlyList<int> columns, bool intercept, double[] mean, double[] scale)
    {
        if (mean.Length != columns.Count || scale.Length != columns.Count)
            throw new ArgumentException($"A covariate frame of {columns.Count} covariates needs {columns.Count} means and scales, not {mean.Length} and {scale.Length}.");
        for (int j = 0; j < columns.Count; j++)
        {
            if (!double.IsFinite(mean[j])) throw new ArgumentException($"The mean of covariate {j} is {mean[j]}; it must be finite.");
            if (!(scale[j] > 0) || !double.IsFinite(scale[j])) throw new ArgumentException($"The scale of covariate {j} is {scale[j]}; it must be finite and > 0.");
            if (!intercept && mean[j] != 0) throw new ArgumentException($"Without an intercept the frame is not centred, but covariate {j} has mean {mean[j]}.");
        }
        return new CovariateFrame(columns.ToArray(), intercept, (double[])mean.Clone(), (double[])scale.Clone());
    }

    /// <summary>
    /// The frame of <paramref name="columns"/> on the training data, checking that the design has full column
    /// rank (no covariate is constant alongside an intercept, or a linear combination of the others).
    /// </summary>
    public static CovariateFrame Create(DataMatrix data, IReadOnlyList<int> columns, bool intercept, ReadOnlySpan<double> weights, string owner)
    {
        var cols = columns.ToArray();
        foreach (var c in cols)
            if (c >= data.Columns)
                throw new ArgumentException($"{owner} reads covariate column {c}, but the data has {data.Columns} column{(data.Columns == 1 ? "" : "s")} (0..{data.Columns - 1}).");
        int p = cols.Length, n = data.Rows;
        var mean = new double[p];
        var scale = new double[p];
        double total = 0;
        for (int i = 0; i < n; i++) total += weights.IsEmpty ? 1 : weights[i];
        for (int j = 0; j < p; j++)
        {
            double m = 0;
            if (intercept)
            {
                for (int i = 0; i < n; i++) m += (weights.IsEmpty ? 1 : weights[i]) * data[i, cols[j]];
                m /= total;
            }
            double ss = 0;
            for (int i = 0; i < n; i++)
            {
                double d = data[i, cols[j]] - m;
                ss += (weights.IsEmpty ? 1 : weights[i]) * d * d;
            }
            double s = Math.Sqrt(ss / total);
            if (!(s > 0) || !double.IsFinite(s))
                throw new ArgumentException(intercept
                    ? $"{owner}: covariate column {cols[j]} is constant on the rows that count, so it duplicates the intercept; drop it or declare the block without an intercept."
                    : $"{owner}: covariate column {cols[j]} is zero on every row that counts.");
            mean[j] = m;
            scale[j] = s;
        }
        var frame = new CovariateFrame(cols, intercept, mean, scale);
        frame.CheckRank(data, weights, total, owner);
        return frame;
    }

    /// <summary>Writes z for rows [start, start + rows) into <paramref name="z"/> (rows × P, row-major).</summary>
    public void Fill(DataMatrix data, int start, int rows, Span<double> z) => Fill(data.Chunk(start, rows), z);

    /// <summary>Writes z for the chunk's rows into <paramref name="z"/> (rows × P, row-major).</summary>
    public void Fill(DataChunk data, Span<double> z)
    {
        int p = Size, off = Intercept ? 1 : 0, stride = data.Columns, rows = data.Rows;
        var values = data.Values;
        for (int i = 0; i < rows; i++)
        {
            var zi = z.Slice(i * p, p);
            if (Intercept) zi[0] = 1;
            int src = i * stride;
            for (int j = 0; j < _columns.Length; j++) zi[off + j] = (values[src + _columns[j]] - _mean[j]) / _scale[j];
        }
    }

    /// <summary>The whole design of <paramref name="data"/> (rows × P).</summary>
    public double[] Design(DataMatrix data)
    {
        var z = new double[data.Rows * Size];
        Fill(data, 0, data.Rows, z);
        return z;
    }

    /// <summary>γ (frame) → the user's intercept and slopes.</summary>
    public RegressionParameters ToUser(ReadOnlySpan<double> gamma)
    {
        int off = Intercept ? 1 : 0;
        var slopes = new double[_columns.Length];
        double intercept = Intercept ? gamma[0] : 0;
        for (int j = 0; j < slopes.Length; j++)
        {
            slopes[j] = gamma[off + j] / _scale[j];
            intercept -= slopes[j] * _mean[j];
        }
        return new RegressionParameters(intercept, slopes);
    }

    /// <summary>The user's intercept and slopes → γ (frame).</summary>
    public double[] FromUser(double intercept, IReadOnlyList<double> slopes, string owner)
    {
        if (slopes.Count != _columns.Length)
            throw new ArgumentException($"{owner}: {slopes.Count} slopes given; the predictor has {_columns.Length} covariates.");
        if (!Intercept && intercept != 0)
            throw new ArgumentException($"{owner} has no intercept, but an intercept of {intercept} was given.");
        int off = Intercept ? 1 : 0;
        var gamma = new double[Size];
        double g0 = intercept;
        for (int j = 0; j < slopes.Count; j++)
        {
            gamma[off + j] = slopes[j] * _scale[j];
            g0 += slopes[j] * _mean[j];
        }
        if (Intercept) gamma[0] = g0;
        return gamma;
    }

    /// <summary>
    /// Ridge precision of each frame coordinate for a prior of precision λ on the user's slopes:
    /// λ β_j² = (λ / s_j²) γ_j², and 0 for the intercept.
    /// </summary>
    public double[] FramePrecisions(double lambda)
    {
        var p = new double[Size];
        int off = Intercept ? 1 : 0;
        for (int j = 0; j < _columns.Length; j++) p[off + j] = lambda / (_scale[j] * _scale[j]);
        return p;
    }

    private void CheckRank(DataMatrix data, ReadOnlySpan<double> weights, double total, string owner)
    {
        int p = Size, n = data.Rows;
        if (p == 0) return;
        var z = new double[Math.Min(n, 4096) * p];
        var gram = new double[p * p];
        var backend = ComputeBackend.Current;
        for (int start = 0; start < n; start += 4096)
        {
            int rows = Math.Min(4096, n - start);
            var zc = z.AsSpan(0, rows * p);
            Fill(data, start, rows, zc);
            if (!weights.IsEmpty)
                for (int i = 0; i < rows; i++)
                {
                    double w = Math.Sqrt(weights[start + i]);
                    for (int j = 0; j < p; j++) zc[i * p + j] *= w;
                }
            backend.Gemm(true, false, p, p, rows, 1.0 / total, zc, p, zc, p, 1.0, gram, p);
        }
        // In this frame every diagonal entry is 1, so the pivots of the Cholesky factor measure how much of
        // each covariate the previous ones (and the intercept) leave unexplained.
        for (int j = 0; j < p; j++)
        {
            double d = gram[j * p + j];
            for (int l = 0; l < j; l++) d -= gram[j * p + l] * gram[j * p + l];
            if (!(d > 1e-10))
            {
                int off = Intercept ? 1 : 0;
                string what = j < off ? "the intercept" : $"covariate column {_columns[j - off]}";
                throw new ArgumentException(
                    $"{owner}: the design is singular: {what} is (nearly) a linear combination of the {(j - off <= 0 && Intercept ? "intercept" : "columns before it")} " +
                    $"(unexplained share {Math.Max(d, 0):G3}). Drop or combine the offending column.");
            }
            double root = Math.Sqrt(d);
            gram[j * p + j] = root;
            for (int i = j + 1; i < p; i++)
            {
                double v = gram[i * p + j];
                for (int l = 0; l < j; l++) v -= gram[i * p + l] * gram[j * p + l];
                gram[i * p + j] = v / root;
            }
        }
    }
}
