using OnnxPrune.IR;
using OnnxPrune.IR.ShapeInference;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Runtime.Lowering;

/// <summary>
/// Builds the interleaved input of the weight-gradient Conv (Rules/InterleavedWeightGradient.cs)
/// from ONNX Runtime's blocked layout. That input is Transpose(Reshape(Pad(X), [N, s, b, H, W]),
/// [1, 0, 3, 4, 2]), i.e. X as (s, N, H, W, b). With b the NCHWc block, ReorderInput(X) holds
/// exactly (N, s, H, W, b) in memory, so the 5-D Transpose, which ORT runs element by element on
/// one thread (4.5 ms for 128x16x30x30), becomes ReorderInput plus a Transpose of whole
/// (H, W, b) blocks (none when s = 1). The padding moves onto the blocked tensor as a depthwise
/// 1x1 blocked Conv with unit weights and the pads.
/// </summary>
internal static class BlockedChannelInterleave
{
    private static readonly long[] InterleavePerm = [1, 0, 3, 4, 2];

    /// <summary>Rewrites every matching Transpose of <paramref name="model"/>; returns how many.</summary>
    public static int Lower(Model model, int block)
    {
        var ctx = new LoweringContext(model, block);
        var (graph, info) = (ctx.Graph, ctx.Info);
        int lowered = 0;
        foreach (var transpose in graph.Nodes.Where(n => n.IsOnnxDomain && n.OpType == "Transpose").ToList())
        {
            if (transpose.Attributes["perm"]?.AsInts() is not { } perm || !perm.SequenceEqual(InterleavePerm)) continue;
            if (transpose.Input(0)?.Producer is not { IsOnnxDomain: true, OpType: "Reshape" } reshape) continue;
            if (reshape.Input(1)?.ConstValue?.ToInt64Array() is not [var n, var s, var b, var h, var w] || b != block) continue;
            var source = reshape.Input(0)!;
            if (info.GetElementType(source) != DataType.Float || info.GetShape(source)?.TryGetSizes() is not { } dims
                || !dims.SequenceEqual([n, s * b, h, w])) continue;
            Rewrite(ctx, transpose, reshape, source, [n, s, b, h, w]);
            lowered++;
        }
        if (lowered > 0) BlockedConvolutions.UseNchwcDomain(model);
        return lowered;
    }

    private static void Rewrite(LoweringContext ctx, Node transpose, Node reshape, Value source, long[] dims)
    {
        var graph = ctx.Graph;
        long n = dims[0], s = dims[1], b = dims[2], h = dims[3], w = dims[4];
        var name = transpose.Name.Length > 0 ? transpose.Name : transpose.Outputs[0].Name;
        Value Add(string domain, string op, Value?[] inputs, string hint, params Attribute[] attributes)
        {
            return ctx.Insert(transpose, new Node(domain, op, inputs, [graph.UniqueName($"{name}/nchwc/{hint}")], attributes, graph.UniqueName($"{name}/nchwc/{hint}")));
        }
        Value Shape(params long[] values) => graph.AddInitializer($"{name}/nchwc/shape", DenseTensor.FromInt64s([values.Length], values));

        var pads = source.Producer is { } producer ? SpatialZeroPads(producer) : null;
        var pad = pads is null ? null : source.Producer;
        var blocked = Add(NchwcSupport.Domain, "ReorderInput", [pad?.Input(0) ?? source], "x");
        if (pads is not null)
        {
            var (ones, padding) = BlockedConvolutions.ZeroPadding(graph, name, s * b, pads);
            blocked = Add(NchwcSupport.Domain, "Conv", [blocked, ones], "pad", padding);
        }
        var interleaved = s == 1 ? blocked
            : Add("", "Transpose", [Add("", "Reshape", [blocked, Shape(n, s, h * w * b)], "groups")], "swap", Attribute.Ints("perm", [1, 0, 2]));
        var result = Add("", "Reshape", [interleaved, Shape(s, n, h, w, b)], "interleaved");

        graph.ReplaceNode(transpose, result);
        if (reshape.Outputs[0].Uses.Count == 0 && !reshape.Outputs[0].IsGraphOutput) graph.RemoveNode(reshape);
        if (pad is not null && pad.Outputs[0].Uses.Count == 0 && !pad.Outputs[0].IsGraphOutput) graph.RemoveNode(pad);
    }

    /// <summary>The (top, left, bottom, right) pads of a constant-zero Pad of the two spatial axes
    /// of a 4-D tensor, or null for any other node.</summary>
    private static long[]? SpatialZeroPads(Node node)
    {
        if (!node.IsOnnxDomain || node.OpType != "Pad" || node.Inputs.Count > 2) return null;
        if (node.Attributes.GetString("mode", "constant") != "constant") return null;
        if (node.Input(1)?.ConstValue?.ToInt64Array() is not [0, 0, var t, var l, 0, 0, var bottom, var r]) return null;
        long[] pads = [t, l, bottom, r];
        return pads.All(p => p >= 0) ? pads : null;
    }
}
