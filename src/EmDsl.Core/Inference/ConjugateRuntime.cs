using EmDsl.Building;
using EmDsl.Families;
using EmDsl.Families.Priors;

namespace EmDsl.Inference;

/// <summary>
/// The M-step of a block whose family has a closed-form inverse mean map: for each group of components
/// that share parameters, η = (∇A)⁻¹((φ + S)/(ν + R)), with the mean parameter first kept off the
/// domain's boundary by <see cref="FitOptions.ProbabilityFloor"/>.
/// </summary>
internal sealed class ConjugateRuntime<TParameters> : BlockRuntime<TParameters>
{
    private readonly ExponentialFamily<TParameters> _family;
    private readonly ConjugatePrior? _prior;

    public ConjugateRuntime(ConjugateBlock<TParameters> block, int components) : base(block, components)
    {
        _family = block.Family;
        _prior = block.Prior;
    }

    public override BlockState MStep(ReadOnlySpan<double> statistics, ReadOnlySpan<double> counts, BlockState? previous, MStepContext context)
    {
        int s = StatisticCount;
        var natural = new double[Components * s];
        var sum = new double[s];
        var eta = new double[s];
        foreach (var group in Groups())
        {
            SumGroup(statistics, counts, group, sum, out double count);
            string who = group.Length == 1 ? $"component {group[0]}" : "the shared parameters";
            if (count <= context.EmptyMass)
            {
                if (previous is not null) { CopyGroup(previous.Natural, natural, group); continue; }
                SumGroup(statistics, counts, AllComponents(), sum, out count);
                if (Block.Sharing == Sharing.PerComponent)
                    context.Log.Add(FitEventKind.InitializationFallback, Name, group[0], "no data in the initial responsibilities; starting from the estimate on all rows");
            }
            if (!TryEstimate(sum, count, context.Options.ProbabilityFloor, eta, out var reason))
            {
                if (previous is null)
                    throw new InvalidOperationException($"Block '{Name}': cannot estimate initial parameters of {who}: {reason}.");
                context.Log.Add(FitEventKind.MStepRejected, Name, group.Length == 1 ? group[0] : null, reason + "; previous parameters kept");
                CopyGroup(previous.Natural, natural, group);
                continue;
            }
            foreach (int k in group) eta.CopyTo(natural, k * s);
            if (previous is not null)
            {
                double qNew = ExpectedLogLikelihood(natural, statistics, counts, group) + GroupLogPrior(natural, group[0]);
                double qOld = ExpectedLogLikelihood(previous.Natural, statistics, counts, group) + GroupLogPrior(previous.Natural, group[0]);
                if (!MStepContext.NotWorse(qNew, qOld))
                {
                    context.Log.Add(FitEventKind.MStepRejected, Name, group.Length == 1 ? group[0] : null,
                        $"the floored estimate lowers the expected complete-data objective ({qNew:G10} < {qOld:G10}); previous parameters kept");
                    CopyGroup(previous.Natural, natural, group);
                }
            }
        }
        return CreateState(natural, UsualOf(natural));
    }

    private bool TryEstimate(ReadOnlySpan<double> sum, double count, double floor, Span<double> eta, out string reason)
    {
        int s = StatisticCount;
        Span<double> mean = stackalloc double[s];
        if (_prior is not null)
        {
            if (!(_prior.PseudoCount + count > 0)) { reason = "no data and no prior pseudo-counts"; return false; }
            _prior.PosteriorMeanParameter(sum, count, mean);
        }
        else
        {
            if (!(count > 0)) { reason = "no data"; return false; }
            for (int i = 0; i < s; i++) mean[i] = sum[i] / count;
        }
        _family.ProjectMeanIntoDomain(mean, floor);
        if (!_family.IsMeanParameter(mean)) { reason = "the expected statistics are outside the family's mean domain"; return false; }
        _family.InverseMeanMap(mean, eta);
        if (!_family.IsNaturalParameter(eta)) { reason = "the estimate has no finite natural parameter"; return false; }
        reason = "";
        return true;
    }

    private double GroupLogPrior(ReadOnlySpan<double> natural, int k) =>
        _prior is null ? 0 : _prior.LogDensity(natural.Slice(k * StatisticCount, StatisticCount));

    public override double LogPrior(BlockState state)
    {
        if (_prior is null) return 0;
        return Groups().Sum(g => GroupLogPrior(state.Natural, g[0]));
    }

    private void CopyGroup(double[] from, double[] to, int[] group)
    {
        int s = StatisticCount;
        foreach (int k in group) Array.Copy(from, k * s, to, k * s, s);
    }

    private TParameters[] UsualOf(double[] natural)
    {
        int s = StatisticCount;
        var usual = new TParameters[Components];
        for (int k = 0; k < Components; k++) usual[k] = _family.FromNatural(natural.AsSpan(k * s, s));
        return usual;
    }

    protected override BlockState FromTyped(TParameters[] components)
    {
        int s = StatisticCount;
        var natural = new double[Components * s];
        for (int k = 0; k < Components; k++)
        {
            double[] eta;
            try { eta = _family.ToNatural(components[k]); }
            catch (ArgumentException e) { throw new ArgumentException($"Block '{Name}', component {k}: {e.Message}", e); }
            eta.CopyTo(natural, k * s);
        }
        if (Block.Sharing == Sharing.Shared)
            for (int k = 1; k < Components; k++)
                if (!natural.AsSpan(k * s, s).SequenceEqual(natural.AsSpan(0, s)))
                    throw new ArgumentException($"Block '{Name}' is shared, but initial parameters of component {k} differ from component 0.");
        return CreateState(natural, components.ToArray());
    }
}
