using System.Text.Json;
using OnnxPrune.Onnx;
using OnnxPrune.Tests.Cli;
using OnnxPrune.Tests.Runtime;
using OnnxPrune.Tests.Training.Data;

namespace OnnxPrune.Tests.Training;

/// <summary>`onnxprune evaluate/finetune/train --data FOLDER-OF-IMAGES` run as a user runs them.</summary>
[Collection(CliCollection.Name)]
[Trait("Category", "Slow")]
public class ImageFolderCliTests
{
    private static string Resnet20 => Path.Combine(OrtTestLibrary.RepositoryRoot, "models", "resnet20-fmnist.onnx");

    private static CliResult Run(params string[] args) => CliRunner.Run(TimeSpan.FromMinutes(2), null, args);

    /// <summary>10 class folders "0".."9" of <paramref name="perClass"/> 28x28 grayscale PNGs (a bright square whose
    /// place depends on the class and the image, on black).</summary>
    private static string Folder(TempFolder dir, int perClass = 2)
    {
        var root = dir.File("images");
        for (var c = 0; c < 10; c++)
            for (var i = 0; i < perClass; i++)
            {
                int x0 = c * 2, y0 = i * 3;
                ImageFolderTests.WriteImage(Path.Combine(root, c.ToString(), $"{i}.png"), 28, 28,
                    (x, y) => x >= x0 && x < x0 + 8 && y >= y0 && y < y0 + 8 ? ((byte)200, (byte)200, (byte)200) : ((byte)0, (byte)0, (byte)0));
            }
        return root;
    }

    [Fact]
    public void Evaluate_on_an_image_folder_prints_accuracy_and_the_preprocessing()
    {
        using var dir = TestData.NewTempFolder();
        var root = Folder(dir);
        var r = Run("evaluate", Resnet20, "--data", root, "--threads", "2");
        r.ShouldBeClean();
        r.ExitCode.Should().Be(0, r.ToString());
        r.Stdout.Should().MatchRegex(@"top-1 \d+\.\d\d% \(\d+/20\)", "all 20 images are measured");
        r.Stdout.Should().Contain("preprocessing resize=28,crop=28,mean=0.2860406,std=0.35302424,order=rgb,layout=nchw,channels=1",
            "the defaults come from the model's 1x28x28 input and its normalization metadata");
        r.Stderr.Should().Contain("20 images in 10 class folders");

        var json = JsonOutput.Parse(Run("evaluate", Resnet20, "--data", root, "--threads", "2", "--json",
            "--preprocess", "resize=32,crop=28,mean=0.5,std=0.5"));
        json.Key("images").GetInt32().Should().Be(20);
        json.Key("preprocess").GetString().Should().Be("resize=32,crop=28,mean=0.5,std=0.5,order=rgb,layout=nchw,channels=1");
        json.Key("normalization").GetString().Should().Be("mean=0.5,std=0.5");
        json.Key("accuracy").GetDouble().Should().BeInRange(0, 1);
    }

    [Fact]
    public void A_broken_image_a_flat_folder_and_bad_preprocessing_exit_2()
    {
        using var dir = TestData.NewTempFolder();
        var root = Folder(dir, perClass: 1);
        var bad = Path.Combine(root, "3", "broken.png");
        File.WriteAllBytes(bad, [0x89, (byte)'P', (byte)'N', (byte)'G', 1, 2, 3]);
        Run("evaluate", Resnet20, "--data", root).ShouldFailWithBadInput("broken\\.png", "cannot be decoded");

        var flat = dir.File("flat");
        ImageFolderTests.WriteImage(Path.Combine(flat, "a.png"), 28, 28, (_, _) => (1, 2, 3));
        Run("evaluate", Resnet20, "--data", flat).ShouldFailWithBadInput("no labels", "sub-folder");
        // Only prune takes a flat folder (calibration needs no labels); training and measuring accuracy do.
        Run("finetune", Resnet20, "--data", flat, "--epochs", "1", "-o", dir.File("f.onnx")).ShouldFailWithBadInput("no labels", "sub-folder");
        Run("train", "--arch", "resnet20", "--data", flat, "--epochs", "1", "-o", dir.File("t.onnx")).ShouldFailWithBadInput("no labels", "sub-folder");

        File.Delete(bad);
        Run("evaluate", Resnet20, "--data", root, "--preprocess", "crop=28,order=rbg").ShouldFailWithBadInput("--preprocess", "rgb or bgr");
        Run("evaluate", Resnet20, "--data", root, "--preprocess", "mean=0.5", "--normalization", "none").ShouldFailWithBadInput("normalisation once");

        var empty = dir.File("empty");
        Directory.CreateDirectory(empty);
        Run("evaluate", Resnet20, "--data", empty).ShouldFailWithBadInput("empty", "no images");
    }

    [Fact]
    public void Finetune_and_train_take_an_image_folder()
    {
        using var dir = TestData.NewTempFolder();
        var root = Folder(dir, perClass: 3);
        var tuned = dir.File("tuned.onnx");
        var small = dir.File("small.onnx");
        OnnxModelFile.Save(TrainingTestSupport.TinyCnn(seed: 1), small);
        var r = Run("finetune", small, "--data", root, "--epochs", "1", "--batch-size", "9", "--threads", "2", "-o", tuned, "--json");
        r.ShouldBeClean();
        r.ExitCode.Should().Be(0, r.ToString());
        using (var json = JsonDocument.Parse(r.Stdout))
        {
            json.RootElement.GetProperty("train_images").GetInt32().Should().Be(27, "10% of 30 held out for the test");
            json.RootElement.GetProperty("test_images").GetInt32().Should().Be(3);
        }
        r.Stderr.Should().Contain("preprocessing: resize=28,crop=28");

        var trained = dir.File("trained.onnx");
        var t = Run("train", "--arch", "resnet20", "--data", root, "--test-data", root, "--preprocess", "crop=16,channels=1", "--epochs", "1",
            "--batch-size", "10", "--threads", "2", "-o", trained);
        t.ShouldBeClean();
        t.ExitCode.Should().Be(0, t.ToString());
        t.Stderr.Should().Contain("preprocessing: resize=16,crop=16,mean=");
        var model = OnnxModelFile.Load(trained);
        model.Graph.Inputs[0].Shape!.Dims.Skip(1).Select(d => d.Value).Should().Equal(1, 16, 16);

        Run("finetune", small, "--data", root, "--epochs", "1", "-o", dir.File("x.onnx"), "--preprocess", "layout=nhwc")
            .ShouldFailWithBadInput("layout=nhwc");
    }
}
