using OnnxPrune.IR;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Pruning.Channels;

/// <summary>Slice: a step-1 range along the channel axis keeps those channels; its bounds are
/// rewritten after removal. Slicing other axes leaves the channels alone.</summary>
internal sealed class SliceRule : IChannelRule
{
    public void Propagate(Node node, AnalysisContext ctx)
    {
        var input = ctx.CarrierOf(node.Input(0));
        if (input is null) return;
        int rank = ctx.RankOf(node.Input(0)) ?? -1;
        bool fromAttributes = node.Inputs.Count == 1;
        long[]? starts = fromAttributes ? node.Attributes.GetInts("starts") : ctx.ConstantOf(node.Input(1))?.ToInt64Array();
        long[]? ends = fromAttributes ? node.Attributes.GetInts("ends") : ctx.ConstantOf(node.Input(2))?.ToInt64Array();
        long[]? axes = fromAttributes ? node.Attributes.GetInts("axes") : node.Input(3) is { } a ? ctx.ConstantOf(a)?.ToInt64Array() : null;
        long[]? steps = !fromAttributes && node.Input(4) is { } s ? ctx.ConstantOf(s)?.ToInt64Array() : null;
        if (rank < 0 || starts is null || ends is null || (!fromAttributes && node.Input(3) is not null && axes is null) || (node.Input(4) is not null && steps is null))
        {
            ctx.Pin(input, node, "its bounds are not constant");
            return;
        }
        axes ??= Enumerable.Range(0, starts.Length).Select(i => (long)i).ToArray();
        int k = Array.FindIndex(axes, x => (x < 0 ? x + rank : x) == input.Axis);
        if (k < 0)
        {
            ctx.SetCarrier(node.Outputs[0], input.Axis, input.Units, input.MayBeNonZero);
            return;
        }
        if (steps is not null && steps[k] != 1) { ctx.Pin(input, node, "it slices channels with a step other than 1"); return; }
        if (!fromAttributes && (!ctx.IsSliceableParameter(node.Input(1)) || !ctx.IsSliceableParameter(node.Input(2))))
        {
            ctx.Pin(input, node, "its bounds are computed");
            return;
        }
        int n = input.Length;
        int Clamp(long v) => (int)Math.Clamp(v < 0 ? v + n : v, 0, n);
        int start = Clamp(starts[k]), end = Math.Max(start, Clamp(ends[k]));
        var units = input.Units;
        // A range of every channel is no emptier than the input; a part of them may be emptied.
        if (end - start < n) ctx.KeepOne(units[start..end], node);
        ctx.SetCarrier(node.Outputs[0], input.Axis, units[start..end], input.MayBeNonZero);
        ctx.AddFixup(node, r =>
        {
            var newStarts = starts.ToArray();
            var newEnds = ends.ToArray();
            newStarts[k] = r.KeptBefore(units, start);
            newEnds[k] = r.KeptBefore(units, end);
            if (fromAttributes)
            {
                node.Attributes.Set(Attribute.Ints("starts", newStarts));
                node.Attributes.Set(Attribute.Ints("ends", newEnds));
            }
            else
            {
                var type = ctx.ConstantOf(node.Input(1))!.DataType;
                r.ReplaceConstantInput(node, 1, DenseTensor.FromInt64s(type, [newStarts.Length], newStarts));
                r.ReplaceConstantInput(node, 2, DenseTensor.FromInt64s(type, [newEnds.Length], newEnds));
            }
        });
    }
}

/// <summary>
/// Flatten and Reshape. Two forms keep channels prunable: the channel axis survives whole
/// ([N,C,1,1] -> [N,C]), or it and all later axes merge into the last one ([N,C,H,W] ->
/// [N,C*H*W], where each channel owns a block of H*W features). A constant target shape is
/// rewritten; a computed one must say -1 for that axis. Anything else is a barrier.
/// </summary>
internal sealed class FlattenRule : IChannelRule
{
    /// <summary>Features per channel above which a flatten is a barrier (the unit map holds one entry per feature).</summary>
    internal const long MaxFeaturesPerChannel = 1 << 20;

