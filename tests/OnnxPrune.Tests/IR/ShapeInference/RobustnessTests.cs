using OnnxPrune.IR;
using OnnxPrune.IR.ShapeInference;
using static OnnxPrune.Tests.IR.ShapeInference.ShapeTestGraph;

namespace OnnxPrune.Tests.IR.ShapeInference;

/// <summary>Inference on models it does not fully understand: unknown ops, other domains,
/// subgraphs, malformed attributes, recorded value_info, and the options.</summary>
public class RobustnessTests
{
    [Fact]
    public void Unknown_op_keeps_its_recorded_shape_and_downstream_uses_it()
    {
        var g = new ShapeTestGraph();
        var odd = g.Node("SomeFutureOp", new[] { g.Input("x", "N", 3) }, 1);
        odd.Outputs[0].ElementType = DataType.Float;
        odd.Outputs[0].Shape = S("N", 5);
        var y = g.Op("Relu", odd.Outputs[0]);
        var r = g.Infer();
        r.SkippedNodes.Should().Equal(odd);
        odd.Outputs[0].Shape.Should().Be(S("N", 5));
        y.Shape.Should().Be(S("N", 5));
    }

    [Fact]
    public void Unknown_op_without_recorded_shape_leaves_everything_after_it_unknown()
    {
        var g = new ShapeTestGraph();
        var odd = g.Op("Mystery", g.Input("x", 2, 3));
        var y = g.Op("Relu", odd);
        g.Infer();
        odd.Shape.Should().BeNull();
        y.Shape.Should().BeNull();
    }

    [Fact]
    public void Nodes_of_other_domains_are_skipped()
    {
        var g = new ShapeTestGraph();
        var node = g.Graph.AddNode(new Node("com.microsoft", "Relu", new[] { g.Input("x", 2) }, new[] { "y" }));
        var r = g.Infer();
        r.SkippedNodes.Should().Equal(node);
        node.Outputs[0].Shape.Should().BeNull();
    }

    [Fact]
    public void If_outputs_stay_as_recorded()
    {
        var g = new ShapeTestGraph();
        var node = g.Node("If", new[] { g.Input("c", DataType.Bool) }, 1,
            OnnxPrune.IR.Attribute.FromGraph("then_branch", new Graph("t")), OnnxPrune.IR.Attribute.FromGraph("else_branch", new Graph("e")));
        node.Outputs[0].Shape = S(4);
        var r = g.Infer();
        r.SkippedNodes.Should().Equal(node);
        node.Outputs[0].Shape.Should().Be(S(4));
    }

    [Fact]
    public void Malformed_nodes_are_reported_and_keep_recorded_shapes()
    {
        var g = new ShapeTestGraph();
        var x = g.Input("x", 2, 3, 4);
        var badPerm = g.Op("Transpose", x, Ints("perm", 0, 0, 1));
        badPerm.Shape = S(7);
        var twoMinusOnes = g.Op("Reshape", new[] { x, g.Int64s("t", -1, -1) });
        var badAxis = g.Op("Concat", new[] { x, x }, Int("axis", 5));
        var wrongKind = g.Op("Gather", new[] { x, g.Scalar("i", 0) }, Str("axis", "zero"));
        var r = g.InferLenient();
        r.Problems.Select(p => p.Node.OpType).Should().BeEquivalentTo(new[] { "Transpose", "Reshape", "Concat" });
        badPerm.Shape.Should().Be(S(7));
        twoMinusOnes.Shape.Should().BeNull();
        badAxis.Shape.Should().BeNull();
        wrongKind.Shape.Should().Be(S(3, 4), "an attribute of the wrong kind counts as absent");
    }

