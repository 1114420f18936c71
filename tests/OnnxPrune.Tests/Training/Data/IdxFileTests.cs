using System.IO.Compression;
using OnnxPrune.IR;
using OnnxPrune.Runtime;
using OnnxPrune.Training.Data;

namespace OnnxPrune.Tests.Training.Data;

public class IdxFileTests
{
    /// <summary>An MNIST-style image file written byte by byte: 2 images of 2x3.</summary>
    private static readonly byte[] MnistImages =
    [
        0x00, 0x00, 0x08, 0x03, // magic: ubyte, 3 dims
        0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3,
        0, 1, 2, 3, 4, 5,
        250, 251, 252, 253, 254, 255,
    ];

    private static byte[] Gzip(byte[] bytes)
    {
        using var output = new MemoryStream();
        using (var z = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true)) z.Write(bytes);
        return output.ToArray();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Reads_a_hand_written_MNIST_image_file(bool gzip)
    {
        using var dir = TestData.NewTempFolder();
        var path = dir.File("images-idx3-ubyte" + (gzip ? ".gz" : ""));
        File.WriteAllBytes(path, gzip ? Gzip(MnistImages) : MnistImages);
        var t = IdxFile.Read(path);
        t.ElementType.Should().Be(DataType.UInt8);
        t.Dims.Should().Equal(2, 2, 3);
        t.As<byte>().Should().Equal(0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255);
    }

    [Fact]
    public void Reads_big_endian_multi_byte_elements()
    {
        byte[] shorts = [0, 0, 0x0B, 1, 0, 0, 0, 2, 0x01, 0x02, 0xFF, 0xFE];
        IdxFile.Parse(shorts, "shorts").As<short>().Should().Equal(258, -2);
        byte[] ints = [0, 0, 0x0C, 1, 0, 0, 0, 2, 0x01, 0x02, 0x03, 0x04, 0xFF, 0xFF, 0xFF, 0xFF];
        IdxFile.Parse(ints, "ints").As<int>().Should().Equal(0x01020304, -1);
        byte[] floats = [0, 0, 0x0D, 1, 0, 0, 0, 1, 0x3F, 0xC0, 0x00, 0x00]; // 1.5f
        IdxFile.Parse(floats, "floats").As<float>().Should().Equal(1.5f);
        byte[] doubles = [0, 0, 0x0E, 1, 0, 0, 0, 1, 0xC0, 0x04, 0, 0, 0, 0, 0, 0]; // -2.5
        IdxFile.Parse(doubles, "doubles").As<double>().Should().Equal(-2.5);
        byte[] sbytes = [0, 0, 0x09, 1, 0, 0, 0, 2, 0x7F, 0x80];
        IdxFile.Parse(sbytes, "sbytes").As<sbyte>().Should().Equal(127, -128);
    }

    public static TheoryData<string, bool> RoundTripCases()
    {
        var data = new TheoryData<string, bool>();
        foreach (var type in new[] { "uint8", "int8", "int16", "int32", "float32", "float64" })
            foreach (var gzip in new[] { false, true })
                data.Add(type, gzip);
        return data;
    }

    [Theory]
    [MemberData(nameof(RoundTripCases))]
    public void Round_trips_every_element_type(string type, bool gzip)
    {
        long[] dims = [3, 2, 5];
        var tensor = type switch
        {
            "uint8" => TensorData.Create(Enumerable.Range(0, 30).Select(i => (byte)(i * 8)).ToArray(), dims),
            "int8" => TensorData.Create(Enumerable.Range(0, 30).Select(i => (sbyte)(i * 8 - 120)).ToArray(), dims),
            "int16" => TensorData.Create(Enumerable.Range(0, 30).Select(i => (short)(i * 2000 - 30000)).ToArray(), dims),
            "int32" => TensorData.Create(Enumerable.Range(0, 30).Select(i => i * 123456789 - 5).ToArray(), dims),
            "float32" => TensorData.Create(Enumerable.Range(0, 30).Select(i => i * 0.37f - 4.1f).ToArray(), dims),
            _ => TensorData.Create(Enumerable.Range(0, 30).Select(i => i * 1e-7 - Math.PI).ToArray(), dims),
        };
        using var dir = TestData.NewTempFolder();
        var path = dir.File("data.idx");
        IdxFile.Write(path, tensor, gzip);
        var bytes = File.ReadAllBytes(path);
        (bytes[0] == 0x1f && bytes[1] == 0x8b).Should().Be(gzip);
        var back = IdxFile.Read(path);
        back.ElementType.Should().Be(tensor.ElementType);
        back.Dims.Should().Equal(dims);
        back.Data.Should().BeEquivalentTo(tensor.Data, o => o.WithStrictOrdering());
        Directory.GetFiles(dir.Path).Should().ContainSingle("the temporary file is moved into place");
    }

    [Fact]
    public void Writes_the_bytes_the_format_specifies()
    {
        IdxFile.Serialize(TensorData.Create(new short[] { 258, -2 }, 2))
            .Should().Equal(0, 0, 0x0B, 1, 0, 0, 0, 2, 0x01, 0x02, 0xFF, 0xFE);
        IdxFile.Serialize(TensorData.Create(new byte[] { 0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255 }, 2, 2, 3))
            .Should().Equal(MnistImages);
    }

    [Fact]
    public void Gzip_is_detected_by_its_magic_not_by_the_file_name()
    {
        using var dir = TestData.NewTempFolder();
        File.WriteAllBytes(dir.File("plain.gz"), MnistImages);
        File.WriteAllBytes(dir.File("zipped.idx"), Gzip(MnistImages));
        IdxFile.Read(dir.File("plain.gz")).As<byte>().Should().Equal(IdxFile.Read(dir.File("zipped.idx")).As<byte>());
    }

