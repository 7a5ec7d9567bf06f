namespace EmDsl.Inference;

/// <summary>How <see cref="Building.MixtureModel.FitOnline"/> updates the parameters between full passes over the data.</summary>
public enum OnlineMethod
{
    /// <summary>
    /// Incremental EM (Neal and Hinton 1998): the data is split into parts of <see cref="OnlineEmOptions.BatchRows"/>
    /// rows and each part's expected statistics are kept. The first pass is a full E-step under the start (it stores every
    /// part's statistics) followed by an M-step; after that each step is an E-step on one part, replacing that part's
    /// statistics, then an M-step on the total. The total is recomputed exactly from the stored parts, in part order,
    /// after every partial E-step (Gaussian statistics made about different centres are first rebased to the current
    /// means), so it never drifts and is the same on any number of threads. The free energy F(q, θ) of the whole data
    /// never decreases — neither a partial E-step nor an M-step can lower it — and is recorded after every half-step
    /// in <see cref="ModelFit.FreeEnergyTrace"/>. Memory: one summary per part (K × the blocks' statistics); time: the
    /// exact recompute costs O(parts × K × statistics) per step, so a pass costs O(parts²) of it — keep the parts to a few
    /// hundred (choose <see cref="OnlineEmOptions.BatchRows"/> ≈ rows / 100 to rows / 500).
    /// </summary>
    Incremental,

    /// <summary>
    /// Stepwise online EM (Cappé and Moulines 2009; Liang and Klein 2009): a running average s of per-row expected
    /// statistics, s ← (1 − ρ_t) s + ρ_t ŝ(batch), ŝ the batch's statistics divided by its rows, with
    /// ρ_t = (t + <see cref="OnlineEmOptions.T0"/>)^(−<see cref="OnlineEmOptions.Alpha"/>). The first mini-batch sets s
    /// (ρ = 1); t counts the later updates from 1. After every mini-batch the M-step runs on s × N, N the number of rows
    /// in the source (counted by the first pass), so conjugate priors' pseudo-counts weigh against N rows exactly as in
    /// a batch fit to the whole data. The free energy is not monotone under this method, and no free-energy trace is
    /// recorded. With <see cref="OnlineEmOptions.Passes"/> = 1 it is mini-batch EM for data seen once.
    /// </summary>
    Stepwise,
}

/// <summary>
/// Settings of online and incremental EM (<see cref="Building.MixtureModel.FitOnline"/>): the method, the mini-batch
/// size, the step sizes of stepwise EM and the number of passes over the data. Immutable; from C# make variants with
/// <c>with</c>, from F# with the copy constructor: <c>OnlineEmOptions(OnlineEmOptions.Default, Passes = 3)</c>.
/// </summary>
public sealed record OnlineEmOptions
{
    /// <summary>Stepwise EM, mini-batches of 1 024 rows, α = 0.6, t₀ = 2, one pass, no shuffling, the objective evaluated after each pass.</summary>
    public static OnlineEmOptions Default { get; } = new();

    /// <summary>The defaults.</summary>
    public OnlineEmOptions() { }

    /// <summary>A copy of <paramref name="original"/> (with property setters, a variant).</summary>
    public OnlineEmOptions(OnlineEmOptions original)
    {
        ArgumentNullException.ThrowIfNull(original);
        Method = original.Method;
        BatchRows = original.BatchRows;
        Alpha = original.Alpha;
        T0 = original.T0;
        Passes = original.Passes;
        ShufflePerPass = original.ShufflePerPass;
        ShuffleWindow = original.ShuffleWindow;
        EvaluateEachPass = original.EvaluateEachPass;
    }

    /// <summary>Incremental or stepwise (default) EM.</summary>
    public OnlineMethod Method { get; init; } = OnlineMethod.Stepwise;

    /// <summary>Rows per mini-batch (stepwise) or per part (incremental); default 1 024; at least 1.</summary>
    public int BatchRows { get; init; } = 1024;

    /// <summary>Stepwise EM's decay exponent α of ρ_t = (t + t₀)^(−α), in (0.5, 1] (so that Σρ = ∞ and Σρ² &lt; ∞); default 0.6.</summary>
    public double Alpha { get; init; } = 0.6;

    /// <summary>Stepwise EM's offset t₀ ≥ 0 of ρ_t = (t + t₀)^(−α): larger values take smaller early steps; default 2.</summary>
    public double T0 { get; init; } = 2;

    /// <summary>Passes over the data after the start; default 1 (each row seen once, for stepwise EM). At least 1.</summary>
    public int Passes { get; init; } = 1;

    /// <summary>
    /// Whether each pass visits the mini-batches in a seeded random order (<see cref="FitOptions.Seed"/> and the pass
    /// number). A streamed source is read in order, so the order is shuffled within windows of
    /// <see cref="ShuffleWindow"/> consecutive mini-batches, which are held in memory together. Default false.
    /// </summary>
    public bool ShufflePerPass { get; init; }

    /// <summary>Mini-batches per shuffling window (only with <see cref="ShufflePerPass"/>); default 64; at least 1.</summary>
    public int ShuffleWindow { get; init; } = 64;

    /// <summary>
    /// Whether the objective (log-likelihood of the whole data + log prior) is computed by a full pass after every pass
    /// (default), giving <see cref="ModelFit.ObjectiveTrace"/> one value per pass after the start's. Otherwise only the start
    /// and the final parameters are evaluated.
    /// </summary>
    public bool EvaluateEachPass { get; init; } = true;

    /// <summary>Checks the settings.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A setting outside its range (the message names it and the range).</exception>
    internal void Validate()
    {
        if (!Enum.IsDefined(Method)) throw new ArgumentOutOfRangeException(nameof(Method), Method, "Method must be OnlineMethod.Incremental or OnlineMethod.Stepwise.");
        if (BatchRows < 1) throw new ArgumentOutOfRangeException(nameof(BatchRows), BatchRows, "BatchRows must be ≥ 1.");
        if (!(Alpha > 0.5 && Alpha <= 1)) throw new ArgumentOutOfRangeException(nameof(Alpha), Alpha, "Alpha must lie in (0.5, 1].");
        if (!(T0 >= 0) || double.IsInfinity(T0)) throw new ArgumentOutOfRangeException(nameof(T0), T0, "T0 must be finite and ≥ 0.");
        if (Passes < 1) throw new ArgumentOutOfRangeException(nameof(Passes), Passes, "Passes must be ≥ 1.");
        if (ShuffleWindow < 1) throw new ArgumentOutOfRangeException(nameof(ShuffleWindow), ShuffleWindow, "ShuffleWindow must be ≥ 1.");
    }
}
