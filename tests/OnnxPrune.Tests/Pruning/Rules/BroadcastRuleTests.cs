using OnnxPrune.IR;
using OnnxPrune.Tests.Autodiff;
using static OnnxPrune.Tests.Pruning.Rules.RuleTestSupport;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Tests.Pruning.Rules;

/// <summary>BroadcastRule (Add, Sub, Mul, Div, Max, Min, Sum, Mean): inputs that carry channels
/// are coupled position by position (a residual Add ties its convs into one group); a constant
/// with one entry per channel is sliced with them; a scalar or spatial constant broadcasts, and
/// makes a removed channel non-zero unless it multiplies or divides it.</summary>
public class BroadcastRuleTests
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

    [Fact]
    public void A_residual_Add_couples_the_two_convs_into_one_group()
    {
        var net = new TestNet(seed: 1);
        var x = net.Input("x", [1, 3, 8, 8]);
        var ca = net.Conv(x, 3, 4, k: 3, pad: 1);
        var cb = net.Conv(x, 3, 4);
        var cc = net.Conv(net.Op("Relu", [net.Op("Add", [ca, cb])]), 4, 2);
        var model = net.Finish(cc);
        ShouldRemoveExactly(model);

        var a = Analyze(model);
        a.Groups.Should().HaveCount(2);
        var g = a.Group(ca, cb);
        g.ShouldBeFree(4);
        g.Producers.Should().Equal(ca.N(), cb.N());
        a.MembersOf(g).Should().BeEquivalentTo(new[]
        {
            Member(ca, 1, 0, "producer"), Member(ca, 2, 0, "producer"),
            Member(cb, 1, 0, "producer"), Member(cb, 2, 0, "producer"),
            Member(cc, 1, 1, "consumer"),
        });

        var (wa, wb) = (ca.DataOfInput(1), cb.DataOfInput(1));
        a.RemoveUnits(g, 1);
        ca.DataOfInput(1).Should().Equal(Keep(wa, [4, 3, 3, 3], 0, 0, 2, 3));
        cb.DataOfInput(1).Should().Equal(Keep(wb, [4, 3, 1, 1], 0, 0, 2, 3));
        cc.DimsOfInput(1).Should().Equal(2, 3, 1, 1);
    }

    [Fact]
    public void Sum_of_three_convs_is_one_group_of_three_producers()
    {
        var net = new TestNet(seed: 2);
        var x = net.Input("x", [1, 3, 8, 8]);
        var ca = net.Conv(x, 3, 4, k: 3, pad: 1);
        var cb = net.Conv(x, 3, 4);
        var cc = net.Conv(x, 3, 4, k: 3, pad: 1, bias: false);
        var cd = net.Conv(net.Op("Sum", [ca, cb, cc]), 4, 2);
        var model = net.Finish(cd);
        ShouldRemoveExactly(model);
        Analyze(model).Group(ca, cb, cc).ShouldBeFree(4);
    }

    [Theory]
    [InlineData("Add", new long[] { 4, 1, 1 }, 0)]
    [InlineData("Mul", new long[] { 1, 4, 1, 1 }, 1)]
    [InlineData("Sub", new long[] { 4, 1, 1 }, 0)]
    [InlineData("Max", new long[] { 4, 1, 1 }, 0)]
    public void A_per_channel_constant_is_sliced_with_the_channels(string op, long[] dims, int axis)
    {
        var (ca, cb, model) = Between(3, (net, h) => net.Op(op, [h, net.Weight("perchannel", dims)]));
        ShouldRemoveExactly(model);

        var a = Analyze(model);
        var g = a.Group(ca);
        g.ShouldBeFree(4);
        var node = cb.N().Inputs[0]!;
        a.MembersOf(g).Should().Contain(Member(node, 1, axis, "perchannel"));
        var constant = node.DataOfInput(1);
        a.RemoveUnits(g, 2);
        node.DimsOfInput(1)[axis].Should().Be(3);
        node.DataOfInput(1).Should().Equal(Keep(constant, dims, axis, 0, 1, 3));
    }

    public static TheoryData<string, long[], double, bool> ScalarsAndSpatialConstants() => new()
    {
        { "Add", [], 3, true }, // 0 + 3
        { "Sub", [], 3, true },
        { "Add", [], 0, false }, // 0 + 0
        { "Mul", [], 3, false }, // 0 * 3
        { "Div", [], 3, false }, // 0 / 3
        { "Add", [1, 1, 8, 8], 0.5, true },
        { "Mul", [1, 1, 8, 8], 0.5, false },
    };

    [Theory]
    [MemberData(nameof(ScalarsAndSpatialConstants))]
    public void A_broadcast_constant_pins_at_the_next_layer_when_it_makes_a_removed_channel_non_zero(string op, long[] dims, double value, bool pinned)
    {
        var (ca, cb, model) = Between(4, (net, h) => net.Op(op, [h, net.Constant("k", dims, Enumerable.Repeat(value, (int)TestNet.Count(dims)).ToArray())]));
        if (!pinned) ShouldRemoveExactly(model);
        var g = Analyze(model).Group(ca);
        if (pinned) g.ShouldBePinnedBy(4, PinAt(cb, "a removed channel may still carry a non-zero value here"));
        else g.ShouldBeFree(4);
    }

    [Fact]
    public void Dividing_by_a_channel_pins()
    {
        var net = new TestNet(seed: 5);
        var x = net.Input("x", [1, 3, 8, 8]);
        var ca = net.Conv(x, 3, 4, k: 3, pad: 1);
        var cb = net.Conv(x, 3, 4);
        var div = net.Op("Div", [ca, cb]);
        var cc = net.Conv(div, 4, 2);
        Analyze(net.Finish(cc)).Group(ca, cb).ShouldBePinnedBy(4, PinAt(div, "it divides by a prunable channel"));
    }

    [Fact]
    public void Channels_on_different_axes_pin_both_inputs()
    {
        var net = new TestNet(seed: 6);
        var x = net.Input("x", [1, 3, 4, 4]);
        var ca = net.Conv(x, 3, 4);
        var cb = net.Conv(x, 3, 4);
        var swapped = net.Op("Transpose", [cb], Attribute.Ints("perm", [0, 2, 1, 3])); // channels on axis 2
        var sum = net.Op("Add", [ca, swapped]);
        var cc = net.Conv(sum, 4, 2);
        var a = Analyze(net.Finish(cc));
        a.Group(ca).ShouldBePinnedBy(4, PinAt(sum, "its inputs carry channels on different axes"));
        a.Group(cb).ShouldBePinnedBy(4, PinAt(sum, "its inputs carry channels on different axes"));
    }

    [Fact]
    public void Features_of_lower_rank_broadcast_onto_the_last_axis_not_the_channels()
    {
        // [1, 4] + [1, 4, 4, 4]: the Gemm's features line up with W, the conv's channels with axis 1.
        var net = new TestNet(seed: 7);
        var x = net.Input("x", [1, 3, 4, 4]);
        var v = net.Input("v", [1, 6]);
        var ca = net.Conv(x, 3, 4);
        var fc = net.Op("Gemm", [v, net.Weight("wfc", [6, 4])]);
        var sum = net.Op("Add", [ca, fc]);
        var a = Analyze(net.Finish(net.Op("Relu", [sum])));
        a.Group(ca).ShouldBePinnedBy(4, PinAt(sum, "its inputs carry channels on different axes"));
        a.Group(fc).ShouldBePinnedBy(4, PinAt(sum, "its inputs carry channels on different axes"));
    }

    [Fact]
    public void A_per_channel_operand_that_is_not_a_parameter_pins()
    {
        var (ca, cb, model) = Between(8, (net, h) => net.Op("Add", [h, net.Input("bias", [1, 4, 1, 1])]));
        var add = cb.N().Inputs[0]!;
        Analyze(model).Group(ca).ShouldBePinnedBy(4, PinAt(add, "an operand that is not pruned has one entry per channel"));
    }

    [Fact]
    public void Dividing_by_a_per_channel_constant_is_checked_exactly()
    {
        var (ca, _, model) = Between(9, (net, h) => net.Op("Div", [h, net.Constant("scale", [4, 1, 1], [2, 4, 0.5, 8])]));
        ShouldRemoveExactly(model);
        Analyze(model).Group(ca).ShouldBeFree(4);
    }
}
