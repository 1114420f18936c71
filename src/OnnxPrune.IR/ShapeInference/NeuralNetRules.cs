namespace OnnxPrune.IR.ShapeInference;

/// <summary>Rules for the operators CNNs are made of: convolutions, pooling, normalizations,
/// matrix products, resampling and channel/space rearrangements.</summary>
internal static class NeuralNetRules
{
    // ---- convolution and pooling ----

    /// <summary>Conv-like: data input <paramref name="x"/>, weights <paramref name="w"/>
    /// ([M, C/group, k...]); <paramref name="type"/> picks the output type.</summary>
    public static Rule Conv(int x, int w, Func<InferenceContext, DataType> type) => ctx =>
    {
        var outType = type(ctx);
        var xs = ctx.InShape(x);
        var ws = ctx.InShape(w);
        if (xs is null || xs.Rank < 3)
        {
            ctx.SetOutput(0, outType, ws is { Rank: >= 3 } ? ShapeMath.UnknownDims(ws.Rank) : null);
            return;
        }
        int n = xs.Rank - 2;
        var kernel = ctx.Ints("kernel_shape") ?? KernelFromWeights(ws, n);
        var dims = new Dim[xs.Rank];
        dims[0] = xs[0];
        dims[1] = ws is { Rank: > 0 } ? ws[0] : Dim.Unknown;
        var spatial = Windowed(ctx, xs, kernel, ceilMode: false);
        Array.Copy(spatial, 0, dims, 2, n);
        ctx.SetOutput(0, outType, new Shape(dims));
    };

    public static void ConvTranspose(InferenceContext ctx)
    {
        var xs = ctx.InShape(0);
        var ws = ctx.InShape(1);
        var type = ctx.InType(0);
        if (xs is null || xs.Rank < 3)
        {
            ctx.SetOutput(0, type, ws is { Rank: >= 3 } ? ShapeMath.UnknownDims(ws.Rank) : null);
            return;
        }
        int n = xs.Rank - 2;
        long group = ctx.Int("group", 1);
        var dims = new Dim[xs.Rank];
        dims[0] = xs[0];
        dims[1] = ws is { Rank: > 1 } ? ShapeMath.Multiply(ws[1], Dim.Known(group)) : Dim.Unknown;
        var spatial = Enumerable.Repeat(Dim.Unknown, n).ToArray();
        var outputShape = ctx.Ints("output_shape");
        if (outputShape is not null && (outputShape.Length == n || outputShape.Length == n + 2))
        {
            for (int i = 0; i < n; i++) spatial[i] = Dim.Known(outputShape[outputShape.Length - n + i]);
        }
        else if (outputShape is null)
        {
            var kernel = ctx.Ints("kernel_shape") ?? KernelFromWeights(ws, n);
            var strides = ctx.Ints("strides") ?? Ones(n);
            var dilations = ctx.Ints("dilations") ?? Ones(n);
            var pads = ctx.Ints("pads") ?? new long[2 * n];
            var outPad = ctx.Ints("output_padding") ?? new long[n];
            var autoPad = ctx.String("auto_pad", "NOTSET");
            if (kernel?.Length == n && strides.Length == n && dilations.Length == n && pads.Length == 2 * n && outPad.Length == n)
            {
                for (int i = 0; i < n; i++)
                {
                    if (xs[2 + i].Value is not { } input) continue;
                    long ek = (kernel[i] - 1) * dilations[i] + 1;
                    long size = autoPad switch
                    {
                        "SAME_UPPER" or "SAME_LOWER" => input * strides[i],
                        "VALID" => strides[i] * (input - 1) + outPad[i] + ek,
                        _ => strides[i] * (input - 1) + outPad[i] + ek - pads[i] - pads[n + i],
                    };
                    if (size >= 0) spatial[i] = Dim.Known(size);
                }
            }
        }
        Array.Copy(spatial, 0, dims, 2, n);
        ctx.SetOutput(0, type, new Shape(dims));
    }

