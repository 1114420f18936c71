using OnnxPrune.IR;
using OnnxPrune.Tests.Autodiff;
using static OnnxPrune.Tests.Pruning.Rules.RuleTestSupport;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Tests.Pruning.Rules;

/// <summary>ShapeRule: Shape of a tensor with prunable channels is harmless while only other
/// axes are read from it (torch's flatten reads the batch size); reading the channel count as a
/// number pins, since it changes when channels go.</summary>
public class ShapeRuleTests
{
    /// <summary>x[1,3,8,8] -> ca (4 ch) -> cb -> y, and s = Shape(ca) -> <paramref name="read"/> -> a second (int64) output.</summary>
    private static (Value Ca, Value Shape, Model Model) ShapeRead(int seed, Func<TestNet, Value, Value> read, params Attribute[] shapeAttributes)
    {
        var net = new TestNet(seed: seed);
        var x = net.Input("x", [1, 3, 8, 8]);
        var ca = net.Conv(x, 3, 4, k: 3, pad: 1);
        var cb = net.Conv(ca, 4, 2);
        var s = net.Op("Shape", [ca], shapeAttributes);
        var r = read(net, s);
        r.ElementType = DataType.Int64;
        return (ca, s, net.Finish(cb, r));
    }

    [Fact]
    public void Torch_flatten_reads_only_the_batch_size()
    {
        // h.view(h.size(0), -1) with a dynamic batch: Shape -> Gather 0 -> Concat [N, -1] -> Reshape.
        var net = new TestNet(seed: 1);
        var x = net.SymbolicInput("x", [Dim.Symbolic("N"), 3, 4, 4], [1, 3, 4, 4]);
        var ca = net.Conv(x, 3, 4, k: 3, pad: 1);
        var h = net.Op("Relu", [ca]);
        var batch = net.Op("Gather", [net.Op("Shape", [h]), net.Ints(0)], Attribute.Int("axis", 0));
        var flat = net.Op("Reshape", [h, net.Op("Concat", [batch, net.Ints(-1)], Attribute.Int("axis", 0))]);
        var fc = net.Op("Gemm", [flat, net.Weight("wfc", [5, 64])], Attribute.Int("transB", 1));
        var model = net.Finish(fc);
        ShouldRemoveExactly(model);

        var a = Analyze(model);
        var g = a.Group(ca);
        g.ShouldBeFree(4);
        a.RemoveUnits(g, 2);
        fc.DimsOfInput(1).Should().Equal(5, 48);
    }

    [Fact]
    public void Gathering_the_channel_count_pins()
    {
        var (ca, s, model) = ShapeRead(2, (net, s) => net.Op("Gather", [s, net.Ints(1)], Attribute.Int("axis", 0)));
        Analyze(model).Group(ca).ShouldBePinnedBy(4, PinAt(s, "the channel count is read as a number"));
    }

    [Fact]
    public void Gathering_other_axes_through_a_Cast_is_harmless()
    {
        var (ca, _, model) = ShapeRead(3, (net, s) => net.Op("Gather", [net.Op("Cast", [s], Attribute.Int("to", (long)DataType.Int64)), net.Ints(0, 2, 3)], Attribute.Int("axis", 0)));
        Analyze(model).Group(ca).ShouldBeFree(4);
    }

    [Theory]
    [InlineData(0, 1, false)] // [N]
    [InlineData(2, 4, false)] // [H, W]
    [InlineData(0, 2, true)]  // [N, C]
    [InlineData(1, 4, true)]  // [C, H, W]
    public void Slicing_the_shape_pins_only_when_the_range_holds_the_channel_axis(long start, long end, bool pinned)
    {
        var (ca, s, model) = ShapeRead(4, (net, s) => net.Op("Slice", [s, net.Ints(start), net.Ints(end)]));
        var g = Analyze(model).Group(ca);
        if (pinned) g.ShouldBePinnedBy(4, PinAt(s, "the channel count is read as a number"));
        else g.ShouldBeFree(4);
    }

    [Fact]
    public void A_shape_that_is_a_model_output_pins()
    {
        var (ca, s, model) = ShapeRead(5, (_, s) => s);
        Analyze(model).Group(ca).ShouldBePinnedBy(4, PinAt(s, "the channel count is read as a number"));
    }

    [Fact]
    public void Gathering_the_channel_count_with_a_negative_index_pins()
    {
        var (ca, s, model) = ShapeRead(6, (net, s) => net.Op("Gather", [s, net.Ints(-3)], Attribute.Int("axis", 0)));
        Analyze(model).Group(ca).ShouldBePinnedBy(4, PinAt(s, "the channel count is read as a number"));
    }

    [Fact]
    public void A_shape_starting_at_the_channel_axis_pins_when_its_first_entry_is_read()
    {
        var (ca, s, model) = ShapeRead(7, (net, s) => net.Op("Gather", [s, net.Ints(0)], Attribute.Int("axis", 0)), Attribute.Int("start", 1));
        Analyze(model).Group(ca).ShouldBePinnedBy(4, PinAt(s, "the channel count is read as a number"));
    }
}
