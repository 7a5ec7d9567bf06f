using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Families;
using EmDsl.Numerics;

namespace EmDsl.Inference;

/// <summary>
/// The factor block (see <see cref="Blocks.Factor(string, IEnumerable{int}, int, NoiseModel, bool, FactorPrior, Sharing, double, int)"/>): per state k, x ~ N(μ_k, Λ_kΛ_kᵀ + Ψ_k) with the factors
/// integrated out. E-step terms through <see cref="FactorAlgebra"/> (q × q solves); statistics are the centred
/// moments of x about each state's current mean (<see cref="CentredMoments"/>), the responsibility-weighted
/// covariance S_k being all the M-step needs — the factors' expected statistics E[z]… are linear in x, so
/// Ghahramani &amp; Hinton's Σ r E[z|x] xᵀ is β_k S_k, and no per-row factor posterior is ever stored.
/// <para>
/// M-step per set of coupled states (one state; or all of them when Ψ is shared): μ_k = x̄_k exactly, then ECME
/// rounds on (Λ, Ψ): Λ ← the profile maximiser given Ψ (or, with a loadings prior, its conditional MAP), Ψ ← the
/// factor-analysis EM update (MAP under the inverse-gamma prior, held at the floor), which each raise
/// Q + log prior. Isotropic noise without a prior or sharing is the closed form of probabilistic PCA.
/// </para>
/// </summary>
internal sealed class FactorRuntime : BlockRuntime<FactorParameters>
{
    private readonly FactorBlock _block;
    private readonly GaussianFamily _family;
    private readonly int _q;
    private readonly double[] _origin;
    private readonly double[] _floor;

    /// <summary>
    /// Per group (by its first state), the leading eigenvectors of its last profile: they start the next M-step's
    /// subspace iterations. M-steps run one at a time and in a fixed order, so this stays deterministic.
    /// </summary>
    private readonly Dictionary<int, double[]> _bases = [];

    public FactorRuntime(FactorBlock block, int components, DataMatrix data, ReadOnlySpan<double> weights) : base(block, components)
    {
        _block = block;
        _family = (GaussianFamily)block.Family;
        _q = block.Factors;
        int d = Dimension;
        _origin = CentredMoments.WeightedMean(block.Columns, data, weights);
        var variance = CentredMoments.WeightedVariance(block.Columns, data, weights, _origin);
        _floor = new double[d];
        if (block.Columns.Max() < data.Columns)
        {
            if (data.Rows <= d)
                throw new ArgumentException(
                    $"Block '{Name}': {data.Rows} rows for {d} columns; a factor model needs more rows than columns (its sample covariance is singular otherwise).");
            for (int j = 0; j < d; j++)
            {
                double scale = 4 * double.Epsilon + 8 * Math.Abs(_origin[j]) * 1.1102230246251565e-16;
                if (!(variance[j] > scale * scale))
                    throw new ArgumentException(
                        $"Block '{Name}': column {block.Columns[j]} is constant (every row is {_origin[j]:G17}); a factor model needs every column to vary. Drop the column from the block.");
            }
        }
        double mean = variance.Average();
        for (int j = 0; j < d; j++) _floor[j] = block.NoiseFloor * (block.Noise == NoiseModel.Isotropic ? mean : variance[j]);
    }

    private bool Isotropic => _block.Noise == NoiseModel.Isotropic;

    private FactorPrior? Prior => _block.Prior;

    // ---- E-step ----

    public override bool SharesFrame => false;

    public override int ScratchPerRow => 2 * Dimension + 2 * _q;

    private IReadOnlyList<double> Frame(BlockState? state, int k) => state is null ? _origin : ((FactorParameters[])state.Usual)[k].Mean;

    /// <summary>Adds −½ (x − μ_k)ᵀ(Λ_kΛ_kᵀ + Ψ_k)⁻¹(x − μ_k) per row and state; ½ log|C_k| is A and log h = −(D/2) log 2π.</summary>
    public override void AddComponentTerms(DataChunk data, BlockState state, Span<double> logJoint, Span<double> scratch)
    {
        int d = Dimension, k0 = Components, rows = data.Rows;
        var y = scratch.Slice(0, rows * d);
        var scores = scratch.Slice(rows * d, rows * Math.Max(_q, 1));
        var distance = scratch.Slice(rows * d + rows * Math.Max(_q, 1), rows);
        var algebra = (FactorAlgebra[])state.Evaluation!;
        for (int k = 0; k < k0; k++)
        {
            CentredMoments.Centred(this, data, algebra[k].Mean, y);
            algebra[k].Mahalanobis(y, rows, scores, distance);
            for (int i = 0; i < rows; i++) logJoint[i * k0 + k] -= 0.5 * distance[i];
        }
    }

