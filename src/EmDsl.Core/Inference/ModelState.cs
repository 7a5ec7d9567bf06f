namespace EmDsl.Inference;

/// <summary>All parameters of a model at one iteration: the latent structure's and every block's state. Immutable.</summary>
internal sealed class ModelState(LatentState latent, BlockState[] blocks)
{
    /// <summary>The latent structure's parameters (weights, gating, a Markov chain).</summary>
    public LatentState Latent { get; } = latent;

    /// <summary>One state per block, in the model's block order.</summary>
    public BlockState[] Blocks { get; } = blocks;
}
