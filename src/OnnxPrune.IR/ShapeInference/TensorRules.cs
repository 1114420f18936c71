namespace OnnxPrune.IR.ShapeInference;

/// <summary>Rules for operators that create, rearrange, cut or join tensors (Reshape, Concat,
/// Slice, Gather, Shape, Constant, ...). These are the operators shape arithmetic is built from,
/// so most of them also compute their values when the inputs are known.</summary>
internal static class TensorRules
{
    // ---- constants and shape queries ----

    public static void Constant(InferenceContext ctx)
    {
        foreach (var a in ctx.Node.Attributes)
        {
            switch (a.Name)
            {
                case "value" when a.Kind == AttributeKind.Tensor:
                    var t = a.AsTensor();
                    if (ConstTensor.FromTensor(t, ctx.MaxConstantElements) is { } c) ctx.SetConst(0, c);
                    else ctx.SetOutput(0, t.DataType, t.Shape);
                    return;
                case "value_float" when a.Kind == AttributeKind.Float:
                    ctx.SetConst(0, ConstTensor.FromReals(DataType.Float, Array.Empty<long>(), new double[] { a.AsFloat() }));
                    return;
                case "value_floats" when a.Kind == AttributeKind.Floats:
                    var fs = a.AsFloats();
                    if (fs.Length <= ctx.MaxConstantElements)
                        ctx.SetConst(0, ConstTensor.FromReals(DataType.Float, new long[] { fs.Length }, fs.Select(f => (double)f).ToArray()));
                    else ctx.SetOutput(0, DataType.Float, new Shape(fs.Length));
                    return;
                case "value_int" when a.Kind == AttributeKind.Int:
                    ctx.SetConst(0, ConstTensor.Int64Scalar(a.AsInt()));
                    return;
                case "value_ints" when a.Kind == AttributeKind.Ints:
                    var ints = a.AsInts();
                    if (ints.Length <= ctx.MaxConstantElements) ctx.SetConst(0, ConstTensor.Int64Vector(ints));
                    else ctx.SetOutput(0, DataType.Int64, new Shape(ints.Length));
                    return;
                case "value_string" when a.Kind == AttributeKind.String:
                    ctx.SetOutput(0, DataType.String, OnnxPrune.IR.Shape.Scalar);
                    return;
                case "value_strings" when a.Kind == AttributeKind.Strings:
                    ctx.SetOutput(0, DataType.String, new Shape(((byte[][])a.Payload!).Length));
                    return;
            }
        }
        // sparse_value and anything else: the IR does not model it, leave as recorded.
    }

    public static void Shape(InferenceContext ctx)
    {
        var xs = ctx.InShape(0);
        if (xs is null)
        {
            ctx.SetOutput(0, DataType.Int64, new Shape(new[] { Dim.Unknown }));
            return;
        }
        int r = xs.Rank;
        long start = ctx.Opset >= 15 ? ctx.Int("start", 0) : 0;
        long end = ctx.Opset >= 15 ? ctx.Int("end", r) : r;
        if (start < 0) start += r;
        if (end < 0) end += r;
        start = Math.Clamp(start, 0, r);
        end = Math.Clamp(end, 0, r);
        var items = end > start ? xs.Dims.Skip((int)start).Take((int)(end - start)).ToArray() : Array.Empty<Dim>();
        ctx.SetDims(0, DataType.Int64, new DimVector(items, IsScalar: false));
    }

    public static void Size(InferenceContext ctx)
    {
        if (ctx.InShape(0)?.ElementCount() is { } n) ctx.SetConst(0, ConstTensor.Int64Scalar(n));
        else ctx.SetOutput(0, DataType.Int64, OnnxPrune.IR.Shape.Scalar);
    }

    public static void ConstantOfShape(InferenceContext ctx)
    {
        var value = ctx.Attr("value") is { Kind: AttributeKind.Tensor } a ? ConstTensor.FromTensor(a.AsTensor(), 1) : null;
        var type = ctx.Attr("value") is { Kind: AttributeKind.Tensor } b ? b.AsTensor().DataType : DataType.Float;
        if (ctx.InDims(0) is not { } target)
        {
            ctx.SetOutput(0, type, ctx.InShape(0) is { Rank: 1 } s && s[0].Value is long len ? ShapeMath.UnknownDims((int)len) : null);
            return;
        }
        var shape = new Shape(target.Items);
        ctx.SetOutput(0, type, shape);
        if (shape.ElementCount() is not { } count || count > ctx.MaxConstantElements || count < 0) return;
        var dims = shape.TryGetSizes()!;
        if (value is null && ctx.HasAttr("value")) return;
        var fill = value is null ? 0.0 : value.Real(0);
        if (ConstTensor.IsIntegralType(type))
            ctx.SetConst(0, ConstTensor.FromInts(type, dims, Enumerable.Repeat(value?.Int(0) ?? 0L, (int)count).ToArray()));
        else if (ConstTensor.IsRealType(type))
            ctx.SetConst(0, ConstTensor.FromReals(type, dims, Enumerable.Repeat(fill, (int)count).ToArray()));
    }