    public override Statistics CreateStatistics(BlockState? state) =>
        new ComponentStatistics(Components, StatisticCount, Enumerable.Range(0, Components).Select(k => Frame(state, k)).ToArray());

    public override void Accumulate(DataChunk data, ReadOnlySpan<double> responsibilities, Statistics into, Span<double> scratch) =>
        CentredMoments.Accumulate(this, CovarianceStructure.Full, data, responsibilities, (ComponentStatistics)into, scratch);

    // ---- M-step ----

    /// <summary>One group of states with common parameters, its statistics and its parameters during the M-step.</summary>
    private sealed class Work
    {
        public required int[] Members;
        public double Count;
        /// <summary>x̄ in the user's coordinates.</summary>
        public double[] Mean = [];
        /// <summary>The weighted covariance about x̄ (D × D).</summary>
        public double[] Covariance = [];
        public double[] Loadings = [];
        public double[] Noise = [];
        /// <summary>The leading eigenvectors of the last profile (D × m), which start the next one.</summary>
        public double[]? Basis;
        public bool Empty;
        public int? Component => Members.Length == 1 ? Members[0] : null;
    }

    public override BlockState MStep(Statistics statistics, BlockState? previous, MStepContext context)
    {
        var stats = (ComponentStatistics)statistics;
        var usual = new FactorParameters[Components];
        var old = (FactorParameters[]?)previous?.Usual;
        var works = Groups().Select(g => Prepare(stats, g, old, context)).ToList();
        foreach (var w in works.Where(w => w.Empty))
            foreach (int k in w.Members) usual[k] = old![k];
        var live = works.Where(w => !w.Empty).ToList();
        var sets = _block.SharedNoise ? [live] : live.Select(w => new List<Work> { w }).ToList();
        foreach (var set in sets.Where(s => s.Count > 0))
        {
            Start(set, old);
            bool exact = Improve(set);
            NoteFloors(set, old, context);
            if (SeededNoiseFault.Value is { } fault)
                foreach (var w in set) w.Noise = w.Noise.Select(v => v * fault).ToArray();
            var candidate = set.Select(w => new FactorParameters(w.Mean, ReadOnlyMatrix.FromRowMajor(w.Loadings, Dimension, _q), w.Noise)).ToArray();
            bool take = true;
            if (old is not null)
            {
                var kind = exact ? CandidateKind.Exact : CandidateKind.Approximate;
                if (context.MustCompare(kind))
                {
                    double qNew = SetObjective(set, candidate), qOld = SetObjective(set, set.Select(w => old[w.Members[0]]).ToArray());
                    take = context.Judge(kind, qNew, qOld, Name, set.Count == 1 ? set[0].Component : null, "factor M-step");
                }
                else context.TakenWithoutComparison(Name);
            }
            for (int i = 0; i < set.Count; i++)
                foreach (int k in set[i].Members) usual[k] = take ? candidate[i] : old![k];
            // Shared noise: an empty group keeps its mean and loadings but takes the new common Ψ.
            if (take && _block.SharedNoise)
                foreach (var w in works.Where(w => w.Empty))
                    foreach (int k in w.Members) usual[k] = new FactorParameters(old![k].Mean, old[k].Loadings, candidate[0].NoiseVariances);
        }
        return StateOf(usual);
    }

    /// <summary>
    /// Test-only fault injection, per asynchronous flow: when set, every noise-variance candidate is multiplied by this
    /// factor — a deliberately wrong M-step, with which the suite proves that its free-energy properties can fail.
    /// Never set outside tests.
    /// </summary>
    internal static readonly AsyncLocal<double?> SeededNoiseFault = new();

