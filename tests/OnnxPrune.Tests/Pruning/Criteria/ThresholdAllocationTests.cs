namespace OnnxPrune.Tests.Pruning.Criteria;

using OnnxPrune.Pruning.Channels;
using OnnxPrune.Pruning.Cost;
using OnnxPrune.Pruning.Policy;
using OnnxPrune.Tests.Autodiff;
using static OnnxPrune.Tests.Pruning.Rules.RuleTestSupport;

/// <summary>
/// The threshold allocation: T_l = T * nnz(W_l) / sum nnz(W_l') on scores normalised per model,
/// T searched for the least pruning that meets the target. The net: x[1,4,8,8] -> convA 1x1 (4 -> 16)
/// -> Relu -> convB 1x1 (16 -> 32) -> Relu -> convC 1x1 (32 -> 2, the output, pinned). MACs at 8x8:
/// A 64*16*4 = 4,096, B 64*32*16 = 32,768, C 64*2*32 = 4,096; 40,960 in all. Weights: A 16*4 = 64,
/// B 32*16 = 512 non-zeros, so A's share is 64/576 = 1/9 and B's 8/9.
/// </summary>
public class ThresholdAllocationTests
{
    private sealed record Net(ChannelAnalysis Analysis, ChannelGroup A, ChannelGroup B, PrunedCostEstimator Estimator);

    private static Net Build()
    {
        var (model, a, b) = TwoConvNet.Build();
        var analysis = Analyze(model);
        var baseline = CostModel.Measure(model.Graph);
        baseline.Macs.Should().Be(40_960);
        return new Net(analysis, analysis.Group(a), analysis.Group(b), new PrunedCostEstimator(analysis, baseline));
    }

    /// <summary>Channel i of A scores i + 1 (1..16), channel j of B scores j + 1 (1..32).</summary>
    private static Dictionary<int, double> RankScores(Net n)
    {
        var scores = new Dictionary<int, double>();
        for (int i = 0; i < n.A.Units.Count; i++) scores[n.A.Units[i]] = i + 1;
        for (int j = 0; j < n.B.Units.Count; j++) scores[n.B.Units[j]] = j + 1;
        return scores;
    }

    private static GroupConstraints Fine(double maxRatio = 0.9) => new() { RoundTo = 1, SmallStep = 1, MaxRatio = maxRatio };

    [Fact]
    public void Groups_with_more_weights_get_proportionally_higher_thresholds()
    {
        var n = Build();
        var planner = new AllocationPlanner(n.Analysis, RankScores(n), n.Estimator, Fine());
        var thresholds = planner.LayerThresholds(9.0).ToDictionary(t => t.Group.Id, t => t.Threshold);
        thresholds.Should().HaveCount(2, "convC's channels are the model's output and pinned");
        thresholds[n.A.Id].Should().BeApproximately(1.0, 1e-12, "T * 64 / 576 with T = 9");
        thresholds[n.B.Id].Should().BeApproximately(8.0, 1e-12, "T * 512 / 576 with T = 9");
    }

    [Fact]
    public void Scores_are_normalised_per_model()
    {
        var n = Build();
        var planner = new AllocationPlanner(n.Analysis, RankScores(n), n.Estimator, Fine());
        // Mean over all 48 channels: (136 + 528) / 48 = 664 / 48.
        var inputs = planner.LayerThresholdInputs().ToDictionary(x => x.Group.Id);
        inputs[n.A.Id].ModelNormalized[0].Should().BeApproximately(48.0 / 664, 1e-12);
        inputs[n.B.Id].ModelNormalized[^1].Should().BeApproximately(32 * 48.0 / 664, 1e-12);
    }

    /// <summary>
    /// Target 50%: at most 20,480 MACs. With U = mean * T / 9, A loses its floor(U) lowest channels and B
    /// its floor(8U). Removing kA from A and kB from B leaves 256(16-kA) + 64(16-kA)(32-kB) + 128(32-kB).
    /// U &lt; 1 (kA = 0, kB &lt;= 7): at least 4,096 + 1,152*25 = 32,896. U in [1, 2) (kA = 1, kB &lt;= 15):
    /// at least 3,840 + 1,088*17 = 22,336. U = 2: kA = 2, kB = 16, 3,584 + 1,024*16 = 19,968, which meets it.
    /// </summary>
    [Fact]
    public void Meets_a_MACs_target_with_the_least_T_that_does()
    {
        var n = Build();
        var plan = new AllocationPlanner(n.Analysis, RankScores(n), n.Estimator, Fine()).Plan(new PruneTarget.Macs(20_480, "50%"), Allocation.Threshold);
        plan.TargetMet.Should().BeTrue();
        plan.Macs.Should().Be(19_968);
        plan.Removed.Should().BeEquivalentTo(n.A.Units.Take(2).Concat(n.B.Units.Take(16)), "the lowest-scoring channels of each group");
    }

    /// <summary>
    /// Multiples of 8 and at most half of each group: A keeps 16 or 8, B 32, 24 or 16. Target 30% is
    /// 12,288 MACs, which only the narrowest allowed widths reach: 256*8 + 64*8*16 + 128*16 = 12,288.
    /// </summary>
    [Fact]
    public void Respects_the_width_rule_and_max_ratio()
    {
        var n = Build();
        var constraints = new GroupConstraints { RoundTo = 8, SmallStep = 8, MaxRatio = 0.5 };
        var plan = new AllocationPlanner(n.Analysis, RankScores(n), n.Estimator, constraints).Plan(new PruneTarget.Macs(12_288, "30%"), Allocation.Threshold);
        plan.TargetMet.Should().BeTrue();
        plan.Macs.Should().Be(12_288);
        plan.Removed.Count(n.A.Units.Contains).Should().Be(8);
        plan.Removed.Count(n.B.Units.Contains).Should().Be(16);
        plan.GroupsAtLimit.Should().Be(2);

        var tighter = new AllocationPlanner(n.Analysis, RankScores(n), n.Estimator, constraints).Plan(new PruneTarget.Macs(12_000, "29%"), Allocation.Threshold);
        tighter.TargetMet.Should().BeFalse("no allowed width goes below 12,288 MACs");
        tighter.Macs.Should().Be(12_288);
    }

    [Fact]
    public void Every_group_keeps_at_least_one_channel()
    {
        var n = Build();
        var plan = new AllocationPlanner(n.Analysis, RankScores(n), n.Estimator, Fine(maxRatio: 0.99)).Plan(new PruneTarget.Macs(100, "0.2%"), Allocation.Threshold);
        plan.TargetMet.Should().BeFalse();
        plan.Removed.Count(n.A.Units.Contains).Should().Be(15);
        plan.Removed.Count(n.B.Units.Contains).Should().Be(31);
        // 256*1 + 64*1*1 + 128*1
        plan.Macs.Should().Be(448);
    }
}