    public static void Range(InferenceContext ctx)
    {
        var type = ctx.InType(0);
        var start = ctx.InConst(0);
        var limit = ctx.InConst(1);
        var delta = ctx.InConst(2);
        if (start is not { Count: 1 } || limit is not { Count: 1 } || delta is not { Count: 1 })
        {
            ctx.SetOutput(0, type, new Shape(new[] { Dim.Unknown }));
            return;
        }
        if (start.IsIntegral)
        {
            long s = start.Int(0), l = limit.Int(0), d = delta.Int(0);
            if (d == 0) throw new ArgumentException("Range with delta 0");
            long n = Math.Max(ShapeMath.CeilDiv(l - s, d), 0);
            if (n > ctx.MaxConstantElements)
            {
                ctx.SetOutput(0, type, new Shape(n));
                return;
            }
            var v = new long[n];
            for (long i = 0; i < n; i++) v[i] = s + i * d;
            ctx.SetConst(0, ConstTensor.FromInts(start.Type, new[] { n }, v));
        }
        else
        {
            double s = start.Real(0), l = limit.Real(0), d = delta.Real(0);
            if (d == 0) throw new ArgumentException("Range with delta 0");
            long n = Math.Max((long)Math.Ceiling((l - s) / d), 0);
            if (n > ctx.MaxConstantElements)
            {
                ctx.SetOutput(0, type, new Shape(n));
                return;
            }
            var v = new double[n];
            for (long i = 0; i < n; i++) v[i] = s + i * d;
            ctx.SetConst(0, ConstTensor.FromReals(start.Type, new[] { n }, v));
        }
    }

    // ---- reshaping ----

    public static void Reshape(InferenceContext ctx)
    {
        var type = ctx.InType(0);
        var xs = ctx.InShape(0);
        DimVector? target = ctx.Opset < 5
            ? ctx.Ints("shape") is { } attr ? new DimVector(attr.Select(Dim.Known).ToArray(), false) : null
            : ctx.InDims(1);
        if (target is null)
        {
            ctx.SetOutput(0, type, ctx.InShape(1) is { Rank: 1 } ts && ts[0].Value is long len ? ShapeMath.UnknownDims((int)len) : null);
            return;
        }
        bool allowZero = ctx.Opset >= 14 && ctx.Int("allowzero", 0) != 0;
        var dims = ResolveReshape(xs, target.Items, allowZero);
        if (dims is null) throw new ArgumentException($"cannot reshape {xs} to {target}");
        var shape = new Shape(dims);
        ctx.SetOutput(0, type, shape);
        PropagateReshapedValue(ctx, shape);
    }

    /// <summary>Output dims of Reshape: 0 copies the input dim (unless allowzero), one -1 takes
    /// what is left. Null for targets no valid model has.</summary>
    internal static Dim[]? ResolveReshape(Shape? input, Dim[] target, bool allowZero)
    {
        var dims = new Dim[target.Length];
        int minusOne = -1;
        for (int j = 0; j < target.Length; j++)
        {
            var t = target[j];
            if (t.Value is not { } v)
            {
                dims[j] = t;
                continue;
            }
            if (v == 0 && !allowZero)
            {
                if (input is null) dims[j] = Dim.Unknown;
                else if (j < input.Rank) dims[j] = input[j];
                else return null;
            }
            else if (v == -1)
            {
                if (minusOne >= 0) return null;
                minusOne = j;
                dims[j] = Dim.Unknown;
            }
            else if (v < -1) return null;
            else dims[j] = Dim.Known(v);
        }
        if (minusOne >= 0) dims[minusOne] = InferRemainder(input, dims.Where((_, j) => j != minusOne));
        return dims;
    }

