using System.Globalization;
using OnnxPrune.Onnx;
using OnnxPrune.Runtime;
using OnnxPrune.Tests.Runtime;
using OnnxPrune.Training;
using OnnxPrune.Training.Architectures;
using OnnxPrune.Training.Data;

namespace OnnxPrune.Tests.Training;

/// <summary>
/// The trained models in models/ (the README's main job prunes them): each is the architecture
/// it names, scores at least its target on the 10,000 Fashion-MNIST test images when ONNX
/// Runtime runs it, and its metadata states that accuracy and the normalisation it needs.
/// </summary>
[Trait("Category", "Slow")]
public class BundledModelsTests
{
    [Theory]
    [InlineData("resnet20-fmnist.onnx", "resnet20", 0.920)]
    [InlineData("resnet56-fmnist.onnx", "resnet56", 0.930)]
    public void Bundled_model_reaches_its_test_accuracy_as_its_metadata_says(string file, string arch, double target)
    {
        var path = Path.Combine(OrtTestLibrary.RepositoryRoot, "models", file);
        File.Exists(path).Should().BeTrue($"models/{file} is committed");
        var model = OnnxModelFile.Load(path);
        var metadata = model.MetadataProps.GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.Last().Value);
        metadata.Should().ContainKey("arch").WhoseValue.Should().Be(arch);
        metadata.Should().ContainKey("dataset").WhoseValue.Should().Be("fashion-mnist");

        // The same architecture the builder makes: same parameters, same shapes.
        var built = Architectures.Build(arch, seed: 0);
        model.Graph.Initializers.Keys.Should().BeEquivalentTo(built.Graph.Initializers.Keys);
        foreach (var (name, value) in built.Graph.Initializers)
            model.Graph.Initializers[name].ConstValue!.Dims.Should().Equal(value.ConstValue!.Dims, name);

        var normalization = ChannelNormalization.Parse(metadata["normalization"]);
        var test = FashionMnist.Load(TrainingTestSupport.Folder(), train: false);
        test.Count.Should().Be(10000);
        var result = ClassifierEvaluation.Evaluate(model, test, normalization, new SessionSettings { IntraOpThreads = 2 });
        result.Accuracy.Should().BeGreaterThanOrEqualTo(target);
        var stated = double.Parse(metadata["test_accuracy"], CultureInfo.InvariantCulture);
        // The metadata's figure was measured on another CPU: MLAS picks AVX2 or AVX-512 kernels by
        // machine, whose float rounding differs and can flip images whose two top logits nearly
        // tie; 10 of 10,000 covers that, while a wrong normalisation or model costs points.
        result.Accuracy.Should().BeApproximately(stated, 0.001, "the metadata states the accuracy measured on the same 10,000 images");
    }
}
