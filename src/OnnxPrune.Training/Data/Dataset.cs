using OnnxPrune.IR;
using OnnxPrune.Runtime;

namespace OnnxPrune.Training.Data;

/// <summary>
/// A labelled image classification data set held in memory: float32 images [N, C, H, W] in one
/// contiguous row-major array, int64 labels [N] in [0, <see cref="ClassCount"/>). Immutable by
/// convention: nothing in this namespace writes into <see cref="Images"/> or
/// <see cref="Labels"/>; derived sets (<see cref="Subset"/>, <see cref="Normalized"/>) are copies.
/// </summary>
internal sealed class Dataset
{
    /// <summary>Wraps the arrays (not copied) after checking that they fit together.</summary>
    /// <param name="images">N*C*H*W floats, sample-major (NCHW).</param>
    /// <param name="labels">N class indices.</param>
    /// <param name="source">Names the data in error messages, e.g. "'/data/train.npz'".</param>
    /// <exception cref="ArgumentOutOfRangeException">A dimension or the class count is not positive.</exception>
    /// <exception cref="DataFormatException">The image array does not hold N*C*H*W floats, or a
    /// label is outside [0, classCount) (the message names the first such sample and its value).</exception>
    public Dataset(float[] images, long[] labels, int channels, int height, int width, int classCount, string source = "data set")
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(channels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(classCount);
        long sampleSize = (long)channels * height * width;
        if (sampleSize > Array.MaxLength || images.LongLength != labels.LongLength * sampleSize)
            throw new DataFormatException(
                $"{source}: {labels.Length} labels need {labels.LongLength * sampleSize} image values ({labels.Length}x{channels}x{height}x{width}) but the images hold {images.LongLength}");
        CheckLabels(labels, classCount, source);
        Images = images;
        Labels = labels;
        Channels = channels;
        Height = height;
        Width = width;
        ClassCount = classCount;
        SampleSize = (int)sampleSize;
        Source = source;
    }

    /// <summary>Images, [N, C, H, W] row-major.</summary>
    public float[] Images { get; }

    /// <summary>Labels, [N], each in [0, ClassCount).</summary>
    public long[] Labels { get; }

    public int Count => Labels.Length;
    public int Channels { get; }
    public int Height { get; }
    public int Width { get; }
    public int ClassCount { get; }

    /// <summary>Floats per sample: C*H*W.</summary>
    public int SampleSize { get; }

    /// <summary>Where the data came from, for messages.</summary>
    public string Source { get; }

    /// <summary>[N, C, H, W].</summary>
    public long[] Shape => [Count, Channels, Height, Width];

    /// <summary>Sample <paramref name="index"/>'s C*H*W floats.</summary>
    public ReadOnlySpan<float> Image(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        return Images.AsSpan(index * SampleSize, SampleSize);
    }

    /// <summary>How many samples each class has.</summary>
    public int[] ClassCounts()
    {
        var counts = new int[ClassCount];
        foreach (var label in Labels) counts[label]++;
        return counts;
    }

    /// <summary>The images as a tensor [N, C, H, W] (the same array, not a copy).</summary>
    public TensorData ImagesTensor() => TensorData.Create(Images, Shape);

    /// <summary>The labels as a tensor [N] (the same array, not a copy).</summary>
    public TensorData LabelsTensor() => TensorData.Create(Labels, Count);

    /// <summary>A copy holding the samples at <paramref name="indices"/>, in that order.</summary>
    public Dataset Subset(IReadOnlyList<int> indices, string? source = null)
    {
        ArgumentNullException.ThrowIfNull(indices);
        var images = new float[(long)indices.Count * SampleSize];
        var labels = new long[indices.Count];
        for (var i = 0; i < indices.Count; i++)
        {
            var k = indices[i];
            if ((uint)k >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(indices), $"index {k} at position {i} is outside [0, {Count})");
            Images.AsSpan(k * SampleSize, SampleSize).CopyTo(images.AsSpan(i * SampleSize));
            labels[i] = Labels[k];
        }
        return new Dataset(images, labels, Channels, Height, Width, ClassCount, source ?? Source);
    }