    /// <summary>The dim that makes <paramref name="others"/> hold as many elements as
    /// <paramref name="input"/>. Symbolic dims that appear on both sides cancel, so
    /// [N,3,4,4] to [N,-1] gives 48.</summary>
    private static Dim InferRemainder(Shape? input, IEnumerable<Dim> others)
    {
        if (input is null) return Dim.Unknown;
        long kin = 1, kout = 1;
        var symbols = new List<string>();
        foreach (var d in input.Dims)
        {
            if (d.Value is { } v) kin = checked(kin * v);
            else if (d.Symbol is { } s) symbols.Add(s);
            else return Dim.Unknown;
        }
        foreach (var d in others)
        {
            if (d.Value is { } v) kout = checked(kout * v);
            else if (d.Symbol is { } s)
            {
                if (!symbols.Remove(s)) return Dim.Unknown;
            }
            else return Dim.Unknown;
        }
        if (kout == 0) return Dim.Unknown;
        if (symbols.Count == 0) return kin % kout == 0 ? Dim.Known(kin / kout) : Dim.Unknown;
        if (symbols.Count == 1 && kin == kout) return Dim.Symbolic(symbols[0]);
        return Dim.Unknown;
    }

    /// <summary>A reshape-like op (Reshape, Flatten, Squeeze, Unsqueeze) on a known value keeps
    /// its elements; shape values survive a change between scalar and 1-D.</summary>
    private static void PropagateReshapedValue(InferenceContext ctx, Shape outShape)
    {
        var sizes = outShape.TryGetSizes();
        if (ctx.InConst(0) is { } c)
        {
            if (sizes is not null && ShapeMath.ElementCount(sizes) == c.Count) ctx.SetConst(0, c.Reshaped(sizes));
            return;
        }
        if (ctx.InDims(0) is { } d && outShape.Rank <= 1)
        {
            if (outShape.Rank == 0 && d.Items.Length == 1) ctx.SetDims(0, ctx.InType(0), new DimVector(d.Items, true));
            else if (outShape.Rank == 1 && (outShape[0].Value is not { } len || len == d.Items.Length))
                ctx.SetDims(0, ctx.InType(0), new DimVector(d.Items, false));
        }
    }

    public static void Flatten(InferenceContext ctx)
    {
        var xs = ctx.InShape(0);
        if (xs is null)
        {
            ctx.SetOutput(0, ctx.InType(0), ShapeMath.UnknownDims(2));
            return;
        }
        long axis = ctx.Int("axis", 1);
        if (axis < 0) axis += xs.Rank;
        if (axis < 0 || axis > xs.Rank) throw new ArgumentException($"Flatten axis {ctx.Int("axis", 1)} out of range for rank {xs.Rank}");
        var shape = new Shape(new[]
        {
            ShapeMath.Product(xs.Dims.Take((int)axis)), ShapeMath.Product(xs.Dims.Skip((int)axis)),
        });
        ctx.SetOutput(0, ctx.InType(0), shape);
        PropagateReshapedValue(ctx, shape);
    }

    public static void Squeeze(InferenceContext ctx)
    {
        var xs = ctx.InShape(0);
        var type = ctx.InType(0);
        long[]? axes;
        if (ctx.Opset < 13) axes = ctx.Ints("axes");
        else if (ctx.HasInput(1))
        {
            axes = ctx.InInts(1);
            if (axes is null)
            {
                ctx.SetOutput(0, type, null);
                return;
            }
        }
        else axes = null;
        if (xs is null)
        {
            ctx.SetOutput(0, type, null);
            return;
        }
        Shape shape;
        if (axes is null || axes.Length == 0)
        {
            // Without axes every dim of size 1 goes; a dim of unknown size might be 1.
            if (!xs.Dims.All(d => d.IsKnown))
            {
                ctx.SetOutput(0, type, null);
                return;
            }
            shape = new Shape(xs.Dims.Where(d => d.Value != 1));
        }
        else
        {
            if (ShapeMath.Axes(axes, xs.Rank) is not { } norm) throw new ArgumentException("Squeeze axes out of range");
            foreach (var a in norm)
                if (xs[a].Value is { } v && v != 1) throw new ArgumentException($"Squeeze of axis {a} of size {v}");
            shape = new Shape(xs.Dims.Where((_, i) => !norm.Contains(i)));
        }
        ctx.SetOutput(0, type, shape);
        PropagateReshapedValue(ctx, shape);
    }

