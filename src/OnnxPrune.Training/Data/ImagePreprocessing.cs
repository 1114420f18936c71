using System.Globalization;
using OnnxPrune.IR;

namespace OnnxPrune.Training.Data;

/// <summary>Order of the colour channels in the tensor.</summary>
internal enum ChannelOrder { Rgb, Bgr }

/// <summary>Axis order of the image tensor: channels first [N, C, H, W] or last [N, H, W, C].</summary>
internal enum TensorLayout { Nchw, Nhwc }

/// <summary>
/// How an image file becomes a model input, in this order:
/// <list type="number">
/// <item>decode (SkiaSharp) to 8-bit RGBA; alpha is dropped, EXIF orientation is not applied (as PIL/torchvision);</item>
/// <item>resize so the shorter side is <see cref="Resize"/> (the longer side scaled by the same factor, rounded),
/// with bilinear filtering between mipmap levels (SkiaSharp's linear/linear sampling); an image whose shorter side
/// already is <see cref="Resize"/> is not resampled;</item>
/// <item>centre crop <see cref="CropHeight"/> x <see cref="CropWidth"/> (top-left corner at floor((h - CropHeight) / 2),
/// floor((w - CropWidth) / 2));</item>
/// <item>bytes to float in [0, 1] (v / 255); for one channel, grayscale = 0.299 R + 0.587 G + 0.114 B (ITU-R 601, as PIL's
/// convert("L") but without its rounding to bytes);</item>
/// <item>channel order <see cref="Order"/> (rgb or bgr);</item>
/// <item>(x - mean[c]) / std[c] per channel (<see cref="Normalization"/>);</item>
/// <item>layout <see cref="Layout"/>: nchw or nhwc.</item>
/// </list>
/// Text form (<see cref="ToString"/>, <see cref="Parse"/>):
/// "resize=256,crop=224,mean=0.485/0.456/0.406,std=0.229/0.224/0.225,order=rgb,layout=nchw,channels=3"; crop is "S"
/// (square) or "HxW".
/// </summary>
internal sealed record ImagePreprocessing
{
    public ImagePreprocessing(int resize, int cropHeight, int cropWidth, int channels, ChannelOrder order, TensorLayout layout, ChannelNormalization normalization)
    {
        ArgumentNullException.ThrowIfNull(normalization);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(cropHeight);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(cropWidth);
        if (channels is not (1 or 3)) throw new ArgumentOutOfRangeException(nameof(channels), $"images have 1 (grayscale) or 3 (colour) channels, not {channels}");
        if (resize < Math.Max(cropHeight, cropWidth))
            throw new ArgumentException($"resize={resize} makes the shorter side smaller than the crop {cropHeight}x{cropWidth}: the crop would not fit", nameof(resize));
        if (normalization.Channels != channels)
            throw new ArgumentException($"the normalisation has {normalization.Channels} channel(s) but the images {channels}", nameof(normalization));
        (Resize, CropHeight, CropWidth, Channels, Order, Layout, Normalization) = (resize, cropHeight, cropWidth, channels, order, layout, normalization);
    }

    /// <summary>Length of the shorter side after resizing.</summary>
    public int Resize { get; }
    public int CropHeight { get; }
    public int CropWidth { get; }

    /// <summary>1 (grayscale) or 3 (colour).</summary>
    public int Channels { get; }
    public ChannelOrder Order { get; }
    public TensorLayout Layout { get; }

    /// <summary>Per-channel mean and standard deviation, in the tensor's channel order.</summary>
    public ChannelNormalization Normalization { get; }

    /// <summary>Dims of one sample as the model takes it: [C, H, W] (nchw) or [H, W, C] (nhwc).</summary>
    public int[] SampleDims => Layout == TensorLayout.Nchw ? [Channels, CropHeight, CropWidth] : [CropHeight, CropWidth, Channels];

    /// <summary>Floats per sample.</summary>
    public int SampleSize => Channels * CropHeight * CropWidth;

    /// <summary>The same preprocessing with mean 0 and standard deviation 1 (values in [0, 1]).</summary>
    public ImagePreprocessing WithoutNormalization() =>
        new(Resize, CropHeight, CropWidth, Channels, Order, Layout, ChannelNormalization.Identity(Channels));

