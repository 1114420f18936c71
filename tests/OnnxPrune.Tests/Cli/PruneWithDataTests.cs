namespace OnnxPrune.Tests.Cli;

/// <summary>`onnxprune MODEL --data ...`: data-driven scoring (taylor) from the command line, on
/// the bundled ResNet-20 and Fashion-MNIST's training images.</summary>
[Trait("Category", "Slow")]
[Collection(CliCollection.Name)]
public class PruneWithDataTests
{
    private static string BundledResNet20 => Path.Combine(Runtime.OrtTestLibrary.RepositoryRoot, "models", "resnet20-fmnist.onnx");

    [Fact]
    public void Taylor_scores_on_the_calibration_images_and_the_report_says_what_it_scored_on()
    {
        using var f = new PruneFolders();
        File.Copy(BundledResNet20, f.Model);
        var r = PruneCli.Run(f.Model, "-o", f.Pruned, "--report", f.Report, "--target-flops", "50%", "--criterion", "taylor", "--data", "fashion-mnist",
            "--calibration-images", "128", "--skip-latency");
        r.ShouldBeClean();
        r.ExitCode.Should().Be(0, r.ToString());
        var report = PruneCli.ReadReport(f.Report);
        report.Key("criterion").GetString().Should().Be("taylor");
        report.Key("notes").EnumerateArray().Select(n => n.GetString()).Should()
            .Contain(n => n!.Contains("scored by taylor on 128 calibration images") && n.Contains("their labels"));
        PruneCli.ShouldRunInOrt(f.Pruned);
    }

    /// <summary>sosp-i runs one gradient per (image, class): 16 images keep it to a few seconds.</summary>
    [Theory]
    [InlineData("sosp-h", 128)]
    [InlineData("sosp-i", 16)]
    public void Without_labels_the_models_predictions_are_the_targets(string criterion, int images)
    {
        using var f = new PruneFolders();
        File.Copy(BundledResNet20, f.Model);
        var r = PruneCli.Run(f.Model, "-o", f.Pruned, "--report", f.Report, "--target-flops", "50%", "--criterion", criterion, "--data", "fashion-mnist",
            "--calibration-images", $"{images}", "--no-labels", "--skip-latency");
        r.ExitCode.Should().Be(0, r.ToString());
        var report = PruneCli.ReadReport(f.Report);
        report.Key("criterion").GetString().Should().Be(criterion);
        report.ShouldFollow(JsonSchemas.Report);
        report.Key("notes").EnumerateArray().Select(n => n.GetString()).Should()
            .Contain(n => n!.Contains($"scored by {criterion} on {images} calibration images") && n.Contains("the original model's predictions as targets"));
        PruneCli.ShouldRunInOrt(f.Pruned);
    }

    [Fact]
    public void A_data_driven_criterion_without_data_is_bad_input_and_writes_nothing()
    {
        using var f = new PruneFolders();
        File.Copy(BundledResNet20, f.Model);
        var r = PruneCli.Run(f.Model, "-o", f.Pruned, "--target-flops", "50%", "--criterion", "taylor");
        r.ShouldFailWithBadInput("--criterion taylor", "--data");
        Directory.EnumerateFileSystemEntries(f.Out).Should().BeEmpty();
    }
}