    /// <summary>MaxPool, AveragePool, LpPool: [N, C, windowed spatial dims]; MaxPool's second
    /// output holds int64 indices of the same shape.</summary>
    public static void Pool(InferenceContext ctx)
    {
        var xs = ctx.InShape(0);
        var type = ctx.InType(0);
        Shape? shape = null;
        if (xs is { Rank: >= 3 })
        {
            var dims = new Dim[xs.Rank];
            dims[0] = xs[0];
            dims[1] = xs[1];
            var spatial = Windowed(ctx, xs, ctx.Ints("kernel_shape"), ceilMode: ctx.Int("ceil_mode", 0) != 0);
            Array.Copy(spatial, 0, dims, 2, spatial.Length);
            shape = new Shape(dims);
        }
        ctx.SetOutput(0, type, shape);
        ctx.SetOutput(1, DataType.Int64, shape);
    }

    /// <summary>GlobalAveragePool, GlobalMaxPool, GlobalLpPool: [N, C, 1, ...].</summary>
    public static void GlobalPool(InferenceContext ctx)
    {
        var xs = ctx.InShape(0);
        Shape? shape = xs is { Rank: >= 2 }
            ? new Shape(xs.Dims.Select((d, i) => i < 2 ? d : Dim.Known(1)))
            : null;
        ctx.SetOutput(0, ctx.InType(0), shape);
    }

    public static void MaxUnpool(InferenceContext ctx)
    {
        var xs = ctx.InShape(0);
        var type = ctx.InType(0);
        if (ctx.HasInput(2))
        {
            if (ctx.InDims(2) is { IsScalar: false } target) ctx.SetOutput(0, type, new Shape(target.Items));
            else ctx.SetOutput(0, type, ctx.InShape(2) is { Rank: 1 } s && s[0].Value is { } r ? ShapeMath.UnknownDims((int)r) : null);
            return;
        }
        if (xs is null || xs.Rank < 3)
        {
            ctx.SetOutput(0, type, null);
            return;
        }
        int n = xs.Rank - 2;
        var kernel = ctx.Ints("kernel_shape");
        var strides = ctx.Ints("strides") ?? Ones(n);
        var pads = ctx.Ints("pads") ?? new long[2 * n];
        var dims = new Dim[xs.Rank];
        dims[0] = xs[0];
        dims[1] = xs[1];
        for (int i = 0; i < n; i++)
        {
            dims[2 + i] = kernel?.Length == n && strides.Length == n && pads.Length == 2 * n && xs[2 + i].Value is { } input
                ? Dim.Known((input - 1) * strides[i] + kernel[i] - pads[i] - pads[n + i])
                : Dim.Unknown;
        }
        ctx.SetOutput(0, type, new Shape(dims));
    }

    public static void MaxRoiPool(InferenceContext ctx)
    {
        var xs = ctx.InShape(0);
        var rois = ctx.InShape(1);
        var pooled = ctx.Ints("pooled_shape");
        if (pooled is not { Length: 2 })
        {
            ctx.SetOutput(0, ctx.InType(0), ShapeMath.UnknownDims(4));
            return;
        }
        ctx.SetOutput(0, ctx.InType(0), new Shape(new[]
        {
            rois is { Rank: 2 } ? rois[0] : Dim.Unknown, xs is { Rank: 4 } ? xs[1] : Dim.Unknown,
            Dim.Known(pooled[0]), Dim.Known(pooled[1]),
        }));
    }

    public static void RoiAlign(InferenceContext ctx)
    {
        var xs = ctx.InShape(0);
        var rois = ctx.InShape(1);
        ctx.SetOutput(0, ctx.InType(0), new Shape(new[]
        {
            rois is { Rank: 2 } ? rois[0] : Dim.Unknown, xs is { Rank: 4 } ? xs[1] : Dim.Unknown,
            Dim.Known(ctx.Int("output_height", 1)), Dim.Known(ctx.Int("output_width", 1)),
        }));
    }

