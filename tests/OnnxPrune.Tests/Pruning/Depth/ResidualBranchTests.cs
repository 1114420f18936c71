using OnnxPrune.IR;
using OnnxPrune.Onnx;
using OnnxPrune.Pruning.Channels;
using OnnxPrune.Pruning.Cost;
using OnnxPrune.Pruning.Depth;
using OnnxPrune.Pruning.Pipeline;
using OnnxPrune.Pruning.Policy;
using OnnxPrune.Runtime;
using OnnxPrune.Tests.Autodiff;
using static OnnxPrune.Tests.Pruning.Recovery.RecoveryTestSupport;
using static OnnxPrune.Tests.Pruning.Rules.RuleTestSupport;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Tests.Pruning.Depth;

/// <summary>
/// Depth pruning: finding the residual branches a group's complete removal collapses, the constant that replaces a
/// branch, and the latency allocation choosing to remove one. The net: x[N,4,8,8] -> stem 1x1 (4 -> 8) = s;
/// branch s -> c1 3x3 (8 -> 6) -> Relu -> c2 3x3 (6 -> 8); Add(s, c2) -> Relu -> GlobalAveragePool -> Flatten ->
/// Gemm (8 -> 3, the output).
/// </summary>
public class ResidualBranchTests
{
    private sealed record Net(Model Model, Value Stem, Value C1, Value Relu, Value C2, Value Add);

    private static Net Build(bool zeroBranch = false, bool reluAlsoOutput = false, int seed = 3)
    {
        var net = new TestNet(seed: seed);
        var x = net.SymbolicInput("x", [Dim.Symbolic("N"), 4, 8, 8], [2, 4, 8, 8]);
        var stem = net.Conv(x, 4, 8);
        var c1 = net.Conv(stem, 8, 6, k: 3, pad: 1);
        var relu = net.Op("Relu", [c1]);
        var c2 = net.Conv(relu, 6, 8, k: 3, pad: 1);
        var add = net.Op("Add", [stem, c2]);
        var pooled = net.Op("Flatten", [net.Op("GlobalAveragePool", [net.Op("Relu", [add])])]);
        var logits = net.Op("Gemm", [pooled, net.Weight("fc_w", [3, 8]), net.Weight("fc_b", [3])], Attribute.Int("transB", 1));
        var model = reluAlsoOutput ? net.Finish(logits, relu) : net.Finish(logits);
        if (zeroBranch)
        {
            // The branch's output is then c2's bias at every position: replacing it by its mean changes nothing.
            var w = c2.N().Inputs[1]!;
            w.ConstValue = DenseTensor.FromFloats(w.ConstValue!.Dims, new float[w.ConstValue.ElementCount]);
        }
        return new Net(model, stem, c1, relu, c2, add);
    }

    [Fact]
    public void The_inner_group_of_a_residual_block_collapses_its_branch_and_the_stream_group_does_not()
    {
        var n = Build();
        var analysis = Analyze(n.Model);
        var branches = ResidualBranches.Find(n.Model, analysis);

        var inner = analysis.Group(n.C1);
        branches.Keys.Should().Equal(inner.Id);
        var branch = branches[inner.Id];
        branch.Nodes.Should().Equal(n.C1.N(), n.Relu.N(), n.C2.N());
        branch.Sink.Should().BeSameAs(n.Add.N());
        branch.InputIndex.Should().Be(1);
        branch.Output.Should().BeSameAs(n.C2);
        analysis.Group(n.Stem, n.C2).Id.Should().NotBe(inner.Id);
    }

    [Fact]
    public void A_branch_value_read_anywhere_else_keeps_the_branch()
    {
        var n = Build(reluAlsoOutput: true);
        ResidualBranches.Of(n.Model.Graph, [n.C1.N()]).Should().BeNull("the branch's Relu is also a graph output");
    }

    [Fact]
    public void A_plain_chain_has_no_branch()
    {
        var net = new TestNet(seed: 1);
        var x = net.Input("x", [1, 4, 8, 8]);
        var a = net.Conv(x, 4, 8);
        var b = net.Conv(net.Op("Relu", [a]), 8, 2);
        var model = net.Finish(b);
        ResidualBranches.Find(model, Analyze(model)).Should().BeEmpty();
    }

