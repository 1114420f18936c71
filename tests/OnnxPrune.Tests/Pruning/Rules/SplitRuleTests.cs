using OnnxPrune.IR;
using OnnxPrune.Tests.Autodiff;
using static OnnxPrune.Tests.Pruning.Rules.RuleTestSupport;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Tests.Pruning.Rules;

/// <summary>SplitRule: along the channel axis each output gets its consecutive range of the
/// input's channels, and the split sizes are rewritten to the kept counts (an input from opset
/// 13, the attribute before); along another axis every output carries all channels.</summary>
public class SplitRuleTests
{
    [Fact]
    public void Each_output_gets_its_range_and_the_sizes_input_is_rewritten()
    {
        var net = new TestNet(seed: 1);
        var x = net.Input("x", [1, 3, 8, 8]);
        var ca = net.Conv(x, 3, 6, k: 3, pad: 1);
        var parts = net.Ops("Split", 2, [ca, net.Ints(2, 4)], Attribute.Int("axis", 1));
        var cb = net.Conv(parts[0], 2, 2);
        var cc = net.Conv(parts[1], 4, 3);
        var model = net.Finish(cb, cc);
        ShouldRemoveExactly(model);

        var a = Analyze(model);
        var g = a.Group(ca);
        g.PrunableUnits.Should().Equal(g.Units[1], g.Units[3], g.Units[4], g.Units[5]); // the first channel of each part stays
        g.PinReasons.Should().Equal(PinAt(parts[0], KeepsOne));
        a.CarrierOf(parts[0]).Units.Should().Equal(g.Units.Take(2));
        a.CarrierOf(parts[1]).Units.Should().Equal(g.Units.Skip(2));
        a.MembersOf(g).Should().BeEquivalentTo(new[]
        {
            Member(ca, 1, 0, "producer"), Member(ca, 2, 0, "producer"), Member(cb, 1, 1, "consumer"), Member(cc, 1, 1, "consumer"),
        });

        var (wb, wc) = (cb.DataOfInput(1), cc.DataOfInput(1));
        a.RemoveUnits(g, 1, 3);
        parts[0].N().Inputs[1]!.ConstValue!.ToInt64Array().Should().Equal(1, 3);
        cb.DataOfInput(1).Should().Equal(Keep(wb, [2, 2, 1, 1], 1, 0));
        cc.DataOfInput(1).Should().Equal(Keep(wc, [3, 4, 1, 1], 1, 0, 2, 3));
    }

    [Theory]
    [InlineData(17)] // no sizes: equal parts
    [InlineData(18)] // num_outputs
    public void An_equal_split_gets_explicit_sizes(int opset)
    {
        var net = new TestNet(seed: 2);
        var x = net.Input("x", [1, 3, 8, 8]);
        var ca = net.Conv(x, 3, 6, k: 3, pad: 1);
        var parts = opset >= 18
            ? net.Ops("Split", 2, [ca], Attribute.Int("axis", 1), Attribute.Int("num_outputs", 2))
            : net.Ops("Split", 2, [ca], Attribute.Int("axis", 1));
        var cb = net.Conv(parts[0], 3, 2);
        var cc = net.Conv(parts[1], 3, 2);
        var model = net.Finish(cb, cc);
        model.OpsetImports[""] = opset;
        ShouldRemoveExactly(model);

        var a = Analyze(model);
        var g = a.Group(ca);
        g.PrunableUnits.Should().HaveCount(4);
        a.RemoveUnits(g, 1);
        var split = parts[0].N();
        split.Inputs.Should().HaveCount(2);
        split.Inputs[1]!.ConstValue!.ToInt64Array().Should().Equal(2, 3);
        split.Attributes.Contains("num_outputs").Should().BeFalse("sizes and num_outputs cannot both be given");
    }