    public static void Unsqueeze(InferenceContext ctx)
    {
        var xs = ctx.InShape(0);
        var type = ctx.InType(0);
        var axes = ctx.Opset < 13 ? ctx.Ints("axes") : ctx.InInts(1);
        if (xs is null || axes is null)
        {
            ctx.SetOutput(0, type, xs is not null && ctx.Opset >= 13 && ctx.InShape(1) is { Rank: 1 } a && a[0].Value is long n
                ? ShapeMath.UnknownDims(xs.Rank + (int)n) : null);
            return;
        }
        int outRank = xs.Rank + axes.Length;
        if (ShapeMath.Axes(axes, outRank) is not { } norm) throw new ArgumentException("Unsqueeze axes out of range or repeated");
        var dims = new Dim[outRank];
        int next = 0;
        for (int i = 0; i < outRank; i++) dims[i] = norm.Contains(i) ? Dim.Known(1) : xs[next++];
        var shape = new Shape(dims);
        ctx.SetOutput(0, type, shape);
        PropagateReshapedValue(ctx, shape);
    }

    public static void Transpose(InferenceContext ctx)
    {
        var xs = ctx.InShape(0);
        var type = ctx.InType(0);
        if (xs is null)
        {
            ctx.SetOutput(0, type, ctx.Ints("perm") is { } p0 ? ShapeMath.UnknownDims(p0.Length) : null);
            return;
        }
        var perm = ctx.Ints("perm") ?? Enumerable.Range(0, xs.Rank).Reverse().Select(i => (long)i).ToArray();
        if (perm.Length != xs.Rank || perm.Any(v => v < 0 || v >= xs.Rank) || perm.Distinct().Count() != perm.Length)
            throw new ArgumentException($"perm [{string.Join(",", perm)}] is not a permutation of rank {xs.Rank}");
        var p = perm.Select(v => (int)v).ToArray();
        ctx.SetOutput(0, type, new Shape(p.Select(i => xs[i])));
        if (ctx.InConst(0) is { } c && ConstOps.Transpose(c, p, ctx.MaxConstantElements) is { } t) ctx.SetConst(0, t);
    }

    // ---- joining and cutting ----

    public static void Concat(InferenceContext ctx)
    {
        var inputs = Enumerable.Range(0, ctx.InputCount).Where(ctx.HasInput).ToArray();
        if (inputs.Length == 0) return;
        var type = inputs.Select(ctx.InType).FirstOrDefault(t => t != DataType.Undefined);
        var shapes = inputs.Select(ctx.InShape).ToArray();
        if (shapes.FirstOrDefault(s => s is not null) is not { } reference)
        {
            ctx.SetOutput(0, type, null);
            return;
        }
        int r = reference.Rank;
        if (!ctx.HasAttr("axis") && ctx.Opset >= 4) throw new ArgumentException("Concat without axis");
        if (ShapeMath.Axis(ctx.Int("axis", 1), r) is not { } axis) throw new ArgumentException("Concat axis out of range");
        if (shapes.Any(s => s is not null && s.Rank != r)) throw new ArgumentException("Concat of tensors of different ranks");
        var dims = new Dim[r];
        for (int j = 0; j < r; j++)
        {
            if (j == axis)
            {
                dims[j] = shapes.Any(s => s is null) ? Dim.Unknown : ShapeMath.Sum(shapes.Select(s => s![j]));
                continue;
            }
            var d = Dim.Unknown;
            foreach (var s in shapes) if (s is not null) d = ShapeMath.Merge(d, s[j]);
            dims[j] = d;
        }
        ctx.SetOutput(0, type, new Shape(dims));

        var consts = inputs.Select(ctx.InConst).ToArray();
        if (consts.All(c => c is not null))
        {
            if (ConstOps.Concat(consts!, axis, ctx.MaxConstantElements) is { } c) ctx.SetConst(0, c);
            return;
        }
        if (r == 1)
        {
            var parts = inputs.Select(ctx.InDims).ToArray();
            if (parts.All(p => p is { IsScalar: false }))
                ctx.SetDims(0, type, new DimVector(parts.SelectMany(p => p!.Items).ToArray(), false));
        }
    }

