namespace OnnxPrune.Tests.Cli;

/// <summary>`--allocation pqi` and `--allocation cie` from the command line on the bundled ResNet-20: reports that follow
/// the schema (the PQI trajectory, the grid), shards, and usage errors naming the option (exit 2).</summary>
[Trait("Category", "Slow")]
[Collection(CliCollection.Name)]
public class PrunePolicyTests
{
    private static string BundledResNet20 => Path.Combine(Runtime.OrtTestLibrary.RepositoryRoot, "models", "resnet20-fmnist.onnx");

    [Fact]
    public void Pqi_iterates_to_the_parameter_target_and_reports_its_trajectory()
    {
        using var f = new PruneFolders();
        var r = PruneCli.Run(BundledResNet20, "-o", f.Pruned, "--report", f.Report, "--target-params", "30%", "--allocation", "pqi", "--pqi-eta", "0.1",
            "--round-to", "1", "--skip-latency");
        r.ExitCode.Should().Be(0, r.ToString());
        var report = PruneCli.ReadReport(f.Report);
        report.ShouldFollow(JsonSchemas.Report);
        report.Key("allocation").GetString().Should().Be("pqi");
        var trajectory = report.Key("pqi").Key("trajectory").EnumerateArray().ToList();
        trajectory.Count.Should().BeGreaterThan(1);
        File.ReadAllText(Path.ChangeExtension(f.Report, ".html")).Should().Contain("id=\"chart-pqi\"", "the pqi run writes report.html with its trajectory");
        PruneCli.ShouldRunInOrt(f.Pruned);
    }

    [Fact]
    public void Cie_allocates_from_a_cached_grid_and_shards_fill_the_same_cache()
    {
        using var f = new PruneFolders();
        var cache = Path.Combine(f.Out, "cache");
        string[] common = ["--allocation", "cie", "--data", "fashion-mnist", "--calibration-images", "64", "--cie-images", "64", "--cie-grid", "0.4:0.8:0.4",
            "--cie-cache", cache, "--recover", "none", "--skip-latency"];
        var shard = PruneCli.Run([BundledResNet20, "-o", f.Pruned, "--target-flops", "50%", "--shard", "1/2", .. common]);
        shard.ExitCode.Should().Be(0, shard.ToString());
        File.Exists(f.Pruned).Should().BeFalse("a shard only fills the cache");
        var r = PruneCli.Run([BundledResNet20, "-o", f.Pruned, "--report", f.Report, "--target-flops", "50%", .. common]);
        r.ExitCode.Should().Be(0, r.ToString());
        var report = PruneCli.ReadReport(f.Report);
        report.ShouldFollow(JsonSchemas.Report);
        var cie = report.Key("cie");
        cie.Key("metric").GetString().Should().Be("accuracy");
        (cie.Key("computed").GetInt32() + cie.Key("cached").GetInt32()).Should().BeGreaterThan(0);
        cie.Key("cached").GetInt32().Should().BeGreaterThan(0, "the shard's cells were read back");
        var ratios = cie.Key("ratios").GetArrayLength();
        var rows = cie.Key("rows").EnumerateArray().ToList();
        rows.Should().NotBeEmpty("the grid's rows are in the report for the heat map");
        rows.Select(row => row.Key("values").GetArrayLength()).Should().AllBeEquivalentTo(ratios, "a value per ratio of the grid");
        rows.Count.Should().Be(cie.Key("cells").GetInt32() / ratios);
        File.ReadAllText(Path.ChangeExtension(f.Report, ".html")).Should().Contain("id=\"chart-cie\"", "report.html draws the grid as a heat map");
        PruneCli.ShouldRunInOrt(f.Pruned);
    }

    [Theory]
    [InlineData("--allocation", "cie", "--target-flops", "50%", "--cie-grid", "0.1:1.5:0.1")]
    [InlineData("--allocation", "cie", "--target-flops", "50%")]
    [InlineData("--allocation", "global", "--target-flops", "50%", "--shard", "1/2")]
    [InlineData("--allocation", "pqi", "--ratio", "0.3")]
    [InlineData("--allocation", "pqi", "--target-flops", "50%", "--pqi-p", "2")]
    public void Bad_policy_options_are_usage_errors(params string[] args)
    {
        using var f = new PruneFolders();
        var r = PruneCli.Run([BundledResNet20, "-o", f.Pruned, "--skip-latency", .. args]);
        r.ExitCode.Should().Be(2, r.ToString());
    }
}
