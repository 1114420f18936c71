using OnnxPrune.IR;
using OnnxPrune.Pruning.Channels;

namespace OnnxPrune.Pruning.Depth;

/// <summary>
/// A residual branch that can go whole: the nodes that compute input <see cref="InputIndex"/> of the Add
/// <see cref="Sink"/> from a channel group's producers, where the Add's other input (the skip path) does not
/// depend on them. Removing every channel of the group leaves the branch nothing to compute but a constant,
/// so the branch is replaced by one (<see cref="BranchCollapse"/>): depth pruning, which removes the fixed
/// per-layer cost that narrowing a layer keeps.
/// </summary>
/// <param name="Nodes">The group's producers and every node between them and the Add, in graph order.</param>
internal sealed record ResidualBranch(Node Sink, int InputIndex, IReadOnlyList<Node> Nodes)
{
    /// <summary>The value the branch hands to the Add.</summary>
    public Value Output => Sink.Inputs[InputIndex]!;

    public string Describe() =>
        $"{Output.Name} ({Nodes.Count} node(s): {string.Join(", ", Nodes.Take(3).Select(n => n.Name.Length > 0 ? n.Name : n.OpType))}{(Nodes.Count > 3 ? ", ..." : "")}) into {(Sink.Name.Length > 0 ? Sink.Name : "Add")}";
}

/// <summary>Finds the channel groups whose complete removal collapses a residual branch.</summary>
internal static class ResidualBranches
{
    /// <summary>Per group id, the branch that removing every channel of the group collapses. Only groups whose
    /// channels are all prunable (no barrier pins one) qualify.</summary>
    public static IReadOnlyDictionary<int, ResidualBranch> Find(Model model, ChannelAnalysis analysis)
    {
        var found = new Dictionary<int, ResidualBranch>();
        foreach (var group in analysis.Groups.Where(g => g.IsPrunable && g.PrunableUnits.Count == g.ChannelCount))
            if (Of(model.Graph, group.Producers) is { } branch) found[group.Id] = branch;
        return found;
    }

    /// <summary>
    /// The branch that starts at <paramref name="producers"/>, or null. One pass in graph order follows every value
    /// computed from the producers; a node that reads one is part of the branch, except a two-input Add whose other
    /// input is computed without them (and is not a constant): that is where the branch ends. Exactly one such end,
    /// and no value of the branch a graph output, or there is no branch to remove.
    /// </summary>
    internal static ResidualBranch? Of(Graph graph, IReadOnlyList<Node> producers)
    {
        var members = producers.ToHashSet<Node>(ReferenceEqualityComparer.Instance);
        var inBranch = new HashSet<Value>(ReferenceEqualityComparer.Instance);
        var nodes = new List<Node>();
        (Node Add, int Index)? sink = null;
        foreach (var node in graph.Nodes)
        {
            bool producer = members.Contains(node);
            var reads = node.Inputs.Select((v, i) => (v, i)).Where(x => x.v is not null && inBranch.Contains(x.v)).ToList();
            if (!producer && reads.Count == 0) continue;
            // A node with a subgraph (If, Loop, Scan) may read branch values the pass cannot see.
            if (node.Attributes.Any(a => a.Kind is AttributeKind.Graph or AttributeKind.Graphs)) return null;
            if (!producer && node is { IsOnnxDomain: true, OpType: "Add" } && node.Inputs.Count == 2 && reads.Count == 1)
            {
                var other = node.Inputs[1 - reads[0].i];
                if (other is null || other.ConstValue is not null || sink is not null) return null;
                sink = (node, reads[0].i);
                continue;
            }
            nodes.Add(node);
            foreach (var o in node.Outputs)
            {
                if (o.IsGraphOutput) return null;
                inBranch.Add(o);
            }
        }
        if (sink is null || nodes.Count == 0) return null;
        // Nothing but the branch and the Add reads the branch's values: otherwise they outlive the collapse.
        var branchNodes = nodes.ToHashSet<Node>(ReferenceEqualityComparer.Instance);
        foreach (var value in inBranch)
            foreach (var use in value.Uses)
                if (!branchNodes.Contains(use.Node) && !(ReferenceEquals(use.Node, sink.Value.Add) && use.InputIndex == sink.Value.Index)) return null;
        return new ResidualBranch(sink.Value.Add, sink.Value.Index, nodes);
    }
}
