using OnnxPrune.IR;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Pruning.Channels;

/// <summary>Where one element of a small computed vector (a Resize's sizes or scales) comes from.</summary>
internal abstract record TracedElement
{
    /// <summary>Element <see cref="Element"/> of a constant: the initializer at input
    /// <see cref="InputIndex"/> of <see cref="Holder"/>, or the value of the Constant node
    /// <see cref="Holder"/> itself (<see cref="InputIndex"/> = -1). <see cref="Rewritable"/> is false
    /// when a value on the way has another reader, which would see the rewrite too.</summary>
    public sealed record Constant(Node Holder, int InputIndex, int Element, Tensor Tensor, bool Rewritable) : TracedElement
    {
        public double Number => Tensor.ToDoubleArray()[Element];
    }

    /// <summary>The size of axis <see cref="Axis"/> of <see cref="Source"/>, read by a Shape node.</summary>
    public sealed record ShapeEntry(Value Source, int Axis) : TracedElement;

    /// <summary>Anything the trace does not follow (arithmetic, a graph input, an unknown shape).</summary>
    public sealed record Unknown : TracedElement;
}

/// <summary>
/// Follows one element of a 1-D vector computed at run time back through the ops exporters use to
/// build shapes (Concat, Slice, Gather, Cast, Identity, Unsqueeze, Squeeze) to a constant or a
/// Shape entry. tf2onnx writes a Resize's sizes as Concat(Slice(Shape(x)), constant); the channel
/// entry must follow the pruned width, so the rule needs to know which constant holds it.
/// Cost: O(depth) nodes; depth is capped, a deeper chain is <see cref="TracedElement.Unknown"/>.
/// </summary>
internal static class ShapeVectorTrace
{
    private const int MaxDepth = 8;

    /// <summary>Element <paramref name="element"/> of input <paramref name="inputIndex"/> of <paramref name="consumer"/>.</summary>
    public static TracedElement Element(Node consumer, int inputIndex, int element, AnalysisContext ctx) =>
        Trace(consumer, inputIndex, element, ctx, rewritable: true, depth: 0);

    private static TracedElement Trace(Node consumer, int inputIndex, int element, AnalysisContext ctx, bool rewritable, int depth)
    {
        var v = consumer.Input(inputIndex);
        if (v is null || element < 0 || depth > MaxDepth) return new TracedElement.Unknown();
        if (v.Producer is null)
        {
            // An initializer: replacing it at this one input leaves its other readers alone.
            return ctx.IsSliceableParameter(v) && ctx.ConstantOf(v) is { } t && element < t.ElementCount
                ? new TracedElement.Constant(consumer, inputIndex, element, t, rewritable)
                : new TracedElement.Unknown();
        }
        var p = v.Producer;
        // A value read elsewhere too: still traced (to tell constant from Shape), but not rewritten.
        rewritable &= v.Uses.Count == 1 && !v.IsGraphOutput;
        if (!p.IsOnnxDomain) return new TracedElement.Unknown();
        switch (p.OpType)
        {
            case "Constant" when p.Attributes["value"] is { Kind: AttributeKind.Tensor } a && element < a.AsTensor().ElementCount:
                return new TracedElement.Constant(p, -1, element, a.AsTensor(), rewritable);
            case "Cast" or "Identity" or "Unsqueeze" or "Squeeze":
                // Element order is unchanged: the flat index stays.
                return Trace(p, 0, element, ctx, rewritable, depth + 1);
            case "Concat":
                long offset = 0;
                for (int i = 0; i < p.Inputs.Count; i++)
                {
                    if (ctx.ShapeOf(p.Inputs[i])?.ElementCount() is not { } count) return new TracedElement.Unknown();
                    if (element < offset + count) return Trace(p, i, (int)(element - offset), ctx, rewritable, depth + 1);
                    offset += count;
                }
                return new TracedElement.Unknown();
            case "Slice":
                return SliceSource(p, element, ctx) is { } from ? Trace(p, 0, from, ctx, rewritable, depth + 1) : new TracedElement.Unknown();
            case "Gather" when p.Attributes.GetInt("axis", 0) == 0 && ctx.RankOf(p.Input(0)) == 1:
                var indices = ctx.ConstantOf(p.Input(1))?.ToInt64Array();
                var length = ctx.ShapeOf(p.Input(0))?.ElementCount();
                if (indices is null || length is not { } n || element >= indices.Length) return new TracedElement.Unknown();
                return Trace(p, 0, (int)(indices[element] < 0 ? indices[element] + n : indices[element]), ctx, rewritable, depth + 1);
            case "Shape":
                if (ctx.RankOf(p.Input(0)) is not { } rank) return new TracedElement.Unknown();
                long start = p.Attributes.GetInt("start", 0);
                start = Math.Clamp(start < 0 ? start + rank : start, 0, rank);
                return new TracedElement.ShapeEntry(p.Input(0)!, (int)start + element);
            default:
                return new TracedElement.Unknown();
        }
    }

    /// <summary>The input element that element <paramref name="element"/> of a 1-D step-1 Slice
    /// with constant bounds comes from; null for anything else.</summary>
    private static int? SliceSource(Node p, int element, AnalysisContext ctx)
    {
        if (ctx.RankOf(p.Input(0)) != 1 || ctx.ShapeOf(p.Input(0))?.ElementCount() is not { } n) return null;
        bool fromAttributes = p.Inputs.Count == 1;
        var starts = fromAttributes ? p.Attributes.GetInts("starts") : ctx.ConstantOf(p.Input(1))?.ToInt64Array();
        bool stepOne = fromAttributes || p.Input(4) is not { } step || ctx.ConstantOf(step)?.ToInt64Array() is [1];
        bool axisZero = fromAttributes ? p.Attributes.GetInts("axes") is null or [0] or [-1] : p.Input(3) is not { } ax || ctx.ConstantOf(ax)?.ToInt64Array() is [0] or [-1];
        if (starts is not [var s] || !stepOne || !axisZero) return null;
        return (int)(Math.Clamp(s < 0 ? s + n : s, 0, n) + element);
    }

    /// <summary>Writes <paramref name="number"/> into the traced constant, as a fix-up does.</summary>
    public static void Rewrite(TracedElement.Constant c, double number, RewriteContext r)
    {
        var values = c.Tensor.ToDoubleArray();
        values[c.Element] = number;
        var replaced = DenseTensor.FromDoubles(c.Tensor.DataType, c.Tensor.Dims.ToArray(), values);
        if (c.InputIndex < 0) c.Holder.Attributes.Set(Attribute.FromTensor("value", replaced));
        else r.ReplaceConstantInput(c.Holder, c.InputIndex, replaced);
    }
}
