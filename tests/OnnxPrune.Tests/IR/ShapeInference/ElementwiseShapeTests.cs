using OnnxPrune.IR;
using static OnnxPrune.Tests.IR.ShapeInference.ShapeTestGraph;

namespace OnnxPrune.Tests.IR.ShapeInference;

/// <summary>Element-wise operators, numpy broadcasting, types of comparisons and casts, and
/// reductions.</summary>
public class ElementwiseShapeTests
{
    [Theory]
    [InlineData("Relu")] [InlineData("Sigmoid")] [InlineData("Tanh")] [InlineData("Exp")] [InlineData("Log")]
    [InlineData("Abs")] [InlineData("Neg")] [InlineData("Sqrt")] [InlineData("Clip")] [InlineData("LeakyRelu")]
    [InlineData("Elu")] [InlineData("Selu")] [InlineData("HardSigmoid")] [InlineData("HardSwish")]
    [InlineData("Softplus")] [InlineData("Erf")] [InlineData("Identity")] [InlineData("Softmax")]
    [InlineData("LogSoftmax")] [InlineData("Floor")] [InlineData("Ceil")] [InlineData("Round")]
    [InlineData("Reciprocal")] [InlineData("Sign")] [InlineData("Mish")] [InlineData("Celu")]
    public void Unary_ops_keep_type_and_shape(string op)
    {
        var g = new ShapeTestGraph();
        var y = g.Op(op, g.Input("x", "N", 3, 8, 8));
        g.Infer();
        y.Shape.Should().Be(S("N", 3, 8, 8));
        y.ElementType.Should().Be(DataType.Float);
    }

    [Fact]
    public void Broadcasting_aligns_trailing_dims()
    {
        var g = new ShapeTestGraph();
        var y = g.Op("Add", new[] { g.Input("a", 3, 1, 5), g.Input("b", 4, 5) });
        g.Infer();
        y.Shape.Should().Be(S(3, 4, 5));
    }

    [Fact]
    public void Broadcasting_keeps_symbolic_batch_against_one_and_takes_known_over_symbol()
    {
        var g = new ShapeTestGraph();
        var se = g.Op("Mul", new[] { g.Input("x", "N", 32, 14, 14), g.Input("gate", "N", 32, 1, 1) });
        var mixed = g.Op("Add", new[] { g.Input("p", "N", 1), g.Input("q", 1, 7) });
        var clash = g.Op("Add", new[] { g.Input("u", "A", 2), g.Input("v", "B", 2) });
        g.Infer();
        se.Shape.Should().Be(S("N", 32, 14, 14));
        mixed.Shape.Should().Be(S("N", 7));
        clash.Shape.Should().Be(S(null, 2));
    }

    [Theory]
    [InlineData("Equal")] [InlineData("Greater")] [InlineData("Less")] [InlineData("GreaterOrEqual")]
    [InlineData("LessOrEqual")] [InlineData("And")] [InlineData("Or")] [InlineData("Xor")]
    public void Comparisons_and_logic_give_bool(string op)
    {
        var g = new ShapeTestGraph();
        var y = g.Op(op, new[] { g.Input("a", 2, 3), g.Input("b", 3) });
        g.Infer();
        y.Shape.Should().Be(S(2, 3));
        y.ElementType.Should().Be(DataType.Bool);
    }

    [Fact]
    public void Variadic_ops_broadcast_all_inputs()
    {
        var g = new ShapeTestGraph();
        var sum = g.Op("Sum", new[] { g.Input("a", 3, 1), g.Input("b", 1, 4), g.Input("c", 4) });
        var max = g.Op("Max", new[] { g.Input("d", 2, 1, 5), g.Input("e", 6, 1) });
        g.Infer();
        sum.Shape.Should().Be(S(3, 4));
        max.Shape.Should().Be(S(2, 6, 5));
    }

    [Fact]
    public void Where_broadcasts_three_ways_and_takes_the_value_type()
    {
        var g = new ShapeTestGraph();
        var y = g.Op("Where", new[] { g.Input("c", DataType.Bool, 2, 1, 1), g.Input("x", DataType.Int32, 1, 3, 1), g.Input("y", DataType.Int32, 4) });
        g.Infer();
        y.Shape.Should().Be(S(2, 3, 4));
        y.ElementType.Should().Be(DataType.Int32);
    }

    [Fact]
    public void Legacy_broadcast_before_opset7_gives_the_first_operand_shape()
    {
        var g = new ShapeTestGraph();
        var y = g.Op("Add", new[] { g.Input("a", 2, 3, 4, 5), g.Input("b", 3, 4) }, Int("broadcast", 1), Int("axis", 1));
        g.Infer(opset: 6);
        y.Shape.Should().Be(S(2, 3, 4, 5));
    }

    [Fact]
    public void PRelu_output_has_the_data_shape()
    {
        var g = new ShapeTestGraph();
        var y = g.Op("PRelu", new[] { g.Input("x", "N", 16, 8, 8), g.Weights("slope", 16, 1, 1) });
        g.Infer();
        y.Shape.Should().Be(S("N", 16, 8, 8));
    }

