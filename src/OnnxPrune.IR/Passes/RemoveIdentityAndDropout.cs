namespace OnnxPrune.IR.Passes;

/// <summary>
/// Removes Identity nodes and inference-mode Dropout nodes (whose mask output nobody reads),
/// making readers use the input directly. A graph output keeps its name: the value that takes
/// its place is renamed, or, where that is impossible (the input is a graph input, an
/// initializer or itself a graph output), the node stays.
/// </summary>
public sealed class RemoveIdentityAndDropout : IPass
{
    public string Name => "remove-identity-and-dropout";

    public bool Run(Model model) => Run(model.Graph);

    private static bool Run(Graph graph)
    {
        bool changed = false;
        foreach (var node in graph.Nodes.ToList())
        {
            foreach (var a in node.Attributes)
                foreach (var sub in a.Subgraphs())
                    changed |= Run(sub);
            if (!IsRemovable(node)) continue;
            var input = node.Inputs[0]!;
            var output = node.Outputs[0];
            if (output.IsGraphOutput)
            {
                // The reader outside sees the output's name; hand that name to the input.
                if (input.Producer is null || input.IsGraphOutput || !ReferenceEquals(input.Graph, graph)) continue;
                var name = output.Name;
                output.Name = graph.UniqueName(name + "_removed");
                input.Name = name;
            }
            output.ReplaceAllUsesWith(input);
            graph.RemoveNode(node);
            changed = true;
        }
        return changed;
    }

    private static bool IsRemovable(Node node)
    {
        if (!node.IsOnnxDomain || node.Inputs.Count == 0 || node.Inputs[0] is null) return false;
        if (node.OpType == "Identity") return node.Outputs.Count == 1;
        if (node.OpType != "Dropout") return false;
        // A mask that someone reads must be computed; training mode must be known to be off.
        if (node.Outputs.Count > 1 && (node.Outputs[1].Uses.Count > 0 || node.Outputs[1].IsGraphOutput)) return false;
        if (node.Attributes.GetInt("is_test", 1) == 0 && node.Attributes.Contains("is_test")) return false;
        var training = node.Input(2);
        if (training is null) return true;
        return training.ConstValue is { } t && t.ElementCount == 1 && t.ToInt64Array()[0] == 0;
    }
}
