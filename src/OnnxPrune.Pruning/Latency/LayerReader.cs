using OnnxPrune.IR;
using OnnxPrune.Pruning.Channels;

namespace OnnxPrune.Pruning.Latency;

/// <summary>A model's layer as the latency table sees it: its signature and its widths in the model.</summary>
internal sealed record LayerShape(Node Node, LayerSignature Signature, int In, int Out);

/// <summary>
/// Reads the <see cref="LayerSignature"/> of a Conv / Gemm / MatMul node with constant weights from
/// the shapes channel analysis inferred. Layers it cannot describe (shapes depending on unknown
/// dims, 1-D or 3-D convolutions, auto_pad, transposed inputs) are left out with the reason: the
/// latency model counts them in the rest of the graph.
/// </summary>
internal static class LayerReader
{
    /// <param name="batch">The batch the table measures at, used where the model's batch dim is symbolic.</param>
    public static (LayerShape? Layer, string? Why) Read(Node node, AnalysisContext ctx, long batch)
    {
        if (!node.IsOnnxDomain) return (null, "not an ONNX-domain op");
        var weight = ctx.ConstantOf(node.Input(1));
        if (weight is null) return (null, "its weight is not a constant");
        return node.OpType switch
        {
            "Conv" => ReadConv(node, ctx, weight.Dims, batch),
            "Gemm" => ReadGemm(node, ctx, weight.Dims, batch),
            "MatMul" => ReadMatMul(node, ctx, weight.Dims, batch),
            _ => (null, $"{node.OpType} has no latency probe"),
        };
    }

    private static (LayerShape?, string?) ReadConv(Node node, AnalysisContext ctx, long[] w, long batch)
    {
        if (w.Length != 4) return (null, "only 2-D convolutions are probed");
        var autoPad = node.Attributes.GetString("auto_pad", "NOTSET");
        if (autoPad is not ("NOTSET" or "VALID")) return (null, $"auto_pad {autoPad} is not probed");
        if (ctx.ShapeOf(node.Input(0)) is not { Rank: 4 } x || x[1].Value is not { } cin || x[2].Value is not { } h || x[3].Value is not { } wd)
            return (null, "its input's channel or spatial dims are unknown");
        long n = x[0].Value ?? batch;
        int groups = (int)node.Attributes.GetInt("group", 1);
        int cout = (int)w[0];
        if (groups < 1 || cin % groups != 0 || cout % groups != 0 || w[1] != cin / groups) return (null, "its group count does not match its weight");
        var (kind, multiplier) = groups == 1 ? (LayerKind.Dense, 1)
            : groups == cin ? (LayerKind.Depthwise, cout / groups)
            : (LayerKind.Grouped, 1);
        var pads = autoPad == "VALID" ? [0, 0, 0, 0] : node.Attributes.GetInts("pads") ?? [0, 0, 0, 0];
        var signature = new LayerSignature("Conv", kind, kind == LayerKind.Grouped ? groups : 1, multiplier,
            [w[2], w[3]], node.Attributes.GetInts("strides") ?? [1, 1], pads, node.Attributes.GetInts("dilations") ?? [1, 1],
            [h, wd], n, FusedActivation(node, ctx));
        return (new LayerShape(node, signature, (int)cin, cout), null);
    }

    private static (LayerShape?, string?) ReadGemm(Node node, AnalysisContext ctx, long[] w, long batch)
    {
        if (node.Attributes.GetInt("transA", 0) != 0) return (null, "Gemm with transA is not probed");
        if (w.Length != 2) return (null, "its weight is not a matrix");
        if (ctx.ShapeOf(node.Input(0)) is not { Rank: 2 } a || a[1].Value is not { } k) return (null, "its input's features are unknown");
        bool transB = node.Attributes.GetInt("transB", 0) != 0;
        var signature = new LayerSignature("Gemm", LayerKind.Dense, 1, 1, [], [], [], [], [a[0].Value ?? batch], batch,
            FusedActivation(node, ctx), transB);
        return (new LayerShape(node, signature, (int)k, (int)(transB ? w[0] : w[1])), null);
    }

    private static (LayerShape?, string?) ReadMatMul(Node node, AnalysisContext ctx, long[] w, long batch)
    {
        if (w.Length != 2) return (null, "its weight is not a matrix");
        if (ctx.ShapeOf(node.Input(0)) is not { Rank: >= 2 } a || a[a.Rank - 1].Value is not { } k) return (null, "its input's features are unknown");
        var rows = new long[a.Rank - 1];
        for (int i = 0; i < rows.Length; i++)
        {
            if (a[i].Value is { } d) rows[i] = d;
            else if (i == 0) rows[i] = batch;
            else return (null, "its input's leading dims are unknown");
        }
        var signature = new LayerSignature("MatMul", LayerKind.Dense, 1, 1, [], [], [], [], rows, batch, null);
        return (new LayerShape(node, signature, (int)k, (int)w[1]), null);
    }

    /// <summary>The activation ORT folds into this Conv/Gemm: the single consumer of its output, when
    /// that is a fusable activation (Clip only with constant bounds, as ORT requires). A BatchNormalization
    /// with constant parameters in between is looked through: ORT folds it into the Conv first.</summary>
    private static string? FusedActivation(Node node, AnalysisContext ctx)
    {
        var next = SoleConsumer(node);
        if (next is { OpType: "BatchNormalization" } bn && node.OpType == "Conv" && bn.IsOnnxDomain
            && bn.Inputs.Skip(1).All(v => v is not null && ctx.ConstantOf(v) is not null) && bn.Outputs.Count(o => o.Name != "") == 1)
            next = SoleConsumer(bn);
        if (next is null || !next.IsOnnxDomain || !LayerSignature.FusableActivations.Contains(next.OpType)) return null;
        if (next.OpType == "Clip" && next.Inputs.Skip(1).Any(v => v is not null && ctx.ConstantOf(v) is null)) return null;
        return next.OpType;
    }

    private static Node? SoleConsumer(Node node)
    {
        var y = node.Outputs[0];
        return y.IsGraphOutput || y.Uses.Count != 1 ? null : y.Uses[0].Node;
    }
}
