using OnnxPrune.IR;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Autodiff.Rules;

/// <summary>The reductions that have a gradient rule.</summary>
internal enum ReductionKind { Sum, Mean, Max, Min, Prod, SumSquare, LogSumExp }

/// <summary>
/// ReduceSum/Mean/Max/Min/Prod/SumSquare/LogSumExp: dY with the reduced axes restored, expanded
/// to X's shape, times the local derivative: 1, 1/count, [x = y] (ties share), y/x, 2x, exp(x − y).
/// </summary>
internal sealed class ReduceRule(ReductionKind kind) : IGradientRule
{
    public Value?[] Backward(GradientContext ctx, GradNode node, IReadOnlyList<Value?> outputGradients)
    {
        var result = new Value?[node.Inputs.Count];
        if (outputGradients[0] is not { } dy || !ctx.NeedsGradient(node.Input(0))) return result;
        var x = node.RequireInput(0);
        var y = node.Outputs[0];
        int rank = ctx.RankOf(x);
        bool axesAsInput = kind == ReductionKind.Sum ? ctx.Opset >= 13 : ctx.Opset >= 18;
        long[]? axes;
        if (axesAsInput)
        {
            axes = null;
            if (node.Input(1) is { } axesValue && !ctx.TryGetInt64s(axesValue, out axes))
                throw new GradientException($"the gradient of {node.OpType} '{node.Name}' needs constant axes");
        }
        else axes = node.Attributes.GetInts("axes");
        if (axes is null || axes.Length == 0)
        {
            if (node.Attributes.GetInt("noop_with_empty_axes", 0) != 0)
            {
                result[0] = kind switch
                {
                    ReductionKind.SumSquare => ctx.Mul(dy, ctx.Scale(x, 2)),
                    _ => dy, // the identity (LogSumExp of one element is x itself)
                };
                return result;
            }
            axes = Enumerable.Range(0, rank).Select(i => (long)i).ToArray();
        }
        var sorted = axes.Select(a => GradientContext.NormalizeAxis(a, rank)).Distinct().Order().ToArray();
        bool keep = node.Attributes.GetInt("keepdims", 1) != 0;
        Value Restore(Value v) => keep ? v : ctx.Unsqueeze(v, sorted);
        var grad = ctx.Op("Expand", [Restore(dy), ctx.ShapeTensor(x)]);
        switch (kind)
        {
            case ReductionKind.Sum:
                break;
            case ReductionKind.Mean:
            {
                var shape = ctx.ShapeOf(x);
                var counts = sorted.Select(a => shape?[(int)a].Value).ToArray();
                if (counts.All(c => c.HasValue))
                    grad = ctx.Scale(grad, 1.0 / counts.Aggregate(1L, (p, c) => p * c!.Value));
                else
                {
                    var type = ctx.TypeOf(dy);
                    grad = ctx.Mul(grad, ctx.Div(ctx.Cast(ctx.Op("Size", [y]), type), ctx.Cast(ctx.Op("Size", [x]), type)));
                }
                break;
            }
            case ReductionKind.Max or ReductionKind.Min:
                grad = ctx.KeepWhere(ctx.Op("Equal", [x, Restore(y)]), grad);
                break;
            case ReductionKind.Prod:
                grad = ctx.Mul(grad, ctx.Div(Restore(y), x));
                break;
            case ReductionKind.SumSquare:
                grad = ctx.Mul(grad, ctx.Scale(x, 2));
                break;
            case ReductionKind.LogSumExp:
                grad = ctx.Mul(grad, ctx.Op("Exp", [ctx.Sub(x, Restore(y))]));
                break;
        }
        result[0] = grad;
        return result;
    }
}

/// <summary>Softmax: dX = y (dY − Σ dY y); LogSoftmax: dX = dY − exp(y) Σ dY, sums along the axis.</summary>
internal sealed class SoftmaxRule(bool log) : IGradientRule
{
    public Value?[] Backward(GradientContext ctx, GradNode node, IReadOnlyList<Value?> outputGradients)
    {
        var result = new Value?[node.Inputs.Count];
        if (outputGradients[0] is not { } dy || !ctx.NeedsGradient(node.Input(0))) return result;
        var y = node.Outputs[0];
        long axis = GradientContext.NormalizeAxis(node.Attributes.GetInt("axis", -1), ctx.RankOf(y));
        if (log)
        {
            var total = ctx.ReduceSum(dy, new[] { axis }, keepDims: true);
            result[0] = ctx.Sub(dy, ctx.Mul(ctx.Op("Exp", [y]), total));
        }
        else
        {
            var dot = ctx.ReduceSum(ctx.Mul(dy, y), new[] { axis }, keepDims: true);
            result[0] = ctx.Mul(y, ctx.Sub(dy, dot));
        }
        return result;
    }
}

