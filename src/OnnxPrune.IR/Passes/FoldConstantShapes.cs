using System.Collections.Frozen;
using OnnxPrune.IR.ShapeInference;

namespace OnnxPrune.IR.Passes;

/// <summary>
/// Replaces shape arithmetic whose result is known at compile time by initializers: the
/// Shape -> Gather -> Unsqueeze -> Concat chain an exporter writes in front of a Reshape becomes
/// one int64 initializer, so later passes (and the channel-removal rewrite) see a plain target.
/// <para>What folds: nodes of the default domain whose op is in <see cref="FoldableOps"/>, whose
/// outputs <see cref="ShapeInferencer"/> computed (tensors of at most
/// <see cref="MaxElements"/> elements), that depend on no initializer a graph input may override,
/// and none of whose outputs is a graph output (outputs keep their identity). Integer and bool
/// results always fold; floating results fold only as intermediates read solely by other folded
/// nodes (Shape -> Cast -> Mul by a scale -> Floor -> Cast), so no float computation on weights
/// or activations is ever baked in. Constant nodes, initializers and shape queries that fed only
/// folded nodes are removed with them. Subgraphs are not entered.</para>
/// <para>Values keep their names: the initializer that replaces an output takes the output's name.
/// Cost: one shape-inference run plus O(nodes + edges).</para>
/// </summary>
public sealed class FoldConstantShapes : IPass
{
    /// <summary>Operators that make up shape arithmetic.</summary>
    public static readonly FrozenSet<string> FoldableOps = new[]
    {
        "Shape", "Size", "Gather", "Slice", "Concat", "Split", "Unsqueeze", "Squeeze", "Reshape", "Flatten",
        "Transpose", "Expand", "Tile", "Identity", "Cast", "CastLike", "ConstantOfShape", "Range",
        "Add", "Sub", "Mul", "Div", "Mod", "Pow", "Neg", "Abs", "Sign", "Floor", "Ceil", "Round", "Sqrt",
        "Reciprocal", "Relu", "Clip", "Max", "Min", "Sum",
        "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor", "Not", "Where",
        "ReduceProd", "ReduceSum", "ReduceMin", "ReduceMax", "ReduceMean",
    }.ToFrozenSet(StringComparer.Ordinal);

    public FoldConstantShapes(int maxElements = 4096) => MaxElements = maxElements;

    /// <summary>Largest folded tensor, in elements.</summary>
    public int MaxElements { get; }

    public string Name => "fold-constant-shapes";

    public bool Run(Model model)
    {
        var graph = model.Graph;
        var inference = new ShapeInferencer(new ShapeInferenceOptions { WriteToGraph = false, MaxConstantElements = MaxElements });
        var result = inference.Run(model);

        var folded = SelectFoldable(graph, result);
        if (folded.Count == 0) return false;

        // Outputs read outside the folded set become initializers under their own names.
        foreach (var node in graph.Nodes)
        {
            if (!folded.Contains(node)) continue;
            foreach (var output in node.Outputs)
            {
                if (output.Name.Length == 0 || output.Uses.All(u => folded.Contains(u.Node))) continue;
                if (!result.TryGetConstant(output, out var tensor)) throw new InvalidOperationException($"'{output.Name}' was selected for folding but has no value");
                var name = output.Name;
                output.Name = graph.UniqueName(name + "__folded");
                var init = graph.AddInitializer(name, tensor);
                output.ReplaceAllUsesWith(init);
            }
        }

        var feeders = folded.SelectMany(n => n.Inputs).Where(v => v is not null).Select(v => v!).Distinct().ToList();
        graph.RemoveNodes(folded);
        RemoveOrphans(graph, feeders);
        return true;
    }

    /// <summary>The nodes to fold. Walks the graph backwards so that, for a floating-point
    /// result, every reader has been decided before the producer.</summary>
    private HashSet<Node> SelectFoldable(Graph graph, ShapeInferenceResult result)
    {
        var folded = new HashSet<Node>(ReferenceEqualityComparer.Instance);
        for (int i = graph.Nodes.Count - 1; i >= 0; i--)
        {
            var node = graph.Nodes[i];
            if (!node.IsOnnxDomain || !FoldableOps.Contains(node.OpType)) continue;
            if (node.Attributes.Any(a => a.Kind is AttributeKind.Graph or AttributeKind.Graphs)) continue;
            bool ok = true;
            foreach (var output in node.Outputs)
            {
                if (output.Name.Length == 0) continue;
                if (output.IsGraphOutput || !result.IsFoldable(output) || !result.TryGetConstant(output, out var t))
                {
                    ok = false;
                    break;
                }
                if (t.ElementCount > MaxElements || !(IsIntegral(t.DataType) || (output.Uses.Count > 0 && output.Uses.All(u => folded.Contains(u.Node)))))
                {
                    ok = false;
                    break;
                }
            }
            if (ok) folded.Add(node);
        }
        return folded;
    }

    private static bool IsIntegral(DataType t) => t is DataType.Int64 or DataType.Int32 or DataType.Int16 or DataType.Int8
        or DataType.UInt64 or DataType.UInt32 or DataType.UInt16 or DataType.UInt8 or DataType.Bool;

    /// <summary>Removes what only the folded nodes read: Constant nodes, shape queries and other
    /// shape arithmetic left without readers, and initializers (not graph inputs) left unread.
    /// O(removed nodes + their edges) plus one sweep of the node list.</summary>
    private static void RemoveOrphans(Graph graph, List<Value> candidates)
    {
        var dead = new HashSet<Node>(ReferenceEqualityComparer.Instance);
        var initializers = new List<Value>();
        bool Unread(Value v) => !v.IsGraphOutput && v.Uses.All(u => dead.Contains(u.Node));
        var work = new Stack<Value>(candidates);
        while (work.Count > 0)
        {
            var v = work.Pop();
            if (v.Producer is { } p)
            {
                if (dead.Contains(p) || !ReferenceEquals(p.Graph, graph) || !p.IsOnnxDomain) continue;
                if (p.OpType != "Constant" && !FoldableOps.Contains(p.OpType)) continue;
                if (!p.Outputs.All(Unread)) continue;
                dead.Add(p);
                foreach (var x in p.Inputs) if (x is not null) work.Push(x);
            }
            else if (v.IsInitializer && !v.IsGraphInput && ReferenceEquals(v.Graph, graph))
            {
                initializers.Add(v);
            }
        }
        graph.RemoveNodes(dead);
        foreach (var v in initializers.Distinct())
            if (v.Uses.Count == 0 && !v.IsGraphOutput && v.IsInitializer) graph.RemoveInitializer(v);
    }
}
