using OnnxPrune.IR;
using OnnxPrune.Pruning.Pipeline;
using OnnxPrune.Tests.Autodiff;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Tests.Pruning;

/// <summary>
/// The post-write check (issue 17): ONNX Runtime runs every pruned model beside the original; when it
/// rejects one, the groups responsible are found by bisection and kept whole, and the model is pruned
/// again. The verdict is injected where a test needs ORT to reject a chosen construct.
/// </summary>
public class PostWriteCheckTests
{
    /// <summary>x → conv a (8) → relu → conv b (8) → relu → conv c (8) → pool → gemm (3 classes): three prunable groups.</summary>
    private static Model ThreeConvs()
    {
        var net = new TestNet(DataType.Float, seed: 21);
        var x = net.SymbolicInput("x", [Dim.Symbolic("N"), 3, 6, 6], [1, 3, 6, 6]);
        var pads = Attribute.Ints("pads", [1, 1, 1, 1]);
        var a = net.Op("Relu", [net.Op("Conv", [x, net.Weight("wa", [8, 3, 3, 3]), net.Weight("ba", [8])], pads)]);
        var b = net.Op("Relu", [net.Op("Conv", [a, net.Weight("wb", [8, 8, 3, 3]), net.Weight("bb", [8])], pads)]);
        var c = net.Op("Conv", [b, net.Weight("wc", [8, 8, 3, 3]), net.Weight("bc", [8])], pads);
        var pooled = net.Op("Flatten", [net.Op("GlobalAveragePool", [c])]);
        return net.Finish(net.Op("Gemm", [pooled, net.Weight("wg", [3, 8]), net.Weight("bg", [3])], Attribute.Int("transB", 1)));
    }

    private static int OutputChannels(Model m, string weight) =>
        (int)m.Graph.Nodes.Single(n => n.OpType == "Conv" && n.Input(1)!.Name.StartsWith(weight, StringComparison.Ordinal)).Input(1)!.ConstValue!.Dims[0];

    private static DataFreePruneOptions Half => new() { Target = new TargetSpec.Ratio(0.5), Constraints = new() { RoundTo = 1, SmallStep = 1 } };

    [Fact]
    public void A_group_the_runtime_rejects_is_found_kept_whole_and_the_rest_pruned()
    {
        int checks = 0;
        var options = Half with
        {
            RuntimeVerdict = (original, pruned) => { checks++; return OutputChannels(pruned, "wb") < 8 ? "kernel X needs 8 channels after conv b" : null; },
        };
        var result = DataFreePruner.Run(ThreeConvs(), options);

        OutputChannels(result.Model, "wb").Should().Be(8, "the group ORT rejected is kept whole");
        OutputChannels(result.Model, "wa").Should().BeLessThan(8);
        OutputChannels(result.Model, "wc").Should().BeLessThan(8);
        result.Barriers.Should().Contain(b => b.OpType == "ONNX Runtime" && b.Reason.Contains("kernel X needs 8 channels after conv b"));
        result.RuntimeNotes.Should().ContainSingle().Which.Should().Contain("traced to 1 group(s)");
        checks.Should().BeGreaterThan(2, "the bisection probes subsets of the groups");
    }

    [Fact]
    public void A_failure_that_needs_two_groups_together_keeps_both()
    {
        var options = Half with
        {
            RuntimeVerdict = (_, pruned) => OutputChannels(pruned, "wa") < 8 && OutputChannels(pruned, "wc") < 8 ? "a and c together" : null,
        };
        var result = DataFreePruner.Run(ThreeConvs(), options);
        OutputChannels(result.Model, "wa").Should().Be(8);
        OutputChannels(result.Model, "wc").Should().Be(8);
        OutputChannels(result.Model, "wb").Should().BeLessThan(8, "b takes no part in the failure");
        result.RuntimeNotes.Should().ContainSingle().Which.Should().Contain("traced to 2 group(s)");
    }

    [Fact]
    public void Without_a_rejection_nothing_is_kept_back()
    {
        var result = DataFreePruner.Run(ThreeConvs(), Half);
        result.RuntimeNotes.Should().BeEmpty();
        result.Barriers.Should().NotContain(b => b.OpType == "ONNX Runtime");
        new[] { "wa", "wb", "wc" }.Sum(w => OutputChannels(result.Model, w)).Should().BeLessThan(24);
    }

    [Fact]
    public void The_runtime_verdict_names_a_changed_output_shape_and_an_error_of_ort()
    {
        var original = ThreeConvs();
        var options = Half;
        RuntimeCheck.Failure(original, original.Clone(), options).Should().BeNull();

        // Fewer classes: ORT runs it, but the output's shape changed.
        RuntimeCheck.Failure(original, FewerClasses(original), options).Should().Contain("has shape [1,2] instead of [1,3]");
        // A conv whose weight no longer matches its input's channels: ORT refuses to run it.
        RuntimeCheck.Failure(original, BrokenConv(original), options).Should().NotBeNullOrEmpty();
    }

    /// <summary>The model with 2 classes instead of 3.</summary>
    private static Model FewerClasses(Model original)
    {
        var m = original.Clone();
        var gemm = m.Graph.Nodes.Single(n => n.OpType == "Gemm");
        gemm.SetInput(1, m.Graph.AddInitializer("wg2", DenseTensor.FromFloats([2, 8], new float[16])));
        gemm.SetInput(2, m.Graph.AddInitializer("bg2", DenseTensor.FromFloats([2], new float[2])));
        return m;
    }

    /// <summary>The model with conv b's weight reading 5 channels where 8 arrive.</summary>
    private static Model BrokenConv(Model original)
    {
        var m = original.Clone();
        var conv = m.Graph.Nodes.First(n => n.OpType == "Conv" && n.Input(1)!.Name == "wb");
        conv.SetInput(1, m.Graph.AddInitializer("wb2", DenseTensor.FromFloats([8, 5, 3, 3], new float[360])));
        return m;
    }

    [Fact]
    public void A_big_model_is_checked_alone_against_the_original_declared_output_shapes()
    {
        // As for a model past RuntimeCheck.BigModelBytes: ORT runs only the pruned model, from a file.
        var original = ThreeConvs();
        var options = Half with { RuntimeCheckAloneAboveBytes = 0 };
        RuntimeCheck.Failure(original, original.Clone(), options).Should().BeNull();

        RuntimeCheck.Failure(original, FewerClasses(original), options).Should().Contain("has shape [1,2]; the original declares");
        RuntimeCheck.Failure(original, BrokenConv(original), options).Should().NotBeNullOrEmpty();

        // The whole prune goes through it too.
        DataFreePruner.Run(ThreeConvs(), options).Model.Graph.Nodes.Should().NotBeEmpty();
    }
}
