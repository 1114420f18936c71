using OnnxPrune.IR;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Pruning.Channels;

/// <summary>Conv: consumes its input channels and produces fresh output channels; depthwise
/// convolutions couple input and output channels; grouped convolutions keep their group count by
/// coupling the same in-group position across all groups.</summary>
internal sealed class ConvRule : IChannelRule
{
    public void Propagate(Node node, AnalysisContext ctx)
    {
        var input = ctx.CarrierOf(node.Input(0));
        var weight = ctx.ConstantOf(node.Input(1));
        if (weight is null || !ctx.IsSliceableParameter(node.Input(1)) || weight.Dims.Length < 3 ||
            (node.Input(2) is { } biasValue && !ctx.IsSliceableParameter(biasValue)))
        {
            if (input is not null) ctx.Pin(input, node, "its weights are not a constant tensor");
            return;
        }
        if (input is not null && input.Axis != 1) { ctx.Pin(input, node, "channels arrive on an axis other than 1"); input = null; }
        long groups = node.Attributes.GetInt("group", 1);
        int cout = (int)weight.Dims[0], perGroupIn = (int)weight.Dims[1];
        if (groups < 1 || cout % groups != 0) { if (input is not null) ctx.Pin(input, node, "invalid group count"); return; }
        int perGroupOut = (int)(cout / groups);

        if (groups == 1)
        {
            if (input is not null)
            {
                if (input.MayBeNonZero) ctx.Pin(input, node, "a removed channel may still carry a non-zero value here");
                ctx.Bind(node, 1, 1, input.Units, ParamRole.Consumer);
            }
            Produce(node, ctx, ctx.NewUnits(node, cout));
            return;
        }
        if (perGroupIn == 1)
        {
            // Depthwise: input channel g feeds outputs g*m .. g*m+m-1 only; removing it removes the group.
            if (input is null || input.Length != groups) return;
            var units = new int[cout];
            for (int g = 0; g < groups; g++)
                for (int i = 0; i < perGroupOut; i++) units[g * perGroupOut + i] = input.Units[g];
            foreach (var u in input.Units) if (u < 0) { ctx.Pin(input, node, "a depthwise group reads a channel that cannot be removed"); break; }
            Produce(node, ctx, units);
            var inputUnits = input.Units;
            ctx.AddFixup(node, r => node.Attributes.Set(Attribute.Int("group", r.KeptCount(inputUnits))));
            return;
        }
        // Grouped: in-group position i of every group is one unit, so every group keeps the same width.
        if (input is not null)
        {
            if (input.MayBeNonZero) ctx.Pin(input, node, "a removed channel may still carry a non-zero value here");
            for (int i = 0; i < perGroupIn; i++)
                for (int g = 1; g < groups; g++)
                {
                    int a = input.Units[i], b = input.Units[g * perGroupIn + i];
                    if (a >= 0 && b >= 0) ctx.Units.Union(a, b);
                    else if (a >= 0 || b >= 0) ctx.Pin(input, node, "a group convolution reads channels that cannot be removed");
                }
            ctx.Bind(node, 1, 1, input.Units.Take(perGroupIn).ToArray(), ParamRole.Consumer);
        }
        var fresh = ctx.NewUnits(node, perGroupOut);
        var outUnits = new int[cout];
        for (int g = 0; g < groups; g++)
            for (int i = 0; i < perGroupOut; i++) outUnits[g * perGroupOut + i] = fresh[i];
        Produce(node, ctx, outUnits);
    }

    private static void Produce(Node node, AnalysisContext ctx, int[] units)
    {
        ctx.Bind(node, 1, 0, units, ParamRole.Producer);
        if (node.Input(2) is not null) ctx.Bind(node, 2, 0, units, ParamRole.Producer);
        ctx.SetCarrier(node.Outputs[0], 1, units, mayBeNonZero: false);
    }
}

/// <summary>ConvTranspose with one group: weight [C_in, C_out, k...].</summary>
internal sealed class ConvTransposeRule : IChannelRule
{
    public void Propagate(Node node, AnalysisContext ctx)
    {
        var input = ctx.CarrierOf(node.Input(0));
        var weight = ctx.ConstantOf(node.Input(1));
        bool usable = weight is not null && ctx.IsSliceableParameter(node.Input(1)) && weight.Dims.Length >= 3 &&
                      node.Attributes.GetInt("group", 1) == 1 && (node.Input(2) is null || ctx.IsSliceableParameter(node.Input(2))) &&
                      !node.Attributes.Contains("output_shape");
        if (!usable)
        {
            if (input is not null) ctx.Pin(input, node, "only single-group transposed convolutions with constant weights are pruned");
            return;
        }
        if (input is not null)
        {
            if (input.Axis != 1 || input.MayBeNonZero) ctx.Pin(input, node, "channels arrive on another axis or may be non-zero when removed");
            else ctx.Bind(node, 1, 0, input.Units, ParamRole.Consumer);
        }
        var units = ctx.NewUnits(node, (int)weight!.Dims[1]);
        ctx.Bind(node, 1, 1, units, ParamRole.Producer);
        if (node.Input(2) is not null) ctx.Bind(node, 2, 0, units, ParamRole.Producer);
        ctx.SetCarrier(node.Outputs[0], 1, units, mayBeNonZero: false);
    }
}

