using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Inference;

namespace EmDsl.Models;

/// <summary>
/// A fitted single-block mixture: its weights and per-component parameters, typed, plus the general
/// <see cref="MixtureFit"/> (objective trace, diagnostics, predictions, BIC/AIC) as <see cref="Result"/>.
/// </summary>
/// <typeparam name="TParameters">The block family's parameter record.</typeparam>
public sealed class FittedMixture<TParameters>
{
    internal FittedMixture(MixtureFit result, Block<TParameters> block)
    {
        Result = result;
        Block = block;
        Components = result.Parameters(block);
    }

    /// <summary>The general fit result.</summary>
    public MixtureFit Result { get; }

    /// <summary>
    /// The block as declared (over all columns of the data, or the named ones); for a block declared by name, the
    /// copy with the data's column indices is in <c>Result.Model.Blocks</c>.
    /// </summary>
    public Block<TParameters> Block { get; }

    /// <summary>π_k.</summary>
    public IReadOnlyList<double> Weights => Result.Weights;

    /// <summary>Per-component parameters.</summary>
    public IReadOnlyList<TParameters> Components { get; }

    /// <summary>p(z = k | x_n) for every row.</summary>
    public double[,] PredictProba(DataMatrix data) => Result.PredictProba(data);

    /// <summary>Most probable component of every row.</summary>
    public int[] Predict(DataMatrix data) => Result.Predict(data);

    /// <summary>The summary of <see cref="Result"/>: the weights and each component's parameters in a table, the objective, status, BIC, AIC and diagnostics.</summary>
    public override string ToString() => Result.ToString();
}
