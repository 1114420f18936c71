using OnnxPrune.IR;
using OnnxPrune.IR.ShapeInference;
using static OnnxPrune.Tests.IR.ShapeInference.ShapeTestGraph;

namespace OnnxPrune.Tests.IR.ShapeInference;

/// <summary>Values computed at compile time: shape arithmetic chains as exporters write them,
/// with static and symbolic batch.</summary>
public class ConstantPropagationTests
{
    /// <summary>torch.onnx's flatten: Shape -> Gather(0) -> Unsqueeze -> Concat([.., -1]) -> Reshape.</summary>
    internal static (ShapeTestGraph G, Value Concat, Value Reshaped) TorchFlatten(object batch, long opset)
    {
        var g = new ShapeTestGraph();
        var x = g.Input("x", batch, 64, 7, 7);
        var shape = g.Op("Shape", x);
        var n = g.Op("Gather", new[] { shape, g.Scalar("zero", 0) }, Int("axis", 0));
        var unsq = opset >= 13
            ? g.Op("Unsqueeze", new[] { n, g.Int64s("axes", 0) })
            : g.Op("Unsqueeze", n, Ints("axes", 0));
        var minusOne = g.Op("Constant", Array.Empty<Value?>(), OnnxPrune.IR.Attribute.FromTensor("value", DenseTensor.FromInt64s(new long[] { 1 }, new long[] { -1 })));
        var concat = g.Op("Concat", new[] { unsq, minusOne }, Int("axis", 0));
        var reshaped = g.Op("Reshape", new[] { x, concat });
        return (g, concat, reshaped);
    }

    [Theory]
    [InlineData(11)]
    [InlineData(13)]
    public void Torch_flatten_chain_resolves_to_a_constant_and_exact_shape(long opset)
    {
        var (g, concat, reshaped) = TorchFlatten(2, opset);
        var r = g.Infer(opset);
        r.TryGetInt64s(concat, out var target).Should().BeTrue();
        target.Should().Equal(2, -1);
        r.TryGetConstant(concat, out var tensor).Should().BeTrue();
        tensor!.DataType.Should().Be(DataType.Int64);
        tensor.Dims.Should().Equal(2);
        reshaped.Shape.Should().Be(S(2, 3136));
    }

    [Fact]
    public void Torch_flatten_chain_with_symbolic_batch_keeps_the_symbol()
    {
        var (g, concat, reshaped) = TorchFlatten("N", 13);
        var r = g.Infer(13);
        r.TryGetInt64s(concat, out _).Should().BeFalse();
        r.TryGetShapeValue(concat, out var dims).Should().BeTrue();
        dims.Should().Equal(Dim.Symbolic("N"), Dim.Known(-1));
        reshaped.Shape.Should().Be(S("N", 3136));
    }

    [Fact]
    public void Known_element_of_a_partly_symbolic_shape_is_a_constant()
    {
        // Gather(Shape(x), 1) on [N, 64, 7, 7] is 64 whatever N is.
        var g = new ShapeTestGraph();
        var shape = g.Op("Shape", g.Input("x", "N", 64, 7, 7));
        var c = g.Op("Gather", new[] { shape, g.Scalar("one", 1) });
        var r = g.Infer();
        r.TryGetInt64s(c, out var v).Should().BeTrue();
        v.Should().Equal(64);
        c.Shape.Should().Be(S());
    }

    [Fact]
    public void Integer_arithmetic_on_dims()
    {
        // channel shuffle: C / groups, and H * W.
        var g = new ShapeTestGraph();
        var x = g.Input("x", "N", 48, 7, 5);
        var shape = g.Op("Shape", x);
        var c = g.Op("Gather", new[] { shape, g.Scalar("i1", 1) });
        var h = g.Op("Gather", new[] { shape, g.Scalar("i2", 2) });
        var w = g.Op("Gather", new[] { shape, g.Scalar("i3", 3) });
        var perGroup = g.Op("Div", new[] { c, g.Scalar("groups", 2) });
        var hw = g.Op("Mul", new[] { h, w });
        var less = g.Op("Sub", new[] { hw, g.Scalar("k", 40) });
        var n = g.Op("Gather", new[] { shape, g.Scalar("i0", 0) });
        var nPlusZero = g.Op("Add", new[] { n, g.Scalar("z", 0) });
        var r = g.Infer();
        r.TryGetInt64s(perGroup, out var a).Should().BeTrue();
        a.Should().Equal(24);
        r.TryGetInt64s(hw, out var b).Should().BeTrue();
        b.Should().Equal(35);
        r.TryGetInt64s(less, out var d).Should().BeTrue();
        d.Should().Equal(-5);
        r.TryGetShapeValue(nPlusZero, out var sym).Should().BeTrue();
        sym.Should().Equal(Dim.Symbolic("N"));
    }