/// <summary>Shared pieces of the classification losses: one-hot targets along axis 1, the
/// ignore mask, and the scale a reduction applies.</summary>
internal static class ClassLoss
{
    /// <summary>(labels == class) as the scores' type, shaped (N, C, d1, ...).</summary>
    public static Value OneHot(GradientContext ctx, Value scores, Value labels)
    {
        int rank = ctx.RankOf(scores);
        var classShape = Enumerable.Repeat(1L, rank).ToArray();
        Value classes;
        if (ctx.ShapeOf(scores)?[1].Value is { } c)
        {
            classShape[1] = c;
            classes = ctx.Constant(DenseTensor.FromInt64s(classShape, Enumerable.Range(0, (int)c).Select(i => (long)i).ToArray()), "classes");
        }
        else
        {
            var count = ctx.Squeeze(ctx.Op("Shape", [scores], Attribute.Int("start", 1), Attribute.Int("end", 2)), 0);
            var range = ctx.Op("Range", [ctx.Int64Scalar(0), count, ctx.Int64Scalar(1)]);
            classShape[1] = -1;
            classes = ctx.Reshape(range, classShape);
        }
        var expandedLabels = ctx.Unsqueeze(ctx.Cast(labels, DataType.Int64), 1);
        return ctx.Cast(ctx.Op("Equal", [expandedLabels, classes]), ctx.TypeOf(scores));
    }

    /// <summary>
    /// Multiplies the per-element gradient <paramref name="perClass"/> (N, C, ...) by the loss's
    /// output gradient and by the reduction's weight: 1/(number of counted elements) for mean,
    /// 1 for sum, the element's own dLoss for none. Elements whose label is ignore_index get 0.
    /// </summary>
    public static Value ApplyReduction(GradientContext ctx, GradNode node, Value perClass, Value labels, Value dLoss)
    {
        var type = ctx.TypeOf(perClass);
        var reduction = node.Attributes.GetString("reduction", "mean");
        Value? mask = null;
        if (node.Attributes["ignore_index"] is { } ignoreAttribute)
        {
            var ignore = ctx.Int64Scalar(ignoreAttribute.AsInt());
            mask = ctx.Cast(ctx.Op("Not", [ctx.Op("Equal", [ctx.Cast(labels, DataType.Int64), ignore])]), type);
        }
        Value scale;
        switch (reduction)
        {
            case "none":
                scale = mask is null ? dLoss : ctx.Mul(dLoss, mask);
                break;
            case "sum":
                scale = mask is null ? dLoss : ctx.Mul(mask, dLoss);
                break;
            case "mean":
                Value count = mask is null ? ctx.Cast(ctx.Op("Size", [labels]), type) : ctx.ReduceSum(mask, AllAxes(ctx.RankOf(labels)), keepDims: false);
                var perElement = ctx.Div(dLoss, count);
                scale = mask is null ? perElement : ctx.Mul(mask, perElement);
                break;
            default:
                throw new GradientException($"{node.OpType} '{node.Name}': unknown reduction '{reduction}'");
        }
        // Per-sample factors (N, d1, ...) gain the class axis; a scalar broadcasts as it is.
        if (reduction == "none" || mask is not null) scale = ctx.Unsqueeze(scale, 1);
        return ctx.Mul(perClass, scale);
    }

    public static long[] AllAxes(int rank) => Enumerable.Range(0, rank).Select(i => (long)i).ToArray();

    public static void RejectWeights(GradNode node)
    {
        if (node.Input(2) is not null)
            throw new GradientException($"no gradient rule for {node.OpType} with class weights (node {node.Name})");
    }
}

/// <summary>
/// SoftmaxCrossEntropyLoss(scores, labels): dScores = (softmax(scores) − onehot(labels)) times
/// the reduction's weight. Also takes a gradient arriving at the log_prob output.
/// </summary>
internal sealed class SoftmaxCrossEntropyRule : IGradientRule
{
    public Value?[] Backward(GradientContext ctx, GradNode node, IReadOnlyList<Value?> outputGradients)
    {
        var result = new Value?[node.Inputs.Count];
        var scores = node.RequireInput(0);
        var labels = node.RequireInput(1);
        if (!ctx.NeedsGradient(scores)) return result;
        ClassLoss.RejectWeights(node);
        Value? logProb = node.Outputs.Count > 1 && node.Outputs[1].Name.Length > 0 ? node.Outputs[1] : null;
        logProb ??= ctx.Op("LogSoftmax", [scores], Attribute.Int("axis", 1));
        var probabilities = ctx.Op("Exp", [logProb]);
        var parts = new List<Value>();
        if (outputGradients[0] is { } dLoss)
        {
            var diff = ctx.Sub(probabilities, ClassLoss.OneHot(ctx, scores, labels));
            parts.Add(ClassLoss.ApplyReduction(ctx, node, diff, labels, dLoss));
        }
        if (outputGradients.Count > 1 && outputGradients[1] is { } dLogProb)
        {
            var total = ctx.ReduceSum(dLogProb, new long[] { 1 }, keepDims: true);
            parts.Add(ctx.Sub(dLogProb, ctx.Mul(probabilities, total)));
        }
        if (parts.Count > 0) result[0] = ctx.SumOf(parts);
        return result;
    }
}

/// <summary>NegativeLogLikelihoodLoss(input, target): dInput = −onehot(target) times the reduction's weight.</summary>
internal sealed class NegativeLogLikelihoodRule : IGradientRule
{
    public Value?[] Backward(GradientContext ctx, GradNode node, IReadOnlyList<Value?> outputGradients)
    {
        var result = new Value?[node.Inputs.Count];
        if (outputGradients[0] is not { } dLoss || !ctx.NeedsGradient(node.Input(0))) return result;
        ClassLoss.RejectWeights(node);
        var input = node.RequireInput(0);
        var target = node.RequireInput(1);
        var negOneHot = ctx.Neg(ClassLoss.OneHot(ctx, input, target));
        result[0] = ClassLoss.ApplyReduction(ctx, node, negOneHot, target, dLoss);
        return result;
    }
}
