using OnnxPrune.IR;
using OnnxPrune.Tests.Autodiff;
using static OnnxPrune.Tests.Pruning.Rules.RuleTestSupport;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Tests.Pruning.Rules;

/// <summary>ConvRule: a Conv consumes its input channels (weight axis 1) and produces fresh
/// output channels (weight axis 0, bias); depthwise convolutions tie each output to its input
/// channel, grouped ones tie the same in-group position of every group.</summary>
public class ConvRuleTests
{
    [Fact]
    public void A_conv_produces_one_group_and_its_consumer_slices_the_input_axis()
    {
        var net = new TestNet(seed: 1);
        var x = net.Input("x", [1, 3, 8, 8]);
        var c1 = net.Conv(x, 3, 4, k: 3, pad: 1);
        var c2 = net.Conv(net.Op("Relu", [c1]), 4, 5);
        var model = net.Finish(c2);
        ShouldRemoveExactly(model);

        var a = Analyze(model);
        a.Groups.Should().HaveCount(2, "the graph input is not produced by a layer: only the two convs make groups");
        var g1 = a.Group(c1);
        g1.ShouldBeFree(4);
        a.Group(c2).ShouldBePinnedBy(5, OutputPinOf(c2));
        a.MembersOf(g1).Should().BeEquivalentTo(new[]
        {
            Member(c1, 1, 0, "producer"), Member(c1, 2, 0, "producer"), Member(c2, 1, 1, "consumer"),
        });

        var (w1, b1, w2) = (c1.DataOfInput(1), c1.DataOfInput(2), c2.DataOfInput(1));
        a.RemoveUnits(g1, 1, 2);
        c1.DimsOfInput(1).Should().Equal(2, 3, 3, 3);
        c1.DataOfInput(1).Should().Equal(Keep(w1, [4, 3, 3, 3], 0, 0, 3));
        c1.DataOfInput(2).Should().Equal(Keep(b1, [4], 0, 0, 3));
        c2.DimsOfInput(1).Should().Equal(5, 2, 1, 1);
        c2.DataOfInput(1).Should().Equal(Keep(w2, [5, 4, 1, 1], 1, 0, 3));
    }

    [Fact]
    public void A_depthwise_conv_joins_the_group_of_its_input_and_its_group_count_follows()
    {
        var net = new TestNet(seed: 2);
        var x = net.Input("x", [1, 3, 8, 8]);
        var c1 = net.Conv(x, 3, 4, k: 3, pad: 1);
        var dw = net.Conv(c1, 4, 4, k: 3, pad: 1, group: 4);
        var c3 = net.Conv(net.Op("Relu", [dw]), 4, 2);
        var model = net.Finish(c3);
        ShouldRemoveExactly(model);

        var a = Analyze(model);
        a.Groups.Should().HaveCount(2, "the depthwise conv makes no channels of its own");
        // The group's units are c1's; the depthwise filter and bias are producer slices of them.
        var g = a.Group(c1);
        g.ShouldBeFree(4);
        a.MembersOf(g).Should().BeEquivalentTo(new[]
        {
            Member(c1, 1, 0, "producer"), Member(c1, 2, 0, "producer"),
            Member(dw, 1, 0, "producer"), Member(dw, 2, 0, "producer"),
            Member(c3, 1, 1, "consumer"),
        }, "a depthwise filter has one input channel: nothing of it is a consumer slice");

        var wdw = dw.DataOfInput(1);
        a.RemoveUnits(g, 2);
        c1.DimsOfInput(1).Should().Equal(3, 3, 3, 3);
        dw.DimsOfInput(1).Should().Equal(3, 1, 3, 3);
        dw.DataOfInput(1).Should().Equal(Keep(wdw, [4, 1, 3, 3], 0, 0, 1, 3));
        dw.N().Attributes.GetInt("group", 0).Should().Be(3);
        c3.DimsOfInput(1).Should().Equal(2, 3, 1, 1);
    }

