using OnnxPrune.IR;
using OnnxPrune.IR.Passes;
using OnnxPrune.IR.ShapeInference;
using static OnnxPrune.Tests.IR.ShapeInference.ShapeTestGraph;

namespace OnnxPrune.Tests.IR.ShapeInference;

/// <summary>The FoldConstantShapes pass: what it folds, what it must leave alone, and that it
/// reports changes honestly.</summary>
public class FoldConstantShapesTests
{
    [Theory]
    [InlineData(11)]
    [InlineData(13)]
    public void Torch_flatten_chain_becomes_one_initializer(long opset)
    {
        var (g, concat, reshaped) = ConstantPropagationTests.TorchFlatten(2, opset);
        g.Graph.AddOutput(reshaped);
        var model = g.ToModel(opset);
        var targetName = concat.Name;

        new FoldConstantShapes().Run(model).Should().BeTrue();

        Verifier.Check(model.Graph).Should().BeEmpty();
        model.Graph.Nodes.Select(n => n.OpType).Should().Equal("Reshape");
        var target = model.Graph.Nodes[0].Inputs[1]!;
        target.IsInitializer.Should().BeTrue();
        target.Name.Should().Be(targetName, "the initializer takes the name of the value it replaces");
        target.ConstValue!.ToInt64Array().Should().Equal(2, -1);
        model.Graph.Initializers.Keys.Should().BeEquivalentTo(new[] { targetName }, "initializers only the chain read are gone");

        new ShapeInferencer().Run(model);
        model.Graph.Outputs[0].Shape.Should().Be(S(2, 3136));
    }

    [Fact]
    public void Returns_false_when_there_is_nothing_to_fold()
    {
        var g = new ShapeTestGraph();
        var y = g.Op("Relu", g.Op("Conv", new[] { g.Input("x", 1, 3, 8, 8), g.Weights("w", 4, 3, 3, 3) }));
        g.Graph.AddOutput(y);
        var model = g.ToModel();
        new FoldConstantShapes().Run(model).Should().BeFalse();
        model.Graph.Nodes.Should().HaveCount(2);
    }

    [Fact]
    public void Second_run_changes_nothing()
    {
        var (g, _, reshaped) = ConstantPropagationTests.TorchFlatten(1, 13);
        g.Graph.AddOutput(reshaped);
        var model = g.ToModel(13);
        new FoldConstantShapes().Run(model).Should().BeTrue();
        new FoldConstantShapes().Run(model).Should().BeFalse();
    }

    [Fact]
    public void Does_not_write_shapes_when_it_changes_nothing()
    {
        var g = new ShapeTestGraph();
        var y = g.Op("Relu", g.Input("x", 1, 3));
        g.Graph.AddOutput(y);
        new FoldConstantShapes().Run(g.ToModel()).Should().BeFalse();
        y.Shape.Should().BeNull("the pass infers into its own result, not onto the graph");
    }

    [Fact]
    public void Symbolic_batch_keeps_the_shape_query_and_folds_the_known_part()
    {
        // Concat(Unsqueeze(Gather(Shape(x), 0)), Unsqueeze(Gather(Shape(x), 1) * 49)): N stays dynamic,
        // 64 * 49 = 3136 folds.
        var g = new ShapeTestGraph();
        var x = g.Input("x", "N", 64, 7, 7);
        var shape = g.Op("Shape", x);
        var n = g.Op("Unsqueeze", new[] { g.Op("Gather", new[] { shape, g.Scalar("i0", 0) }), g.Int64s("ax", 0) });
        var c = g.Op("Gather", new[] { shape, g.Scalar("i1", 1) });
        var features = g.Op("Unsqueeze", new[] { g.Op("Mul", new[] { c, g.Scalar("hw", 49) }), g.Int64s("ax2", 0) });
        var target = g.Op("Concat", new[] { n, features }, Int("axis", 0));
        var y = g.Op("Reshape", new[] { x, target });
        g.Graph.AddOutput(y);
        var model = g.ToModel(13);

        new FoldConstantShapes().Run(model).Should().BeTrue();

        Verifier.Check(model.Graph).Should().BeEmpty();
        model.Graph.Nodes.Select(n => n.OpType).Should().Equal("Shape", "Gather", "Unsqueeze", "Concat", "Reshape");
        var concat = model.Graph.Nodes[3];
        concat.Inputs[1]!.ConstValue!.ToInt64Array().Should().Equal(3136);
        new ShapeInferencer().Run(model);
        y.Shape.Should().Be(S("N", 3136));
    }

    [Fact]
    public void Graph_outputs_keep_their_identity()
    {
        var (g, concat, reshaped) = ConstantPropagationTests.TorchFlatten(2, 13);
        g.Graph.AddOutput(reshaped);
        g.Graph.AddOutput(concat);
        var model = g.ToModel(13);

        new FoldConstantShapes().Run(model).Should().BeTrue();

        Verifier.Check(model.Graph).Should().BeEmpty();
        model.Graph.Outputs[1].Should().BeSameAs(concat);
        concat.Producer!.Graph.Should().BeSameAs(model.Graph);
        concat.Producer.Inputs[0]!.IsInitializer.Should().BeTrue("the chain below the output still folds");
    }