    [Fact]
    public void The_constant_is_the_branch_output_averaged_over_the_images()
    {
        var n = Build();
        var branch = ResidualBranches.Of(n.Model.Graph, [n.C1.N()])!;
        var images = RandomImages(10, 4, 8, 8, seed: 5);
        // Batches of 4 (4 + 4 + 2 images); the expected mean from one image at a time.
        var mean = BranchCollapse.Means(n.Model, [branch], images, OneThread, batchSize: 4)[n.C2.Name];

        mean.Dims.Should().Equal(1, 8, 8, 8);
        using var tap = InferenceSession.FromModel(OnnxPrune.Pruning.Recovery.ModelTaps.Truncated(n.Model, [n.C2.Name]), OneThread);
        var expected = new double[8 * 8 * 8];
        for (int i = 0; i < 10; i++)
        {
            var pixels = images.Images.Images.AsSpan(i * 256, 256).ToArray();
            var y = tap.Run(new Dictionary<string, TensorData> { ["x"] = TensorData.Create(pixels, 1, 4, 8, 8) }).Values.First().As<float>();
            for (int j = 0; j < y.Length; j++) expected[j] += y[j] / 10.0;
        }
        mean.ToFloatArray().Select(v => (double)v).Should().Equal(expected, (a, b) => Math.Abs(a - b) <= 1e-5 * (1 + Math.Abs(b)));
    }

    [Fact]
    public void A_branch_that_outputs_a_constant_costs_nothing_to_remove_and_a_working_one_does()
    {
        foreach (var zero in new[] { true, false })
        {
            var n = Build(zeroBranch: zero);
            var analysis = Analyze(n.Model);
            var branches = ResidualBranches.Find(n.Model, analysis);
            var images = RandomImages(16, 4, 8, 8, seed: 6);
            var means = BranchCollapse.Means(n.Model, branches.Values, images, OneThread);
            var kl = BranchSensitivity.Measure(n.Model, branches, means, images, OneThread).Single().Value;
            if (zero) kl.Should().BeApproximately(0, 1e-6);
            else kl.Should().BeGreaterThan(1e-4);
        }
    }

    /// <summary>Latency 1 ms plus 10 while the inner group keeps a channel: only removing the branch meets 5 ms.</summary>
    private sealed class BranchPredictor(ChannelGroup inner) : ILatencyPredictor
    {
        public double Predict(IReadOnlyCollection<int> removedRoots) => 1 + (inner.Units.All(removedRoots.Contains) ? 0 : 10);
    }

    [Fact]
    public void The_knapsack_removes_a_group_whole_only_where_that_collapses_a_branch()
    {
        var n = Build();
        var analysis = Analyze(n.Model);
        var inner = analysis.Group(n.C1);
        var scores = analysis.Groups.SelectMany(g => g.Units).ToDictionary(u => u, u => 1.0);
        var estimator = new PrunedCostEstimator(analysis, CostModel.Measure(n.Model.Graph));
        var constraints = new GroupConstraints { RoundTo = 1, SmallStep = 1 };
        var target = new PruneTarget.Latency(5, new BranchPredictor(inner), "5ms");

        var plan = new AllocationPlanner(analysis, scores, estimator, constraints) { Collapsible = new Dictionary<int, double> { [inner.Id] = 0.1 } }.Plan(target, Allocation.Latency);
        plan.TargetMet.Should().BeTrue();
        plan.Removed.Should().BeEquivalentTo(inner.Units, "the branch goes whole and nothing else needs to");

        var without = new AllocationPlanner(analysis, scores, estimator, constraints).Plan(target, Allocation.Latency);
        without.TargetMet.Should().BeFalse();
        inner.Units.Count(u => !without.Removed.Contains(u)).Should().BeGreaterThan(0, "every group keeps a channel unless its removal collapses a branch");
    }

    private static DataFreePruneOptions LatencyOptions(Net n, bool removeBranches) => new()
    {
        Target = new TargetSpec.Latency(5, "5ms"),
        Allocation = Allocation.Latency,
        Constraints = new GroupConstraints { RoundTo = 1, SmallStep = 1 },
        Calibration = RandomImages(32, 4, 8, 8, seed: 7),
        Session = OneThread,
        RemoveBranches = removeBranches,
        LatencyPredictor = (analysis, _) => new BranchPredictor(analysis.Groups.Single(g => g.Producers.Count == 1 && g.Producers[0].Name == n.C1.N().Name)),
    };

