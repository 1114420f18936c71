using OnnxPrune.IR;
using OnnxPrune.Runtime;
using OnnxPrune.Runtime.Lowering;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Autodiff.Rules;

/// <summary>Static geometry of a convolution or pooling window along its spatial axes.</summary>
internal sealed record WindowGeometry(long[] Kernel, long[] Strides, long[] Dilations, long[] PadsBegin, long[] PadsEnd)
{
    public int Rank => Kernel.Length;

    /// <summary>Extent of the dilated kernel along axis i.</summary>
    public long Extent(int i) => (Kernel[i] - 1) * Dilations[i] + 1;

    /// <summary>Reads kernel/strides/dilations/pads, resolving auto_pad against the input's
    /// static spatial size (SAME_UPPER/SAME_LOWER/VALID as ONNX defines them).</summary>
    public static WindowGeometry FromAttributes(GradNode node, long[] kernel, long[] inputSpatial)
    {
        int r = kernel.Length;
        var strides = node.Attributes.GetInts("strides") ?? Ones(r);
        var dilations = node.Attributes.GetInts("dilations") ?? Ones(r);
        var pads = node.Attributes.GetInts("pads") ?? new long[2 * r];
        var begin = pads.Take(r).ToArray();
        var end = pads.Skip(r).Take(r).ToArray();
        var autoPad = node.Attributes.GetString("auto_pad", "NOTSET");
        if (autoPad is "SAME_UPPER" or "SAME_LOWER")
        {
            for (int i = 0; i < r; i++)
            {
                long output = (inputSpatial[i] + strides[i] - 1) / strides[i];
                long total = Math.Max(0, (output - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - inputSpatial[i]);
                long small = total / 2;
                (begin[i], end[i]) = autoPad == "SAME_UPPER" ? (small, total - small) : (total - small, small);
            }
        }
        else if (autoPad == "VALID")
        {
            begin = new long[r];
            end = new long[r];
        }
        return new WindowGeometry(kernel, strides, dilations, begin, end);
    }

    public static long[] Ones(int r) => Enumerable.Repeat(1L, r).ToArray();

    /// <summary>
    /// Attributes of a ConvTranspose that spreads a gradient of spatial size
    /// <paramref name="outputSpatial"/> back onto an input of size <paramref name="inputSpatial"/>:
    /// same kernel, strides, dilations and leading pads; the trailing pads (or output_padding)
    /// chosen so the result is exactly the input's size (rows no window reached get zeros).
    /// </summary>
    public List<Attribute> TransposeAttributes(long[] inputSpatial, long[] outputSpatial, long group)
    {
        var padsEnd = new long[Rank];
        var outputPadding = new long[Rank];
        for (int i = 0; i < Rank; i++)
        {
            long full = Strides[i] * (outputSpatial[i] - 1) + Extent(i);
            long end = full - PadsBegin[i] - inputSpatial[i];
            if (end >= 0) padsEnd[i] = end;
            else outputPadding[i] = -end;
        }
        var attributes = new List<Attribute>
        {
            Attribute.Ints("kernel_shape", Kernel),
            Attribute.Ints("strides", Strides),
            Attribute.Ints("pads", PadsBegin.Concat(padsEnd).ToArray()),
        };
        if (Dilations.Any(d => d != 1)) attributes.Add(Attribute.Ints("dilations", Dilations));
        if (outputPadding.Any(p => p != 0)) attributes.Add(Attribute.Ints("output_padding", outputPadding));
        if (group != 1) attributes.Add(Attribute.Int("group", group));
        return attributes;
    }
}

/// <summary>
/// Conv Y = X * W + B. dX is a ConvTranspose of dY with W and the same attributes; dW is
/// computed per <see cref="GradientOptions.ConvWeightGradient"/>; dB sums dY over batch and
/// spatial axes. Needs static channel and spatial sizes (the batch may be symbolic).
/// </summary>
internal sealed class ConvRule : IGradientRule
{
    public Value?[] Backward(GradientContext ctx, GradNode node, IReadOnlyList<Value?> outputGradients)
    {
        var result = new Value?[node.Inputs.Count];
        if (outputGradients[0] is not { } dy) return result;
        var x = node.RequireInput(0);
        var w = node.RequireInput(1);
        var why = $"the gradient of Conv '{node.Name}'";
        var wDims = ctx.StaticDims(w, why);
        int r = wDims.Length - 2;
        var kernel = wDims[2..];
        var xSpatial = Enumerable.Range(2, r).Select(i => ctx.StaticDim(x, i, why)).ToArray();
        long channels = ctx.StaticDim(x, 1, why);
        long group = node.Attributes.GetInt("group", 1);
        var geometry = WindowGeometry.FromAttributes(node, kernel, xSpatial);
        var ySpatial = Enumerable.Range(0, r)
            .Select(i => (xSpatial[i] + geometry.PadsBegin[i] + geometry.PadsEnd[i] - geometry.Extent(i)) / geometry.Strides[i] + 1)
            .ToArray();

        if (ctx.NeedsGradient(x))
        {
            result[0] = FlippedKernelInputGradient(ctx, dy, w, wDims, geometry, group)
                ?? ctx.Op("ConvTranspose", [dy, w], geometry.TransposeAttributes(xSpatial, ySpatial, group).ToArray());
        }
        if (ctx.NeedsGradient(w))
            result[1] = ConvWeightGradients.Compute(ctx, x, channels, xSpatial, dy, ySpatial, wDims, geometry, group);
        if (node.Input(2) is { } b && ctx.NeedsGradient(b))
            result[2] = ctx.Reshape(ctx.PerChannelSum(dy, node.Outputs[0]), -1);
        return result;
    }

