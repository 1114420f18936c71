using OnnxPrune.IR;
using OnnxPrune.Tests.Autodiff;
using static OnnxPrune.Tests.Pruning.Rules.RuleTestSupport;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Tests.Pruning.Rules;

/// <summary>SliceRule: a step-1 range of the channel axis keeps those channels and its bounds
/// become "kept channels before the bound" after removal; slicing other axes leaves channels
/// alone; a stride on channels, or bounds not known, pin.</summary>
public class SliceRuleTests
{
    private static (TestNet Net, Value Ca, Value Sliced, Value Cb, Model Model) SliceOfConv(int seed, long[] starts, long[] ends, long[] axes, int slicedChannels, long[]? steps = null)
    {
        var net = new TestNet(seed: seed);
        var x = net.Input("x", [1, 3, 8, 8]);
        var ca = net.Conv(x, 3, 6, k: 3, pad: 1);
        Value?[] inputs = steps is null ? [ca, net.Ints(starts), net.Ints(ends), net.Ints(axes)] : [ca, net.Ints(starts), net.Ints(ends), net.Ints(axes), net.Ints(steps)];
        var sliced = net.Op("Slice", inputs);
        var cb = net.Conv(sliced, slicedChannels, 2);
        return (net, ca, sliced, cb, net.Finish(cb));
    }

    [Fact]
    public void A_channel_range_maps_units_and_its_bounds_count_what_is_kept()
    {
        var (_, ca, sliced, cb, model) = SliceOfConv(1, [1], [4], [1], 3);
        ShouldRemoveExactly(model);

        var a = Analyze(model);
        var g = a.Group(ca);
        // Channels 0, 4 and 5 are read by nobody: still removable; channel 1 stays so the slice is never empty.
        g.PrunableUnits.Should().Equal(g.Units[0], g.Units[2], g.Units[3], g.Units[4], g.Units[5]);
        g.PinReasons.Should().Equal(PinAt(sliced, KeepsOne));
        a.CarrierOf(sliced).Units.Should().Equal(g.Units[1], g.Units[2], g.Units[3]);
        a.MembersOf(g).Should().Contain(Member(cb, 1, 1, "consumer"));

        var wb = cb.DataOfInput(1);
        a.RemoveUnits(g, 0, 2);
        sliced.N().Inputs[1]!.ConstValue!.ToInt64Array().Should().Equal(0); // channel 0 gone before the start
        sliced.N().Inputs[2]!.ConstValue!.ToInt64Array().Should().Equal(2); // channels 1 and 3 kept below 4
        cb.DataOfInput(1).Should().Equal(Keep(wb, [2, 3, 1, 1], 1, 0, 2));
    }

    [Fact]
    public void Negative_and_out_of_range_bounds_are_clamped_like_ONNX()
    {
        // starts -4 of 6 channels is 2; ends past the end is 6: channels 2..5.
        var (_, ca, sliced, cb, model) = SliceOfConv(2, [-4], [long.MaxValue], [-3], 4);
        ShouldRemoveExactly(model);

        var a = Analyze(model);
        var g = a.Group(ca);
        a.CarrierOf(sliced).Units.Should().Equal(g.Units.Skip(2));
        var wb = cb.DataOfInput(1);
        a.RemoveUnits(g, 0, 3);
        sliced.N().Inputs[1]!.ConstValue!.ToInt64Array().Should().Equal(1);
        sliced.N().Inputs[2]!.ConstValue!.ToInt64Array().Should().Equal(4);
        cb.DataOfInput(1).Should().Equal(Keep(wb, [2, 4, 1, 1], 1, 0, 2, 3));
    }

    [Fact]
    public void Slicing_spatial_axes_leaves_the_channels_alone()
    {
        var (_, ca, sliced, cb, model) = SliceOfConv(3, [1, 0], [5, 4], [2, 3], 6);
        ShouldRemoveExactly(model);

        var a = Analyze(model);
        var g = a.Group(ca);
        g.ShouldBeFree(6);
        a.CarrierOf(sliced).Units.Should().Equal(g.Units);
        a.RemoveUnits(g, 5);
        sliced.N().Inputs[1]!.ConstValue!.ToInt64Array().Should().Equal(1, 0);
        cb.DimsOfInput(1).Should().Equal(2, 5, 1, 1);
    }

