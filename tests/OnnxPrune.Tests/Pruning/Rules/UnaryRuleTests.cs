using OnnxPrune.IR;
using OnnxPrune.Tests.Autodiff;
using static OnnxPrune.Tests.Pruning.Rules.RuleTestSupport;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Tests.Pruning.Rules;

/// <summary>UnaryRule: element-wise ops pass channels through. With f(0) = 0 a removed (zeroed)
/// channel stays zero and the next layer may drop it; with f(0) != 0 (Sigmoid(0) = 0.5) it
/// does not, so the next layer is a barrier, unless the value is multiplied by the zeroed
/// channel again (an SE gate) or only feeds filters that go with the channel.</summary>
public class UnaryRuleTests
{
    /// <summary>x[1,3,8,8] -> ca (4 ch) -> <paramref name="between"/> -> cb (2 ch) -> y.</summary>
    private static (Value Ca, Value Cb, Model Model) Between(int seed, Func<TestNet, Value, Value> between)
    {
        var net = new TestNet(seed: seed);
        var x = net.Input("x", [1, 3, 8, 8]);
        var ca = net.Conv(x, 3, 4, k: 3, pad: 1);
        var cb = net.Conv(between(net, ca), 4, 2);
        return (ca, cb, net.Finish(cb));
    }

    [Theory]
    [InlineData("Relu")]
    [InlineData("LeakyRelu")]
    [InlineData("Tanh")]
    [InlineData("HardSwish")]
    [InlineData("Elu")]
    [InlineData("Neg")]
    [InlineData("Softsign")]
    public void An_op_that_keeps_zero_at_zero_passes_channels_to_the_next_layer(string op)
    {
        var (ca, cb, model) = Between(1, (net, h) => net.Op(op, [h]));
        ShouldRemoveExactly(model);
        var a = Analyze(model);
        var g = a.Group(ca);
        g.ShouldBeFree(4);
        a.MembersOf(g).Should().Contain(Member(cb, 1, 1, "consumer"));
    }

    [Theory]
    [InlineData("Sigmoid")]
    [InlineData("HardSigmoid")]
    [InlineData("Exp")]
    [InlineData("Softplus")]
    [InlineData("Cos")]
    public void An_op_with_a_non_zero_value_at_zero_is_a_barrier_before_a_layer(string op)
    {
        var (ca, cb, model) = Between(2, (net, h) => net.Op(op, [h]));
        Analyze(model).Group(ca).ShouldBePinnedBy(4, PinAt(cb, "a removed channel may still carry a non-zero value here"));
    }

    [Fact]
    public void A_zero_keeping_op_after_it_does_not_make_the_channel_zero_again()
    {
        // Relu(Sigmoid(0)) = 0.5.
        var (ca, cb, model) = Between(3, (net, h) => net.Op("Relu", [net.Op("Sigmoid", [h])]));
        Analyze(model).Group(ca).ShouldBePinnedBy(4, PinAt(cb, "a removed channel may still carry a non-zero value here"));
    }