    [Fact]
    public void A_depthwise_multiplier_gives_each_input_channel_a_block_of_outputs()
    {
        var net = new TestNet(seed: 3);
        var x = net.Input("x", [1, 3, 8, 8]);
        var c1 = net.Conv(x, 3, 4, k: 3, pad: 1);
        var dw = net.Conv(c1, 4, 8, k: 3, pad: 1, group: 4); // outputs 2g and 2g+1 read input g
        var c3 = net.Conv(net.Op("Relu", [dw]), 8, 2);
        var model = net.Finish(c3);
        ShouldRemoveExactly(model);

        var a = Analyze(model);
        var g = a.Group(c1);
        g.ShouldBeFree(4);
        a.CarrierOf(dw).Units.Should().Equal(g.Units[0], g.Units[0], g.Units[1], g.Units[1], g.Units[2], g.Units[2], g.Units[3], g.Units[3]);

        var (wdw, w3) = (dw.DataOfInput(1), c3.DataOfInput(1));
        a.RemoveUnits(g, 1);
        dw.DimsOfInput(1).Should().Equal(6, 1, 3, 3);
        dw.DataOfInput(1).Should().Equal(Keep(wdw, [8, 1, 3, 3], 0, 0, 1, 4, 5, 6, 7));
        dw.N().Attributes.GetInt("group", 0).Should().Be(3);
        c3.DimsOfInput(1).Should().Equal(2, 6, 1, 1);
        c3.DataOfInput(1).Should().Equal(Keep(w3, [2, 8, 1, 1], 1, 0, 1, 4, 5, 6, 7));
    }

    [Fact]
    public void A_grouped_conv_ties_the_same_position_in_every_group_and_keeps_its_group_count()
    {
        var net = new TestNet(seed: 4);
        var x = net.Input("x", [1, 3, 8, 8]);
        var c1 = net.Conv(x, 3, 4, k: 3, pad: 1);
        var gc = net.Conv(net.Op("Relu", [c1]), 4, 6, k: 3, pad: 1, group: 2); // W [6, 2, 3, 3]
        var c3 = net.Conv(net.Op("Relu", [gc]), 6, 2);
        var model = net.Finish(c3);
        ShouldRemoveExactly(model);

        var a = Analyze(model);
        a.Groups.Should().HaveCount(3);
        var g1 = a.Group(c1);
        g1.ShouldBeFree(2); // channels 0 and 2, 1 and 3: position i of group 0 and of group 1
        a.CarrierOf(c1).Units.Should().Equal(g1.Units[0], g1.Units[1], g1.Units[0], g1.Units[1]);
        var gg = a.Group(gc);
        gg.ShouldBeFree(3); // outputs 0..2 of group 0 pair with outputs 3..5 of group 1
        a.CarrierOf(gc).Units.Should().Equal(gg.Units[0], gg.Units[1], gg.Units[2], gg.Units[0], gg.Units[1], gg.Units[2]);
        a.MembersOf(g1).Should().BeEquivalentTo(new[] { Member(c1, 1, 0, "producer"), Member(c1, 2, 0, "producer"), Member(gc, 1, 1, "consumer") });

        var (w1, wg, w3) = (c1.DataOfInput(1), gc.DataOfInput(1), c3.DataOfInput(1));
        a.Remove([g1.Units[0], gg.Units[1]]);
        Verifier.Check(model.Graph).Should().BeEmpty();
        c1.DataOfInput(1).Should().Equal(Keep(w1, [4, 3, 3, 3], 0, 1, 3));
        gc.DimsOfInput(1).Should().Equal(4, 1, 3, 3);
        gc.DataOfInput(1).Should().Equal(Keep(Keep(wg, [6, 2, 3, 3], 0, 0, 2, 3, 5), [4, 2, 3, 3], 1, 1));
        gc.N().Attributes.GetInt("group", 0).Should().Be(2, "every group lost the same position");
        c3.DataOfInput(1).Should().Equal(Keep(w3, [2, 6, 1, 1], 1, 0, 2, 3, 5));
    }

    [Fact]
    public void Weights_that_are_not_constant_pin_the_input_channels()
    {
        var net = new TestNet(seed: 5);
        var x = net.Input("x", [1, 3, 8, 8]);
        var w = net.Input("w", [2, 4, 1, 1]);
        var c1 = net.Conv(x, 3, 4);
        var c2 = net.Op("Conv", [c1, w]);
        var a = Analyze(net.Finish(c2));
        a.Groups.Should().ContainSingle("a conv without constant weights produces no prunable channels");
        a.Group(c1).ShouldBePinnedBy(4, PinAt(c2, "its weights are not a constant tensor"));
    }

    [Fact]
    public void Channels_on_another_axis_than_1_pin_at_a_conv()
    {
        // c1's channels moved to the last axis (NHWC); a Conv reads axis 1, which is now H.
        var net = new TestNet(seed: 6);
        var x = net.Input("x", [1, 3, 8, 8]);
        var c1 = net.Conv(x, 3, 4);
        var nhwc = net.Op("Transpose", [c1], Attribute.Ints("perm", [0, 2, 3, 1])); // [1, 8, 8, 4]
        var c2 = net.Conv(nhwc, 8, 2);
        var a = Analyze(net.Finish(c2));
        a.Group(c1).ShouldBePinnedBy(4, PinAt(c2, "channels arrive on an axis other than 1"));
        a.Group(c2).ShouldBePinnedBy(2, OutputPinOf(c2));
    }
}