/// <summary>Gemm and MatMul with a constant weight: input features are consumed, output
/// features are fresh units (the classifier's are pinned later as a graph output).</summary>
internal sealed class DenseRule(bool isGemm) : IChannelRule
{
    public void Propagate(Node node, AnalysisContext ctx)
    {
        var input = ctx.CarrierOf(node.Input(0));
        var weight = ctx.ConstantOf(node.Input(1));
        int rankA = ctx.RankOf(node.Input(0)) ?? -1;
        bool transA = isGemm && node.Attributes.GetInt("transA", 0) != 0;
        bool transB = isGemm && node.Attributes.GetInt("transB", 0) != 0;
        var bias = isGemm ? node.Input(2) : null;
        var biasTensor = ctx.ConstantOf(bias);
        bool usable = weight is not null && ctx.IsSliceableParameter(node.Input(1)) && weight.Dims.Length == 2 && !transA && rankA >= 1 &&
                      (bias is null || (ctx.IsSliceableParameter(bias) && biasTensor is not null));
        if (!usable)
        {
            if (input is not null) ctx.Pin(input, node, "its weights are not a constant matrix");
            return;
        }
        int inAxis = transB ? 1 : 0, outAxis = transB ? 0 : 1;
        if (input is not null)
        {
            if (input.Axis != rankA - 1 || input.MayBeNonZero) ctx.Pin(input, node, "features arrive on another axis or may be non-zero when removed");
            else ctx.Bind(node, 1, inAxis, input.Units, ParamRole.Consumer);
        }
        int n = (int)weight!.Dims[outAxis];
        var units = ctx.NewUnits(node, n);
        ctx.Bind(node, 1, outAxis, units, ParamRole.Producer);
        bool nonZero = false;
        if (biasTensor is not null)
        {
            // The bias broadcasts to [M, N]: only a bias with N entries on its last axis follows the features.
            if (biasTensor.Dims.Length >= 1 && biasTensor.Dims[^1] == n && biasTensor.ElementCount == n)
                ctx.Bind(node, 2, biasTensor.Dims.Length - 1, units, ParamRole.Producer);
            else if (biasTensor.ElementCount == 1)
            {
                // One value for every feature: a removed feature computes beta * C, not 0, so only
                // a consumer that tolerates a non-zero channel (an SE gate's Mul) lets it go.
                nonZero = node.Attributes.GetFloat("beta", 1) != 0 && !ctx.IsZeroConstant(bias);
            }
            else
            {
                ctx.Pin(new Carrier(node.Outputs[0], 1, units, false), node, "its bias does not broadcast per output feature");
            }
        }
        // MatMul keeps A's rank ([K] x [K, N] is [N]); Gemm is always [M, N]. Features are on the last axis.
        int outRank = isGemm ? 2 : rankA;
        ctx.SetCarrier(node.Outputs[0], outRank - 1, units, nonZero);
    }
}

/// <summary>BatchNormalization and InstanceNormalization: per-channel parameters follow the channels.</summary>
internal sealed class NormalizationRule : IChannelRule
{
    public void Propagate(Node node, AnalysisContext ctx)
    {
        var input = ctx.CarrierOf(node.Input(0));
        if (input is null) return;
        if (input.Axis != 1) { ctx.Pin(input, node, "channels arrive on an axis other than 1"); return; }
        for (int i = 1; i < node.Inputs.Count; i++)
        {
            if (node.Input(i) is null) continue;
            if (!ctx.IsSliceableParameter(node.Input(i))) { ctx.Pin(input, node, "its parameters are not constant"); return; }
        }
        bool batchNorm = node.OpType == "BatchNormalization";
        for (int i = 1; i < node.Inputs.Count; i++)
            if (node.Input(i) is not null)
                ctx.Bind(node, i, 0, input.Units, batchNorm && i >= 3 ? ParamRole.Statistic : ParamRole.PerChannel);
        // With scale and shift zeroed, a removed channel leaves normalization as exactly zero.
        ctx.SetCarrier(node.Outputs[0], 1, input.Units, mayBeNonZero: false);
    }
}