    public static void Split(InferenceContext ctx)
    {
        var xs = ctx.InShape(0);
        var type = ctx.InType(0);
        int n = ctx.OutputCount;
        if (xs is null)
        {
            for (int i = 0; i < n; i++) ctx.SetOutput(i, type, null);
            return;
        }
        if (ShapeMath.Axis(ctx.Int("axis", 0), xs.Rank) is not { } axis) throw new ArgumentException("Split axis out of range");
        long[]? sizes = null;
        bool sizesUnknown = false;
        if (ctx.Opset >= 13 || (ctx.Opset < 2 && ctx.HasInput(1)))
        {
            if (ctx.HasInput(1))
            {
                sizes = ctx.InInts(1);
                sizesUnknown = sizes is null;
            }
            else if (ctx.Opset < 2) sizes = ctx.Ints("split");
        }
        else sizes = ctx.Ints("split");
        if (sizes is { Length: 0 }) sizes = null;

        var d = xs[axis];
        if (sizes is null && !sizesUnknown && d.Value is { } total)
        {
            if (ctx.Opset >= 18 && ctx.HasAttr("num_outputs"))
            {
                long k = ctx.Int("num_outputs", n);
                if (k != n || k <= 0) throw new ArgumentException($"Split num_outputs {k} but {n} outputs");
                long chunk = ShapeMath.CeilDiv(total, k);
                sizes = Enumerable.Repeat(chunk, n).ToArray();
                sizes[^1] = total - chunk * (n - 1);
                if (sizes[^1] < 0) throw new ArgumentException($"Split of {total} into {k} chunks of {chunk}");
            }
            else if (total % n == 0) sizes = Enumerable.Repeat(total / n, n).ToArray();
            else throw new ArgumentException($"Split of {total} into {n} equal parts");
        }
        if (sizes is not null && sizes.Length != n) throw new ArgumentException($"Split into {sizes.Length} parts but {n} outputs");

        var c = ctx.InConst(0);
        long offset = 0;
        for (int i = 0; i < n; i++)
        {
            var dims = xs.Dims.ToArray();
            dims[axis] = sizes is null ? Dim.Unknown : Dim.Known(sizes[i]);
            ctx.SetOutput(i, type, new Shape(dims));
            if (sizes is null) continue;
            if (c is not null)
            {
                var first = new long[c.Rank];
                var step = Enumerable.Repeat(1L, c.Rank).ToArray();
                var count = (long[])c.Dims.Clone();
                first[axis] = offset;
                count[axis] = sizes[i];
                if (offset + sizes[i] <= c.Dims[axis] && ConstOps.Slice(c, first, step, count, ctx.MaxConstantElements) is { } part)
                    ctx.SetConst(i, part);
            }
            else if (xs.Rank == 1 && ctx.InDims(0) is { } dv && offset + sizes[i] <= dv.Items.Length)
            {
                ctx.SetDims(i, type, new DimVector(dv.Items.Skip((int)offset).Take((int)sizes[i]).ToArray(), false));
            }
            offset += sizes[i];
        }
    }

    public static void Slice(InferenceContext ctx)
    {
        var xs = ctx.InShape(0);
        var type = ctx.InType(0);
        long[]? starts, ends, axes = null, steps = null;
        bool axesUnknown = false;
        if (ctx.Opset < 10)
        {
            starts = ctx.Ints("starts");
            ends = ctx.Ints("ends");
            axes = ctx.Ints("axes");
        }
        else
        {
            starts = ctx.InInts(1);
            ends = ctx.InInts(2);
            if (ctx.HasInput(3))
            {
                axes = ctx.InInts(3);
                axesUnknown = axes is null;
            }
            if (ctx.HasInput(4))
            {
                steps = ctx.InInts(4);
                if (steps is null) starts = null;
            }
        }
        if (xs is null)
        {
            ctx.SetOutput(0, type, null);
            return;
        }
        int r = xs.Rank;
        if (starts is null || ends is null || axesUnknown)
        {
            // Only the rank is known, plus the dims that are certainly not sliced.
            var partial = ShapeMath.UnknownDims(r).Dims.ToArray();
            if (axes is not null && ShapeMath.Axes(axes, r) is { } sliced)
                for (int i = 0; i < r; i++) if (!sliced.Contains(i)) partial[i] = xs[i];
            ctx.SetOutput(0, type, new Shape(partial));
            return;
        }
        axes ??= Enumerable.Range(0, starts.Length).Select(i => (long)i).ToArray();
        steps ??= Enumerable.Repeat(1L, starts.Length).ToArray();
        if (ends.Length != starts.Length || axes.Length != starts.Length || steps.Length != starts.Length)
            throw new ArgumentException("Slice starts, ends, axes and steps differ in length");
        if (ShapeMath.Axes(axes, r) is not { } ax) throw new ArgumentException("Slice axes out of range or repeated");

        var dims = xs.Dims.ToArray();
        var first = new long[r];
        var stride = Enumerable.Repeat(1L, r).ToArray();
        var count = new long[r];
        bool allKnown = true;
        for (int i = 0; i < r; i++) count[i] = xs[i].Value ?? -1;
        for (int j = 0; j < ax.Length; j++)
        {
            int a = ax[j];
            if (steps[j] == 0) throw new ArgumentException("Slice step 0");
            if (xs[a].Value is { } dim)
            {
                var c = ShapeMath.SliceCount(dim, starts[j], ends[j], steps[j], out var f);
                dims[a] = Dim.Known(c!.Value);
                first[a] = f;
                stride[a] = steps[j];
                count[a] = c.Value;
            }
            else
            {
                // The whole axis, whatever its size, when slicing [0, big) forward.
                bool whole = steps[j] == 1 && starts[j] == 0 && ends[j] >= int.MaxValue;
                dims[a] = whole ? xs[a] : Dim.Unknown;
                allKnown = false;
            }
        }
        ctx.SetOutput(0, type, new Shape(dims));
        if (!allKnown) return;
        if (ctx.InConst(0) is { } data)
        {
            if (ConstOps.Slice(data, first, stride, count, ctx.MaxConstantElements) is { } sliced) ctx.SetConst(0, sliced);
        }
        else if (r == 1 && ctx.InDims(0) is { IsScalar: false } dv)
        {
            var items = new Dim[count[0]];
            for (long k = 0; k < count[0]; k++) items[k] = dv.Items[first[0] + k * stride[0]];
            ctx.SetDims(0, type, new DimVector(items, false));
        }
    }

