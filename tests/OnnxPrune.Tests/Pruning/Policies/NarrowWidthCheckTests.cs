namespace OnnxPrune.Tests.Pruning.Policies;

using OnnxPrune.Onnx;

using OnnxPrune.Pruning.Latency;
using OnnxPrune.Pruning.Pipeline;
using OnnxPrune.Pruning.Policy;
using OnnxPrune.Runtime;
using OnnxPrune.Tests.Pruning.Criteria;
using static OnnxPrune.Tests.Pruning.Rules.RuleTestSupport;

/// <summary>
/// Under the latency allocation, a plan that keeps widths below the width multiple is measured against the plan
/// without them, and the faster is kept (<see cref="LatencyGuardedPruner"/>). The net: x[1,4,8,8] -> convA 1x1
/// (4 -> 16) -> Relu -> convB 1x1 (16 -> 32) -> Relu -> convC 1x1 (32 -> 2, pinned), 40,960 MACs. A stand-in latency
/// model makes A's channels ten times dearer than B's, so the tables' plan narrows A to 12 (steps of 4 below 16); under
/// multiples of 16 only, B goes to 16 instead. A stand-in measurement times a model by its convolutions' widths.
/// </summary>
public class NarrowWidthCheckTests
{
    private sealed class ByWidths(ChannelGroupRef a, ChannelGroupRef b) : ILatencyPredictor
    {
        public double Predict(IReadOnlyCollection<int> removedRoots) =>
            10.0 * a.Group.Units.Count(u => !removedRoots.Contains(u)) + b.Group.Units.Count(u => !removedRoots.Contains(u));
    }

    /// <summary>The analysis's group of a conv output, found when the predictor is built (each plan analyses anew).</summary>
    private sealed record ChannelGroupRef(OnnxPrune.Pruning.Channels.ChannelGroup Group);

    private static (int A, int B) Widths(byte[] bytes)
    {
        var convs = OnnxModelFile.FromBytes(bytes, null, "pruned").Graph.Nodes.Where(n => n.OpType == "Conv").ToList();
        return ((int)convs[0].Input(1)!.ConstValue!.Dims[0], (int)convs[1].Input(1)!.ConstValue!.Dims[0]);
    }

    /// <summary>The latency allocation to 80% of the MACs, priced by <see cref="ByWidths"/> on the groups of convs a and b.</summary>
    private static DataFreePruneOptions LatencyOptions(OnnxPrune.IR.Value a, OnnxPrune.IR.Value b, string target = "80%") => new()
    {
        Target = new TargetSpec.Flops(target),
        Allocation = Allocation.Latency,
        CheckWithRuntime = false,
        LatencyPredictor = (analysis, _) => new ByWidths(
            new ChannelGroupRef(analysis.Groups.Single(g => g.Producers.Single().Outputs[0].Name == a.Name)),
            new ChannelGroupRef(analysis.Groups.Single(g => g.Producers.Single().Outputs[0].Name == b.Name))),
    };

    private static GuardedPruneResult Run(Func<(int A, int B), double> msOf, List<(int A, int B)> measured)
    {
        var (model, a, b) = TwoConvNet.Build();
        var options = LatencyOptions(a, b);
        return LatencyGuardedPruner.Run(OnnxModelFile.ToBytes(model), null, "two-conv", options, new SessionSettings { IntraOpThreads = 1 }, checkLatency: true,
            measure: (_, after) =>
            {
                var widths = Widths(after);
                measured.Add(widths);
                return new LatencyPair(1.0, msOf(widths), 5, 1, 1);
            });
    }

    [Fact]
    public void When_multiples_of_the_width_rule_alone_run_faster_that_plan_is_kept()
    {
        var measured = new List<(int A, int B)>();
        var result = Run(w => w.A % 16 == 0 && w.B % 16 == 0 ? 0.5 : 0.9, measured);

        measured.Should().Equal([(12, 32), (16, 16)], "the tables' plan narrows A below 16; the coarser plan keeps A whole and halves B");
        Widths(result.Bytes!).Should().Be((16, 16));
        result.Result.TargetMet.Should().BeTrue();
        result.Latency!.AfterMs.Should().Be(0.5);
        result.Notes.Should().ContainSingle(n => n.Contains("widths below 16 in 1 group(s)") && n.Contains("0.900") && n.Contains("0.500")
                                                 && n.EndsWith("kept multiples of 16", StringComparison.Ordinal));
    }