    [Fact]
    public void Refuses_types_IDX_cannot_hold()
    {
        var act = () => IdxFile.Serialize(TensorData.Create(new long[] { 1 }, 1));
        act.Should().Throw<ArgumentException>().WithMessage("*int64*");
    }

    private static DataFormatException ReadBroken(byte[] bytes, bool gzip, out string path)
    {
        var dir = TestData.NewTempFolder();
        path = dir.File("broken-idx3-ubyte" + (gzip ? ".gz" : ""));
        File.WriteAllBytes(path, bytes);
        try
        {
            var p = path;
            var act = () => IdxFile.Read(p);
            return act.Should().Throw<DataFormatException>().Which;
        }
        finally { dir.Dispose(); }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Truncated_data_is_named(bool gzip)
    {
        var cut = MnistImages[..^1];
        var e = ReadBroken(gzip ? Gzip(cut) : cut, gzip, out var path);
        e.Message.Should().Contain(path).And.Contain("truncated").And.Contain("[2,2,3] of uint8").And.Contain("12 bytes").And.Contain("only 11");
    }

    [Fact]
    public void A_truncated_header_is_named()
    {
        var e = ReadBroken(MnistImages[..10], false, out var path);
        e.Message.Should().Contain(path).And.Contain("truncated").And.Contain("3 dimensions");
        ReadBroken([0, 0], false, out path).Message.Should().Contain(path).And.Contain("truncated");
        ReadBroken([], false, out path).Message.Should().Contain(path).And.Contain("truncated");
    }

    [Fact]
    public void A_truncated_gzip_stream_is_a_data_error()
    {
        var zipped = Gzip(MnistImages.Concat(new byte[4000]).ToArray());
        // Cut inside the deflate stream (whatever the decompressor makes of it, a clear error follows).
        var e = ReadBroken(zipped[..(zipped.Length / 2)], true, out var path);
        e.Message.Should().Contain(path);
        var garbage = new byte[] { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF };
        ReadBroken(garbage, true, out path).Message.Should().Contain(path);
    }

    [Theory]
    [InlineData(new byte[] { 0x12, 0x34, 0x08, 0x03 }, "0x12340803")]
    [InlineData(new byte[] { 0x00, 0x00, 0x0A, 0x01 }, "0x00000A01")] // unknown element type
    [InlineData(new byte[] { 0x00, 0x00, 0x08, 0x00 }, "0x00000800")] // no dimensions
    [InlineData(new byte[] { 0x50, 0x4B, 0x03, 0x04 }, "0x504B0304")] // a zip file
    public void A_bad_magic_is_named(byte[] magic, string shown)
    {
        var bytes = magic.Concat(MnistImages[4..]).ToArray();
        var e = ReadBroken(bytes, false, out var path);
        e.Message.Should().Contain(path).And.Contain("not an IDX file").And.Contain("bad magic " + shown);
    }

    [Fact]
    public void Trailing_bytes_are_a_size_mismatch()
    {
        var e = ReadBroken([.. MnistImages, 7], false, out var path);
        e.Message.Should().Contain(path).And.Contain("size mismatch").And.Contain("12 bytes").And.Contain("13 bytes");
    }

    [Fact]
    public void Dimensions_too_large_to_hold_are_refused()
    {
        byte[] huge = [0, 0, 0x0E, 2, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3];
        var e = ReadBroken(huge, false, out var path);
        e.Message.Should().Contain(path);
    }

    [Fact]
    public void A_missing_or_unreadable_file_is_a_data_error_not_an_IOException()
    {
        using var dir = TestData.NewTempFolder();
        var missing = dir.File("nope-idx1-ubyte.gz");
        var act = () => IdxFile.Read(missing);
        act.Should().Throw<DataFormatException>().WithMessage($"*{missing}*does not exist*");
        var folder = () => IdxFile.Read(dir.Path);
        folder.Should().Throw<DataFormatException>().WithMessage($"*{dir.Path}*");
        var inMissingFolder = () => IdxFile.Read(Path.Combine(dir.Path, "no", "such"));
        inMissingFolder.Should().Throw<DataFormatException>().WithMessage("*does not exist*");
    }

    [Fact]
    public void IdxDataset_pairs_images_with_labels_and_checks_them()
    {
        using var dir = TestData.NewTempFolder();
        File.WriteAllBytes(dir.File("images.gz"), Gzip(MnistImages));
        IdxFile.Write(dir.File("labels"), TensorData.Create(new byte[] { 1, 0 }, 2));
        var data = IdxDataset.Load(dir.File("images.gz"), dir.File("labels"), classCount: 3);
        data.Shape.Should().Equal(2, 1, 2, 3);
        data.Labels.Should().Equal(1L, 0L);
        data.ClassCount.Should().Be(3);
        data.Images[5].Should().Be(5 / 255f);
        data.Images[11].Should().Be(1f);

        IdxFile.Write(dir.File("three-labels"), TensorData.Create(new byte[] { 1, 0, 2 }, 3));
        var mismatch = () => IdxDataset.Load(dir.File("images.gz"), dir.File("three-labels"));
        mismatch.Should().Throw<DataFormatException>().WithMessage("*images 'images.gz' hold 2 samples*labels 'three-labels' hold 3*");

        IdxFile.Write(dir.File("bad-labels"), TensorData.Create(new byte[] { 1, 7 }, 2));
        var outOfRange = () => IdxDataset.Load(dir.File("images.gz"), dir.File("bad-labels"), classCount: 3);
        outOfRange.Should().Throw<DataFormatException>().WithMessage("*label of sample 1 is 7, outside [0, 3)*");
    }
}
