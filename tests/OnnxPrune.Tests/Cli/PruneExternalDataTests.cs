using Google.Protobuf;
using OnnxPrune.Onnx;
using OnnxPrune.Tests.Cli.Fuzz;

namespace OnnxPrune.Tests.Cli;

/// <summary>A model that keeps its weights in a data file is pruned to a model that does too, its
/// data beside the output and inside the output's folder (issue 17: models past 2 GB; the 3 GB run
/// itself is tools/bench/big-model.sh).</summary>
[Collection(CliCollection.Name)]
public class PruneExternalDataTests
{
    [Fact]
    public void A_model_with_external_data_is_written_with_its_data_beside_the_output()
    {
        var dir = Directory.CreateTempSubdirectory("onnxprune-external-").FullName;
        try
        {
            var input = Directory.CreateDirectory(Path.Combine(dir, "in")).FullName;
            var output = Directory.CreateDirectory(Path.Combine(dir, "out")).FullName;
            var model = Path.Combine(input, "model.onnx");
            OnnxModelFile.Save(OnnxModelFile.FromBytes(FuzzRegressionTests.Model().ToByteArray()), model, new SaveOptions { ExternalData = ExternalDataMode.Always });
            var before = Directory.GetFiles(input).ToDictionary(f => f, File.ReadAllBytes);

            var r = InProcessCli.Run(TimeSpan.FromSeconds(60), "prune", model, "-o", Path.Combine(output, "pruned.onnx"), "--target-params", "50%", "--skip-latency")!;

            r.ShouldBeClean();
            r.ExitCode.Should().BeOneOf([0, 3], r.ToString());
            Directory.GetFiles(output).Select(Path.GetFileName).Should().BeEquivalentTo(["pruned.onnx", "pruned.onnx.data"]);
            OnnxModelFile.HasExternalData(OnnxModelFile.Load(Path.Combine(output, "pruned.onnx"))).Should().BeTrue();
            foreach (var (file, bytes) in before) File.ReadAllBytes(file).Should().Equal(bytes, $"{file} is the input");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
