using OnnxPrune.IR;
using static OnnxPrune.Tests.IR.ShapeInference.ShapeTestGraph;

namespace OnnxPrune.Tests.IR.ShapeInference;

/// <summary>Reshaping, joining, cutting and indexing operators, including the places where their
/// operands moved from attributes to inputs between opsets.</summary>
public class TensorShapeTests
{
    [Fact]
    public void Reshape_zero_copies_and_minus_one_takes_the_rest()
    {
        var g = new ShapeTestGraph();
        var x = g.Input("x", 2, 3, 4);
        var a = g.Op("Reshape", new[] { x, g.Int64s("s1", 0, -1) });
        var b = g.Op("Reshape", new[] { x, g.Int64s("s2", -1, 4) });
        var c = g.Op("Reshape", new[] { x, g.Int64s("s3", 4, 0, 2) });
        g.Infer();
        a.Shape.Should().Be(S(2, 12));
        b.Shape.Should().Be(S(6, 4));
        c.Shape.Should().Be(S(4, 3, 2));
    }

    [Fact]
    public void Reshape_allowzero_keeps_a_literal_zero()
    {
        var g = new ShapeTestGraph();
        var y = g.Op("Reshape", new[] { g.Input("x", 0, 3, 4), g.Int64s("s", 3, 4, 0) }, Int("allowzero", 1));
        g.Infer(opset: 14);
        y.Shape.Should().Be(S(3, 4, 0));
    }

    [Fact]
    public void Reshape_cancels_symbolic_batch_when_resolving_minus_one()
    {
        var g = new ShapeTestGraph();
        var x = g.Input("x", "N", 3, 4, 4);
        var keep = g.Op("Reshape", new[] { x, g.Int64s("s1", 0, -1) });
        var moved = g.Op("Reshape", new[] { x, g.Int64s("s2", 48, -1) });
        g.Infer();
        keep.Shape.Should().Be(S("N", 48));
        moved.Shape.Should().Be(S(48, "N"));
    }

    [Fact]
    public void Reshape_opset1_takes_shape_from_attribute()
    {
        var g = new ShapeTestGraph();
        var y = g.Op("Reshape", g.Input("x", 2, 3, 4), Ints("shape", 6, -1));
        g.Infer(opset: 4);
        y.Shape.Should().Be(S(6, 4));
    }

    [Fact]
    public void Reshape_with_unknown_target_values_still_knows_the_rank()
    {
        var g = new ShapeTestGraph();
        var y = g.Op("Reshape", new[] { g.Input("x", 2, 3, 4), g.Input("shape", DataType.Int64, 3) });
        g.Infer();
        y.Shape.Should().Be(S(null, null, null));
    }

    [Fact]
    public void Flatten_axes()
    {
        var g = new ShapeTestGraph();
        var x = g.Input("x", "N", 3, 4, 4);
        var one = g.Op("Flatten", x);
        var zero = g.Op("Flatten", x, Int("axis", 0));
        var last = g.Op("Flatten", x, Int("axis", -1));
        var end = g.Op("Flatten", x, Int("axis", 4));
        g.Infer();
        one.Shape.Should().Be(S("N", 48));
        zero.Shape.Should().Be(S(1, null));
        last.Shape.Should().Be(S(null, 4));
        end.Shape.Should().Be(S(null, 1));
    }

    [Fact]
    public void Transpose_default_perm_reverses()
    {
        var g = new ShapeTestGraph();
        var x = g.Input("x", "N", 3, 5, 7);
        var rev = g.Op("Transpose", x);
        var nhwc = g.Op("Transpose", x, Ints("perm", 0, 2, 3, 1));
        g.Infer();
        rev.Shape.Should().Be(S(7, 5, 3, "N"));
        nhwc.Shape.Should().Be(S("N", 5, 7, 3));
    }

    [Fact]
    public void Concat_sums_the_axis_and_merges_the_rest()
    {
        var g = new ShapeTestGraph();
        var y = g.Op("Concat", new[] { g.Input("a", "N", 3, 8), g.Input("b", "N", 5, 8), g.Input("c", null, 2, 8) }, Int("axis", 1));
        var neg = g.Op("Concat", new[] { g.Input("d", 2, 3), g.Input("e", 2, 4) }, Int("axis", -1));
        g.Infer();
        y.Shape.Should().Be(S("N", 10, 8));
        neg.Shape.Should().Be(S(2, 7));
    }

