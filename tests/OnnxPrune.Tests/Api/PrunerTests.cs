using OnnxPrune.Api;
using OnnxPrune.Onnx;
using OnnxPrune.Tests.Cli;

namespace OnnxPrune.Tests.Api;

/// <summary>The public library API (<see cref="Pruner"/>): the command's options, recipes and checks, without files or a terminal.</summary>
[Collection(CliCollection.Name)]
public class PrunerTests
{
    private static readonly PruneOptions Half = new() { TargetFlops = "50%", SkipLatency = true };

    [Fact]
    public void The_library_and_the_command_give_the_same_model_and_figures()
    {
        using var f = new PruneFolders();
        var r = PruneCli.Run(ToolVersionFile.SmallModel, "-o", f.Pruned, "--report", f.Report, "--target-flops", "50%", "--skip-latency");
        r.ExitCode.Should().Be(0, $"{r}");
        var result = Pruner.Run(ModelSource.FromFile(ToolVersionFile.SmallModel), Half);
        result.TargetMet.Should().BeTrue();
        result.Failure.Should().BeNull();
        result.ModelBytes.Should().Equal(File.ReadAllBytes(f.Pruned), "one code path: the same options give the same model");
        var report = PruneCli.ReadReport(f.Report);
        result.Report.After.Macs.Should().Be(report.Key("after").Long("macs"));
        result.Report.After.Macs.Should().BeLessThanOrEqualTo(result.Report.Before.Macs / 2, "--target-flops 50% is a limit");
        result.Report.Input.Should().Be(ToolVersionFile.SmallModel);
        result.Report.Output.Should().BeEmpty("the library writes no file");
    }

    [Fact]
    public void Bytes_IR_and_file_sources_give_the_same_model()
    {
        var fromFile = Pruner.Run(ModelSource.FromFile(ToolVersionFile.SmallModel), Half).ModelBytes;
        var bytes = File.ReadAllBytes(ToolVersionFile.SmallModel);
        Pruner.Run(ModelSource.FromBytes(bytes, "resnet20"), Half).ModelBytes.Should().Equal(fromFile);
        Pruner.Run(ModelSource.FromModel(OnnxModelFile.FromBytes(bytes), "resnet20"), Half).ModelBytes.Should().Equal(fromFile);
    }

    [Fact]
    public void The_result_names_onnxprune_and_its_version_as_producer()
    {
        var result = Pruner.Run(ModelSource.FromFile(ToolVersionFile.SmallModel), Half);
        var model = OnnxModelFile.FromBytes(result.ModelBytes);
        model.ProducerName.Should().Be("onnxprune");
        model.ProducerVersion.Should().Be(ToolVersionFile.VersionPrefix);
        result.Report.ToolVersion.Should().Be(ToolVersionFile.VersionPrefix);
        Pruner.Version.Should().Be(ToolVersionFile.VersionPrefix);
    }

    [Fact]
    public void A_recipe_sets_options_and_the_callers_own_override_it()
    {
        var log = new StringWriter();
        var result = Pruner.Run(ModelSource.FromFile(ToolVersionFile.SmallModel),
            new PruneOptions { Recipe = "data-free", TargetParams = "60%", SkipLatency = true }, log: log);
        // data-free.json: target-flops 50%, criterion l1, allocation global, recover none, round-to 16.
        result.Report.Target.Should().Be("params 60%", "a target given by the caller replaces the recipe's");
        result.Report.Criterion.Should().Be("l1");
        result.Report.Allocation.Should().Be("global");
        result.Report.After.Params.Should().BeLessThanOrEqualTo((long)(result.Report.Before.Params * 0.6));
        log.ToString().Should().Contain("recipe data-free").And.Contain("--target-flops", "the note says which recipe setting the caller replaced");
        Recipes.List().Select(r => r.Name).Should().Contain(["data-free", "latency-cpu", "accuracy-critical", "memory"]);
    }

    [Fact]
    public void Settings_reach_options_without_a_property()
    {
        var result = Pruner.Run(ModelSource.FromFile(ToolVersionFile.SmallModel),
            Half with { Settings = new Dictionary<string, string?> { ["criterion"] = "l2", ["steps"] = "2" } });
        result.Report.Criterion.Should().Be("l2");
        result.TargetMet.Should().BeTrue();
    }

    [Theory]
    [InlineData("ratio", "--ratio")]
    [InlineData("criterion", "--criterion")]
    [InlineData("unknown", "--no-such-option")]
    [InlineData("no-target", "give a target")]
    public void Bad_options_are_usage_errors_that_name_the_option(string which, string expected)
    {
        var options = which switch
        {
            "ratio" => new PruneOptions { Ratio = 1.5 },
            "criterion" => new PruneOptions { TargetFlops = "50%", Criterion = "bogus" },
            "unknown" => Half with { Settings = new Dictionary<string, string?> { ["no-such-option"] = "1" } },
            _ => new PruneOptions { SkipLatency = true },
        };
        var act = () => Pruner.Run(ModelSource.FromFile(ToolVersionFile.SmallModel), options);
        act.Should().Throw<UsageException>().Which.Message.Should().Contain(expected);
    }

    [Fact]
    public void A_missing_model_file_is_a_usage_error_naming_it()
    {
        var act = () => Pruner.Run(ModelSource.FromFile("/nonexistent/model.onnx"), Half);
        act.Should().Throw<UsageException>().WithMessage("*'/nonexistent/model.onnx' does not exist*");
    }

    [Fact]
    public void A_run_cancelled_before_it_starts_throws_OperationCanceledException()
    {
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        var act = () => Pruner.Run(ModelSource.FromFile(ToolVersionFile.SmallModel), Half, cancellationToken: cancel.Token);
        act.Should().Throw<OperationCanceledException>();
    }

    [Fact]
    public async Task Progress_reports_the_rounds_of_the_main_job()
    {
        var seen = new List<PruneProgress>();
        var progress = new SynchronousProgress(seen);
        var result = await Pruner.RunAsync(ModelSource.FromFile(ToolVersionFile.SmallModel), Half with { Rounds = 2 }, progress);
        result.Report.Job!.Rounds.Should().HaveCount(2);
        seen.Should().NotBeEmpty().And.OnlyContain(p => p.Stage == "pruning" && p.Status.Length > 0);
    }

    [Fact]
    public void Progress_names_the_stage_and_target_of_a_single_prune()
    {
        var seen = new List<PruneProgress>();
        Pruner.Run(ModelSource.FromFile(ToolVersionFile.SmallModel), Half, new SynchronousProgress(seen));
        seen.Should().ContainSingle().Which.Should().Be(new PruneProgress("pruning", "toward flops 50%"));
    }

    /// <summary><see cref="Progress{T}"/> posts to the thread pool; the test needs every report before it asserts.</summary>
    private sealed class SynchronousProgress(List<PruneProgress> seen) : IProgress<PruneProgress>
    {
        public void Report(PruneProgress value)
        {
            lock (seen) seen.Add(value);
        }
    }
}