    /// <summary>
    /// For stride 1 (and pads within the dilated kernel), dX is a plain Conv of dY with the kernel
    /// transposed per group and flipped spatially, padded by extent − 1 − pad: about twice as fast
    /// as ConvTranspose on ORT's CPU provider (3x3 32->32 14x14 batch 128, 2 threads: 4 ms vs 9 ms).
    /// Null when the geometry does not allow it.
    /// </summary>
    private static Value? FlippedKernelInputGradient(GradientContext ctx, Value dy, Value w, long[] wDims, WindowGeometry g, long group)
    {
        int r = g.Rank;
        for (int i = 0; i < r; i++)
            if (g.Strides[i] != 1 || g.PadsBegin[i] > g.Extent(i) - 1 || g.PadsEnd[i] > g.Extent(i) - 1) return null;
        long m = wDims[0], cg = wDims[1], mg = m / group;
        var spatialAxes = Enumerable.Range(2, r).Select(i => (long)i).ToArray();
        Value transposed;
        if (group == 1) transposed = ctx.Transpose(w, new long[] { 1, 0 }.Concat(spatialAxes).ToArray());
        else
        {
            var grouped = ctx.Reshape(w, new[] { group, mg, cg }.Concat(g.Kernel).ToArray());
            var swapped = ctx.Transpose(grouped, new long[] { 0, 2, 1 }.Concat(spatialAxes.Select(a => a + 1)).ToArray());
            transposed = ctx.Reshape(swapped, new[] { group * cg, mg }.Concat(g.Kernel).ToArray());
        }
        var flipped = ReverseTaps(ctx, transposed, [group * cg, mg], g.Kernel);
        var pads = Enumerable.Range(0, r).Select(i => g.Extent(i) - 1 - g.PadsBegin[i])
            .Concat(Enumerable.Range(0, r).Select(i => g.Extent(i) - 1 - g.PadsEnd[i])).ToArray();
        var attributes = new List<Attribute> { Attribute.Ints("kernel_shape", g.Kernel), Attribute.Ints("pads", pads) };
        if (g.Dilations.Any(d => d != 1)) attributes.Add(Attribute.Ints("dilations", g.Dilations));
        if (group != 1) attributes.Add(Attribute.Int("group", group));
        return ctx.Op("Conv", [dy, flipped], attributes.ToArray());
    }

    /// <summary>
    /// The kernel flipped along every spatial axis, which reverses its taps in row-major order: a
    /// MatMul of the (filters, channels, taps) view by the taps x taps anti-identity. ORT's Slice with
    /// negative steps copies element by element on one thread (64x64x3x3: 326 us in the profiled
    /// ResNet-56 step); the MatMul is exact for finite weights.
    /// </summary>
    private static Value ReverseTaps(GradientContext ctx, Value w, long[] leading, long[] kernel)
    {
        long taps = kernel.Aggregate(1L, (a, b) => a * b);
        if (taps == 1) return w;
        var antiIdentity = new double[taps * taps];
        for (long k = 0; k < taps; k++) antiIdentity[k * taps + taps - 1 - k] = 1;
        var reversal = ctx.Constant(DenseTensor.FromDoubles(ctx.TypeOf(w), [taps, taps], antiIdentity), "tap_reversal");
        var reversed = ctx.Op("MatMul", [ctx.Reshape(w, [.. leading, taps]), reversal]);
        return ctx.Reshape(reversed, [.. leading, .. kernel]);
    }