    [Fact]
    public void Split_equal_parts_attribute_and_input()
    {
        var g11 = new ShapeTestGraph();
        var x = g11.Input("x", "N", 6, 4);
        var equal = g11.Node("Split", new[] { x }, 3, Int("axis", 1));
        var attr = g11.Node("Split", new[] { x }, 2, Int("axis", 1), Ints("split", 2, 4));
        g11.Infer(opset: 11);
        equal.Outputs.Select(o => o.Shape).Should().Equal(S("N", 2, 4), S("N", 2, 4), S("N", 2, 4));
        attr.Outputs.Select(o => o.Shape).Should().Equal(S("N", 2, 4), S("N", 4, 4));

        var g13 = new ShapeTestGraph();
        var input = g13.Node("Split", new[] { g13.Input("x", 6, 4), g13.Int64s("split", 1, 5) }, 2);
        g13.Infer(opset: 13);
        input.Outputs.Select(o => o.Shape).Should().Equal(S(1, 4), S(5, 4));
    }

    [Fact]
    public void Split_opset18_num_outputs_makes_the_last_chunk_smaller()
    {
        // ceil(10/3) = 4: 4, 4, 2.
        var g = new ShapeTestGraph();
        var split = g.Node("Split", new[] { g.Input("x", 10) }, 3, Int("num_outputs", 3));
        g.Infer(opset: 18);
        split.Outputs.Select(o => o.Shape).Should().Equal(S(4), S(4), S(2));
    }

    [Fact]
    public void Slice_opset1_attributes()
    {
        var g = new ShapeTestGraph();
        var y = g.Op("Slice", g.Input("x", 20, 10, 5), Ints("starts", 0, 1), Ints("ends", 3, 1000), Ints("axes", 0, 1));
        g.Infer(opset: 9);
        y.Shape.Should().Be(S(3, 9, 5));
    }

    [Fact]
    public void Slice_negative_steps_and_clamping()
    {
        // axis 0: 20 -> clamped to 19, down to 0 exclusive: 19. axis 1: 9, 6, 3 -> 3. axis 2: 4, 2 -> 2.
        var g = new ShapeTestGraph();
        var x = g.Input("x", 20, 10, 5);
        var neg = g.Op("Slice", new[] { x, g.Int64s("st", 20, 10, 4), g.Int64s("en", 0, 0, 1), g.Int64s("ax", 0, 1, 2), g.Int64s("sp", -1, -3, -2) });
        var outOfRange = g.Op("Slice", new[] { x, g.Int64s("st2", 1000), g.Int64s("en2", 1000), g.Int64s("ax2", 1) });
        var negIdx = g.Op("Slice", new[] { x, g.Int64s("st3", -3), g.Int64s("en3", -1), g.Int64s("ax3", -1) });
        var reverse = g.Op("Slice", new[] { x, g.Int64s("st4", -1), g.Int64s("en4", long.MinValue), g.Int64s("ax4", 0), g.Int64s("sp4", -1) });
        g.Infer();
        neg.Shape.Should().Be(S(19, 3, 2));
        outOfRange.Shape.Should().Be(S(20, 0, 5));
        negIdx.Shape.Should().Be(S(20, 10, 2));
        reverse.Shape.Should().Be(S(20, 10, 5));
    }

    [Fact]
    public void Slice_of_whole_symbolic_axis_keeps_the_symbol()
    {
        var g = new ShapeTestGraph();
        var y = g.Op("Slice", new[] { g.Input("x", "N", 10), g.Int64s("st", 0, 2), g.Int64s("en", long.MaxValue, 4) });
        g.Infer();
        y.Shape.Should().Be(S("N", 2));
    }

    [Fact]
    public void Pad_attribute_before_opset11_and_input_after()
    {
        var g2 = new ShapeTestGraph();
        var a = g2.Op("Pad", g2.Input("x", 1, 3, 4, 5), Ints("pads", 0, 0, 1, 2, 0, 0, 3, 4));
        g2.Infer(opset: 2);
        a.Shape.Should().Be(S(1, 3, 8, 11));

        var g11 = new ShapeTestGraph();
        var b = g11.Op("Pad", new[] { g11.Input("x", "N", 3, 4, 5), g11.Int64s("pads", 0, 0, 1, -1, 0, 0, 1, 0) });
        g11.Infer(opset: 11);
        b.Shape.Should().Be(S("N", 3, 6, 4));
    }

