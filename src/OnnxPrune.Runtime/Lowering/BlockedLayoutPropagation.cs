using OnnxPrune.IR;
using OnnxPrune.IR.ShapeInference;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Runtime.Lowering;

/// <summary>
/// Keeps activations in ONNX Runtime's blocked layout between the lowered Convs of a training graph
/// instead of converting every Conv's output back to NCHW (ReorderOutput) and the next Conv's input
/// forward again (ReorderInput). Starting from the blocked tensors behind ReorderOutput nodes, it
/// moves onto the blocked layout every node that does not care how channels are laid out in
/// memory, or has a blocked kernel:
/// <list type="bullet">
/// <item>element-wise ops over tensors of one shape, or with a scalar (the BatchNorm and ReLU
/// forward and backward arithmetic, gradient sums);</item>
/// <item>a Reshape to the same shape (GradientContext.After);</item>
/// <item>per-channel maps: a depthwise 1x1 Conv (GradientContext.ChannelAffine) or a Mul by a
/// (1, C, 1, 1) vector, as the blocked depthwise Conv;</item>
/// <item>GlobalAveragePool, as the blocked pooling, whose (N, C, 1, 1) output is the same in both layouts;</item>
/// <item>ReorderInput of a value that has a blocked form: the blocked form itself.</item>
/// </list>
/// A value still read in NCHW by another node gets one ReorderOutput. Each pass that goes is a full
/// read and write of an activation (ResNet-56 at batch 128: 6.4 MB in the first stage).
/// </summary>
internal static class BlockedLayoutPropagation
{
    private static readonly HashSet<string> Unary = ["Relu", "HardSigmoid", "Neg", "Identity"];
    private static readonly HashSet<string> Binary = ["Add", "Sub", "Mul"];

    /// <summary>Rewrites <paramref name="graph"/> in place; returns how many nodes moved onto the blocked layout.</summary>
    public static int Propagate(Model model, int block)
    {
        var ctx = new LoweringContext(model, block);
        var graph = ctx.Graph;
        var blocked = new Dictionary<Value, Value>(ReferenceEqualityComparer.Instance);
        foreach (var node in graph.Nodes)
            if (node is { Domain: NchwcSupport.Domain, OpType: "ReorderOutput" } && node.Attributes.GetInt("channels_last", 0) == 0
                && node.Attributes.GetInt("channels", -1) is var c && c > 0 && c % block == 0)
                blocked[node.Outputs[0]] = node.Input(0)!;

        var moved = new List<Node>();
        foreach (var node in graph.Nodes.ToList())
        {
            var replacement = Convert(ctx, node, blocked);
            if (replacement is null) continue;
            if (replacement.Value.Blocked is { } b) blocked[node.Outputs[0]] = b;
            else node.Outputs[0].ReplaceAllUsesWith(replacement.Value.Plain!);
            moved.Add(node);
        }

        // Values some node still reads in NCHW: one ReorderOutput each; the rest go. Last to first, so
        // that a node's input loses its reader before the input's own turn.
        for (int i = moved.Count - 1; i >= 0; i--)
        {
            var node = moved[i];
            var output = node.Outputs[0];
            if (output.Uses.Count == 0 && !output.IsGraphOutput) graph.RemoveNode(node);
            else if (blocked.TryGetValue(output, out var b))
            {
                var name = graph.UniqueName($"{output.Name}/nchwc/nchw");
                var back = ctx.Insert(b.Producer!, new Node(NchwcSupport.Domain, "ReorderOutput", [b], [name], [Attribute.Int("channels", ctx.Dims(b)![1])], name), after: true);
                graph.ReplaceNode(node, back);
            }
        }
        RemoveUnread(graph);
        return moved.Count;
    }

