using OnnxPrune.IR;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Autodiff.Rules;

/// <summary>
/// The weight gradient of a 2-D, group-1, undilated Conv as one Conv whose batch is a group of
/// input channels, whose channels are the batch, and whose kernel is dY^T (M, N, Ho, Wo):
/// the padded input is laid out as (s, N, Hp, Wp*b), channel c = j*b + i of pixel (h, w) at
/// width position w*b + i of image j, and the kernel is dilated by (strideH, strideW*b), so output
/// position (kh, kw*b + i) of image j meets exactly Xpad[n, j*b + i, kh + h*sH, kw + w*sW].
/// <para>
/// Why: the other Conv form (<see cref="ConvWeightGradient.TransposedConv"/>, input channels as
/// the batch) has a KHxKW output per image, and ORT's blocked kernel streams the whole kernel
/// (all of dY) once per output row, i.e. C*KH times. Interleaving b channels into the width
/// makes each output row b*KW wide and the image count C/b, so dY is streamed b times less
/// often. With b equal to the NCHWc block, the (s, N, Hp, Wp*b) layout is the blocked layout of
/// the input with its two leading axes swapped, which <see cref="BlockedChannelInterleave"/>
/// builds with ReorderInput instead of the slow Transpose. Measured on ResNet-56 shapes (batch
/// 128, block 16, one thread, weight-gradient subgraph from X and dY to dW): 3x3 16->16 28x28
/// 8.4 -> 6.1 ms, 32->32 14x14 4.8 -> 3.6 ms, 64->64 7x7 3.6 -> 3.2 ms, 16->32 stride 2
/// 6.1 -> 3.9 ms.
/// </para>
/// </summary>
internal static class InterleavedWeightGradient
{
    /// <summary>Whether this form applies: 2-D, group 1, no dilation, non-negative pads, and
    /// <paramref name="width"/> dividing the channel count.</summary>
    public static bool Applies(WindowGeometry g, long group, long channels, long width) =>
        g.Rank == 2 && group == 1 && width > 0 && channels % width == 0
        && g.Dilations.All(d => d == 1) && g.PadsBegin.Concat(g.PadsEnd).All(p => p >= 0);

    /// <summary>dW (M, C, KH, KW) of a Conv with input <paramref name="input"/> (N, C, H, W) and
    /// output gradient <paramref name="outGrad"/> (N, M, Ho, Wo), interleaving
    /// <paramref name="width"/> channels.</summary>
    /// <param name="batchGroups">Splits the batch (the Conv's channels) into this many groups of a
    /// grouped Conv whose outputs are summed: ORT's blocked kernel hands its threads whole images,
    /// groups and blocks of 4 filter blocks, so with one image (C = b) and M = 16 one thread did all
    /// the work (3x3 16->16 28x28, batch 128, 2 threads: 5.1 ms whole subgraph, 2.7 ms with 2 groups).</param>
    public static Value Compute(GradientContext ctx, Value input, long batch, long channels, long[] inputSpatial,
        Value outGrad, long[] outSpatial, long[] wDims, WindowGeometry g, long width, long batchGroups = 1)
    {
        long b = width, s = channels / b, groups = batchGroups, m = wDims[0];
        long hp = inputSpatial[0] + g.PadsBegin[0] + g.PadsEnd[0];
        long wp = inputSpatial[1] + g.PadsBegin[1] + g.PadsEnd[1];
        var padded = input;
        if (g.PadsBegin.Concat(g.PadsEnd).Any(p => p != 0))
            padded = ctx.Op("Pad", [input, ctx.Int64s(0, 0, g.PadsBegin[0], g.PadsBegin[1], 0, 0, g.PadsEnd[0], g.PadsEnd[1])]);
        var interleaved = channels == 1
            ? ctx.Reshape(padded, 1, batch, hp, wp) // nothing to interleave: a Reshape, not a Transpose ORT would copy
            : ctx.Reshape(ctx.Transpose(ctx.Reshape(padded, batch, s, b, hp, wp), 1, 0, 3, 4, 2), s, batch, hp, wp * b);
        // Kernel (G*M, N/G, Ho, Wo): group j's M filters are dY^T over its N/G samples.
        var kernel = groups == 1
            ? ctx.Transpose(outGrad, 1, 0, 2, 3)
            : ctx.Reshape(ctx.Transpose(ctx.Reshape(outGrad, groups, batch / groups, m, outSpatial[0], outSpatial[1]), 0, 2, 1, 3, 4),
                groups * m, batch / groups, outSpatial[0], outSpatial[1]);
        var attributes = new List<Attribute>
        {
            Attribute.Ints("kernel_shape", outSpatial),
            Attribute.Ints("dilations", [g.Strides[0], g.Strides[1] * b]),
        };
        if (groups > 1) attributes.Add(Attribute.Int("group", groups));
        var conv = ctx.Op("Conv", [interleaved, kernel], attributes.ToArray()); // (s, G*M, rows, columns)
        long rows = hp - (outSpatial[0] - 1) * g.Strides[0];
        long columns = (wp - (outSpatial[1] - 1) * g.Strides[1]) * b;
        long kh = g.Kernel[0], kw = g.Kernel[1];
        if (rows != kh || columns != kw * b)
            conv = ctx.Slice(conv, [0, 0], [kh, kw * b], [2, 3]);
        var taps = groups == 1
            ? ctx.Reshape(conv, s, m, kh, kw, b)
            : ctx.ReduceSum(ctx.Reshape(conv, s, groups, m, kh, kw, b), [1], keepDims: false);
        return ctx.Reshape(ctx.Transpose(taps, 1, 0, 4, 2, 3), wDims); // (M, s, b, KH, KW)
    }
}