    [Fact]
    public void Pad_opset18_axes()
    {
        var g = new ShapeTestGraph();
        var y = g.Op("Pad", new[] { g.Input("x", 1, 3, 4, 5), g.Int64s("pads", 1, 2, 3, 4), null, g.Int64s("axes", -2, -1) });
        g.Infer(opset: 18);
        y.Shape.Should().Be(S(1, 3, 8, 11));
    }

    [Fact]
    public void Squeeze_axes_attribute_at_opset11_and_input_at_opset13()
    {
        var g11 = new ShapeTestGraph();
        var a = g11.Op("Squeeze", g11.Input("x", "N", 1, 5, 1), Ints("axes", 1, -1));
        var all = g11.Op("Squeeze", g11.Input("y", 1, 3, 1, 5));
        g11.Infer(opset: 11);
        a.Shape.Should().Be(S("N", 5));
        all.Shape.Should().Be(S(3, 5));

        var g13 = new ShapeTestGraph();
        var b = g13.Op("Squeeze", new[] { g13.Input("x", "N", 1, 5, 1), g13.Int64s("axes", 3) });
        g13.Infer(opset: 13);
        b.Shape.Should().Be(S("N", 1, 5));
    }

    [Fact]
    public void Unsqueeze_axes_attribute_at_opset11_and_input_at_opset13()
    {
        var g11 = new ShapeTestGraph();
        var a = g11.Op("Unsqueeze", g11.Input("x", 3, 4), Ints("axes", 0, 3));
        g11.Infer(opset: 11);
        a.Shape.Should().Be(S(1, 3, 4, 1));

        var g13 = new ShapeTestGraph();
        var b = g13.Op("Unsqueeze", new[] { g13.Input("x", 3, 4, 5), g13.Int64s("axes", -1, 2, 1) });
        g13.Infer(opset: 13);
        b.Shape.Should().Be(S(3, 1, 1, 4, 5, 1));
    }

    [Fact]
    public void Gather_replaces_the_axis_by_the_indices_shape()
    {
        var g = new ShapeTestGraph();
        var x = g.Input("x", 5, 6, 7);
        var many = g.Op("Gather", new[] { x, g.Input("i", DataType.Int64, 2, 3) }, Int("axis", 1));
        var one = g.Op("Gather", new[] { x, g.Scalar("j", 0) }, Int("axis", -1));
        g.Infer();
        many.Shape.Should().Be(S(5, 2, 3, 7));
        one.Shape.Should().Be(S(5, 6));
    }

    [Fact]
    public void GatherElements_and_GatherND()
    {
        var g = new ShapeTestGraph();
        var ge = g.Op("GatherElements", new[] { g.Input("x", 3, 4), g.Input("i", DataType.Int64, 3, 2) }, Int("axis", 1));
        var gnd = g.Op("GatherND", new[] { g.Input("d", 2, 3, 4), g.Input("j", DataType.Int64, 5, 2) });
        g.Infer();
        ge.Shape.Should().Be(S(3, 2));
        gnd.Shape.Should().Be(S(5, 4));
    }

    [Fact]
    public void Shape_with_start_and_end_at_opset15()
    {
        var g = new ShapeTestGraph();
        var x = g.Input("x", "N", 3, 4, 5);
        var all = g.Op("Shape", x);
        var tail = g.Op("Shape", x, Int("start", -2));
        var r = g.Infer(opset: 15);
        all.Shape.Should().Be(S(4));
        all.ElementType.Should().Be(DataType.Int64);
        tail.Shape.Should().Be(S(2));
        r.TryGetInt64s(tail, out var v).Should().BeTrue();
        v.Should().Equal(4, 5);
        r.TryGetShapeValue(all, out var dims).Should().BeTrue();
        dims.Should().Equal(Dim.Symbolic("N"), Dim.Known(3), Dim.Known(4), Dim.Known(5));
    }

    [Fact]
    public void Size_is_a_scalar_constant_for_static_shapes()
    {
        var g = new ShapeTestGraph();
        var size = g.Op("Size", g.Input("x", 2, 3, 4));
        var r = g.Infer();
        size.Shape.Should().Be(S());
        r.TryGetInt64s(size, out var v).Should().BeTrue();
        v.Should().Equal(24);
    }

