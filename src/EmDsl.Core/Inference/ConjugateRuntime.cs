using EmDsl.Building;
using EmDsl.Families;
using EmDsl.Families.Priors;

namespace EmDsl.Inference;

/// <summary>
/// The M-step of a block whose family has an inverse mean map (closed form, or iterative for families such as
/// the Gamma or a user-declared one): for each group of components
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
        var usual = new TParameters[Components];
        var sum = new double[s];
        var eta = new double[s];
        foreach (var group in Groups())
        {
            SumGroup(statistics, counts, group, sum, out double count);
            int? component = group.Length == 1 ? group[0] : null;
            string who = component is null ? "the shared parameters" : $"component {component}";
            bool empty = count <= context.EmptyMass;
            if (empty && previous is not null) { KeepPrevious(previous, natural, usual, group); continue; }
            string reason = "no data in the initial responsibilities";
            if ((empty || !TryEstimate(sum, count, context.Options.ProbabilityFloor, eta, out reason)) && previous is null && component is not null)
            {
                // An initial component with no data, or a degenerate one (one distinct value, say, whose statistics no
                // distribution of a family without floors matches), starts from the estimate on all rows.
                SumGroup(statistics, counts, AllComponents(), sum, out count);
                if (TryEstimate(sum, count, context.Options.ProbabilityFloor, eta, out _))
                {
                    context.Log.Add(FitEventKind.InitializationFallback, Name, component, reason + "; starting from the estimate on all rows");
                    reason = "";
                }
            }
            if (reason.Length > 0)
            {
                if (previous is null)
                    throw new InvalidOperationException($"Block '{Name}': cannot estimate initial parameters of {who}: {reason}.");
                context.Log.Add(FitEventKind.MStepRejected, Name, component, reason + "; previous parameters kept");
                KeepPrevious(previous, natural, usual, group);
                continue;
            }
            var parameters = _family.FromNatural(eta);
            foreach (int k in group)
            {
                eta.CopyTo(natural, k * s);
                usual[k] = parameters;
            }
            if (previous is null || context.AlwaysTakeFloored) continue;
            double qNew = ExpectedLogLikelihood(natural, statistics, counts, group) + GroupLogPrior(natural, group[0]);
            double qOld = ExpectedLogLikelihood(previous.Natural, statistics, counts, group) + GroupLogPrior(previous.Natural, group[0]);
            if (MStepContext.NotWorse(qNew, qOld)) continue;
            if (qOld - qNew > MStepContext.NegligibleLoss(qOld))
                context.Log.Add(FitEventKind.MStepRejected, Name, component,
                    $"the floored estimate lowers the expected complete-data objective ({qNew:G12} < {qOld:G12}); previous parameters kept");
            KeepPrevious(previous, natural, usual, group);
        }
        return CreateState(natural, usual);
    }

    /// <summary>Carries a group's previous parameters over exactly (natural and usual, no round trip).</summary>
    private void KeepPrevious(BlockState previous, double[] natural, TParameters[] usual, int[] group)
    {
        int s = StatisticCount;
        var old = (TParameters[])previous.Usual;
        foreach (int k in group)
        {
            Array.Copy(previous.Natural, k * s, natural, k * s, s);
            usual[k] = old[k];
        }
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
        try { _family.InverseMeanMap(mean, eta); }
        catch (ArgumentException e)
        {
            // A numeric inverse that cannot reach these statistics says why; the M-step keeps the previous parameters.
            reason = e.Message.TrimEnd('.');
            return false;
        }
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
