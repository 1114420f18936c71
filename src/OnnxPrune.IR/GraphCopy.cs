namespace OnnxPrune.IR;

/// <summary>Deep copies of graphs for <see cref="Model.Clone"/>.</summary>
internal static class GraphCopy
{
    /// <param name="map">Original value to copy, for this graph and the graphs enclosing it, so a
    /// subgraph's reads of outer values land on the copies.</param>
    public static Graph Of(Graph graph, Dictionary<Value, Value> map)
    {
        var copy = new Graph(graph.Name) { Origin = graph.Origin };
        foreach (var v in graph.InitializersInOrder()) copy.AddInitializer(Detached(v, map));
        foreach (var v in graph.Inputs) copy.AddInput(Detached(v, map));
        foreach (var node in graph.Nodes)
        {
            var subgraphs = new List<Graph>();
            var attributes = node.Attributes.Select(a => a.Payload switch
            {
                Graph g => a.WithPayload(Remember(Of(g, map), subgraphs)),
                Graph[] gs => a.WithPayload(gs.Select(g => Remember(Of(g, map), subgraphs)).ToArray()),
                _ => a,
            }).ToList();
            var inputs = node.Inputs.Select(v => v is null ? null : Detached(v, map));
            var clone = new Node(node.Domain, node.OpType, inputs, node.Outputs.Select(o => o.Name), attributes, node.Name) { Origin = node.Origin };
            foreach (var sub in subgraphs) sub.ParentNode = clone;
            for (int i = 0; i < node.Outputs.Count; i++)
            {
                var (original, output) = (node.Outputs[i], clone.Outputs[i]);
                output.ElementType = original.ElementType;
                output.Shape = original.Shape;
                output.ConstValue = original.ConstValue;
                output.Origin = original.Origin;
                map[original] = output;
            }
            copy.AddNode(clone);
        }
        foreach (var v in graph.Outputs) copy.AddOutput(map.TryGetValue(v, out var o) ? o : Detached(v, map));
        return copy;
    }

    private static Graph Remember(Graph graph, List<Graph> subgraphs)
    {
        subgraphs.Add(graph);
        return graph;
    }

    /// <summary>The copy of a graph input, initializer or outer value (made on first sight; the
    /// same object when a value is both an input and an initializer).</summary>
    private static Value Detached(Value v, Dictionary<Value, Value> map)
    {
        if (map.TryGetValue(v, out var known)) return known;
        return map[v] = new Value(v.Name, v.ElementType, v.Shape) { ConstValue = v.ConstValue, Origin = v.Origin };
    }
}
