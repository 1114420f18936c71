using OnnxPrune.IR;
using OnnxPrune.Pruning.Channels;

namespace OnnxPrune.Pruning.Recovery;

/// <summary>
/// A Conv, Gemm or MatMul that reads channels the prune removed, found by its output's name
/// (pruning keeps value names). Masks are over the original weight's axes: <see cref="KeptInputs"/>
/// over the input positions of one group (the weight's axis 1 for a Conv), <see cref="KeptOutputs"/>
/// over all output channels or features.
/// </summary>
internal sealed record RefitLayer(string OutputName, string InputName, string OpType, bool[] KeptInputs, bool[] KeptOutputs)
{
    /// <summary>
    /// The layers a refit works on, in graph order: those whose input loses channels under
    /// <paramref name="rewrite"/> and, with <paramref name="downstream"/>, every later Conv, Gemm or
    /// MatMul whose input the removal changes at all (its kept channels drift once earlier layers
    /// lose theirs; a BN-folded export has no BatchNorm statistics to re-estimate for that).
    /// Layers in front of every removal compute what they computed before and are left out.
    /// </summary>
    internal static IReadOnlyList<RefitLayer> Capture(ChannelAnalysis analysis, RewriteContext rewrite, bool downstream)
    {
        var ctx = analysis.Context;
        var consumers = new Dictionary<Node, ParamBinding>(ReferenceEqualityComparer.Instance);
        var producers = new Dictionary<Node, ParamBinding>(ReferenceEqualityComparer.Instance);
        var touched = new HashSet<Node>(ReferenceEqualityComparer.Instance);
        foreach (var b in ctx.Bindings)
        {
            if (b.Role == ParamRole.Consumer && b.InputIndex == 1) consumers.TryAdd(b.Node, b);
            if (b.Role == ParamRole.Producer && b.InputIndex == 1) producers.TryAdd(b.Node, b);
            if (b.IndexUnits.Any(rewrite.IsRemoved)) touched.Add(b.Node);
        }
        var changed = new HashSet<Value>(ReferenceEqualityComparer.Instance);
        var layers = new List<RefitLayer>();
        foreach (var node in ctx.Model.Graph.Nodes)
        {
            bool inputChanged = node.Inputs.Any(v => v is not null && changed.Contains(v));
            if (touched.Contains(node) || inputChanged)
                foreach (var o in node.Outputs) changed.Add(o);
            if (!node.IsOnnxDomain || node.OpType is not ("Conv" or "Gemm" or "MatMul") || node.Input(0) is not { Producer: not null } input) continue;
            var keptOut = producers.TryGetValue(node, out var p) ? rewrite.KeepMask(p.IndexUnits) : [];
            if (consumers.TryGetValue(node, out var binding) && rewrite.KeepMask(binding.IndexUnits) is var keptIn && keptIn.Any(k => !k))
                layers.Add(new RefitLayer(node.Outputs[0].Name, input.Name, node.OpType, keptIn, keptOut));
            else if (downstream && changed.Contains(input) && ctx.ConstantOf(node.Input(1)) is { Dims.Length: >= 2 } weight)
            {
                bool transB = node.OpType == "Gemm" && node.Attributes.GetInt("transB", 0) != 0;
                int inputs = (int)(node.OpType == "Conv" || transB ? weight.Dims[1] : weight.Dims[0]);
                layers.Add(new RefitLayer(node.Outputs[0].Name, input.Name, node.OpType, Enumerable.Repeat(true, inputs).ToArray(), keptOut));
            }
        }
        return layers;
    }
}