    public static void Pad(InferenceContext ctx)
    {
        var xs = ctx.InShape(0);
        var type = ctx.InType(0);
        if (xs is null)
        {
            ctx.SetOutput(0, type, null);
            return;
        }
        int r = xs.Rank;
        long[]? pads = ctx.Opset < 2 ? ctx.Ints("paddings") : ctx.Opset < 11 ? ctx.Ints("pads") : ctx.InInts(1);
        long[]? axes = null;
        if (ctx.Opset >= 18 && ctx.HasInput(3))
        {
            axes = ctx.InInts(3);
            if (axes is null) pads = null;
        }
        if (pads is null)
        {
            ctx.SetOutput(0, type, ShapeMath.UnknownDims(r));
            return;
        }
        var ax = axes is null ? Enumerable.Range(0, r).ToArray() : ShapeMath.Axes(axes, r);
        if (ax is null || pads.Length != 2 * ax.Length) throw new ArgumentException($"Pad with {pads.Length} pads for {ax?.Length ?? -1} axes");
        var dims = xs.Dims.ToArray();
        for (int j = 0; j < ax.Length; j++)
        {
            long added = pads[j] + pads[j + ax.Length];
            var d = xs[ax[j]];
            dims[ax[j]] = added == 0 ? d : d.Value is { } v ? Dim.Known(v + added) : Dim.Unknown;
        }
        ctx.SetOutput(0, type, new Shape(dims));
    }

    public static void CenterCropPad(InferenceContext ctx)
    {
        var xs = ctx.InShape(0);
        var type = ctx.InType(0);
        if (xs is null || ctx.InDims(1) is not { } target)
        {
            ctx.SetOutput(0, type, xs is null ? null : ShapeMath.UnknownDims(xs.Rank));
            return;
        }
        var ax = ctx.Ints("axes") is { } a ? ShapeMath.Axes(a, xs.Rank) : Enumerable.Range(0, xs.Rank).ToArray();
        if (ax is null || ax.Length != target.Items.Length) throw new ArgumentException("CenterCropPad shape and axes differ in length");
        var dims = xs.Dims.ToArray();
        for (int j = 0; j < ax.Length; j++) dims[ax[j]] = target.Items[j];
        ctx.SetOutput(0, type, new Shape(dims));
    }

    // ---- indexing ----