    /// <summary>Output sizes of a sliding window along each spatial axis (Conv and pooling),
    /// honouring strides, dilations, pads, auto_pad and ceil_mode. Unknown where an input size,
    /// the kernel, or a consistent set of attributes is missing.</summary>
    private static Dim[] Windowed(InferenceContext ctx, Shape xs, long[]? kernel, bool ceilMode)
    {
        int n = xs.Rank - 2;
        var result = Enumerable.Repeat(Dim.Unknown, n).ToArray();
        var strides = ctx.Ints("strides") ?? Ones(n);
        var dilations = ctx.Ints("dilations") ?? Ones(n);
        var pads = ctx.Ints("pads") ?? new long[2 * n];
        var autoPad = ctx.String("auto_pad", "NOTSET");
        if (kernel?.Length != n || strides.Length != n || dilations.Length != n || pads.Length != 2 * n) return result;
        if (strides.Any(s => s <= 0) || dilations.Any(d => d <= 0) || kernel.Any(k => k <= 0)) return result;
        for (int i = 0; i < n; i++)
        {
            if (xs[2 + i].Value is not { } input) continue;
            long ek = (kernel[i] - 1) * dilations[i] + 1;
            long s = strides[i];
            long size;
            switch (autoPad)
            {
                case "SAME_UPPER" or "SAME_LOWER":
                    size = ShapeMath.CeilDiv(input, s);
                    break;
                case "VALID":
                    size = input >= ek ? (input - ek) / s + 1 : 0;
                    break;
                default:
                    long span = input + pads[i] + pads[n + i] - ek;
                    if (span < 0) continue;
                    if (ceilMode)
                    {
                        size = ShapeMath.CeilDiv(span, s) + 1;
                        // A window may not start in the end padding.
                        if ((size - 1) * s >= input + pads[i]) size--;
                    }
                    else size = span / s + 1;
                    break;
            }
            result[i] = Dim.Known(size);
        }
        return result;
    }

    private static long[]? KernelFromWeights(Shape? ws, int n)
    {
        if (ws is null || ws.Rank != n + 2) return null;
        var k = new long[n];
        for (int i = 0; i < n; i++)
        {
            if (ws[2 + i].Value is not { } v) return null;
            k[i] = v;
        }
        return k;
    }

    private static long[] Ones(int n) => Enumerable.Repeat(1L, n).ToArray();

    // ---- normalization ----

    public static void BatchNormalization(InferenceContext ctx)
    {
        ctx.SameAsInput(0, 0);
        var xs = ctx.InShape(0);
        var channels = xs is { Rank: >= 2 } ? xs[1] : ctx.InShape(1) is { Rank: 1 } sc ? sc[0] : Dim.Unknown;
        var statShape = new Shape(new[] { channels });
        if (ctx.Opset >= 14)
        {
            // running_mean and running_var (training mode only), typed like the mean input.
            ctx.SetOutput(1, ctx.InType(3), statShape);
            ctx.SetOutput(2, ctx.InType(4), statShape);
            return;
        }
        // Before opset 14: mean, var, saved_mean, saved_var.
        for (int i = 1; i < 5; i++) ctx.SetOutput(i, ctx.InType(0), statShape);
    }

    public static void LayerNormalization(InferenceContext ctx)
    {
        ctx.SameAsInput(0, 0);
        var stash = (DataType)ctx.Int("stash_type", 1);
        if (!DataTypes.IsKnown(stash)) stash = DataType.Float;
        var xs = ctx.InShape(0);
        Shape? statShape = null;
        if (xs is not null && ShapeMath.Axis(ctx.Int("axis", -1), xs.Rank) is { } axis)
            statShape = new Shape(xs.Dims.Select((d, i) => i < axis ? d : Dim.Known(1)));
        ctx.SetOutput(1, stash, statShape);
        ctx.SetOutput(2, stash, statShape);
    }

    // ---- matrix products ----

    public static void Gemm(InferenceContext ctx)
    {
        var a = ctx.InShape(0);
        var b = ctx.InShape(1);
        var type = ctx.InType(0);
        if (a is not { Rank: 2 } || b is not { Rank: 2 })
        {
            ctx.SetOutput(0, type, ShapeMath.UnknownDims(2));
            return;
        }
        var m = ctx.Int("transA", 0) != 0 ? a[1] : a[0];
        var n = ctx.Int("transB", 0) != 0 ? b[0] : b[1];
        ctx.SetOutput(0, type, new Shape(new[] { m, n }));
    }

