using OnnxPrune.IR;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Pruning.Channels;

/// <summary>Ops that keep the channel axis where it is: pooling and the like (Resize has its own
/// rule). Only output 0 carries channels (MaxPool's indices would change meaning).</summary>
internal sealed class PassThroughRule : IChannelRule
{
    public void Propagate(Node node, AnalysisContext ctx)
    {
        var input = ctx.CarrierOf(node.Input(0));
        if (input is null) return;
        // Indices are read by a node or by whoever runs the model, when they are one of its outputs.
        if (node.OpType is "MaxPool" && node.Outputs.Count > 1 && (node.Outputs[1].Uses.Count > 0 || node.Outputs[1].IsGraphOutput))
        {
            ctx.Pin(input, node, "its indices output depends on the channel count");
            return;
        }
        ctx.SetCarrier(node.Outputs[0], input.Axis, input.Units, input.MayBeNonZero);
    }
}

/// <summary>Reductions over axes other than the channel axis (ReduceMean over H, W).
/// <paramref name="zeroPreserving"/> says whether reducing zeros gives 0, so a removed (zeroed)
/// channel stays zero (ReduceLogSumExp gives log(n)).</summary>
internal sealed class ReduceRule(bool zeroPreserving) : IChannelRule
{
    public void Propagate(Node node, AnalysisContext ctx)
    {
        var input = ctx.CarrierOf(node.Input(0));
        if (input is null) return;
        int rank = ctx.RankOf(node.Input(0)) ?? -1;
        long[]? axes = node.Attributes.GetInts("axes");
        if (axes is null && node.Input(1) is { } axesInput) axes = ctx.ConstantOf(axesInput)?.ToInt64Array();
        if (rank < 0 || axes is null || axes.Length == 0)
        {
            ctx.Pin(input, node, "it may reduce over the channel axis");
            return;
        }
        var normalized = axes.Select(a => (int)(a < 0 ? a + rank : a)).ToHashSet();
        if (normalized.Contains(input.Axis)) { ctx.Pin(input, node, "it reduces over the channel axis"); return; }
        bool keepDims = node.Attributes.GetInt("keepdims", 1) != 0;
        int outAxis = keepDims ? input.Axis : input.Axis - normalized.Count(a => a < input.Axis);
        ctx.SetCarrier(node.Outputs[0], outAxis, input.Units, input.MayBeNonZero || !zeroPreserving);
    }
}

/// <summary>Transpose moves the channel axis (NHWC graphs from tf2onnx).</summary>
internal sealed class TransposeRule : IChannelRule
{
    public void Propagate(Node node, AnalysisContext ctx)
    {
        var input = ctx.CarrierOf(node.Input(0));
        if (input is null) return;
        int rank = ctx.RankOf(node.Input(0)) ?? -1;
        var perm = node.Attributes.GetInts("perm") ?? (rank > 0 ? Enumerable.Range(0, rank).Reverse().Select(i => (long)i).ToArray() : null);
        if (perm is null) { ctx.Pin(input, node, "its permutation is unknown"); return; }
        int outAxis = Array.IndexOf(perm, (long)input.Axis);
        ctx.SetCarrier(node.Outputs[0], outAxis, input.Units, input.MayBeNonZero);
    }
}

/// <summary>Concat along the channel axis lays the inputs' channels side by side; zero padding
/// made by ConstantOfShape (tf2onnx's channel padding) becomes free units whose size is rewritten.</summary>
internal sealed class ConcatRule : IChannelRule
{
    public bool FollowsInput(int index) => true;

