using OnnxPrune.IR;

namespace OnnxPrune.Autodiff.Rules;

/// <summary>
/// Resize, mode "nearest": along each resized axis every output position copies one input
/// position, so the gradient is a product with the constant 0/1 selection matrix of that axis
/// (MatMul from the left for the second-to-last axis, from the right for the last). The
/// selection replays ONNX's coordinate transformation and nearest rounding, so any scale (not
/// only integer ones) is exact. Only the two innermost axes may be resized; sizes must be static.
/// </summary>
internal sealed class ResizeRule : IGradientRule
{
    public Value?[] Backward(GradientContext ctx, GradNode node, IReadOnlyList<Value?> outputGradients)
    {
        var result = new Value?[node.Inputs.Count];
        if (outputGradients[0] is not { } dy || !ctx.NeedsGradient(node.Input(0))) return result;
        var x = node.RequireInput(0);
        var mode = node.Attributes.GetString("mode", "nearest");
        if (mode != "nearest") throw new GradientException($"no gradient rule for Resize mode '{mode}' (node {node.Name})");
        var transform = node.Attributes.GetString("coordinate_transformation_mode", "half_pixel");
        var rounding = node.Attributes.GetString("nearest_mode", "round_prefer_floor");
        var why = $"the gradient of Resize '{node.Name}'";
        int rank = ctx.RankOf(x);
        double[]? scales = null;
        if (node.Input(2) is { } scalesValue && ctx.TryGetDoubles(scalesValue, out var s) && s.Length == rank) scales = s;

        var grad = dy;
        for (int axis = 0; axis < rank; axis++)
        {
            var inDim = ctx.ShapeOf(x)?[axis];
            var outDim = ctx.ShapeOf(node.Outputs[0])?[axis];
            double scale = scales?[axis] ?? double.NaN;
            if (inDim is { } a && outDim is { } b && a.Equals(b) && (a.IsKnown || a.Symbol is not null) && (double.IsNaN(scale) || scale == 1))
                continue;
            long lenIn = ctx.StaticDim(x, axis, why), lenOut = ctx.StaticDim(node.Outputs[0], axis, why);
            if (double.IsNaN(scale)) scale = (double)lenOut / lenIn;
            if (axis < rank - 2) throw new GradientException($"{why}: only the two innermost axes may be resized (axis {axis} is)");
            var matrix = new double[lenIn * lenOut]; // (lenIn, lenOut)
            for (long o = 0; o < lenOut; o++)
            {
                long i = Nearest(Source(o, scale, lenIn, lenOut, transform, why), rounding, lenIn);
                matrix[i * lenOut + o] = 1;
            }
            var type = ctx.TypeOf(dy);
            if (axis == rank - 1)
            {
                var transposed = new double[lenOut * lenIn];
                for (long i = 0; i < lenIn; i++)
                    for (long o = 0; o < lenOut; o++) transposed[o * lenIn + i] = matrix[i * lenOut + o];
                grad = ctx.Op("MatMul", [grad, ctx.Constant(DenseTensor.FromDoubles(type, new[] { lenOut, lenIn }, transposed), "resize_select")]);
            }
            else grad = ctx.Op("MatMul", [ctx.Constant(DenseTensor.FromDoubles(type, new[] { lenIn, lenOut }, matrix), "resize_select"), grad]);
        }
        result[0] = grad;
        return result;
    }

    private static double Source(long o, double scale, long lenIn, long lenOut, string transform, string why) => transform switch
    {
        "half_pixel" => (o + 0.5) / scale - 0.5,
        "pytorch_half_pixel" => lenOut > 1 ? (o + 0.5) / scale - 0.5 : 0,
        "align_corners" => lenOut == 1 ? 0 : o * (lenIn - 1) / (double)(lenOut - 1),
        "asymmetric" => o / scale,
        "tf_half_pixel_for_nn" => (o + 0.5) / scale,
        _ => throw new GradientException($"{why}: coordinate_transformation_mode '{transform}' is not supported"),
    };

    private static long Nearest(double x, string rounding, long lenIn)
    {
        double frac = x - Math.Floor(x);
        double r = rounding switch
        {
            "floor" => Math.Floor(x),
            "ceil" => Math.Ceiling(x),
            "round_prefer_ceil" => frac == 0.5 ? Math.Ceiling(x) : Math.Round(x, MidpointRounding.AwayFromZero),
            _ => frac == 0.5 ? Math.Floor(x) : Math.Round(x, MidpointRounding.AwayFromZero),
        };
        return Math.Clamp((long)r, 0, lenIn - 1);
    }
}
