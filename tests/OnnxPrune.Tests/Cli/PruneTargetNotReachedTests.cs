using System.Text.RegularExpressions;

namespace OnnxPrune.Tests.Cli;

/// <summary>
/// A target the model cannot reach (issue 3, acceptance): exit code 3, the closest model is
/// written (and loads), and the message says what stopped it.
/// </summary>
[Collection(CliCollection.Name)]
[Trait("Category", "Slow")]
public class PruneTargetNotReachedTests
{
    private const double MaxRatio = 0.9; // the default --max-ratio

    /// <summary>The narrowest a group may become: at most MaxRatio of its channels go, at least one
    /// stays, and a pruned group keeps an allowed width under the default rule (a multiple of 16,
    /// or of 4 below 16), else it keeps everything.</summary>
    private static int MinimumWidth(int channels, int prunable)
    {
        int removable = Math.Min(prunable, Math.Min(channels - 1, (int)Math.Floor(MaxRatio * channels + 1e-9)));
        int kept = Math.Max(1, channels - removable);
        int rounded = kept >= 16 ? (kept + 15) / 16 * 16 : Math.Min(16, (kept + 3) / 4 * 4);
        return rounded >= channels ? channels : rounded;
    }

    [Fact]
    public void Unreachable_flops_target_writes_the_closest_model_and_exits_3()
    {
        var model = TestData.RealModel("resnet18");
        var hash = PruneCli.Sha256(model);
        using var f = new PruneFolders();

        var r = PruneCli.Run(model, "-o", f.Pruned, "--target-flops", "1%", "--report", f.Report, "--skip-latency");
        r.ShouldBeClean();
        r.ExitCode.Should().Be(3, $"a target that cannot be reached exits with 3\n{r}");
        r.ErrorLines.Should().Contain(l => l.Contains("target not reached"), $"{r}");
        var line = r.ErrorLines.First(l => l.Contains("target not reached"));
        line.Should().MatchRegex("max-ratio|round-to|minimum|barrier", "the message says what stopped it");
        line.Should().Contain(f.Pruned, "the message says where the closest model went");

        File.Exists(f.Pruned).Should().BeTrue("the closest model is written");
        Directory.GetFiles(f.Out).Select(Path.GetFileName).Should().BeEquivalentTo(new[] { "pruned.onnx", "report.json", "report.html" }, "no temp file is left behind; the page goes beside the JSON");
        PruneCli.ShouldRunInOrt(f.Pruned);

        var report = PruneCli.ReadReport(f.Report);
        report.ShouldBeWellFormedReport();
        report.Key("target_met").GetBoolean().Should().BeFalse();
        long before = report.Key("before").Long("macs"), after = report.Key("after").Long("macs");
        after.Should().BeGreaterThan(before / 100, "the target was not reached");
        PruneCli.Inspect(f.Pruned).Long("macs").Should().Be(after, "the report describes the file that was written");

        // "Closest": every prunable group went as far as --max-ratio 0.9 and --round-to 8 allow.
        foreach (var g in report.Groups().Where(g => g.Key("prunable_channels").GetInt32() > 0))
        {
            int channels = g.Key("channels_before").GetInt32(), prunable = g.Key("prunable_channels").GetInt32();
            g.Key("channels_after").GetInt32().Should().Be(MinimumWidth(channels, prunable), $"group {g.Key("name")} ({channels} channels) is at its minimum width in the closest model");
        }
        PruneCli.Sha256(model).Should().Be(hash, "the input model is never modified");
    }

    /// <summary>When every prunable group is at its minimum width, the message must not say that none is.</summary>
    [Fact]
    public void Unreachable_target_message_counts_the_groups_at_their_minimum_width()
    {
        var model = TestData.RealModel("resnet18");
        using var f = new PruneFolders();
        var r = PruneCli.Run(model, "-o", f.Pruned, "--target-flops", "1%", "--report", f.Report, "--skip-latency");
        r.ExitCode.Should().Be(3, $"{r}");
        var report = PruneCli.ReadReport(f.Report);
        var atMinimum = report.Groups().Count(g => g.Key("prunable_channels").GetInt32() > 0 &&
            g.Key("channels_after").GetInt32() == MinimumWidth(g.Key("channels_before").GetInt32(), g.Key("prunable_channels").GetInt32()));
        atMinimum.Should().BePositive("precondition: pruning to 1% drives groups to their minimum width");

        var match = Regex.Match(r.Stderr, @"(\d+) of \d+ prunable group\(s\) are at the narrowest width");
        if (match.Success)
            int.Parse(match.Groups[1].Value).Should().Be(atMinimum, $"the message counts the groups that --max-ratio/--round-to stopped\n{r}");
        else
            r.Stderr.Should().MatchRegex("max-ratio|minimum width", $"the message must say that the minimum widths stopped it\n{r}");
    }

    [Fact]
    public void Target_blocked_by_barriers_names_the_barrier_and_exits_3()
    {
        // BlazeFace's detection heads end in Reshapes that pin their channels.
        var model = TestData.RealModel("blazeface-front-128");
        var hash = PruneCli.Sha256(model);
        using var f = new PruneFolders();

        var r = PruneCli.Run(model, "-o", f.Pruned, "--target-flops", "10%", "--report", f.Report, "--skip-latency");
        r.ShouldBeClean();
        r.ExitCode.Should().Be(3, $"{r}");
        var line = r.ErrorLines.FirstOrDefault(l => l.Contains("target not reached"));
        line.Should().NotBeNull($"{r}");
        var report = PruneCli.ReadReport(f.Report);
        var barrierOps = report.Key("barriers").EnumerateArray().Select(b => b.Key("op_type").GetString()).Distinct().ToList();
        barrierOps.Should().NotBeEmpty("BlazeFace has barriers");
        line.Should().ContainAny(barrierOps!, "the message names the barrier that stops pruning");
        File.Exists(f.Pruned).Should().BeTrue();
        PruneCli.ShouldRunInOrt(f.Pruned);
        PruneCli.Sha256(model).Should().Be(hash);
    }

    [Fact]
    public void Unreachable_params_target_exits_3_and_the_model_loads()
    {
        var model = TestData.RealModel("mobilenet_v2");
        var hash = PruneCli.Sha256(model);
        using var f = new PruneFolders();
        var r = PruneCli.Run("prune", model, "-o", f.Pruned, "--target-params", "1%", "--report", f.Report, "--skip-latency");
        r.ShouldBeClean();
        r.ExitCode.Should().Be(3, $"{r}");
        r.Stderr.Should().Contain("target not reached");
        var report = PruneCli.ReadReport(f.Report);
        report.Key("target_met").GetBoolean().Should().BeFalse();
        report.Key("after").Long("params").Should().BeGreaterThan(report.Key("before").Long("params") / 100);
        PruneCli.Inspect(f.Pruned).Long("params").Should().Be(report.Key("after").Long("params"));
        PruneCli.ShouldRunInOrt(f.Pruned);
        PruneCli.Sha256(model).Should().Be(hash);
    }
}