    [Fact]
    public void A_node_that_would_produce_a_negative_dim_is_reported()
    {
        var g = new ShapeTestGraph();
        var x = g.Input("x", 1, 3, 4, 4);
        var cropped = g.Op("Pad", new[] { x, g.Int64s("pads", 0, 0, -3, 0, 0, 0, -3, 0) });
        var split = g.Node("Split", new[] { g.Input("y", 6), g.Int64s("sizes", 8, -2) }, 2);
        var r = g.InferLenient(opset: 13);
        r.Problems.Select(p => p.Node).Should().BeEquivalentTo(new[] { cropped.Producer, split });
        cropped.Shape.Should().BeNull();
        split.Outputs[1].Shape.Should().BeNull();
    }

    [Fact]
    public void Inconsistent_conv_attributes_leave_spatial_dims_unknown()
    {
        var g = new ShapeTestGraph();
        var y = g.Op("Conv", new[] { g.Input("x", 1, 3, 8, 8), g.Weights("w", 4, 3, 3, 3) }, Ints("strides", 2, 2, 2));
        var zeroStride = g.Op("MaxPool", g.Input("z", 1, 3, 8, 8), Ints("kernel_shape", 2, 2), Ints("strides", 0, 1));
        g.Infer();
        y.Shape.Should().Be(S(1, 4, null, null));
        zeroStride.Shape.Should().Be(S(1, 3, null, null));
    }

    [Fact]
    public void Missing_input_shapes_give_unknown_or_rank_only_results()
    {
        var g = new ShapeTestGraph();
        var x = g.UnrankedInput("x");
        var relu = g.Op("Relu", x);
        var conv = g.Op("Conv", new[] { x, g.Weights("w", 4, 3, 3, 3) });
        var gemm = g.Op("Gemm", new[] { x, g.Weights("b", 3, 3) });
        var shape = g.Op("Shape", x);
        g.Infer();
        relu.Shape.Should().BeNull();
        relu.ElementType.Should().Be(DataType.Float);
        conv.Shape.Should().Be(S(null, null, null, null));
        gemm.Shape.Should().Be(S(null, null));
        shape.Shape.Should().Be(S((object?)null));
    }

    [Fact]
    public void Recorded_dims_fill_what_inference_cannot_know()
    {
        var g = new ShapeTestGraph();
        var nz = g.Op("NonZero", g.Input("x", 3, 4));
        nz.Shape = S(2, 7);
        g.Infer();
        nz.Shape.Should().Be(S(2, 7), "the recorded 7 fills the data-dependent dim");
    }

    [Fact]
    public void Inferred_dims_replace_stale_recorded_ones_and_recorded_can_be_ignored()
    {
        var g = new ShapeTestGraph();
        var conv = g.Op("Conv", new[] { g.Input("x", 1, 3, 8, 8), g.Weights("w", 4, 3, 3, 3) });
        conv.Shape = S(1, 16, 6, 6); // before channels were removed
        var nz = g.Op("NonZero", g.Input("y", 3, 4));
        nz.Shape = S(2, 7);
        g.Infer(options: new ShapeInferenceOptions { KeepRecordedShapes = false });
        conv.Shape.Should().Be(S(1, 4, 6, 6));
        nz.Shape.Should().Be(S(2, null));
    }

    [Fact]
    public void WriteToGraph_false_leaves_the_graph_untouched()
    {
        var g = new ShapeTestGraph();
        var y = g.Op("Relu", g.Input("x", 2, 3));
        var r = g.Infer(options: new ShapeInferenceOptions { WriteToGraph = false });
        y.Shape.Should().BeNull();
        y.ElementType.Should().Be(DataType.Undefined);
        r.GetShape(y).Should().Be(S(2, 3));
        r.GetElementType(y).Should().Be(DataType.Float);
        r.WasInferred(y).Should().BeTrue();
    }

