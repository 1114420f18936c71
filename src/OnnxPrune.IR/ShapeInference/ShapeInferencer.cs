namespace OnnxPrune.IR.ShapeInference;

/// <summary>How <see cref="ShapeInferencer"/> treats what the model already records.</summary>
public sealed record ShapeInferenceOptions
{
    /// <summary>Write inferred element types and shapes onto the graph's values. When false the
    /// graph is left untouched and the answers are only in the <see cref="ShapeInferenceResult"/>.</summary>
    public bool WriteToGraph { get; init; } = true;

    /// <summary>
    /// Fill dims a rule could not determine from the shape already recorded on the value (the
    /// model's value_info), when both have the same rank; inferred dims always win over recorded
    /// ones. Turn off after a rewrite that made recorded shapes stale (for example after removing
    /// channels), so that a stale dim is never mistaken for an inferred one.
    /// </summary>
    public bool KeepRecordedShapes { get; init; } = true;

    /// <summary>Largest tensor (in elements) decoded from initializers or computed as a constant.</summary>
    public int MaxConstantElements { get; init; } = 4096;

    /// <summary>Opset assumed for a model that does not import the default domain.</summary>
    public long FallbackOpset { get; init; } = 21;

    /// <summary>The channel block of ONNX Runtime's blocked-layout kernels, for the
    /// com.microsoft.nchwc ops (ReorderInput pads channels up to it); 0 when not known.</summary>
    public int NchwcBlock { get; init; }
}

/// <summary>
/// Infers the element type and shape of every node output of a graph from its inputs, initializers
/// and attributes, one node at a time in graph order, with one rule per operator (see
/// <see cref="ShapeRules"/>; ONNX Runtime's com.microsoft.nchwc ops: <see cref="NchwcRules"/>). Along the way it evaluates small integer computations on constants
/// and shapes, so that a Reshape target built by Shape -> Gather -> Unsqueeze -> Concat resolves.
/// <para>Never throws on a model: an operator without a rule (other domains, If/Loop/Scan, ops
/// added after this was written) keeps the shape recorded on its outputs; a rule that meets
/// attributes it cannot make sense of leaves its outputs unknown and the node is listed in
/// <see cref="ShapeInferenceResult.Problems"/>. Subgraphs are not entered.</para>
/// <para>Holds no state between runs. Cost: O(nodes + elements of the constants it computes).</para>
/// </summary>
public sealed class ShapeInferencer
{
    private readonly ShapeInferenceOptions _options;
    private readonly IReadOnlyDictionary<string, Rule> _nchwcRules;

    public ShapeInferencer(ShapeInferenceOptions? options = null)
    {
        _options = options ?? new ShapeInferenceOptions();
        _nchwcRules = NchwcRules.Table(_options.NchwcBlock);
    }

    /// <summary>Operator types (default domain) that have a rule.</summary>
    public static IReadOnlyCollection<string> SupportedOps => ShapeRules.Table.Keys;

    /// <summary>Infers the model's main graph for the model's default-domain opset.</summary>
    public ShapeInferenceResult Run(Model model)
    {
        var opset = model.DefaultOpset;
        return Run(model.Graph, opset > 0 ? opset : _options.FallbackOpset);
    }

    /// <summary>Infers <paramref name="graph"/> as of default-domain opset <paramref name="opset"/>.</summary>
    public ShapeInferenceResult Run(Graph graph, long opset)
    {
        var result = new ShapeInferenceResult(opset, _options.MaxConstantElements);
        foreach (var node in graph.Nodes) Infer(result, node);
        return result;
    }

    /// <summary>
    /// Adds <paramref name="nodes"/>, new since <paramref name="result"/> was computed, to it (in
    /// the order given, which must put producers first): a rewrite that inserts nodes keeps its
    /// shape facts current this way instead of recording shapes on the new values by hand.
    /// </summary>
    public void Extend(ShapeInferenceResult result, IEnumerable<Node> nodes)
    {
        foreach (var node in nodes) Infer(result, node);
    }

    private void Infer(ShapeInferenceResult result, Node node)
    {
        if (HasSubgraph(node) || RuleFor(node) is not { } rule)
        {
            result.AddSkipped(node);
            return;
        }
        var ctx = new InferenceContext(result, node, result.Opset);
        try
        {
            rule(ctx);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A malformed node (wrong attribute kinds, inconsistent sizes, overflowing dims, ...):
            // leave its outputs as recorded and say so. Rules check what a valid model promises,
            // so this is the net under models that break those promises.
            result.AddProblem(node, $"{e.GetType().Name}: {e.Message}");
            return;
        }
        ctx.Commit(result, Merge, _options.WriteToGraph);
    }

    private Rule? RuleFor(Node node) =>
        node.IsOnnxDomain ? ShapeRules.Table.GetValueOrDefault(node.OpType)
        : node.Domain == NchwcRules.Domain ? _nchwcRules.GetValueOrDefault(node.OpType)
        : null;

    private (DataType, Shape?) Merge(Value value, DataType inferredType, Shape? inferredShape)
    {
        var type = inferredType != DataType.Undefined ? inferredType : value.ElementType;
        var recorded = value.Shape;
        if (inferredShape is null) return (type, _options.KeepRecordedShapes ? recorded : null);
        if (!_options.KeepRecordedShapes || recorded is null || recorded.Rank != inferredShape.Rank || recorded.Equals(inferredShape))
            return (type, inferredShape);
        var dims = new Dim[inferredShape.Rank];
        for (int i = 0; i < dims.Length; i++) dims[i] = ShapeMath.Merge(inferredShape[i], recorded[i]);
        return (type, new Shape(dims));
    }

    private static bool HasSubgraph(Node node)
    {
        foreach (var a in node.Attributes)
            if (a.Kind is AttributeKind.Graph or AttributeKind.Graphs) return true;
        return false;
    }
}
