using OnnxPrune.IR;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Autodiff.Rules;

/// <summary>
/// MaxPool: the builder gives every MaxPool its Indices output (flat positions in X, row major);
/// dY is scattered there with ScatterElements(reduction="add"), so positions chosen by several
/// overlapping windows receive the sum (MaxUnpool would overwrite).
/// </summary>
internal sealed class MaxPoolRule : IGradientRule
{
    public Value?[] Backward(GradientContext ctx, GradNode node, IReadOnlyList<Value?> outputGradients)
    {
        var result = new Value?[node.Inputs.Count];
        if (outputGradients[0] is not { } dy) return result;
        var x = node.RequireInput(0);
        if (!ctx.NeedsGradient(x)) return result;
        if (node.Outputs.Count < 2 || node.Outputs[1].Name.Length == 0)
            throw new GradientException($"MaxPool '{node.Name}' has no Indices output to route its gradient");
        var indices = ctx.Reshape(node.Outputs[1], -1);
        var flatDy = ctx.Reshape(dy, -1);
        Value count = ctx.ShapeOf(x)?.ElementCount() is { } n
            ? ctx.Int64s(n)
            : ctx.Reshape(ctx.Op("Size", [x]), 1);
        var zeros = ctx.Op("ConstantOfShape", [count],
            Attribute.FromTensor("value", DenseTensor.FromDoubles(ctx.TypeOf(dy), new long[] { 1 }, new[] { 0.0 })));
        var scattered = ctx.Op("ScatterElements", [zeros, indices, flatDy],
            Attribute.Int("axis", 0), Attribute.String("reduction", "add"));
        result[0] = ctx.Reshape(scattered, ctx.ShapeTensor(x));
        return result;
    }
}

/// <summary>
/// AveragePool: dY divided by each window's divisor, spread back with a depthwise ConvTranspose
/// whose kernel is all ones. The divisor follows ONNX: the window's taps inside the input
/// (count_include_pad=0) or inside the explicitly padded input (count_include_pad=1); when it is
/// the same for every window it is folded into the kernel.
/// </summary>
internal sealed class AveragePoolRule : IGradientRule
{
    public Value?[] Backward(GradientContext ctx, GradNode node, IReadOnlyList<Value?> outputGradients)
    {
        var result = new Value?[node.Inputs.Count];
        if (outputGradients[0] is not { } dy) return result;
        var x = node.RequireInput(0);
        if (!ctx.NeedsGradient(x)) return result;
        var why = $"the gradient of AveragePool '{node.Name}'";
        var kernel = node.Attributes.GetInts("kernel_shape") ?? throw new GradientException($"AveragePool '{node.Name}' has no kernel_shape");
        int r = kernel.Length;
        long channels = ctx.StaticDim(x, 1, why);
        var xSpatial = Enumerable.Range(2, r).Select(i => ctx.StaticDim(x, i, why)).ToArray();
        var ySpatial = Enumerable.Range(2, r).Select(i => ctx.StaticDim(node.Outputs[0], i, why)).ToArray();
        var g = WindowGeometry.FromAttributes(node, kernel, xSpatial);
        bool includePad = node.Attributes.GetInt("count_include_pad", 0) != 0;

        // Divisor per output position, separable across axes.
        var perAxis = new long[r][];
        bool uniform = true;
        for (int a = 0; a < r; a++)
        {
            long lo = includePad ? -g.PadsBegin[a] : 0, hi = includePad ? xSpatial[a] + g.PadsEnd[a] : xSpatial[a];
            perAxis[a] = new long[ySpatial[a]];
            for (long p = 0; p < ySpatial[a]; p++)
            {
                long count = 0;
                for (long i = 0; i < kernel[a]; i++)
                {
                    long pos = p * g.Strides[a] - g.PadsBegin[a] + i * g.Dilations[a];
                    if (pos >= lo && pos < hi) count++;
                }
                perAxis[a][p] = count;
                uniform &= count == kernel[a];
            }
        }
        long windowSize = kernel.Aggregate(1L, (p, k) => p * k);
        var type = ctx.TypeOf(dy);
        var scaled = dy;
        if (!uniform)
        {
            long total = ySpatial.Aggregate(1L, (p, k) => p * k);
            var reciprocal = new double[total];
            for (long flat = 0; flat < total; flat++)
            {
                long rest = flat, divisor = 1;
                for (int a = r - 1; a >= 0; a--)
                {
                    divisor *= perAxis[a][rest % ySpatial[a]];
                    rest /= ySpatial[a];
                }
                reciprocal[flat] = divisor == 0 ? 0 : 1.0 / divisor;
            }
            scaled = ctx.Mul(dy, ctx.Constant(DenseTensor.FromDoubles(type, ySpatial, reciprocal), "avgpool_divisor"));
        }
        var weights = new double[channels * windowSize];
        Array.Fill(weights, uniform ? 1.0 / windowSize : 1.0);
        var kernelTensor = ctx.Constant(DenseTensor.FromDoubles(type, new[] { channels, 1L }.Concat(kernel).ToArray(), weights), "avgpool_kernel");
        var attributes = g.TransposeAttributes(xSpatial, ySpatial, channels);
        result[0] = ctx.Op("ConvTranspose", [scaled, kernelTensor], attributes.ToArray());
        return result;
    }
}

/// <summary>GlobalAveragePool: dY / (spatial size), expanded over the spatial axes.</summary>
internal sealed class GlobalAveragePoolRule : IGradientRule
{
    public Value?[] Backward(GradientContext ctx, GradNode node, IReadOnlyList<Value?> outputGradients)
    {
        var result = new Value?[node.Inputs.Count];
        if (outputGradients[0] is not { } dy) return result;
        var x = node.RequireInput(0);
        if (!ctx.NeedsGradient(x)) return result;
        int rank = ctx.RankOf(x);
        long size = 1;
        for (int i = 2; i < rank; i++) size *= ctx.StaticDim(x, i, $"the gradient of GlobalAveragePool '{node.Name}'");
        result[0] = ctx.Op("Expand", [ctx.Scale(dy, 1.0 / size), ctx.ShapeTensor(x)]);
        return result;
    }
}

/// <summary>GlobalMaxPool: dY goes to every position equal to the maximum (ties share it).</summary>
internal sealed class GlobalMaxPoolRule : IGradientRule
{
    public Value?[] Backward(GradientContext ctx, GradNode node, IReadOnlyList<Value?> outputGradients)
    {
        var result = new Value?[node.Inputs.Count];
        if (outputGradients[0] is not { } dy) return result;
        var x = node.RequireInput(0);
        if (!ctx.NeedsGradient(x)) return result;
        var isMax = ctx.Op("Equal", [x, node.Outputs[0]]);
        result[0] = ctx.KeepWhere(isMax, dy);
        return result;
    }
}
