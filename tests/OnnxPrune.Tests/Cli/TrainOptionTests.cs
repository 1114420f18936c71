namespace OnnxPrune.Tests.Cli;

/// <summary>Checks of train's and finetune's options that read two options at once.</summary>
[Collection(CliCollection.Name)]
public class TrainOptionTests : IDisposable
{
    private readonly TempFolder _temp = TestData.NewTempFolder();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Nesterov_is_refused_only_with_a_momentum_of_zero_given()
    {
        var model = Path.Combine(Runtime.OrtTestLibrary.RepositoryRoot, "models", "resnet20-fmnist.onnx");
        string[] Args(params string[] extra) => ["finetune", model, "--data", _temp.File("no-such-data"), "--epochs", "1", "-o", _temp.File("out.onnx"), "--nesterov", .. extra];

        var zero = CliRunner.Run(Args("--momentum", "0"));
        zero.ShouldFailWithBadInput("--nesterov", "--momentum");

        // The default momentum (0.9) allows Nesterov: the command goes on and stops at the missing data instead.
        var byDefault = CliRunner.Run(Args());
        byDefault.ShouldFailWithBadInput("no-such-data");
        byDefault.Stderr.Should().NotContain("--nesterov");
    }
}
