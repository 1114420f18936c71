using OnnxPrune.IR;
using OnnxPrune.Tests.Autodiff;
using static OnnxPrune.Tests.Pruning.Rules.RuleTestSupport;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Tests.Pruning.Rules;

/// <summary>ResizeRule: Resize and Upsample pass channels through when their target follows the
/// channel count: scale 1 on the channel axis, or a sizes entry that is a constant the rewrite
/// changes (given, or computed as tf2onnx writes it) or the channel count of a Shape read of the
/// same channels. What it cannot prove pins, naming the Resize.</summary>
public class ResizeRuleTests
{
    private static readonly Attribute Linear = Attribute.String("mode", "linear");

    /// <summary>The input: a dynamic batch keeps the Shape arithmetic computed after the prepare
    /// passes; a static one lets them fold it into one initializer. The rule must follow both.</summary>
    private static Value Input(TestNet net, bool dynamicBatch, long[] dims) =>
        dynamicBatch ? net.SymbolicInput("x", [Dim.Symbolic("N"), .. dims.Skip(1).Select(d => Dim.Known(d))], dims) : net.Input("x", dims);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Tf2onnx_NHWC_resize_with_a_constant_channel_entry_in_computed_sizes_is_rewritten(bool dynamicBatch)
    {
        // The model: NHWC Resize (linear) whose sizes are Concat(Slice(Shape(t), 0, 1), [16, 16, C]).
        var net = new TestNet(seed: 1);
        var x = Input(net, dynamicBatch, [1, 3, 8, 8]);
        var ca = net.Conv(x, 3, 4, k: 3, pad: 1);
        var nhwc = net.Op("Transpose", [net.Op("Relu", [ca])], Attribute.Ints("perm", [0, 2, 3, 1]));
        var batch = net.Op("Slice", [net.Op("Shape", [nhwc]), net.Ints(0), net.Ints(1)]);
        var hwc = net.Ints(16, 16, 4);
        var sizes = net.Op("Concat", [batch, hwc], Attribute.Int("axis", 0));
        var up = net.Op("Resize", [nhwc, null, null, sizes], Linear);
        var nchw = net.Op("Transpose", [up], Attribute.Ints("perm", [0, 3, 1, 2]));
        var cb = net.Conv(nchw, 4, 2);
        var model = net.Finish(cb);
        ShouldRemoveExactly(model);

        var a = Analyze(model);
        var g = a.Group(ca);
        g.ShouldBeFree(4);
        a.RemoveUnits(g, 1);
        sizes.N().Inputs[1]!.ConstValue!.ToInt64Array().Should().Equal(16, 16, 3);
        cb.DimsOfInput(1).Should().Equal(2, 3, 1, 1);
    }

    [Fact]
    public void A_channel_entry_gathered_unsqueezed_and_cast_as_exporters_write_it_is_rewritten()
    {
        // sizes = Concat(Unsqueeze(Gather(Shape(ca), 0)), Cast(Constant int32 [C, 16, 16])) on NCHW.
        var net = new TestNet(seed: 2);
        var x = Input(net, true, [1, 3, 8, 8]);
        var ca = net.Conv(x, 3, 5, k: 3, pad: 1);
        var first = net.Graph.AddInitializer(new Value("first") { ConstValue = DenseTensor.FromInt64s([], [0]) });
        var n = net.Op("Unsqueeze", [net.Op("Gather", [net.Op("Shape", [ca]), first], Attribute.Int("axis", 0)), net.Ints(0)]);
        var chw = net.Op("Constant", [], Attribute.FromTensor("value", DenseTensor.FromInt32s([3], [5, 16, 16])));
        var sizes = net.Op("Concat", [n, net.Op("Cast", [chw], Attribute.Int("to", (long)DataType.Int64))], Attribute.Int("axis", 0));
        var up = net.Op("Resize", [ca, null, null, sizes], Linear);
        var cb = net.Conv(up, 5, 2);
        var model = net.Finish(cb);
        ShouldRemoveExactly(model);

        var a = Analyze(model);
        var g = a.Group(ca);
        g.ShouldBeFree(5);
        a.RemoveUnits(g, 0, 3);
        chw.N().Attributes["value"]!.AsTensor().ToInt64Array().Should().Equal(3, 16, 16);
    }