    /// <summary>A copy of the first <paramref name="count"/> samples.</summary>
    public Dataset Take(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, Count);
        return new Dataset(Images.AsSpan(0, count * SampleSize).ToArray(), Labels.AsSpan(0, count).ToArray(),
            Channels, Height, Width, ClassCount, Source);
    }

    /// <summary>
    /// A held-out split: the samples are shuffled with <c>new Random(seed)</c> (Fisher-Yates) and
    /// the last <paramref name="validationCount"/> of that order become the validation set, the
    /// rest the training set. Both keep the original order of their samples, so the split is a
    /// function of (Count, validationCount, seed) alone.
    /// </summary>
    public (Dataset Train, Dataset Validation) SplitHoldout(int validationCount, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(validationCount);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(validationCount, Count);
        var order = Shuffling.Permutation(Count, new Random(seed));
        var train = order.AsSpan(0, Count - validationCount).ToArray();
        var validation = order.AsSpan(Count - validationCount).ToArray();
        Array.Sort(train);
        Array.Sort(validation);
        return (Subset(train, $"{Source} (training part of a split, seed {seed})"),
                Subset(validation, $"{Source} (held-out part of a split, seed {seed})"));
    }

    /// <summary>A copy with every image normalised per channel: (x - mean[c]) / std[c].</summary>
    public Dataset Normalized(ChannelNormalization normalization)
    {
        ArgumentNullException.ThrowIfNull(normalization);
        normalization.CheckChannels(Channels, Source);
        var images = (float[])Images.Clone();
        normalization.Apply(images, Height * Width);
        return new Dataset(images, Labels, Channels, Height, Width, ClassCount, Source);
    }

    public override string ToString() => $"{Source}: {Count} images {Channels}x{Height}x{Width}, {ClassCount} classes";

    /// <summary>
    /// A data set from an image tensor and a label tensor, e.g. arrays of an .npz file or IDX files.
    /// Images: [N, H, W] (one channel) or [N, C, H, W], of float32, float64, float16 (taken as
    /// they are; NaN and infinities refused) or uint8 (divided by 255). Labels: [N] or [N, 1] of any
    /// integer type. <paramref name="classCount"/> defaults to the largest label + 1.
    /// </summary>
    /// <param name="source">Names the data in error messages, e.g. "'/data/train.npz'".</param>
    /// <exception cref="DataFormatException">Unsupported element type or rank, sample counts that
    /// differ, a label outside [0, classCount), a non-finite image value.</exception>
    public static Dataset FromTensors(TensorData images, TensorData labels, int? classCount = null,
        string source = "data set", string imagesName = "images", string labelsName = "labels")
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        var imageDesc = $"{source}: images '{imagesName}' ({Describe(images)})";
        var labelDesc = $"{source}: labels '{labelsName}' ({Describe(labels)})";
        var d = images.Dims;
        var (n, c, h, w) = d.Count switch
        {
            3 => (d[0], 1L, d[1], d[2]),
            4 => (d[0], d[1], d[2], d[3]),
            _ => throw new DataFormatException($"{imageDesc} must have shape [N, H, W] or [N, C, H, W] (channels first)"),
        };
        if (n == 0 || c == 0 || h == 0 || w == 0) throw new DataFormatException($"{imageDesc} hold no values");
        if (c > int.MaxValue || h > int.MaxValue || w > int.MaxValue || images.ElementCount > Array.MaxLength)
            throw new DataFormatException($"{imageDesc} are too large to hold in one float array");
        if (d.Count == 4 && c > 4 && d[3] is 1 or 3 && d[1] == d[2])
            throw new DataFormatException($"{imageDesc} look channels-last (NHWC); transpose them to [N, C, H, W], e.g. numpy.transpose(x, (0, 3, 1, 2))");
        if (!(labels.Dims.Count == 1 || (labels.Dims.Count == 2 && labels.Dims[1] == 1)))
            throw new DataFormatException($"{labelDesc} must have shape [N] (or [N, 1])");
        if (labels.Dims[0] != n)
            throw new DataFormatException($"{source}: images '{imagesName}' hold {n} samples ({Describe(images)}) but labels '{labelsName}' hold {labels.Dims[0]} ({Describe(labels)})");

        var floats = ToFloat(images, imageDesc);
        var longs = ToLong(labels, labelDesc);
        int classes;
        if (classCount is { } given)
        {
            if (given <= 0) throw new ArgumentOutOfRangeException(nameof(classCount), $"class count must be positive, got {given}");
            classes = given;
        }
        else
        {
            long max = -1;
            for (var i = 0; i < longs.Length; i++)
            {
                if (longs[i] < 0)
                    throw new DataFormatException($"{labelDesc}: label of sample {i} is {longs[i]}; class labels must be in [0, classes)");
                max = Math.Max(max, longs[i]);
            }
            if (max >= int.MaxValue) throw new DataFormatException($"{labelDesc}: largest label {max} is not a plausible class index");
            classes = (int)max + 1;
        }
        return new Dataset(floats, longs, (int)c, (int)h, (int)w, classes, source);
    }

    private static string Describe(TensorData t) => $"{DataTypes.Name(t.ElementType)} [{string.Join(",", t.Dims)}]";

    private static float[] ToFloat(TensorData t, string desc)
    {
        switch (t.ElementType)
        {
            case DataType.Float:
            {
                var a = t.As<float>();
                CheckFinite(a, desc);
                return a;
            }
            case DataType.Double:
            {
                var a = t.As<double>();
                var r = new float[a.Length];
                for (var i = 0; i < a.Length; i++) r[i] = (float)a[i];
                CheckFinite(r, desc);
                return r;
            }
            case DataType.Float16:
            {
                var a = t.As<Half>();
                var r = new float[a.Length];
                for (var i = 0; i < a.Length; i++) r[i] = (float)a[i];
                CheckFinite(r, desc);
                return r;
            }
            case DataType.UInt8:
            {
                var a = t.As<byte>();
                var table = new float[256];
                for (var i = 0; i < 256; i++) table[i] = i / 255f;
                var r = new float[a.Length];
                for (var i = 0; i < a.Length; i++) r[i] = table[a[i]];
                return r;
            }
            default:
                throw new DataFormatException($"{desc}: images must be float32, float64, float16 or uint8 (scaled by 1/255)");
        }
    }

    private static void CheckFinite(float[] values, string desc)
    {
        for (var i = 0; i < values.Length; i++)
            if (!float.IsFinite(values[i]))
                throw new DataFormatException($"{desc}: value {i} is {values[i]} (as float32); images must be finite");
    }

    private static long[] ToLong(TensorData t, string desc)
    {
        switch (t.ElementType)
        {
            case DataType.Int64: return (long[])t.As<long>().Clone();
            case DataType.Int32: return Array.ConvertAll(t.As<int>(), v => (long)v);
            case DataType.Int16: return Array.ConvertAll(t.As<short>(), v => (long)v);
            case DataType.Int8: return Array.ConvertAll(t.As<sbyte>(), v => (long)v);
            case DataType.UInt8: return Array.ConvertAll(t.As<byte>(), v => (long)v);
            case DataType.UInt16: return Array.ConvertAll(t.As<ushort>(), v => (long)v);
            case DataType.UInt32: return Array.ConvertAll(t.As<uint>(), v => (long)v);
            case DataType.UInt64:
            {
                var a = t.As<ulong>();
                var r = new long[a.Length];
                for (var i = 0; i < a.Length; i++)
                    r[i] = a[i] <= long.MaxValue ? (long)a[i] : throw new DataFormatException($"{desc}: label of sample {i} is {a[i]}, not a plausible class index");
                return r;
            }
            default:
                throw new DataFormatException($"{desc}: labels must be integers (int64, int32, ... or uint8) holding class indices");
        }
    }

    private static void CheckLabels(long[] labels, int classCount, string source)
    {
        var bad = 0;
        var first = -1;
        for (var i = 0; i < labels.Length; i++)
        {
            if ((ulong)labels[i] < (ulong)classCount) continue;
            if (bad++ == 0) first = i;
        }
        if (bad > 0)
            throw new DataFormatException(
                $"{source}: label of sample {first} is {labels[first]}, outside [0, {classCount}) for {classCount} classes" +
                (bad > 1 ? $" ({bad} labels are out of range)" : ""));
    }
}
