using OnnxPrune.IR;
using OnnxPrune.IR.ShapeInference;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Autodiff;

/// <summary>
/// Rewrites the nodes of a model older than opset 13 into their opset-13+ form, so the training
/// graph can use one opset (17): attributes that became inputs (Squeeze/Unsqueeze/ReduceSum axes,
/// Split sizes, Clip bounds, Pad pads and value, Slice starts/ends/axes, TopK k, Dropout ratio),
/// Softmax's axis semantics, Upsample and Resize-10 as Resize-11, and attributes that were
/// removed (BatchNormalization spatial, Gemm/Add broadcast). Covers the operators CNN exporters
/// emit; a node it cannot convert faithfully is reported, never silently changed.
/// </summary>
internal static class OpsetUpgrade
{
    public const long MinimumSupported = 7;

    public static void Run(GradientContext ctx, long fromOpset)
    {
        if (fromOpset >= 13) return;
        if (fromOpset < MinimumSupported)
            throw new GradientException($"the model uses opset {fromOpset}; training graphs support opset {MinimumSupported} or newer");
        var graph = ctx.Graph;
        var info = new ShapeInferencer(new ShapeInferenceOptions { WriteToGraph = false }).Run(graph, fromOpset);
        ctx.Scope = "upgrade";
        foreach (var node in graph.Nodes.ToList())
        {
            if (!node.IsOnnxDomain) continue;
            if (node.Attributes.Any(a => a.Kind is AttributeKind.Graph or AttributeKind.Graphs))
                throw new GradientException($"{node.OpType} '{node.Name}' has subgraphs; models with control flow must be opset 13 or newer to be trained");
            Upgrade(ctx, info, node, fromOpset);
        }
    }

    private static void Upgrade(GradientContext ctx, ShapeInferenceResult info, Node node, long opset)
    {
        var a = node.Attributes;
        DataType TypeOf(Value v) => info.GetElementType(v) is var t && t != DataType.Undefined ? t : DataType.Float;
        switch (node.OpType)
        {
            case "Squeeze" or "Unsqueeze":
                MoveIntsToInput(ctx, node, "axes", 1);
                break;
            case "ReduceSum":
                MoveIntsToInput(ctx, node, "axes", 1);
                break;
            case "Split":
                MoveIntsToInput(ctx, node, "split", 1);
                break;
            case "TopK" when opset < 10:
                if (a.GetInt("k", -1) is var k && k >= 0)
                {
                    a.Remove("k");
                    AppendInput(node, 1, ctx.Int64s(k));
                }
                break;
            case "Softmax" or "LogSoftmax" or "Hardmax":
                UpgradeSoftmax(ctx, info, node);
                break;
            case "Clip" when opset < 11:
            {
                var type = TypeOf(node.Inputs[0]!);
                var min = a.GetFloat("min", float.NaN);
                var max = a.GetFloat("max", float.NaN);
                a.Remove("min");
                a.Remove("max");
                var inputs = new List<Value?> { node.Inputs[0] };
                inputs.Add(float.IsNaN(min) ? null : ctx.Scalar(min, type));
                inputs.Add(float.IsNaN(max) ? null : ctx.Scalar(max, type));
                while (inputs[^1] is null) inputs.RemoveAt(inputs.Count - 1);
                node.SetInputs(inputs);
                break;
            }
            case "Pad" when opset < 11:
            {
                var pads = a.GetInts("pads") ?? a.GetInts("paddings") ?? throw new GradientException($"Pad '{node.Name}' has no pads");
                var value = a.GetFloat("value", 0f);
                a.Remove("pads");
                a.Remove("paddings");
                a.Remove("value");
                var inputs = new List<Value?> { node.Inputs[0], ctx.Int64s(pads) };
                if (value != 0) inputs.Add(ctx.Scalar(value, TypeOf(node.Inputs[0]!)));
                node.SetInputs(inputs);
                break;
            }
            case "Slice" when opset < 10:
            {
                var starts = a.GetInts("starts") ?? throw new GradientException($"Slice '{node.Name}' has no starts");
                var ends = a.GetInts("ends") ?? throw new GradientException($"Slice '{node.Name}' has no ends");
                var axes = a.GetInts("axes");
                a.Remove("starts");
                a.Remove("ends");
                a.Remove("axes");
                var inputs = new List<Value?> { node.Inputs[0], ctx.Int64s(starts), ctx.Int64s(ends) };
                if (axes is not null) inputs.Add(ctx.Int64s(axes));
                node.SetInputs(inputs);
                break;
            }
            case "Dropout":
                // Inference-mode Dropout is the identity in every version; drop the old attributes.
                a.Remove("ratio");
                a.Remove("is_test");
                break;
            case "BatchNormalization":
                if (a.GetInt("spatial", 1) != 1)
                    throw new GradientException($"BatchNormalization '{node.Name}' has spatial=0, which later opsets removed");
                a.Remove("spatial");
                a.Remove("is_test");
                a.Remove("consumed_inputs");
                break;
            case "Gemm" or "Add" or "Sub" or "Mul" or "Div" when opset < 7 || a.Contains("broadcast"):
                if (a.Contains("axis"))
                    throw new GradientException($"{node.OpType} '{node.Name}' broadcasts along an explicit axis (opset < 7), which later opsets removed");
                a.Remove("broadcast");
                break;
            case "Upsample":
            {
                var mode = a.GetString("mode", "nearest");
                Value scales = node.Input(1) ?? ctx.Constant(DenseTensor.FromFloats(new long[] { a.GetFloats("scales")!.Length }, a.GetFloats("scales")!), "scales");
                node.OpType = "Resize";
                foreach (var name in a.Select(x => x.Name).ToList()) a.Remove(name);
                SetResizeAttributes(a, mode);
                node.SetInputs(new[] { node.Inputs[0], null, scales });
                break;
            }
            case "Resize" when opset < 11:
                SetResizeAttributes(a, a.GetString("mode", "nearest"));
                node.SetInputs(new[] { node.Inputs[0], null, node.Inputs[1] });
                break;
        }
    }

