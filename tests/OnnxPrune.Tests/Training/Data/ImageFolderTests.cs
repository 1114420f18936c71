using OnnxPrune.Training.Data;
using SkiaSharp;

namespace OnnxPrune.Tests.Training.Data;

/// <summary>Image folders written here with SkiaSharp, decoded and preprocessed by <see cref="ImageFolderDataset"/>.</summary>
public class ImageFolderTests
{
    internal delegate (byte R, byte G, byte B) Colour(int x, int y);

    /// <summary>Writes a w x h opaque image (PNG lossless; JPEG at quality 100; WebP lossless at quality 100;
    /// BMP 24-bit, written here as Skia has no BMP encoder).</summary>
    internal static void WriteImage(string path, int width, int height, Colour colour, SKEncodedImageFormat format = SKEncodedImageFormat.Png)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        if (format == SKEncodedImageFormat.Bmp)
        {
            File.WriteAllBytes(path, Bmp(width, height, colour));
            return;
        }
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
            {
                var (r, g, b) = colour(x, y);
                bitmap.SetPixel(x, y, new SKColor(r, g, b, 255));
            }
        using var data = bitmap.Encode(format, 100);
        File.WriteAllBytes(path, data.ToArray());
    }

    private static byte[] Bmp(int width, int height, Colour colour)
    {
        int stride = (width * 3 + 3) / 4 * 4, size = 54 + stride * height;
        var b = new byte[size];
        void Int(int at, int v) => BitConverter.GetBytes(v).CopyTo(b, at);
        b[0] = (byte)'B';
        b[1] = (byte)'M';
        Int(2, size);
        Int(10, 54);
        Int(14, 40);
        Int(18, width);
        Int(22, height);
        b[26] = 1;
        b[28] = 24;
        Int(34, stride * height);
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
            {
                var (r, g, bl) = colour(x, y);
                var at = 54 + (height - 1 - y) * stride + x * 3;
                (b[at], b[at + 1], b[at + 2]) = (bl, g, r);
            }
        return b;
    }

    /// <summary>A distinct value per pixel and channel, and per image through <paramref name="seed"/>.</summary>
    private static Colour Gradient(int seed) => (x, y) => ((byte)(seed * 7 + x * 30 + y), (byte)(seed * 5 + y * 40 + x), (byte)(200 - x * 10 - y * 20));

    private static readonly ChannelNormalization ImageNet = new([0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]);

    // Tolerance of the lossless PNG cases: the loader computes (v/255f - mean)/std in float32 and the expectation
    // is computed in double, so they differ by float32 rounding only (values stay below 3 in magnitude: 1e-5 is
    // about 40 ulps there).
    private const double Exact = 1e-5;

    [Fact]
    public void ImageNet_layout_of_pngs_gives_labels_from_sorted_folders_and_hand_computed_tensors()
    {
        using var dir = TestData.NewTempFolder();
        var root = dir.File("images");
        // Class folders written out of order; "Bee" sorts before "ant" (ordinal: upper case first).
        WriteImage(Path.Combine(root, "cat", "b.png"), 6, 4, Gradient(1));
        WriteImage(Path.Combine(root, "cat", "a.PNG"), 6, 4, Gradient(2));
        WriteImage(Path.Combine(root, "ant", "x.png"), 6, 4, Gradient(3));
        WriteImage(Path.Combine(root, "Bee", "sub", "y.png"), 6, 4, Gradient(4));
        File.WriteAllText(Path.Combine(root, "cat", "README.txt"), "not an image");

        var scan = ImageFolderDataset.Scan(root);
        scan.ClassNames.Should().Equal("Bee", "ant", "cat");
        scan.Files.Select(f => Path.GetRelativePath(root, f)).Should().Equal(
            Path.Combine("Bee", "sub", "y.png"), Path.Combine("ant", "x.png"), Path.Combine("cat", "a.PNG"), Path.Combine("cat", "b.png"));

        // 6x4 images, shorter side already 4: no resampling; the centre 4x4 crop starts at x = 1.
        var p = new ImagePreprocessing(4, 4, 4, 3, ChannelOrder.Rgb, TensorLayout.Nchw, ImageNet);
        var data = ImageFolderDataset.Load(root, p);
        data.Count.Should().Be(4);
        data.ClassCount.Should().Be(3);
        data.Labels.Should().Equal(0, 1, 2, 2);
        (data.Channels, data.Height, data.Width).Should().Be((3, 4, 4));
        int[] seeds = [4, 3, 2, 1];
        for (var n = 0; n < 4; n++)
        {
            var image = data.Image(n);
            var colour = Gradient(seeds[n]);
            for (var c = 0; c < 3; c++)
                for (var y = 0; y < 4; y++)
                    for (var x = 0; x < 4; x++)
                    {
                        var (r, g, b) = colour(x + 1, y);
                        var v = new[] { r, g, b }[c] / 255.0;
                        var expected = (v - ImageNet.Mean[c]) / ImageNet.Std[c];
                        ((double)image[c * 16 + y * 4 + x]).Should().BeApproximately(expected, Exact, $"image {n}, channel {c}, pixel ({x},{y})");
                    }
        }
    }

    [Fact]
    public void Bgr_nhwc_and_grayscale_follow_the_preprocessing()
    {
        using var dir = TestData.NewTempFolder();
        var root = dir.File("images");
        WriteImage(Path.Combine(root, "a", "0.png"), 3, 3, Gradient(0));
        var colour = Gradient(0);

        var bgr = ImageFolderDataset.Load(root, ImagePreprocessing.Parse("crop=3,order=bgr,layout=nhwc", null));
        (bgr.Channels, bgr.Height, bgr.Width).Should().Be((3, 3, 3), "nhwc data sets carry the sample dims [H, W, C]");
        for (var y = 0; y < 3; y++)
            for (var x = 0; x < 3; x++)
            {
                var (r, g, b) = colour(x, y);
                var at = (y * 3 + x) * 3;
                ((double)bgr.Images[at]).Should().BeApproximately(b / 255.0, Exact);
                ((double)bgr.Images[at + 1]).Should().BeApproximately(g / 255.0, Exact);
                ((double)bgr.Images[at + 2]).Should().BeApproximately(r / 255.0, Exact);
            }

        var gray = ImageFolderDataset.Load(root, ImagePreprocessing.Parse("crop=3,channels=1,mean=0.5,std=0.25", null));
        gray.Channels.Should().Be(1);
        for (var y = 0; y < 3; y++)
            for (var x = 0; x < 3; x++)
            {
                var (r, g, b) = colour(x, y);
                var luma = (0.299 * r + 0.587 * g + 0.114 * b) / 255.0;
                ((double)gray.Images[y * 3 + x]).Should().BeApproximately((luma - 0.5) / 0.25, Exact);
            }
    }

    [Fact]
    public void Resizing_keeps_a_solid_colour_exact_and_a_gradient_close()
    {
        using var dir = TestData.NewTempFolder();
        var root = dir.File("images");
        // 16x8 solid colour: shorter side 8 -> 4 (scale 1/2), 8x4, centre crop 4x4. Every filter that weights
        // samples of one colour with weights summing to 1 gives that colour back (to byte rounding: exact).
        WriteImage(Path.Combine(root, "solid", "0.png"), 16, 8, (_, _) => (10, 128, 250));
        // A horizontal ramp of 8 levels a pixel, 16x16 -> 8x8: each output pixel lies between its source pixels,
        // so it is within one source step (8 levels) of the source value at its centre.
        WriteImage(Path.Combine(root, "zramp", "0.png"), 16, 16, (x, _) => ((byte)(x * 8), 0, 0));
        var p = ImagePreprocessing.Parse("resize=4,crop=4", null);
        var data = ImageFolderDataset.Load(root, p);
        data.Image(0).ToArray().Chunk(16).Select(plane => plane.Distinct().Single()).Select(v => Math.Round(v * 255.0, 3))
            .Should().Equal(10, 128, 250);

        var ramp = ImageFolderDataset.Load(root, ImagePreprocessing.Parse("resize=8,crop=8", null)).Image(1);
        for (var x = 0; x < 8; x++)
        {
            var centre = (2 * x + 0.5) * 8; // the output pixel x covers source pixels 2x and 2x+1
            (ramp[x] * 255.0).Should().BeApproximately(centre, 8.0 + 1e-3, $"column {x}");
        }
        ramp[7].Should().BeGreaterThan(ramp[0], "the ramp survives the resize");
    }

    [Fact]
    public void Jpeg_is_within_a_few_levels_of_the_colour_written()
    {
        using var dir = TestData.NewTempFolder();
        var root = dir.File("images");
        WriteImage(Path.Combine(root, "a", "0.jpg"), 8, 8, (_, _) => (200, 100, 50), SKEncodedImageFormat.Jpeg);
        WriteImage(Path.Combine(root, "b", "0.JPEG"), 8, 8, (_, _) => (30, 60, 90), SKEncodedImageFormat.Jpeg);
        var data = ImageFolderDataset.Load(root, ImagePreprocessing.Parse("crop=8", null));
        data.Labels.Should().Equal(0, 1);
        // Quality 100 JPEG of a flat colour: the only loss is the YCbCr round trip in 8 bits (and the chroma
        // subsampling, which is exact on a flat colour): within 3 levels of 255.
        int[][] written = [[200, 100, 50], [30, 60, 90]];
        for (var n = 0; n < 2; n++)
            for (var c = 0; c < 3; c++)
                data.Image(n).Slice(c * 64, 64).ToArray().Should().OnlyContain(v => Math.Abs(v * 255 - written[n][c]) <= 3,
                    $"image {n} channel {c}");
    }

    [Fact]
    public void Flat_folder_loads_as_images_without_labels()
    {
        using var dir = TestData.NewTempFolder();
        var root = dir.File("flat");
        WriteImage(Path.Combine(root, "b.png"), 5, 5, Gradient(1));
        WriteImage(Path.Combine(root, "a.bmp"), 5, 5, Gradient(2), SKEncodedImageFormat.Bmp);
        WriteImage(Path.Combine(root, "c.webp"), 5, 5, Gradient(3), SKEncodedImageFormat.Webp);
        var scan = ImageFolderDataset.Scan(root);
        scan.HasLabels.Should().BeFalse();
        scan.Files.Select(Path.GetFileName).Should().Equal("a.bmp", "b.png", "c.webp");
        var p = ImagePreprocessing.Parse("resize=5,crop=5", null);
        var tensor = ImageFolderDataset.LoadImages(root, p);
        tensor.Dims.Should().Equal(3, 3, 5, 5);
        // BMP and lossless WebP are exact, as PNG.
        var values = tensor.As<float>();
        int[] seeds = [2, 1, 3];
        for (var n = 0; n < 3; n++)
            for (var y = 0; y < 5; y++)
                for (var x = 0; x < 5; x++)
                    ((double)values[n * 75 + y * 5 + x]).Should().BeApproximately(Gradient(seeds[n])(x, y).R / 255.0, Exact, $"image {n} ({x},{y})");
        var act = () => ImageFolderDataset.Load(root, ImagePreprocessing.Parse("crop=4", null));
        act.Should().Throw<DataFormatException>().WithMessage("*no labels*sub-folder per class*");
    }

    [Fact]
    public void Truncated_garbage_and_empty_inputs_are_errors_naming_the_file_or_folder()
    {
        using var dir = TestData.NewTempFolder();
        var p = ImagePreprocessing.Parse("crop=8", null);

        // A PNG and a JPEG cut to half their bytes, next to a good image.
        foreach (var (name, format) in new[] { ("cut.png", SKEncodedImageFormat.Png), ("cut.jpg", SKEncodedImageFormat.Jpeg) })
        {
            var truncated = dir.File("truncated-" + name);
            WriteImage(Path.Combine(truncated, "a", "good.png"), 8, 8, Gradient(1));
            var cut = Path.Combine(truncated, "a", name);
            WriteImage(cut, 64, 64, Gradient(2), format);
            var bytes = File.ReadAllBytes(cut);
            File.WriteAllBytes(cut, bytes[..(bytes.Length / 2)]);
            FluentActions.Invoking(() => ImageFolderDataset.Load(truncated, p)).Should().Throw<DataFormatException>()
                .Which.Message.Should().Contain(cut);
        }

        var garbage = dir.File("garbage");
        var fake = Path.Combine(garbage, "a", "fake.png");
        Directory.CreateDirectory(Path.GetDirectoryName(fake)!);
        File.WriteAllBytes(fake, Enumerable.Range(0, 300).Select(i => (byte)(i * 37)).ToArray());
        FluentActions.Invoking(() => ImageFolderDataset.Load(garbage, p)).Should().Throw<DataFormatException>()
            .Which.Message.Should().Contain(fake).And.Contain("cannot be decoded");

        var empty = dir.File("empty");
        Directory.CreateDirectory(empty);
        FluentActions.Invoking(() => ImageFolderDataset.Scan(empty)).Should().Throw<DataFormatException>()
            .Which.Message.Should().Contain(empty).And.Contain("no images");

        var emptyClass = dir.File("empty-class");
        WriteImage(Path.Combine(emptyClass, "a", "0.png"), 8, 8, Gradient(1));
        Directory.CreateDirectory(Path.Combine(emptyClass, "b"));
        FluentActions.Invoking(() => ImageFolderDataset.Scan(emptyClass)).Should().Throw<DataFormatException>()
            .Which.Message.Should().Contain(Path.Combine(emptyClass, "b"));

        var mixed = dir.File("mixed");
        WriteImage(Path.Combine(mixed, "a", "0.png"), 8, 8, Gradient(1));
        WriteImage(Path.Combine(mixed, "loose.png"), 8, 8, Gradient(1));
        FluentActions.Invoking(() => ImageFolderDataset.Scan(mixed)).Should().Throw<DataFormatException>()
            .Which.Message.Should().Contain("both images");

        FluentActions.Invoking(() => ImageFolderDataset.Scan(dir.File("missing"))).Should().Throw<DataFormatException>()
            .Which.Message.Should().Contain("does not exist");
    }

    [Fact]
    public void Fashion_mnist_written_as_pngs_loads_back_as_the_idx_values()
    {
        var idx = FashionMnist.Load(FashionMnistTests.Folder(), train: false).Take(60);
        using var dir = TestData.NewTempFolder();
        var root = dir.File("fmnist");
        for (var n = 0; n < idx.Count; n++)
        {
            var image = idx.Image(n).ToArray();
            WriteImage(Path.Combine(root, idx.Labels[n].ToString(), $"{n:D5}.png"), 28, 28, (x, y) =>
            {
                var v = (byte)Math.Round(image[y * 28 + x] * 255);
                return (v, v, v);
            });
        }
        var defaults = ImagePreprocessing.ForInput([1, 28, 28], null, out _)!;
        var png = ImageFolderDataset.Load(root, defaults, classCount: 10);
        png.Count.Should().Be(60);
        // Folders "0".."9" in order and files by index: the PNG order is the IDX order sorted by (label, index).
        var order = Enumerable.Range(0, 60).OrderBy(n => idx.Labels[n]).ThenBy(n => n).ToArray();
        png.Labels.Should().Equal(order.Select(n => idx.Labels[n]));
        for (var i = 0; i < 60; i++)
        {
            var expected = idx.Image(order[i]).ToArray();
            // Gray from R = G = B = v is (0.299 + 0.587 + 0.114) v / 255 in float32: v/255 to a few ulps.
            png.Image(i).ToArray().Zip(expected, (a, b) => Math.Abs(a - b)).Max().Should().BeLessThan(1e-6f, $"image {order[i]}");
        }
    }

    [Fact]
    public void An_image_smaller_than_the_crop_is_scaled_up_to_fit()
    {
        using var dir = TestData.NewTempFolder();
        var root = dir.File("images");
        WriteImage(Path.Combine(root, "a", "0.png"), 2, 3, (_, _) => (40, 80, 120));
        var data = ImageFolderDataset.Load(root, ImagePreprocessing.Parse("crop=4", null));
        data.Image(0).ToArray().Chunk(16).Select(plane => plane.Select(v => Math.Round(v * 255.0, 3)).Distinct().Single()).Should().Equal(40, 80, 120);
    }
}

