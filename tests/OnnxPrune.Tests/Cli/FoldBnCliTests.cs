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

    /// <summary>The small CNN keeps its BatchNorm, so nothing is inserted; --fold-bn folds its own on
    /// export, without it they stay.</summary>
    [Fact]
    public void Finetune_fold_bn_folds_the_models_own_batchnorm_on_export()
    {
        using var temp = TestData.NewTempFolder();
        var input = temp.File("tiny.onnx");
        OnnxModelFile.Save(Training.TrainingTestSupport.TinyCnn(seed: 1, c1: 8, c2: 8), input);
        string[] Args(string output) => ["finetune", input, "--data", "fashion-mnist", "--epochs", "1", "--limit-train", "256", "--limit-test", "100",
            "--batch-size", "64", "--threads", "2", "-o", output];

        var folded = CliRunner.Run([.. Args(temp.File("folded.onnx")), "--fold-bn"]);
        folded.ShouldBeClean();
        folded.ExitCode.Should().Be(0, $"{folded}");
        folded.Stderr.Should().NotContain("inserted", "every conv of the model has its BatchNorm");
        folded.Stderr.Should().Contain("--fold-bn: every BatchNormalization folded");
        OnnxModelFile.Load(temp.File("folded.onnx")).Graph.Nodes.Should().NotContain(n => n.OpType == "BatchNormalization");

        var kept = CliRunner.Run(Args(temp.File("kept.onnx")));
        kept.ExitCode.Should().Be(0, $"{kept}");
        OnnxModelFile.Load(temp.File("kept.onnx")).Graph.Nodes.Count(n => n.OpType == "BatchNormalization").Should().Be(2);
    }
}