    /// <summary>The group's count, mean and covariance; empty groups keep their parameters (at the start: all rows).</summary>
    private Work Prepare(ComponentStatistics stats, int[] group, FactorParameters[]? old, MStepContext context)
    {
        int d = Dimension, s = StatisticCount;
        var work = new Work { Members = group };
        var sum = new double[s];
        SumGroup(stats, group, sum, out double count);
        if (count <= context.EmptyMass)
        {
            if (old is not null) { work.Empty = true; return work; }
            context.Log.Add(FitEventKind.InitializationFallback, Name, work.Component, "no data in the initial responsibilities; starting from the estimate on all rows");
            SumGroup(stats, AllComponents(), sum, out count);
        }
        var frame = stats.Centres![group[0]];
        var meanParameter = new double[s];
        for (int i = 0; i < s; i++) meanParameter[i] = sum[i] / count;
        work.Count = count;
        work.Covariance = new double[d * d];
        _family.CovarianceFromMean(meanParameter, work.Covariance);
        work.Mean = new double[d];
        for (int i = 0; i < d; i++) work.Mean[i] = frame[i] + meanParameter[i];
        for (int i = 0; i < d * d; i++)
            if (!double.IsFinite(work.Covariance[i]))
                throw new InvalidOperationException($"Block '{Name}': the weighted covariance of {Who(work)} is not finite (values too large to square?).");
        return work;
    }

    private static string Who(Work w) => w.Component is { } k ? $"component {k}" : "the shared parameters";

    /// <summary>Starting (Λ, Ψ): the previous parameters, or at initialisation probabilistic PCA's loadings and Ψ = diag(S)/2.</summary>
    private void Start(List<Work> set, FactorParameters[]? old)
    {
        int d = Dimension, q = _q;
        foreach (var w in set)
        {
            if (old is not null)
            {
                var p = old[w.Members[0]];
                w.Loadings = p.Loadings.Values.ToArray();
                w.Noise = p.NoiseVariances.ToArray();
                continue;
            }
            w.Loadings = new double[d * q];
            w.Noise = new double[d];
            if (Isotropic) { ClosedFormPpca(w); continue; }
            for (int i = 0; i < d; i++) w.Noise[i] = Math.Max(0.5 * w.Covariance[i * d + i], _floor[i]);
            w.Basis = BasisOf(w); // none yet: the first profile decomposes in full
            FactorAlgebra.ProfileLoadings(w.Covariance, w.Noise, d, q, w.Loadings, w.Basis);
        }
        if (old is null && _block.SharedNoise) PoolNoise(set);
    }

    /// <summary>At the start with shared noise: one Ψ, the count-weighted average of the groups' starts.</summary>
    private void PoolNoise(List<Work> set)
    {
        int d = Dimension;
        double total = set.Sum(w => w.Count);
        var pooled = new double[d];
        foreach (var w in set)
            for (int i = 0; i < d; i++) pooled[i] += w.Count / total * w.Noise[i];
        foreach (var w in set) w.Noise = pooled.ToArray();
    }

    /// <summary>Probabilistic PCA's maximum-likelihood (Λ, σ²) for the group's covariance (Tipping &amp; Bishop 1999, eq. 7–8), σ² held at the floor.</summary>
    private bool ClosedFormPpca(Work w)
    {
        int d = Dimension, q = _q;
        var values = new double[d];
        var vectors = new double[d * d];
        SymmetricEigen.Decompose(w.Covariance, d, values, vectors);
        double sigma2 = 0;
        for (int i = q; i < d; i++) sigma2 += values[i] / (d - q);
        bool floored = sigma2 < _floor[0];
        sigma2 = Math.Max(sigma2, _floor[0]);
        for (int a = 0; a < q; a++)
        {
            double f = Math.Sqrt(Math.Max(values[a] - sigma2, 0));
            for (int i = 0; i < d; i++) w.Loadings[i * q + a] = vectors[i * d + a] * f;
        }
        Array.Fill(w.Noise, sigma2);
        return !floored;
    }

    /// <summary>
    /// Raises Q + log prior of the set (or solves it in closed form); true when the result is the exact maximiser
    /// (probabilistic PCA's closed form, unfloored). With a loadings prior: ECME rounds (Λ's conditional MAP, then Ψ's
    /// EM update). Otherwise Λ is always at its exact maximiser given Ψ, and Ψ climbs the resulting profile objective:
    /// first a few ECME rounds (robust, and exact at the floors), then a bounded quasi-Newton ascent in log ψ
    /// (<see cref="QuasiNewton"/>) whose every step is a line-searched increase. Plain factor-analysis EM crawls when a
    /// variance heads for zero (scikit-learn stops short of the optimum there); the quasi-Newton ascent converges
    /// superlinearly and never lowers the objective.
    /// </summary>
    private bool Improve(List<Work> set)
    {
        bool loadingsPrior = Prior?.LoadingsPrecision is not null;
        if (Isotropic && Prior is null && !_block.SharedNoise) return ClosedFormPpca(set[0]);
        if (!loadingsPrior) Profile(set);
        int ecme = loadingsPrior ? _block.MStepIterations : Math.Min(3, _block.MStepIterations);
        for (int round = 0; round < ecme; round++)
        {
            double change = UpdateNoise(set, set.Select(EmRound).ToList());
            if (!loadingsPrior) Profile(set);
            if (change <= 1e-12) break;
        }
        if (!loadingsPrior && _q > 0) QuasiNewton(set, _block.MStepIterations); // q = 0: the EM update is already exact
        return false;
    }

