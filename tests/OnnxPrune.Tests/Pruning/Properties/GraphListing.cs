using OnnxPrune.IR;
using OnnxPrune.IR.ShapeInference;

namespace OnnxPrune.Tests.Pruning.Properties;

/// <summary>A model as text, one node a line (outputs = Op(inputs) attributes : shape), for the
/// report of a failing generated case.</summary>
internal static class GraphListing
{
    public static string Describe(Model model)
    {
        new ShapeInferencer().Run(model); // records shapes on the values, for the listing
        var g = model.Graph;
        var lines = new List<string>();
        lines.Add("inputs: " + string.Join(", ", g.Inputs.Select(v => $"{v.Name}{v.Shape}")));
        foreach (var n in g.Nodes)
        {
            var inputs = string.Join(", ", n.Inputs.Select(v => v is null ? "_" : v.ConstValue is { } t && v.Producer is null ? $"{v.Name}{t}" : v.Name));
            var attributes = n.OpType == "Constant" ? n.Attributes["value"]?.AsTensor().ToString() : string.Join(" ", n.Attributes.Select(a => a.ToString()));
            lines.Add($"  {string.Join(", ", n.Outputs.Select(o => o.Name))} = {n.OpType}({inputs}) {attributes} : {n.Outputs[0].Shape}");
        }
        lines.Add("outputs: " + string.Join(", ", g.Outputs.Select(v => $"{v.Name}{v.Shape}")));
        return string.Join("\n", lines);
    }
}
