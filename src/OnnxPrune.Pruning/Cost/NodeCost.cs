using OnnxPrune.IR;

namespace OnnxPrune.Pruning.Cost;

/// <summary>Multiply-accumulates and parameters of one node.</summary>
/// <param name="Macs">null when the op is one the cost model counts but its shapes are unknown.</param>
/// <param name="Counted">false for ops the cost model does not count (their MACs are reported as 0).</param>
internal sealed record NodeCost(Node Node, long? Macs, long Params, bool Counted);

/// <summary>Costs of a whole graph.</summary>
internal sealed record ModelCost(IReadOnlyList<NodeCost> Nodes, long Params, long Macs, int UnknownMacNodes)
{
    /// <summary>Op types present whose MACs are not modelled (counted as 0).</summary>
    public IReadOnlyList<string> UncountedOpTypes =>
        Nodes.Where(n => !n.Counted).Select(n => n.Node.OpType).Distinct().Order(StringComparer.Ordinal).ToList();
}