    /// <summary>
    /// Bounded BFGS ascent of the profile objective f(θ) = Σ_groups Q(Λ*(Ψ), Ψ) + log p(Ψ) over θ = log ψ (one θ per
    /// column, or one for isotropic noise; common to the set when Ψ is shared), with θ ≥ log floor: coordinates at their
    /// floor whose gradient points below it are held, the rest take the quasi-Newton direction, and a step is taken only
    /// when a backtracking line search finds an Armijo increase. By the envelope theorem the gradient is
    /// ∂f/∂ψ_j = −½ R [(C⁻¹)_jj − (C⁻¹SC⁻¹)_jj] at Λ = Λ*(Ψ).
    /// </summary>
    private void QuasiNewton(List<Work> set, int iterations)
    {
        int d = Dimension, p = Isotropic ? 1 : d;
        var theta = new double[p];
        var lower = new double[p];
        for (int j = 0; j < p; j++) { theta[j] = Math.Log(set[0].Noise[j]); lower[j] = Math.Log(_floor[j]); }
        double f = ProfileObjective(set, theta, out var g);
        double negligible = 1e-10 * set.Sum(w => w.Count); // |∂f/∂θ| below this is rounding in Q's statistics
        var h = new double[p * p]; // inverse-Hessian approximation of −f
        bool fresh = true;
        for (int it = 0; it < iterations && double.IsFinite(f); it++)
        {
            var active = new bool[p];
            for (int j = 0; j < p; j++) active[j] = theta[j] <= lower[j] + 1e-12 && g[j] < 0;
            bool restarted = fresh;
            if (fresh)
            {
                double scale = 1 / Math.Max(1e-300, Enumerable.Range(0, p).Where(j => !active[j]).Select(j => Math.Abs(g[j])).DefaultIfEmpty(0).Max());
                Array.Clear(h);
                for (int j = 0; j < p; j++) h[j * p + j] = Math.Min(scale, 1e6);
                fresh = false;
            }
            double steepest = Enumerable.Range(0, p).Where(j => !active[j]).Select(j => Math.Abs(g[j])).DefaultIfEmpty(0).Max();
            if (steepest <= negligible)
            {
                if (Snap(set, ref theta, ref f, ref g, lower)) { fresh = true; continue; }
                break;
            }
            var direction = new double[p];
            for (int i = 0; i < p; i++)
            {
                if (active[i]) continue;
                for (int j = 0; j < p; j++) if (!active[j]) direction[i] += h[i * p + j] * g[j];
            }
            double slope = 0;
            for (int j = 0; j < p; j++) slope += g[j] * direction[j];
            if (!(slope > 0))
            {
                if (restarted) break; // no ascent direction even along the gradient: at a (bounded) stationary point
                fresh = true;
                continue;
            }
            double longest = direction.Max(Math.Abs);
            double t = Math.Min(1, 4 / longest), fNew = double.NegativeInfinity; // at most a factor e⁴ per step
            double[] next = new double[p], gNew = [];
            bool moved = false;
            for (int backtrack = 0; backtrack < 12; backtrack++, t *= 0.5)
            {
                double gain = 0;
                for (int j = 0; j < p; j++)
                {
                    next[j] = Math.Max(theta[j] + t * direction[j], lower[j]);
                    gain += g[j] * (next[j] - theta[j]);
                }
                if (gain <= 0) break;
                fNew = ProfileObjective(set, next, out gNew);
                if (fNew > f && fNew >= f + 1e-4 * gain) { moved = true; break; }
            }
            if (!moved)
            {
                if (restarted) break;
                fresh = true; // restart from a scaled gradient step once before giving up
                continue;
            }
            // BFGS update of the inverse Hessian of −f with s = Δθ, y = −Δg.
            var sv = new double[p];
            var yv = new double[p];
            double sy = 0, ss = 0, yy = 0;
            for (int j = 0; j < p; j++) { sv[j] = next[j] - theta[j]; yv[j] = g[j] - gNew[j]; sy += sv[j] * yv[j]; ss += sv[j] * sv[j]; yy += yv[j] * yv[j]; }
            if (sy > 1e-12 * Math.Sqrt(ss * yy)) BfgsUpdate(h, sv, yv, sy, p);
            double improvement = fNew - f;
            theta = next.ToArray();
            f = fNew;
            g = gNew;
            if (improvement <= 1e-14 * Math.Abs(f)) break; // at the precision of f itself
        }
        for (int i = 0; i < set.Count; i++)
            for (int j = 0; j < d; j++) set[i].Noise[j] = NoiseOf(theta, j);
        Profile(set);
    }