    public static long[] SpatialAndBatchAxes(int spatialRank) =>
        new long[] { 0 }.Concat(Enumerable.Range(2, spatialRank).Select(i => (long)i)).ToArray();
}

/// <summary>
/// ConvTranspose Y = convT(X, W) + B: dX is a Conv of dY with W and the same attributes (the
/// adjoint); dW is the Conv weight gradient with the roles of input and output exchanged.
/// </summary>
internal sealed class ConvTransposeRule : IGradientRule
{
    public Value?[] Backward(GradientContext ctx, GradNode node, IReadOnlyList<Value?> outputGradients)
    {
        var result = new Value?[node.Inputs.Count];
        if (outputGradients[0] is not { } dy) return result;
        var x = node.RequireInput(0);
        var w = node.RequireInput(1);
        var why = $"the gradient of ConvTranspose '{node.Name}'";
        var wDims = ctx.StaticDims(w, why);
        int r = wDims.Length - 2;
        var kernel = wDims[2..];
        long group = node.Attributes.GetInt("group", 1);
        var xSpatial = Enumerable.Range(2, r).Select(i => ctx.StaticDim(x, i, why)).ToArray();
        var ySpatial = Enumerable.Range(2, r).Select(i => ctx.StaticDim(node.Outputs[0], i, why)).ToArray();
        long outChannels = ctx.StaticDim(node.Outputs[0], 1, why);
        var strides = node.Attributes.GetInts("strides") ?? WindowGeometry.Ones(r);
        var dilations = node.Attributes.GetInts("dilations") ?? WindowGeometry.Ones(r);
        var outputPadding = node.Attributes.GetInts("output_padding") ?? new long[r];
        var autoPad = node.Attributes.GetString("auto_pad", "NOTSET");
        var pads = node.Attributes.GetInts("pads") ?? new long[2 * r];
        var begin = new long[r];
        for (int i = 0; i < r; i++)
        {
            long extent = (kernel[i] - 1) * dilations[i] + 1;
            if (autoPad is "SAME_UPPER" or "SAME_LOWER" || node.Attributes.Contains("output_shape"))
            {
                long total = strides[i] * (xSpatial[i] - 1) + outputPadding[i] + extent - ySpatial[i];
                begin[i] = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
            }
            else if (autoPad != "VALID") begin[i] = pads[i];
        }
        // The Conv that reads dY back: leading pads as the forward's, trailing pads so that
        // exactly xSpatial windows fit (extra rows of dY from output_padding are never read).
        var end = new long[r];
        for (int i = 0; i < r; i++)
        {
            long extent = (kernel[i] - 1) * dilations[i] + 1;
            end[i] = Math.Max(0, strides[i] * (xSpatial[i] - 1) + extent - ySpatial[i] - begin[i]);
        }
        var geometry = new WindowGeometry(kernel, strides, dilations, begin, end);

        if (ctx.NeedsGradient(x))
        {
            var attributes = new List<Attribute>
            {
                Attribute.Ints("kernel_shape", kernel),
                Attribute.Ints("strides", strides),
                Attribute.Ints("pads", begin.Concat(end).ToArray()),
            };
            if (dilations.Any(d => d != 1)) attributes.Add(Attribute.Ints("dilations", dilations));
            if (group != 1) attributes.Add(Attribute.Int("group", group));
            var dx = ctx.Op("Conv", [dy, w], attributes.ToArray());
            // A Conv over dY can produce more positions than X has when output_shape added rows.
            var produced = Enumerable.Range(0, r)
                .Select(i => (ySpatial[i] + begin[i] + end[i] - geometry.Extent(i)) / strides[i] + 1).ToArray();
            if (!produced.SequenceEqual(xSpatial))
                dx = ctx.Slice(dx, new long[r], xSpatial, Enumerable.Range(2, r).Select(i => (long)i).ToArray());
            result[0] = dx;
        }
        if (ctx.NeedsGradient(w))
            result[1] = ConvWeightGradients.Compute(ctx, dy, outChannels, ySpatial, x, xSpatial, wDims, geometry, group);
        if (node.Input(2) is { } b && ctx.NeedsGradient(b))
            result[2] = ctx.ReduceSum(dy, ConvRule.SpatialAndBatchAxes(r), keepDims: false);
        return result;
    }
}

/// <summary>
/// dW[m, c, tap] = sum over batch and output positions of dY[n, m, o] * Xpad[n, c, o*s + tap*d],
/// for a Conv whose input is <c>input</c> (N, C, spatial) and whose output gradient is
/// <c>outGrad</c> (N, M, outSpatial); W is (M, C/group, kernel).
/// </summary>
internal static class ConvWeightGradients
{
    public static Value Compute(GradientContext ctx, Value input, long channels, long[] inputSpatial,
        Value outGrad, long[] outSpatial, long[] wDims, WindowGeometry g, long group)
    {
        var mode = ctx.Options.ConvWeightGradient;
        bool automatic = mode == ConvWeightGradient.Auto;
        // Chosen explicitly (tests): half the channels when even, so that the interleaved input
        // holds several images even with few channels. Under Auto: the NCHWc block.
        long width = channels % 2 == 0 ? channels / 2 : channels;
        if (automatic)
        {
            // A single input channel (a grayscale stem) is its own interleave: the input is then X
            // reshaped to (1, N, Hp, Wp), and the batch groups give the kernel's threads work.
            // One channel: 3x3 1->16 28x28, batch 128, 2 threads, whole weight-gradient subgraph
            // 1.95 ms as TransposedConv (one image, one thread), 0.63 ms interleaved in groups.
            width = channels == 1 ? 1 : ctx.Options.ChannelBlock;
            // Both Conv forms run on the blocked kernels under the same conditions (batch and M on
            // the block); the interleaved one also needs the channels to split into blocks.
            mode = !BlockedTransposedConv(ctx, input, wDims, g, group) ? ConvWeightGradient.ShiftedMatMul
                : InterleavedWeightGradient.Applies(g, group, channels, width) ? ConvWeightGradient.InterleavedConv
                : ConvWeightGradient.TransposedConv;
        }
        if (mode == ConvWeightGradient.InterleavedConv)
        {
            if (InterleavedWeightGradient.Applies(g, group, channels, width) && ctx.ShapeOf(input)?[0].Value is { } batch)
                return InterleavedWeightGradient.Compute(ctx, input, batch, channels, inputSpatial, outGrad, outSpatial, wDims, g, width,
                    BatchGroups(batch, channels / width, automatic ? ctx.Options.ChannelBlock : 1));
            mode = ConvWeightGradient.TransposedConv;
        }
        if (mode == ConvWeightGradient.TransposedConv && group == 1)
            return TransposedConv(ctx, input, inputSpatial, outGrad, outSpatial, wDims, g);
        return ShiftedMatMul(ctx, input, channels, inputSpatial, outGrad, outSpatial, wDims, g, group);
    }