    [Fact]
    public void A_collapsed_branch_whose_output_was_constant_leaves_the_model_unchanged_and_gone_from_the_graph()
    {
        var n = Build(zeroBranch: true);
        var original = n.Model.Clone();
        var result = DataFreePruner.Run(n.Model, LatencyOptions(n, removeBranches: true));

        result.TargetMet.Should().BeTrue();
        result.RemovedBranches.Should().ContainSingle().Which.Should().StartWith(n.C2.Name + " (3 node(s)");
        var ops = result.Model.Graph.Nodes.Select(x => x.Name).ToList();
        ops.Should().NotContain([n.C1.N().Name, n.Relu.N().Name, n.C2.N().Name]);
        result.Model.Graph.Nodes.Count.Should().Be(original.Graph.Nodes.Count - 3);
        result.MacsAfter.Should().BeLessThan(result.MacsBefore / 4, "the two 3x3 convolutions were most of the MACs");
        result.RuntimeNotes.Should().Contain(s => s.Contains("residual branch"));
        var input = TensorData.Create(RandomImages(3, 4, 8, 8, seed: 9).Images.Images, 3, 4, 8, 8);
        RelativeDifference(original, result.Model, "x", input).Should().BeLessThan(1e-5);
    }

    [Fact]
    public void When_ONNX_Runtime_rejects_the_model_with_a_branch_removed_it_is_pruned_again_with_channels_only()
    {
        var n = Build();
        int checks = 0;
        var result = DataFreePruner.Run(n.Model, LatencyOptions(n, removeBranches: true) with
        {
            RuntimeVerdict = (_, pruned) =>
            {
                checks++;
                return pruned.Graph.Initializers.Keys.Any(k => k.EndsWith("_collapsed", StringComparison.Ordinal)) ? "kernel X refuses the constant" : null;
            },
        });
        checks.Should().Be(2, "the first model (branch removed) was rejected, the second (channels only) accepted");
        result.RemovedBranches.Should().BeEmpty();
        result.Model.Graph.Nodes.Select(x => x.Name).Should().Contain(n.C2.N().Name);
        result.RuntimeNotes.Should().Contain(s => s.Contains("1 residual branch(es) removed whole (kernel X refuses the constant)") && s.Contains("channels only"));
    }

    [Fact]
    public void Without_branch_removal_the_latency_target_cannot_be_met_here()
    {
        var n = Build();
        var result = DataFreePruner.Run(n.Model, LatencyOptions(n, removeBranches: false));
        result.TargetMet.Should().BeFalse();
        result.RemovedBranches.Should().BeEmpty();
        result.Model.Graph.Nodes.Select(x => x.Name).Should().Contain(n.C2.N().Name);
    }
}

public class ShiftClampChainTests
{
    [Fact]
    public void A_chain_of_shifts_and_clamps_folds_to_one_Add_and_one_Max_with_the_same_outputs()
    {
        var net = new TestNet(seed: 4);
        var x = net.Input("x", [2, 3, 4, 4]);
        var stem = net.Conv(x, 3, 3);
        // x + c1, Relu, + c2, Relu, Max(., c3), + c4 (c3 one element, the others [1,3,4,4]; some entries negative).
        Value t = net.Op("Add", [stem, net.Weight("c1", [1, 3, 4, 4], scale: 1)]);
        t = net.Op("Relu", [t]);
        t = net.Op("Add", [net.Weight("c2", [1, 3, 4, 4], scale: 1), t]);
        t = net.Op("Relu", [t]);
        t = net.Op("Max", [t, net.Constant("c3", [], [0.3])]);
        t = net.Op("Add", [t, net.Weight("c4", [1, 3, 4, 4], scale: 1)]);
        var y = net.Conv(t, 3, 2);
        var model = net.Finish(y);
        var original = model.Clone();
        var chainOutput = t.Name;

        ShiftClampChains.Run(model).Should().Be(4, "six steps became an Add and a Max");
        model.Graph.Nodes.Select(n => n.OpType).Should().Equal("Conv", "Add", "Max", "Conv");
        model.Graph.Nodes[2].Outputs[0].Name.Should().Be(chainOutput, "later passes find the chain's output by its name");
        var input = net.Data["x"];
        RelativeDifference(original, model, "x", input).Should().BeLessThan(1e-6);
    }