    /// <summary>
    /// At convergence, a variance far below its column's variance whose gradient still points down is heading for the
    /// floor at a speed that vanishes with ψ (∂f/∂θ = ψ ∂f/∂ψ): put every such variance on its floor, if that does not
    /// lower f, so that a Heywood case ends on the floor (and is reported) instead of just above it.
    /// </summary>
    private bool Snap(List<Work> set, ref double[] theta, ref double f, ref double[] g, double[] lower)
    {
        int d = Dimension;
        var next = theta.ToArray();
        bool any = false;
        for (int j = 0; j < theta.Length; j++)
        {
            double variance = set.Max(w => w.Covariance[j * d + j]);
            if (theta[j] > lower[j] && g[j] < 0 && Math.Exp(theta[j]) < 1e-6 * variance) { next[j] = lower[j]; any = true; }
        }
        if (!any) return false;
        double fNew = ProfileObjective(set, next, out var gNew);
        if (!(fNew >= f)) { ProfileObjective(set, theta, out _); return false; }
        theta = next;
        f = fNew;
        g = gNew;
        return true;
    }

    /// <summary>ψ_j = e^θ, exactly the floor when θ is at log floor (e^(log x) need not be x).</summary>
    private double NoiseOf(double[] theta, int j)
    {
        double t = theta[Isotropic ? 0 : j];
        return t <= Math.Log(_floor[j]) ? _floor[j] : Math.Max(Math.Exp(t), _floor[j]);
    }

    private static void BfgsUpdate(double[] h, double[] s, double[] y, double sy, int p)
    {
        double rho = 1 / sy;
        var hy = new double[p];
        for (int i = 0; i < p; i++)
            for (int j = 0; j < p; j++) hy[i] += h[i * p + j] * y[j];
        double yhy = 0;
        for (int i = 0; i < p; i++) yhy += y[i] * hy[i];
        for (int i = 0; i < p; i++)
            for (int j = 0; j < p; j++)
                h[i * p + j] += (1 + rho * yhy) * rho * s[i] * s[j] - rho * (hy[i] * s[j] + s[i] * hy[j]);
    }

    /// <summary>f(θ) and ∂f/∂θ (see <see cref="QuasiNewton"/>); the set's loadings are left at Λ*(e^θ).</summary>
    private double ProfileObjective(List<Work> set, double[] theta, out double[] gradient)
    {
        int d = Dimension, p = theta.Length;
        var psi = new double[d];
        for (int j = 0; j < d; j++) psi[j] = NoiseOf(theta, j);
        gradient = new double[p];
        if (psi.Any(v => !(v < 1e300))) return double.NegativeInfinity; // a step too far: the line search backs off
        double f = 0;
        var l = new double[d * d];
        var x = new double[d * d];
        var a = new double[d * d];
        var y = new double[d * d];
        var backend = ComputeBackend.Current;
        foreach (var w in set)
        {
            psi.AsSpan().CopyTo(w.Noise);
            FactorAlgebra.ProfileLoadings(w.Covariance, psi, d, _q, w.Loadings, w.Basis);
            var c = FactorAlgebra.Covariance(w.Loadings, psi, d, _q);
            if (!SymmetricMatrix.TryCholesky(c, d, l)) { gradient = new double[p]; return double.NegativeInfinity; }
            // X = L⁻¹, so C⁻¹ = XᵀX; Y = X S Xᵀ (tr Y = tr C⁻¹S); diag(C⁻¹SC⁻¹)_j = (XᵀYX)_jj.
            Array.Clear(x);
            for (int i = 0; i < d; i++) x[i * d + i] = 1;
            backend.SolveLowerInPlace(l, d, x, d, transpose: false);
            backend.Gemm(false, false, d, d, d, 1.0, x, d, w.Covariance, d, 0.0, a, d);
            backend.Gemm(false, true, d, d, d, 1.0, a, d, x, d, 0.0, y, d);
            backend.Gemm(false, false, d, d, d, 1.0, y, d, x, d, 0.0, a, d); // a = Y X
            double trace = 0;
            for (int i = 0; i < d; i++) trace += y[i * d + i];
            f += -0.5 * w.Count * (SymmetricMatrix.LogDeterminantFromCholesky(l, d) + trace);
            for (int j = 0; j < d; j++)
            {
                double inverse = 0, sandwich = 0;
                for (int i = 0; i < d; i++)
                {
                    inverse += x[i * d + j] * x[i * d + j];
                    sandwich += x[i * d + j] * a[i * d + j];
                }
                gradient[Isotropic ? 0 : j] += -0.5 * w.Count * (inverse - sandwich) * psi[j];
            }
        }
        if (Prior is not null)
        {
            f += Isotropic ? Prior.NoiseLogDensity(psi[0]) : psi.Sum(Prior.NoiseLogDensity);
            for (int j = 0; j < p; j++) gradient[j] += -(Prior.NoiseShape + 1) + Prior.NoiseScale / psi[j];
        }
        return f;
    }