    public void Propagate(Node node, AnalysisContext ctx)
    {
        var carriers = node.Inputs.Select(ctx.CarrierOf).ToList();
        if (carriers.All(c => c is null)) return;
        int rank = ctx.RankOf(node.Outputs[0]) ?? -1;
        long axisAttr = node.Attributes.GetInt("axis", 1);
        int axis = (int)(axisAttr < 0 ? axisAttr + rank : axisAttr);
        var present = carriers.Where(c => c is not null).Cast<Carrier>().ToList();
        if (rank < 0 || present.Any(c => c.Axis != axis))
        {
            // Concatenating along another axis keeps channels aligned only if every input carries them.
            if (rank >= 0 && present.All(c => c.Axis == present[0].Axis) && carriers.All(c => c is not null))
            {
                for (int k = 1; k < present.Count; k++) ctx.UnionCarriers(present[0], present[k]);
                ctx.SetCarrier(node.Outputs[0], present[0].Axis, present[0].Units, present.Any(c => c.MayBeNonZero));
                return;
            }
            foreach (var c in present) ctx.Pin(c, node, "it concatenates along another axis than the channels");
            return;
        }
        var units = new List<int>();
        bool nonZero = false;
        for (int i = 0; i < node.Inputs.Count; i++)
        {
            if (carriers[i] is { } c) { units.AddRange(c.Units); nonZero |= c.MayBeNonZero; continue; }
            var shape = ctx.ShapeOf(node.Inputs[i]);
            var size = shape is not null && axis < shape.Rank ? shape[axis].Value : null;
            if (size is null) { foreach (var p in present) ctx.Pin(p, node, "an input's size along the channel axis is unknown"); return; }
            if (ZeroPadding(node.Inputs[i]!, ctx, axis) is { } padNode)
            {
                var free = ctx.NewUnits(null, (int)size.Value);
                units.AddRange(free);
                ctx.AddFixup(padNode, r => ResizePadding(padNode, axis, r.KeptCount(free), r, ctx));
            }
            else units.AddRange(Enumerable.Repeat(-1, (int)size.Value));
        }
        ctx.SetCarrier(node.Outputs[0], axis, units.ToArray(), nonZero);
    }

    /// <summary>A ConstantOfShape of zeros with a constant shape (how tf2onnx pads channels).</summary>
    private static Node? ZeroPadding(Value v, AnalysisContext ctx, int axis)
    {
        if (v.Producer is not { OpType: "ConstantOfShape" } n || v.Uses.Count != 1) return null;
        if (ctx.ConstantOf(n.Input(0)) is not { } shape || shape.ElementCount <= axis || !ctx.IsSliceableParameter(n.Input(0))) return null;
        var fill = n.Attributes["value"]?.AsTensor();
        return fill is null || fill.ToDoubleArray().All(d => d == 0) ? n : null;
    }

    private static void ResizePadding(Node padNode, int axis, int kept, RewriteContext r, AnalysisContext ctx)
    {
        var dims = ctx.ConstantOf(padNode.Input(0))!.ToInt64Array();
        dims[axis] = kept;
        r.ReplaceConstantInput(padNode, 0, DenseTensor.FromInt64s([dims.Length], dims));
    }
}

/// <summary>Split along the channel axis hands each output its range of channels; the split
/// sizes are rewritten after removal.</summary>
internal sealed class SplitRule : IChannelRule
{
    public void Propagate(Node node, AnalysisContext ctx)
    {
        var input = ctx.CarrierOf(node.Input(0));
        if (input is null) return;
        int rank = ctx.RankOf(node.Input(0)) ?? -1;
        long axisAttr = node.Attributes.GetInt("axis", 0);
        int axis = (int)(axisAttr < 0 ? axisAttr + rank : axisAttr);
        if (axis != input.Axis)
        {
            foreach (var o in node.Outputs) ctx.SetCarrier(o, input.Axis, input.Units, input.MayBeNonZero);
            return;
        }
        var sizes = node.Attributes.GetInts("split") ?? ctx.ConstantOf(node.Input(1))?.ToInt64Array();
        if (sizes is null && input.Length % node.Outputs.Count == 0)
            sizes = Enumerable.Repeat((long)(input.Length / node.Outputs.Count), node.Outputs.Count).ToArray();
        if (sizes is null || sizes.Sum() != input.Length || (node.Input(1) is not null && !ctx.IsSliceableParameter(node.Input(1))))
        {
            ctx.Pin(input, node, "its split sizes are not known constants");
            return;
        }
        var parts = new List<int[]>();
        int start = 0;
        for (int k = 0; k < node.Outputs.Count; k++)
        {
            var part = input.Units.Skip(start).Take((int)sizes[k]).ToArray();
            parts.Add(part);
            if (part.Length < input.Length) ctx.KeepOne(part, node);
            ctx.SetCarrier(node.Outputs[k], axis, part, input.MayBeNonZero);
            start += (int)sizes[k];
        }
        long opset = ctx.Model.DefaultOpset;
        ctx.AddFixup(node, r =>
        {
            var kept = parts.Select(p => (long)r.KeptCount(p)).ToArray();
            if (opset >= 13)
            {
                var splitInput = DenseTensor.FromInt64s([kept.Length], kept);
                if (node.Input(1) is not null) r.ReplaceConstantInput(node, 1, splitInput);
                else
                {
                    var v = r.Model.Graph.AddInitializer(node.Name + "_split", splitInput);
                    node.SetInputs([node.Inputs[0], v]);
                    node.Attributes.Remove("num_outputs");
                }
            }
            else node.Attributes.Set(Attribute.Ints("split", kept));
        });
    }
}
