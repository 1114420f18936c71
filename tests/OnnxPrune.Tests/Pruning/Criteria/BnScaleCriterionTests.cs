namespace OnnxPrune.Tests.Pruning.Criteria;

using OnnxPrune.IR;
using OnnxPrune.Pruning.Criteria;
using OnnxPrune.Pruning.Pipeline;
using OnnxPrune.Tests.Autodiff;
using static OnnxPrune.Tests.Pruning.Rules.RuleTestSupport;

/// <summary>bn-scale (Network Slimming): |gamma| of the BatchNormalization that normalises the
/// channel, summed over a coupled group; a model without BatchNormalization is a clear error.</summary>
public class BnScaleCriterionTests
{
    private static Value BatchNorm(TestNet net, Value x, string name, double[] gamma) => net.Op("BatchNormalization",
        [x, net.Constant(name + "_scale", [gamma.Length], gamma), net.Weight(name + "_shift", [gamma.Length]),
         net.Weight(name + "_mean", [gamma.Length]), net.Constant(name + "_var", [gamma.Length], net.Uniform(gamma.Length, 0.5, 1.5))]);

    [Fact]
    public void Scores_are_the_absolute_BatchNorm_scales()
    {
        var net = new TestNet(seed: 1);
        var x = net.Input("x", [1, 2, 4, 4]);
        var c1 = net.Conv(x, 2, 3, k: 3, pad: 1);
        var bn = BatchNorm(net, c1, "bn", [0.5, -2, 1.5]);
        var c2 = net.Conv(net.Op("Relu", [bn]), 3, 1);
        var a = Analyze(net.Finish(c2));
        CriterionTestSupport.ShouldBeClose(CriterionTestSupport.GroupScores(new BnScaleCriterion(), a, a.Group(c1)), [0.5, 2, 1.5]);
    }

    /// <summary>Two conv+BN branches added: |0.5|+|1|, |-2|+|1|, |1.5|+|-0.25|.</summary>
    [Fact]
    public void A_coupled_group_sums_the_scales_of_every_member()
    {
        var net = new TestNet(seed: 2);
        var x = net.Input("x", [1, 2, 4, 4]);
        var a1 = net.Conv(x, 2, 3, bias: false);
        var b1 = net.Conv(x, 2, 3, bias: false);
        var sum = net.Op("Add", [BatchNorm(net, a1, "bna", [0.5, -2, 1.5]), BatchNorm(net, b1, "bnb", [1, 1, -0.25])]);
        var c2 = net.Conv(net.Op("Relu", [sum]), 3, 1);
        var a = Analyze(net.Finish(c2));
        var g = a.Group(a1, b1);
        g.ShouldBeFree(3);
        CriterionTestSupport.ShouldBeClose(CriterionTestSupport.GroupScores(new BnScaleCriterion(), a, g), [1.5, 3, 1.75]);
    }

    [Fact]
    public void A_model_with_BatchNorm_folded_into_its_convolutions_is_a_clear_error()
    {
        // conv -> Relu -> conv, as exported with the BatchNorm folded into the first conv.
        var net = new TestNet(seed: 3);
        var folded = net.Conv(net.Input("x", [1, 2, 4, 4]), 2, 3, k: 3, pad: 1);
        var a = Analyze(net.Finish(net.Conv(net.Op("Relu", [folded]), 3, 1)));
        var act = () => new BnScaleCriterion().Score(a);
        var e = act.Should().Throw<PruneInputException>().Which;
        e.Problem.Should().Be(PruneInputProblem.NoBatchNormalization);
        e.Message.Should().Contain("bn-scale needs BatchNormalization layers").And.Contain("folds them into its convolutions").And.EndWith("choose l1, l2 or fpgm");
    }

    [Fact]
    public void A_prunable_group_without_BatchNorm_among_others_with_one_is_named_in_the_error()
    {
        var net = new TestNet(seed: 4);
        var x = net.Input("x", [1, 2, 4, 4]);
        var c1 = net.Conv(x, 2, 3);
        var c2 = net.Conv(net.Op("Relu", [BatchNorm(net, c1, "bn", [1, 2, 3])]), 3, 4);
        var c3 = net.Conv(net.Op("Relu", [c2]), 4, 1);
        var a = Analyze(net.Finish(c3));
        var act = () => new BnScaleCriterion().Score(a);
        var e = act.Should().Throw<PruneInputException>().Which;
        e.Problem.Should().Be(PruneInputProblem.NoBatchNormalization);
        e.Message.Should().Contain("1 of 2 prunable group(s) have none").And.Contain(a.Group(c2).Name).And.NotContain(a.Group(c1).Name + ",");
    }
}
