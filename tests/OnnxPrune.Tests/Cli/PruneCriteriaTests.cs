using System.Text.Json;
using OnnxPrune.Onnx;
using OnnxPrune.Tests.Autodiff;
using OnnxPrune.Tests.Pruning.Rules;

namespace OnnxPrune.Tests.Cli;

/// <summary>The data-free criteria (fpgm, bn-scale) and the threshold allocation through the
/// command, and the report's bottlenecks.</summary>
[Collection(CliCollection.Name), Trait("Category", "Slow")]
public class PruneCriteriaTests
{
    [Theory]
    [InlineData("resnet18")]
    [InlineData("mobilenet_v2")]
    public void Fpgm_with_threshold_allocation_meets_half_the_MACs_and_reports_bottlenecks_lowest_first(string name)
    {
        using var f = new PruneFolders();
        var r = PruneCli.Run(TestData.RealModel(name), "-o", f.Pruned, "--target-flops", "50%", "--criterion", "fpgm", "--allocation", "threshold", "--report", f.Report, "--skip-latency");
        r.ShouldBeClean();
        r.ExitCode.Should().Be(0, $"{r}");
        var report = PruneCli.ReadReport(f.Report);
        report.ShouldBeWellFormedReport();
        report.ShouldFollow(JsonSchemas.Report);
        report.Key("criterion").GetString().Should().Be("fpgm");
        report.Key("allocation").GetString().Should().Be("threshold");
        ((double)report.Key("after").Long("macs") / report.Key("before").Long("macs")).Should().BeInRange(0.48, 0.50 + 1e-9);

        // Bottlenecks: every group that could lose channels, by ratio removed, lowest first.
        var groups = report.Groups().ToDictionary(g => g.Key("id").GetInt32());
        var bottlenecks = report.Key("bottlenecks").EnumerateArray().ToList();
        bottlenecks.Select(b => b.Key("id").GetInt32()).Should().BeEquivalentTo(groups.Values.Where(g => g.Key("prunable_channels").GetInt32() > 1).Select(g => g.Key("id").GetInt32()));
        foreach (var b in bottlenecks)
        {
            var g = groups[b.Key("id").GetInt32()];
            b.Key("name").GetString().Should().Be(g.Key("name").GetString());
            int before = b.Key("channels_before").GetInt32(), after = b.Key("channels_after").GetInt32();
            before.Should().Be(g.Key("channels_before").GetInt32());
            after.Should().Be(g.Key("channels_after").GetInt32());
            b.Key("ratio_removed").GetDouble().Should().BeApproximately((double)(before - after) / before, 1e-12);
        }
        bottlenecks.Select(b => b.Key("ratio_removed").GetDouble()).Should().BeInAscendingOrder();
        bottlenecks.Select(b => b.Key("ratio_removed").GetDouble()).Distinct().Should().HaveCountGreaterThan(1, "the threshold allocation prunes groups unequally");

        // The terminal shows the five lowest.
        var lines = r.Stdout.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        int start = lines.FindIndex(l => l.StartsWith("bottlenecks ", StringComparison.Ordinal));
        start.Should().BeGreaterThan(0, $"{r}");
        lines[start + 1].Should().MatchRegex(@"^group\s+channels\s+kept\s+removed$", "the bottleneck table's header follows its title");
        var rows = lines.Skip(start + 2).TakeWhile(l => l.Length > 0).ToList();
        rows.Should().HaveCount(5);
        for (int i = 0; i < 5; i++) rows[i].Should().StartWith(bottlenecks[i].Key("name").GetString()!);
        PruneCli.ShouldRunInOrt(f.Pruned);
    }

    [Fact]
    public void Bn_scale_on_a_model_with_BatchNorm_folded_into_its_convolutions_is_a_clear_error()
    {
        using var f = new PruneFolders();
        var r = PruneCli.Run(TestData.RealModel("resnet18"), "-o", f.Pruned, "--target-flops", "50%", "--criterion", "bn-scale", "--skip-latency");
        r.ShouldFailWithBadInput("--criterion bn-scale", "needs BatchNormalization", "folds them into its convolutions", "choose l1, l2 or fpgm");
        File.Exists(f.Pruned).Should().BeFalse("nothing is written when the criterion cannot score the model");
    }

    /// <summary>conv(3 -> 8) + BN(|gamma| = 1..8, signs alternating) -> Relu -> conv(8 -> 2): --ratio 0.5
    /// with --round-to 1 removes the four channels with the smallest |gamma|.</summary>
    [Fact]
    public void Bn_scale_removes_the_channels_with_the_smallest_BatchNorm_scales()
    {
        using var f = new PruneFolders();
        var net = new TestNet(seed: 7);
        var x = net.Input("x", [1, 3, 8, 8]);
        var c1 = RuleTestSupport.Conv(net, x, 3, 8, k: 3, pad: 1);
        double[] gamma = [5, -1, 7, -3, 2, -8, 4, -6];
        var bn = net.Op("BatchNormalization", [c1, net.Constant("scale", [8], gamma), net.Weight("shift", [8]), net.Weight("mean", [8]), net.Constant("var", [8], net.Uniform(8, 0.5, 1.5))]);
        var c2 = RuleTestSupport.Conv(net, net.Op("Relu", [bn]), 8, 2);
        OnnxModelFile.Save(net.Finish(c2), f.Model);

        var r = PruneCli.Run(f.Model, "-o", f.Pruned, "--ratio", "0.5", "--criterion", "bn-scale", "--round-to", "1", "--report", f.Report, "--skip-latency");
        r.ShouldBeClean();
        r.ExitCode.Should().Be(0, $"{r}");
        var report = PruneCli.ReadReport(f.Report);
        report.Key("criterion").GetString().Should().Be("bn-scale");
        var pruned = OnnxModelFile.Load(f.Pruned);
        var scale = pruned.Graph.Nodes.Single(n => n.OpType == "BatchNormalization").Inputs[1]!.ConstValue!.ToFloatArray();
        scale.Should().Equal(5, 7, -8, -6);
    }
}