    /// <summary>
    /// One Slice of the padded input per kernel tap, one GEMM per tap, a Concat. With stride 1 the
    /// spatial axes are flattened and each tap's patch is one contiguous window of every (channel,
    /// sample) row (dY padded to the input's row length, the input given one extra zero row so the
    /// last window stays in bounds): long copies instead of runs of one output row (3x3 32->32
    /// 14x14 batch 128, 2 threads: 15 ms instead of 20 ms). With strides the patch is a strided
    /// Slice.
    /// </summary>
    private static Value ShiftedMatMul(GradientContext ctx, Value input, long channels, long[] inputSpatial,
        Value outGrad, long[] outSpatial, long[] wDims, WindowGeometry g, long group)
    {
        int r = g.Rank;
        long m = wDims[0];
        long cg = channels / group, mg = m / group;
        var kernel = g.Kernel;
        bool rows = g.Strides.All(s => s == 1);
        // The last window of a row reaches past the padded input when a tap moves along a later axis.
        bool extraRow = rows && Enumerable.Range(1, r - 1).Any(a => kernel[a] > 1);
        var padsEnd = g.PadsEnd.ToArray();
        if (extraRow) padsEnd[0] += 1;
        var padded = input;
        if (g.PadsBegin.Any(p => p != 0) || padsEnd.Any(p => p != 0))
        {
            var pads = new long[] { 0, 0 }.Concat(g.PadsBegin).Concat(new long[] { 0, 0 }).Concat(padsEnd).ToArray();
            padded = ctx.Op("Pad", [input, ctx.Int64s(pads)]);
        }
        var paddedSpatial = Enumerable.Range(0, r).Select(i => inputSpatial[i] + g.PadsBegin[i] + padsEnd[i]).ToArray();
        var spatialRange = Enumerable.Range(0, r).Select(i => (long)i).ToArray();

        // With row windows, dY is padded along every spatial axis but the first to the input's
        // padded sizes, so a flat dY position plus the tap's offset is the input position it meets.
        var gradient = outGrad;
        if (rows && Enumerable.Range(1, r - 1).Any(a => paddedSpatial[a] != outSpatial[a]))
        {
            var pads = new long[2 * (r + 2)];
            for (int a = 1; a < r; a++) pads[r + 2 + 2 + a] = paddedSpatial[a] - outSpatial[a];
            gradient = ctx.Op("Pad", [outGrad, ctx.Int64s(pads)]);
        }
        var gradSpatial = rows ? new[] { outSpatial[0] }.Concat(paddedSpatial.Skip(1)).ToArray() : outSpatial;

        // Layouts: group == 1: X as (C, N, spatial), dY as (M, N*P) for Gemm(dY, patch^T).
        //          group > 1:  X as (g, C/g, N, spatial), dY as (g, N*P, M/g) for a batched MatMul.
        Value xt, dyt;
        int firstSpatialAxis;
        if (group == 1)
        {
            xt = ctx.Transpose(padded, new long[] { 1, 0 }.Concat(spatialRange.Select(i => i + 2)).ToArray());
            dyt = ctx.Reshape(ctx.Transpose(gradient, new long[] { 1, 0 }.Concat(spatialRange.Select(i => i + 2)).ToArray()), m, -1);
            firstSpatialAxis = 2;
        }
        else
        {
            var grouped = ctx.Reshape(padded, new long[] { 0, group, cg }.Concat(paddedSpatial).ToArray());
            xt = ctx.Transpose(grouped, new long[] { 1, 2, 0 }.Concat(spatialRange.Select(i => i + 3)).ToArray());
            var dyGrouped = ctx.Reshape(gradient, new long[] { 0, group, mg }.Concat(gradSpatial).ToArray());
            var perm = new long[] { 1, 0 }.Concat(spatialRange.Select(i => i + 3)).Append(2).ToArray();
            dyt = ctx.Reshape(ctx.Transpose(dyGrouped, perm), group, -1, mg);
            firstSpatialAxis = 3;
        }
        // Row windows: flatten the spatial axes of X (keeping channels and samples).
        var rowStrides = new long[r];
        if (rows)
        {
            for (int a = r - 1; a >= 0; a--) rowStrides[a] = a == r - 1 ? 1 : rowStrides[a + 1] * paddedSpatial[a + 1];
            xt = ctx.Reshape(xt, Enumerable.Repeat(0L, firstSpatialAxis).Append(-1).ToArray());
        }
        long windowLength = outSpatial[0] * (rows ? rowStrides[0] : 1);
        long paddedLength = paddedSpatial[0] * (rows ? rowStrides[0] : 1);

        long taps = kernel.Aggregate(1L, (a, b) => a * b);
        var parts = new List<Value>();
        var tap = new long[r];
        for (long t = 0; t < taps; t++)
        {
            long rest = t;
            for (int i = r - 1; i >= 0; i--)
            {
                tap[i] = rest % kernel[i];
                rest /= kernel[i];
            }
            Value patch;
            if (rows)
            {
                long offset = Enumerable.Range(0, r).Sum(a => tap[a] * g.Dilations[a] * rowStrides[a]);
                patch = offset == 0 && windowLength == paddedLength
                    ? xt
                    : ctx.Slice(xt, new[] { offset }, new[] { offset + windowLength }, new long[] { firstSpatialAxis });
            }
            else
            {
                var starts = Enumerable.Range(0, r).Select(i => tap[i] * g.Dilations[i]).ToArray();
                var ends = Enumerable.Range(0, r).Select(i => starts[i] + (outSpatial[i] - 1) * g.Strides[i] + 1).ToArray();
                patch = ctx.Slice(xt, starts, ends, spatialRange.Select(i => i + firstSpatialAxis).ToArray(), g.Strides);
            }
            Value product;
            if (group == 1)
            {
                var flat = ctx.Reshape(patch, channels, -1);
                product = ctx.Op("Gemm", [dyt, flat], Attribute.Int("transB", 1)); // (M, C)
            }
            else
            {
                var flat = ctx.Reshape(patch, group, cg, -1);
                product = ctx.Op("MatMul", [flat, dyt]); // (g, C/g, M/g)
            }
            parts.Add(taps == 1 ? product : ctx.Unsqueeze(product, group == 1 ? 2 : 3));
        }
        var stacked = ctx.Concat(parts, group == 1 ? 2 : 3);
        if (group == 1) return ctx.Reshape(stacked, wDims);
        if (taps == 1) stacked = ctx.Unsqueeze(stacked, 3);
        var ordered = ctx.Transpose(stacked, 0, 2, 1, 3); // (g, M/g, C/g, taps)
        return ctx.Reshape(ordered, wDims);
    }

