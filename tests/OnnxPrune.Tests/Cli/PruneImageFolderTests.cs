using OnnxPrune.Tests.Training.Data;
using SkiaSharp;

namespace OnnxPrune.Tests.Cli;

/// <summary>`onnxprune prune MODEL --data FOLDER`: calibration images from a flat folder of PNG and JPEG
/// files written here, on a torchvision export; a broken image is bad input naming the file.</summary>
[Trait("Category", "Slow")]
[Collection(CliCollection.Name)]
public class PruneImageFolderTests
{
    private const string ImageNetPreprocess = "resize=256,crop=224,mean=0.485/0.456/0.406,std=0.229/0.224/0.225";

    /// <summary>Four 64x48 images without labels, two PNG and two JPEG, of seeded smooth patterns.</summary>
    private static string FlatFolder(PruneFolders f)
    {
        var folder = Path.Combine(f.In, "images");
        for (int i = 0; i < 4; i++)
        {
            int seed = i;
            ImageFolderTests.WriteImage(Path.Combine(folder, $"img{i}.{(i % 2 == 0 ? "png" : "jpg")}"), 64, 48,
                (x, y) => ((byte)(seed * 50 + x * 3), (byte)(200 - y * 4 + seed), (byte)((x * y + seed * 17) % 256)),
                i % 2 == 0 ? SKEncodedImageFormat.Png : SKEncodedImageFormat.Jpeg);
        }
        return folder;
    }

    [Fact]
    public void Taylor_on_a_flat_folder_of_png_and_jpeg_prunes_resnet18_with_the_models_predictions_as_targets()
    {
        using var f = new PruneFolders().WithRealModel("resnet18");
        var folder = FlatFolder(f);
        var r = PruneCli.Run(f.Model, "-o", f.Pruned, "--report", f.Report, "--data", folder, "--preprocess", ImageNetPreprocess,
            "--criterion", "taylor", "--target-flops", "70%", "--calibration-images", "4", "--skip-latency");
        r.ShouldBeClean();
        r.ExitCode.Should().Be(0, r.ToString());
        r.Stderr.Should().Contain("no labels").And.Contain($"preprocessing {ImageNetPreprocess},order=rgb,layout=nchw,channels=3");
        PruneCli.ReadReport(f.Report).Key("notes").EnumerateArray().Select(n => n.GetString()).Should()
            .Contain(n => n!.Contains("scored by taylor on 4 calibration images") && n.Contains("the original model's predictions as targets"));
        PruneCli.ShouldRunInOrt(f.Pruned);
    }

    [Fact]
    public void A_truncated_jpeg_or_a_preprocess_without_data_is_bad_input()
    {
        using var f = new PruneFolders().WithRealModel("resnet18");
        var folder = FlatFolder(f);
        var jpeg = File.ReadAllBytes(Path.Combine(folder, "img1.jpg"));
        File.WriteAllBytes(Path.Combine(folder, "img1.jpg"), jpeg[..(jpeg.Length / 2)]);
        PruneCli.Run(f.Model, "-o", f.Pruned, "--data", folder, "--preprocess", ImageNetPreprocess, "--criterion", "taylor", "--target-flops", "70%", "--skip-latency")
            .ShouldFailWithBadInput("img1\\.jpg");
        PruneCli.Run(f.Model, "-o", f.Pruned, "--preprocess", "crop=224", "--target-flops", "70%").ShouldFailWithBadInput("--preprocess", "--data");
        PruneCli.Run(f.Model, "-o", f.Pruned, "--data", folder, "--preprocess", "order=rbg", "--criterion", "taylor", "--target-flops", "70%")
            .ShouldFailWithBadInput("--preprocess", "rgb or bgr");
        Directory.EnumerateFileSystemEntries(f.Out).Should().BeEmpty("nothing is written on bad input");
    }
}
