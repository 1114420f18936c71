using OnnxPrune.IR;
using OnnxPrune.Pruning.Channels;

namespace OnnxPrune.Pruning.Recovery;

/// <summary>
/// A Conv, Gemm or MatMul that reads channels the prune removed, found by its output's name
/// (pruning keeps value names). Masks are over the original weight's axes: <see cref="KeptInputs"/>
/// over the input positions of one group (the weight's axis 1 for a Conv), <see cref="KeptOutputs"/>
/// over all output channels or features.
/// </summary>
public sealed record RefitLayer(string OutputName, string InputName, string OpType, bool[] KeptInputs, bool[] KeptOutputs)
{
    /// <summary>The layers whose input loses channels under <paramref name="rewrite"/>, in graph order.
    /// Depthwise convolutions never appear: their input channel and its outputs go together, so
    /// what they keep computes as before.</summary>
    internal static IReadOnlyList<RefitLayer> Capture(ChannelAnalysis analysis, RewriteContext rewrite)
    {
        var consumers = analysis.Context.Bindings.Where(b => b.Role == ParamRole.Consumer && b.InputIndex == 1 && b.Node.IsOnnxDomain &&
                                                              b.Node.OpType is "Conv" or "Gemm" or "MatMul").ToList();
        var producers = new Dictionary<Node, ParamBinding>(ReferenceEqualityComparer.Instance);
        foreach (var b in analysis.Context.Bindings)
            if (b.Role == ParamRole.Producer && b.InputIndex == 1) producers.TryAdd(b.Node, b);
        var layers = new List<RefitLayer>();
        foreach (var node in analysis.Context.Model.Graph.Nodes)
        {
            var binding = consumers.Find(b => ReferenceEquals(b.Node, node));
            if (binding is null || node.Input(0) is not { Producer: not null } input) continue;
            var keptIn = rewrite.KeepMask(binding.IndexUnits);
            if (keptIn.All(k => k)) continue;
            var keptOut = producers.TryGetValue(node, out var p) ? rewrite.KeepMask(p.IndexUnits) : [];
            layers.Add(new RefitLayer(node.Outputs[0].Name, input.Name, node.OpType, keptIn, keptOut));
        }
        return layers;
    }
}