    /// <summary>Batch groups for the InterleavedConv form: enough that groups x images >= 8 (the
    /// best count measured on ResNet-56 shapes at 2 threads: 3x3 32->32 14x14 2.4 ms with 1 group,
    /// 2.4 with 2, 2.0 with 4), each group a multiple of <paramref name="block"/> samples. Chosen
    /// explicitly (block 1, tests), 2 when the batch is even, to exercise the grouped form.</summary>
    private static long BatchGroups(long batch, long images, long block)
    {
        if (block == 1) return batch % 2 == 0 ? 2 : 1;
        long groups = 1;
        while (groups * images < 8 && batch % (2 * groups * block) == 0) groups *= 2;
        return groups;
    }

    /// <summary>Whether the TransposedConv form (input channels = batch, output channels = M) will
    /// run on ORT's blocked kernels: on ResNet-56 shapes it is then 2-4x faster than shifted GEMMs,
    /// while on the standard Conv kernel it is slower (26 ms against 15 ms for 3x3 32->32 14x14).</summary>
    private static bool BlockedTransposedConv(GradientContext ctx, Value input, long[] wDims, WindowGeometry g, long group)
    {
        if (!ctx.Options.BlockedConvolutions || ctx.Options.ChannelBlock == 0 || group != 1 || g.Rank != 2 || ctx.TypeOf(input) != DataType.Float) return false;
        var batch = ctx.ShapeOf(input) is { Rank: > 0 } shape ? shape[0].Value : null;
        return batch is { } n && BlockedConvolutions.Eligible(n, wDims[0], 1, 4, ctx.Options.ChannelBlock);
    }

