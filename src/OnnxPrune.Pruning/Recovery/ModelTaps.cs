using OnnxPrune.IR;
using OnnxPrune.IR.Passes;

namespace OnnxPrune.Pruning.Recovery;

/// <summary>Copies of a model that compute only some of its intermediate values.</summary>
internal static class ModelTaps
{
    /// <summary>A copy whose outputs are the values named (node outputs), with every node they do
    /// not need removed, so ONNX Runtime runs only the part of the network in front of them.</summary>
    public static Model Truncated(Model model, IEnumerable<string> valueNames)
    {
        var copy = model.Clone();
        var byName = copy.Graph.Nodes.SelectMany(n => n.Outputs).ToDictionary(o => o.Name, StringComparer.Ordinal);
        copy.Graph.ClearOutputs();
        foreach (var name in valueNames.Distinct(StringComparer.Ordinal))
            copy.Graph.AddOutput(byName.TryGetValue(name, out var v) ? v : throw new ArgumentException($"the model computes no value '{name}'", nameof(valueNames)));
        new EliminateDeadCode().Run(copy);
        return copy;
    }

    /// <summary>A copy that also outputs the values named, beside its own outputs.</summary>
    public static Model WithOutputs(Model model, IEnumerable<string> valueNames)
    {
        var copy = model.Clone();
        var byName = copy.Graph.Nodes.SelectMany(n => n.Outputs).ToDictionary(o => o.Name, StringComparer.Ordinal);
        foreach (var name in valueNames.Distinct(StringComparer.Ordinal))
            if (!copy.Graph.Outputs.Contains(byName[name])) copy.Graph.AddOutput(byName[name]);
        return copy;
    }
}