    /// <summary>Resize-10 and Upsample sample at x_out / scale and round down (nearest) or
    /// interpolate linearly: Resize-11's "asymmetric" transformation.</summary>
    private static void SetResizeAttributes(AttributeMap a, string mode)
    {
        a.Set(Attribute.String("mode", mode == "bilinear" ? "linear" : mode));
        a.Set(Attribute.String("coordinate_transformation_mode", "asymmetric"));
        if (mode == "nearest") a.Set(Attribute.String("nearest_mode", "floor"));
    }

    private static void MoveIntsToInput(GradientContext ctx, Node node, string attribute, int index)
    {
        if (node.Attributes.GetInts(attribute) is not { } values) return;
        node.Attributes.Remove(attribute);
        AppendInput(node, index, ctx.Int64s(values));
    }

    private static void AppendInput(Node node, int index, Value value)
    {
        var inputs = node.Inputs.ToList();
        while (inputs.Count < index) inputs.Add(null);
        if (inputs.Count == index) inputs.Add(value); else inputs[index] = value;
        node.SetInputs(inputs);
    }

    /// <summary>Before opset 13 Softmax flattened its input to 2-D at <c>axis</c> (default 1)
    /// and normalised over everything after it. That is opset 13's Softmax along the last axis
    /// when axis is the last axis; otherwise Flatten, Softmax(axis=1), Reshape back.</summary>
    private static void UpgradeSoftmax(GradientContext ctx, ShapeInferenceResult info, Node node)
    {
        var x = node.Inputs[0]!;
        var rank = info.GetShape(x)?.Rank
            ?? throw new GradientException($"{node.OpType} '{node.Name}' (opset < 13) needs its input's rank to be upgraded");
        long axis = GradientContext.NormalizeAxis(node.Attributes.GetInt("axis", 1), rank);
        if (axis == rank - 1)
        {
            node.Attributes.Set(Attribute.Int("axis", axis));
            return;
        }
        var graph = node.Graph!;
        var flat = graph.InsertNodeBefore(node, new Node("", "Flatten", [x], [ctx.FreshName($"{node.Name}/flat")], [Attribute.Int("axis", axis)], ctx.FreshName($"{node.Name}/flatten")));
        var shape = graph.InsertNodeBefore(node, new Node("", "Shape", [x], [ctx.FreshName($"{node.Name}/shape")], name: ctx.FreshName($"{node.Name}/shape")));
        node.SetInput(0, flat.Outputs[0]);
        node.Attributes.Set(Attribute.Int("axis", 1));
        var output = node.Outputs[0];
        var reshape = graph.InsertNodeAfter(node, new Node("", "Reshape", [output, shape.Outputs[0]], [ctx.FreshName($"{node.Name}/restored")], name: ctx.FreshName($"{node.Name}/reshape")));
        foreach (var use in output.UsesSnapshot())
            if (!ReferenceEquals(use.Node, reshape)) use.Node.SetInput(use.InputIndex, reshape.Outputs[0]);
        var graphOutputs = graph.Outputs.ToList();
        for (int i = 0; i < graphOutputs.Count; i++)
        {
            if (!ReferenceEquals(graphOutputs[i], output)) continue;
            // Keep the model's output name on the restored value.
            var name = output.Name;
            output.Name = ctx.FreshName($"{name}/2d");
            reshape.Outputs[0].Name = name;
            graph.SetOutput(i, reshape.Outputs[0]);
        }
    }
}