    /// <summary>MatMul with numpy semantics: 1-D operands get a dim prepended (A) or appended
    /// (B) that the result drops; batch dims broadcast.</summary>
    public static Rule MatMul(int a, int b, Func<InferenceContext, DataType> type) => ctx =>
    {
        var outType = type(ctx);
        var sa = ctx.InShape(a);
        var sb = ctx.InShape(b);
        if (sa is null || sb is null || sa.Rank == 0 || sb.Rank == 0)
        {
            ctx.SetOutput(0, outType, null);
            return;
        }
        bool aVec = sa.Rank == 1, bVec = sb.Rank == 1;
        var da = aVec ? new[] { Dim.Known(1), sa[0] } : sa.Dims.ToArray();
        var db = bVec ? new[] { sb[0], Dim.Known(1) } : sb.Dims.ToArray();
        var batch = ShapeMath.Broadcast(new Shape(da[..^2]), new Shape(db[..^2]));
        if (batch is null)
        {
            ctx.SetOutput(0, outType, null);
            return;
        }
        var dims = batch.Dims.ToList();
        if (!aVec) dims.Add(da[^2]);
        if (!bVec) dims.Add(db[^1]);
        ctx.SetOutput(0, outType, new Shape(dims));
    };

    // ---- rearrangement and resampling ----

    public static void DepthToSpace(InferenceContext ctx)
    {
        var xs = ctx.InShape(0);
        long b = ctx.Int("blocksize", 0);
        if (xs is not { Rank: 4 } || b <= 0)
        {
            ctx.SetOutput(0, ctx.InType(0), xs is { Rank: 4 } ? ShapeMath.UnknownDims(4) : null);
            return;
        }
        var c = xs[1].Value is { } cv && cv % (b * b) == 0 ? Dim.Known(cv / (b * b)) : Dim.Unknown;
        ctx.SetOutput(0, ctx.InType(0), new Shape(new[]
        {
            xs[0], c, ShapeMath.Multiply(xs[2], Dim.Known(b)), ShapeMath.Multiply(xs[3], Dim.Known(b)),
        }));
    }

    public static void SpaceToDepth(InferenceContext ctx)
    {
        var xs = ctx.InShape(0);
        long b = ctx.Int("blocksize", 0);
        if (xs is not { Rank: 4 } || b <= 0)
        {
            ctx.SetOutput(0, ctx.InType(0), xs is { Rank: 4 } ? ShapeMath.UnknownDims(4) : null);
            return;
        }
        Dim Div(Dim d) => d.Value is { } v && v % b == 0 ? Dim.Known(v / b) : Dim.Unknown;
        ctx.SetOutput(0, ctx.InType(0), new Shape(new[]
        {
            xs[0], ShapeMath.Multiply(xs[1], Dim.Known(b * b)), Div(xs[2]), Div(xs[3]),
        }));
    }

    public static void GridSample(InferenceContext ctx)
    {
        var xs = ctx.InShape(0);
        var grid = ctx.InShape(1);
        if (xs is null || grid is null || grid.Rank != xs.Rank || xs.Rank < 3)
        {
            ctx.SetOutput(0, ctx.InType(0), xs is null ? null : ShapeMath.UnknownDims(xs.Rank));
            return;
        }
        var dims = new List<Dim> { ShapeMath.Merge(xs[0], grid[0]), xs[1] };
        for (int i = 1; i < grid.Rank - 1; i++) dims.Add(grid[i]);
        ctx.SetOutput(0, ctx.InType(0), new Shape(dims));
    }