    public static void Gather(InferenceContext ctx)
    {
        var xs = ctx.InShape(0);
        var idx = ctx.InShape(1);
        var type = ctx.InType(0);
        if (xs is null || idx is null)
        {
            ctx.SetOutput(0, type, null);
            return;
        }
        if (ShapeMath.Axis(ctx.Int("axis", 0), xs.Rank) is not { } axis) throw new ArgumentException("Gather axis out of range");
        var dims = xs.Dims.Take(axis).Concat(idx.Dims).Concat(xs.Dims.Skip(axis + 1));
        ctx.SetOutput(0, type, new Shape(dims));

        var indices = ctx.InConst(1);
        if (indices is null) return;
        if (ctx.InConst(0) is { } data)
        {
            if (ConstOps.Gather(data, indices, axis, ctx.MaxConstantElements) is { } g) ctx.SetConst(0, g);
        }
        else if (xs.Rank == 1 && indices.Rank <= 1 && indices.Ints is { } ii && ctx.InDims(0) is { IsScalar: false } dv)
        {
            int len = dv.Items.Length;
            var items = new Dim[ii.Length];
            for (int k = 0; k < ii.Length; k++)
            {
                long i = ii[k] < 0 ? ii[k] + len : ii[k];
                if (i < 0 || i >= len) throw new ArgumentException($"Gather index {ii[k]} out of range {len}");
                items[k] = dv.Items[i];
            }
            ctx.SetDims(0, type, new DimVector(items, indices.Rank == 0));
        }
    }

    public static void GatherElements(InferenceContext ctx) => ctx.SetOutput(0, ctx.InType(0), ctx.InShape(1));

    public static void GatherND(InferenceContext ctx)
    {
        var xs = ctx.InShape(0);
        var idx = ctx.InShape(1);
        long b = ctx.Int("batch_dims", 0);
        if (xs is null || idx is null || idx.Rank < 1 || idx[idx.Rank - 1].Value is not { } last)
        {
            ctx.SetOutput(0, ctx.InType(0), null);
            return;
        }
        if (b + last > xs.Rank) throw new ArgumentException("GatherND indices reach past the data's rank");
        var dims = idx.Dims.Take(idx.Rank - 1).Concat(xs.Dims.Skip((int)(b + last)));
        ctx.SetOutput(0, ctx.InType(0), new Shape(dims));
    }

    public static void OneHot(InferenceContext ctx)
    {
        var idx = ctx.InShape(0);
        var type = ctx.InType(2);
        if (idx is null)
        {
            ctx.SetOutput(0, type, null);
            return;
        }
        int r = idx.Rank + 1;
        if (ShapeMath.Axis(ctx.Int("axis", -1), r) is not { } axis) throw new ArgumentException("OneHot axis out of range");
        var depth = ctx.InConst(1) is { Count: 1 } d ? Dim.Known(ConstTensor.TruncateToInt64(d.Real(0))) : Dim.Unknown;
        var dims = idx.Dims.ToList();
        dims.Insert(axis, depth);
        ctx.SetOutput(0, type, new Shape(dims));
    }

    public static void Compress(InferenceContext ctx)
    {
        var xs = ctx.InShape(0);
        var type = ctx.InType(0);
        if (!ctx.HasAttr("axis"))
        {
            ctx.SetOutput(0, type, new Shape(new[] { Dim.Unknown }));
            return;
        }
        if (xs is null)
        {
            ctx.SetOutput(0, type, null);
            return;
        }
        if (ShapeMath.Axis(ctx.Int("axis", 0), xs.Rank) is not { } axis) throw new ArgumentException("Compress axis out of range");
        var dims = xs.Dims.ToArray();
        dims[axis] = Dim.Unknown;
        ctx.SetOutput(0, type, new Shape(dims));
    }

    public static void NonZero(InferenceContext ctx) =>
        ctx.SetOutput(0, DataType.Int64, new Shape(new[] { ctx.InShape(0) is { } s ? Dim.Known(s.Rank) : Dim.Unknown, Dim.Unknown }));

    public static void NonMaxSuppression(InferenceContext ctx) =>
        ctx.SetOutput(0, DataType.Int64, new Shape(new[] { Dim.Unknown, Dim.Known(3) }));

    public static void TopK(InferenceContext ctx)
    {
        var xs = ctx.InShape(0);
        if (xs is null)
        {
            ctx.SetOutput(0, ctx.InType(0), null);
            ctx.SetOutput(1, DataType.Int64, null);
            return;
        }
        if (ShapeMath.Axis(ctx.Int("axis", -1), xs.Rank) is not { } axis) throw new ArgumentException("TopK axis out of range");
        Dim k = Dim.Unknown;
        if (ctx.Opset < 10) k = ctx.HasAttr("k") ? Dim.Known(ctx.Int("k", 0)) : Dim.Unknown;
        else if (ctx.InInts(1) is { Length: 1 } kv) k = Dim.Known(kv[0]);
        var dims = xs.Dims.ToArray();
        dims[axis] = k;
        ctx.SetOutput(0, ctx.InType(0), new Shape(dims));
        ctx.SetOutput(1, DataType.Int64, new Shape(dims));
    }

