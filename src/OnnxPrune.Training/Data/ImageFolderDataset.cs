using System.Runtime.InteropServices;
using OnnxPrune.Runtime;
using SkiaSharp;

namespace OnnxPrune.Training.Data;

/// <summary>The image files of a folder and, for the ImageNet layout, their labels.</summary>
/// <param name="Folder">The folder as given.</param>
/// <param name="Files">Full paths, in load order: by class, then by path relative to the class folder (ordinal).</param>
/// <param name="ClassNames">The class sub-folders in sorted (ordinal) order, the class index being the position;
/// null for a flat folder.</param>
/// <param name="Labels">Each file's class index; null for a flat folder.</param>
internal sealed record ImageFolder(string Folder, IReadOnlyList<string> Files, IReadOnlyList<string>? ClassNames, long[]? Labels)
{
    public bool HasLabels => Labels is not null;
}

/// <summary>
/// Images in a folder, decoded with SkiaSharp and preprocessed by <see cref="ImagePreprocessing"/>. Two layouts:
/// <list type="bullet">
/// <item>ImageNet layout: one sub-folder per class (class index = position of the sub-folder's name in ordinal
/// order, as torchvision's ImageFolder), images anywhere below it;</item>
/// <item>flat: the images directly in the folder, without labels (calibration data).</item>
/// </list>
/// Image files are those ending in .png, .jpg, .jpeg, .bmp or .webp (any case); other files (a README, .DS_Store)
/// and folders whose name starts with '.' are not data and are passed over. A folder holding both images and class
/// sub-folders, a class folder without images, and an image that cannot be read or decoded completely (unreadable,
/// truncated, garbage) are errors (<see cref="DataFormatException"/> naming the file or folder): no file is skipped.
/// </summary>
internal static class ImageFolderDataset
{
    public static IReadOnlyList<string> Extensions { get; } = [".png", ".jpg", ".jpeg", ".bmp", ".webp"];

    public static bool IsImageFile(string path) =>
        Extensions.Any(e => path.EndsWith(e, StringComparison.OrdinalIgnoreCase));

    /// <summary>True when the folder holds image files, directly or in (non-hidden) sub-folders.</summary>
    public static bool HasImages(string folder) =>
        Directory.Exists(folder) && (Directory.EnumerateFiles(folder).Any(IsImageFile) || VisibleSubfolders(folder).Any(d => FilesBelow(d).Any()));

    /// <summary>Lists the images of <paramref name="folder"/> and works out the layout.</summary>
    /// <exception cref="DataFormatException">The folder is missing or holds no images, mixes loose images with
    /// class sub-folders, or a class sub-folder holds no images.</exception>
    public static ImageFolder Scan(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        try
        {
            if (!Directory.Exists(folder)) throw new DataFormatException($"image folder '{folder}' does not exist");
            var loose = Directory.EnumerateFiles(folder).Where(IsImageFile).Order(StringComparer.Ordinal).ToList();
            var classes = VisibleSubfolders(folder).Order(StringComparer.Ordinal).ToList();
            var classFiles = classes.Select(d => FilesBelow(d).Order(StringComparer.Ordinal).ToList()).ToList();
            if (loose.Count > 0)
            {
                var withImages = classes.Where((_, i) => classFiles[i].Count > 0).ToList();
                if (withImages.Count > 0)
                    throw new DataFormatException(
                        $"image folder '{folder}' holds both images (e.g. '{Path.GetFileName(loose[0])}') and class sub-folders with images (e.g. '{Path.GetFileName(withImages[0])}'): " +
                        "use one sub-folder per class (ImageNet layout), or only images (no labels)");
                return new ImageFolder(folder, loose, null, null);
            }
            if (classes.Count == 0)
                throw new DataFormatException($"image folder '{folder}' holds no images ({string.Join(", ", Extensions)}) and no class sub-folders");
            for (var c = 0; c < classes.Count; c++)
                if (classFiles[c].Count == 0)
                    throw new DataFormatException($"class folder '{classes[c]}' of image folder '{folder}' holds no images ({string.Join(", ", Extensions)})");
            var files = classFiles.SelectMany(f => f).ToList();
            var labels = classFiles.SelectMany((f, c) => Enumerable.Repeat((long)c, f.Count)).ToArray();
            return new ImageFolder(folder, files, classes.Select(Path.GetFileName).ToList()!, labels);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataFormatException($"image folder '{folder}' cannot be read: {e.Message}", e);
        }
    }

