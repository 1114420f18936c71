namespace OnnxPrune.Tests.Pruning.Policies;

using OnnxPrune.Pruning.Channels;
using OnnxPrune.Pruning.Cost;
using OnnxPrune.Pruning.Policy;
using OnnxPrune.Tests.Pruning.Criteria;
using static OnnxPrune.Tests.Pruning.Rules.RuleTestSupport;

/// <summary>
/// The width rule and how the latency guard coarsens it when a pruned model runs slower than the original
/// (<see cref="GroupConstraints.Coarser"/>). The net: x[1,4,8,8] -> convA 1x1 (4 -> 16) -> Relu -> convB 1x1
/// (16 -> 32) -> Relu -> convC 1x1 (32 -> 2, the output, pinned).
/// </summary>
public class GroupConstraintsTests
{
    [Fact]
    public void Coarser_first_drops_the_narrow_steps_then_doubles_the_multiple()
    {
        var rule = new GroupConstraints { RoundTo = 16, SmallStep = 4 };
        rule.RoundUp(10).Should().Be(12, "below 16 the default allows steps of 4");

        var plain = rule.Coarser();
        (plain.RoundTo, plain.SmallStep).Should().Be((16, 16));
        plain.RoundUp(10).Should().Be(16);
        plain.RoundUp(20).Should().Be(32);

        var doubled = plain.Coarser();
        (doubled.RoundTo, doubled.SmallStep).Should().Be((32, 32));
        doubled.RoundUp(20).Should().Be(32, "twice the multiple must not bring back the narrow steps (20, 24, 28)");
        doubled.MaxRatio.Should().Be(rule.MaxRatio);
    }

    [Fact]
    public void A_plan_under_the_coarser_rule_keeps_whole_blocks_of_16()
    {
        var (model, a, b) = TwoConvNet.Build();
        var analysis = Analyze(model);
        var estimator = new PrunedCostEstimator(analysis, CostModel.Measure(model.Graph));
        var (groupA, groupB) = (analysis.Group(a), analysis.Group(b));
        // A's channels score lowest, so a global threshold narrows A first.
        var scores = new Dictionary<int, double>();
        for (int i = 0; i < groupA.Units.Count; i++) scores[groupA.Units[i]] = i + 1;
        for (int j = 0; j < groupB.Units.Count; j++) scores[groupB.Units[j]] = 100 + j;
        int Kept(PrunePlan plan, ChannelGroup g) => g.ChannelCount - plan.Removed.Count(g.Units.Contains);
        var target = new PruneTarget.Macs(36_000, "88%");

        var rule = new GroupConstraints();
        var fine = new AllocationPlanner(analysis, scores, estimator, rule).Plan(target, Allocation.Global);
        fine.TargetMet.Should().BeTrue();
        Kept(fine, groupA).Should().BeLessThan(16, "the default rule narrows the 16-channel group in steps of 4");

        var coarse = new AllocationPlanner(analysis, scores, estimator, rule.Coarser()).Plan(target, Allocation.Global);
        coarse.TargetMet.Should().BeTrue();
        Kept(coarse, groupA).Should().Be(16);
        (Kept(coarse, groupB) % 16).Should().Be(0);
    }
}
