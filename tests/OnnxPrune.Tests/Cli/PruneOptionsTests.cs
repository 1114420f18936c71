using System.Text.Json;

namespace OnnxPrune.Tests.Cli;

/// <summary>The targets, criteria, allocations and --round-to of `onnxprune MODEL -o OUT ...`.</summary>
[Collection(CliCollection.Name)]
[Trait("Category", "Slow")]
public class PruneOptionsTests
{
    /// <summary>Runs a prune that must succeed; returns the report.</summary>
    private static JsonElement Prune(string model, string output, string report, params string[] options)
    {
        var hash = PruneCli.Sha256(model);
        var r = PruneCli.Run(new[] { model, "-o", output, "--report", report, "--skip-latency" }.Concat(options).ToArray());
        r.ShouldBeClean();
        r.ExitCode.Should().Be(0, $"{r}");
        File.Exists(output).Should().BeTrue();
        PruneCli.Sha256(model).Should().Be(hash, "the input model is never modified");
        var json = PruneCli.ReadReport(report);
        json.ShouldBeWellFormedReport();
        return json;
    }

    [Theory]
    [InlineData("resnet18")]
    [InlineData("mobilenet_v2")]
    public void Target_params_40_percent_keeps_at_most_40_and_not_far_below(string name)
    {
        using var f = new PruneFolders();
        var model = TestData.RealModel(name);
        var report = Prune(model, f.Pruned, f.Report, "--target-params", "40%");
        long before = report.Key("before").Long("params"), after = report.Key("after").Long("params");
        ((double)after / before).Should().BeLessThanOrEqualTo(0.40, "the parameter target is a limit").And.BeGreaterThanOrEqualTo(0.35, "the least pruning that meets the target");
        PruneCli.Inspect(f.Pruned).Long("params").Should().Be(after, "after.params is what the written file holds");
        report.Key("target_met").GetBoolean().Should().BeTrue();
    }

    [Theory]
    [InlineData("resnet18")]
    [InlineData("mobilenet_v2")]
    public void Ratio_removes_that_fraction_of_the_prunable_channels(string name)
    {
        using var f = new PruneFolders();
        var report = Prune(TestData.RealModel(name), f.Pruned, f.Report, "--ratio", "0.3");
        var fraction = report.RemovedFraction();
        fraction.Should().BeGreaterThanOrEqualTo(0.3, "--ratio 0.3 removes at least 30% of the prunable channels")
            .And.BeLessThan(0.4, "and not much more than asked (only --round-to 8 granularity)");
        report.Key("after").Long("macs").Should().BeLessThan(report.Key("before").Long("macs"));
        PruneCli.ShouldRunInOrt(f.Pruned);
    }

    [Theory]
    [InlineData("resnet18")]
    [InlineData("mobilenet_v2")]
    public void Uniform_allocation_meets_the_target_with_a_different_plan_than_global(string name)
    {
        using var f = new PruneFolders();
        var model = TestData.RealModel(name);
        var global = Prune(model, f.OutFile("global.onnx"), f.OutFile("global.json"), "--target-flops", "50%", "--allocation", "global");
        var uniform = Prune(model, f.OutFile("uniform.onnx"), f.OutFile("uniform.json"), "--target-flops", "50%", "--allocation", "uniform");
        uniform.Key("allocation").GetString().Should().Be("uniform");
        global.Key("allocation").GetString().Should().Be("global");
        ((double)uniform.Key("after").Long("macs") / uniform.Key("before").Long("macs")).Should().BeInRange(0.48, 0.50 + 1e-9);
        uniform.Widths().Should().NotEqual(global.Widths(), "uniform and global allocation choose different widths");
        File.ReadAllBytes(f.OutFile("uniform.onnx")).Should().NotEqual(File.ReadAllBytes(f.OutFile("global.onnx")));
        PruneCli.ShouldRunInOrt(f.OutFile("uniform.onnx"));
    }

    /// <summary>Uniform removes floor(r * channels) from every fully prunable group, for one r.</summary>
    [Theory]
    [InlineData("resnet18")]
    [InlineData("mobilenet_v2")]
    public void Uniform_allocation_removes_the_same_fraction_from_every_group(string name)
    {
        using var f = new PruneFolders();
        var report = Prune(TestData.RealModel(name), f.Pruned, f.Report, "--target-flops", "50%", "--allocation", "uniform", "--round-to", "1");
        var groups = report.Groups().Where(g => g.Key("prunable_channels").GetInt32() == g.Key("channels_before").GetInt32() && g.Key("channels_before").GetInt32() >= 10).ToList();
        groups.Should().HaveCountGreaterThan(3);
        // removed_i = floor(r * c_i) for one r: r >= removed_i / c_i and r < (removed_i + 1) / c_i for every group.
        var lower = groups.Max(g => (double)(g.Key("channels_before").GetInt32() - g.Key("channels_after").GetInt32()) / g.Key("channels_before").GetInt32());
        var upper = groups.Min(g => (double)(g.Key("channels_before").GetInt32() - g.Key("channels_after").GetInt32() + 1) / g.Key("channels_before").GetInt32());
        lower.Should().BeGreaterThan(0.2, "half the MACs cannot go without removing a fair share of channels");
        lower.Should().BeLessThanOrEqualTo(upper + 1e-6, $"one fraction must explain every group's removal: {string.Join(", ", report.Widths())}");
    }

