using OnnxPrune.IR;
using OnnxPrune.Tests.Autodiff;
using static OnnxPrune.Tests.Pruning.Rules.RuleTestSupport;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Tests.Pruning.Rules;

/// <summary>ConcatRule: along the channel axis the inputs' channels sit side by side at their
/// offsets (a consumer's slice is indexed by the concatenated positions); along another axis
/// the inputs must carry the same channels and are coupled; ConstantOfShape zero padding
/// becomes free units whose size is rewritten.</summary>
public class ConcatRuleTests
{
    [Fact]
    public void Concatenated_channels_keep_their_offsets_in_the_consumer()
    {
        var net = new TestNet(seed: 1);
        var x = net.Input("x", [1, 3, 8, 8]);
        var ca = net.Conv(x, 3, 3, k: 3, pad: 1);
        var cb = net.Conv(x, 3, 2, k: 3, pad: 1);
        var cat = net.Op("Concat", [ca, cb], Attribute.Int("axis", 1));
        var cc = net.Conv(net.Op("Relu", [cat]), 5, 2);
        var model = net.Finish(cc);
        ShouldRemoveExactly(model);

        var a = Analyze(model);
        a.Groups.Should().HaveCount(3, "concatenation does not couple the two convs");
        var (ga, gb) = (a.Group(ca), a.Group(cb));
        ga.ShouldBeFree(3);
        gb.ShouldBeFree(2);
        var (axis, units) = a.CarrierOf(cat);
        axis.Should().Be(1);
        units.Should().Equal(ga.Units[0], ga.Units[1], ga.Units[2], gb.Units[0], gb.Units[1]);

        var wc = cc.DataOfInput(1);
        a.Remove([ga.Units[1], gb.Units[0]]);
        cc.DimsOfInput(1).Should().Equal(2, 3, 1, 1);
        cc.DataOfInput(1).Should().Equal(Keep(wc, [2, 5, 1, 1], 1, 0, 2, 4));
        ca.DimsOfInput(1).Should().Equal(2, 3, 3, 3);
        cb.DimsOfInput(1).Should().Equal(1, 3, 3, 3);
    }

    [Fact]
    public void An_input_without_channels_keeps_its_positions()
    {
        var net = new TestNet(seed: 2);
        var x = net.Input("x", [1, 3, 8, 8]);
        var side = net.Input("side", [1, 2, 8, 8]);
        var ca = net.Conv(x, 3, 3, k: 3, pad: 1);
        var cat = net.Op("Concat", [side, ca], Attribute.Int("axis", -3)); // axis 1 of rank 4
        var cc = net.Conv(cat, 5, 2);
        var model = net.Finish(cc);
        ShouldRemoveExactly(model);

        var a = Analyze(model);
        var ga = a.Group(ca);
        ga.ShouldBeFree(3);
        a.CarrierOf(cat).Units.Should().Equal(-1, -1, ga.Units[0], ga.Units[1], ga.Units[2]);
        var wc = cc.DataOfInput(1);
        a.RemoveUnits(ga, 0);
        cc.DataOfInput(1).Should().Equal(Keep(wc, [2, 5, 1, 1], 1, 0, 1, 3, 4));
    }

    [Fact]
    public void The_same_tensor_twice_removes_both_copies()
    {
        var net = new TestNet(seed: 3);
        var x = net.Input("x", [1, 3, 8, 8]);
        var ca = net.Conv(x, 3, 3, k: 3, pad: 1);
        var cat = net.Op("Concat", [ca, ca], Attribute.Int("axis", 1));
        var cc = net.Conv(cat, 6, 2);
        var model = net.Finish(cc);
        ShouldRemoveExactly(model);

        var a = Analyze(model);
        var ga = a.Group(ca);
        var wc = cc.DataOfInput(1);
        a.RemoveUnits(ga, 1);
        cc.DataOfInput(1).Should().Equal(Keep(wc, [2, 6, 1, 1], 1, 0, 2, 3, 5));
    }

    [Fact]
    public void Concatenating_along_a_spatial_axis_couples_the_inputs()
    {
        var net = new TestNet(seed: 4);
        var x = net.Input("x", [1, 3, 8, 8]);
        var ca = net.Conv(x, 3, 4, k: 3, pad: 1);
        var cb = net.Conv(x, 3, 4);
        var cat = net.Op("Concat", [ca, cb], Attribute.Int("axis", 2)); // [1, 4, 16, 8]
        var cc = net.Conv(cat, 4, 2);
        var model = net.Finish(cc);
        ShouldRemoveExactly(model);

        var a = Analyze(model);
        a.Groups.Should().HaveCount(2);
        a.Group(ca, cb).ShouldBeFree(4);
        a.CarrierOf(cat).Axis.Should().Be(1);
    }

    [Fact]
    public void Concatenating_along_a_spatial_axis_with_an_input_without_channels_pins()
    {
        var net = new TestNet(seed: 5);
        var x = net.Input("x", [1, 3, 8, 8]);
        var other = net.Input("other", [1, 4, 8, 8]);
        var ca = net.Conv(x, 3, 4);
        var cat = net.Op("Concat", [ca, other], Attribute.Int("axis", 2));
        var cc = net.Conv(cat, 4, 2);
        Analyze(net.Finish(cc)).Group(ca).ShouldBePinnedBy(4, PinAt(cat, "it concatenates along another axis than the channels"));
    }

    [Fact]
    public void Zero_padding_from_ConstantOfShape_is_prunable_with_what_it_is_added_to()
    {
        // tf2onnx pads a shortcut's channels with zeros to match the residual branch:
        // s = concat(ca, zeros[2]) + cb. Channels 0..2 tie ca and cb; 3..4 tie the padding to cb.
        var net = new TestNet(seed: 6);
        var x = net.Input("x", [1, 3, 8, 8]);
        var ca = net.Conv(x, 3, 3);
        var zeros = net.Op("ConstantOfShape", [net.Ints(1, 2, 8, 8)], Attribute.FromTensor("value", DenseTensor.FromFloats([1], [0f])));
        var cat = net.Op("Concat", [ca, zeros], Attribute.Int("axis", 1));
        var cb = net.Conv(x, 3, 5, k: 3, pad: 1);
        var sum = net.Op("Add", [cat, cb]);
        var cc = net.Conv(net.Op("Relu", [sum]), 5, 2);
        var model = net.Finish(cc);
        ShouldRemoveExactly(model);

        var a = Analyze(model);
        a.Groups.Should().HaveCount(3);
        a.Group(ca, cb).ShouldBeFree(3);
        var padded = a.Group(cb);
        padded.ShouldBeFree(2);

        var wb = cb.DataOfInput(1);
        a.RemoveUnits(padded, 1);
        zeros.N().Inputs[0]!.ConstValue!.ToInt64Array().Should().Equal(1, 1, 8, 8);
        cb.DataOfInput(1).Should().Equal(Keep(wb, [5, 3, 3, 3], 0, 0, 1, 2, 3));
        cc.DimsOfInput(1).Should().Equal(2, 4, 1, 1);
    }
}