    public void Propagate(Node node, AnalysisContext ctx)
    {
        var input = ctx.CarrierOf(node.Input(0));
        if (input is null) return;
        var inShape = ctx.ShapeOf(node.Input(0));
        var outShape = ctx.ShapeOf(node.Outputs[0]);
        if (inShape is null || outShape is null) { ctx.Pin(input, node, "its shapes are unknown"); return; }
        int a = input.Axis;
        // Leading axes must be the same, so the channel axis lines up.
        if (outShape.Rank <= a || !inShape.Dims.Take(a).SequenceEqual(outShape.Dims.Take(a)))
        {
            ctx.Pin(input, node, "it reshapes the axes before the channels");
            return;
        }
        long? trailing = 1;
        for (int d = a + 1; d < inShape.Rank; d++) trailing = inShape[d].Value is { } v ? trailing * v : null;
        int[] units;
        if (outShape[a].Value == input.Length && inShape.Dims.Skip(a + 1).All(d => d.Value == 1) && outShape.Dims.Skip(a + 1).All(d => d.Value == 1))
        {
            units = input.Units; // channel axis unchanged; only unit axes come or go
        }
        else if (outShape.Rank == a + 1 && trailing is { } many && many > MaxFeaturesPerChannel)
        {
            // One unit entry per feature: dims this large are damaged (found by fuzzing: an input of
            // width 2^32 overflowed the feature array), not a layer anyone prunes.
            ctx.Pin(input, node, $"it gives each channel {many} features, more than {MaxFeaturesPerChannel}");
            return;
        }
        else if (outShape.Rank == a + 1 && trailing is { } t && outShape[a].Value == input.Length * t)
        {
            units = new int[input.Length * t];
            for (int c = 0; c < input.Length; c++)
                for (long k = 0; k < t; k++) units[c * t + k] = input.Units[c];
        }
        else
        {
            ctx.Pin(input, node, "it mixes the channel axis with others");
            return;
        }
        if (node.OpType == "Reshape" && !TargetFollows(node, a, ctx, units))
        {
            ctx.Pin(input, node, "its target shape is computed with an explicit channel size");
            return;
        }
        ctx.SetCarrier(node.Outputs[0], a, units, input.MayBeNonZero);
    }

    /// <summary>Whether the Reshape target adapts: -1 at the axis, or a constant we rewrite.</summary>
    private static bool TargetFollows(Node node, int axis, AnalysisContext ctx, int[] units)
    {
        var target = ctx.ConstantOf(node.Input(1))?.ToInt64Array();
        if (target is not null && axis < target.Length)
        {
            if (target[axis] == -1) return true;
            if (target[axis] == 0) return true; // copies the input dim, which shrinks with the channels
            if (!ctx.IsSliceableParameter(node.Input(1))) return TraceComputedTarget(node, axis, ctx, units);
            var type = ctx.ConstantOf(node.Input(1))!.DataType;
            ctx.AddFixup(node, r =>
            {
                var t = target.ToArray();
                t[axis] = r.KeptCount(units);
                r.ReplaceConstantInput(node, 1, DenseTensor.FromInt64s(type, [t.Length], t));
            });
            return true;
        }
        return TraceComputedTarget(node, axis, ctx, units);
    }

    /// <summary>A target computed at run time follows the channels when it says -1 at the axis, or
    /// when the size there comes from a constant we can rewrite.</summary>
    private static bool TraceComputedTarget(Node node, int axis, AnalysisContext ctx, int[] units)
    {
        if (ctx.Shapes.TryGetShapeValue(node.Input(1)!, out var dims) && axis < dims.Count && dims[axis].Value == -1) return true;
        // paddle2onnx computes [batch, C] by concatenating the batch size with a constant C:
        // rewrite that constant.
        if (ShapeVectorTrace.Element(node, 1, axis, ctx) is not TracedElement.Constant { Rewritable: true } c || c.Number != units.Length) return false;
        ctx.AddFixup(node, r => ShapeVectorTrace.Rewrite(c, r.KeptCount(units), r));
        return true;
    }
}

/// <summary>Shape of a value that carries channels: harmless when only other axes are read
/// (torch's and paddle's flatten read the batch size this way).</summary>
internal sealed class ShapeRule : IChannelRule
{
    public void Propagate(Node node, AnalysisContext ctx)
    {
        var input = ctx.CarrierOf(node.Input(0));
        if (input is null) return;
        if (ctx.RankOf(node.Input(0)) is not { } rank) { ctx.Pin(input, node, "its input's rank is unknown, so its entries cannot be told apart"); return; }
        // Since opset 15 Shape may hold only the dims of axes start .. end - 1: entry i is axis start + i.
        int start = Normalize(node.Attributes.GetInt("start", 0), rank);
        int length = Math.Max(0, Normalize(node.Attributes.GetInt("end", rank), rank) - start);
        int entry = input.Axis - start;
        if (entry < 0 || entry >= length) return; // the channel count is not among the entries
        if (!ChannelCountStaysSafe(node.Outputs[0], entry, length, input, ctx, 0))
            ctx.Pin(input, node, "the channel count is read as a number");
    }

    /// <summary>An index into <paramref name="length"/> entries as ONNX reads it: a negative one
    /// counts from the end; clamped to 0 .. length.</summary>
    private static int Normalize(long index, int length) => (int)Math.Clamp(index < 0 ? index + length : index, 0, length);