    [Fact]
    public void Cast_to_attribute_int_and_opset1_string()
    {
        var g = new ShapeTestGraph();
        var x = g.Input("x", 2, 3);
        var y = g.Op("Cast", x, Int("to", (long)DataType.Int64));
        var like = g.Op("CastLike", new[] { x, g.Input("t", DataType.Float16, 1) });
        g.Infer();
        y.ElementType.Should().Be(DataType.Int64);
        y.Shape.Should().Be(S(2, 3));
        like.ElementType.Should().Be(DataType.Float16);

        var g1 = new ShapeTestGraph();
        var z = g1.Op("Cast", g1.Input("x", 2), Str("to", "INT32"));
        g1.Infer(opset: 1);
        z.ElementType.Should().Be(DataType.Int32);
    }

    [Fact]
    public void Dropout_mask_is_bool_from_opset10_and_data_typed_before()
    {
        var g12 = new ShapeTestGraph();
        var d12 = g12.Node("Dropout", new[] { g12.Input("x", "N", 10) }, 2);
        g12.Infer(opset: 12);
        d12.Outputs[0].Shape.Should().Be(S("N", 10));
        d12.Outputs[1].Shape.Should().Be(S("N", 10));
        d12.Outputs[1].ElementType.Should().Be(DataType.Bool);

        var g7 = new ShapeTestGraph();
        var d7 = g7.Node("Dropout", new[] { g7.Input("x", 4) }, 2);
        g7.Infer(opset: 7);
        d7.Outputs[1].ElementType.Should().Be(DataType.Float);
    }

    [Fact]
    public void Quantize_and_dequantize_types()
    {
        var g = new ShapeTestGraph();
        var x = g.Input("x", 1, 3, 4, 4);
        var zp = g.Graph.AddInitializer("zp", new DenseTensor(DataType.Int8, Array.Empty<long>(), new byte[1]));
        var q = g.Op("QuantizeLinear", new[] { x, g.Float32s("s", 0.5f), zp });
        var dq = g.Op("DequantizeLinear", new[] { q, g.Float32s("s2", 0.5f), zp });
        g.Infer();
        q.ElementType.Should().Be(DataType.Int8);
        q.Shape.Should().Be(S(1, 3, 4, 4));
        dq.ElementType.Should().Be(DataType.Float);
    }

    [Fact]
    public void Reduce_with_axes_attribute_and_keepdims()
    {
        var g = new ShapeTestGraph();
        var x = g.Input("x", "N", 16, 7, 7);
        var keep = g.Op("ReduceMean", x, Ints("axes", 2, 3));
        var drop = g.Op("ReduceMean", x, Ints("axes", -1, -2), Int("keepdims", 0));
        var all = g.Op("ReduceMax", x);
        g.Infer(opset: 13);
        keep.Shape.Should().Be(S("N", 16, 1, 1));
        drop.Shape.Should().Be(S("N", 16));
        all.Shape.Should().Be(S(1, 1, 1, 1));
    }

    [Fact]
    public void ReduceSum_axes_input_from_opset13_and_noop_with_empty_axes()
    {
        var g = new ShapeTestGraph();
        var x = g.Input("x", 3, 4, 5);
        var axes = g.Op("ReduceSum", new[] { x, g.Int64s("axes", 1) }, Int("keepdims", 0));
        var none = g.Op("ReduceSum", new[] { x });
        var noop = g.Op("ReduceSum", new[] { x }, Int("noop_with_empty_axes", 1));
        var runtime = g.Op("ReduceSum", new[] { x, g.Input("a", DataType.Int64, 1) });
        g.Infer(opset: 13);
        axes.Shape.Should().Be(S(3, 5));
        none.Shape.Should().Be(S(1, 1, 1));
        noop.Shape.Should().Be(S(3, 4, 5));
        runtime.Shape.Should().Be(S(null, null, null));
    }

    [Fact]
    public void ReduceMean_axes_is_an_attribute_until_opset18()
    {
        var g13 = new ShapeTestGraph();
        var a = g13.Op("ReduceMean", g13.Input("x", 3, 4, 5), Ints("axes", 0));
        g13.Infer(opset: 13);
        a.Shape.Should().Be(S(1, 4, 5));

        var g18 = new ShapeTestGraph();
        var b = g18.Op("ReduceMean", new[] { g18.Input("x", 3, 4, 5), g18.Int64s("axes", 0) });
        g18.Infer(opset: 18);
        b.Shape.Should().Be(S(1, 4, 5));
    }

    [Fact]
    public void ArgMax_is_int64_and_honours_keepdims()
    {
        var g = new ShapeTestGraph();
        var x = g.Input("x", "N", 10);
        var keep = g.Op("ArgMax", x, Int("axis", 1));
        var drop = g.Op("ArgMin", x, Int("axis", -1), Int("keepdims", 0));
        g.Infer();
        keep.Shape.Should().Be(S("N", 1));
        keep.ElementType.Should().Be(DataType.Int64);
        drop.Shape.Should().Be(S("N"));
    }
}