    /// <summary>The blocked replacement of <paramref name="node"/> (Blocked: its output's blocked form,
    /// with a static 4-D shape; Plain: an output identical in both layouts), or null when it stays
    /// as it is.</summary>
    private static (Value? Blocked, Value? Plain)? Convert(LoweringContext ctx, Node node, Dictionary<Value, Value> blocked)
    {
        var (graph, info) = (ctx.Graph, ctx.Info);
        if (node.Outputs.Count != 1) return null;
        Value? B(Value? v) => v is not null && blocked.TryGetValue(v, out var b) ? b : null;
        Value Add(string domain, string op, Value?[] inputs, params Attribute[] attributes) => Insert(domain, op, inputs, attributes, null);
        Value Insert(string domain, string op, Value?[] inputs, Attribute[] attributes, long[]? dims)
        {
            var name = graph.UniqueName($"{(node.Name.Length > 0 ? node.Name : node.Outputs[0].Name)}/nchwc");
            var created = new Node(domain, op, inputs, [name], attributes, name);
            // A blocked result's dims are known from the node it replaces, also where its own rule
            // cannot tell (a Reshape to a data-dependent target): recorded on the value, they fill
            // what inference leaves open.
            if (dims is not null) created.Outputs[0].Shape = new Shape(dims);
            return ctx.Insert(node, created);
        }

        if (node is { Domain: NchwcSupport.Domain, OpType: "ReorderInput" } && node.Attributes.GetInt("channels_last", 0) == 0
            && B(node.Input(0)) is { } source)
            return (null, source);
        if (!node.IsOnnxDomain || B(node.Input(0)) is null && B(node.Input(1)) is null) return null;
        var x = node.Input(0)!;
        switch (node.OpType)
        {
            case "GlobalAveragePool":
                return (null, Add(NchwcSupport.Domain, "GlobalAveragePool", [B(x)]));
            // Metadata and order-free reductions read the blocked form as well (same dims, same elements).
            case "Shape" or "Size" when B(x) is { } measured:
                return (null, Add("", node.OpType, [measured], node.Attributes.ToArray()));
            case "ReduceMin" or "ReduceMax" or "ReduceSum" when node.Inputs.Count == 1 && node.Attributes["axes"] is null
                && node.Attributes.GetInt("keepdims", 1) == 0 && B(x) is { } reduced:
                return (null, Add("", node.OpType, [reduced], node.Attributes.ToArray()));
        }

        // Ops with a blocked 4-D result: its dims are the inferred ones, or for a Reshape to a
        // data-dependent target (GradientContext.After) and what follows it, the blocked input's.
        var dims = info.GetShape(node.Outputs[0])?.TryGetSizes()
            ?? (node.OpType == "Reshape" || Unary.Contains(node.OpType) || Binary.Contains(node.OpType)
                ? node.Inputs.Where(v => B(v) is not null).Select(v => Dims(ctx, v!, blocked)).FirstOrDefault(d => d is not null) : null);
        if (dims is not [_, var channels, _, _]) return null;
        (Value?, Value?) Blocked(string domain, string op, Value?[] inputs, params Attribute[] attributes) =>
            (Insert(domain, op, inputs, attributes, dims), null);

        if (node.OpType == "Slice" && node.Inputs.Count == 4 && node.Input(3)?.ConstValue?.ToInt64Array() is [0] && B(x) is { } sliced)
            return Blocked("", "Slice", [sliced, node.Input(1), node.Input(2), node.Input(3)]); // whole images: contiguous in both layouts
        if (node.OpType == "Reshape" && B(x) is { } reshaped && SameShapeTarget(node, info, dims))
            return Blocked("", "Reshape", [reshaped, node.Input(1)]);
        if (Unary.Contains(node.OpType) && B(x) is { } operand)
            return Blocked("", node.OpType, [operand], node.Attributes.ToArray());
        if (Binary.Contains(node.OpType) && node.Inputs.Count == 2)
        {
            var (a, b) = (x, node.Input(1)!);
            if (SameDims(ctx, a, dims, blocked) && SameDims(ctx, b, dims, blocked))
            {
                // Both full tensors. One still NCHW (a gradient sum, the first op after an NCHW-only
                // node): reorder that operand rather than the result, so that what follows stays blocked.
                var blockedA = B(a) ?? Reorder(ctx, a, blocked);
                var blockedB = B(b) ?? Reorder(ctx, b, blocked);
                return Blocked("", node.OpType, [blockedA, blockedB], node.Attributes.ToArray());
            }
            if (B(a) is { } sa && IsScalar(info, b)) return Blocked("", node.OpType, [sa, b]);
            if (B(b) is { } sb && IsScalar(info, a)) return Blocked("", node.OpType, [a, sb]);
            if (node.OpType == "Mul")
            {
                // x * v with v (1, C, 1, 1): the blocked depthwise Conv with v as its filter.
                var (tensor, vector) = IsChannelVector(info, b, channels) ? (a, b) : IsChannelVector(info, a, channels) ? (b, a) : (null, null);
                if (B(tensor) is { } scaled)
                    return Blocked(NchwcSupport.Domain, "Conv", [scaled, Add("", "Reshape", [vector, Int64s(graph, [channels, 1, 1, 1])])],
                        Attribute.Int("group", channels), Attribute.Ints("kernel_shape", [1, 1]));
            }
        }
        if (node.OpType == "Conv" && B(x) is { } input && BlockedChannelAffine.IsDepthwiseUnit(node, info, channels))
        {
            var inputs = new List<Value?> { input, node.Input(1) };
            if (node.Input(2) is { } bias) inputs.Add(bias);
            return Blocked(NchwcSupport.Domain, "Conv", inputs.ToArray(), Attribute.Int("group", channels), Attribute.Ints("kernel_shape", [1, 1]));
        }
        return null;
    }

