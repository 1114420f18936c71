using OnnxPrune.Training.Data;

namespace OnnxPrune.Tests.Training.Data;

public class FashionMnistTests
{
    /// <summary>The installed Fashion-MNIST folder, or a failure telling how to install it.</summary>
    internal static string Folder()
    {
        if (!FashionMnist.IsAvailable(FashionMnist.DefaultFolder))
            throw new InvalidOperationException(
                $"{FashionMnist.DefaultFolder} is missing or incomplete: run tools/test.sh, which installs Debian's {FashionMnist.DebianPackage}");
        return FashionMnist.DefaultFolder;
    }

    [Theory]
    [InlineData(true, 60000, 6000)]
    [InlineData(false, 10000, 1000)]
    public void Loads_the_installed_split(bool train, int count, int perClass)
    {
        var data = FashionMnist.Load(Folder(), train);
        data.Count.Should().Be(count);
        data.Shape.Should().Equal(count, 1, 28, 28);
        data.ClassCount.Should().Be(10);
        data.Labels.Should().OnlyContain(l => l >= 0 && l <= 9);
        data.ClassCounts().Should().Equal(Enumerable.Repeat(perClass, 10));
        data.Images.Min().Should().Be(0f);
        data.Images.Max().Should().Be(1f);

        // Published statistics of Fashion-MNIST: mean 0.2860, std 0.3530 (train), 0.2868 / 0.3524 (test).
        var norm = ChannelNormalization.Compute(data);
        norm.Mean[0].Should().BeApproximately(train ? 0.2860f : 0.2868f, 5e-4f);
        norm.Std[0].Should().BeApproximately(train ? 0.3530f : 0.3524f, 5e-4f);
        FashionMnist.ClassNames.Should().HaveCount(10);
    }

    [Fact]
    public void A_missing_folder_says_which_package_provides_it()
    {
        using var dir = TestData.NewTempFolder();
        var missing = Path.Combine(dir.Path, "fashion-mnist");
        var act = () => FashionMnist.Load(missing, train: true);
        act.Should().Throw<DataFormatException>().WithMessage($"*'{missing}' does not exist*dataset-fashion-mnist*");
        FashionMnist.IsAvailable(missing).Should().BeFalse();

        Directory.CreateDirectory(missing);
        File.WriteAllBytes(Path.Combine(missing, "train-images-idx3-ubyte.gz"), []);
        var noLabels = () => FashionMnist.Load(missing, train: true);
        noLabels.Should().Throw<DataFormatException>().WithMessage("*train-labels-idx1-ubyte.gz nor train-labels-idx1-ubyte*dataset-fashion-mnist*");
    }

    [Fact]
    public void Plain_files_in_another_folder_are_read_too()
    {
        using var dir = TestData.NewTempFolder();
        IdxFile.Write(dir.File("t10k-images-idx3-ubyte"), OnnxPrune.Runtime.TensorData.Create(new byte[] { 0, 255, 51, 102 }, 1, 2, 2));
        IdxFile.Write(dir.File("t10k-labels-idx1-ubyte"), OnnxPrune.Runtime.TensorData.Create(new byte[] { 9 }, 1));
        var data = FashionMnist.Load(dir.Path, train: false);
        data.Images.Should().Equal(0f, 1f, 0.2f, 0.4f);
        data.Labels.Should().Equal(9L);
        data.ClassCount.Should().Be(10);
    }
}
