using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Families.Priors;

namespace EmDsl.Inference;

/// <summary>
/// The Gaussian block's M-step for full, diagonal, spherical and tied covariances, with the
/// <see cref="GaussianPrior"/> and the covariance floor. Statistics are kept in a frame centred on the
/// block's weighted data mean c (x ↦ x − c), so second moments never carry the data's offset: shifting the
/// data by 10⁶ leaves every statistic, and so the log-likelihood, unchanged.
/// </summary>
internal sealed class GaussianRuntime : BlockRuntime<GaussianParameters>
{
    private readonly GaussianFamily _family;
    private readonly GaussianPrior? _prior;
    private readonly bool _tied;
    private readonly double[] _origin;
    private readonly double[]? _priorScatter;

    public GaussianRuntime(GaussianBlock block, int components, DataMatrix data, ReadOnlySpan<double> weights) : base(block, components)
    {
        _family = block.Family;
        _prior = block.Prior;
        _tied = block.Covariance == CovarianceType.Tied;
        _origin = WeightedMean(block.Columns, data, weights);
        if (_prior is not null)
        {
            _priorScatter = _prior.Scatter.Values.ToArray();
            Restrict(_priorScatter);
        }
    }

    /// <summary>The centring origin c (the block's weighted data mean at fit time).</summary>
    public IReadOnlyList<double> Origin => _origin;

    private static double[] WeightedMean(IReadOnlyList<int> columns, DataMatrix data, ReadOnlySpan<double> weights)
    {
        var mean = new double[columns.Count];
        if (columns.Max() >= data.Columns) return mean; // Validate() reports the missing column.
        double total = 0;
        for (int r = 0; r < data.Rows; r++)
        {
            double w = weights.IsEmpty ? 1 : weights[r];
            total += w;
            var row = data.Row(r);
            for (int j = 0; j < mean.Length; j++) mean[j] += w * row[columns[j]];
        }
        for (int j = 0; j < mean.Length; j++) mean[j] /= total;
        return mean;
    }