    /// <summary>Λ ← its exact maximiser given Ψ, for every group of the set.</summary>
    private void Profile(List<Work> set)
    {
        foreach (var w in set)
        {
            w.Basis ??= BasisOf(w);
            FactorAlgebra.ProfileLoadings(w.Covariance, w.Noise, Dimension, _q, w.Loadings, w.Basis);
        }
    }

    /// <summary>The group's kept basis, or one marked unusable (NaN first entry) so that its first profile decomposes in full.</summary>
    private double[] BasisOf(Work w)
    {
        if (_bases.TryGetValue(w.Members[0], out var kept)) return kept;
        var basis = new double[Dimension * FactorAlgebra.BasisWidth(Dimension, _q)];
        basis[0] = double.NaN;
        return _bases[w.Members[0]] = basis;
    }

    /// <summary>
    /// One factor-analysis EM update of the group's loadings from its covariance S at the current (Λ, Ψ): with
    /// β = M⁻¹ΛᵀΨ⁻¹, E = M⁻¹ + βSβᵀ (the average E[zzᵀ]) and SBᵀ = Sβᵀ (the average E[(x − μ)zᵀ]),
    /// Λ' = SBᵀ E⁻¹ (row d: SBᵀ_d (E + λψ_d/R · I)⁻¹ under a loadings prior). Returns the expected squared
    /// residual per column, v_d = S_dd − 2Λ'_d·SBᵀ_d + Λ'_d E Λ'_dᵀ, which the Ψ update needs.
    /// </summary>
    private double[] EmRound(Work w)
    {
        int d = Dimension, q = _q;
        var v = new double[d];
        if (q == 0)
        {
            for (int i = 0; i < d; i++) v[i] = w.Covariance[i * d + i];
            return v;
        }
        var algebra = new FactorAlgebra(w.Mean, w.Loadings, w.Noise);
        // βᵀ (D × q): row i is M⁻¹ (Ψ⁻¹Λ)_i.
        var betaT = algebra.ScaledLoadings.ToArray();
        for (int i = 0; i < d; i++) FactorAlgebra.SolveWithFactor(algebra.Factor, q, betaT.AsSpan(i * q, q));
        var sb = new double[d * q]; // S βᵀ
        for (int i = 0; i < d; i++)
            for (int k = 0; k < d; k++)
            {
                double s = w.Covariance[i * d + k];
                if (s == 0) continue;
                for (int a = 0; a < q; a++) sb[i * q + a] += s * betaT[k * q + a];
            }
        var e = algebra.PosteriorCovariance();
        for (int a = 0; a < q; a++)
            for (int b = 0; b < q; b++)
            {
                double s = 0;
                for (int i = 0; i < d; i++) s += betaT[i * q + a] * sb[i * q + b];
                e[a * q + b] += s;
            }
        SymmetricMatrix.Symmetrize(e, q);
        var factor = new double[q * q];
        double? precision = Prior?.LoadingsPrecision;
        var row = new double[q];
        var shifted = new double[q * q];
        bool shared = precision is null && FactorAlgebra.ManagedCholesky(e, q, factor);
        for (int i = 0; i < d; i++)
        {
            for (int a = 0; a < q; a++) row[a] = sb[i * q + a];
            if (!shared)
            {
                e.AsSpan().CopyTo(shifted);
                double ridge = precision is { } l ? l * w.Noise[i] / w.Count : 0;
                for (int a = 0; a < q; a++) shifted[a * q + a] += ridge;
                if (!FactorAlgebra.ManagedCholesky(shifted, q, factor))
                    throw new InvalidOperationException($"Block '{Name}': E[zzᵀ] of {Who(w)} is not positive definite.");
            }
            FactorAlgebra.SolveWithFactor(factor, q, row);
            double quadratic = 0, cross = 0;
            for (int a = 0; a < q; a++)
            {
                w.Loadings[i * q + a] = row[a];
                cross += row[a] * sb[i * q + a];
                for (int b = 0; b < q; b++) quadratic += row[a] * e[a * q + b] * row[b];
            }
            v[i] = Math.Max(w.Covariance[i * d + i] - 2 * cross + quadratic, 0);
        }
        return v;
    }