    [Fact]
    public void A_step_whose_output_is_read_twice_ends_the_chain()
    {
        var net = new TestNet(seed: 4);
        var x = net.Input("x", [1, 3, 4, 4]);
        var stem = net.Conv(x, 3, 3);
        var a = net.Op("Relu", [net.Op("Add", [stem, net.Weight("c1", [1, 3, 4, 4])])]);
        var b = net.Op("Relu", [net.Op("Add", [a, net.Weight("c2", [1, 3, 4, 4])])]);
        var model = net.Finish(net.Conv(net.Op("Add", [a, b]), 3, 2));
        ShiftClampChains.Run(model).Should().Be(0, "the first Relu is read by the second Add and by the last one: two chains of two");
    }
}

/// <summary>Depth pruning on real torchvision exports (BatchNorm folded into the convolutions by the export).</summary>
public class RealModelBranchTests
{
    /// <summary>Residual blocks per architecture: ResNet-18 has 8 (basic blocks, three with a strided 1x1 shortcut),
    /// ResNet-50 16 bottlenecks (two inner layers each: two groups lead to each block's Add), MobileNetV2 10 inverted
    /// residuals with a skip connection (of its 17).</summary>
    [Theory]
    [InlineData("resnet18", 8, 8)]
    [InlineData("resnet50", 16, 32)]
    [InlineData("mobilenet_v2", 10, 10)]
    public void Every_residual_block_is_found_once_per_inner_group(string name, int blocks, int groups)
    {
        var model = OnnxModelFile.Load(TestData.RealModel(name));
        PreparePasses.Run(model);
        var branches = ResidualBranches.Find(model, ChannelAnalysis.Run(model));

        branches.Should().HaveCount(groups);
        branches.Values.Select(b => b.Sink).Distinct().Should().HaveCount(blocks);
        branches.Values.Should().OnlyContain(b => b.Sink.OpType == "Add" && b.Nodes.Any(n => n.OpType == "Conv"));
    }

    [Fact]
    public void Collapsing_a_ResNet18_block_whose_last_conv_outputs_a_constant_changes_no_output()
    {
        var model = OnnxModelFile.Load(TestData.RealModel("resnet18"));
        PreparePasses.Run(model);
        var branch = ResidualBranches.Find(model, ChannelAnalysis.Run(model)).Values.OrderBy(b => model.Graph.Nodes.ToList().IndexOf(b.Sink)).ElementAt(1);
        // The block's second conv keeps only its bias: the branch then outputs a constant, which the collapse must reproduce.
        var last = branch.Nodes.Last(n => n.OpType == "Conv");
        var w = last.Inputs[1]!;
        var zeroed = model.Graph.AddInitializer(w.Name + "_zero", DenseTensor.FromFloats(w.ConstValue!.Dims, new float[w.ConstValue.ElementCount]));
        last.SetInput(1, zeroed);
        int outputs = (int)w.ConstValue.Dims[0];
        var bias = model.Graph.AddInitializer(w.Name + "_bias", DenseTensor.FromFloats([outputs], Enumerable.Range(0, outputs).Select(i => 0.01f * (i - outputs / 2)).ToArray()));
        if (last.Inputs.Count > 2) last.SetInput(2, bias); else last.AppendInput(bias);
        var original = model.Clone();
        var images = RandomImages(4, 3, 224, 224, seed: 2);

        var means = BranchCollapse.Means(model, [branch], images, OneThread);
        BranchCollapse.Apply(model, means, _ => null);

        // The block's nodes go, and the Relu before it, its Add of the constant and its Relu fold into an Add and a Max.
        model.Graph.Nodes.Count.Should().Be(original.Graph.Nodes.Count - branch.Nodes.Count - 1, string.Join(",", model.Graph.Nodes.Select(n => n.OpType)));
        model.Graph.Nodes.Count(n => n.OpType == "Max").Should().Be(1);
        var input = TensorData.Create(RandomImages(2, 3, 224, 224, seed: 3).Images.Images, 2, 3, 224, 224);
        RelativeDifference(original, model, model.Graph.Inputs[0].Name, input).Should().BeLessThan(1e-4);
    }
}

