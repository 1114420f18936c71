using OnnxPrune.IR;

namespace OnnxPrune.Pruning.Cost;

/// <summary>
/// Exact MAC and parameter counts from shapes (run shape inference first). MACs are counted for
/// Conv, ConvTranspose, Gemm and MatMul, the ops that dominate CNN compute; every other op counts
/// 0 and is listed in <see cref="ModelCost.UncountedOpTypes"/>. Parameters are the elements of
/// floating-point initializers and of floating-point Constant nodes (paddle2onnx stores weights
/// as Constants), each counted once however many nodes read it.
/// </summary>
internal static class CostModel
{
    public static ModelCost Measure(Graph graph)
    {
        var costs = new List<NodeCost>(graph.Nodes.Count);
        var counted = new HashSet<Value>(ReferenceEqualityComparer.Instance);
        long totalParams = 0, totalMacs = 0;
        int unknown = 0;
        foreach (var node in graph.Nodes)
        {
            long p = 0;
            foreach (var v in ParameterSources(node))
                if (counted.Add(v)) p += ParameterCount(v);
            var (macs, isCounted) = MacsChecked(node);
            if (isCounted && macs is null) unknown++;
            try { totalMacs = checked(totalMacs + (macs ?? 0)); totalParams = checked(totalParams + p); }
            catch (OverflowException) { throw new CostOverflowException($"the model's MAC or parameter count overflows 64 bits at node '{node.Name}' ({node.OpType}); its dims are wrong"); }
            costs.Add(new NodeCost(node, isCounted ? macs : 0, p, isCounted));
        }
        // Initializers read only by graph outputs or subgraphs still hold parameters.
        foreach (var init in graph.InitializersInOrder())
            if (counted.Add(init)) totalParams = checked(totalParams + ParameterCount(init));
        return new ModelCost(costs, totalParams, totalMacs, unknown);
    }

    private static IEnumerable<Value> ParameterSources(Node node)
    {
        foreach (var v in node.Inputs)
            if (v is { ConstValue: not null } && v.Producer is null) yield return v;
        if (node.OpType == "Constant" && node.IsOnnxDomain) yield return node.Outputs[0];
    }

    private static long ParameterCount(Value v)
    {
        var tensor = v.ConstValue ?? (v.Producer?.Attributes["value"] is { Kind: AttributeKind.Tensor } a ? a.AsTensor() : null);
        return tensor is not null && DataTypes.IsFloatingPoint(tensor.DataType) ? tensor.ElementCount : 0;
    }

    private static (long? Macs, bool Counted) MacsChecked(Node node)
    {
        try { return Macs(node); }
        catch (OverflowException)
        {
            throw new CostOverflowException($"node '{node.Name}' ({node.OpType}) has shapes so large that its MAC count overflows 64 bits " +
                $"(output {node.Outputs[0].Shape}); the model's dims are wrong");
        }
    }

    /// <returns>(MACs or null when shapes are unknown, whether the op is counted at all).</returns>
    public static (long? Macs, bool Counted) Macs(Node node)
    {
        if (!node.IsOnnxDomain) return (0, false);
        switch (node.OpType)
        {
            case "Conv":
            {
                // Each output element takes (C_in / group) * kernel MACs.
                var output = Sizes(node.Outputs[0]);
                var weight = Sizes(node.Input(1));
                if (output is null || weight is null) return (null, true);
                return (checked(Product(output) * Product(weight.AsSpan(1))), true);
            }
            case "ConvTranspose":
            {
                // Each input element is scattered through (C_out / group) * kernel weights.
                var input = Sizes(node.Input(0));
                var weight = Sizes(node.Input(1));
                if (input is null || weight is null) return (null, true);
                return (checked(Product(input) * Product(weight.AsSpan(1))), true);
            }
            case "Gemm":
            {
                var a = Sizes(node.Input(0));
                var output = Sizes(node.Outputs[0]);
                if (a is null || output is null || a.Length != 2) return (null, true);
                long k = node.Attributes.GetInt("transA", 0) != 0 ? a[0] : a[1];
                return (checked(Product(output) * k), true);
            }
            case "MatMul":
            {
                var a = Sizes(node.Input(0));
                var output = Sizes(node.Outputs[0]);
                if (a is null || output is null || a.Length == 0) return (null, true);
                return (checked(Product(output) * a[^1]), true);
            }
            default:
                return (0, false);
        }
    }

    /// <summary>Static sizes of a value; a named (symbolic) dim such as the batch counts as 1, so
    /// MACs are per sample. Unknown dims make the sizes unknown.</summary>
    private static long[]? Sizes(Value? v)
    {
        if (v?.Shape is not { } shape) return null;
        var sizes = new long[shape.Rank];
        for (int i = 0; i < sizes.Length; i++)
        {
            if (shape[i].Value is { } d) sizes[i] = d;
            else if (shape[i].Symbol is not null && i == 0) sizes[i] = 1;
            else return null;
        }
        return sizes;
    }

    private static long Product(ReadOnlySpan<long> dims)
    {
        long p = 1;
        foreach (var d in dims) p = checked(p * d);
        return p;
    }
}

/// <summary>A node's shapes are too large to count; the model's dims are wrong.</summary>
internal sealed class CostOverflowException(string message) : Exception(message);