    /// <summary>
    /// Ψ's EM update from the expected squared residuals v: per column ψ_d = (R v_d + 2b)/(R + 2a + 2) (R summed over
    /// the set when shared; without a prior a = −1, b = 0, so ψ_d = v_d), σ² alike over the D columns for isotropic
    /// noise, each held at its floor (the exact maximiser of the update's objective under the floor). Returns the
    /// largest relative change.
    /// </summary>
    private double UpdateNoise(List<Work> set, List<double[]> residuals)
    {
        int d = Dimension;
        double a = Prior?.NoiseShape ?? -1, b = Prior?.NoiseScale ?? 0;
        var groups = _block.SharedNoise ? [Enumerable.Range(0, set.Count).ToArray()] : Enumerable.Range(0, set.Count).Select(i => new[] { i }).ToArray();
        double change = 0;
        foreach (var g in groups)
        {
            double count = g.Sum(i => set[i].Count);
            var next = new double[d];
            for (int j = 0; j < d; j++) next[j] = g.Sum(i => set[i].Count * residuals[i][j]);
            if (Isotropic)
            {
                double total = next.Sum();
                Array.Fill(next, Math.Max((total + 2 * b) / (count * d + 2 * a + 2), _floor[0]));
            }
            else
                for (int j = 0; j < d; j++) next[j] = Math.Max((next[j] + 2 * b) / (count + 2 * a + 2), _floor[j]);
            foreach (int i in g)
            {
                for (int j = 0; j < d; j++) change = Math.Max(change, Math.Abs(next[j] - set[i].Noise[j]) / next[j]);
                set[i].Noise = next.ToArray();
            }
        }
        return change;
    }

    /// <summary>Reports each noise variance that reached its floor in this M-step (once, when it gets there).</summary>
    private void NoteFloors(List<Work> set, FactorParameters[]? old, MStepContext context)
    {
        foreach (var w in set)
        {
            bool any = false;
            for (int j = 0; j < Dimension; j++)
            {
                if (w.Noise[j] > _floor[j]) continue;
                any = true;
                bool before = old is not null && old[w.Members[0]].NoiseVariances[j] <= _floor[j];
                if (!before && !(Isotropic && j > 0))
                    context.Log.Add(FitEventKind.NoiseFloored, Name, w.Component,
                        Isotropic
                            ? $"the noise variance σ² reached its floor {_floor[0]:G3}"
                            : $"the noise variance of column {Block.Columns[j]} reached its floor {_floor[j]:G3} (a Heywood case: the factors explain the column almost entirely)");
            }
            if (any) context.NoteFloored();
        }
    }

    // ---- objective ----

    /// <summary>
    /// −½ R [log|C| + tr(C⁻¹S) + (x̄ − μ)ᵀC⁻¹(x̄ − μ)] for a group with count R, mean x̄ and covariance S under
    /// N(μ, C), C = ΛΛᵀ + Ψ: Q without log h, through C's Cholesky factor (solves, no inverse).
    /// </summary>
    private double GroupQ(double count, double[] mean, double[] covariance, FactorParameters p)
    {
        if (count == 0) return 0;
        int d = Dimension;
        var c = p.Algebra.ImpliedCovariance();
        var l = new double[d * d];
        if (!SymmetricMatrix.TryCholesky(c, d, l)) return double.NegativeInfinity;
        var diff = new double[d];
        for (int i = 0; i < d; i++) diff[i] = mean[i] - p.Mean[i];
        return -0.5 * count * (SymmetricMatrix.LogDeterminantFromCholesky(l, d) + SymmetricMatrix.TraceOfSolve(l, d, covariance)
            + SymmetricMatrix.InverseQuadraticForm(l, d, diff));
    }

