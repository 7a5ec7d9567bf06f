using EmDsl.Building;
using EmDsl.Families;
using EmDsl.Families.Priors;

namespace EmDsl.Inference;

/// <summary>
/// The M-step of a block whose family has an inverse mean map (closed form, or iterative for families such as
/// the Gamma or a user-declared one): for each group of states that share parameters,
/// η = (∇A)⁻¹((φ + S)/(ν + R)), with the mean parameter first kept off the domain's boundary by
/// <see cref="FitOptions.ProbabilityFloor"/>. Its statistics are the per-state sums S_k = Σ w q T(x) of the
/// engine's shared product.
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

    public override Statistics CreateStatistics(BlockState? state) => new ComponentStatistics(Components, StatisticCount);

    public override BlockState MStep(Statistics statistics, BlockState? previous, MStepContext context)
    {
        var stats = (ComponentStatistics)statistics;
        int s = StatisticCount;
        var natural = new double[Components * s];
        var usual = new TParameters[Components];
        var sum = new double[s];
        var eta = new double[s];
        foreach (var group in Groups())
        {
            SumGroup(stats, group, sum, out double count);
            int? component = Member(group);
            string who = component is null ? "the shared parameters" : $"component {component}";
            bool empty = count <= context.EmptyMass;
            if (empty && previous is not null) { KeepPrevious(previous, natural, usual, group); continue; }
            string reason = "no data in the initial responsibilities";
            bool floored = false;
            if ((empty || !TryEstimate(sum, count, context.Options.ProbabilityFloor, eta, out floored, out reason)) && previous is null && component is not null)
            {
                // An initial component with no data, or a degenerate one (one distinct value, say, whose statistics no
                // distribution of a family without floors matches), starts from the estimate on all rows.
                SumGroup(stats, AllComponents(), sum, out count);
                if (TryEstimate(sum, count, context.Options.ProbabilityFloor, eta, out floored, out _))
                {
                    context.Log.Add(FitEventKind.InitializationFallback, Name, component, reason + "; starting from the estimate on all rows");
                    reason = "";
                }
            }
            if (reason.Length > 0)
            {
                if (previous is null)
                    throw new InvalidOperationException($"Block '{Name}': cannot estimate initial parameters of {who}: {reason}.");
                context.Invalid(Name, component, reason);
                KeepPrevious(previous, natural, usual, group);
                continue;
            }
            var parameters = _family.FromNatural(eta);
            foreach (int k in group)
            {
                eta.CopyTo(natural, k * s);
                usual[k] = parameters;
            }
            if (previous is null) continue;
            if (floored) context.NoteFloored();
            var kind = !floored && _family.HasClosedFormInverse ? CandidateKind.Exact : CandidateKind.Approximate;
            if (!context.MustCompare(kind)) { context.TakenWithoutComparison(Name); continue; }
            double qNew = NaturalExpectedLogLikelihood(natural, stats, group) + GroupLogPrior(natural, group[0]);
            double qOld = NaturalExpectedLogLikelihood(previous.Natural, stats, group) + GroupLogPrior(previous.Natural, group[0]);
            if (!context.Judge(kind, qNew, qOld, Name, component, floored ? "floored estimate" : "estimate"))
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

    /// <summary>
    /// η for a group's summed statistics, its mean parameter first projected into the domain; <paramref name="floored"/>
    /// says whether the projection moved it (then the estimate is not the exact maximiser of Q).
    /// </summary>
    private bool TryEstimate(ReadOnlySpan<double> sum, double count, double floor, Span<double> eta, out bool floored, out string reason)
    {
        int s = StatisticCount;
        floored = false;
        var mean = new double[s];
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
        var before = (double[])mean.Clone();
        _family.ProjectMeanIntoDomain(mean, floor);
        floored = !before.AsSpan().SequenceEqual(mean);
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

    public override double ExpectedLogLikelihood(Statistics statistics, BlockState state) =>
        NaturalExpectedLogLikelihood(state.Natural, (ComponentStatistics)statistics, AllComponents());

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
