using OnnxPrune.IR;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Autodiff.Rules;

/// <summary>Reshape, Flatten, Squeeze, Unsqueeze: dX is dY reshaped to X's shape.</summary>
internal sealed class ReshapeLikeRule : IGradientRule
{
    public Value?[] Backward(GradientContext ctx, GradNode node, IReadOnlyList<Value?> outputGradients)
    {
        var result = new Value?[node.Inputs.Count];
        if (outputGradients[0] is { } dy && ctx.NeedsGradient(node.Input(0)))
            result[0] = ctx.Reshape(dy, ctx.ShapeTensor(node.RequireInput(0)));
        return result;
    }
}

/// <summary>Transpose: dX is dY transposed by the inverse permutation.</summary>
internal sealed class TransposeRule : IGradientRule
{
    public Value?[] Backward(GradientContext ctx, GradNode node, IReadOnlyList<Value?> outputGradients)
    {
        var result = new Value?[node.Inputs.Count];
        if (outputGradients[0] is not { } dy || !ctx.NeedsGradient(node.Input(0))) return result;
        var x = node.RequireInput(0);
        var perm = node.Attributes.GetInts("perm")
            ?? Enumerable.Range(0, ctx.RankOf(x)).Reverse().Select(i => (long)i).ToArray();
        var inverse = new long[perm.Length];
        for (int i = 0; i < perm.Length; i++) inverse[perm[i]] = i;
        result[0] = ctx.Transpose(dy, inverse);
        return result;
    }
}

/// <summary>Expand: dY summed over the broadcast axes.</summary>
internal sealed class ExpandRule : IGradientRule
{
    public Value?[] Backward(GradientContext ctx, GradNode node, IReadOnlyList<Value?> outputGradients)
    {
        var result = new Value?[node.Inputs.Count];
        if (outputGradients[0] is { } dy && ctx.NeedsGradient(node.Input(0)))
            result[0] = Broadcast.ToOperand(ctx, node, dy, node.RequireInput(0));
        return result;
    }
}

/// <summary>Concat: each input gets its slab of dY (a Slice when one input needs it, else a Split).</summary>
internal sealed class ConcatRule : IGradientRule
{
    public Value?[] Backward(GradientContext ctx, GradNode node, IReadOnlyList<Value?> outputGradients)
    {
        var result = new Value?[node.Inputs.Count];
        if (outputGradients[0] is not { } dy) return result;
        var inputs = node.Inputs.Select(i => i ?? throw new GradientException($"Concat '{node.Name}' has an omitted input")).ToArray();
        var needed = Enumerable.Range(0, inputs.Length).Where(i => ctx.NeedsGradient(inputs[i])).ToArray();
        if (needed.Length == 0) return result;
        int rank = ctx.RankOf(inputs[0]);
        long axis = GradientContext.NormalizeAxis(node.Attributes.GetInt("axis", 0), rank);
        var sizes = inputs.Select(v => ctx.ShapeOf(v)?[(int)axis].Value).ToArray();

        if (sizes.All(s => s.HasValue))
        {
            if (needed.Length == 1)
            {
                int i = needed[0];
                long start = sizes.Take(i).Sum(s => s!.Value);
                result[i] = ctx.Slice(dy, new[] { start }, new[] { start + sizes[i]!.Value }, new[] { axis });
                return result;
            }
            var split = ctx.Ops("Split", inputs.Length, [dy, ctx.Int64s(sizes.Select(s => s!.Value).ToArray())], Attribute.Int("axis", axis));
            foreach (var i in needed) result[i] = split[i];
            return result;
        }
        var dynamicSizes = inputs.Select(v => ctx.Op("Shape", [v], Attribute.Int("start", axis), Attribute.Int("end", axis + 1))).ToArray();
        var parts = ctx.Ops("Split", inputs.Length, [dy, ctx.Concat(dynamicSizes, 0)], Attribute.Int("axis", axis));
        foreach (var i in needed) result[i] = parts[i];
        return result;
    }
}

/// <summary>Split: dX concatenates the outputs' gradients (zeros for outputs nothing used).</summary>
internal sealed class SplitRule : IGradientRule
{
    public Value?[] Backward(GradientContext ctx, GradNode node, IReadOnlyList<Value?> outputGradients)
    {
        var result = new Value?[node.Inputs.Count];
        var x = node.RequireInput(0);
        if (!ctx.NeedsGradient(x) || outputGradients.All(g => g is null)) return result;
        long axis = GradientContext.NormalizeAxis(node.Attributes.GetInt("axis", 0), ctx.RankOf(x));
        var parts = new List<Value>();
        for (int i = 0; i < node.Outputs.Count; i++)
            parts.Add(outputGradients[i] ?? ctx.ZerosLike(node.Outputs[i]));
        result[0] = ctx.Concat(parts, axis);
        return result;
    }
}

