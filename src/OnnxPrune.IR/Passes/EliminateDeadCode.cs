namespace OnnxPrune.IR.Passes;

/// <summary>
/// Removes nodes none of whose outputs is read (by a node, a subgraph or a graph output), and
/// initializers nothing reads. Works in subgraphs too. One reverse sweep per graph suffices
/// because removal only ever frees producers that come earlier. O(nodes + edges).
/// </summary>
public sealed class EliminateDeadCode : IPass
{
    public string Name => "eliminate-dead-code";

    public bool Run(Model model) => Sweep(model.Graph);

    private static bool Sweep(Graph graph)
    {
        bool changed = false;
        foreach (var node in graph.Nodes)
            foreach (var a in node.Attributes)
                foreach (var sub in a.Subgraphs())
                    changed |= Sweep(sub);

        var dead = new HashSet<Node>(ReferenceEqualityComparer.Instance);
        for (int i = graph.Nodes.Count - 1; i >= 0; i--)
        {
            var node = graph.Nodes[i];
            if (node.Outputs.All(o => !o.IsGraphOutput && o.Uses.All(u => dead.Contains(u.Node))))
                dead.Add(node);
        }
        if (dead.Count > 0)
        {
            graph.RemoveNodes(dead);
            changed = true;
        }

        foreach (var init in graph.InitializersInOrder().ToList())
        {
            if (init.Uses.Count == 0 && !init.IsGraphOutput && !graph.Inputs.Contains(init))
            {
                graph.RemoveInitializer(init);
                changed = true;
            }
        }
        return changed;
    }
}
