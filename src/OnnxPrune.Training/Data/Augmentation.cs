namespace OnnxPrune.Training.Data;

/// <summary>
/// Random training augmentation of one image [C, H, W]: a random crop of the image padded with
/// <see cref="CropPadding"/> zeros on every side, back to H x W (the window's top-left corner is
/// uniform in [0, 2*pad] x [0, 2*pad]), then, when <see cref="HorizontalFlip"/>, a mirror
/// left-right with probability 1/2. The same random draws give the same result.
/// </summary>
internal sealed record Augmentation(int CropPadding = 0, bool HorizontalFlip = false)
{
    /// <summary>No augmentation.</summary>
    public static readonly Augmentation None = new();

    /// <summary>Pad 4, crop back, flip: the usual CIFAR-style recipe.</summary>
    public static Augmentation Standard(bool horizontalFlip = true) => new(4, horizontalFlip);

    public bool IsNone => CropPadding == 0 && !HorizontalFlip;

    /// <summary>Writes an augmented copy of <paramref name="source"/> into
    /// <paramref name="destination"/> (same size, not overlapping), drawing the crop corner
    /// (top, then left) and the flip from <paramref name="random"/> in that order.</summary>
    public void Apply(ReadOnlySpan<float> source, Span<float> destination, int channels, int height, int width, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        if (CropPadding < 0) throw new InvalidOperationException($"crop padding must not be negative, got {CropPadding}");
        if (CropPadding > 0)
        {
            var top = random.Next(2 * CropPadding + 1);
            var left = random.Next(2 * CropPadding + 1);
            Crop(source, destination, channels, height, width, CropPadding, top, left);
        }
        else
        {
            CheckSizes(source.Length, destination.Length, channels, height, width);
            source.CopyTo(destination);
        }
        if (HorizontalFlip && random.Next(2) == 1) FlipHorizontal(destination, channels, height, width);
    }

    /// <summary>
    /// destination[c, y, x] = padded[c, y + top, x + left], where padded is
    /// <paramref name="source"/> with <paramref name="padding"/> zero rows and columns on every
    /// side; top and left in [0, 2*padding] (padding, padding is the identity).
    /// </summary>
    public static void Crop(ReadOnlySpan<float> source, Span<float> destination, int channels, int height, int width, int padding, int top, int left)
    {
        CheckSizes(source.Length, destination.Length, channels, height, width);
        ArgumentOutOfRangeException.ThrowIfNegative(padding);
        if ((uint)top > 2u * (uint)padding) throw new ArgumentOutOfRangeException(nameof(top), $"top {top} is outside [0, {2 * padding}]");
        if ((uint)left > 2u * (uint)padding) throw new ArgumentOutOfRangeException(nameof(left), $"left {left} is outside [0, {2 * padding}]");
        int dy = top - padding, dx = left - padding;
        // Columns x whose source column x + dx lies inside the image.
        int x0 = Math.Max(0, -dx), x1 = Math.Min(width, width - dx);
        for (var c = 0; c < channels; c++)
            for (var y = 0; y < height; y++)
            {
                var row = destination.Slice((c * height + y) * width, width);
                var sy = y + dy;
                if (sy < 0 || sy >= height || x1 <= x0) { row.Clear(); continue; }
                row[..x0].Clear();
                source.Slice((c * height + sy) * width + x0 + dx, x1 - x0).CopyTo(row[x0..x1]);
                row[x1..].Clear();
            }
    }

    /// <summary>Mirrors each row of an image [C, H, W] in place.</summary>
    public static void FlipHorizontal(Span<float> image, int channels, int height, int width)
    {
        CheckSizes(image.Length, image.Length, channels, height, width);
        for (var r = 0; r < channels * height; r++) image.Slice(r * width, width).Reverse();
    }

    private static void CheckSizes(int source, int destination, int channels, int height, int width)
    {
        var size = (long)channels * height * width;
        if (channels <= 0 || height <= 0 || width <= 0 || source != size || destination != size)
            throw new ArgumentException($"image of {channels}x{height}x{width} needs {size} values; got {source} in and {destination} out");
    }
}
