using System.Text.Json;

namespace OnnxPrune.Tests.Cli;

/// <summary>
/// `onnxprune MODEL --data ... --recover refit|bn|none` and `--steps N` on the bundled ResNet-20
/// with Fashion-MNIST: what recovery buys right after pruning, measured by ONNX Runtime on the
/// 10,000 test images.
/// </summary>
[Trait("Category", "Slow")]
[Collection(CliCollection.Name)]
public class PruneRecoveryTests
{
    private static string BundledResNet20 => Path.Combine(Runtime.OrtTestLibrary.RepositoryRoot, "models", "resnet20-fmnist.onnx");

    [Fact]
    public void Refit_recovers_more_than_batchnorm_statistics_which_recover_more_than_nothing()
    {
        // Measured when written (seed 0, 256 images, 50% MACs, activation, the default with data): none 26.4%, bn 74.0%,
        // refit 90.9%; the original 93.7%.
        using var f = new PruneFolders();
        File.Copy(BundledResNet20, f.Model);
        var accuracy = new Dictionary<string, double>();
        foreach (var mode in new[] { "none", "bn", "refit" })
        {
            var output = Path.Combine(f.Out, $"{mode}.onnx");
            var report = Path.Combine(f.Out, $"{mode}.json");
            var r = PruneCli.Run(f.Model, "-o", output, "--report", report, "--target-flops", "50%", "--data", "fashion-mnist",
                "--calibration-images", "256", "--recover", mode, "--skip-latency");
            r.ExitCode.Should().Be(0, r.ToString());
            var json = PruneCli.ReadReport(report);
            json.ShouldFollow(JsonSchemas.Report);
            json.Key("criterion").GetString().Should().Be(global::OnnxPrune.Pruning.Criteria.Criteria.DefaultWithData, "with --data and no --criterion");
            if (mode == "none") json.TryGetProperty("recovery", out _).Should().BeFalse();
            else json.Key("recovery").Key("mode").GetString().Should().Be(mode);
            if (mode == "refit")
            {
                var layers = json.Key("recovery").Key("layers").EnumerateArray().ToList();
                layers.Should().NotBeEmpty();
                layers.Should().OnlyContain(l => l.GetProperty("error_after").GetDouble() <= l.GetProperty("error_before").GetDouble());
            }
            accuracy[mode] = Evaluate(output);
        }
        var original = Evaluate(BundledResNet20);
        accuracy["bn"].Should().BeGreaterThan(accuracy["none"] + 0.3, string.Join(", ", accuracy));
        accuracy["refit"].Should().BeGreaterThan(accuracy["bn"] + 0.1, string.Join(", ", accuracy));
        accuracy["refit"].Should().BeGreaterThan(original - 0.05, "the refit brings the pruned model within 5 points of the original");
    }

    [Fact]
    public void Steps_reach_the_target_in_equal_shares_and_say_so()
    {
        using var f = new PruneFolders();
        File.Copy(BundledResNet20, f.Model);
        var r = PruneCli.Run(f.Model, "-o", f.Pruned, "--report", f.Report, "--target-flops", "50%", "--steps", "3", "--skip-latency");
        r.ExitCode.Should().Be(0, r.ToString());
        var report = PruneCli.ReadReport(f.Report);
        report.ShouldBeWellFormedReport();
        report.Key("target_met").GetBoolean().Should().BeTrue();
        double kept = (double)report.Key("after").Long("macs") / report.Key("before").Long("macs");
        kept.Should().BeInRange(0.45, 0.50);
        // Each step keeps 1 - k/3 of what the target removes: 83.3% and 66.7% of the original's MACs (widths round, so within a few points).
        var notes = report.Key("notes").EnumerateArray().Select(n => n.GetString()!).ToList();
        foreach (var (step, share) in new[] { (1, 83.3), (2, 66.7) })
        {
            var note = notes.Single(n => n.StartsWith($"step {step}/3:"));
            var percent = double.Parse(System.Text.RegularExpressions.Regex.Match(note, @"\(([\d.]+)% of the original\)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            percent.Should().BeInRange(share - 5, share, note);
        }
        // The groups' widths before are the original's, not the last step's input.
        report.Groups().Sum(g => g.Key("channels_before").GetInt32()).Should().Be(Total(f.Model));
    }

    [Fact]
    public void Recovery_without_data_is_bad_input_and_writes_nothing()
    {
        using var f = new PruneFolders();
        File.Copy(BundledResNet20, f.Model);
        var r = PruneCli.Run(f.Model, "-o", f.Pruned, "--target-flops", "50%", "--recover", "refit");
        r.ShouldFailWithBadInput("--recover refit", "--data");
        Directory.EnumerateFileSystemEntries(f.Out).Should().BeEmpty();
    }

    /// <summary>All channels of all groups of <paramref name="model"/>, from a one-step report.</summary>
    private static int Total(string model)
    {
        var dir = Path.GetDirectoryName(model)!;
        var report = Path.Combine(dir, "one-step.json");
        PruneCli.Run(model, "-o", Path.Combine(dir, "one-step.onnx"), "--report", report, "--target-flops", "90%", "--skip-latency").ExitCode.Should().Be(0);
        return PruneCli.ReadReport(report).Groups().Sum(g => g.Key("channels_before").GetInt32());
    }

    private static double Evaluate(string model)
    {
        var r = CliRunner.Run(PruneCli.Timeout, null, "evaluate", model, "--data", "fashion-mnist", "--json");
        r.ExitCode.Should().Be(0, r.ToString());
        return JsonDocument.Parse(r.Stdout).RootElement.GetProperty("accuracy").GetDouble();
    }
}