/// <summary>
/// Slice: dY placed back where it came from. Axes with step 1 are restored with one Pad; other
/// steps scatter dY along the axis with ScatterElements into zeros. Starts, ends, axes and steps
/// must be constants and the sliced axes' sizes static.
/// </summary>
internal sealed class SliceRule : IGradientRule
{
    public Value?[] Backward(GradientContext ctx, GradNode node, IReadOnlyList<Value?> outputGradients)
    {
        var result = new Value?[node.Inputs.Count];
        if (outputGradients[0] is not { } dy || !ctx.NeedsGradient(node.Input(0))) return result;
        var x = node.RequireInput(0);
        var why = $"the gradient of Slice '{node.Name}'";
        int rank = ctx.RankOf(x);
        if (!ctx.TryGetInt64s(node.Input(1), out var starts) || !ctx.TryGetInt64s(node.Input(2), out var ends))
            throw new GradientException($"{why} needs constant starts and ends");
        long[] axes = Enumerable.Range(0, starts.Length).Select(i => (long)i).ToArray();
        if (node.Input(3) is { } axesValue && !ctx.TryGetInt64s(axesValue, out axes!))
            throw new GradientException($"{why} needs constant axes");
        long[] steps = Enumerable.Repeat(1L, starts.Length).ToArray();
        if (node.Input(4) is { } stepsValue && !ctx.TryGetInt64s(stepsValue, out steps!))
            throw new GradientException($"{why} needs constant steps");

        var padsBegin = new long[rank];
        var padsEnd = new long[rank];
        var strided = new List<(int Axis, long Dim, long[] Positions)>();
        for (int i = 0; i < axes.Length; i++)
        {
            int axis = (int)GradientContext.NormalizeAxis(axes[i], rank);
            long dim = ctx.StaticDim(x, axis, why);
            var positions = SelectedPositions(dim, starts[i], ends[i], steps[i]);
            if (steps[i] == 1)
            {
                long first = positions.Length > 0 ? positions[0] : 0;
                padsBegin[axis] = first;
                padsEnd[axis] = dim - first - positions.Length;
            }
            else strided.Add((axis, dim, positions));
        }

        var grad = dy;
        foreach (var (axis, dim, positions) in strided)
        {
            // Index tensor shaped like the current gradient, holding each element's target position.
            var shape = Enumerable.Repeat(1L, rank).ToArray();
            shape[axis] = positions.Length;
            var index = ctx.Op("Expand", [ctx.Constant(DenseTensor.FromInt64s(shape, positions), "slice_positions"), ctx.Op("Shape", [grad])]);
            var targetShape = ctx.Op("ScatterElements", [ctx.Op("Shape", [grad]), ctx.Int64s(axis), ctx.Int64s(dim)], Attribute.Int("axis", 0));
            var zeros = ctx.Op("ConstantOfShape", [targetShape],
                Attribute.FromTensor("value", DenseTensor.FromDoubles(ctx.TypeOf(dy), new long[] { 1 }, new[] { 0.0 })));
            grad = ctx.Op("ScatterElements", [zeros, index, grad], Attribute.Int("axis", axis));
        }
        if (padsBegin.Any(p => p != 0) || padsEnd.Any(p => p != 0))
            grad = ctx.Op("Pad", [grad, ctx.Int64s(padsBegin.Concat(padsEnd).ToArray())]);
        result[0] = grad;
        return result;
    }

    /// <summary>The positions ONNX Slice reads along one axis of size <paramref name="dim"/>, in output order.</summary>
    internal static long[] SelectedPositions(long dim, long start, long end, long step)
    {
        if (step == 0) throw new GradientException("Slice step 0");
        if (start < 0) start += dim;
        if (end < 0) end += dim;
        var list = new List<long>();
        if (step > 0)
        {
            start = Math.Clamp(start, 0, dim);
            end = Math.Clamp(end, 0, dim);
            for (long p = start; p < end; p += step) list.Add(p);
        }
        else
        {
            start = Math.Clamp(start, 0, dim - 1);
            end = Math.Clamp(end, -1, dim - 1);
            for (long p = start; p > end; p += step) list.Add(p);
        }
        return list.ToArray();
    }
}

