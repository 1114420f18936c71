using System.Runtime.InteropServices;
using OnnxPrune.Runtime;
using OnnxPrune.Tests.Cli;
using OnnxPrune.Training.Data;

namespace OnnxPrune.Tests.Training.Data;

public class NpzDatasetTests
{
    private static byte[] Bytes<T>(T[] values) where T : unmanaged => MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    private static readonly long[] Labels = [0, 2, 1, 2];

    private static string Write(TempFolder dir, params (string Name, byte[] Npy)[] arrays)
    {
        var path = dir.File($"data-{Guid.NewGuid():N}.npz");
        Npy.WriteNpz(path, compressed: true, arrays);
        return path;
    }

    [Fact]
    public void Float32_NHW_images_with_int64_labels()
    {
        using var dir = TestData.NewTempFolder();
        var x = Enumerable.Range(0, 4 * 2 * 3).Select(i => i * 0.5f - 3).ToArray();
        var path = Write(dir, ("x", Npy.Array(x, 4, 2, 3)), ("y", Npy.Bytes("<i8", Bytes(Labels), 4)));
        var data = NpzDataset.Load(path);
        data.Shape.Should().Equal(4, 1, 2, 3);
        data.Images.Should().Equal(x);
        data.Labels.Should().Equal(Labels);
        data.ClassCount.Should().Be(3, "the largest label + 1 by default");
        data.Source.Should().Contain(path);
    }

    [Fact]
    public void Float64_NCHW_images_with_int32_labels()
    {
        using var dir = TestData.NewTempFolder();
        var x = Enumerable.Range(0, 4 * 3 * 2 * 2).Select(i => i * 0.25 + 1e-9).ToArray();
        var path = Write(dir, ("x", Npy.Array(x, 4, 3, 2, 2)), ("y", Npy.Bytes("<i4", Bytes(Labels.Select(l => (int)l).ToArray()), 4)));
        var data = NpzDataset.Load(path, classCount: 5);
        data.Shape.Should().Equal(4, 3, 2, 2);
        data.Images.Should().Equal(x.Select(v => (float)v));
        data.Labels.Should().Equal(Labels);
        data.ClassCount.Should().Be(5);
    }

    [Fact]
    public void Uint8_images_are_scaled_by_1_over_255_and_uint8_labels_accepted()
    {
        using var dir = TestData.NewTempFolder();
        byte[] x = [0, 51, 102, 255, 1, 2, 3, 4];
        var path = Write(dir, ("images", Npy.Bytes("|u1", x, 2, 2, 2)), ("targets", Npy.Bytes("|u1", [1, 0], 2)));
        var data = NpzDataset.Load(path);
        data.Images.Should().Equal(x.Select(b => b / 255f));
        data.Images[3].Should().Be(1f);
        data.Labels.Should().Equal(1L, 0L);
    }

    [Fact]
    public void Float16_images_and_n_by_1_labels()
    {
        using var dir = TestData.NewTempFolder();
        var x = new[] { (Half)0.5, (Half)(-1), (Half)2, (Half)0.25 };
        var path = Write(dir, ("x", Npy.Bytes("<f2", Bytes(x), 1, 1, 2, 2)), ("y", Npy.Bytes("<i8", Bytes(new long[] { 3 }), 1, 1)));
        var data = NpzDataset.Load(path);
        data.Images.Should().Equal(0.5f, -1f, 2f, 0.25f);
        data.Labels.Should().Equal(3L);
    }

    [Fact]
    public void Without_x_and_y_the_first_float_and_first_integer_arrays_are_taken()
    {
        using var dir = TestData.NewTempFolder();
        var path = Write(dir,
            ("classes", Npy.Bytes("<i8", Bytes(Labels), 4)),
            ("pixels", Npy.Array(new float[16], 4, 2, 2)),
            ("extra", Npy.Array(new float[3], 3)));
        var data = NpzDataset.Load(path);
        data.Shape.Should().Equal(4, 1, 2, 2);
        data.Labels.Should().Equal(Labels);
    }

    [Fact]
    public void Arrays_are_chosen_by_name()
    {
        using var dir = TestData.NewTempFolder();
        var path = Write(dir,
            ("x", Npy.Array(new float[4], 4)),
            ("train_x", Npy.Array(Enumerable.Range(0, 8).Select(i => (float)i).ToArray(), 2, 2, 2)),
            ("y", Npy.Bytes("<i8", Bytes(Labels), 4)),
            ("train_y", Npy.Bytes("<i8", Bytes(new long[] { 4, 1 }), 2)));
        var data = NpzDataset.Load(path, inputName: "train_x", labelName: "train_y", classCount: 10);
        data.Count.Should().Be(2);
        data.Labels.Should().Equal(4L, 1L);

        var missing = () => NpzDataset.Load(path, inputName: "test_x");
        missing.Should().Throw<DataFormatException>()
            .WithMessage($"*'{path}' has no array 'test_x' for the images*'x' float [4]*'train_y' int64 [2]*");
    }

