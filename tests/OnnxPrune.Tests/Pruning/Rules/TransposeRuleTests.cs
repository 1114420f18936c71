using OnnxPrune.IR;
using OnnxPrune.Tests.Autodiff;
using static OnnxPrune.Tests.Pruning.Rules.RuleTestSupport;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Tests.Pruning.Rules;

/// <summary>TransposeRule: the channel axis moves to where the permutation puts it (output axis
/// i reads input axis perm[i]), so NHWC graphs keep their channels prunable.</summary>
public class TransposeRuleTests
{
    [Fact]
    public void Channels_follow_a_round_trip_through_NHWC()
    {
        // tf2onnx: NHWC input, transposed around each conv.
        var net = new TestNet(seed: 1);
        var x = net.Input("x", [1, 8, 8, 3]);
        var ca = net.Conv(net.Op("Transpose", [x], Attribute.Ints("perm", [0, 3, 1, 2])), 3, 4, k: 3, pad: 1);
        var nhwc = net.Op("Transpose", [ca], Attribute.Ints("perm", [0, 2, 3, 1]));
        var nchw = net.Op("Transpose", [net.Op("Relu", [nhwc])], Attribute.Ints("perm", [0, 3, 1, 2]));
        var cb = net.Conv(nchw, 4, 2);
        var model = net.Finish(cb);
        ShouldRemoveExactly(model);

        var a = Analyze(model);
        var g = a.Group(ca);
        g.ShouldBeFree(4);
        a.CarrierOf(nhwc).Axis.Should().Be(3);
        a.CarrierOf(nchw).Axis.Should().Be(1);
        a.CarrierOf(nchw).Units.Should().Equal(g.Units);
        a.MembersOf(g).Should().Contain(Member(cb, 1, 1, "consumer"));
    }

    [Fact]
    public void NHWC_channels_are_the_features_of_a_MatMul()
    {
        var net = new TestNet(seed: 2);
        var x = net.Input("x", [1, 3, 8, 8]);
        var ca = net.Conv(x, 3, 4, k: 3, pad: 1);
        var nhwc = net.Op("Transpose", [ca], Attribute.Ints("perm", [0, 2, 3, 1])); // [1, 8, 8, 4]
        var m = net.Op("MatMul", [nhwc, net.Weight("wm", [4, 5])]);
        var model = net.Finish(m);
        ShouldRemoveExactly(model);

        var a = Analyze(model);
        var g = a.Group(ca);
        g.ShouldBeFree(4);
        a.MembersOf(g).Should().Contain(Member(m, 1, 0, "consumer"));
        var wm = m.DataOfInput(1);
        a.RemoveUnits(g, 2);
        m.DataOfInput(1).Should().Equal(Keep(wm, [4, 5], 0, 0, 1, 3));
    }

    [Fact]
    public void Without_perm_the_axes_are_reversed()
    {
        var net = new TestNet(seed: 3);
        var x = net.Input("x", [1, 3, 8, 8]);
        var ca = net.Conv(x, 3, 4, k: 3, pad: 1);
        var reversed = net.Op("Transpose", [ca]); // [8, 8, 4, 1]: channels on axis 2
        var back = net.Op("Transpose", [net.Op("Relu", [reversed])]);
        var cb = net.Conv(back, 4, 2);
        var model = net.Finish(cb);
        ShouldRemoveExactly(model);

        var a = Analyze(model);
        a.CarrierOf(reversed).Axis.Should().Be(2);
        a.CarrierOf(back).Axis.Should().Be(1);
        a.Group(ca).ShouldBeFree(4);
    }

    [Fact]
    public void A_transposed_model_output_is_pinned_on_its_moved_axis()
    {
        var net = new TestNet(seed: 4);
        var x = net.Input("x", [1, 3, 8, 8]);
        var ca = net.Conv(x, 3, 4);
        var nhwc = net.Op("Transpose", [ca], Attribute.Ints("perm", [0, 2, 3, 1]));
        Analyze(net.Finish(nhwc)).Group(ca).ShouldBePinnedBy(4, OutputPinOf(nhwc));
    }
}