public class ImagePreprocessingTests
{
    [Fact]
    public void Parses_the_full_form_and_round_trips()
    {
        var p = ImagePreprocessing.Parse("resize=256,crop=224,mean=0.485/0.456/0.406,std=0.229/0.224/0.225,order=rgb,layout=nchw", null);
        (p.Resize, p.CropHeight, p.CropWidth, p.Channels, p.Order, p.Layout).Should().Be((256, 224, 224, 3, ChannelOrder.Rgb, TensorLayout.Nchw));
        p.Normalization.Mean.Should().Equal(0.485f, 0.456f, 0.406f);
        p.Normalization.Std.Should().Equal(0.229f, 0.224f, 0.225f);
        p.ToString().Should().Be("resize=256,crop=224,mean=0.485/0.456/0.406,std=0.229/0.224/0.225,order=rgb,layout=nchw,channels=3");
        var again = ImagePreprocessing.Parse(p.ToString(), null);
        again.ToString().Should().Be(p.ToString());
        ImagePreprocessing.Parse("crop=20x30,layout=NHWC,order=BGR", null).Should().Match<ImagePreprocessing>(q =>
            q.CropHeight == 20 && q.CropWidth == 30 && q.Resize == 30 && q.Layout == TensorLayout.Nhwc && q.Order == ChannelOrder.Bgr);
    }

