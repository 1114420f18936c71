namespace OnnxPrune.Tests.Pruning.Criteria;

using OnnxPrune.Pruning.Channels;
using OnnxPrune.Pruning.Cost;
using OnnxPrune.Pruning.Policy;
using OnnxPrune.Tests.Autodiff;
using static OnnxPrune.Tests.Pruning.Rules.RuleTestSupport;

/// <summary>
/// The latency allocation (greedy latency-saliency knapsack) against synthetic latency predictors, so the
/// answers can be worked out by hand. The net: x[1,4,8,8] -> convA 1x1 (4 -> 16) -> Relu -> convB 1x1
/// (16 -> 32) -> Relu -> convC 1x1 (32 -> 2, the output, pinned). Channel i of A scores i + 1 and channel j of
/// B scores j + 1 unless a test says otherwise; the knapsack compares scores normalised per model (one constant
/// for every channel), so removing a channel costs its raw score.
/// </summary>
public class LatencyAllocationTests
{
    private sealed record Net(ChannelAnalysis Analysis, ChannelGroup A, ChannelGroup B, PrunedCostEstimator Estimator, Dictionary<int, double> Scores);

    private static Net Build(double bScale = 1)
    {
        var (model, a, b) = TwoConvNet.Build();
        var analysis = Analyze(model);
        var groupA = analysis.Group(a);
        var groupB = analysis.Group(b);
        var scores = new Dictionary<int, double>();
        for (int i = 0; i < groupA.Units.Count; i++) scores[groupA.Units[i]] = i + 1;
        for (int j = 0; j < groupB.Units.Count; j++) scores[groupB.Units[j]] = (j + 1) * bScale;
        return new Net(analysis, groupA, groupB, new PrunedCostEstimator(analysis, CostModel.Measure(model.Graph)), scores);
    }

    /// <summary>Milliseconds from the kept widths of A and B.</summary>
    private sealed class WidthPredictor(Net net, Func<int, int, double> latency) : ILatencyPredictor
    {
        public int Calls { get; private set; }

        public double Predict(IReadOnlyCollection<int> removedRoots)
        {
            Calls++;
            var removed = removedRoots.ToHashSet();
            return latency(net.A.Units.Count(u => !removed.Contains(u)), net.B.Units.Count(u => !removed.Contains(u)));
        }
    }

    private static (int KeptA, int KeptB) Widths(Net n, PrunePlan plan) =>
        (n.A.Units.Count(u => !plan.Removed.Contains(u)), n.B.Units.Count(u => !plan.Removed.Contains(u)));

    private static AllocationPlanner Planner(Net n) =>
        new(n.Analysis, n.Scores, n.Estimator, new GroupConstraints { RoundTo = 1, SmallStep = 1, MaxRatio = 0.9 });

    [Fact]
    public void Without_a_latency_target_a_MACs_target_is_met_with_the_removals_that_save_latency()
    {
        var n = Build();
        var target = new PruneTarget.Macs(n.Estimator.Baseline.Macs * 3 / 4, "75%");
        var byProgress = Planner(n).Plan(target, Allocation.Latency);
        // Only B's width costs time here.
        var priced = new AllocationPlanner(n.Analysis, n.Scores, n.Estimator, new GroupConstraints { RoundTo = 1, SmallStep = 1, MaxRatio = 0.9 })
            { Pricing = new WidthPredictor(n, (a, b) => 10.0 * b) }.Plan(target, Allocation.Latency);

        byProgress.TargetMet.Should().BeTrue();
        priced.TargetMet.Should().BeTrue();
        Widths(n, byProgress).KeptA.Should().BeLessThan(16, "an A channel saves twice the MACs of a B channel for the same score");
        Widths(n, priced).KeptA.Should().Be(16, "removing A's channels saves no time");
        // 10,240 MACs to save at 1,152 per B channel: 9 of them.
        Widths(n, priced).KeptB.Should().Be(23);
    }

