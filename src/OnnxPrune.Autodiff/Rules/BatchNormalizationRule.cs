using OnnxPrune.IR;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Autodiff.Rules;

/// <summary>
/// BatchNormalization. On batch statistics (the builder lowered the node and saved the batch mean,
/// 1/σ and the gain k = γ/σ, all shaped [1, C, 1, ...]): dB = Σ dY, dγ = (Σ dY x − mean dB) / σ,
/// dX = γ/σ (dY − (x̂ dγ + dB)/n), sums over batch and spatial axes. dX is written as k dY + (B x + C − B mean) with
/// per-channel k, B, C, the bracket one per-channel affine map of x
/// (<see cref="GradientContext.ChannelAffine"/>): no centred copy of x is kept or made. On
/// running statistics (inference mode): dX = dY γ/σ_running.
/// </summary>
internal sealed class BatchNormalizationRule : IGradientRule
{
    /// <summary>Names of the values the lowering saves for this rule.</summary>
    public const string SavedMean = "mean", SavedInvStd = "invstd", SavedGain = "gain", SavedInvCount = "invcount";

    public Value?[] Backward(GradientContext ctx, GradNode node, IReadOnlyList<Value?> outputGradients)
    {
        var result = new Value?[node.Inputs.Count];
        if (outputGradients[0] is not { } dy) return result;
        var x = node.RequireInput(0);
        var scale = node.RequireInput(1);
        var bias = node.RequireInput(2);
        int rank = ctx.RankOf(x);
        var axes = ConvRule.SpatialAndBatchAxes(rank - 2);
        var channelAxes = Enumerable.Range(1, rank - 2).Select(i => (long)i).ToArray();
        bool needX = ctx.NeedsGradient(x), needScale = ctx.NeedsGradient(scale), needBias = ctx.NeedsGradient(bias);

        if (node.IsLowered)
        {
            var batchMean = node.Saved[SavedMean];
            var invStd = node.Saved[SavedInvStd];
            var k = node.Saved[SavedGain];
            var invCount = node.Saved[SavedInvCount];
            Value? dBias = needX || needBias || needScale ? ctx.PerChannelSum(dy, x) : null;
            Value? dScale = needX || needScale
                ? ctx.Mul(ctx.Sub(ctx.PerChannelSum(ctx.Mul(dy, x), x), ctx.Mul(batchMean, dBias!)), invStd)
                : null;
            if (needX)
            {
                // dX = k dY + B (x − mean) + C with k = γ/σ, B = −k dγ/(nσ), C = −k dB/n.
                var kOverN = ctx.Mul(k, invCount);
                var b = ctx.Neg(ctx.Mul(ctx.Mul(kOverN, dScale!), invStd));
                var c = ctx.Neg(ctx.Mul(kOverN, dBias!));
                var affine = ctx.ChannelAffine(x, ctx.Reshape(b, -1), ctx.Reshape(ctx.Sub(c, ctx.Mul(b, batchMean)), -1), ctx.StaticLength(scale));
                result[0] = ctx.Add(ctx.Mul(dy, k), affine);
            }
            if (needScale) result[1] = ctx.Reshape(dScale!, -1);
            if (needBias) result[2] = ctx.Reshape(dBias!, -1);
            return result;
        }

        var mean = node.RequireInput(3);
        var variance = node.RequireInput(4);
        var epsilon = node.Attributes.GetFloat("epsilon", 1e-5f);
        var invStdRunning = ctx.Op("Reciprocal", [ctx.Op("Sqrt", [ctx.Add(variance, ctx.Scalar(epsilon, ctx.TypeOf(variance)))])]);
        if (needX) result[0] = ctx.Mul(dy, ctx.Unsqueeze(ctx.Mul(scale, invStdRunning), channelAxes));
        if (needScale)
        {
            var normalized = ctx.Mul(ctx.Sub(x, ctx.Unsqueeze(mean, channelAxes)), ctx.Unsqueeze(invStdRunning, channelAxes));
            result[1] = ctx.ReduceSum(ctx.Mul(dy, normalized), axes, keepDims: false);
        }
        if (needBias) result[2] = ctx.ReduceSum(dy, axes, keepDims: false);
        return result;
    }
}

/// <summary>
/// InstanceNormalization: per (sample, channel) statistics over the spatial axes, recomputed in
/// the backward pass: dX = γ/σ (dY − mean(dY) − x̂ mean(dY x̂)), dγ = Σ dY x̂, dβ = Σ dY.
/// </summary>
internal sealed class InstanceNormalizationRule : IGradientRule
{
    public Value?[] Backward(GradientContext ctx, GradNode node, IReadOnlyList<Value?> outputGradients)
    {
        var result = new Value?[node.Inputs.Count];
        if (outputGradients[0] is not { } dy) return result;
        var x = node.RequireInput(0);
        var scale = node.RequireInput(1);
        var bias = node.RequireInput(2);
        bool needX = ctx.NeedsGradient(x), needScale = ctx.NeedsGradient(scale), needBias = ctx.NeedsGradient(bias);
        if (!needX && !needScale && !needBias) return result;
        int rank = ctx.RankOf(x);
        var type = ctx.TypeOf(x);
        var spatial = Enumerable.Range(2, rank - 2).Select(i => (long)i).ToArray();
        var channelAxes = Enumerable.Range(1, rank - 2).Select(i => (long)i).ToArray();
        var batchAndSpatial = ConvRule.SpatialAndBatchAxes(rank - 2);
        float epsilon = node.Attributes.GetFloat("epsilon", 1e-5f);

        var mean = ctx.ReduceMean(x, spatial, keepDims: true);
        var centered = ctx.Sub(x, mean);
        var variance = ctx.ReduceMean(ctx.Mul(centered, centered), spatial, keepDims: true);
        var invStd = ctx.Op("Reciprocal", [ctx.Op("Sqrt", [ctx.Add(variance, ctx.Scalar(epsilon, type))])]);
        var normalized = ctx.Mul(centered, invStd);
        var dyNormalized = ctx.Mul(dy, normalized);
        if (needScale) result[1] = ctx.ReduceSum(dyNormalized, batchAndSpatial, keepDims: false);
        if (needBias) result[2] = ctx.ReduceSum(dy, batchAndSpatial, keepDims: false);
        if (needX)
        {
            var meanDy = ctx.ReduceMean(dy, spatial, keepDims: true);
            var meanDyNormalized = ctx.ReduceMean(dyNormalized, spatial, keepDims: true);
            var inner = ctx.Sub(ctx.Sub(dy, meanDy), ctx.Mul(normalized, meanDyNormalized));
            result[0] = ctx.Mul(inner, ctx.Mul(ctx.Unsqueeze(scale, channelAxes), invStd));
        }
        return result;
    }
}