    /// <summary>A Conv of X^T (C, N, spatial) with dY^T (M, N, outSpatial) as its kernel,
    /// strides and dilations exchanged, then transposed back (group 1).</summary>
    private static Value TransposedConv(GradientContext ctx, Value input, long[] inputSpatial,
        Value outGrad, long[] outSpatial, long[] wDims, WindowGeometry g)
    {
        int r = g.Rank;
        var perm = new long[] { 1, 0 }.Concat(Enumerable.Range(2, r).Select(i => (long)i)).ToArray();
        var xt = ctx.Transpose(input, perm);
        var dyt = ctx.Transpose(outGrad, perm);
        var attributes = new List<Attribute>
        {
            Attribute.Ints("kernel_shape", outSpatial),
            Attribute.Ints("pads", g.PadsBegin.Concat(g.PadsEnd).ToArray()),
        };
        if (g.Dilations.Any(d => d != 1)) attributes.Add(Attribute.Ints("strides", g.Dilations));
        if (g.Strides.Any(s => s != 1)) attributes.Add(Attribute.Ints("dilations", g.Strides));
        var conv = ctx.Op("Conv", [xt, dyt], attributes.ToArray()); // (C, M, K')
        var produced = Enumerable.Range(0, r).Select(i =>
            (inputSpatial[i] + g.PadsBegin[i] + g.PadsEnd[i] - ((outSpatial[i] - 1) * g.Strides[i] + 1)) / g.Dilations[i] + 1).ToArray();
        if (!produced.SequenceEqual(g.Kernel))
            conv = ctx.Slice(conv, new long[r], g.Kernel, Enumerable.Range(2, r).Select(i => (long)i).ToArray());
        return ctx.Transpose(conv, perm);
    }
}
