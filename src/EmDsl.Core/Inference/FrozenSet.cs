using EmDsl.Building;

namespace EmDsl.Inference;

/// <summary>
/// <see cref="FitOptions.Frozen"/> checked against a compiled model: which parts keep their values after the start, and
/// how many free parameters that takes out of BIC and AIC.
/// </summary>
internal sealed class FrozenSet
{
    private FrozenSet(bool weights, bool transitions, bool[] blocks, int count, bool latent)
    {
        Weights = weights;
        Transitions = transitions;
        Blocks = blocks;
        Count = count;
        Latent = latent;
    }

    /// <summary>The latent weights (a mixture's π or gating, a chain's initial probabilities).</summary>
    public bool Weights { get; }

    /// <summary>A chain's transition matrix.</summary>
    public bool Transitions { get; }

    /// <summary>Per block, in model order.</summary>
    public bool[] Blocks { get; }

    /// <summary>Free parameters held fixed.</summary>
    public int Count { get; }

    /// <summary>Whether the whole latent state is frozen: a mixture's weights or gating, both parts of a chain, or either part of a tied chain.</summary>
    public bool Latent { get; }

    /// <summary>Checks <paramref name="frozen"/> against the model (unknown block names, transitions of a mixture) and counts what it fixes.</summary>
    public static FrozenSet Resolve(FrozenParameters frozen, CompiledModel model)
    {
        int k = model.States;
        var blocks = new bool[model.Blocks.Length];
        int count = 0;
        foreach (var name in frozen.Blocks)
        {
            int b = Array.FindIndex(model.Blocks, r => r.Name == name);
            if (b < 0)
                throw new ArgumentException(
                    $"Frozen.Blocks names '{name}', but the model has no such block; its blocks are {string.Join(", ", model.Blocks.Select(r => $"'{r.Name}'"))}.", nameof(FitOptions.Frozen));
            if (!blocks[b]) count += model.Blocks[b].Block.FreeParameterCount(k);
            blocks[b] = true;
        }
        bool latent;
        if (model.Latent is MarkovChainRuntime)
        {
            var hmm = (HiddenMarkovModel)model.Model;
            bool tied = hmm.TiedTransitions;
            if (tied && (frozen.Weights || frozen.Transitions)) count += hmm.InitialParameterCount;
            else
            {
                if (frozen.Weights) count += hmm.InitialParameterCount;
                if (frozen.Transitions) count += hmm.TransitionParameterCount;
            }
            latent = (frozen.Weights && frozen.Transitions) || (tied && (frozen.Weights || frozen.Transitions));
        }
        else
        {
            if (frozen.Transitions)
                throw new ArgumentException("Frozen.Transitions holds a hidden Markov model's transition matrix, but this model is a mixture (freeze its weights with Frozen.Weights).", nameof(FitOptions.Frozen));
            if (frozen.Weights) count += ((MixtureModel)model.Model).Gating?.FreeParameterCount(k) ?? k - 1;
            latent = frozen.Weights;
        }
        return new FrozenSet(frozen.Weights, frozen.Transitions, blocks, count, latent);
    }
}

internal sealed partial class CompiledModel
{
    /// <summary>log p(θ): the latent structure's and every block's log prior (0 without priors).</summary>
    public double LogPrior(ModelState state)
    {
        double lp = Latent.LogPrior(state.Latent);
        for (int b = 0; b < Blocks.Length; b++) lp += Blocks[b].LogPrior(state.Blocks[b]);
        return lp;
    }

    /// <summary>
    /// F(q, θ) for the posterior q the summary was gathered under: Σ of the latent structure's and every block's
    /// expected complete-data log-likelihood at θ, plus Σ w log h, the entropy H[q] and log p(θ).
    /// </summary>
    public double FreeEnergy(Summary summary, ModelState state, double logPrior)
    {
        double f = Latent.ExpectedLogJoint(summary.Latent, state.Latent);
        for (int b = 0; b < Blocks.Length; b++) f += Blocks[b].ExpectedLogLikelihood(summary.Blocks[b], state.Blocks[b]);
        return f + summary.LogBase + summary.Entropy + logPrior;
    }

    /// <summary>
    /// New parameters from the statistics; after the start (<paramref name="previous"/> given) the parts in
    /// <paramref name="frozen"/> keep their previous values, which makes this a coordinate-wise M-step (it still never
    /// lowers the free energy).
    /// </summary>
    public ModelState MStep(Summary summary, ModelState? previous, MStepContext context, FrozenSet frozen)
    {
        var latent = previous is not null && frozen.Latent ? previous.Latent : Latent.MStep(summary.Latent, previous?.Latent, context);
        if (previous is not null && !frozen.Latent && (frozen.Weights || frozen.Transitions))
        {
            // A Markov chain with one of its two parts frozen.
            var (old, now) = ((MarkovState)previous.Latent, (MarkovState)latent);
            latent = new MarkovState(frozen.Weights ? old.Initial : now.Initial, frozen.Transitions ? old.Transitions : now.Transitions);
        }
        var blocks = new BlockState[Blocks.Length];
        for (int b = 0; b < blocks.Length; b++)
            blocks[b] = previous is not null && frozen.Blocks[b] ? previous.Blocks[b] : Blocks[b].MStep(summary.Blocks[b], previous?.Blocks[b], context);
        return new ModelState(latent, blocks);
    }
}