    // ---- broadcasting to a target ----

    public static void Expand(InferenceContext ctx)
    {
        var xs = ctx.InShape(0);
        var type = ctx.InType(0);
        if (ctx.InDims(1) is not { } target)
        {
            ctx.SetOutput(0, type, xs is not null && ctx.InShape(1) is { Rank: 1 } ts && ts[0].Value is long len
                ? ShapeMath.UnknownDims(Math.Max(xs.Rank, (int)len)) : null);
            return;
        }
        var shape = ShapeMath.Broadcast(xs, new Shape(target.Items));
        if (shape is null && xs is not null) throw new ArgumentException($"cannot expand {xs} to {target}");
        ctx.SetOutput(0, type, shape);
        if (ctx.InConst(0) is { } c && target.AllKnown && ConstOps.Expand(c, target.Values, ctx.MaxConstantElements) is { } e)
            ctx.SetConst(0, e);
    }

    public static void Tile(InferenceContext ctx)
    {
        var xs = ctx.InShape(0);
        var type = ctx.InType(0);
        if (xs is null)
        {
            ctx.SetOutput(0, type, null);
            return;
        }
        var dims = xs.Dims.ToArray();
        if (ctx.Opset < 6)
        {
            // Tile-1: inputs (input, tiles, axis), both scalars.
            if (ctx.InInts(1) is { Length: 1 } tiles && ctx.InInts(2) is { Length: 1 } ax && ShapeMath.Axis(ax[0], xs.Rank) is { } a)
                dims[a] = ShapeMath.Multiply(dims[a], Dim.Known(tiles[0]));
            else dims = ShapeMath.UnknownDims(xs.Rank).Dims.ToArray();
            ctx.SetOutput(0, type, new Shape(dims));
            return;
        }
        var repeats = ctx.InInts(1);
        if (repeats is null)
        {
            ctx.SetOutput(0, type, ShapeMath.UnknownDims(xs.Rank));
            return;
        }
        if (repeats.Length != xs.Rank) throw new ArgumentException($"Tile with {repeats.Length} repeats for rank {xs.Rank}");
        for (int i = 0; i < dims.Length; i++) dims[i] = ShapeMath.Multiply(dims[i], Dim.Known(repeats[i]));
        ctx.SetOutput(0, type, new Shape(dims));
        if (ctx.InConst(0) is { } c && ConstOps.Tile(c, repeats, ctx.MaxConstantElements) is { } t) ctx.SetConst(0, t);
    }

    // ---- generators ----

    /// <summary>RandomNormal, RandomUniform: shape and dtype (default float) from attributes.</summary>
    public static void RandomWithShape(InferenceContext ctx)
    {
        var t = (DataType)ctx.Int("dtype", (long)DataType.Float);
        ctx.SetOutput(0, DataTypes.IsKnown(t) ? t : DataType.Float, ctx.Ints("shape") is { } s ? new Shape(s) : null);
    }

    public static void Multinomial(InferenceContext ctx)
    {
        var t = (DataType)ctx.Int("dtype", (long)DataType.Int32);
        var xs = ctx.InShape(0);
        ctx.SetOutput(0, DataTypes.IsKnown(t) ? t : DataType.Int32,
            new Shape(new[] { xs is { Rank: 2 } ? xs[0] : Dim.Unknown, Dim.Known(ctx.Int("sample_size", 1)) }));
    }

    public static void Det(InferenceContext ctx)
    {
        var xs = ctx.InShape(0);
        ctx.SetOutput(0, ctx.InType(0), xs is { Rank: >= 2 } ? new Shape(xs.Dims.Take(xs.Rank - 2)) : null);
    }

    /// <summary>HannWindow, HammingWindow, BlackmanWindow: a 1-D tensor of the given size.</summary>
    public static void Window(InferenceContext ctx)
    {
        var t = (DataType)ctx.Int("output_datatype", (long)DataType.Float);
        var size = ctx.InConst(0) is { Count: 1 } c ? Dim.Known(c.Int(0)) : Dim.Unknown;
        ctx.SetOutput(0, DataTypes.IsKnown(t) ? t : DataType.Float, new Shape(new[] { size }));
    }
}
