using OnnxPrune.IR;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Tests.IR;

/// <summary>Small graphs for IR tests, built through the public IR API.</summary>
internal static class SmallGraphs
{
    /// <summary>x -> Conv(w) -> Relu -> Identity -> y, with an unused Sigmoid branch.</summary>
    public static (Model Model, Node Conv, Node Relu, Node Identity, Node Dead) ConvReluIdentity()
    {
        var g = new Graph("g");
        var x = new Value("x", DataType.Float, new Shape(1, 3, 8, 8));
        g.AddInput(x);
        var w = g.AddInitializer("w", DenseTensor.FromFloats([4, 3, 3, 3], new float[108]));
        var conv = g.AddNode(new Node("", "Conv", [x, w], ["c"], [Attribute.Ints("pads", [1, 1, 1, 1])], "conv"));
        var relu = g.AddNode(new Node("", "Relu", [conv.Outputs[0]], ["r"], name: "relu"));
        var id = g.AddNode(new Node("", "Identity", [relu.Outputs[0]], ["y"], name: "id"));
        var dead = g.AddNode(new Node("", "Sigmoid", [conv.Outputs[0]], ["unused"], name: "dead"));
        g.AddOutput(id.Outputs[0]);
        var model = new Model(g);
        model.OpsetImports[""] = 13;
        return (model, conv, relu, id, dead);
    }
}
