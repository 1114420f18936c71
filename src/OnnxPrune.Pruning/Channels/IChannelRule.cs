using OnnxPrune.IR;

namespace OnnxPrune.Pruning.Channels;

/// <summary>
/// How channels flow through one op type: given the carriers of the node's inputs, the rule sets
/// the carriers of its outputs, binds the tensor slices that belong to each unit, couples or pins
/// units, and registers the attribute fix-ups removal needs. An op type without a rule is a
/// barrier: every channel that reaches it is pinned.
/// </summary>
internal interface IChannelRule
{
    void Propagate(Node node, AnalysisContext ctx);
}
