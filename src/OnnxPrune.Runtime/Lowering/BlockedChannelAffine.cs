using OnnxPrune.IR;
using OnnxPrune.IR.ShapeInference;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Runtime.Lowering;

/// <summary>
/// Runs a per-channel affine map written as a depthwise 1x1 Conv (GradientContext.ChannelAffine:
/// BatchNormalization on batch statistics) on ONNX Runtime's blocked depthwise kernel, with a
/// following Relu, or Add + Relu (a residual block's end), fused into it. Its input comes blocked
/// from the Conv before it and its output goes blocked to the Conv after it (BlockedLayoutPropagation
/// drops the ReorderOutput -> ReorderInput pairs in between), so the standard
/// depthwise Conv, which ORT runs as one tiny GEMM per image and channel, and the next Conv's
/// ReorderInput both go. Measured (batch 128, 2 threads, Conv + Relu, blocked input): 128x32x14x14
/// 0.41 -> 0.14 ms including the ReorderOutput, 128x64x7x7 0.36 -> 0.09 ms.
/// </summary>
internal static class BlockedChannelAffine
{
    /// <summary>Rewrites <paramref name="conv"/> when it is such an affine map; returns whether it did.</summary>
    /// <param name="reorderInput">The shared ReorderInput of a value.</param>
    public static bool TryLower(LoweringContext ctx, Node conv, Func<Value, Value> reorderInput)
    {
        var (graph, info) = (ctx.Graph, ctx.Info);
        if (!IsChannelAffine(conv, info, ctx.Block, out long channels)) return false;
        var output = conv.Outputs[0];
        var fused = new List<Node> { conv }; // conv [, Add], Relu: the nodes the blocked Conv replaces
        Value? sum = null;
        if (SoleUse(output) is { IsOnnxDomain: true, OpType: "Relu" } activation)
        {
            fused.Add(activation);
        }
        else if (SoleUse(output) is { IsOnnxDomain: true, OpType: "Add", Inputs.Count: 2 } add
                 && add.Inputs.FirstOrDefault(v => v != output) is { } other
                 && info.GetShape(other)?.TryGetSizes() is { } otherDims && otherDims.SequenceEqual(info.GetShape(output)?.TryGetSizes() ?? [])
                 && SoleUse(add.Outputs[0]) is { IsOnnxDomain: true, OpType: "Relu" } addActivation)
        {
            fused.AddRange([add, addActivation]);
            sum = other;
        }
        // Only with an activation to fuse: that is BatchNormalization's forward map, which runs right
        // after the Conv producing its input. The backward map (BatchNormalizationRule) reads the
        // same input much later, and taking it blocked would keep the blocked copy alive till then.
        if (fused.Count == 1) return false;
        var last = fused[^1];

        var name = conv.Name.Length > 0 ? conv.Name : output.Name;
        Value Add(string op, Value?[] inputs, string hint, params Attribute[] attributes)
        {
            return ctx.Insert(last, new Node(NchwcSupport.Domain, op, inputs, [graph.UniqueName($"{name}/nchwc/{hint}")], attributes, graph.UniqueName($"{name}/nchwc/{hint}")));
        }
        // The 1x1 depthwise filter (C, 1, 1, 1) is already in the blocked layout [C/B][B].
        var inputs = new List<Value?> { reorderInput(conv.Input(0)!), conv.Input(1), conv.Input(2) };
        if (sum is not null) inputs.Add(reorderInput(sum));
        var blocked = Add("Conv", inputs.ToArray(), "affine",
            Attribute.Int("group", channels), Attribute.Ints("kernel_shape", [1, 1]), Attribute.String("activation", "Relu"));
        var result = Add("ReorderOutput", [blocked], "y", Attribute.Int("channels", channels));

        graph.ReplaceNode(last, result);
        for (int i = fused.Count - 2; i >= 0; i--) graph.RemoveNode(fused[i]);
        return true;
    }

    private static Node? SoleUse(Value value) =>
        value.Uses.Count == 1 && !value.IsGraphOutput ? value.Uses[0].Node : null;

    /// <summary>A float depthwise 1x1 Conv without padding, stride or dilation over whole channel blocks.</summary>
    private static bool IsChannelAffine(Node conv, ShapeInferenceResult info, int block, out long channels)
    {
        channels = conv.IsOnnxDomain && conv.OpType == "Conv" && info.GetShape(conv.Input(0)!)?.TryGetSizes() is [_, var c, _, _] ? c : 0;
        return channels > 0 && channels % block == 0 && IsDepthwiseUnit(conv, info, channels);
    }

    /// <summary>Whether <paramref name="conv"/> is a float depthwise 1x1 Conv over
    /// <paramref name="channels"/> channels without padding, stride or dilation: a per-channel
    /// affine map (GradientContext.ChannelAffine).</summary>
    internal static bool IsDepthwiseUnit(Node conv, ShapeInferenceResult info, long channels) =>
        info.GetElementType(conv.Input(0)!) == DataType.Float
        && conv.Input(1) is { } w && info.GetShape(w)?.TryGetSizes() is [var m, 1, 1, 1] && m == channels
        && conv.Attributes.GetInt("group", 1) == channels
        && conv.Attributes.GetString("auto_pad", "NOTSET") is "NOTSET" or ""
        && (conv.Attributes["pads"]?.AsInts() ?? []).All(p => p == 0)
        && (conv.Attributes["strides"]?.AsInts() ?? []).All(s => s == 1)
        && (conv.Attributes["dilations"]?.AsInts() ?? []).All(d => d == 1);
}