    [Fact]
    public void A_step_on_the_channel_axis_pins()
    {
        var (_, ca, sliced, _, model) = SliceOfConv(4, [0], [6], [1], 3, steps: [2]);
        Analyze(model).Group(ca).ShouldBePinnedBy(6, PinAt(sliced, "it slices channels with a step other than 1"));
    }

    [Fact]
    public void Bounds_that_are_not_constant_pin()
    {
        var net = new TestNet(seed: 5);
        var x = net.Input("x", [1, 3, 8, 8]);
        var starts = new Value("starts", DataType.Int64, new Shape(1));
        net.Graph.AddInput(starts);
        var ca = net.Conv(x, 3, 6);
        var sliced = net.Op("Slice", [ca, starts, net.Ints(4), net.Ints(1)]);
        var model = net.Finish(net.Op("Relu", [sliced]));
        Analyze(model).Group(ca).ShouldBePinnedBy(6, PinAt(sliced, "its bounds are not constant"));
    }

    [Fact]
    public void Before_opset_10_the_bound_attributes_are_rewritten()
    {
        var net = new TestNet(seed: 6);
        var x = net.Input("x", [1, 3, 8, 8]);
        var ca = net.Conv(x, 3, 6, k: 3, pad: 1);
        var sliced = net.Op("Slice", [ca], Attribute.Ints("starts", [2]), Attribute.Ints("ends", [6]), Attribute.Ints("axes", [1]));
        var cb = net.Conv(sliced, 4, 2);
        var model = net.Finish(cb);
        model.OpsetImports[""] = 9;
        ShouldRemoveExactly(model);

        var a = Analyze(model);
        var g = a.Group(ca);
        a.CarrierOf(sliced).Units.Should().Equal(g.Units.Skip(2));
        a.RemoveUnits(g, 1, 4);
        sliced.N().Attributes.GetInts("starts").Should().Equal(1);
        sliced.N().Attributes.GetInts("ends").Should().Equal(4);
        cb.DimsOfInput(1).Should().Equal(2, 3, 1, 1);
    }

    [Fact]
    public void Regression_a_one_channel_slice_into_pooling_never_becomes_empty()
    {
        // Found by the generated-graph properties: Conv(10) -> MaxPool -> Slice [2, 3) ->
        // GlobalAveragePool -> head. Removing channel 2 left the group 9 channels but the slice
        // none, and ONNX Runtime's pooling rejects the empty tensor; the slice now keeps one.
        var net = new TestNet(seed: 5);
        var x = net.Input("x", [1, 4, 8, 8]);
        var ca = net.Conv(x, 4, 10, k: 3, pad: 1);
        var pooled = net.Op("MaxPool", [ca], Attribute.Ints("kernel_shape", [2, 2]), Attribute.Ints("strides", [2, 2]));
        var sliced = net.Op("Slice", [pooled, net.Ints(2), net.Ints(3), net.Ints(1)]);
        var gap = net.Op("Reshape", [net.Op("GlobalAveragePool", [sliced]), net.Ints(1, 1)]);
        var model = net.Finish(net.Op("MatMul", [gap, net.Weight("wfc", [1, 5])]));
        ShouldRemoveExactly(model);

        var a = Analyze(model);
        var g = a.Group(ca);
        g.PrunableUnits.Should().HaveCount(9).And.NotContain(g.Units[2]);
        g.PinReasons.Should().Equal(PinAt(sliced, KeepsOne));
    }

    [Fact]
    public void A_slice_of_every_channel_keeps_none_back()
    {
        // [0, 6) of 6 channels is never emptier than its input: nothing is pinned for it.
        var (_, ca, _, _, model) = SliceOfConv(7, [0], [long.MaxValue], [1], 6);
        ShouldRemoveExactly(model);
        Analyze(model).Group(ca).ShouldBeFree(6);
    }
}
