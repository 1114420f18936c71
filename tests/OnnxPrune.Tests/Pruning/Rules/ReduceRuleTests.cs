using OnnxPrune.IR;
using OnnxPrune.Tests.Autodiff;
using static OnnxPrune.Tests.Pruning.Rules.RuleTestSupport;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Tests.Pruning.Rules;

/// <summary>ReduceRule: reducing axes other than the channel axis keeps one value per channel
/// (on the same axis with keepdims, moved left by the reduced axes before it without);
/// reducing the channel axis, or possibly all axes, pins.</summary>
public class ReduceRuleTests
{
    [Theory]
    [InlineData("ReduceMean")]
    [InlineData("ReduceMax")]
    [InlineData("ReduceL2")]
    [InlineData("ReduceSumSquare")]
    public void Reducing_spatial_axes_with_keepdims_keeps_the_channel_axis(string op)
    {
        var net = new TestNet(seed: 1);
        var x = net.Input("x", [1, 3, 8, 8]);
        var ca = net.Conv(x, 3, 4, k: 3, pad: 1);
        var reduced = net.Op(op, [ca], Attribute.Ints("axes", [2, 3])); // [1, 4, 1, 1]
        var cb = net.Conv(reduced, 4, 2);
        var model = net.Finish(cb);
        ShouldRemoveExactly(model);

        var a = Analyze(model);
        a.Group(ca).ShouldBeFree(4);
        a.CarrierOf(reduced).Axis.Should().Be(1);
    }

    [Fact]
    public void Without_keepdims_the_channels_become_features()
    {
        var net = new TestNet(seed: 2);
        var x = net.Input("x", [1, 3, 8, 8]);
        var ca = net.Conv(x, 3, 4, k: 3, pad: 1);
        var reduced = net.Op("ReduceMean", [ca], Attribute.Ints("axes", [-1, -2]), Attribute.Int("keepdims", 0)); // [1, 4]
        var fc = net.Op("Gemm", [reduced, net.Weight("wfc", [4, 5])]);
        var model = net.Finish(fc);
        ShouldRemoveExactly(model);

        var a = Analyze(model);
        var g = a.Group(ca);
        a.CarrierOf(reduced).Axis.Should().Be(1);
        a.MembersOf(g).Should().Contain(Member(fc, 1, 0, "consumer"));
        a.RemoveUnits(g, 3);
        fc.DimsOfInput(1).Should().Equal(3, 5);
    }

    [Fact]
    public void Reducing_H_and_W_of_NHWC_moves_the_channels_to_axis_1()
    {
        var net = new TestNet(seed: 3);
        var x = net.Input("x", [1, 3, 8, 8]);
        var ca = net.Conv(x, 3, 4, k: 3, pad: 1);
        var nhwc = net.Op("Transpose", [ca], Attribute.Ints("perm", [0, 2, 3, 1]));
        var reduced = net.Op("ReduceMean", [nhwc], Attribute.Ints("axes", [1, 2]), Attribute.Int("keepdims", 0)); // [1, 4]
        var fc = net.Op("MatMul", [reduced, net.Weight("wfc", [4, 5])]);
        var model = net.Finish(fc);
        ShouldRemoveExactly(model);

        var a = Analyze(model);
        a.CarrierOf(reduced).Axis.Should().Be(1);
        a.Group(ca).ShouldBeFree(4);
    }

    [Fact]
    public void Axes_given_as_an_input_are_read()
    {
        var net = new TestNet(seed: 4);
        var x = net.Input("x", [1, 3, 8, 8]);
        var ca = net.Conv(x, 3, 4, k: 3, pad: 1);
        var reduced = net.Op("ReduceSum", [ca, net.Ints(2, 3)]); // axes input since opset 13
        var cb = net.Conv(reduced, 4, 2);
        var model = net.Finish(cb);
        ShouldRemoveExactly(model);
        Analyze(model).Group(ca).ShouldBeFree(4);
    }

    [Theory]
    [InlineData(new long[] { 1 })]
    [InlineData(new long[] { -3 })]
    [InlineData(new long[] { 1, 2, 3 })]
    public void Reducing_the_channel_axis_pins(long[] axes)
    {
        var net = new TestNet(seed: 5);
        var x = net.Input("x", [1, 3, 8, 8]);
        var ca = net.Conv(x, 3, 4);
        var reduced = net.Op("ReduceMean", [ca], Attribute.Ints("axes", axes));
        Analyze(net.Finish(net.Op("Relu", [reduced]))).Group(ca).ShouldBePinnedBy(4, PinAt(reduced, "it reduces over the channel axis"));
    }

    [Fact]
    public void Reducing_without_axes_pins()
    {
        var net = new TestNet(seed: 6);
        var x = net.Input("x", [1, 3, 8, 8]);
        var ca = net.Conv(x, 3, 4);
        var reduced = net.Op("ReduceMax", [ca]);
        Analyze(net.Finish(reduced)).Group(ca).ShouldBePinnedBy(4, PinAt(reduced, "it may reduce over the channel axis"));
    }

    [Fact]
    public void ReduceLogSumExp_of_a_removed_channel_is_not_zero()
    {
        var net = new TestNet(seed: 7);
        var x = net.Input("x", [1, 3, 8, 8]);
        var ca = net.Conv(x, 3, 4, k: 3, pad: 1);
        var reduced = net.Op("ReduceLogSumExp", [ca], Attribute.Ints("axes", [2, 3])); // log(64) where ca was zeroed
        var cb = net.Conv(reduced, 4, 2);
        var model = net.Finish(cb);
        ShouldKeepOutputs(model);
        Analyze(model).Group(ca).ShouldBePinnedBy(4, PinAt(cb, "a removed channel may still carry a non-zero value here"));
    }
}