public class GroupsAgainstOriginalTests
{
    [Fact]
    public void A_group_removed_whole_in_an_earlier_round_is_reported_with_none_left_and_the_stream_keeps_its_original_count()
    {
        // The residual net of ResidualBranchTests: stream group {stem, c2} (8 channels) and inner group {c1} (6).
        var net = new TestNet(seed: 3);
        var x = net.Input("x", [1, 4, 8, 8]);
        var stem = net.Conv(x, 4, 8);
        var c1 = net.Conv(stem, 8, 6, k: 3, pad: 1);
        var c2 = net.Conv(net.Op("Relu", [c1]), 6, 8, k: 3, pad: 1);
        var head = net.Conv(net.Op("Add", [stem, c2]), 8, 2);
        var model = net.Finish(head);
        var groups = Analyze(model).Groups;
        groups.Should().HaveCount(3);
        // The last round saw the stream with only the stem left as its producer (the branch went in round 1; it had cut
        // the stream 8 -> 6, and the last round 6 -> 4), and the output layer, pinned.
        var last = new[]
        {
            new OnnxPrune.Pruning.Pipeline.GroupOutcome(0, stem.N().Name, [stem.N().Name], 6, 4, 6, []),
            new OnnxPrune.Pruning.Pipeline.GroupOutcome(1, head.N().Name, [head.N().Name], 2, 2, 0, ["graph output"]),
        };

        var merged = OnnxPrune.Pruning.Loop.ObjectivePruner.GroupsAgainstOriginal(groups, last);

        merged.Should().HaveCount(3);
        merged[0].ChannelsBefore.Should().Be(8, "the stream's count in the original, found through its producer");
        merged[0].ChannelsAfter.Should().Be(4);
        merged.Should().Contain(g => g.Producers.SequenceEqual(new[] { c1.N().Name }) && g.ChannelsBefore == 6 && g.ChannelsAfter == 0);
    }
}

public class BottleneckBranchTests
{
    /// <summary>Latency 1 ms plus 10 for each inner group that keeps a channel.</summary>
    private sealed class BothInner(ChannelGroup first, ChannelGroup second) : ILatencyPredictor
    {
        public double Predict(IReadOnlyCollection<int> removedRoots) =>
            1 + (first.Units.All(removedRoots.Contains) ? 0 : 10) + (second.Units.All(removedRoots.Contains) ? 0 : 10);
    }

    [Fact]
    public void Both_inner_groups_of_a_bottleneck_removed_collapse_its_branch_once()
    {
        // x[N,4,8,8] -> stem 1x1 (4 -> 8) = s; s -> c1 1x1 (8 -> 4) -> Relu -> c2 3x3 (4 -> 4) -> Relu -> c3 1x1 (4 -> 8);
        // Add(s, c3) -> GlobalAveragePool -> Flatten -> Gemm.
        var net = new TestNet(seed: 8);
        var x = net.SymbolicInput("x", [Dim.Symbolic("N"), 4, 8, 8], [2, 4, 8, 8]);
        var stem = net.Conv(x, 4, 8);
        var c1 = net.Conv(stem, 8, 4);
        var c2 = net.Conv(net.Op("Relu", [c1]), 4, 4, k: 3, pad: 1);
        var c3 = net.Conv(net.Op("Relu", [c2]), 4, 8);
        var add = net.Op("Add", [stem, c3]);
        var pooled = net.Op("Flatten", [net.Op("GlobalAveragePool", [add])]);
        var model = net.Finish(net.Op("Gemm", [pooled, net.Weight("fc_w", [3, 8]), net.Weight("fc_b", [3])], Attribute.Int("transB", 1)));
        var nodes = model.Graph.Nodes.Count;
        var options = new DataFreePruneOptions
        {
            Target = new TargetSpec.Latency(5, "5ms"),
            Allocation = Allocation.Latency,
            Constraints = new GroupConstraints { RoundTo = 1, SmallStep = 1 },
            Calibration = RandomImages(16, 4, 8, 8, seed: 7),
            Session = OneThread,
            LatencyPredictor = (analysis, _) => new BothInner(
                analysis.Groups.Single(g => g.Producers.Count == 1 && g.Producers[0].Name == c1.N().Name),
                analysis.Groups.Single(g => g.Producers.Count == 1 && g.Producers[0].Name == c2.N().Name)),
        };

        var result = DataFreePruner.Run(model, options);

        result.TargetMet.Should().BeTrue();
        result.RemovedBranches.Should().ContainSingle("two groups led to one branch");
        result.Model.Graph.Nodes.Count.Should().Be(nodes - 5, "c1, its Relu, c2, its Relu and c3 are gone");
    }
}