    [Fact]
    public void When_the_coarser_plan_is_no_faster_the_tables_widths_stay()
    {
        var measured = new List<(int A, int B)>();
        var result = Run(w => w.A == 12 ? 0.9 : 0.89, measured); // 1% faster: inside the margin

        measured.Should().HaveCount(2);
        Widths(result.Bytes!).Should().Be((12, 32));
        result.Latency!.AfterMs.Should().Be(0.9);
        result.Notes.Should().ContainSingle(n => n.EndsWith("kept the tables' widths", StringComparison.Ordinal));
    }

    [Fact]
    public void Other_allocations_are_measured_once()
    {
        var measured = new List<(int A, int B)>();
        var (model, _, _) = TwoConvNet.Build();
        var options = new DataFreePruneOptions
        {
            Target = new TargetSpec.Flops("80%"),
            Allocation = Allocation.Global,
            CheckWithRuntime = false,
        };
        LatencyGuardedPruner.Run(OnnxModelFile.ToBytes(model), null, "two-conv", options, new SessionSettings { IntraOpThreads = 1 }, checkLatency: true,
            measure: (_, after) =>
            {
                measured.Add(Widths(after));
                return new LatencyPair(1.0, 0.9, 5, 1, 1);
            });
        measured.Should().HaveCount(1, "the check is the latency allocation's: other allocations are measured once");
    }

    [Fact]
    public void A_model_whose_groups_are_all_as_narrow_as_the_multiple_keeps_the_tables_widths()
    {
        // x[1,4,8,8] -> convA 1x1 (4 -> 16) -> Relu -> convB 1x1 (16 -> 16) -> Relu -> convC 1x1 (16 -> 2, pinned): any
        // removal is a width below 16, and multiples of 16 alone cannot prune it (the planner refuses the rule).
        var net = new OnnxPrune.Tests.Autodiff.TestNet(seed: 3);
        var x = net.Input("x", [1, 4, 8, 8]);
        var a = net.Conv(x, 4, 16, bias: false);
        var b = net.Conv(net.Op("Relu", [a]), 16, 16, bias: false);
        var model = net.Finish(net.Conv(net.Op("Relu", [b]), 16, 2, bias: false));
        var options = LatencyOptions(a, b);
        int measured = 0;
        var result = LatencyGuardedPruner.Run(OnnxModelFile.ToBytes(model), null, "narrow", options, new SessionSettings { IntraOpThreads = 1 }, checkLatency: true,
            measure: (_, _) => { measured++; return new LatencyPair(1.0, 0.9, 5, 1, 1); });

        measured.Should().Be(1, "there is no second plan to measure");
        result.Result.TargetMet.Should().BeTrue();
        result.Result.Groups.Should().Contain(g => g.ChannelsAfter > 0 && g.ChannelsAfter < 16);
        result.Notes.Should().ContainSingle(n => n.Contains("multiples of 16 cannot prune this model") && n.EndsWith("kept the tables' widths", StringComparison.Ordinal));
    }

    [Fact]
    public void A_target_that_whole_multiples_cannot_reach_keeps_the_tables_widths_unmeasured_against_them()
    {
        // Half of TwoConvNet's 40,960 MACs: in multiples of 16 alone the least is A 16, B 16 (22,528 MACs, 55%).
        var (model, a, b) = TwoConvNet.Build();
        int measured = 0;
        var result = LatencyGuardedPruner.Run(OnnxModelFile.ToBytes(model), null, "two-conv", LatencyOptions(a, b, "50%"), new SessionSettings { IntraOpThreads = 1 },
            checkLatency: true, measure: (_, _) => { measured++; return new LatencyPair(1.0, 0.9, 5, 1, 1); });

        measured.Should().Be(1);
        result.Result.TargetMet.Should().BeTrue();
        Widths(result.Bytes!).A.Should().BeLessThan(16);
        result.Notes.Should().ContainSingle(n => n.Contains("multiples of 16 cannot reach the target") && n.EndsWith("kept the tables' widths", StringComparison.Ordinal));
    }
}
