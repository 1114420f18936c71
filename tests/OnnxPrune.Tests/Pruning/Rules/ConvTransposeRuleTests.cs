using OnnxPrune.IR;
using OnnxPrune.Tests.Autodiff;
using static OnnxPrune.Tests.Pruning.Rules.RuleTestSupport;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Tests.Pruning.Rules;

/// <summary>ConvTransposeRule: the weight is [C_in, C_out, k...], the other way round from Conv:
/// input channels are consumed on axis 0, output channels produced on axis 1 (and the bias).</summary>
public class ConvTransposeRuleTests
{
    /// <summary>x[1,3,4,4] -> c1 (4 ch) -> Relu -> ConvTranspose(W [4, perGroupOut, 2, 2], stride 2) -> Relu -> c3 (2 ch).</summary>
    private static (TestNet Net, Value C1, Value Ct, Value C3) Upsampler(int seed, int group = 1, params Attribute[] extra)
    {
        int perGroupOut = group == 1 ? 5 : 3, cout = perGroupOut * group;
        var net = new TestNet(seed: seed);
        var x = net.Input("x", [1, 3, 4, 4]);
        var c1 = net.Conv(x, 3, 4, k: 3, pad: 1);
        var w = net.Weight("wt", [4, perGroupOut, 2, 2]);
        var b = net.Weight("bt", [cout]);
        var ct = net.Op("ConvTranspose", [net.Op("Relu", [c1]), w, b], [Attribute.Ints("strides", [2, 2]), Attribute.Int("group", group), .. extra]);
        var c3 = net.Conv(net.Op("Relu", [ct]), cout, 2);
        return (net, c1, ct, c3);
    }

    [Fact]
    public void Input_channels_are_weight_axis_0_and_output_channels_weight_axis_1()
    {
        var (net, c1, ct, c3) = Upsampler(1);
        var model = net.Finish(c3);
        ShouldRemoveExactly(model);

        var a = Analyze(model);
        a.Groups.Should().HaveCount(3);
        var g1 = a.Group(c1);
        var gt = a.Group(ct);
        g1.ShouldBeFree(4);
        gt.ShouldBeFree(5);
        a.MembersOf(g1).Should().BeEquivalentTo(new[] { Member(c1, 1, 0, "producer"), Member(c1, 2, 0, "producer"), Member(ct, 1, 0, "consumer") });
        a.MembersOf(gt).Should().BeEquivalentTo(new[] { Member(ct, 1, 1, "producer"), Member(ct, 2, 0, "producer"), Member(c3, 1, 1, "consumer") });

        var (wt, bt, w3) = (ct.DataOfInput(1), ct.DataOfInput(2), c3.DataOfInput(1));
        a.Remove([g1.Units[3], gt.Units[0], gt.Units[4]]);
        Verifier.Check(model.Graph).Should().BeEmpty();
        ct.DimsOfInput(1).Should().Equal(3, 3, 2, 2);
        ct.DataOfInput(1).Should().Equal(Keep(Keep(wt, [4, 5, 2, 2], 0, 0, 1, 2), [3, 5, 2, 2], 1, 1, 2, 3));
        ct.DataOfInput(2).Should().Equal(Keep(bt, [5], 0, 1, 2, 3));
        c3.DimsOfInput(1).Should().Equal(2, 3, 1, 1);
        c3.DataOfInput(1).Should().Equal(Keep(w3, [2, 5, 1, 1], 1, 1, 2, 3));
    }

    [Fact]
    public void A_grouped_transposed_conv_is_a_barrier_and_makes_no_group()
    {
        var (net, c1, ct, c3) = Upsampler(2, group: 2); // W [4, 3, 2, 2]: 6 outputs
        var a = Analyze(net.Finish(c3));
        a.Groups.Should().HaveCount(2);
        a.Group(c1).ShouldBePinnedBy(4, PinAt(ct, "only single-group transposed convolutions with constant weights are pruned"));
        a.Groups.Should().NotContain(g => g.Producers.Contains(ct.N()));
    }

    [Fact]
    public void An_explicit_output_shape_is_a_barrier()
    {
        var (net, c1, ct, c3) = Upsampler(3, 1, Attribute.Ints("output_shape", [8, 8]));
        var a = Analyze(net.Finish(c3));
        a.Group(c1).ShouldBePinnedBy(4, PinAt(ct, "only single-group transposed convolutions with constant weights are pruned"));
        a.Groups.Should().NotContain(g => g.Producers.Contains(ct.N()));
    }
}