    [Fact]
    public void A_sigmoid_inside_a_squeeze_excitation_gate_is_fine()
    {
        // h * Sigmoid(se2(Relu(se1(GAP(h))))): a removed channel of h is 0 and 0 * 0.5 = 0;
        // the gate's channels are h's channels, so se2 and ca form one group.
        var net = new TestNet(seed: 4);
        var x = net.Input("x", [1, 3, 8, 8]);
        var ca = net.Conv(x, 3, 4, k: 3, pad: 1);
        var h = net.Op("Relu", [ca]);
        var se1 = net.Conv(net.Op("GlobalAveragePool", [h]), 4, 2);
        var se2 = net.Conv(net.Op("Relu", [se1]), 2, 4);
        var gated = net.Op("Mul", [h, net.Op("Sigmoid", [se2])]);
        var cb = net.Conv(gated, 4, 2);
        var model = net.Finish(cb);
        ShouldRemoveExactly(model);

        var a = Analyze(model);
        a.Groups.Should().HaveCount(3);
        var g = a.Group(ca, se2);
        g.ShouldBeFree(4);
        a.Group(se1).ShouldBeFree(2);
        a.MembersOf(g).Should().BeEquivalentTo(new[]
        {
            Member(ca, 1, 0, "producer"), Member(ca, 2, 0, "producer"),
            Member(se1, 1, 1, "consumer"),
            Member(se2, 1, 0, "producer"), Member(se2, 2, 0, "producer"),
            Member(cb, 1, 1, "consumer"),
        });
        a.RemoveUnits(g, 0);
        ca.DimsOfInput(1).Should().Equal(3, 3, 3, 3);
        se1.DimsOfInput(1).Should().Equal(2, 3, 1, 1);
        se2.DimsOfInput(1).Should().Equal(3, 2, 1, 1);
        cb.DimsOfInput(1).Should().Equal(2, 3, 1, 1);
    }

    [Fact]
    public void A_sigmoid_before_a_depthwise_conv_is_fine()
    {
        // Sigmoid(0) = 0.5 reaches only the depthwise filter of the same channel, which goes too.
        var net = new TestNet(seed: 5);
        var x = net.Input("x", [1, 3, 8, 8]);
        var ca = net.Conv(x, 3, 4, k: 3, pad: 1);
        var dw = net.Conv(net.Op("Sigmoid", [ca]), 4, 4, k: 3, pad: 1, group: 4);
        var cb = net.Conv(dw, 4, 2);
        var model = net.Finish(cb);
        ShouldRemoveExactly(model);
        Analyze(model).Group(ca).ShouldBeFree(4);
    }

    [Fact]
    public void A_per_channel_PRelu_slope_is_sliced_with_the_channels()
    {
        var (ca, cb, model) = Between(6, (net, h) => net.Op("PRelu", [h, net.Weight("slope", [4, 1, 1])]));
        ShouldRemoveExactly(model);

        var a = Analyze(model);
        var g = a.Group(ca);
        g.ShouldBeFree(4);
        var prelu = cb.N().Inputs[0]!;
        a.MembersOf(g).Should().Contain(Member(prelu, 1, 0, "perchannel"));
        var slope = prelu.DataOfInput(1);
        a.RemoveUnits(g, 1);
        prelu.DimsOfInput(1).Should().Equal(3, 1, 1);
        prelu.DataOfInput(1).Should().Equal(Keep(slope, [4, 1, 1], 0, 0, 2, 3));
    }

    [Fact]
    public void A_shared_PRelu_slope_is_left_alone()
    {
        var (ca, cb, model) = Between(7, (net, h) => net.Op("PRelu", [h, net.Constant("slope", [1], [0.25])]));
        ShouldRemoveExactly(model);
        var a = Analyze(model);
        a.Group(ca).ShouldBeFree(4);
        a.RemoveUnits(a.Group(ca), 0);
        cb.N().Inputs[0]!.DimsOfInput(1).Should().Equal(1);
    }

    [Theory]
    [InlineData(0.0, 6.0, false)] // Relu6: Clip(0) = 0
    [InlineData(-1.0, 1.0, false)]
    [InlineData(0.1, 6.0, true)] // Clip(0) = 0.1
    [InlineData(-6.0, -0.5, true)] // Clip(0) = -0.5
    public void Clip_keeps_zero_only_when_its_range_holds_zero(double min, double max, bool pinned)
    {
        var (ca, cb, model) = Between(8, (net, h) => net.Op("Clip", [h, net.Constant("min", [], [min]), net.Constant("max", [], [max])]));
        if (!pinned) ShouldRemoveExactly(model);
        var g = Analyze(model).Group(ca);
        if (pinned) g.ShouldBePinnedBy(4, PinAt(cb, "a removed channel may still carry a non-zero value here"));
        else g.ShouldBeFree(4);
    }
}
