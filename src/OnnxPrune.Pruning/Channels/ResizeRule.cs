using OnnxPrune.IR;

namespace OnnxPrune.Pruning.Channels;

/// <summary>
/// Resize and Upsample: each channel is resampled on its own, so the channels pass through, but
/// the target must not pin the channel count. Scales must say 1 on the channel axis. Sizes name
/// the count itself: a constant entry (given, or computed through Concat, Slice, Gather, Cast as
/// tf2onnx writes it) is rewritten to the kept count; an entry read from the Shape of a value
/// with the same channels already shrinks with them. Anything else pins the group, naming this
/// Resize: the pruned model would fail in ONNX Runtime or resample across channels.
/// </summary>
internal sealed class ResizeRule : IChannelRule
{
    public void Propagate(Node node, AnalysisContext ctx)
    {
        var input = ctx.CarrierOf(node.Input(0));
        var reads = ctx.SizesReads.Where(r => ReferenceEquals(r.Resize, node)).ToList();
        if (input is null)
        {
            foreach (var (_, _, source) in reads) ctx.Pin(source, node, $"its sizes read the channel count of '{source.Value.Name}', which it does not resize");
            return;
        }
        var why = Follows(node, input, reads, ctx);
        if (why is not null)
        {
            ctx.Pin(input, node, why);
            foreach (var (_, _, source) in reads) ctx.Pin(source, node, why);
            return;
        }
        ctx.SetCarrier(node.Outputs[0], input.Axis, input.Units, input.MayBeNonZero);
    }

    /// <summary>Null when the target follows the channels (registering the rewrite), else why not.</summary>
    private static string? Follows(Node node, Carrier input, List<(Node Resize, int Entry, Carrier Source)> reads, AnalysisContext ctx)
    {
        if (ctx.RankOf(node.Input(0)) is not { } rank) return "its input's rank is unknown";
        // Opset 18 may list the resized axes; sizes and scales then have one entry per listed axis.
        int entry = input.Axis;
        if (node.OpType == "Resize" && node.Attributes.GetInts("axes") is { } axes)
        {
            entry = Array.FindIndex(axes, a => (a < 0 ? a + rank : a) == input.Axis);
            if (entry < 0) return reads.Count == 0 ? null : "its sizes read a channel count on an axis it does not resize";
        }
        foreach (var (_, at, source) in reads)
        {
            if (at != entry || source.Length != input.Length) return $"its sizes read the channel count of '{source.Value.Name}' at another entry";
            ctx.UnionCarriers(input, source); // the two counts must stay equal
        }

        // Resize-10 and Upsample-9: (X, scales); Resize-11+: (X, roi, scales, sizes); Upsample-7: a scales attribute.
        bool twoInputs = node.Inputs.Count <= 2;
        int scalesIndex = twoInputs ? 1 : 2;
        var sizes = twoInputs ? null : node.Input(3);
        if (sizes is not null && ctx.ShapeOf(sizes)?.ElementCount() is not 0)
            return SizesFollow(node, entry, input, reads.Count > 0, ctx);
        if (node.Input(scalesIndex) is { } scales && ctx.ShapeOf(scales)?.ElementCount() is not 0)
            return ShapeVectorTrace.Element(node, scalesIndex, entry, ctx) switch
            {
                TracedElement.Constant { Number: 1 } => null,
                TracedElement.Constant => "it resizes the channel axis",
                _ => "it cannot tell its scale on the channel axis",
            };
        if (node.OpType == "Upsample" && node.Attributes.GetFloats("scales") is { } attr)
            return entry < attr.Length && attr[entry] == 1 ? null : "it resizes the channel axis";
        return "it has neither sizes nor scales";
    }

    private static string? SizesFollow(Node node, int entry, Carrier input, bool readFromShape, AnalysisContext ctx)
    {
        switch (ShapeVectorTrace.Element(node, 3, entry, ctx))
        {
            case TracedElement.Constant c when c.Number != input.Length:
                return "it resizes the channel axis";
            case TracedElement.Constant { Rewritable: false }:
                return "its sizes' channel entry is a constant that other nodes read too";
            case TracedElement.Constant c:
                var units = input.Units;
                ctx.AddFixup(node, r => ShapeVectorTrace.Rewrite(c, r.KeptCount(units), r));
                return null;
            case TracedElement.ShapeEntry when readFromShape:
                return null; // the Shape rule recorded it and it was coupled above
            case TracedElement.ShapeEntry s:
                return $"its sizes' channel entry is the size of '{s.Source.Name}', which does not shrink with these channels";
            default:
                return "it cannot tell what its sizes' channel entry is";
        }
    }
}