    [Fact]
    public void Two_npy_files_work_too()
    {
        using var dir = TestData.NewTempFolder();
        File.WriteAllBytes(dir.File("x.npy"), Npy.Array(new float[] { 1, 2, 3, 4 }, 1, 2, 2));
        File.WriteAllBytes(dir.File("y.npy"), Npy.Bytes("<i4", Bytes(new[] { 1 }), 1));
        var data = NpzDataset.LoadNpy(dir.File("x.npy"), dir.File("y.npy"), classCount: 2);
        data.Images.Should().Equal(1f, 2f, 3f, 4f);
        data.Labels.Should().Equal(1L);
    }

    [Fact]
    public void Labels_out_of_range_name_the_sample_and_the_value()
    {
        using var dir = TestData.NewTempFolder();
        var path = Write(dir, ("x", Npy.Array(new float[16], 4, 2, 2)), ("y", Npy.Bytes("<i8", Bytes(new long[] { 0, 1, 10, 12 }), 4)));
        var act = () => NpzDataset.Load(path, classCount: 10);
        act.Should().Throw<DataFormatException>().WithMessage($"'{path}': label of sample 2 is 10, outside [0, 10) for 10 classes (2 labels are out of range)");

        var negative = Write(dir, ("x", Npy.Array(new float[16], 4, 2, 2)), ("y", Npy.Bytes("<i8", Bytes(new long[] { 0, -1, 1, 1 }), 4)));
        var inferred = () => NpzDataset.Load(negative);
        inferred.Should().Throw<DataFormatException>().WithMessage("*label of sample 1 is -1*");
        var given = () => NpzDataset.Load(negative, classCount: 3);
        given.Should().Throw<DataFormatException>().WithMessage("*label of sample 1 is -1, outside [0, 3)*");
    }

    [Fact]
    public void Shape_mismatches_are_clear()
    {
        using var dir = TestData.NewTempFolder();
        var count = Write(dir, ("x", Npy.Array(new float[12], 3, 2, 2)), ("y", Npy.Bytes("<i8", Bytes(Labels), 4)));
        var act = () => NpzDataset.Load(count);
        act.Should().Throw<DataFormatException>().WithMessage("*images 'x' hold 3 samples (float [3,2,2]) but labels 'y' hold 4 (int64 [4])*");

        var flat = Write(dir, ("x", Npy.Array(new float[12], 4, 3)), ("y", Npy.Bytes("<i8", Bytes(Labels), 4)));
        var rank = () => NpzDataset.Load(flat);
        rank.Should().Throw<DataFormatException>().WithMessage("*images 'x' (float [4,3]) must have shape [N, H, W] or [N, C, H, W]*");

        var nhwc = Write(dir, ("x", Npy.Array(new float[4 * 28 * 28], 4, 28, 28, 1)), ("y", Npy.Bytes("<i8", Bytes(Labels), 4)));
        var channelsLast = () => NpzDataset.Load(nhwc);
        channelsLast.Should().Throw<DataFormatException>().WithMessage("*channels-last (NHWC)*transpose*");

        var labels2d = Write(dir, ("x", Npy.Array(new float[16], 4, 2, 2)), ("y", Npy.Bytes("<i8", new byte[64], 4, 2)));
        var labelRank = () => NpzDataset.Load(labels2d);
        labelRank.Should().Throw<DataFormatException>().WithMessage("*labels 'y' (int64 [4,2]) must have shape [N]*");
    }

    [Fact]
    public void Wrong_element_types_are_clear()
    {
        using var dir = TestData.NewTempFolder();
        var floatLabels = Write(dir, ("x", Npy.Array(new float[16], 4, 2, 2)), ("y", Npy.Array(new float[4], 4)));
        var act = () => NpzDataset.Load(floatLabels);
        act.Should().Throw<DataFormatException>().WithMessage("*labels 'y' (float [4])*must be integers*");

        var intImages = Write(dir, ("x", Npy.Bytes("<i4", new byte[64], 4, 2, 2)), ("y", Npy.Bytes("<i8", Bytes(Labels), 4)));
        var images = () => NpzDataset.Load(intImages);
        images.Should().Throw<DataFormatException>().WithMessage("*images 'x' (int32 [4,2,2])*float32, float64, float16 or uint8*");

        var nan = Write(dir, ("x", Npy.Array(new[] { 0f, float.NaN, 0f, 0f }, 1, 2, 2)), ("y", Npy.Bytes("<i8", Bytes(new long[] { 0 }), 1)));
        var notFinite = () => NpzDataset.Load(nan);
        notFinite.Should().Throw<DataFormatException>().WithMessage("*value 1 is NaN*");
    }

    [Fact]
    public void Bad_files_are_data_errors()
    {
        using var dir = TestData.NewTempFolder();
        var missing = () => NpzDataset.Load(dir.File("none.npz"));
        missing.Should().Throw<DataFormatException>().WithMessage("*none.npz' does not exist*");
        File.WriteAllText(dir.File("text.npz"), "hello");
        var notZip = () => NpzDataset.Load(dir.File("text.npz"));
        notZip.Should().Throw<DataFormatException>().WithMessage("*text.npz' is not an .npz file*");
        var noImages = Write(dir, ("y", Npy.Bytes("<i8", Bytes(Labels), 4)));
        var act = () => NpzDataset.Load(noImages);
        act.Should().Throw<DataFormatException>().WithMessage("*has no image array*'y' int64 [4]*");
    }
}
