using OnnxPrune.IR;
using OnnxPrune.IR.ShapeInference;
using static OnnxPrune.Tests.IR.ShapeInference.ShapeTestGraph;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Tests.IR.ShapeInference;

/// <summary>The shape rules of ONNX Runtime's com.microsoft.nchwc ops, worked out by hand from the
/// contrib op schemas (a blocked tensor is (N, C padded to the block, H, W)); that ORT computes the
/// same shapes on a lowered training graph is checked in BlockedConvolutionsTests.</summary>
public class NchwcShapeTests
{
    private const string Domain = "com.microsoft.nchwc";

    private static Value Op(ShapeTestGraph g, string op, Value?[] inputs, params Attribute[] attributes)
    {
        var name = g.Graph.UniqueName(op.ToLowerInvariant());
        return g.Graph.AddNode(new Node(Domain, op, inputs, [name], attributes, name)).Outputs[0];
    }

    [Theory]
    [InlineData(32, 0, 32)]  // a multiple of 16 is a multiple of every block: padded to itself
    [InlineData(24, 8, 24)]
    [InlineData(24, 16, 32)] // padded up to the block
    [InlineData(3, 8, 8)]
    [InlineData(24, 0, null)] // 24 is padded to 24 with a block of 8 and to 32 with 16: unknown
    public void ReorderInput_pads_the_channels_to_the_block(long channels, int block, object? expected)
    {
        var g = new ShapeTestGraph();
        var y = Op(g, "ReorderInput", [g.Input("x", "N", channels, 7, 5)]);
        g.Infer(options: new ShapeInferenceOptions { NchwcBlock = block });
        y.Shape.Should().Be(S("N", expected is null ? null : Convert.ToInt64(expected), 7, 5));
        y.ElementType.Should().Be(DataType.Float);
    }

    [Fact]
    public void ReorderInput_of_an_nhwc_tensor_gives_the_blocked_nchw_shape()
    {
        var g = new ShapeTestGraph();
        var y = Op(g, "ReorderInput", [g.Input("x", 2, 7, 5, 48)], Attribute.Int("channels_last", 1));
        g.Infer();
        y.Shape.Should().Be(S(2, 48, 7, 5));
    }

    [Fact]
    public void ReorderOutput_keeps_the_channels_it_is_told_in_either_layout()
    {
        var g = new ShapeTestGraph();
        var blocked = g.Input("b", 2, 32, 7, 5);
        var nchw = Op(g, "ReorderOutput", [blocked], Attribute.Int("channels", 27));
        var nhwc = Op(g, "ReorderOutput", [blocked], Attribute.Int("channels", 27), Attribute.Int("channels_last", 1));
        g.Infer();
        nchw.Shape.Should().Be(S(2, 27, 7, 5));
        nhwc.Shape.Should().Be(S(2, 7, 5, 27));
    }

    [Fact]
    public void Blocked_conv_and_pooling_size_their_outputs_as_the_standard_ops()
    {
        // floor((28 + 2 - 3) / 2) + 1 = 14 spatial, 64 filters; the pool of 14x14 by 2x2 stride 2 gives 7.
        var g = new ShapeTestGraph();
        var x = Op(g, "ReorderInput", [g.Input("x", 4, 32, 28, 28)]);
        var conv = Op(g, "Conv", [x, g.Weights("w", 64, 32, 3, 3)], Attribute.Ints("kernel_shape", [3, 3]),
            Attribute.Ints("strides", [2, 2]), Attribute.Ints("pads", [1, 1, 1, 1]), Attribute.String("activation", "Relu"));
        var pool = Op(g, "MaxPool", [conv], Attribute.Ints("kernel_shape", [2, 2]), Attribute.Ints("strides", [2, 2]));
        var global = Op(g, "GlobalAveragePool", [conv]);
        g.Infer();
        conv.Shape.Should().Be(S(4, 64, 14, 14));
        pool.Shape.Should().Be(S(4, 64, 7, 7));
        global.Shape.Should().Be(S(4, 64, 1, 1));
    }

    [Fact]
    public void Extend_infers_nodes_inserted_after_the_run()
    {
        var g = new ShapeTestGraph();
        var x = g.Input("x", 2, 16, 8, 8);
        var relu = g.Op("Relu", x);
        var inferencer = new ShapeInferencer(new ShapeInferenceOptions { WriteToGraph = false });
        var result = inferencer.Run(g.Graph, 17);
        var blocked = new Node(Domain, "ReorderInput", [relu], ["blocked"], [], "blocked");
        var back = new Node(Domain, "ReorderOutput", [blocked.Outputs[0]], ["back"], [Attribute.Int("channels", 16)], "back");
        g.Graph.AddNode(blocked);
        g.Graph.AddNode(back);
        result.GetShape(back.Outputs[0]).Should().BeNull("not inferred yet");
        inferencer.Extend(result, [blocked, back]);
        result.GetShape(blocked.Outputs[0]).Should().Be(S(2, 16, 8, 8));
        result.GetShape(back.Outputs[0]).Should().Be(S(2, 16, 8, 8));
        back.Outputs[0].Shape.Should().BeNull("WriteToGraph is off: the graph is not touched");
    }
}
