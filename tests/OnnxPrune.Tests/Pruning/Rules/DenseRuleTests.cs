using OnnxPrune.IR;
using OnnxPrune.Tests.Autodiff;
using static OnnxPrune.Tests.Pruning.Rules.RuleTestSupport;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Tests.Pruning.Rules;

/// <summary>DenseRule (Gemm and MatMul with a constant weight): input features are consumed on
/// the weight's K axis, output features produced on its N axis (axis 0 with Gemm transB, else
/// axis 1), with the bias; MatMul carries features on the last axis of any rank.</summary>
public class DenseRuleTests
{
    [Fact]
    public void Gemm_with_transB_produces_on_weight_axis_0_and_consumes_on_axis_1()
    {
        var net = new TestNet(seed: 1);
        var x = net.Input("x", [2, 6]);
        var g1 = net.Op("Gemm", [x, net.Weight("w1", [4, 6]), net.Weight("b1", [4])], Attribute.Int("transB", 1));
        var g2 = net.Op("Gemm", [net.Op("Relu", [g1]), net.Weight("w2", [3, 4]), net.Weight("b2", [3])], Attribute.Int("transB", 1));
        var model = net.Finish(g2);
        ShouldRemoveExactly(model);

        var a = Analyze(model);
        var g = a.Group(g1);
        g.ShouldBeFree(4);
        a.Group(g2).ShouldBePinnedBy(3, OutputPinOf(g2));
        a.MembersOf(g).Should().BeEquivalentTo(new[] { Member(g1, 1, 0, "producer"), Member(g1, 2, 0, "producer"), Member(g2, 1, 1, "consumer") });

        var (w1, b1, w2) = (g1.DataOfInput(1), g1.DataOfInput(2), g2.DataOfInput(1));
        a.RemoveUnits(g, 2);
        g1.DimsOfInput(1).Should().Equal(3, 6);
        g1.DataOfInput(1).Should().Equal(Keep(w1, [4, 6], 0, 0, 1, 3));
        g1.DataOfInput(2).Should().Equal(Keep(b1, [4], 0, 0, 1, 3));
        g2.DimsOfInput(1).Should().Equal(3, 3);
        g2.DataOfInput(1).Should().Equal(Keep(w2, [3, 4], 1, 0, 1, 3));
    }

    [Fact]
    public void Gemm_without_transB_produces_on_weight_axis_1_and_slices_a_row_bias_on_its_last_axis()
    {
        var net = new TestNet(seed: 2);
        var x = net.Input("x", [2, 6]);
        var g1 = net.Op("Gemm", [x, net.Weight("w1", [6, 4]), net.Weight("b1", [1, 4])]);
        var g2 = net.Op("Gemm", [net.Op("Relu", [g1]), net.Weight("w2", [4, 3])]);
        var model = net.Finish(g2);
        ShouldRemoveExactly(model);

        var a = Analyze(model);
        var g = a.Group(g1);
        g.ShouldBeFree(4);
        a.MembersOf(g).Should().BeEquivalentTo(new[] { Member(g1, 1, 1, "producer"), Member(g1, 2, 1, "producer"), Member(g2, 1, 0, "consumer") });

        var (w1, w2) = (g1.DataOfInput(1), g2.DataOfInput(1));
        a.RemoveUnits(g, 0);
        g1.DimsOfInput(1).Should().Equal(6, 3);
        g1.DataOfInput(1).Should().Equal(Keep(w1, [6, 4], 1, 1, 2, 3));
        g1.DimsOfInput(2).Should().Equal(1, 3);
        g2.DimsOfInput(1).Should().Equal(3, 3);
        g2.DataOfInput(1).Should().Equal(Keep(w2, [4, 3], 0, 1, 2, 3));
    }

    [Fact]
    public void MatMul_carries_features_on_the_last_axis_of_a_3d_input()
    {
        var net = new TestNet(seed: 3);
        var x = net.Input("x", [2, 5, 6]);
        var m1 = net.Op("MatMul", [x, net.Weight("w1", [6, 4])]);
        var biased = net.Op("Add", [m1, net.Weight("b1", [4])]);
        var m2 = net.Op("MatMul", [net.Op("Relu", [biased]), net.Weight("w2", [4, 3])]);
        var model = net.Finish(m2);
        ShouldRemoveExactly(model);

        var a = Analyze(model);
        var g = a.Group(m1);
        g.ShouldBeFree(4);
        a.CarrierOf(m1).Axis.Should().Be(2);
        a.MembersOf(g).Should().BeEquivalentTo(new[] { Member(m1, 1, 1, "producer"), Member(biased, 1, 0, "perchannel"), Member(m2, 1, 0, "consumer") });

        a.RemoveUnits(g, 1);
        m1.DimsOfInput(1).Should().Equal(6, 3);
        biased.DimsOfInput(1).Should().Equal(3);
        m2.DimsOfInput(1).Should().Equal(3, 3);
    }

