using OnnxPrune.Cli.Commands;
using OnnxPrune.IR;
using OnnxPrune.Tests.Autodiff;
using OnnxPrune.Tests.Training.Data;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Tests.Cli;

/// <summary>
/// prune's calibration sample from an image folder (<see cref="CalibrationData.Load"/>), checked against
/// tensors computed here by hand: resize of the shorter side, centre crop, mean/std, channel order and
/// layout, for a folder with class sub-folders and for a flat one (no labels).
/// </summary>
[Collection(CliCollection.Name)]
public class CalibrationDataTests
{
    private static readonly float[] Mean = [0.5f, 0.4f, 0.3f], Std = [0.2f, 0.25f, 0.5f];

    /// <summary>16 x 8 pixels of 4x4 blocks, each block one colour that depends on the block and on
    /// <paramref name="seed"/>. Halving (shorter side 8 -> 4) maps each block onto 2x2 pixels of one colour,
    /// which any filter that stays within a block keeps exact.</summary>
    private static ImageFolderTests.Colour Blocks(int seed) => (x, y) => Block(seed, x / 4, y / 4);

    private static (byte R, byte G, byte B) Block(int seed, int bx, int by) =>
        ((byte)(40 * bx + 10 + seed), (byte)(60 * by + 20 + 3 * seed), (byte)(30 * bx + 50 * by + 5 + 7 * seed));

    /// <summary>The input after "resize=4,crop=4": the 16x8 image becomes 8x4, the crop starts at column
    /// (8 - 4) / 2 = 2, so output pixel (x, y) is original block ((x + 2) / 2, y / 2); then /255, channel
    /// order, (v - mean) / std, layout.</summary>
    private static float[] ByHand(int seed, bool bgr, bool nhwc)
    {
        var t = new float[3 * 4 * 4];
        for (int y = 0; y < 4; y++)
            for (int x = 0; x < 4; x++)
            {
                var (r, g, b) = Block(seed, (x + 2) / 2, y / 2);
                float[] rgb = [r / 255f, g / 255f, b / 255f];
                for (int c = 0; c < 3; c++)
                {
                    var v = ((bgr ? rgb[2 - c] : rgb[c]) - Mean[c]) / Std[c];
                    t[nhwc ? (y * 4 + x) * 3 + c : c * 16 + y * 4 + x] = v;
                }
            }
        return t;
    }

    /// <summary>A classifier of 3 classes over a 3x4x4 image (nchw) or a 4x4x3 one (nhwc, transposed first).</summary>
    private static Model Classifier(bool nhwc)
    {
        var net = new TestNet(DataType.Float, seed: 2);
        var x = net.Input("x", nhwc ? [1, 4, 4, 3] : [1, 3, 4, 4]);
        var chw = nhwc ? net.Op("Transpose", [x], Attribute.Ints("perm", [0, 3, 1, 2])) : x;
        var w = net.Weight("w", [3, 3, 1, 1]);
        return net.Finish(net.Op("Flatten", [net.Op("GlobalAveragePool", [net.Op("Conv", [chw, w])])]));
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, true)]
    public void A_class_folder_and_a_flat_folder_give_the_hand_computed_tensors(bool bgr, bool nhwc)
    {
        using var dir = TestData.NewTempFolder();
        var labelled = dir.File("labelled");
        ImageFolderTests.WriteImage(Path.Combine(labelled, "cat", "a.png"), 16, 8, Blocks(1));
        ImageFolderTests.WriteImage(Path.Combine(labelled, "dog", "b.png"), 16, 8, Blocks(2));
        var flat = dir.File("flat");
        ImageFolderTests.WriteImage(Path.Combine(flat, "x.png"), 16, 8, Blocks(3));
        ImageFolderTests.WriteImage(Path.Combine(flat, "y.png"), 16, 8, Blocks(4));
        var preprocess = $"resize=4,crop=4,mean=0.5/0.4/0.3,std=0.2/0.25/0.5,order={(bgr ? "bgr" : "rgb")},layout={(nhwc ? "nhwc" : "nchw")}";
        var model = Classifier(nhwc);

        var withLabels = CalibrationData.Load(labelled, preprocess, model, count: 10, seed: 0, labels: true, TextWriter.Null);
        withLabels.HasLabels.Should().BeTrue();
        withLabels.Images.Labels.Should().Equal(0, 1);
        ShouldBe(withLabels.Images.Images, [.. ByHand(1, bgr, nhwc), .. ByHand(2, bgr, nhwc)]);

        var flatSet = CalibrationData.Load(flat, preprocess, model, count: 10, seed: 0, labels: true, TextWriter.Null);
        flatSet.HasLabels.Should().BeFalse("a flat folder has no labels: the criteria use the model's predictions");
        ShouldBe(flatSet.Images.Images, [.. ByHand(3, bgr, nhwc), .. ByHand(4, bgr, nhwc)]);

        CalibrationData.Load(labelled, preprocess, model, count: 10, seed: 0, labels: false, TextWriter.Null).HasLabels.Should().BeFalse("--no-labels");
    }

    private static void ShouldBe(float[] actual, float[] expected)
    {
        actual.Should().HaveCount(expected.Length);
        for (int i = 0; i < expected.Length; i++)
            actual[i].Should().BeApproximately(expected[i], 1e-5f, $"value {i}");
    }
}
