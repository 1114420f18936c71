using OnnxPrune.IR;
using OnnxPrune.Training.Architectures;
using OnnxPrune.Training.Data;

namespace OnnxPrune.Tests.Training;

/// <summary>Small networks and Fashion-MNIST subsets shared by the trainer tests.</summary>
internal static class TrainingTestSupport
{
    private static readonly Lazy<Dataset> FullTrain = new(() => FashionMnist.Load(Folder(), train: true));
    private static readonly Lazy<Dataset> FullTest = new(() => FashionMnist.Load(Folder(), train: false));

    public static string Folder()
    {
        if (!FashionMnist.IsAvailable(FashionMnist.DefaultFolder))
            throw new InvalidOperationException(
                $"{FashionMnist.DefaultFolder} is missing or incomplete: run tools/test.sh, which installs Debian's {FashionMnist.DebianPackage}");
        return FashionMnist.DefaultFolder;
    }

    /// <summary>The first <paramref name="count"/> Fashion-MNIST training images.</summary>
    public static Dataset Train(int count) => FullTrain.Value.Take(count);

    /// <summary>The first <paramref name="count"/> Fashion-MNIST test images.</summary>
    public static Dataset Test(int count) => FullTest.Value.Take(count);

    /// <summary>
    /// conv3x3(1→c1)-BN-ReLU-maxpool2, conv3x3(c1→c2)-BN-ReLU-maxpool2, flatten, linear: about
    /// 1 M multiply-adds per 28x28 image at (16, 32), so a step of 64 images takes milliseconds.
    /// </summary>
    public static Model TinyCnn(int seed, long c1 = 16, long c2 = 32)
    {
        var b = new NetworkBuilder(seed);
        var x = b.Input("input", 1, 28, 28);
        x = b.MaxPool(b.ConvBnRelu(x, "conv1", 1, c1, 3), "pool1", 2, 2);
        x = b.MaxPool(b.ConvBnRelu(x, "conv2", c1, c2, 3), "pool2", 2, 2);
        var logits = b.Linear(b.Flatten(x, "flatten"), "fc", c2 * 7 * 7, 10);
        logits.Name = "logits";
        b.Output(logits);
        return b.Model;
    }
}
