using OnnxPrune.IR;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Tests.Autodiff;

/// <summary>Gradient checks (float64) for ops that move data around: Reshape, Flatten, Squeeze,
/// Unsqueeze, Transpose, Expand, Concat, Split, Slice, Pad.</summary>
public class LayoutGradientTests
{
    private static void Check(TestNet net, Value y, params string[] inputs)
    {
        var model = net.Finish(y);
        net.Target(ConvGradientTests.OutputDims(model, y));
        GradientCheck.Verify(model, net.Data, GradientCheck.Mse(), 1e-6, inputs: inputs);
    }

    [Fact]
    public void Reshape_flatten_squeeze_unsqueeze_and_transpose()
    {
        var net = new TestNet(DataType.Double, seed: 1);
        var x = net.Input("x", [2, 3, 4]);
        var t = net.Op("Transpose", [x], Attribute.Ints("perm", [2, 0, 1])); // (4,2,3)
        var r = net.Op("Reshape", [t, net.Ints(4, 1, 6)]);
        var s = net.Op("Squeeze", [r, net.Ints(1)]); // (4,6)
        var u = net.Op("Unsqueeze", [s, net.Ints(0, 3)]); // (1,4,6,1)
        var f = net.Op("Flatten", [u], Attribute.Int("axis", 2)); // (4,6)
        var y = net.Op("Transpose", [net.Op("Mul", [f, f])]); // default perm: (6,4)
        Check(net, y, "x");
    }

    [Fact]
    public void Expand_sums_over_the_expanded_axes()
    {
        var net = new TestNet(DataType.Double, seed: 2);
        var x = net.Input("x", [3, 1]);
        var y = net.Op("Expand", [x, net.Ints(2, 3, 4)]);
        Check(net, y, "x");
    }

    [Fact]
    public void Concat_gives_each_input_its_slab()
    {
        var net = new TestNet(DataType.Double, seed: 3);
        var a = net.Input("a", [2, 2, 3]);
        var b = net.Input("b", [2, 4, 3]);
        var c = net.Input("c", [2, 1, 3]);
        var y = net.Op("Concat", [a, b, c], Attribute.Int("axis", -2));
        Check(net, y, "a", "b", "c");
    }

    [Fact]
    public void Concat_with_one_input_needing_a_gradient_slices()
    {
        var net = new TestNet(DataType.Double, seed: 4);
        var a = net.Input("a", [2, 2, 3]);
        var b = net.Weight("b", [2, 4, 3]);
        var y = net.Op("Concat", [b, a], Attribute.Int("axis", 1));
        Check(net, y, "a");
    }

    [Fact]
    public void Split_concatenates_output_gradients_with_zeros_for_unused_outputs()
    {
        var net = new TestNet(DataType.Double, seed: 5);
        var x = net.Input("x", [2, 7, 3]);
        var parts = net.Ops("Split", 3, [x, net.Ints(2, 4, 1)], Attribute.Int("axis", 1));
        var y = net.Op("Mul", [parts[0], net.Op("Slice", [parts[1], net.Ints(0), net.Ints(2), net.Ints(1)])]); // parts[2] unused
        Check(net, y, "x");
    }

    [Theory]
    [InlineData(new long[] { 1, 0 }, new long[] { 4, 3 }, new long[] { 1, 2 }, new long[] { 1, 1 })]
    [InlineData(new long[] { 0, 1 }, new long[] { 5, 100 }, new long[] { 1, 2 }, new long[] { 2, 2 })]
    [InlineData(new long[] { -1 }, new long[] { -100 }, new long[] { 2 }, new long[] { -2 })]
    [InlineData(new long[] { 4, -3 }, new long[] { 0, 100 }, new long[] { 1, 0 }, new long[] { -1, 1 })]
    public void Slice_puts_the_gradient_back_in_place(long[] starts, long[] ends, long[] axes, long[] steps)
    {
        var net = new TestNet(DataType.Double, seed: 6);
        var x = net.Input("x", [2, 5, 6]);
        var y = net.Op("Slice", [x, net.Ints(starts), net.Ints(ends), net.Ints(axes), net.Ints(steps)]);
        Check(net, y, "x");
    }

    [Theory]
    [InlineData(new long[] { 0, 1, 2, 0, 0, 2, 1, 3 })]
    [InlineData(new long[] { 0, 0, -1, 1, 0, 1, 2, -2 })]
    public void Pad_slices_the_padding_off(long[] pads)
    {
        var net = new TestNet(DataType.Double, seed: 7);
        var x = net.Input("x", [2, 3, 4, 5]);
        var y = net.Op("Pad", [x, net.Ints(pads), net.Constant("value", [], [0.5])]);
        Check(net, y, "x");
    }

    [Theory]
    [InlineData(0, new long[] { 2, 0, -1, 2 }, new long[] { 4 })]
    [InlineData(1, new long[] { 1, -3, 1, 2, 0, 2 }, new long[] { 2, 3 })]
    [InlineData(2, new long[] { 3 }, new long[] { })]
    public void Gather_scatters_back_and_accumulates_repeated_indices(long axis, long[] indices, long[] indexDims)
    {
        var net = new TestNet(DataType.Double, seed: 8);
        var x = net.Input("x", [3, 4, 5]);
        var index = net.Graph.AddInitializer(new Value("indices") { ConstValue = DenseTensor.FromInt64s(indexDims, indices) });
        var y = net.Op("Gather", [x, index], Attribute.Int("axis", axis));
        Check(net, y, "x");
    }
}
