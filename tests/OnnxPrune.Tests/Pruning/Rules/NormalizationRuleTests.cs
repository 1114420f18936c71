using OnnxPrune.IR;
using OnnxPrune.Tests.Autodiff;
using static OnnxPrune.Tests.Pruning.Rules.RuleTestSupport;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Tests.Pruning.Rules;

/// <summary>NormalizationRule (BatchNormalization, InstanceNormalization): every parameter
/// follows the channels; scale and shift are per-channel (zeroed in the exactness check), BN's
/// running mean and variance are statistics (sliced, never zeroed).</summary>
public class NormalizationRuleTests
{
    private static Value BatchNorm(TestNet net, Value x, int c) => net.Op("BatchNormalization",
        [x, net.Weight("scale", [c]), net.Weight("shift", [c]), net.Weight("mean", [c]), net.Constant("var", [c], net.Uniform(c, 0.5, 1.5))]);

    [Fact]
    public void BatchNorm_slices_all_four_parameters_and_zeroes_only_scale_and_shift()
    {
        var net = new TestNet(seed: 1);
        var x = net.Input("x", [1, 3, 8, 8]);
        var c1 = net.Conv(x, 3, 4, k: 3, pad: 1, bias: false);
        var bn = BatchNorm(net, c1, 4);
        var c2 = net.Conv(net.Op("Relu", [bn]), 4, 2);
        var model = net.Finish(c2);
        ShouldRemoveExactly(model);

        var a = Analyze(model);
        var g = a.Group(c1);
        g.ShouldBeFree(4);
        a.MembersOf(g).Should().BeEquivalentTo(new[]
        {
            Member(c1, 1, 0, "producer"),
            Member(bn, 1, 0, "perchannel"), Member(bn, 2, 0, "perchannel"),
            Member(bn, 3, 0, "statistic"), Member(bn, 4, 0, "statistic"),
            Member(c2, 1, 1, "consumer"),
        });

        var parameters = Enumerable.Range(1, 4).Select(i => bn.DataOfInput(i)).ToList();
        a.RemoveUnits(g, 1);
        for (int i = 1; i <= 4; i++)
            bn.DataOfInput(i).Should().Equal(Keep(parameters[i - 1], [4], 0, 0, 2, 3), $"BatchNorm input {i}");
        c2.DimsOfInput(1).Should().Equal(2, 3, 1, 1);
    }

    [Fact]
    public void InstanceNorm_slices_scale_and_shift()
    {
        var net = new TestNet(seed: 2);
        var x = net.Input("x", [1, 3, 8, 8]);
        var c1 = net.Conv(x, 3, 4, k: 3, pad: 1);
        var norm = net.Op("InstanceNormalization", [c1, net.Weight("scale", [4]), net.Weight("shift", [4])]);
        var c2 = net.Conv(net.Op("Relu", [norm]), 4, 2);
        var model = net.Finish(c2);
        ShouldRemoveExactly(model);

        var a = Analyze(model);
        var g = a.Group(c1);
        g.ShouldBeFree(4);
        a.MembersOf(g).Should().Contain([Member(norm, 1, 0, "perchannel"), Member(norm, 2, 0, "perchannel")]);
        a.RemoveUnits(g, 0, 3);
        norm.DimsOfInput(1).Should().Equal(2);
        norm.DimsOfInput(2).Should().Equal(2);
    }

    [Fact]
    public void Normalization_makes_a_removed_channel_zero_again()
    {
        // c1 + 3 is 3 where c1 was zeroed, so a conv right after it would pin; BN with scale and
        // shift zeroed outputs exactly 0 for that channel whatever comes in.
        var net = new TestNet(seed: 3);
        var x = net.Input("x", [1, 3, 8, 8]);
        var c1 = net.Conv(x, 3, 4, k: 3, pad: 1);
        var shifted = net.Op("Add", [c1, net.Constant("three", [], [3])]);
        var c2 = net.Conv(BatchNorm(net, shifted, 4), 4, 2);
        var model = net.Finish(c2);
        ShouldRemoveExactly(model);
        Analyze(model).Group(c1).ShouldBeFree(4);
    }

    [Fact]
    public void Parameters_that_are_not_constant_pin()
    {
        var net = new TestNet(seed: 4);
        var x = net.Input("x", [1, 3, 8, 8]);
        var scale = net.Input("scale", [4]);
        var c1 = net.Conv(x, 3, 4);
        var norm = net.Op("InstanceNormalization", [c1, scale, net.Weight("shift", [4])]);
        var c2 = net.Conv(norm, 4, 2);
        Analyze(net.Finish(c2)).Group(c1).ShouldBePinnedBy(4, PinAt(norm, "its parameters are not constant"));
    }

    [Fact]
    public void Channels_on_another_axis_than_1_pin()
    {
        // After an NHWC transpose, BatchNorm would normalize H, not the conv's channels.
        var net = new TestNet(seed: 5);
        var x = net.Input("x", [1, 3, 4, 4]);
        var c1 = net.Conv(x, 3, 4);
        var nhwc = net.Op("Transpose", [c1], Attribute.Ints("perm", [0, 2, 3, 1])); // [1, 4, 4, 4]
        var bn = BatchNorm(net, nhwc, 4);
        Analyze(net.Finish(bn)).Group(c1).ShouldBePinnedBy(4, PinAt(bn, "channels arrive on an axis other than 1"));
    }
}