    [Theory]
    [InlineData("l2")]
    [InlineData("random")]
    public void Other_criteria_meet_the_target(string criterion)
    {
        using var f = new PruneFolders();
        var model = TestData.RealModel("resnet18");
        var report = Prune(model, f.Pruned, f.Report, "--target-flops", "50%", "--criterion", criterion);
        report.Key("criterion").GetString().Should().Be(criterion);
        ((double)report.Key("after").Long("macs") / report.Key("before").Long("macs")).Should().BeInRange(0.48, 0.50 + 1e-9);
        PruneCli.Inspect(f.Pruned).Long("macs").Should().Be(report.Key("after").Long("macs"));
        PruneCli.ShouldRunInOrt(f.Pruned);
    }

    [Fact]
    public void Criteria_choose_different_channels()
    {
        using var f = new PruneFolders();
        var model = TestData.RealModel("mobilenet_v2");
        Prune(model, f.OutFile("l1.onnx"), f.OutFile("l1.json"), "--target-flops", "50%", "--criterion", "l1");
        Prune(model, f.OutFile("random.onnx"), f.OutFile("random.json"), "--target-flops", "50%", "--criterion", "random");
        File.ReadAllBytes(f.OutFile("l1.onnx")).Should().NotEqual(File.ReadAllBytes(f.OutFile("random.onnx")), "a random ranking does not pick the l1 channels");
    }

    [Fact]
    public void Random_criterion_depends_on_the_seed_only()
    {
        using var f = new PruneFolders();
        var model = TestData.RealModel("mobilenet_v2");
        string Run(string file, int seed)
        {
            Prune(model, f.OutFile(file + ".onnx"), f.OutFile(file + ".json"), "--target-flops", "50%", "--criterion", "random", "--seed", seed.ToString());
            return PruneCli.Sha256(f.OutFile(file + ".onnx"));
        }
        var a = Run("seed1", 1);
        var b = Run("seed1-again", 1);
        var c = Run("seed2", 2);
        b.Should().Be(a, "the same seed gives the same model");
        c.Should().NotBe(a, "another seed ranks channels differently");
    }

    [Theory]
    [InlineData("resnet18")]
    [InlineData("mobilenet_v2")]
    [InlineData("densenet121")]
    public void Round_to_16_keeps_every_pruned_group_a_multiple_of_16(string name)
    {
        using var f = new PruneFolders();
        var report = Prune(TestData.RealModel(name), f.Pruned, f.Report, "--target-flops", "50%", "--round-to", "16");
        report.Key("round_to").GetInt32().Should().Be(16);
        var bad = report.Widths().Where(w => w.After != w.Before && w.After % 16 != 0).ToList();
        bad.Should().BeEmpty("every group keeps either all its channels or a multiple of 16");
        report.Widths().Should().Contain(w => w.After < w.Before, "something was pruned");
        ((double)report.Key("after").Long("macs") / report.Key("before").Long("macs")).Should().BeLessThanOrEqualTo(0.50);
        PruneCli.ShouldRunInOrt(f.Pruned);
    }

    [Fact]
    public void Default_width_rule_keeps_pruned_groups_multiples_of_16_or_of_4_below_16()
    {
        using var f = new PruneFolders();
        var report = Prune(TestData.RealModel("mobilenet_v2"), f.Pruned, f.Report, "--target-flops", "50%");
        report.Key("round_to").GetInt32().Should().Be(16);
        report.Widths().Where(w => w.After != w.Before && (w.After >= 16 ? w.After % 16 != 0 : w.After % 4 != 0)).Should().BeEmpty();
        report.Widths().Should().Contain(w => w.After != w.Before, "something was pruned");
    }

    /// <summary>50%, 0.5 and the absolute count of half the MACs are one target.</summary>
    [Fact]
    public void Target_as_percentage_fraction_or_count_is_the_same_target()
    {
        using var f = new PruneFolders();
        var model = TestData.RealModel("resnet18");
        var percent = Prune(model, f.OutFile("percent.onnx"), f.OutFile("percent.json"), "--target-flops", "50%");
        Prune(model, f.OutFile("fraction.onnx"), f.OutFile("fraction.json"), "--target-flops", "0.5");
        var half = percent.Key("before").Long("macs") / 2;
        Prune(model, f.OutFile("count.onnx"), f.OutFile("count.json"), "--target-flops", half.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var expected = File.ReadAllBytes(f.OutFile("percent.onnx"));
        File.ReadAllBytes(f.OutFile("fraction.onnx")).Should().Equal(expected, "0.5 is 50%");
        File.ReadAllBytes(f.OutFile("count.onnx")).Should().Equal(expected, $"{half} MACs is 50% of the original");
    }
}