    /// <summary>Whether every reader of <paramref name="shape"/> (a vector of <paramref name="length"/>
    /// dims whose entry <paramref name="entry"/> is the channel count) either leaves that entry alone
    /// or hands it on, unchanged, to a Resize's sizes (recorded for the Resize rule to check: the
    /// count shrinks with the channels there, which is what sizes needs).</summary>
    private static bool ChannelCountStaysSafe(Value shape, int entry, int length, Carrier source, AnalysisContext ctx, int depth)
    {
        if (depth > 6 || shape.IsGraphOutput) return false;
        foreach (var use in shape.Uses)
        {
            var n = use.Node;
            if (!n.IsOnnxDomain) return false;
            switch (n.OpType)
            {
                case "Cast" or "Identity":
                    if (!ChannelCountStaysSafe(n.Outputs[0], entry, length, source, ctx, depth + 1)) return false;
                    break;
                case "Unsqueeze" or "Squeeze" when ctx.RankOf(n.Outputs[0]) is 0 or 1:
                    // A scalar becomes a one-entry vector or back: the flat index stays.
                    if (!ChannelCountStaysSafe(n.Outputs[0], entry, length, source, ctx, depth + 1)) return false;
                    break;
                case "Gather" when use.InputIndex == 0 && n.Attributes.GetInt("axis", 0) == 0:
                    if (ctx.ConstantOf(n.Input(1)) is not { } idxTensor) return false;
                    var idx = idxTensor.ToInt64Array();
                    var hits = Enumerable.Range(0, idx.Length).Where(i => Normalize(idx[i], length) == entry).ToList();
                    if (hits.Count == 0) break;
                    if (hits.Count > 1 || !ChannelCountStaysSafe(n.Outputs[0], hits[0], idx.Length, source, ctx, depth + 1)) return false;
                    break;
                case "Slice" when use.InputIndex == 0:
                    var starts = n.Inputs.Count > 1 ? ctx.ConstantOf(n.Input(1))?.ToInt64Array() : n.Attributes.GetInts("starts");
                    var ends = n.Inputs.Count > 1 ? ctx.ConstantOf(n.Input(2))?.ToInt64Array() : n.Attributes.GetInts("ends");
                    // Only a step-1 range [start, end) is judged; another step may still read the entry.
                    bool stepOne = n.Input(4) is not { } step || ctx.ConstantOf(step)?.ToInt64Array() is [1];
                    if (starts is not { Length: 1 } || ends is not { Length: 1 } || !stepOne) return false;
                    int from = Normalize(starts[0], length), to = Normalize(ends[0], length);
                    if (entry < from || entry >= to) break;
                    if (!ChannelCountStaysSafe(n.Outputs[0], entry - from, to - from, source, ctx, depth + 1)) return false;
                    break;
                case "Concat" when ctx.RankOf(n.Outputs[0]) == 1 && ctx.ShapeOf(n.Outputs[0])?.ElementCount() is { } total:
                    long offset = 0;
                    for (int i = 0; i < use.InputIndex; i++)
                        if (ctx.ShapeOf(n.Inputs[i])?.ElementCount() is { } count) offset += count;
                        else return false;
                    if (!ChannelCountStaysSafe(n.Outputs[0], (int)offset + entry, (int)total, source, ctx, depth + 1)) return false;
                    break;
                case "Resize" when use.InputIndex == 3:
                    ctx.SizesReads.Add((n, entry, source));
                    break;
                default:
                    return false;
            }
        }
        return true;
    }
}

/// <summary>Pad: zero padding of other axes leaves channels alone; padding the channel axis is a barrier.</summary>
internal sealed class PadRule : IChannelRule
{
    public void Propagate(Node node, AnalysisContext ctx)
    {
        var input = ctx.CarrierOf(node.Input(0));
        if (input is null) return;
        int rank = ctx.RankOf(node.Input(0)) ?? -1;
        var pads = node.Attributes.GetInts("pads") ?? node.Attributes.GetInts("paddings") ?? ctx.ConstantOf(node.Input(1))?.ToInt64Array();
        long[]? axes = node.Input(3) is { } ax ? ctx.ConstantOf(ax)?.ToInt64Array() : null;
        if (rank < 0 || pads is null || (node.Input(3) is not null && axes is null))
        {
            ctx.Pin(input, node, "its pads are not constant");
            return;
        }
        axes ??= Enumerable.Range(0, rank).Select(i => (long)i).ToArray();
        int k = Array.FindIndex(axes, x => (x < 0 ? x + rank : x) == input.Axis);
        if (k >= 0 && (pads[k] != 0 || pads[k + axes.Length] != 0)) { ctx.Pin(input, node, "it pads the channel axis"); return; }
        string mode = node.Attributes.GetString("mode", "constant");
        bool nonZero = input.MayBeNonZero;
        if (mode == "constant" && node.Input(2) is { } value)
            nonZero |= !ctx.IsZeroConstant(value);
        if (mode == "constant" && node.Attributes.GetFloat("value", 0) != 0) nonZero = true;
        ctx.SetCarrier(node.Outputs[0], input.Axis, input.Units, nonZero);
    }
}
