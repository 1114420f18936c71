using OnnxPrune.IR;
using OnnxPrune.Tests.Autodiff;
using static OnnxPrune.Tests.Pruning.Rules.RuleTestSupport;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Tests.Pruning.Rules;

/// <summary>PadRule: padding other axes leaves the channels alone; padding the channel axis
/// pins; a non-zero pad value makes a removed channel non-zero at the border, so the next
/// layer must keep it.</summary>
public class PadRuleTests
{
    /// <summary>x[1,3,8,8] -> ca (4 ch) -> Pad -> cb (3x3, 2 ch).</summary>
    private static (Value Ca, Value Padded, Value Cb, Model Model) PadBetweenConvs(int seed, Func<TestNet, Value, Value> pad, int opset = 17, int padded = 4)
    {
        var net = new TestNet(seed: seed);
        var x = net.Input("x", [1, 3, 8, 8]);
        var ca = net.Conv(x, 3, 4, k: 3, pad: 1);
        var p = pad(net, ca);
        var cb = net.Conv(p, padded, 2, k: 3);
        var model = net.Finish(cb);
        model.OpsetImports[""] = opset;
        return (ca, p, cb, model);
    }

    public static TheoryData<string> SpatialPads() => new() { "zeros", "explicit zero", "reflect", "edge" };

    [Theory]
    [MemberData(nameof(SpatialPads))]
    public void Padding_spatial_axes_with_zeros_or_by_reflection_keeps_channels_prunable(string kind)
    {
        var (ca, padded, cb, model) = PadBetweenConvs(1, (net, h) => kind switch
        {
            "zeros" => net.Op("Pad", [h, net.Ints(0, 0, 1, 1, 0, 0, 1, 1)]),
            "explicit zero" => net.Op("Pad", [h, net.Ints(0, 0, 1, 1, 0, 0, 1, 1), net.Constant("zero", [], [0])]),
            _ => net.Op("Pad", [h, net.Ints(0, 0, 1, 1, 0, 0, 1, 1)], Attribute.String("mode", kind)),
        });
        ShouldRemoveExactly(model);

        var a = Analyze(model);
        var g = a.Group(ca);
        g.ShouldBeFree(4);
        a.CarrierOf(padded).Units.Should().Equal(g.Units);
        a.RemoveUnits(g, 1);
        cb.DimsOfInput(1).Should().Equal(2, 3, 3, 3);
    }

    [Fact]
    public void Padding_the_channel_axis_pins()
    {
        var (ca, padded, _, model) = PadBetweenConvs(2, (net, h) => net.Op("Pad", [h, net.Ints(0, 1, 0, 0, 0, 0, 0, 0)]), padded: 5);
        Analyze(model).Group(ca).ShouldBePinnedBy(4, PinAt(padded, "it pads the channel axis"));
    }

    [Fact]
    public void A_non_zero_pad_value_pins_at_the_next_layer()
    {
        // The border of a removed (zeroed) channel would read 1, which cb multiplies by its weights.
        var (ca, _, cb, model) = PadBetweenConvs(3, (net, h) => net.Op("Pad", [h, net.Ints(0, 0, 1, 1, 0, 0, 1, 1), net.Constant("one", [], [1])]));
        Analyze(model).Group(ca).ShouldBePinnedBy(4, PinAt(cb, "a removed channel may still carry a non-zero value here"));
    }

    [Fact]
    public void Pads_that_are_not_constant_pin()
    {
        var net = new TestNet(seed: 4);
        var x = net.Input("x", [1, 3, 8, 8]);
        var pads = new Value("pads", DataType.Int64, new Shape(8));
        net.Graph.AddInput(pads);
        var ca = net.Conv(x, 3, 4);
        var padded = net.Op("Pad", [ca, pads]);
        Analyze(net.Finish(net.Op("Relu", [padded]))).Group(ca).ShouldBePinnedBy(4, PinAt(padded, "its pads are not constant"));
    }

    [Theory]
    [InlineData(new long[] { 2, 3 }, new long[] { 1, 1, 1, 1 }, 4)]
    [InlineData(new long[] { -2, -1 }, new long[] { 1, 1, 1, 1 }, 4)]
    [InlineData(new long[] { 1 }, new long[] { 0, 2 }, 6)]
    [InlineData(new long[] { -3, 2 }, new long[] { 1, 0, 0, 0 }, 5)]
    public void With_the_axes_input_only_the_listed_axes_are_padded(long[] axes, long[] pads, int channelsAfter)
    {
        var (ca, padded, _, model) = PadBetweenConvs(5, (net, h) => net.Op("Pad", [h, net.Ints(pads), null, net.Ints(axes)]), opset: 18, padded: channelsAfter);
        bool padsChannels = channelsAfter != 4;
        if (!padsChannels) ShouldRemoveExactly(model);
        var a = Analyze(model);
        if (padsChannels) a.Group(ca).ShouldBePinnedBy(4, PinAt(padded, "it pads the channel axis"));
        else a.Group(ca).ShouldBeFree(4);
    }
}