    [Fact]
    public void Symbolic_batch_flows_through_a_small_cnn()
    {
        var g = new ShapeTestGraph();
        var x = g.Input("x", "batch", 1, 28, 28);
        var c1 = g.Op("Relu", g.Op("Conv", new[] { x, g.Weights("w1", 8, 1, 3, 3), g.Weights("b1", 8) }, Ints("pads", 1, 1, 1, 1)));
        var p1 = g.Op("MaxPool", c1, Ints("kernel_shape", 2, 2), Ints("strides", 2, 2));
        var c2 = g.Op("Relu", g.Op("Conv", new[] { p1, g.Weights("w2", 16, 8, 3, 3) }));
        var gap = g.Op("GlobalAveragePool", c2);
        var flat = g.Op("Flatten", gap);
        var logits = g.Op("Gemm", new[] { flat, g.Weights("fc", 10, 16), g.Weights("fcb", 10) }, Int("transB", 1));
        var probs = g.Op("Softmax", logits, Int("axis", 1));
        g.Infer(opset: 13);
        p1.Shape.Should().Be(S("batch", 8, 14, 14));
        c2.Shape.Should().Be(S("batch", 16, 12, 12));
        flat.Shape.Should().Be(S("batch", 16));
        probs.Shape.Should().Be(S("batch", 10));
    }

    [Fact]
    public void Model_overload_uses_the_default_opset_and_a_fallback_without_one()
    {
        var g = new ShapeTestGraph();
        var y = g.Op("Squeeze", new[] { g.Input("x", 1, 3, 1), g.Int64s("axes", 0) });
        var model = new Model(g.Graph);
        new ShapeInferencer().Run(model).Opset.Should().Be(21);
        y.Shape.Should().Be(S(3, 1));
        model.OpsetImports[""] = 13;
        new ShapeInferencer().Run(model).Opset.Should().Be(13);
    }

    [Fact]
    public void Rules_cover_the_operators_cnn_exports_contain()
    {
        var required = new[]
        {
            "Conv", "ConvTranspose", "BatchNormalization", "InstanceNormalization", "LRN", "MaxPool", "AveragePool",
            "LpPool", "GlobalAveragePool", "GlobalMaxPool", "Gemm", "MatMul", "Flatten", "Reshape", "Transpose",
            "Concat", "Split", "Slice", "Pad", "Resize", "Upsample", "Squeeze", "Unsqueeze", "Relu", "Sigmoid", "Tanh",
            "Exp", "Log", "Abs", "Neg", "Sqrt", "Clip", "LeakyRelu", "Elu", "Selu", "HardSigmoid", "HardSwish",
            "Softplus", "Erf", "Dropout", "Identity", "Cast", "Softmax", "LogSoftmax", "PRelu", "Not", "Floor", "Ceil",
            "Round", "Reciprocal", "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean", "Equal", "Greater",
            "Less", "And", "Or", "Where", "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL2",
            "ReduceL1", "ReduceSumSquare", "ReduceLogSumExp", "ArgMax", "ArgMin", "Shape", "Size", "Gather", "Constant",
            "ConstantOfShape", "Range", "Expand", "Tile", "TopK", "NonZero",
        };
        required.Except(ShapeInferencer.SupportedOps).Should().BeEmpty();
    }

    [Fact]
    public void Every_rule_handles_a_node_without_inputs_or_attributes()
    {
        foreach (var op in ShapeInferencer.SupportedOps)
        {
            var g = new ShapeTestGraph();
            g.Node(op, Array.Empty<Value?>(), 3);
            var r = new ShapeInferencer().Run(g.Graph, 17);
            r.Problems.Where(p => !p.Message.StartsWith("ArgumentException")).Should().BeEmpty($"{op} may only reject the node, not crash");
        }
    }

    [Fact]
    public void Every_rule_handles_inputs_of_unknown_rank()
    {
        foreach (var op in ShapeInferencer.SupportedOps)
        {
            foreach (var opset in new long[] { 7, 11, 13, 18 })
            {
                var g = new ShapeTestGraph();
                var inputs = Enumerable.Range(0, 5).Select(i => (Value?)g.UnrankedInput($"x{i}")).ToArray();
                g.Node(op, inputs, 3);
                var r = new ShapeInferencer().Run(g.Graph, opset);
                r.Problems.Where(p => !p.Message.StartsWith("ArgumentException")).Should().BeEmpty($"{op} at opset {opset} may only reject the node, not crash");
            }
        }
    }
}