    /// <summary>
    /// A labelled data set from a folder in the ImageNet layout. Its dims are the sample dims of the layout:
    /// (Channels, Height, Width) = (C, H, W) for nchw and (H, W, C) for nhwc, so that its images are the model's
    /// input either way. <paramref name="classCount"/> defaults to the number of class folders.
    /// </summary>
    /// <exception cref="DataFormatException">As <see cref="Scan"/> and <see cref="Decode"/>; also a flat folder (no labels).</exception>
    public static Dataset Load(string folder, ImagePreprocessing preprocessing, int? classCount = null)
    {
        ArgumentNullException.ThrowIfNull(preprocessing);
        var scan = Scan(folder);
        if (scan.Labels is null)
            throw new DataFormatException(
                $"image folder '{folder}' has no labels: its {scan.Files.Count} images lie directly in it; labels need one sub-folder per class (ImageNet layout: '{folder}/CLASS/IMAGE.png')");
        var images = Decode(scan.Files, preprocessing);
        var d = preprocessing.SampleDims;
        return new Dataset(images, scan.Labels, d[0], d[1], d[2], classCount ?? scan.ClassNames!.Count, $"image folder '{folder}'");
    }

    /// <summary>
    /// The files at <paramref name="indices"/> of a scanned folder of either layout, decoded (only those), as a
    /// data set in the sample dims of the layout (see <see cref="Load"/>). A flat folder has no labels: its
    /// images are labelled 0 and the caller must not use the labels (calibration without labels).
    /// </summary>
    /// <exception cref="DataFormatException">A chosen file cannot be read or decoded.</exception>
    public static Dataset LoadFiles(ImageFolder scan, IReadOnlyList<int> indices, ImagePreprocessing preprocessing, int classCount)
    {
        ArgumentNullException.ThrowIfNull(scan);
        ArgumentNullException.ThrowIfNull(indices);
        ArgumentNullException.ThrowIfNull(preprocessing);
        var images = Decode(indices.Select(i => scan.Files[i]).ToList(), preprocessing);
        var labels = scan.Labels is { } l ? indices.Select(i => l[i]).ToArray() : new long[indices.Count];
        var d = preprocessing.SampleDims;
        var kind = scan.HasLabels ? "" : ", no labels";
        return new Dataset(images, labels, d[0], d[1], d[2], classCount, $"image folder '{scan.Folder}' ({indices.Count} of {scan.Files.Count} images{kind})");
    }

    /// <summary>All images of a folder of either layout, labels ignored, as one tensor [N, ...SampleDims].</summary>
    public static TensorData LoadImages(string folder, ImagePreprocessing preprocessing)
    {
        ArgumentNullException.ThrowIfNull(preprocessing);
        var scan = Scan(folder);
        var images = Decode(scan.Files, preprocessing);
        return TensorData.Create(images, [scan.Files.Count, .. preprocessing.SampleDims.Select(v => (long)v)]);
    }

    /// <summary>Decodes and preprocesses the files (in parallel, each into its own slot, so the result does not
    /// depend on the scheduling). When several files are bad, the first in the list is reported.</summary>
    /// <exception cref="DataFormatException">A file cannot be read or decoded.</exception>
    public static float[] Decode(IReadOnlyList<string> files, ImagePreprocessing preprocessing)
    {
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(preprocessing);
        int size = preprocessing.SampleSize;
        if ((long)files.Count * size > Array.MaxLength)
            throw new DataFormatException($"{files.Count} images of {size} values do not fit in one float array; use fewer images or a smaller crop");
        var result = new float[files.Count * size];
        var errors = new Exception?[files.Count];
        Parallel.For(0, files.Count, i =>
        {
            try { Read(files[i], preprocessing, result.AsSpan(i * size, size)); }
            catch (Exception e) { errors[i] = e; }
        });
        var first = errors.FirstOrDefault(e => e is not null);
        if (first is DataFormatException) throw first;
        if (first is not null) throw new DataFormatException(first.Message, first);
        return result;
    }

