using OnnxPrune.Onnx;
using OnnxPrune.Tests.Cli;

namespace OnnxPrune.Tests.Api;

/// <summary>The version comes from Directory.Build.props and reaches --version, the report and the written model.</summary>
[Collection(CliCollection.Name)]
public class VersionTests
{
    [Fact]
    public void Version_option_prints_the_version_of_Directory_Build_props()
    {
        var r = CliRunner.Run("--version");
        r.ExitCode.Should().Be(0, $"{r}");
        r.Stdout.Trim().Should().Be(ToolVersionFile.VersionPrefix);
    }

    [Fact]
    public void Prune_records_the_version_in_the_report_and_names_onnxprune_as_the_models_producer()
    {
        using var f = new PruneFolders();
        // The bundled model was written by `onnxprune train`: name another producer so that the stamp is seen.
        var input = OnnxModelFile.Load(ToolVersionFile.SmallModel);
        (input.ProducerName, input.ProducerVersion) = ("pytorch", "1.13.1");
        OnnxModelFile.Save(input, f.Model);
        var r = PruneCli.Run(f.Model, "-o", f.Pruned, "--report", f.Report, "--target-flops", "50%", "--skip-latency");
        r.ExitCode.Should().Be(0, $"{r}");
        PruneCli.ReadReport(f.Report).Key("tool_version").GetString().Should().Be(ToolVersionFile.VersionPrefix);
        var written = OnnxModelFile.Load(f.Pruned);
        written.ProducerName.Should().Be("onnxprune");
        written.ProducerVersion.Should().Be(ToolVersionFile.VersionPrefix);
    }
}