    /// <summary>The same preprocessing with another normalisation.</summary>
    public ImagePreprocessing WithNormalization(ChannelNormalization normalization) =>
        new(Resize, CropHeight, CropWidth, Channels, Order, Layout, normalization);

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"resize={Resize},crop={(CropHeight == CropWidth ? $"{CropHeight}" : $"{CropHeight}x{CropWidth}")},{Normalization},order={Order.ToString().ToLowerInvariant()},layout={Layout.ToString().ToLowerInvariant()},channels={Channels}");

    /// <summary>
    /// The defaults for an image input of <paramref name="sampleDims"/> (the dims after the batch axis, null where
    /// symbolic): [C, H, W] with C 1 or 3 is nchw, else [H, W, C] with C 1 or 3 is nhwc. The crop is H x W; the
    /// shorter side is resized to max(H, W) so that the crop always fits (for a square input: resize to the input
    /// size, then the crop takes the centre square; no ImageNet-style 256/224 margin is guessed: give resize= for
    /// it). The normalisation is <paramref name="normalizationMetadata"/> (the model's "normalization" metadata,
    /// <see cref="ChannelNormalization.ToString"/>'s form) when it parses and has C channels, else mean 0, std 1.
    /// Order rgb.
    /// </summary>
    /// <returns>Null when the dims are not an image with fixed height and width; <paramref name="why"/> says why.</returns>
    public static ImagePreprocessing? ForInput(IReadOnlyList<long?> sampleDims, string? normalizationMetadata, out string why)
    {
        ArgumentNullException.ThrowIfNull(sampleDims);
        why = "";
        if (sampleDims.Count != 3)
        {
            why = $"the input has {sampleDims.Count} dims after the batch axis, not 3 (an image [C, H, W] or [H, W, C])";
            return null;
        }
        TensorLayout layout;
        long? c, h, w;
        if (sampleDims[0] is 1 or 3) (layout, c, h, w) = (TensorLayout.Nchw, sampleDims[0], sampleDims[1], sampleDims[2]);
        else if (sampleDims[2] is 1 or 3) (layout, c, h, w) = (TensorLayout.Nhwc, sampleDims[2], sampleDims[0], sampleDims[1]);
        else
        {
            why = "the input has no channel axis of 1 or 3 first or last";
            return null;
        }
        if (h is not { } hh || w is not { } ww || hh <= 0 || ww <= 0 || hh > 65536 || ww > 65536)
        {
            why = "the input's height and width are not fixed; give crop= (and resize=) with --preprocess";
            return null;
        }
        var channels = (int)c!.Value;
        var normalization = ChannelNormalization.Identity(channels);
        if (normalizationMetadata is not null)
        {
            try
            {
                var parsed = ChannelNormalization.Parse(normalizationMetadata);
                if (parsed.Channels == channels) normalization = parsed;
            }
            catch (FormatException) { }
        }
        return new ImagePreprocessing((int)Math.Max(hh, ww), (int)hh, (int)ww, channels, ChannelOrder.Rgb, layout, normalization);
    }

    /// <summary><see cref="ForInput"/> for the model's first float input of rank 4 and its "normalization" metadata.</summary>
    public static ImagePreprocessing? ForModel(Model model, out string why)
    {
        ArgumentNullException.ThrowIfNull(model);
        var graph = model.Graph;
        var input = graph.Inputs.FirstOrDefault(i => !graph.Initializers.ContainsKey(i.Name) && i.ElementType == DataType.Float && i.Shape is { Rank: 4 });
        if (input is null)
        {
            why = "the model has no float input of rank 4 (an image batch)";
            return null;
        }
        var metadata = model.MetadataProps.LastOrDefault(p => p.Key == "normalization").Value;
        return ForInput(input.Shape!.Dims.Skip(1).Select(d => d.Value).ToArray(), metadata, out why);
    }

    /// <summary>True when <paramref name="text"/> sets mean or std.</summary>
    public static bool SetsNormalization(string text) =>
        Entries(text).Any(e => e.Key is "mean" or "std");

    /// <summary>
    /// Reads "key=value,..." (keys resize, crop, mean, std, order, layout, channels; any subset, in any order) over
    /// <paramref name="defaults"/>. Crop without resize resizes the shorter side to the crop's larger side; resize
    /// without crop keeps the default crop. Mean or std with one value applies it to every channel; a missing one
    /// of the two is 0 (mean) or 1 (std) when the other is given. Channels changed without mean/std: mean 0, std 1
    /// unless the defaults' normalisation has one value to repeat.
    /// </summary>
    /// <param name="defaults">Null when nothing is known (no model): then crop= is required and channels default to 3.</param>
    /// <exception cref="FormatException">Unknown key, bad value, or values that do not fit together.</exception>
    public static ImagePreprocessing Parse(string text, ImagePreprocessing? defaults)
    {
        ArgumentNullException.ThrowIfNull(text);
        var entries = Entries(text);
        int? resize = null, cropH = null, cropW = null, channels = null;
        float[]? mean = null, std = null;
        ChannelOrder? order = null;
        TensorLayout? layout = null;
        foreach (var (key, value) in entries)
        {
            switch (key)
            {
                case "resize": resize = Positive(key, value); break;
                case "crop":
                    var parts = value.Split('x', 'X');
                    if (parts.Length is not (1 or 2)) throw Bad($"crop={value} is not S or HxW");
                    cropH = Positive(key, parts[0]);
                    cropW = parts.Length == 2 ? Positive(key, parts[1]) : cropH;
                    break;
                case "mean": mean = Floats(key, value); break;
                case "std": std = Floats(key, value); break;
                case "order":
                    order = value.ToLowerInvariant() switch { "rgb" => ChannelOrder.Rgb, "bgr" => ChannelOrder.Bgr, _ => throw Bad($"order={value}: use rgb or bgr") };
                    break;
                case "layout":
                    layout = value.ToLowerInvariant() switch { "nchw" => TensorLayout.Nchw, "nhwc" => TensorLayout.Nhwc, _ => throw Bad($"layout={value}: use nchw or nhwc") };
                    break;
                case "channels":
                    channels = value.ToLowerInvariant() switch { "1" or "gray" or "grey" => 1, "3" => 3, _ => throw Bad($"channels={value}: use 1 (grayscale) or 3") };
                    break;
                default:
                    throw Bad($"unknown key '{key}' (keys: resize, crop, mean, std, order, layout, channels)");
            }
        }
        int ch = channels ?? defaults?.Channels ?? 3;
        if (cropH is null && defaults is null) throw Bad("crop= is needed (there is no model input to take the size from)");
        int h = cropH ?? defaults!.CropHeight, w = cropW ?? defaults!.CropWidth;
        int r = resize ?? (cropH is not null || defaults is null ? Math.Max(h, w) : defaults.Resize);
        if (resize is null && r < Math.Max(h, w)) r = Math.Max(h, w);
        if (r < Math.Max(h, w)) throw Bad($"resize={r} is smaller than the crop {h}x{w}: the crop would not fit");

        ChannelNormalization normalization;
        if (mean is not null || std is not null)
        {
            try { normalization = new ChannelNormalization(Expand("mean", mean, 0f), Expand("std", std, 1f)); }
            catch (ArgumentException e) { throw Bad(e.Message); }
        }
        else if (defaults is not null && defaults.Normalization.Channels == ch) normalization = defaults.Normalization;
        else if (defaults is not null && defaults.Normalization.Channels == 1)
            normalization = new ChannelNormalization(Expand("mean", [defaults.Normalization.Mean[0]], 0), Expand("std", [defaults.Normalization.Std[0]], 1));
        else normalization = ChannelNormalization.Identity(ch);
        return new ImagePreprocessing(r, h, w, ch, order ?? defaults?.Order ?? ChannelOrder.Rgb, layout ?? defaults?.Layout ?? TensorLayout.Nchw, normalization);

        float[] Expand(string key, float[]? values, float fill)
        {
            if (values is null) return Enumerable.Repeat(fill, ch).ToArray();
            if (values.Length == 1) return Enumerable.Repeat(values[0], ch).ToArray();
            if (values.Length != ch) throw Bad($"{key} has {values.Length} values but the images have {ch} channel(s)");
            return values;
        }

        FormatException Bad(string why) => new($"'{text}' is not a valid preprocessing: {why}");

        int Positive(string key, string value) =>
            int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0 && v <= 65536 ? v
                : throw Bad($"{key}={value}: need a positive whole number of pixels");

        float[] Floats(string key, string value) => value.Split('/').Select(v =>
            float.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var f) && float.IsFinite(f) ? f
                : throw Bad($"{key}={value}: '{v}' is not a number")).ToArray();
    }

    private static List<KeyValuePair<string, string>> Entries(string text)
    {
        var result = new List<KeyValuePair<string, string>>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = part.IndexOf('=');
            if (eq <= 0) throw new FormatException($"'{text}' is not a valid preprocessing: '{part}' is not key=value");
            var key = part[..eq].Trim().ToLowerInvariant();
            if (result.Any(e => e.Key == key)) throw new FormatException($"'{text}' is not a valid preprocessing: '{key}' is given twice");
            result.Add(new(key, part[(eq + 1)..].Trim()));
        }
        return result;
    }
}