    private double SetObjective(List<Work> set, FactorParameters[] parameters)
    {
        double q = 0;
        for (int i = 0; i < set.Count; i++) q += GroupQ(set[i].Count, set[i].Mean, set[i].Covariance, parameters[i]);
        return q + SetLogPrior(parameters);
    }

    /// <summary>Loadings prior per group; noise prior per group, or once when the noise is shared.</summary>
    private double SetLogPrior(IReadOnlyList<FactorParameters> groups)
    {
        if (Prior is null) return 0;
        double lp = 0;
        for (int g = 0; g < groups.Count; g++)
        {
            var p = groups[g];
            lp += Prior.LoadingsLogDensity(p.Loadings.Values.ToArray());
            if (_block.SharedNoise && g > 0) continue;
            lp += Isotropic ? Prior.NoiseLogDensity(p.NoiseVariances[0]) : p.NoiseVariances.Sum(Prior.NoiseLogDensity);
        }
        return lp;
    }

    public override double ExpectedLogLikelihood(Statistics statistics, BlockState state)
    {
        var stats = (ComponentStatistics)statistics;
        var usual = (FactorParameters[])state.Usual;
        int d = Dimension, s = StatisticCount;
        double q = 0;
        var meanParameter = new double[s];
        for (int k = 0; k < Components; k++)
        {
            double r = stats.Counts[k];
            if (r == 0) continue;
            var sum = stats.Of(k);
            for (int i = 0; i < s; i++) meanParameter[i] = sum[i] / r;
            var cov = new double[d * d];
            _family.CovarianceFromMean(meanParameter, cov);
            var mean = new double[d];
            for (int i = 0; i < d; i++) mean[i] = stats.Centres![k][i] + meanParameter[i];
            q += GroupQ(r, mean, cov, usual[k]);
        }
        return q;
    }

    public override double LogPrior(BlockState state)
    {
        var usual = (FactorParameters[])state.Usual;
        return SetLogPrior(Groups().Select(g => usual[g[0]]).ToArray());
    }

    // ---- state, user parameters, sampling ----

    /// <summary>The state: per component its <see cref="FactorAlgebra"/> and A = ½ log|Λ_kΛ_kᵀ + Ψ_k| (the mean enters through the frame).</summary>
    private BlockState StateOf(FactorParameters[] usual)
    {
        var algebra = usual.Select(p => p.Algebra).ToArray();
        var logNormalizer = algebra.Select(a => 0.5 * a.LogDeterminant).ToArray();
        return new BlockState(new double[Components * StatisticCount], logNormalizer, usual, algebra);
    }

    protected override BlockState FromTyped(FactorParameters[] components)
    {
        int d = Dimension;
        for (int k = 0; k < Components; k++)
        {
            var p = components[k];
            if (p.Dimension != d) throw new ArgumentException($"Block '{Name}', component {k}: expected {d} columns, got a {p.Dimension}-dimensional factor model.");
            if (p.Factors != _q) throw new ArgumentException($"Block '{Name}', component {k}: the block has {_q} factors, the parameters {p.Factors}.");
            if (Isotropic && p.NoiseVariances.Any(v => v != p.NoiseVariances[0]))
                throw new ArgumentException($"Block '{Name}', component {k}: the block's noise is isotropic, but the noise variances differ.");
            if (_block.SharedNoise && !p.NoiseVariances.SequenceEqual(components[0].NoiseVariances))
                throw new ArgumentException($"Block '{Name}' shares its noise, but component {k}'s noise variances differ from component 0's.");
            if (Block.Sharing == Sharing.Shared && !p.Equals(components[0]))
                throw new ArgumentException($"Block '{Name}' is shared, but initial parameters of component {k} differ from component 0.");
        }
        return StateOf(components.ToArray());
    }

    public override void Sample(BlockState state, int k, Random random, Span<double> x)
    {
        var p = ((FactorParameters[])state.Usual)[k];
        int d = Dimension;
        var z = new double[_q];
        for (int a = 0; a < _q; a++) z[a] = MathNet.Numerics.Distributions.Normal.Sample(random, 0, 1);
        for (int i = 0; i < d; i++)
        {
            double v = p.Mean[i] + Math.Sqrt(p.NoiseVariances[i]) * MathNet.Numerics.Distributions.Normal.Sample(random, 0, 1);
            for (int a = 0; a < _q; a++) v += p.Loadings[i, a] * z[a];
            x[i] = v;
        }
    }
}