    [Fact]
    public void One_millisecond_per_channel_removes_the_channels_of_least_score()
    {
        var n = Build();
        var predictor = new WidthPredictor(n, (a, b) => a + b);
        var plan = Planner(n).Plan(new PruneTarget.Latency(36, predictor, "36ms"), Allocation.Latency);

        plan.TargetMet.Should().BeTrue();
        // 12 channels go, the 12 of least score: 1, 1, 2, 2, ..., 6, 6 (six of A's and six of B's).
        Widths(n, plan).Should().Be((10, 26));
        plan.Removed.Should().BeEquivalentTo(n.A.Units.Take(6).Concat(n.B.Units.Take(6)));
    }

    [Fact]
    public void A_latency_plateau_is_jumped_and_the_overshoot_given_back()
    {
        // B's channels score a quarter of A's: B's first eight cost 36 / 4 = 9 in all.
        var n = Build(bScale: 0.25);
        // B's kernel pads to blocks of 8 channels: widths 25..32 cost what 32 costs.
        var predictor = new WidthPredictor(n, (a, b) => a + 8 * Math.Ceiling(b / 8.0));
        var plan = Planner(n).Plan(new PruneTarget.Latency(40, predictor, "40ms"), Allocation.Latency);

        plan.TargetMet.Should().BeTrue();
        var (keptA, keptB) = Widths(n, plan);
        // Step 1: A's first channel (score 1 for 1 of the 8 ms to save: 8 per ms) beats B's block (9 for 8 ms, capped at the
        // whole excess: 9). Step 2: A's second (2 for 1 of 7 ms: 14) loses to B's block (9): 39 ms, one under the budget.
        keptB.Should().Be(24, "only a whole block of B saves anything, and it is jumped to");
        keptA.Should().Be(16, "A's channel removed before the jump fits in the budget again and is given back");
        predictor.Predict(plan.Removed).Should().Be(40);
    }

    [Fact]
    public void Widths_no_faster_than_a_wider_one_are_never_kept()
    {
        var n = Build();
        // Widths that are not multiples of 4 fall off the fast kernel and cost twice as much.
        double Cost(int c) => c % 4 == 0 ? c : 2.0 * c;
        var predictor = new WidthPredictor(n, (a, b) => Cost(a) + Cost(b));
        var plan = Planner(n).Plan(new PruneTarget.Latency(30, predictor, "30ms"), Allocation.Latency);

        plan.TargetMet.Should().BeTrue();
        var (keptA, keptB) = Widths(n, plan);
        (keptA % 4).Should().Be(0);
        (keptB % 4).Should().Be(0);
        predictor.Predict(plan.Removed).Should().BeLessThanOrEqualTo(30);
    }

    [Fact]
    public void Every_objective_must_hold_and_an_unreachable_budget_is_reported()
    {
        var n = Build();
        var predictor = new WidthPredictor(n, (a, b) => a + b);
        var baseline = n.Estimator.Baseline;
        var both = new PruneTarget.All([new PruneTarget.Latency(44, predictor, "44ms"), new PruneTarget.Macs(baseline.Macs / 2, "50%")]);
        var plan = Planner(n).Plan(both, Allocation.Latency);
        plan.TargetMet.Should().BeTrue();
        plan.Macs.Should().BeLessThanOrEqualTo(baseline.Macs / 2, "the MACs target binds harder than the loose latency budget");
        predictor.Predict(plan.Removed).Should().BeLessThanOrEqualTo(44);

        // At most 90% of each group goes (A keeps 2, B keeps 4): 6 ms is the floor.
        var impossible = Planner(n).Plan(new PruneTarget.Latency(5, predictor, "5ms"), Allocation.Latency);
        impossible.TargetMet.Should().BeFalse();
        impossible.Shortfall.Should().Contain("predicted at 6 ms").And.Contain("5ms");
    }

    [Fact]
    public void The_other_allocations_search_their_knob_against_the_latency_target_too()
    {
        var n = Build();
        var predictor = new WidthPredictor(n, (a, b) => a + b);
        var plan = Planner(n).Plan(new PruneTarget.Latency(36, predictor, "36ms"), Allocation.Uniform);
        plan.TargetMet.Should().BeTrue();
        predictor.Predict(plan.Removed).Should().BeLessThanOrEqualTo(36);
        var (keptA, keptB) = Widths(n, plan);
        ((16 - keptA) / 16.0).Should().BeApproximately((32 - keptB) / 32.0, 1.0 / 16, "uniform removes the same fraction from both");
    }
}
