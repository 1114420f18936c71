using OnnxPrune.IR;
using OnnxPrune.Tests.Autodiff;
using static OnnxPrune.Tests.Pruning.Rules.RuleTestSupport;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Tests.Pruning.Rules;

/// <summary>PassThroughRule (pooling, Resize, Upsample): each channel is processed on its own, so
/// output 0 carries the input's channels; MaxPool's indices encode the channel and a Resize of
/// the channel axis changes the count, so those pin.</summary>
public class PassThroughRuleTests
{
    public static TheoryData<string, Attribute[]> Pools() => new()
    {
        { "MaxPool", [Attribute.Ints("kernel_shape", [2, 2]), Attribute.Ints("strides", [2, 2])] },
        { "AveragePool", [Attribute.Ints("kernel_shape", [3, 3]), Attribute.Ints("pads", [1, 1, 1, 1])] },
        { "LpPool", [Attribute.Ints("kernel_shape", [2, 2])] },
        { "GlobalAveragePool", [] },
        { "GlobalMaxPool", [] },
    };

    [Theory]
    [MemberData(nameof(Pools))]
    public void Pooling_passes_channels_through(string op, Attribute[] attributes)
    {
        var net = new TestNet(seed: 1);
        var x = net.Input("x", [1, 3, 8, 8]);
        var ca = net.Conv(x, 3, 4, k: 3, pad: 1);
        var pooled = net.Op(op, [ca], attributes);
        var cb = net.Conv(pooled, 4, 2);
        var model = net.Finish(cb);
        ShouldRemoveExactly(model);

        var a = Analyze(model);
        var g = a.Group(ca);
        g.ShouldBeFree(4);
        a.CarrierOf(pooled).Units.Should().Equal(g.Units);
        a.RemoveUnits(g, 0);
        cb.DimsOfInput(1).Should().Equal(2, 3, 1, 1);
    }

    [Fact]
    public void MaxPool_indices_that_are_read_pin()
    {
        var net = new TestNet(seed: 2);
        var x = net.Input("x", [1, 3, 8, 8]);
        var ca = net.Conv(x, 3, 4);
        var outs = net.Ops("MaxPool", 2, [ca], Attribute.Ints("kernel_shape", [2, 2]), Attribute.Ints("strides", [2, 2]));
        var cb = net.Conv(outs[0], 4, 2);
        var idx = net.Op("Cast", [outs[1]], Attribute.Int("to", (long)DataType.Float));
        Analyze(net.Finish(cb, idx)).Group(ca).ShouldBePinnedBy(4, PinAt(outs[0], "its indices output depends on the channel count"));
    }

    [Fact]
    public void MaxPool_indices_that_are_a_model_output_pin()
    {
        var net = new TestNet(seed: 3);
        var x = net.Input("x", [1, 3, 8, 8]);
        var ca = net.Conv(x, 3, 4);
        var outs = net.Ops("MaxPool", 2, [ca], Attribute.Ints("kernel_shape", [2, 2]), Attribute.Ints("strides", [2, 2]));
        var cb = net.Conv(outs[0], 4, 2);
        outs[1].ElementType = DataType.Int64;
        var model = net.Finish(cb, outs[1]);
        ShouldKeepOutputs(model);
        Analyze(model).Group(ca).ShouldBePinnedBy(4, PinAt(outs[0], "its indices output depends on the channel count"));
    }

    [Fact]
    public void Resize_of_spatial_axes_passes_channels_through()
    {
        var net = new TestNet(seed: 4);
        var x = net.Input("x", [1, 3, 4, 4]);
        var ca = net.Conv(x, 3, 4, k: 3, pad: 1);
        var up = net.Op("Resize", [ca, null, net.Constant("scales", [4], [1, 1, 2, 2])], Attribute.String("mode", "nearest"));
        var cb = net.Conv(up, 4, 2);
        var model = net.Finish(cb);
        ShouldRemoveExactly(model);
        var a = Analyze(model);
        a.Group(ca).ShouldBeFree(4);
        a.CarrierOf(up).Units.Should().Equal(a.Group(ca).Units);
    }

    [Fact]
    public void Resize_of_the_channel_axis_pins()
    {
        var net = new TestNet(seed: 5);
        var x = net.Input("x", [1, 3, 4, 4]);
        var ca = net.Conv(x, 3, 4);
        var up = net.Op("Resize", [ca, null, net.Constant("scales", [4], [1, 2, 1, 1])], Attribute.String("mode", "nearest"));
        var cb = net.Conv(up, 8, 2);
        Analyze(net.Finish(cb)).Group(ca).ShouldBePinnedBy(4, PinAt(up, "it resizes the channel axis"));
    }
}
