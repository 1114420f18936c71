namespace OnnxPrune.Tests.Cli;

[Collection(CliCollection.Name)]
[Trait("Category", "Slow")]
public class ProfileTests
{
    [Theory]
    [InlineData(CachedModels.ResNet18)]
    [InlineData(CachedModels.BlazeFaceFront)]
    public void Profile_json_has_consistent_latency_statistics(string model)
    {
        var path = CachedModels.PathOf(model);
        var json = JsonOutput.Parse(CliRunner.Run(TimeSpan.FromSeconds(120), null, "profile", path, "--json", "--runs", "5", "--warmup", "1", "--threads", "2"));

        json.Key("runs").GetInt32().Should().Be(5);
        json.Key("warmup").GetInt32().Should().Be(1);
        json.Key("threads").GetInt32().Should().Be(2);
        json.Key("device").GetString().Should().Be("cpu");
        double mean = json.Key("mean_ms").Number(), p50 = json.Key("p50_ms").Number(), p90 = json.Key("p90_ms").Number();
        double min = json.Key("min_ms").Number(), max = json.Key("max_ms").Number();
        foreach (var v in new[] { mean, p50, p90, min, max }) v.Should().BePositive().And.BeLessThan(60_000);
        min.Should().BeLessThanOrEqualTo(p50);
        p50.Should().BeLessThanOrEqualTo(p90);
        p90.Should().BeLessThanOrEqualTo(max);
        mean.Should().BeInRange(min, max);

        var ops = json.Key("op_types").EnumerateArray().ToList();
        ops.Should().NotBeEmpty("ORT's profiler reports time per op type");
        ops.Select(o => o.Key("op_type").GetString()).Should().Contain(s => s!.Contains("Conv"), "these are convolutional networks");
        ops.Should().OnlyContain(o => o.Key("ms_per_run").Number() >= 0 && o.Key("nodes").GetInt32() > 0);
        ops.Sum(o => o.Key("percent").Number()).Should().BeApproximately(100, 0.5);
        ops.Select(o => o.Key("ms_per_run").Number()).Should().BeInDescendingOrder("the busiest op type comes first");
    }

    [Fact]
    public void Threads_0_means_one_per_processor()
    {
        // ORT's own default for 0 counts physical cores and found 1 on this 2-vCPU VM.
        var json = JsonOutput.Parse(CliRunner.Run(TimeSpan.FromSeconds(120), null, "profile", CachedModels.PathOf(CachedModels.BlazeFaceFront),
            "--json", "--runs", "2", "--warmup", "0", "--threads", "0"));
        json.Key("threads").GetInt32().Should().Be(Environment.ProcessorCount);
    }

    [Fact]
    public void Profile_text_output_names_the_statistics()
    {
        var r = CliRunner.Run("profile", CachedModels.PathOf(CachedModels.BlazeFaceFront), "--runs", "3", "--warmup", "0", "--threads", "1");
        r.ShouldBeClean();
        r.ExitCode.Should().Be(0, $"{r}");
        r.Stdout.Should().Contain("p50").And.Contain("p90").And.Contain("mean");
    }

    [Fact]
    public void Profile_of_a_model_with_dynamic_spatial_dims_asks_for_fixed_inputs()
    {
        // The PP-OCR classifier's height and width are dynamic: random inputs cannot be made up.
        var r = CliRunner.Run("profile", CachedModels.PathOf(CachedModels.PpOcrClassifier), "--runs", "1", "--warmup", "0");
        r.ShouldFailWithBadInput("'x'", "dynamic");
    }
}