    [Fact]
    public void Constant_value_attributes()
    {
        var g = new ShapeTestGraph();
        var ints = g.Op("Constant", Array.Empty<Value?>(), Ints("value_ints", 1, 2, 3));
        var f = g.Op("Constant", Array.Empty<Value?>(), Float("value_float", 2.5f));
        var t = g.Op("Constant", Array.Empty<Value?>(), OnnxPrune.IR.Attribute.FromTensor("value", DenseTensor.FromInt32s(new long[] { 2, 2 }, new[] { 1, 2, 3, 4 })));
        var r = g.Infer();
        ints.Shape.Should().Be(S(3));
        ints.ElementType.Should().Be(DataType.Int64);
        f.Shape.Should().Be(S());
        f.ElementType.Should().Be(DataType.Float);
        t.Shape.Should().Be(S(2, 2));
        t.ElementType.Should().Be(DataType.Int32);
        r.TryGetInt64s(t, out var v).Should().BeTrue();
        v.Should().Equal(1, 2, 3, 4);
    }

    [Fact]
    public void ConstantOfShape_takes_its_type_from_value()
    {
        var g = new ShapeTestGraph();
        var y = g.Op("ConstantOfShape", new[] { g.Int64s("shape", 2, 3) },
            OnnxPrune.IR.Attribute.FromTensor("value", DenseTensor.FromInt32s(new long[] { 1 }, new[] { 7 })));
        var dflt = g.Op("ConstantOfShape", new[] { g.Int64s("shape2", 4) });
        var r = g.Infer();
        y.Shape.Should().Be(S(2, 3));
        y.ElementType.Should().Be(DataType.Int32);
        r.TryGetInt64s(y, out var v).Should().BeTrue();
        v.Should().Equal(7, 7, 7, 7, 7, 7);
        dflt.ElementType.Should().Be(DataType.Float);
    }

    [Fact]
    public void Range_length_from_constant_operands()
    {
        // ceil((1 - 10) / -3) = 3: 10, 7, 4.
        var g = new ShapeTestGraph();
        var y = g.Op("Range", new[] { g.Scalar("s", 10), g.Scalar("l", 1), g.Scalar("d", -3) });
        var unknown = g.Op("Range", new[] { g.Input("a", DataType.Int64), g.Scalar("l2", 5), g.Scalar("d2", 1) });
        var r = g.Infer();
        y.Shape.Should().Be(S(3));
        r.TryGetInt64s(y, out var v).Should().BeTrue();
        v.Should().Equal(10, 7, 4);
        unknown.Shape.Should().Be(S((object?)null));
    }

    [Fact]
    public void Expand_and_Tile()
    {
        var g = new ShapeTestGraph();
        var x = g.Input("x", 3, 1);
        var expanded = g.Op("Expand", new[] { x, g.Int64s("shape", 2, 1, 6) });
        var tiled = g.Op("Tile", new[] { g.Input("y", "N", 2, 3), g.Int64s("reps", 1, 3, 2) });
        g.Infer();
        expanded.Shape.Should().Be(S(2, 3, 6));
        tiled.Shape.Should().Be(S("N", 6, 6));
    }

    [Fact]
    public void TopK_k_input_and_NonZero()
    {
        var g = new ShapeTestGraph();
        var topk = g.Node("TopK", new[] { g.Input("x", 3, 4), g.Int64s("k", 2) }, 2);
        var nz = g.Op("NonZero", g.Input("y", 3, 4, 5));
        g.Infer();
        topk.Outputs[0].Shape.Should().Be(S(3, 2));
        topk.Outputs[1].ElementType.Should().Be(DataType.Int64);
        nz.Shape.Should().Be(S(3, null));
        nz.ElementType.Should().Be(DataType.Int64);
    }

    [Fact]
    public void OneHot_inserts_depth()
    {
        var g = new ShapeTestGraph();
        var y = g.Op("OneHot", new[] { g.Input("i", DataType.Int64, 2, 3), g.Scalar("depth", 10), g.Float32s("values", 0, 1) }, Int("axis", 1));
        g.Infer();
        y.Shape.Should().Be(S(2, 10, 3));
        y.ElementType.Should().Be(DataType.Float);
    }
}