    [Fact]
    public void Float_intermediates_fold_only_inside_shape_arithmetic()
    {
        // Shape -> Cast(float) -> Mul(1.5) -> Floor -> Cast(int64) folds completely; a float Mul of
        // two small initializers that feeds an activation does not.
        var g = new ShapeTestGraph();
        var x = g.Input("x", 1, 3, 10, 10);
        var hw = g.Op("Slice", new[] { g.Op("Shape", x), g.Int64s("st", 2), g.Int64s("en", 4) });
        var scaled = g.Op("Floor", g.Op("Mul", new[] { g.Op("Cast", hw, Int("to", (long)DataType.Float)), g.Float32s("scale", 1.5f) }));
        var sizes = g.Op("Concat", new[] { g.Int64s("nc", 1, 3), g.Op("Cast", scaled, Int("to", (long)DataType.Int64)) }, Int("axis", 0));
        var resized = g.Op("Resize", new[] { x, null, null, sizes });
        var bias = g.Op("Mul", new[] { g.Float32s("a", 1, 2, 3), g.Float32s("b", 2, 2, 2) });
        var y = g.Op("Add", new[] { g.Op("Transpose", resized, Ints("perm", 0, 2, 3, 1)), bias });
        g.Graph.AddOutput(y);
        var model = g.ToModel(13);

        new FoldConstantShapes().Run(model).Should().BeTrue();

        Verifier.Check(model.Graph).Should().BeEmpty();
        model.Graph.Nodes.Select(n => n.OpType).Should().Equal("Resize", "Mul", "Transpose", "Add");
        model.Graph.Nodes[0].Inputs[3]!.ConstValue!.ToInt64Array().Should().Equal(1, 3, 15, 15);
    }

    [Fact]
    public void Values_that_depend_on_an_overridable_initializer_are_not_folded()
    {
        var g = new ShapeTestGraph();
        var x = g.Input("x", 2, 3, 4);
        var target = g.Int64s("target", 6, 4);
        g.Graph.AddInput(target);
        var y = g.Op("Reshape", new[] { x, g.Op("Identity", target) });
        g.Graph.AddOutput(y);
        var model = g.ToModel();
        new FoldConstantShapes().Run(model).Should().BeFalse();
        model.Graph.Nodes.Select(n => n.OpType).Should().Equal("Identity", "Reshape");
    }

    [Fact]
    public void Constant_nodes_that_only_fed_folded_nodes_are_removed_and_others_stay()
    {
        var g = new ShapeTestGraph();
        var x = g.Input("x", 2, 6);
        var k = g.Op("Constant", Array.Empty<Value?>(), Ints("value_ints", 3, 4));
        var direct = g.Op("Constant", Array.Empty<Value?>(), Ints("value_ints", 12));
        var target = g.Op("Mul", new[] { k, g.Int64s("one", 1, 1) });
        var y = g.Op("Reshape", new[] { x, target });
        var z = g.Op("Reshape", new[] { x, direct });
        g.Graph.AddOutput(y);
        g.Graph.AddOutput(z);
        var model = g.ToModel();

        new FoldConstantShapes().Run(model).Should().BeTrue();

        Verifier.Check(model.Graph).Should().BeEmpty();
        model.Graph.Nodes.Select(n => n.OpType).Should().Equal("Constant", "Reshape", "Reshape");
        model.Graph.Nodes[0].Outputs[0].Should().BeSameAs(direct);
    }

    [Fact]
    public void Folded_value_read_in_a_subgraph_is_rewired()
    {
        var g = new ShapeTestGraph();
        var x = g.Input("x", 2, 6);
        var target = g.Op("Concat", new[] { g.Int64s("a", 3), g.Int64s("b", 4) }, Int("axis", 0));
        var body = new Graph("then");
        var inner = body.AddNode(new Node("", "Reshape", new Value?[] { x, target }, new[] { "inner" }));
        body.AddOutput(inner.Outputs[0]);
        var ifNode = g.Node("If", new[] { g.Input("cond", DataType.Bool) }, 1,
            OnnxPrune.IR.Attribute.FromGraph("then_branch", body), OnnxPrune.IR.Attribute.FromGraph("else_branch", new Graph("else")));
        body.ParentNode = ifNode;
        g.Graph.AddOutput(ifNode.Outputs[0]);
        var model = g.ToModel();

        new FoldConstantShapes().Run(model).Should().BeTrue();

        inner.Inputs[1]!.IsInitializer.Should().BeTrue();
        inner.Inputs[1]!.ConstValue!.ToInt64Array().Should().Equal(3, 4);
        model.Graph.Nodes.Select(n => n.OpType).Should().Equal("If");
    }
}
