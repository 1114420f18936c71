namespace OnnxPrune.IR;

/// <summary>
/// Checks the IR's invariants: every node input is defined before it is read (in this graph, an
/// enclosing graph, or as an input/initializer), value names are unique in their scope (SSA),
/// use lists match the nodes' inputs exactly, outputs know their producer, and graph outputs are
/// defined. Subgraphs are checked too. O(nodes + edges).
/// </summary>
public static class Verifier
{
    /// <returns>One line per problem; empty when the graph is well formed.</returns>
    public static IReadOnlyList<string> Check(Graph graph)
    {
        var problems = new List<string>();
        CheckGraph(graph, new Dictionary<string, Value>(StringComparer.Ordinal), problems);
        return problems;
    }

    /// <summary>Throws <see cref="GraphVerificationException"/> listing every problem.</summary>
    public static void Verify(Graph graph)
    {
        var problems = Check(graph);
        if (problems.Count > 0) throw new GraphVerificationException(problems);
    }

    private static void CheckGraph(Graph graph, Dictionary<string, Value> outerScope, List<string> problems)
    {
        // Names visible here: the enclosing scopes, then this graph's definitions in order.
        var scope = new Dictionary<string, Value>(outerScope, StringComparer.Ordinal);
        var defined = new HashSet<Value>(ReferenceEqualityComparer.Instance);
        foreach (var v in outerScope.Values) defined.Add(v);

        void Define(Value v, string what)
        {
            if (v.Name.Length == 0) return; // omitted optional output
            if (scope.TryGetValue(v.Name, out var other) && !ReferenceEquals(other, v))
                problems.Add($"{what} '{v.Name}' reuses a name already defined in this scope (SSA)");
            scope[v.Name] = v;
            defined.Add(v);
        }

        foreach (var v in graph.Inputs) Define(v, "graph input");
        foreach (var v in graph.InitializersInOrder())
        {
            if (v.ConstValue is null) problems.Add($"initializer '{v.Name}' has no data");
            if (!defined.Contains(v)) Define(v, "initializer");
        }

        var nodesSeen = new HashSet<Node>(ReferenceEqualityComparer.Instance);
        // A value read thousands of times (a damaged file repeating one input 70,000 times, found
        // by fuzzing) made the linear search of its use list quadratic: look such lists up in a set.
        var useSets = new Dictionary<Value, HashSet<Use>>(ReferenceEqualityComparer.Instance);
        bool Listed(Value v, Use use)
        {
            if (v.Uses.Count < 32) return v.Uses.Contains(use);
            if (!useSets.TryGetValue(v, out var set)) useSets[v] = set = new HashSet<Use>(v.Uses);
            return set.Contains(use);
        }

        foreach (var node in graph.Nodes)
        {
            var label = $"node '{node.Name}' ({node.OpType})";
            if (!ReferenceEquals(node.Graph, graph)) problems.Add($"{label} is listed in graph '{graph.Name}' but belongs to another graph");
            if (!nodesSeen.Add(node)) problems.Add($"{label} is listed twice");
            for (int i = 0; i < node.Inputs.Count; i++)
            {
                var input = node.Inputs[i];
                if (input is null) continue;
                if (!defined.Contains(input))
                {
                    problems.Add(input.Producer is { } p && ReferenceEquals(p.Graph, graph)
                        ? $"{label} reads '{input.Name}' before node '{p.Name}' ({p.OpType}) computes it (not in topological order)"
                        : $"{label} reads '{input.Name}', which is not defined in this scope");
                }
                if (!Listed(input, new Use(node, i)))
                    problems.Add($"{label} reads '{input.Name}' as input {i} but the value's use list does not say so");
            }
            foreach (var attribute in node.Attributes)
                foreach (var sub in attribute.Subgraphs())
                {
                    if (!ReferenceEquals(sub.ParentNode, node))
                        problems.Add($"subgraph '{sub.Name}' of {label} does not name that node as its parent");
                    CheckGraph(sub, scope, problems);
                }
            for (int k = 0; k < node.Outputs.Count; k++)
            {
                var o = node.Outputs[k];
                if (!ReferenceEquals(o.Producer, node) || o.OutputIndex != k)
                    problems.Add($"output {k} '{o.Name}' of {label} does not name the node as its producer");
                Define(o, $"output of {label}");
            }
        }

        // Use lists must point at live nodes that really read the value there.
        IEnumerable<Value> Owned() => graph.Inputs.Concat(graph.InitializersInOrder()).Concat(graph.Nodes.SelectMany(n => n.Outputs));
        foreach (var v in Owned())
            foreach (var use in v.Uses)
            {
                if (use.Node.Graph is null)
                    problems.Add($"'{v.Name}' lists a use by node '{use.Node.Name}' ({use.Node.OpType}), which is no longer in any graph");
                else if (use.InputIndex >= use.Node.Inputs.Count || !ReferenceEquals(use.Node.Inputs[use.InputIndex], v))
                    problems.Add($"'{v.Name}' lists a use as input {use.InputIndex} of node '{use.Node.Name}' ({use.Node.OpType}), which reads something else there");
            }

        foreach (var o in graph.Outputs)
            if (!defined.Contains(o)) problems.Add($"graph output '{o.Name}' is not defined in graph '{graph.Name}'");
    }
}

/// <summary>The graph breaks an IR invariant; the message lists every problem found.</summary>
public sealed class GraphVerificationException(IReadOnlyList<string> problems)
    : Exception("the graph is not well formed:\n  " + string.Join("\n  ", problems))
{
    public IReadOnlyList<string> Problems { get; } = problems;
}