    [Fact]
    public void A_MatMul_over_an_axis_that_is_not_the_channel_axis_pins()
    {
        // [1, 4, 8, 8] x [8, 5]: the product contracts W, the conv's channels stay on axis 1.
        var net = new TestNet(seed: 4);
        var x = net.Input("x", [1, 3, 8, 8]);
        var c1 = net.Conv(x, 3, 4);
        var m = net.Op("MatMul", [c1, net.Weight("w", [8, 5])]);
        var a = Analyze(net.Finish(m));
        a.Group(c1).ShouldBePinnedBy(4, PinAt(m, "features arrive on another axis or may be non-zero when removed"));
        a.Group(m).ShouldBePinnedBy(5, OutputPinOf(m));
        a.CarrierOf(m).Axis.Should().Be(3);
    }

    [Fact]
    public void A_weight_that_is_not_constant_pins_the_input_features()
    {
        var net = new TestNet(seed: 5);
        var x = net.Input("x", [2, 6]);
        var w = net.Input("w", [4, 3]);
        var g1 = net.Op("Gemm", [x, net.Weight("w1", [6, 4])]);
        var g2 = net.Op("Gemm", [g1, w]);
        var a = Analyze(net.Finish(g2));
        a.Groups.Should().ContainSingle();
        a.Group(g1).ShouldBePinnedBy(4, PinAt(g2, "its weights are not a constant matrix"));
    }

    [Fact]
    public void A_bias_that_is_not_per_feature_pins_the_output_features()
    {
        // C [2, 4] broadcasts per row and feature: it cannot be sliced along the features alone.
        var net = new TestNet(seed: 6);
        var x = net.Input("x", [2, 6]);
        var g1 = net.Op("Gemm", [x, net.Weight("w1", [6, 4]), net.Weight("c", [2, 4])]);
        var g2 = net.Op("Gemm", [g1, net.Weight("w2", [4, 3])]);
        var a = Analyze(net.Finish(g2));
        a.Group(g1).ShouldBePinnedBy(4, PinAt(g1, "its bias does not broadcast per output feature"));
    }

    [Fact]
    public void A_scalar_bias_makes_removed_features_non_zero()
    {
        // y1[:, j] = x W1[j]^T + c; with W1[j] zeroed it is c = 0.8, Relu keeps it, and g2 reads
        // it through W2[:, j]. Removing j must therefore be refused at g2 (or the bias handled).
        var net = new TestNet(seed: 7);
        var x = net.Input("x", [2, 6]);
        var g1 = net.Op("Gemm", [x, net.Weight("w1", [4, 6]), net.Constant("c", [1], [0.8])], Attribute.Int("transB", 1));
        var g2 = net.Op("Gemm", [net.Op("Relu", [g1]), net.Weight("w2", [3, 4])], Attribute.Int("transB", 1));
        var model = net.Finish(g2);
        ShouldKeepOutputs(model);
        Analyze(model).Group(g1).PrunableUnits.Should().BeEmpty("a removed feature is 0.8, not 0, when g2 reads it");
    }

    [Fact]
    public void Channels_on_the_second_operand_of_a_MatMul_are_pinned()
    {
        // s = q k^T: q and k share the contracted axis (4 features). q is pinned because the
        // weight of the product is not constant; k's features must be pinned just the same.
        var net = new TestNet(seed: 8);
        var x = net.Input("x", [1, 3, 6]);
        var q = net.Op("MatMul", [x, net.Weight("wq", [6, 4])]);
        var k = net.Op("MatMul", [x, net.Weight("wk", [6, 4])]);
        var kt = net.Op("Transpose", [k], Attribute.Ints("perm", [0, 2, 1])); // [1, 4, 3]
        var s = net.Op("MatMul", [q, kt]); // [1, 3, 3]
        var model = net.Finish(s);
        ShouldKeepOutputs(model); // today ORT rejects the pruned model: 4 vs 2 contracted features
        var a = Analyze(model);
        a.Group(q).ShouldBePinnedBy(4, PinAt(s, "its weights are not a constant matrix"));
        a.Group(k).PrunableUnits.Should().BeEmpty("k's features are contracted against q's, which stay");
    }

    [Fact]
    public void MatMul_of_a_vector_carries_features_on_axis_0()
    {
        var net = new TestNet(seed: 9);
        var x = net.Input("x", [6]);
        var m1 = net.Op("MatMul", [x, net.Weight("w1", [6, 4])]); // [4]
        var biased = net.Op("Add", [m1, net.Weight("b1", [4])]);
        var m2 = net.Op("MatMul", [net.Op("Relu", [biased]), net.Weight("w2", [4, 3])]); // [3]
        var model = net.Finish(m2);
        var a = Analyze(model);
        a.CarrierOf(m1).Axis.Should().Be(0);
        a.Group(m1).ShouldBeFree(4);
        ShouldRemoveExactly(model);
    }
}
