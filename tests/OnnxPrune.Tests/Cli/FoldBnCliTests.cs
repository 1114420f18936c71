using OnnxPrune.Onnx;
using OnnxPrune.Tests.Runtime;

namespace OnnxPrune.Tests.Cli;

/// <summary>`convert --fold-bn`: the bundled ResNet-56 loses every BatchNormalization and verify
/// finds the same outputs.</summary>
[Collection(CliCollection.Name)]
public class FoldBnCliTests
{
    [Fact]
    public void Convert_fold_bn_removes_every_batchnorm_and_verifies()
    {
        using var temp = TestData.NewTempFolder();
        var input = Path.Combine(OrtTestLibrary.RepositoryRoot, "models", "resnet56-fmnist.onnx");
        var output = temp.File("folded.onnx");
        var r = CliRunner.Run("convert", input, output, "--fold-bn");
        r.ShouldBeClean();
        r.ExitCode.Should().Be(0, $"{r}");
        r.Stderr.Should().Contain("folded 57 BatchNormalization nodes", "ResNet-56 has 55 convs in its blocks, the stem and 2 projections");
        OnnxModelFile.Load(output).Graph.Nodes.Should().NotContain(n => n.OpType == "BatchNormalization");

        var verify = CliRunner.Run("verify", input, output);
        verify.ShouldBeClean();
        verify.ExitCode.Should().Be(0, $"the folded model computes the same outputs\n{verify}");
    }
}
