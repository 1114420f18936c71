namespace OnnxPrune.IR.ShapeInference;

/// <summary>Rules for reductions (ReduceX, ArgMax/ArgMin) and the loss operators.</summary>
internal static class ReductionRules
{
    /// <summary>A ReduceX operator. Its axes are an attribute before opset
    /// <paramref name="axesInputSince"/> (13 for ReduceSum, 18 for the others) and an optional input
    /// from then on, with noop_with_empty_axes. <paramref name="kind"/> says how to compute the
    /// values of a known input (null: shape only).</summary>
    public static Rule Reduce(ConstOps.ReduceKind? kind, long axesInputSince) => ctx =>
    {
        var xs = ctx.InShape(0);
        var type = ctx.InType(0);
        bool keep = ctx.Int("keepdims", 1) != 0;
        long[]? axes;
        if (ctx.Opset >= axesInputSince)
        {
            axes = null;
            if (ctx.HasInput(1))
            {
                axes = ctx.InInts(1);
                if (axes is null)
                {
                    // Axes computed at run time: with keepdims the rank stays.
                    ctx.SetOutput(0, type, keep && xs is not null ? ShapeMath.UnknownDims(xs.Rank) : null);
                    return;
                }
            }
        }
        else axes = ctx.Ints("axes");
        if (xs is null)
        {
            ctx.SetOutput(0, type, null);
            return;
        }
        bool noop = ctx.Opset >= axesInputSince && ctx.Int("noop_with_empty_axes", 0) != 0;
        if ((axes is null || axes.Length == 0) && noop)
        {
            ctx.SameAsInput(0, 0);
            if (ctx.InConst(0) is { } same) ctx.SetConst(0, same);
            return;
        }
        var norm = axes is null || axes.Length == 0
            ? Enumerable.Range(0, xs.Rank).ToArray()
            : ShapeMath.Axes(axes, xs.Rank) ?? throw new ArgumentException("reduction axes out of range or repeated");
        var dims = new List<Dim>();
        for (int i = 0; i < xs.Rank; i++)
        {
            if (!norm.Contains(i)) dims.Add(xs[i]);
            else if (keep) dims.Add(Dim.Known(1));
        }
        ctx.SetOutput(0, type, new Shape(dims));

        if (kind is not { } k) return;
        if (ctx.InConst(0) is { } c)
        {
            if (ConstOps.Reduce(c, norm, keep, k, ctx.MaxConstantElements) is { } r) ctx.SetConst(0, r);
        }
        else if (xs.Rank == 1 && k is ConstOps.ReduceKind.Prod && ctx.InDims(0) is { IsScalar: false } dv)
        {
            var product = ShapeMath.Product(dv.Items);
            ctx.SetDims(0, type, new DimVector(new[] { product }, !keep));
        }
    };

    public static void ArgMinMax(InferenceContext ctx)
    {
        var xs = ctx.InShape(0);
        if (xs is null)
        {
            ctx.SetOutput(0, DataType.Int64, null);
            return;
        }
        if (ShapeMath.Axis(ctx.Int("axis", 0), xs.Rank) is not { } axis) throw new ArgumentException("axis out of range");
        bool keep = ctx.Int("keepdims", 1) != 0;
        var dims = new List<Dim>();
        for (int i = 0; i < xs.Rank; i++)
        {
            if (i != axis) dims.Add(xs[i]);
            else if (keep) dims.Add(Dim.Known(1));
        }
        ctx.SetOutput(0, DataType.Int64, new Shape(dims));
    }

    /// <summary>NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss: a scalar unless reduction is
    /// "none", then the target's shape; SoftmaxCrossEntropyLoss's optional log_prob output has the
    /// scores' shape.</summary>
    public static void Loss(InferenceContext ctx)
    {
        var type = ctx.InType(0);
        var reduction = ctx.String("reduction", "mean");
        ctx.SetOutput(0, type, reduction == "none" ? ctx.InShape(1) : Shape.Scalar);
        ctx.SetOutput(1, type, ctx.InShape(0));
    }
}
