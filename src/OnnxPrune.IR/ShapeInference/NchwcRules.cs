using System.Collections.Frozen;

namespace OnnxPrune.IR.ShapeInference;

/// <summary>
/// Shape rules of ONNX Runtime's blocked-layout contrib ops (domain com.microsoft.nchwc), which
/// the training lowering writes (OnnxPrune.Runtime.Lowering). A blocked tensor is described as ORT
/// reports it: (N, C padded to the channel block, H, W). Semantics from ORT's contrib operator
/// schemas: ReorderInput(X, channels_last) blocks the channel axis of an NCHW (or NHWC) tensor;
/// ReorderOutput(X, channels, channels_last) undoes it, keeping `channels`; the blocked Conv, pools
/// and GlobalAveragePool size their outputs as the standard ops do.
/// </summary>
internal static class NchwcRules
{
    public const string Domain = "com.microsoft.nchwc";

    /// <summary>The largest channel block ORT's kernels use (AVX-512); a channel count that is a
    /// multiple of it is a multiple of every block, so it is padded to itself whatever the block.</summary>
    private const long LargestBlock = 16;

    /// <param name="block">The channel block, 0 when not known (channels then padded only when
    /// the count is a multiple of every block).</param>
    public static FrozenDictionary<string, Rule> Table(int block) => new Dictionary<string, Rule>(StringComparer.Ordinal)
    {
        ["ReorderInput"] = ctx => ReorderInput(ctx, block),
        ["ReorderOutput"] = ReorderOutput,
        ["Conv"] = NeuralNetRules.Conv(0, 1, c => c.InType(0)),
        ["MaxPool"] = NeuralNetRules.Pool,
        ["AveragePool"] = NeuralNetRules.Pool,
        ["GlobalAveragePool"] = NeuralNetRules.GlobalPool,
        ["GlobalMaxPool"] = NeuralNetRules.GlobalPool,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    private static void ReorderInput(InferenceContext ctx, int block)
    {
        var x = ctx.InShape(0);
        if (x is not { Rank: 4 })
        {
            ctx.SetOutput(0, ctx.InType(0), x is null ? null : ShapeMath.UnknownDims(x.Rank));
            return;
        }
        bool channelsLast = ctx.Int("channels_last", 0) != 0;
        var channels = channelsLast ? x[3] : x[1];
        var (h, w) = channelsLast ? (x[1], x[2]) : (x[2], x[3]);
        var padded = channels.Value is { } c && (c % LargestBlock == 0 || block > 0)
            ? Dim.Known(block > 0 ? (c + block - 1) / block * block : c)
            : Dim.Unknown;
        ctx.SetOutput(0, ctx.InType(0), new Shape([x[0], padded, h, w]));
    }

    private static void ReorderOutput(InferenceContext ctx)
    {
        var x = ctx.InShape(0);
        var channels = ctx.Int("channels", -1);
        if (x is not { Rank: 4 } || channels <= 0)
        {
            ctx.SetOutput(0, ctx.InType(0), x is null ? null : ShapeMath.UnknownDims(x.Rank));
            return;
        }
        var c = Dim.Known(channels);
        ctx.SetOutput(0, ctx.InType(0), ctx.Int("channels_last", 0) != 0 ? new Shape([x[0], x[2], x[3], c]) : new Shape([x[0], c, x[2], x[3]]));
    }
}