    /// <summary>ReorderInput(v), remembered as v's blocked form.</summary>
    private static Value Reorder(LoweringContext ctx, Value v, Dictionary<Value, Value> blocked) =>
        blocked[v] = BlockedConvolutions.ReorderInputAfterProducer(ctx, v);

    private static bool SameDims(LoweringContext ctx, Value v, long[] dims, Dictionary<Value, Value> blocked) =>
        Dims(ctx, v, blocked) is { } d && d.SequenceEqual(dims);

    /// <summary>v's dims, or those of its blocked form where v's own are not known.</summary>
    private static long[]? Dims(LoweringContext ctx, Value v, Dictionary<Value, Value> blocked) =>
        ctx.Dims(v) ?? (blocked.TryGetValue(v, out var b) ? ctx.Dims(b) : null);

    private static bool IsScalar(ShapeInferenceResult info, Value v) =>
        info.GetShape(v)?.TryGetSizes() is { } d && d.All(x => x == 1);

    private static bool IsChannelVector(ShapeInferenceResult info, Value v, long channels) =>
        info.GetShape(v)?.TryGetSizes() is [1, var c, 1, 1] && c == channels;

    /// <summary>Reshape(x, Add(shape of x, z)) or Reshape(x, shape of x): x's own shape <paramref name="dims"/>
    /// (GradientContext.After).</summary>
    private static bool SameShapeTarget(Node reshape, ShapeInferenceResult info, long[] dims)
    {
        var target = reshape.Input(1)!;
        if (target.ConstValue?.ToInt64Array() is { } direct) return direct.SequenceEqual(dims);
        return target.Producer is { IsOnnxDomain: true, OpType: "Add" } add
            && add.Inputs.Any(v => v?.ConstValue?.ToInt64Array() is { } c && c.SequenceEqual(dims))
            && add.Inputs.All(v => v?.ConstValue is not null || info.GetShape(v!)?.TryGetSizes() is [] or [1]);
    }

    private static Value Int64s(Graph graph, long[] values) =>
        graph.AddInitializer(graph.UniqueName("nchwc/shape"), DenseTensor.FromInt64s([values.Length], values));

    /// <summary>Removes nodes whose outputs nobody reads, repeatedly (the ReorderOutputs and
    /// ReorderInputs the blocked forms replaced, and what only they read).</summary>
    private static void RemoveUnread(Graph graph)
    {
        bool removed = true;
        while (removed)
        {
            var unread = graph.Nodes.Where(n => n.Outputs.All(o => o.Uses.Count == 0 && !o.IsGraphOutput)
                && n.Domain == NchwcSupport.Domain && n.OpType is "ReorderOutput" or "ReorderInput").ToList();
            removed = unread.Count > 0;
            if (removed) graph.RemoveNodes(unread);
        }
    }
}
