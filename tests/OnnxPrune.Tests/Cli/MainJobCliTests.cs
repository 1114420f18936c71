namespace OnnxPrune.Tests.Cli;

/// <summary>
/// The main job's command line (`onnxprune MODEL --target-latency ... | --max-size ... | several targets`) on the
/// bundled ResNet-20: objectives that must all hold, the report's job section, and bad input as exit 2
/// naming the option, with nothing written.
/// </summary>
[Collection(CliCollection.Name)]
public class MainJobCliTests
{
    private static string BundledResNet20 => Path.Combine(Runtime.OrtTestLibrary.RepositoryRoot, "models", "resnet20-fmnist.onnx");

    [Fact]
    public void Several_objectives_must_all_hold_and_the_report_lists_them_and_each_round()
    {
        using var f = new PruneFolders();
        File.Copy(BundledResNet20, f.Model);
        var r = PruneCli.Run(f.Model, "-o", f.Pruned, "--report", f.Report, "--target-flops", "50%", "--target-params", "40%", "--max-size", "400KB",
            "--rounds", "2", "--skip-latency");
        r.ExitCode.Should().Be(0, r.ToString());
        r.ShouldBeClean();
        var report = PruneCli.ReadReport(f.Report);
        report.ShouldBeWellFormedReport();
        report.ShouldFollow(JsonSchemas.Report);
        report.Key("target_met").GetBoolean().Should().BeTrue();
        var before = report.Key("before");
        var after = report.Key("after");
        after.Long("macs").Should().BeLessThanOrEqualTo(before.Long("macs") / 2);
        after.Long("params").Should().BeLessThanOrEqualTo(before.Long("params") * 4 / 10);
        new FileInfo(f.Pruned).Length.Should().BeLessThanOrEqualTo(400_000);
        var job = report.Key("job");
        job.Key("objectives").EnumerateArray().Select(o => o.GetString()).Should().Equal("flops 50%", "params 40%", "size 400KB");
        var rounds = job.Key("rounds").EnumerateArray().ToList();
        rounds.Select(x => x.Key("round").GetInt32()).Distinct().Should().Equal(1, 2);
        rounds.Should().Contain(x => x.Key("accepted").GetBoolean() && x.Key("round").GetInt32() == 2);
        job.Key("epochs").GetInt32().Should().Be(0, "no data: no fine-tuning");
        r.Stdout.Should().Contain("objectives: flops 50%, params 40%, size 400KB");
    }

    [Fact]
    public void The_latency_allocation_meets_a_MACs_target_pricing_removals_by_the_latency_they_save()
    {
        using var f = new PruneFolders();
        File.Copy(BundledResNet20, f.Model);
        var cache = Path.Combine(Path.GetDirectoryName(f.Report)!, "latency-cache");
        var r = PruneCli.Run(f.Model, "-o", f.Pruned, "--report", f.Report, "--target-flops", "50%", "--allocation", "latency", "--skip-latency",
            "--latency-cache", cache);
        r.ExitCode.Should().Be(0, r.ToString());
        var report = PruneCli.ReadReport(f.Report);
        report.ShouldFollow(JsonSchemas.Report);
        report.Key("allocation").GetString().Should().Be("latency");
        report.Key("after").Long("macs").Should().BeLessThanOrEqualTo(report.Key("before").Long("macs") / 2);
        Directory.EnumerateFiles(cache, "*", SearchOption.AllDirectories).Should().NotBeEmpty("the per-layer latency tables priced the plan");
    }

    [Theory]
    [InlineData(new[] { "--target-latency", "fast" }, new[] { "--target-latency", "'fast'", "5ms" })]
    [InlineData(new[] { "--target-latency", "150%" }, new[] { "--target-latency", "below 100%" })]
    [InlineData(new[] { "--target-latency", "50%", "--skip-latency" }, new[] { "--target-latency", "--skip-latency" })]
    [InlineData(new[] { "--max-accuracy-drop", "1" }, new[] { "--max-accuracy-drop", "--data" })]
    [InlineData(new[] { "--target-flops", "50%", "--final-epochs", "1" }, new[] { "fine-tuning", "labelled --data" })]
    [InlineData(new[] { "--ratio", "0.3", "--allocation", "latency" }, new[] { "--ratio" })]
    [InlineData(new[] { "--max-size", "10XB" }, new[] { "--max-size", "'10XB'" })]
    [InlineData(new[] { "--target-flops", "50%", "--rounds", "2", "--steps", "2" }, new[] { "--steps", "--rounds" })]
    [InlineData(new[] { "--ratio", "0.3", "--rounds", "2" }, new[] { "--ratio" })]
    [InlineData(new[] { "--max-size", "1KB" }, new[] { "--max-size", "graph alone" })]
    public void Bad_objectives_exit_2_naming_the_option_and_write_nothing(string[] args, string[] patterns)
    {
        using var f = new PruneFolders();
        File.Copy(BundledResNet20, f.Model);
        var hash = PruneCli.Sha256(f.Model);
        var r = PruneCli.Run([f.Model, "-o", f.Pruned, "--report", f.Report, .. args]);
        r.ShouldFailWithBadInput(patterns);
        File.Exists(f.Pruned).Should().BeFalse("a failed run writes no model");
        File.Exists(f.Report).Should().BeFalse("nor a report");
        PruneCli.Sha256(f.Model).Should().Be(hash, "the input is never changed");
    }

    [Fact]
    public void A_checkpoint_folder_of_another_run_is_refused()
    {
        using var f = new PruneFolders();
        File.Copy(BundledResNet20, f.Model);
        var dir = Path.Combine(f.Out, "rounds");
        PruneCli.Run(f.Model, "-o", f.Pruned, "--target-flops", "50%", "--rounds", "2", "--resume", dir, "--skip-latency").ExitCode.Should().Be(0);
        File.Exists(Path.Combine(dir, "round-2.onnx")).Should().BeTrue();
        var again = PruneCli.Run(f.Model, "-o", f.Pruned + ".2.onnx", "--target-flops", "40%", "--rounds", "2", "--resume", dir, "--skip-latency");
        again.ShouldFailWithBadInput("--resume", "other objectives or settings", "empty folder");
    }
}
