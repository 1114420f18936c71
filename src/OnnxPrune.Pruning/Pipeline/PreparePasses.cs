using OnnxPrune.IR;
using OnnxPrune.IR.Passes;

namespace OnnxPrune.Pruning.Pipeline;

/// <summary>
/// Cleanup before channel analysis. Exporters route weights through Identity nodes (torch shares
/// equal biases that way) and compute static shapes at run time; without these passes such
/// weights look computed and the channels behind them would be pinned.
/// </summary>
internal static class PreparePasses
{
    public static bool Run(Model model, bool verify = false) =>
        new PassManager([new RemoveIdentityAndDropout(), new FoldConstantShapes(), new EliminateDeadCode()], verify).Run(model);
}