    [Fact]
    public void Resize_sizes_built_from_the_input_shape()
    {
        // sizes = Concat(Shape(x)[0:2], [16, 16]): the batch stays symbolic, the rest is exact.
        var g = new ShapeTestGraph();
        var x = g.Input("x", "N", 3, 8, 8);
        var head = g.Op("Slice", new[] { g.Op("Shape", x), g.Int64s("st", 0), g.Int64s("en", 2) });
        var sizes = g.Op("Concat", new[] { head, g.Int64s("hw", 16, 16) }, Int("axis", 0));
        var y = g.Op("Resize", new[] { x, null, null, sizes });
        g.Infer(opset: 13);
        y.Shape.Should().Be(S("N", 3, 16, 16));
    }

    [Fact]
    public void Float_scaling_of_dims_through_casts()
    {
        // Cast(H) to float * 1.5 -> Floor -> Cast to int64: floor(10 * 1.5) = 15.
        var g = new ShapeTestGraph();
        var x = g.Input("x", 1, 3, 10, 10);
        var hw = g.Op("Slice", new[] { g.Op("Shape", x), g.Int64s("st", 2), g.Int64s("en", 4) });
        var f = g.Op("Cast", hw, Int("to", (long)DataType.Float));
        var scaled = g.Op("Floor", g.Op("Mul", new[] { f, g.Float32s("scale", 1.5f) }));
        var back = g.Op("Cast", scaled, Int("to", (long)DataType.Int64));
        var sizes = g.Op("Concat", new[] { g.Int64s("nc", 1, 3), back }, Int("axis", 0));
        var y = g.Op("Resize", new[] { x, null, null, sizes });
        var r = g.Infer(opset: 13);
        r.TryGetInt64s(back, out var v).Should().BeTrue();
        v.Should().Equal(15, 15);
        y.Shape.Should().Be(S(1, 3, 15, 15));
    }

    [Fact]
    public void ConstantOfShape_and_Expand_from_computed_shapes()
    {
        var g = new ShapeTestGraph();
        var x = g.Input("x", 2, 3);
        var zeros = g.Op("ConstantOfShape", g.Op("Shape", x));
        var expanded = g.Op("Expand", new[] { g.Input("b", 3), g.Op("Shape", x) });
        var r = g.Infer();
        zeros.Shape.Should().Be(S(2, 3));
        r.TryGetConstant(zeros, out var t).Should().BeTrue();
        t!.ToFloatArray().Should().Equal(0, 0, 0, 0, 0, 0);
        expanded.Shape.Should().Be(S(2, 3));
    }

    [Fact]
    public void Equal_and_Where_on_shape_values()
    {
        // The dynamo-style guard: Where(Equal(target, 0), Shape(x), target).
        var g = new ShapeTestGraph();
        var x = g.Input("x", 2, 3, 4);
        var target = g.Int64s("t", 0, 12);
        var shape = g.Op("Slice", new[] { g.Op("Shape", x), g.Int64s("st", 0), g.Int64s("en", 2) });
        var isZero = g.Op("Equal", new[] { target, g.Scalar("zero", 0) });
        var fixedTarget = g.Op("Where", new[] { isZero, shape, target });
        var y = g.Op("Reshape", new[] { x, fixedTarget });
        var r = g.Infer();
        r.TryGetInt64s(fixedTarget, out var v).Should().BeTrue();
        v.Should().Equal(2, 12);
        y.Shape.Should().Be(S(2, 12));
    }

    [Fact]
    public void ReduceProd_of_a_shape_slice()
    {
        var g = new ShapeTestGraph();
        var x = g.Input("x", "N", 4, 5, 6);
        var tail = g.Op("Slice", new[] { g.Op("Shape", x), g.Int64s("st", 1), g.Int64s("en", long.MaxValue) });
        var numel = g.Op("ReduceProd", tail, Int("keepdims", 1));
        var target = g.Op("Concat", new[] { g.Int64s("m1", -1), numel }, Int("axis", 0));
        var y = g.Op("Reshape", new[] { x, target });
        var r = g.Infer(opset: 13);
        r.TryGetInt64s(numel, out var v).Should().BeTrue();
        v.Should().Equal(120);
        y.Shape.Should().Be(S("N", 120));
    }

    [Fact]
    public void Initializer_that_a_graph_input_overrides_is_used_but_not_foldable()
    {
        var g = new ShapeTestGraph();
        var x = g.Input("x", 2, 3, 4);
        var target = g.Int64s("target", 6, 4);
        g.Graph.AddInput(target); // IR < 4 style: the initializer is a default the caller may replace
        var sum = g.Op("Add", new[] { target, g.Int64s("one", 1, 1) });
        var y = g.Op("Reshape", new[] { x, target });
        var r = g.Infer();
        y.Shape.Should().Be(S(6, 4));
        r.TryGetInt64s(sum, out _).Should().BeTrue();
        r.IsFoldable(sum).Should().BeFalse();
    }

    [Fact]
    public void Computations_on_large_tensors_are_not_evaluated()
    {
        var g = new ShapeTestGraph();
        var big = g.Weights("big", 100, 100); // 10000 elements, above the 4096 limit
        var sum = g.Op("Add", new[] { big, big });
        var s = g.Op("Shape", big);
        var r = g.Infer();
        sum.Shape.Should().Be(S(100, 100));
        r.TryGetConstant(sum, out _).Should().BeFalse();
        r.TryGetInt64s(s, out var v).Should().BeTrue();
        v.Should().Equal(100, 100);
    }
}
