using OnnxPrune.IR;
using OnnxPrune.Tests.Autodiff;
using static OnnxPrune.Tests.Pruning.Rules.RuleTestSupport;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Tests.Pruning.Rules;

/// <summary>FlattenRule (Flatten, Reshape): [N,C,H,W] -> [N,C*H*W] gives each channel a block of
/// H*W consecutive features of the next Gemm; [N,C,1,1] -> [N,C] keeps the channel axis; a
/// constant Reshape target is rewritten, a computed one must say -1 there or trace back to a
/// constant; reshaping the channels together with other axes, or the axes before them, pins.</summary>
public class FlattenRuleTests
{
    /// <summary>x[1,3,4,4] -> ca (4 ch, 4x4) -> <paramref name="reshape"/> -> Gemm(W [5, features], transB).</summary>
    private static (Value Ca, Value Flat, Value Fc, Model Model) ConvToGemm(int seed, Func<TestNet, Value, Value> reshape, int features, bool symbolicBatch = false)
    {
        var net = new TestNet(seed: seed);
        var x = symbolicBatch ? net.SymbolicInput("x", [Dim.Symbolic("N"), 3, 4, 4], [1, 3, 4, 4]) : net.Input("x", [1, 3, 4, 4]);
        var ca = net.Conv(x, 3, 4, k: 3, pad: 1);
        var flat = reshape(net, net.Op("Relu", [ca]));
        var fc = net.Op("Gemm", [flat, net.Weight("wfc", [5, features]), net.Weight("bfc", [5])], Attribute.Int("transB", 1));
        return (ca, flat, fc, net.Finish(fc));
    }

    [Fact]
    public void Flatten_gives_each_channel_a_block_of_features()
    {
        var (ca, flat, fc, model) = ConvToGemm(1, (net, h) => net.Op("Flatten", [h], Attribute.Int("axis", 1)), 64);
        ShouldRemoveExactly(model);

        var a = Analyze(model);
        var g = a.Group(ca);
        g.ShouldBeFree(4);
        var (axis, units) = a.CarrierOf(flat);
        axis.Should().Be(1);
        units.Should().Equal(g.Units.SelectMany(u => Enumerable.Repeat(u, 16)));
        a.MembersOf(g).Should().Contain(Member(fc, 1, 1, "consumer"));

        var w = fc.DataOfInput(1);
        a.RemoveUnits(g, 1);
        fc.DimsOfInput(1).Should().Equal(5, 48);
        fc.DataOfInput(1).Should().Equal(Keep(w, [5, 64], 1, [.. Enumerable.Range(0, 16), .. Enumerable.Range(32, 32)]));
    }

    [Fact]
    public void Flatten_after_global_pooling_keeps_the_channel_axis()
    {
        var (ca, flat, fc, model) = ConvToGemm(2, (net, h) => net.Op("Flatten", [net.Op("GlobalAveragePool", [h])]), 4);
        ShouldRemoveExactly(model);

        var a = Analyze(model);
        var g = a.Group(ca);
        a.CarrierOf(flat).Units.Should().Equal(g.Units);
        a.RemoveUnits(g, 0, 2);
        fc.DimsOfInput(1).Should().Equal(5, 2);
    }

    [Theory]
    [InlineData(new long[] { 1, 64 }, new long[] { 1, 48 })] // explicit size: rewritten
    [InlineData(new long[] { 1, -1 }, new long[] { 1, -1 })] // inferred: left alone
    [InlineData(new long[] { 0, -1 }, new long[] { 0, -1 })]
    public void A_constant_reshape_target_follows_the_kept_features(long[] target, long[] after)
    {
        var (ca, flat, fc, model) = ConvToGemm(3, (net, h) => net.Op("Reshape", [h, net.Ints(target)]), 64);
        ShouldRemoveExactly(model);

        var a = Analyze(model);
        var g = a.Group(ca);
        g.ShouldBeFree(4);
        a.RemoveUnits(g, 3);
        flat.N().Inputs[1]!.ConstValue!.ToInt64Array().Should().Equal(after);
        fc.DimsOfInput(1).Should().Equal(5, 48);
    }

    [Fact]
    public void Reshape_of_pooled_channels_rewrites_the_channel_size()
    {
        var (ca, flat, fc, model) = ConvToGemm(4, (net, h) => net.Op("Reshape", [net.Op("GlobalAveragePool", [h]), net.Ints(1, 4)]), 4);
        ShouldRemoveExactly(model);

        var a = Analyze(model);
        a.RemoveUnits(a.Group(ca), 1);
        flat.N().Inputs[1]!.ConstValue!.ToInt64Array().Should().Equal(1, 3);
        fc.DimsOfInput(1).Should().Equal(5, 3);
    }

    [Fact]
    public void A_computed_target_is_traced_back_to_the_constant_that_holds_the_channel_size()
    {
        // paddle2onnx: target = concat(shape(h)[0:1], [64]) with a dynamic batch.
        var (ca, flat, fc, model) = ConvToGemm(5, (net, h) =>
        {
            var batch = net.Op("Gather", [net.Op("Shape", [h]), net.Ints(0)], Attribute.Int("axis", 0));
            var size = net.Ints(64);
            var target = net.Op("Concat", [batch, size], Attribute.Int("axis", 0));
            return net.Op("Reshape", [h, target]);
        }, 64, symbolicBatch: true);
        ShouldRemoveExactly(model);

        var a = Analyze(model);
        var g = a.Group(ca);
        g.ShouldBeFree(4);
        a.RemoveUnits(g, 0);
        var concat = flat.N().Inputs[1]!.N();
        concat.Inputs[1]!.ConstValue!.ToInt64Array().Should().Equal(48);
        fc.DimsOfInput(1).Should().Equal(5, 48);
    }

    [Fact]
    public void A_computed_target_with_an_explicit_size_that_cannot_be_traced_pins()
    {
        var net = new TestNet(seed: 6);
        var x = net.Input("x", [1, 3, 4, 4]);
        var ca = net.Conv(x, 3, 4, k: 3, pad: 1);
        var target = net.Op("Add", [net.Ints(1, 32), net.Ints(0, 32)]); // [1, 64], but not a constant we can rewrite
        var flat = net.Op("Reshape", [ca, target]);
        var fc = net.Op("Gemm", [flat, net.Weight("wfc", [5, 64])], Attribute.Int("transB", 1));
        Analyze(net.Finish(fc)).Group(ca).ShouldBePinnedBy(4, PinAt(flat, "its target shape is computed with an explicit channel size"));
    }

    [Theory]
    [InlineData(new long[] { 1, 2, 32 }, "it mixes the channel axis with others")]
    [InlineData(new long[] { 1, 8, 8 }, "it mixes the channel axis with others")]
    [InlineData(new long[] { 4, 16 }, "it reshapes the axes before the channels")]
    public void Reshapes_that_move_channels_across_other_axes_pin(long[] target, string why)
    {
        var net = new TestNet(seed: 7);
        var x = net.Input("x", [1, 3, 4, 4]);
        var ca = net.Conv(x, 3, 4, k: 3, pad: 1);
        var reshaped = net.Op("Reshape", [ca, net.Ints(target)]);
        Analyze(net.Finish(net.Op("Relu", [reshaped]))).Group(ca).ShouldBePinnedBy(4, PinAt(reshaped, why));
    }
}