    protected override void ToFrame(Span<double> x, int rows)
    {
        int d = Dimension;
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < d; j++) x[i * d + j] -= _origin[j];
    }

    protected override void FromFrame(Span<double> x)
    {
        for (int j = 0; j < Dimension; j++) x[j] += _origin[j];
    }

    /// <summary>Keeps only what the covariance structure allows: the diagonal, or its average times I.</summary>
    private void Restrict(Span<double> m)
    {
        int d = Dimension;
        if (_family.Structure == CovarianceStructure.Full) return;
        double avg = 0;
        for (int i = 0; i < d; i++) avg += m[i * d + i] / d;
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++)
                if (i != j) m[i * d + j] = 0;
                else if (_family.Structure == CovarianceStructure.Spherical) m[i * d + i] = avg;
    }

    public override BlockState MStep(ReadOnlySpan<double> statistics, ReadOnlySpan<double> counts, BlockState? previous, MStepContext context)
    {
        var natural = new double[Components * StatisticCount];
        var usual = new GaussianParameters[Components];
        if (_tied) TiedMStep(statistics, counts, previous, context, natural, usual);
        else
            foreach (var group in Groups()) GroupMStep(statistics, counts, previous, context, group, natural, usual);
        return CreateState(natural, usual);
    }

    private void GroupMStep(ReadOnlySpan<double> statistics, ReadOnlySpan<double> counts, BlockState? previous, MStepContext context,
        int[] group, double[] natural, GaussianParameters[] usual)
    {
        int d = Dimension, s = StatisticCount;
        var sum = new double[s];
        SumGroup(statistics, counts, group, sum, out double count);
        int? component = group.Length == 1 ? group[0] : null;
        if (count <= context.EmptyMass)
        {
            if (previous is not null) { KeepPrevious(previous, group, natural, usual); return; }
            SumGroup(statistics, counts, AllComponents(), sum, out count);
            if (Block.Sharing == Sharing.PerComponent)
                context.Log.Add(FitEventKind.InitializationFallback, Name, component, "no data in the initial responsibilities; starting from the estimate on all rows");
        }
        var mu = new double[d];
        var cov = new double[d * d];
        var eta = new double[s];
        string? reason = Estimate(sum, count, context.Options.CovarianceFloor, mu, cov);
        if (reason is null && !_family.TryNaturalFromMoments(mu, cov, eta))
            reason = "the estimated covariance is not positive definite (raise FitOptions.CovarianceFloor or add a prior)";
        if (reason is not null)
        {
            if (previous is null) throw new InvalidOperationException($"Block '{Name}': cannot estimate initial parameters of {(component is null ? "the shared parameters" : $"component {component}")}: {reason}.");
            context.Log.Add(FitEventKind.MStepRejected, Name, component, reason + "; previous parameters kept");
            KeepPrevious(previous, group, natural, usual);
            return;
        }
        var candidate = ToUser(mu, cov);
        foreach (int k in group)
        {
            eta.CopyTo(natural, k * s);
            usual[k] = candidate;
        }
        if (previous is null) return;
        double qNew = ExpectedLogLikelihood(natural, statistics, counts, group) + GroupLogPrior(usual[group[0]]);
        double qOld = ExpectedLogLikelihood(previous.Natural, statistics, counts, group) + GroupLogPrior(((GaussianParameters[])previous.Usual)[group[0]]);
        if (!MStepContext.NotWorse(qNew, qOld))
        {
            context.Log.Add(FitEventKind.MStepRejected, Name, component,
                $"the floored estimate lowers the expected complete-data objective ({qNew:G10} < {qOld:G10}); previous parameters kept");
            KeepPrevious(previous, group, natural, usual);
        }
    }

    /// <summary>
    /// The MAP (or ML) mean and covariance, in the frame, of R observations with statistic sum S; returns why
    /// it cannot be computed, or null. Covariance: (Ψ + W + κR/(κ+R)(x̄ − m)(x̄ − m)ᵀ)/(n + R) + floor·I,
    /// restricted to the structure; without a prior W/R + floor·I.
    /// </summary>
    private string? Estimate(ReadOnlySpan<double> sum, double count, double floor, Span<double> mu, Span<double> cov)
    {
        int d = Dimension;
        if (!Scatter(sum, count, mu, cov, out double weight)) return "no data and no prior";
        if (!(weight > 0)) return "no data and no covariance pseudo-count";
        for (int i = 0; i < d * d; i++) cov[i] /= weight;
        for (int i = 0; i < d; i++) cov[i * d + i] += floor;
        for (int i = 0; i < d * d; i++) if (!double.IsFinite(cov[i])) return "the estimated covariance is not finite";
        for (int i = 0; i < d; i++) if (!double.IsFinite(mu[i])) return "the estimated mean is not finite";
        return null;
    }

    /// <summary>
    /// Writes the estimated mean and the un-normalised scatter Ψ + W + shrinkage (restricted to the
    /// structure), and the divisor n + R. False when there is neither data nor a prior mean.
    /// </summary>
    private bool Scatter(ReadOnlySpan<double> sum, double count, Span<double> mu, Span<double> scatter, out double divisor)
    {
        int d = Dimension, s = StatisticCount;
        scatter.Slice(0, d * d).Clear();
        Span<double> xbar = stackalloc double[d];
        if (count > 0)
        {
            var meanParameter = new double[s];
            for (int i = 0; i < s; i++) meanParameter[i] = sum[i] / count;
            _family.CovarianceFromMean(meanParameter, scatter);
            for (int i = 0; i < d * d; i++) scatter[i] *= count;
            meanParameter.AsSpan(0, d).CopyTo(xbar);
        }
        if (_prior is null)
        {
            divisor = count;
            xbar.CopyTo(mu);
            return count > 0;
        }
        double kappa = _prior.MeanPseudoCount;
        divisor = _prior.CovariancePseudoCount + count;
        for (int i = 0; i < d * d; i++) scatter[i] += _priorScatter![i];
        if (!(kappa + count > 0)) return false;
        Span<double> m = stackalloc double[d];
        for (int i = 0; i < d; i++) m[i] = _prior.Mean[i] - _origin[i];
        for (int i = 0; i < d; i++) mu[i] = (kappa * m[i] + count * xbar[i]) / (kappa + count);
        if (kappa > 0 && count > 0)
        {
            var shrink = new double[d * d];
            double f = kappa * count / (kappa + count);
            for (int i = 0; i < d; i++)
                for (int j = 0; j < d; j++) shrink[i * d + j] = f * (xbar[i] - m[i]) * (xbar[j] - m[j]);
            Restrict(shrink);
            for (int i = 0; i < d * d; i++) scatter[i] += shrink[i];
        }
        return true;
    }

    private void TiedMStep(ReadOnlySpan<double> statistics, ReadOnlySpan<double> counts, BlockState? previous, MStepContext context,
        double[] natural, GaussianParameters[] usual)
    {
        int d = Dimension, s = StatisticCount, k0 = Components;
        var means = new double[k0 * d];
        var pooled = new double[d * d];
        var scatter = new double[d * d];
        double divisor = _prior?.CovariancePseudoCount ?? 0;
        if (_prior is not null) _priorScatter.AsSpan().CopyTo(pooled);
        var all = new double[s];
        SumGroup(statistics, counts, AllComponents(), all, out double total);
        for (int k = 0; k < k0; k++)
        {
            double count = counts[k];
            var mu = means.AsSpan(k * d, d);
            if (count <= context.EmptyMass)
            {
                if (previous is not null)
                {
                    var old = ((GaussianParameters[])previous.Usual)[k];
                    for (int i = 0; i < d; i++) mu[i] = old.Mean[i] - _origin[i];
                }
                else
                {
                    for (int i = 0; i < d; i++) mu[i] = all[i] / total;
                    context.Log.Add(FitEventKind.InitializationFallback, Name, k, "no data in the initial responsibilities; starting from the mean of all rows");
                }
                continue;
            }
            Scatter(statistics.Slice(k * s, s), count, mu, scatter, out _);
            // Scatter() added Ψ for this component; the tied covariance takes Ψ once (already in pooled).
            for (int i = 0; i < d * d; i++) pooled[i] += scatter[i] - (_priorScatter?[i] ?? 0);
            divisor += count;
        }
        var cov = new double[d * d];
        string? reason = divisor > 0 ? null : "no data and no covariance pseudo-count";
        if (reason is null)
        {
            for (int i = 0; i < d * d; i++) cov[i] = pooled[i] / divisor;
            for (int i = 0; i < d; i++) cov[i * d + i] += context.Options.CovarianceFloor;
            for (int k = 0; k < k0 && reason is null; k++)
            {
                if (!_family.TryNaturalFromMoments(means.AsSpan(k * d, d), cov, natural.AsSpan(k * s, s)))
                    reason = "the tied covariance is not positive definite (raise FitOptions.CovarianceFloor or add a prior)";
                else usual[k] = ToUser(means.AsSpan(k * d, d), cov);
            }
        }
        var everyone = AllComponents();
        if (reason is not null)
        {
            if (previous is null) throw new InvalidOperationException($"Block '{Name}': cannot estimate the initial tied covariance: {reason}.");
            context.Log.Add(FitEventKind.MStepRejected, Name, null, reason + "; previous parameters kept");
            KeepPrevious(previous, everyone, natural, usual);
            return;
        }
        if (previous is null) return;
        double qNew = ExpectedLogLikelihood(natural, statistics, counts, everyone) + LogPrior(usual);
        double qOld = ExpectedLogLikelihood(previous.Natural, statistics, counts, everyone) + LogPrior((GaussianParameters[])previous.Usual);
        if (!MStepContext.NotWorse(qNew, qOld))
        {
            context.Log.Add(FitEventKind.MStepRejected, Name, null,
                $"the floored estimate lowers the expected complete-data objective ({qNew:G10} < {qOld:G10}); previous parameters kept");
            KeepPrevious(previous, everyone, natural, usual);
        }
    }

    private GaussianParameters ToUser(ReadOnlySpan<double> mu, ReadOnlySpan<double> cov)
    {
        int d = Dimension;
        var mean = new double[d];
        for (int i = 0; i < d; i++) mean[i] = mu[i] + _origin[i];
        return new GaussianParameters(mean, ReadOnlyMatrix.FromRowMajor(cov, d, d));
    }

    private void KeepPrevious(BlockState previous, int[] group, double[] natural, GaussianParameters[] usual)
    {
        int s = StatisticCount;
        var old = (GaussianParameters[])previous.Usual;
        foreach (int k in group)
        {
            Array.Copy(previous.Natural, k * s, natural, k * s, s);
            usual[k] = old[k];
        }
    }

    private double GroupLogPrior(GaussianParameters p) =>
        _prior is null ? 0 : _prior.LogDensity([p.Mean], p.Covariance.Values, _family.Structure, tied: false);

    private double LogPrior(GaussianParameters[] usual)
    {
        if (_prior is null) return 0;
        if (_tied) return _prior.LogDensity(usual.Select(u => u.Mean).ToArray(), usual[0].Covariance.Values, CovarianceStructure.Full, tied: true);
        return Groups().Sum(g => GroupLogPrior(usual[g[0]]));
    }

    public override double LogPrior(BlockState state) => LogPrior((GaussianParameters[])state.Usual);

    protected override BlockState FromTyped(GaussianParameters[] components)
    {
        int d = Dimension, s = StatisticCount;
        var natural = new double[Components * s];
        for (int k = 0; k < Components; k++)
        {
            var p = components[k];
            if (p.Dimension != d) throw new ArgumentException($"Block '{Name}', component {k}: expected a {d}-dimensional Gaussian, got {p.Dimension} dimensions.");
            bool sameCovariance = p.Covariance.Values.SequenceEqual(components[0].Covariance.Values);
            if (_tied && !sameCovariance)
                throw new ArgumentException($"Block '{Name}' has a tied covariance, but component {k}'s covariance differs from component 0's.");
            if (Block.Sharing == Sharing.Shared && !(sameCovariance && p.Mean.SequenceEqual(components[0].Mean)))
                throw new ArgumentException($"Block '{Name}' is shared, but initial parameters of component {k} differ from component 0.");
            var framed = new GaussianParameters(p.Mean.Select((m, i) => m - _origin[i]), p.Covariance);
            try { _family.ToNatural(framed).CopyTo(natural, k * s); }
            catch (ArgumentException e) { throw new ArgumentException($"Block '{Name}', component {k}: {e.Message}", e); }
        }
        return CreateState(natural, components.ToArray());
    }
}