    /// <summary>Resize (opset 10: X, scales; 11+: X, roi, scales, sizes; 18+: axes and
    /// keep_aspect_ratio_policy) and Upsample (scales attribute before opset 9, input after).</summary>
    public static void Resize(InferenceContext ctx)
    {
        var xs = ctx.InShape(0);
        var type = ctx.InType(0);
        bool upsample = ctx.Node.OpType == "Upsample";
        int scalesInput = upsample || ctx.Opset < 11 ? 1 : 2;
        int sizesInput = upsample || ctx.Opset < 11 ? -1 : 3;

        // Rank: from X, else from the length of scales or sizes.
        int? rank = xs?.Rank;
        if (rank is null)
        {
            foreach (var k in new[] { sizesInput, scalesInput })
                if (k >= 0 && ctx.InShape(k) is { Rank: 1 } s && s[0].Value is long len && len > 0)
                {
                    rank = (int)len;
                    break;
                }
        }
        if (rank is not { } r)
        {
            ctx.SetOutput(0, type, null);
            return;
        }
        var inDims = xs?.Dims.ToArray() ?? Enumerable.Repeat(Dim.Unknown, r).ToArray();
        var outDims = Enumerable.Repeat(Dim.Unknown, r).ToArray();
        int[] axes = Enumerable.Range(0, r).ToArray();
        if (!upsample && ctx.Opset >= 18 && ctx.Ints("axes") is { } ax)
        {
            if (ShapeMath.Axes(ax, r) is not { } normalized)
            {
                ctx.SetOutput(0, type, ShapeMath.UnknownDims(r));
                return;
            }
            axes = normalized;
            // Axes not listed keep their size.
            for (int i = 0; i < r; i++) if (!axes.Contains(i)) outDims[i] = inDims[i];
        }

        // Scales: attributes for Upsample before opset 9, an input otherwise.
        double[]? scales = null;
        if (upsample && ctx.Opset < 9)
        {
            if (ctx.Floats("scales") is { } fs) scales = fs.Select(f => (double)f).ToArray();
            else if (r == 4 && ctx.HasAttr("height_scale") && ctx.HasAttr("width_scale"))
                scales = new[] { 1.0, 1.0, ctx.Float("height_scale", 1), ctx.Float("width_scale", 1) };
        }
        else if (ctx.HasInput(scalesInput))
        {
            var c = ctx.InConst(scalesInput);
            if (c is { Count: > 0 }) scales = Enumerable.Range(0, c.Count).Select(c.Real).ToArray();
        }

        DimVector? sizes = null;
        if (sizesInput >= 0 && ctx.HasInput(sizesInput) && scales is null)
        {
            sizes = ctx.InDims(sizesInput);
            if (sizes is { Items.Length: 0 }) sizes = null;
        }

        if (sizes is not null)
        {
            if (sizes.Items.Length != axes.Length)
            {
                ctx.SetOutput(0, type, ShapeMath.UnknownDims(r));
                return;
            }
            var policy = ctx.Opset >= 18 ? ctx.String("keep_aspect_ratio_policy", "stretch") : "stretch";
            if (policy == "stretch")
            {
                for (int j = 0; j < axes.Length; j++) outDims[axes[j]] = sizes.Items[j];
            }
            else if (sizes.AllKnown && axes.All(a => inDims[a].IsKnown))
            {
                var ratios = axes.Select((a, j) => (float)sizes.Items[j].Value!.Value / inDims[a].Value!.Value).ToArray();
                float scale = policy == "not_larger" ? ratios.Min() : ratios.Max();
                foreach (var a in axes)
                    outDims[a] = Dim.Known((long)MathF.Round(scale * inDims[a].Value!.Value, MidpointRounding.AwayFromZero));
            }
        }
        else if (scales is not null)
        {
            if (scales.Length != axes.Length)
            {
                ctx.SetOutput(0, type, ShapeMath.UnknownDims(r));
                return;
            }
            for (int j = 0; j < axes.Length; j++)
            {
                var d = inDims[axes[j]];
                float s = (float)scales[j];
                if (s == 1f) outDims[axes[j]] = d;
                else if (d.Value is { } v) outDims[axes[j]] = Dim.Known((long)MathF.Floor((float)v * s));
            }
        }
        ctx.SetOutput(0, type, new Shape(outDims));
    }

    // ---- recurrent ----

    /// <summary>RNN, GRU, LSTM: Y is [seq, directions, batch, hidden] (layout 0) or
    /// [batch, seq, directions, hidden] (layout 1, opset 14); Y_h and Y_c drop the seq dim.</summary>
    public static void Recurrent(InferenceContext ctx)
    {
        var xs = ctx.InShape(0);
        var type = ctx.InType(0);
        bool batchFirst = ctx.Opset >= 14 && ctx.Int("layout", 0) != 0;
        var hidden = ctx.HasAttr("hidden_size") ? Dim.Known(ctx.Int("hidden_size", 0)) : Dim.Unknown;
        var directions = Dim.Known(ctx.String("direction", "forward") == "bidirectional" ? 2 : 1);
        Dim seq = Dim.Unknown, batch = Dim.Unknown;
        if (xs is { Rank: 3 })
        {
            seq = batchFirst ? xs[1] : xs[0];
            batch = batchFirst ? xs[0] : xs[1];
        }
        var y = batchFirst ? new[] { batch, seq, directions, hidden } : new[] { seq, directions, batch, hidden };
        var state = batchFirst ? new[] { batch, directions, hidden } : new[] { directions, batch, hidden };
        ctx.SetOutput(0, type, new Shape(y));
        ctx.SetOutput(1, type, new Shape(state));
        ctx.SetOutput(2, type, new Shape(state));
    }
}