    /// <summary>Decodes and preprocesses one image file into <paramref name="destination"/> (SampleSize floats).</summary>
    /// <exception cref="DataFormatException">The file cannot be read, is not an image SkiaSharp decodes, or is
    /// truncated (decoding stops before the last row).</exception>
    public static void Read(string path, ImagePreprocessing p, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(p);
        if (destination.Length != p.SampleSize) throw new ArgumentException($"need {p.SampleSize} floats, got {destination.Length}", nameof(destination));
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataFormatException($"image '{path}' cannot be read: {e.Message}", e);
        }
        using var decoded = DecodeBytes(path, bytes);
        using var resized = ResizeShorterSide(path, decoded, p.Resize);
        var bitmap = resized ?? decoded;
        int w = bitmap.Width, h = bitmap.Height;
        int top = (h - p.CropHeight) / 2, left = (w - p.CropWidth) / 2;
        var pixels = bitmap.GetPixelSpan(); // RGBA, 4 bytes a pixel, rows of RowBytes
        int rowBytes = bitmap.RowBytes;
        int ch = p.Channels, cropH = p.CropHeight, cropW = p.CropWidth, plane = cropH * cropW;
        bool nchw = p.Layout == TensorLayout.Nchw;
        var mean = p.Normalization.Mean;
        var std = p.Normalization.Std;
        Span<float> pixel = stackalloc float[3];
        for (var y = 0; y < cropH; y++)
        {
            var row = pixels.Slice((top + y) * rowBytes + left * 4, cropW * 4);
            for (var x = 0; x < cropW; x++)
            {
                float r = row[x * 4] / 255f, g = row[x * 4 + 1] / 255f, b = row[x * 4 + 2] / 255f;
                if (ch == 1) pixel[0] = 0.299f * r + 0.587f * g + 0.114f * b;
                else if (p.Order == ChannelOrder.Rgb) (pixel[0], pixel[1], pixel[2]) = (r, g, b);
                else (pixel[0], pixel[1], pixel[2]) = (b, g, r);
                for (var c = 0; c < ch; c++)
                {
                    var v = (pixel[c] - mean[c]) / std[c];
                    destination[nchw ? c * plane + y * cropW + x : (y * cropW + x) * ch + c] = v;
                }
            }
        }
    }

    /// <summary>Width and height of an image file, from its header, and whether it is stored as grayscale.</summary>
    /// <exception cref="DataFormatException">The file cannot be read or is not an image SkiaSharp reads.</exception>
    public static (int Width, int Height, bool Grayscale) ImageSize(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataFormatException($"image '{path}' cannot be read: {e.Message}", e);
        }
        using var data = SKData.CreateCopy(bytes);
        using var codec = SKCodec.Create(data)
            ?? throw new DataFormatException($"image '{path}' cannot be decoded: not a PNG, JPEG, BMP or WebP image SkiaSharp reads ({bytes.Length} bytes)");
        return (codec.Info.Width, codec.Info.Height, codec.Info.ColorType == SKColorType.Gray8);
    }

    private static SKBitmap DecodeBytes(string path, byte[] bytes)
    {
        using var data = SKData.CreateCopy(bytes);
        using var codec = SKCodec.Create(data)
            ?? throw new DataFormatException($"image '{path}' cannot be decoded: not a PNG, JPEG, BMP or WebP image SkiaSharp reads ({bytes.Length} bytes)");
        var info = codec.Info;
        if (info.Width <= 0 || info.Height <= 0 || (long)info.Width * info.Height > 1L << 28)
            throw new DataFormatException($"image '{path}' has an unusable size {info.Width}x{info.Height}");
        var target = new SKImageInfo(info.Width, info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var bitmap = new SKBitmap(target);
        try
        {
            var result = codec.GetPixels(target, bitmap.GetPixels());
            if (result != SKCodecResult.Success)
                throw new DataFormatException(result == SKCodecResult.IncompleteInput
                    ? $"image '{path}' is truncated: its data ends before the last row ({bytes.Length} bytes)"
                    : $"image '{path}' cannot be decoded: {result}");
            return bitmap;
        }
        catch
        {
            bitmap.Dispose();
            throw;
        }
    }

    /// <summary>The image scaled so that its shorter side is <paramref name="shorter"/>; null when it already is.</summary>
    private static SKBitmap? ResizeShorterSide(string path, SKBitmap bitmap, int shorter)
    {
        int w = bitmap.Width, h = bitmap.Height;
        if (Math.Min(w, h) == shorter) return null;
        int nw, nh;
        if (w <= h) (nw, nh) = (shorter, (int)Math.Max(shorter, Math.Round((double)h * shorter / w, MidpointRounding.AwayFromZero)));
        else (nw, nh) = ((int)Math.Max(shorter, Math.Round((double)w * shorter / h, MidpointRounding.AwayFromZero)), shorter);
        var resized = bitmap.Resize(new SKImageInfo(nw, nh, SKColorType.Rgba8888, SKAlphaType.Unpremul), new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));
        return resized ?? throw new DataFormatException($"image '{path}' ({w}x{h}) could not be resized to {nw}x{nh}");
    }

    private static IEnumerable<string> VisibleSubfolders(string folder) =>
        Directory.EnumerateDirectories(folder).Where(d => !Path.GetFileName(d).StartsWith('.'));

    private static IEnumerable<string> FilesBelow(string folder) =>
        Directory.EnumerateFiles(folder).Where(IsImageFile)
            .Concat(VisibleSubfolders(folder).SelectMany(FilesBelow));
}