    [Fact]
    public void Defaults_come_from_the_input_shape_and_the_normalization_metadata()
    {
        var gray = ImagePreprocessing.ForInput([1, 28, 28], "mean=0.2860406,std=0.35302424", out _)!;
        gray.ToString().Should().Be("resize=28,crop=28,mean=0.2860406,std=0.35302424,order=rgb,layout=nchw,channels=1");
        var rect = ImagePreprocessing.ForInput([3, 48, 64], null, out _)!;
        (rect.Resize, rect.CropHeight, rect.CropWidth).Should().Be((64, 48, 64), "the shorter side goes to max(H, W), so the crop fits any aspect");
        rect.Normalization.Mean.Should().Equal(0f, 0f, 0f);
        rect.Normalization.Std.Should().Equal(1f, 1f, 1f);
        var nhwc = ImagePreprocessing.ForInput([224, 224, 3], "mean=1,std=2", out _)!;
        nhwc.Layout.Should().Be(TensorLayout.Nhwc);
        nhwc.Normalization.Mean.Should().Equal([0f, 0f, 0f]); // metadata of another channel count does not apply
        ImagePreprocessing.ForInput([3, null, null], null, out var why).Should().BeNull();
        why.Should().Contain("not fixed");

        // Overrides keep the other defaults.
        var over = ImagePreprocessing.Parse("resize=32", gray);
        (over.Resize, over.CropHeight, over.Normalization.Mean[0]).Should().Be((32, 28, 0.2860406f));
        ImagePreprocessing.Parse("channels=3", gray).Normalization.Mean.Should().Equal(0.2860406f, 0.2860406f, 0.2860406f);
    }

    [Theory]
    [InlineData("resize=100,crop=224", "smaller than the crop")]
    [InlineData("crop=0", "positive")]
    [InlineData("crop=8,mean=1/2", "2 values")]
    [InlineData("crop=8,std=0", "std")]
    [InlineData("crop=8,colour=yes", "unknown key")]
    [InlineData("crop=8,order=rbg", "rgb or bgr")]
    [InlineData("crop=8,crop=9", "twice")]
    [InlineData("resize=8", "crop= is needed")]
    [InlineData("crop", "key=value")]
    public void Bad_text_is_a_format_error(string text, string why)
    {
        FluentActions.Invoking(() => ImagePreprocessing.Parse(text, null)).Should().Throw<FormatException>().Which.Message.Should().Contain(why);
    }
}
