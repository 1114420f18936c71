using OnnxPrune.IR;

namespace OnnxPrune.Pruning.Channels;

/// <summary>One-input ops that act on each element alone: the channels pass through unchanged.
/// <paramref name="zeroPreserving"/> says whether f(0) = 0, so a removed (zeroed) channel stays zero.</summary>
internal sealed class UnaryRule(bool zeroPreserving) : IChannelRule
{
    public void Propagate(Node node, AnalysisContext ctx)
    {
        var input = ctx.CarrierOf(node.Input(0));
        if (input is null) return;
        bool nonZero = input.MayBeNonZero || !zeroPreserving || !ClipKeepsZero(node, ctx);
        ctx.SetCarrier(node.Outputs[0], input.Axis, input.Units, nonZero);
        if (node.OpType == "PRelu") BindSlope(node, ctx, input);
    }

    /// <summary>Clip keeps 0 at 0 only when min ≤ 0 ≤ max.</summary>
    private static bool ClipKeepsZero(Node node, AnalysisContext ctx)
    {
        if (node.OpType != "Clip") return true;
        double min = node.Attributes.GetFloat("min", float.MinValue), max = node.Attributes.GetFloat("max", float.MaxValue);
        if (node.Input(1) is { } minV) { if (ctx.ConstantOf(minV) is { ElementCount: 1 } t) min = t.ToDoubleArray()[0]; else return false; }
        if (node.Input(2) is { } maxV) { if (ctx.ConstantOf(maxV) is { ElementCount: 1 } t) max = t.ToDoubleArray()[0]; else return false; }
        return min <= 0 && max >= 0;
    }

    private static void BindSlope(Node node, AnalysisContext ctx, Carrier input)
    {
        var slope = ctx.ConstantOf(node.Input(1));
        int rank = ctx.RankOf(node.Input(0)) ?? -1;
        if (slope is null || rank < 0) { ctx.Pin(input, node, "its slope is not constant"); return; }
        int axis = input.Axis - (rank - slope.Dims.Length);
        if (axis >= 0 && slope.Dims[axis] == input.Length)
        {
            if (!ctx.IsSliceableParameter(node.Input(1))) { ctx.Pin(input, node, "its per-channel slope is computed"); return; }
            ctx.Bind(node, 1, axis, input.Units, ParamRole.PerChannel);
        }
        else if (axis >= 0 && slope.Dims[axis] != 1) ctx.Pin(input, node, "its slope does not broadcast over channels");
    }
}

/// <summary>
/// Element-wise ops with broadcasting (Add, Sub, Mul, Div, Max, Min, Sum). Inputs that carry
/// channels are coupled position by position (a residual Add, an SE gate's Mul); a constant with
/// one entry per channel is sliced with them; a scalar or spatial constant just broadcasts.
/// </summary>
internal sealed class BroadcastRule : IChannelRule
{
    public bool FollowsInput(int index) => true;

    public void Propagate(Node node, AnalysisContext ctx)
    {
        var carriers = node.Inputs.Select(ctx.CarrierOf).ToList();
        var present = carriers.Where(c => c is not null).Cast<Carrier>().ToList();
        if (present.Count == 0) return;
        var outShape = ctx.ShapeOf(node.Outputs[0]);
        if (outShape is null) { foreach (var c in present) ctx.Pin(c, node, "its output shape is unknown"); return; }
        int rank = outShape.Rank;

        // Every carrier must land on the same output axis with the same length.
        int outAxis = -1;
        foreach (var (c, i) in carriers.Select((c, i) => (c, i)))
        {
            if (c is null) continue;
            int a = c.Axis + rank - (ctx.RankOf(node.Inputs[i]) ?? rank);
            if (a < 0 || a >= rank)
            {
                // A carrier that does not fit the output's rank: nothing here can be indexed safely.
                foreach (var p in present) ctx.Pin(p, node, "its channel axis is outside its output's rank");
                return;
            }
            if (outAxis < 0) outAxis = a;
            if (a != outAxis || c.Length != present[0].Length)
            {
                foreach (var p in present) ctx.Pin(p, node, "its inputs carry channels on different axes");
                return;
            }
        }
        var lead = present[0];
        for (int k = 1; k < present.Count; k++) ctx.UnionCarriers(lead, present[k]);

        bool anyZero = present.Any(c => !c.MayBeNonZero);
        bool allZero = present.All(c => !c.MayBeNonZero);
        bool otherNonZero = false;
        for (int i = 0; i < node.Inputs.Count; i++)
        {
            var v = node.Inputs[i];
            if (v is null || carriers[i] is not null) continue;
            var shape = ctx.ShapeOf(v);
            if (shape is null) { ctx.Pin(lead, node, "an operand has an unknown shape"); return; }
            int axis = outAxis - (rank - shape.Rank);
            bool broadcastsOverChannels = axis < 0 || shape[axis].Value == 1;
            if (!broadcastsOverChannels)
            {
                if (ctx.IsSliceableParameter(v) && shape[axis].Value == lead.Length)
                {
                    // Zeroed with the channel in the exactness check, sliced with it in pruning; a
                    // divisor only sliced, since a zeroed one turns the zeroed channel into 0/0 = NaN.
                    ctx.Bind(node, i, axis, lead.Units, node.OpType == "Div" && i == 1 ? ParamRole.Divisor : ParamRole.PerChannel);
                    continue;
                }
                ctx.Pin(lead, node, "an operand that is not pruned has one entry per channel");
                return;
            }
            // A scalar or spatial operand: x + 3 is non-zero where x was zeroed; x * 3 is not.
            otherNonZero |= !ctx.IsZeroConstant(v);
        }

        bool nonZero;
        switch (node.OpType)
        {
            case "Mul":
                nonZero = !anyZero;
                break;
            case "Div":
                if (carriers.Count > 1 && carriers[1] is not null) { ctx.Pin(lead, node, "it divides by a prunable channel"); return; }
                nonZero = carriers[0]?.MayBeNonZero ?? true;
                break;
            default:
                nonZero = !allZero || otherNonZero;
                break;
        }
        ctx.SetCarrier(node.Outputs[0], outAxis, lead.Units, nonZero);
    }
}