    [Fact]
    public void A_channel_entry_read_from_the_shape_of_the_same_channels_already_follows()
    {
        // sizes = Concat(Slice(Shape(ca), 0, 2), [16, 16]): N and C come from the input itself.
        var net = new TestNet(seed: 3);
        var x = Input(net, true, [1, 3, 8, 8]);
        var ca = net.Conv(x, 3, 4, k: 3, pad: 1);
        var nc = net.Op("Slice", [net.Op("Shape", [ca]), net.Ints(0), net.Ints(2)]);
        var up = net.Op("Resize", [ca, null, null, net.Op("Concat", [nc, net.Ints(16, 16)], Attribute.Int("axis", 0))], Linear);
        var model = net.Finish(net.Conv(up, 4, 2));
        ShouldRemoveExactly(model);
        Analyze(model).Group(ca).ShouldBeFree(4);
    }

    [Fact]
    public void Resizing_to_the_shape_of_another_branch_couples_the_two()
    {
        // FPN: Resize(top, sizes = Shape(lateral)) + lateral; the two channel counts stay equal.
        var net = new TestNet(seed: 4);
        var x = Input(net, false, [1, 3, 8, 8]);
        var lateral = net.Conv(x, 3, 4, k: 3, pad: 1);
        var top = net.Conv(net.Op("MaxPool", [x], Attribute.Ints("kernel_shape", [2, 2]), Attribute.Ints("strides", [2, 2])), 3, 4);
        var up = net.Op("Resize", [top, null, null, net.Op("Shape", [lateral])], Attribute.String("mode", "nearest"));
        var sum = net.Op("Add", [up, lateral]);
        var model = net.Finish(net.Conv(sum, 4, 2));
        ShouldRemoveExactly(model);
        Analyze(model).Group(top, lateral).ShouldBeFree(4);
    }

    [Fact]
    public void Computed_scales_with_a_constant_1_on_the_channel_axis_pass_channels_through()
    {
        // scales = Concat(Constant [1, 1], Div(Cast([16, 16]), Cast(Slice(Shape(ca), 2, 4)))).
        var net = new TestNet(seed: 5);
        var x = Input(net, true, [1, 3, 8, 8]);
        var ca = net.Conv(x, 3, 4, k: 3, pad: 1);
        var toFloat = Attribute.Int("to", (long)DataType.Float);
        var hw = net.Op("Cast", [net.Op("Slice", [net.Op("Shape", [ca]), net.Ints(2), net.Ints(4)])], toFloat);
        var ratio = net.Op("Div", [net.Op("Cast", [net.Ints(16, 16)], toFloat), hw]);
        var ones = net.Op("Constant", [], Attribute.FromTensor("value", DenseTensor.FromFloats([2], [1f, 1f])));
        var scales = net.Op("Concat", [ones, ratio], Attribute.Int("axis", 0));
        var up = net.Op("Resize", [ca, null, scales], Linear);
        var model = net.Finish(net.Conv(up, 4, 2));
        ShouldRemoveExactly(model);
        Analyze(model).Group(ca).ShouldBeFree(4);
    }

    [Fact]
    public void Constant_sizes_are_rewritten()
    {
        var net = new TestNet(seed: 6);
        var x = net.Input("x", [1, 3, 4, 4]);
        var ca = net.Conv(x, 3, 4, k: 3, pad: 1);
        var up = net.Op("Resize", [ca, null, null, net.Ints(1, 4, 8, 8)], Attribute.String("mode", "nearest"));
        var model = net.Finish(net.Conv(up, 4, 2));
        ShouldRemoveExactly(model);
        var a = Analyze(model);
        a.RemoveUnits(a.Group(ca), 2);
        up.N().Inputs[3]!.ConstValue!.ToInt64Array().Should().Equal(1, 3, 8, 8);
    }

