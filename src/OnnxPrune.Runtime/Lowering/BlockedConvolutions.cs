using OnnxPrune.IR;
using OnnxPrune.IR.Passes;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Runtime.Lowering;

/// <summary>
/// Runs a training graph's 2-D convolutions on ONNX Runtime's blocked-layout (NCHWc) CPU kernels.
/// ORT's optimizer does this itself only when the weights are constants; in a training graph
/// they are fed every step (and the weight-gradient Conv's "kernel" is dY), so each Conv becomes
/// ReorderInput(X) -> com.microsoft.nchwc Conv(X', W') -> ReorderOutput, with W reordered in the
/// graph into the kernel's filter layout. Measured on ResNet-56 shapes (batch 128, 2 threads,
/// weights fed at run time): a 3x3 conv at 16/32/64 channels took 1.8/1.2/1.2 ms on these
/// kernels against 3.7/2.5/3.7 ms on the standard Conv, and a whole ResNet-20 training step
/// 310 ms against 543 ms (tools/bench/results/train-throughput.md has the end-to-end figures).
/// Same arithmetic up to float rounding (tests/OnnxPrune.Tests/Autodiff/BlockedConvolutionsTests.cs).
/// Around the Convs: BatchNorm's forward map with its Relu runs on the blocked depthwise kernel
/// (<see cref="BlockedChannelAffine"/>), and activations and their gradients stay blocked between
/// Convs (<see cref="BlockedLayoutPropagation"/>).
/// Convolutions the kernels cannot take (not 2-D, channel counts per group off the block, double)
/// stay standard ONNX.
/// <para>The lowering is three IR passes run by the pass manager with the verifier after each
/// (<see cref="NchwcPasses"/>): the interleaved weight-gradient inputs, the Convs, then the layout
/// propagation; each pass infers shapes afresh, the nchwc ops by their shape rules.</para>
/// </summary>
internal static class BlockedConvolutions
{
    /// <summary>Rewrites the eligible Conv nodes of <paramref name="model"/> in place; returns how many.</summary>
    /// <param name="block">The kernels' channel block (<see cref="NchwcSupport.BlockSize"/>).</param>
    /// <exception cref="PassFailedException">A pass left the graph malformed (a bug).</exception>
    public static int Lower(Model model, int block)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (block <= 0) return 0;
        var passes = NchwcPasses.Create(block);
        new PassManager(passes.All, verifyAfterEachPass: true, maxRounds: 1).Run(model);
        return passes.Convolutions.Lowered;
    }

    /// <summary>The Conv pass: each eligible Conv as ReorderInput -> nchwc Conv -> ReorderOutput,
    /// or, for a per-channel affine map with its activation, the blocked depthwise kernel.</summary>
    /// <returns>(Convs lowered, affine maps lowered).</returns>
    internal static (int Lowered, int Affine) LowerConvolutions(Model model, int block)
    {
        var ctx = new LoweringContext(model, block);
        int lowered = 0, affine = 0;
        var reordered = new Dictionary<Value, Value>();
        foreach (var conv in ctx.Graph.Nodes.Where(n => n.IsOnnxDomain && n.OpType == "Conv").ToList())
        {
            if (BlockedChannelAffine.TryLower(ctx, conv, x => SharedReorderInput(ctx, x, reordered))) affine++;
            else if (Eligible(conv, ctx, out var wDims))
            {
                Rewrite(ctx, conv, wDims, reordered);
                lowered++;
            }
        }
        if (lowered + affine > 0) UseNchwcDomain(model);
        return (lowered, affine);
    }

    internal static void UseNchwcDomain(Model model) => model.OpsetImports[NchwcSupport.Domain] = 1;

    /// <summary>Whether the NCHWc Conv kernel takes this Conv as it is (channels are never padded here,
    /// so a reordered tensor has exactly the original's elements).</summary>
    public static bool Eligible(long inputChannels, long outputChannels, long group, int rank, int block) =>
        block > 0 && rank == 4 && group >= 1 && outputChannels % (group * block) == 0
        && (inputChannels % (group * block) == 0 || (group == 1 && inputChannels < block));

    private static bool Eligible(Node conv, LoweringContext ctx, out long[] wDims)
    {
        wDims = [];
        var info = ctx.Info;
        var x = conv.Input(0)!;
        var w = conv.Input(1)!;
        if (info.GetElementType(x) != DataType.Float || info.GetElementType(w) != DataType.Float) return false;
        if (conv.Attributes.GetString("auto_pad", "NOTSET") is not ("NOTSET" or "")) return false;
        var dims = info.GetShape(w)?.TryGetSizes();
        var xShape = info.GetShape(x);
        long group = conv.Attributes.GetInt("group", 1);
        if (dims is null || xShape is null || xShape.Rank != 4 || xShape[1].Value != dims[1] * group) return false;
        wDims = dims;
        return Eligible(dims[1] * group, dims[0], group, dims.Length, ctx.Block);
    }

    /// <summary>Unit weights and attributes of a depthwise 1x1 Conv that only zero-pads its input
    /// by <paramref name="pads"/> (top, left, bottom, right): unlike ORT's Pad, which runs on one
    /// thread, a Conv spreads over all of them.</summary>
    internal static (Value Weights, Attribute[] Attributes) ZeroPadding(Graph graph, string name, long channels, long[] pads)
    {
        var ones = graph.AddInitializer($"{name}/nchwc/ones", DenseTensor.FromFloats([channels, 1, 1, 1], Enumerable.Repeat(1f, (int)channels).ToArray()));
        return (ones, [Attribute.Int("group", channels), Attribute.Ints("kernel_shape", [1, 1]), Attribute.Ints("pads", pads)]);
    }

    /// <summary>Whether the (dilated) kernel spans the whole input along both axes while there is padding.</summary>
    private static bool EveryWindowTouchesPadding(long[] wDims, Shape xShape, long[] pads, long[]? dilations)
    {
        if (pads.All(p => p == 0)) return false;
        for (int axis = 0; axis < 2; axis++)
        {
            long extent = (wDims[2 + axis] - 1) * (dilations?[axis] ?? 1) + 1;
            if (xShape[2 + axis].Value is not { } size || extent < size) return false;
        }
        return true;
    }

    /// <summary>ReorderInput(<paramref name="x"/>), one node per value however many Convs read it
    /// (a layer's input-gradient Conv and its weight-gradient filter both read dY). A ReorderInput
    /// of a ReorderOutput goes later, in <see cref="BlockedLayoutPropagation"/>.</summary>
    private static Value SharedReorderInput(LoweringContext ctx, Value x, Dictionary<Value, Value> reordered) =>
        reordered.TryGetValue(x, out var known) ? known : reordered[x] = ReorderInputAfterProducer(ctx, x);

    /// <summary>A new ReorderInput(<paramref name="x"/>) placed right after x's producer (first, for a
    /// graph input), so that it precedes every reader of x.</summary>
    internal static Value ReorderInputAfterProducer(LoweringContext ctx, Value x)
    {
        var name = ctx.Graph.UniqueName($"{x.Name}/nchwc/blocked");
        return ctx.Insert(x.Producer, new Node(NchwcSupport.Domain, "ReorderInput", [x], [name], [], name), after: true);
    }

    private static void Rewrite(LoweringContext ctx, Node conv, long[] wDims, Dictionary<Value, Value> reordered)
    {
        var (graph, info, block) = (ctx.Graph, ctx.Info, ctx.Block);
        var xShape = info.GetShape(conv.Input(0)!)!;
        // c: input channels per group (the filter's second axis); the padding Conv takes all of them.
        long o = wDims[0], c = wDims[1], taps = wDims[2] * wDims[3], channels = xShape[1].Value!.Value;
        var name = conv.Name.Length > 0 ? conv.Name : conv.Outputs[0].Name;
        var added = new List<Node>();
        Value Add(string domain, string op, Value?[] inputs, string hint, params Attribute[] attributes)
        {
            var node = new Node(domain, op, inputs, [graph.UniqueName($"{name}/nchwc/{hint}")], attributes, graph.UniqueName($"{name}/nchwc/{hint}"));
            added.Add(node);
            return node.Outputs[0];
        }
        Value Shape(params long[] dims) => graph.AddInitializer($"{name}/nchwc/shape", DenseTensor.FromInt64s([dims.Length], dims));

        var attributes = conv.Attributes.Where(a => a.Name is "kernel_shape" or "strides" or "dilations" or "group").ToList();
        var pads = conv.Attributes["pads"]?.AsInts() ?? new long[4];
        var x = conv.Input(0)!;
        bool padded = EveryWindowTouchesPadding(wDims, xShape, pads, conv.Attributes["dilations"]?.AsInts());
        if (padded)
        {
            // The weight-gradient form (kernel = dY, as large as the input): the kernel computes
            // outputs whose window meets padding one at a time, so pad explicitly instead (3x3
            // taps over 28x28, batch 128, 16 channels: 3.6 ms + 0.8 ms for the Pad, against 8.4 ms).
            // The padding is a depthwise 1x1 Conv with unit weights and those pads: ORT's Pad runs
            // on one thread, this on all (16x128x28x28 padded by 1: 0.37 ms against 0.64 ms).
            var (ones, padding) = ZeroPadding(graph, name, channels, pads);
            x = Add("", "Conv", [x, ones], "pad", padding);
            pads = new long[4];
        }
        attributes.Add(Attribute.Ints("pads", pads));

        // Input: blocked unless it has fewer channels than a block (the kernel then reads NCHW directly).
        bool blockedInput = c >= block;
        if (blockedInput) x = padded ? Add(NchwcSupport.Domain, "ReorderInput", [x], "x") : SharedReorderInput(ctx, x, reordered);

        // Filter: OIHWBiBo = [O/B][C/B][KH][KW][Bi][Bo] for a blocked input, OIHWBo = [O/B][C][KH][KW][Bo]
        // otherwise. Both come from ReorderInput, which blocks the channel axis of an NCHW tensor:
        // first over C (W as a batch of O images of C channels), then over O (the whole filter as one
        // image of O channels and C*KH*KW positions). A weight gradient's kernel made of dY has a
        // shorter way from the blocked dY (BlockedGradientFilter).
        var w = conv.Input(1)!;
        long group = conv.Attributes.GetInt("group", 1);
        if (blockedInput && BlockedGradientFilter.Fits(wDims, group, block)
            && BlockedGradientFilter.TransposedOutputGradient(w, wDims, group, info) is { } dy)
        {
            w = BlockedGradientFilter.Build(SharedReorderInput(ctx, dy, reordered), wDims, group, block, Add, Shape);
        }
        else
        {
            if (blockedInput) w = Add(NchwcSupport.Domain, "ReorderInput", [w], "w_c");
            w = Add("", "Reshape", [w, Shape(1, o, c * taps, 1)], "w_flat");
            w = Add(NchwcSupport.Domain, "ReorderInput", [w], "w_o");
            w = Add("", "Reshape", [w, Shape(wDims)], "w");
        }

        var inputs = new List<Value?> { x, w };
        if (conv.Input(2) is { } bias) inputs.Add(bias);
        var y = Add(NchwcSupport.Domain, "Conv", inputs.ToArray(), "conv", attributes.ToArray());
        var output = Add(NchwcSupport.Domain, "ReorderOutput", [y], "y", Attribute.Int("channels", o));

        foreach (var node in added) graph.InsertNodeBefore(conv, node);
        ctx.Inferred(added);
        var originalFilter = conv.Input(1)!;
        graph.ReplaceNode(conv, output);
        BlockedGradientFilter.RemoveIfUnused(graph, originalFilter);
    }
}