/// <summary>Pad (constant mode): dX is dY with the padding sliced off (and zero-padded where
/// the forward pads were negative, i.e. cropped).</summary>
internal sealed class PadRule : IGradientRule
{
    public Value?[] Backward(GradientContext ctx, GradNode node, IReadOnlyList<Value?> outputGradients)
    {
        var result = new Value?[node.Inputs.Count];
        if (outputGradients[0] is not { } dy || !ctx.NeedsGradient(node.Input(0))) return result;
        var x = node.RequireInput(0);
        var mode = node.Attributes.GetString("mode", "constant");
        if (mode != "constant") throw new GradientException($"no gradient rule for Pad mode '{mode}' (node {node.Name})");
        int rank = ctx.RankOf(x);
        if (!ctx.TryGetInt64s(node.Input(1), out var pads)) throw new GradientException($"the gradient of Pad '{node.Name}' needs constant pads");
        long[] axes = Enumerable.Range(0, rank).Select(i => (long)i).ToArray();
        if (node.Input(3) is { } axesValue && !ctx.TryGetInt64s(axesValue, out axes!))
            throw new GradientException($"the gradient of Pad '{node.Name}' needs constant axes");
        int n = axes.Length;

        var sliceStarts = new List<long>();
        var sliceEnds = new List<long>();
        var sliceAxes = new List<long>();
        var regrow = new long[2 * rank];
        for (int i = 0; i < n; i++)
        {
            long axis = GradientContext.NormalizeAxis(axes[i], rank);
            long begin = pads[i], end = pads[i + n];
            if (begin > 0 || end > 0)
            {
                sliceAxes.Add(axis);
                sliceStarts.Add(Math.Max(begin, 0));
                sliceEnds.Add(end > 0 ? -end : long.MaxValue);
            }
            regrow[axis] = Math.Max(-begin, 0);
            regrow[axis + rank] = Math.Max(-end, 0);
        }
        var grad = sliceAxes.Count > 0 ? ctx.Slice(dy, sliceStarts.ToArray(), sliceEnds.ToArray(), sliceAxes.ToArray()) : dy;
        if (regrow.Any(p => p != 0)) grad = ctx.Op("Pad", [grad, ctx.Int64s(regrow)]);
        result[0] = grad;
        return result;
    }
}

/// <summary>
/// Gather(data, indices, axis): dY is scatter-added back into zeros shaped like the data
/// (repeated indices accumulate). The gathered axis is moved to the front so one ScatterND with
/// reduction "add" does it for any axis and any indices rank; negative indices are wrapped.
/// </summary>
internal sealed class GatherRule : IGradientRule
{
    public Value?[] Backward(GradientContext ctx, GradNode node, IReadOnlyList<Value?> outputGradients)
    {
        var result = new Value?[node.Inputs.Count];
        if (outputGradients[0] is not { } dy || !ctx.NeedsGradient(node.Input(0))) return result;
        var data = node.RequireInput(0);
        var indices = node.RequireInput(1);
        int rank = ctx.RankOf(data);
        int indicesRank = ctx.RankOf(indices);
        int axis = (int)GradientContext.NormalizeAxis(node.Attributes.GetInt("axis", 0), rank);

        // data: (pre, D, post) -> (D, pre, post); dY: (pre, idx, post) -> (idx, pre, post).
        var dataPerm = new[] { (long)axis }.Concat(Enumerable.Range(0, rank).Where(i => i != axis).Select(i => (long)i)).ToArray();
        var gradPerm = Enumerable.Range(axis, indicesRank).Select(i => (long)i)
            .Concat(Enumerable.Range(0, axis).Select(i => (long)i))
            .Concat(Enumerable.Range(axis + indicesRank, rank - axis - 1).Select(i => (long)i)).ToArray();
        var movedData = ctx.Transpose(data, dataPerm);
        var zeros = ctx.ZerosLike(movedData);
        var dimValue = ctx.Op("Shape", [data], Attribute.Int("start", axis), Attribute.Int("end", axis + 1));
        var index64 = ctx.Cast(indices, DataType.Int64);
        var wrapped = ctx.Where(ctx.Op("Less", [index64, ctx.Int64Scalar(0)]), ctx.Add(index64, dimValue), index64);
        var flatIndices = ctx.Reshape(wrapped, -1, 1);
        var movedGrad = ctx.Transpose(dy, gradPerm);
        // (idx..., rest...) -> (count, rest...): keep the trailing rank - 1 dims.
        var restShape = ctx.Op("Shape", [movedGrad], Attribute.Int("start", indicesRank));
        var updates = ctx.Reshape(movedGrad, ctx.Concat(new[] { ctx.Int64s(-1), restShape }, 0));
        var scattered = ctx.Op("ScatterND", [zeros, flatIndices, updates], Attribute.String("reduction", "add"));
        var inverse = new long[rank];
        for (int i = 0; i < rank; i++) inverse[dataPerm[i]] = i;
        result[0] = ctx.Transpose(scattered, inverse);
        return result;
    }
}