    [Fact]
    public void Before_opset_13_the_split_attribute_is_rewritten()
    {
        var net = new TestNet(seed: 3);
        var x = net.Input("x", [1, 3, 8, 8]);
        var ca = net.Conv(x, 3, 6, k: 3, pad: 1);
        var parts = net.Ops("Split", 2, [ca], Attribute.Int("axis", 1), Attribute.Ints("split", [4, 2]));
        var cb = net.Conv(parts[0], 4, 2);
        var cc = net.Conv(parts[1], 2, 2);
        var model = net.Finish(cb, cc);
        model.OpsetImports[""] = 11;
        ShouldRemoveExactly(model);

        var a = Analyze(model);
        var g = a.Group(ca);
        a.RemoveUnits(g, 1, 2, 5);
        parts[0].N().Attributes.GetInts("split").Should().Equal(2, 1);
        cb.DimsOfInput(1).Should().Equal(2, 2, 1, 1);
        cc.DimsOfInput(1).Should().Equal(2, 1, 1, 1);
    }

    [Fact]
    public void Splitting_another_axis_gives_every_output_all_channels()
    {
        var net = new TestNet(seed: 4);
        var x = net.Input("x", [1, 3, 8, 8]);
        var ca = net.Conv(x, 3, 4, k: 3, pad: 1);
        var parts = net.Ops("Split", 2, [ca, net.Ints(3, 5)], Attribute.Int("axis", 2));
        var cb = net.Conv(parts[0], 4, 2);
        var cc = net.Conv(parts[1], 4, 2);
        var model = net.Finish(cb, cc);
        ShouldRemoveExactly(model);

        var a = Analyze(model);
        var g = a.Group(ca);
        g.ShouldBeFree(4);
        a.CarrierOf(parts[0]).Units.Should().Equal(g.Units);
        a.CarrierOf(parts[1]).Units.Should().Equal(g.Units);
        a.RemoveUnits(g, 3);
        cb.DimsOfInput(1).Should().Equal(2, 3, 1, 1);
        cc.DimsOfInput(1).Should().Equal(2, 3, 1, 1);
        parts[0].N().Inputs[1]!.ConstValue!.ToInt64Array().Should().Equal(3, 5);
    }

    [Fact]
    public void Sizes_that_are_not_constant_pin()
    {
        var net = new TestNet(seed: 5);
        var x = net.Input("x", [1, 3, 8, 8]);
        var sizes = new Value("sizes", DataType.Int64, new Shape(2));
        net.Graph.AddInput(sizes);
        var ca = net.Conv(x, 3, 6);
        var parts = net.Ops("Split", 2, [ca, sizes], Attribute.Int("axis", 1));
        var model = net.Finish(net.Op("Relu", [parts[0]]), net.Op("Relu", [parts[1]]));
        Analyze(model).Group(ca).ShouldBePinnedBy(6, PinAt(parts[0], "its split sizes are not known constants"));
    }

    [Fact]
    public void Regression_no_split_part_becomes_empty()
    {
        // Like the generated-graph finding for Slice: a part whose every channel goes would be an
        // empty tensor that the convolution after it cannot read. Each part keeps its first channel.
        var net = new TestNet(seed: 6);
        var x = net.Input("x", [1, 3, 8, 8]);
        var ca = net.Conv(x, 3, 5, k: 3, pad: 1);
        var parts = net.Ops("Split", 2, [ca, net.Ints(1, 4)], Attribute.Int("axis", 1));
        var cb = net.Conv(net.Op("MaxPool", [parts[0]], Attribute.Ints("kernel_shape", [2, 2])), 1, 2);
        var cc = net.Conv(parts[1], 4, 2);
        var model = net.Finish(cb, cc);
        ShouldRemoveExactly(model);

        var g = Analyze(model).Group(ca);
        g.PrunableUnits.Should().Equal(g.Units[2], g.Units[3], g.Units[4]);
        g.PinReasons.Should().Equal(PinAt(parts[0], KeepsOne));
    }
}