    [Fact]
    public void Sizes_given_by_the_caller_pin_naming_the_resize()
    {
        var net = new TestNet(seed: 7);
        var x = net.Input("x", [1, 3, 4, 4]);
        var ca = net.Conv(x, 3, 4, k: 3, pad: 1);
        var sizes = new Value("sizes", DataType.Int64, new Shape([4]));
        net.Graph.AddInput(sizes);
        var up = net.Op("Resize", [ca, null, null, sizes], Attribute.String("mode", "nearest"));
        var model = net.Finish(net.Conv(up, 4, 2));
        Analyze(model).Group(ca).ShouldBePinnedBy(4, PinAt(up, "it cannot tell what its sizes' channel entry is"));
    }

    [Fact]
    public void Sizes_read_from_a_value_without_these_channels_pin()
    {
        // Resize to the shape of a second input: its channel count stays while ca's shrinks.
        var net = new TestNet(seed: 8);
        var x = net.Input("x", [1, 3, 4, 4]);
        var z = net.Input("z", [1, 4, 8, 8]);
        var ca = net.Conv(x, 3, 4, k: 3, pad: 1);
        var up = net.Op("Resize", [ca, null, null, net.Op("Shape", [z])], Attribute.String("mode", "nearest"));
        var model = net.Finish(net.Conv(up, 4, 2));
        Analyze(model).Group(ca).ShouldBePinnedBy(4, PinAt(up, "its sizes' channel entry is the size of 'z', which does not shrink with these channels"));
    }

    [Fact]
    public void A_channel_count_read_into_a_spatial_size_pins_both()
    {
        // sizes = Concat([1, 4], Slice(Shape(ca), 1, 2), [8]): H becomes ca's channel count.
        var net = new TestNet(seed: 9);
        var x = net.Input("x", [1, 3, 4, 4]);
        var ca = net.Conv(x, 3, 4, k: 3, pad: 1);
        var c = net.Op("Slice", [net.Op("Shape", [ca]), net.Ints(1), net.Ints(2)]);
        var sizes = net.Op("Concat", [net.Ints(1, 4), c, net.Ints(8)], Attribute.Int("axis", 0));
        var up = net.Op("Resize", [ca, null, null, sizes], Attribute.String("mode", "nearest"));
        var model = net.Finish(net.Conv(up, 4, 2));
        Analyze(model).Group(ca).ShouldBePinnedBy(4, PinAt(up, "its sizes read the channel count of '" + ca.Name + "' at another entry"));
    }

    [Theory]
    [InlineData(7)] // scales as an attribute
    [InlineData(9)] // scales as an input
    public void Upsample_with_scale_1_on_channels_passes_them_through(int opset)
    {
        var net = new TestNet(seed: 10);
        var x = net.Input("x", [1, 3, 4, 4]);
        var ca = net.Conv(x, 3, 4, k: 3, pad: 1);
        var up = opset < 9
            ? net.Op("Upsample", [ca], Attribute.Floats("scales", [1, 1, 2, 2]))
            : net.Op("Upsample", [ca, net.Constant("scales", [4], [1, 1, 2, 2])]);
        var model = net.Finish(net.Conv(up, 4, 2));
        model.OpsetImports[""] = opset;
        ShouldRemoveExactly(model);
        Analyze(model).Group(ca).ShouldBeFree(4);
    }

    [Fact]
    public void Upsample_of_the_channel_axis_pins()
    {
        var net = new TestNet(seed: 11);
        var x = net.Input("x", [1, 3, 4, 4]);
        var ca = net.Conv(x, 3, 4);
        var up = net.Op("Upsample", [ca, net.Constant("scales", [4], [1, 2, 1, 1])]);
        var model = net.Finish(net.Conv(up, 8, 2));
        model.OpsetImports[""] = 9;
        Analyze(model).Group(ca).ShouldBePinnedBy(4, PinAt(up, "it resizes the channel axis"));
    }
}
