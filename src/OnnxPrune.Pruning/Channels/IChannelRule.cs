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

    /// <summary>Whether the rule follows channels that arrive on input <paramref name="index"/>.
    /// Most rules follow only the data input 0; channels on any other input (a computed MatMul
    /// operand B as in attention's q x k^T, a computed weight or bias) are pinned by the analysis.</summary>
    bool FollowsInput(int index) => index == 0;
}
