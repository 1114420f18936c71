using System.Globalization;

namespace OnnxPrune.Training.Data;

/// <summary>
/// Per-channel normalisation x' = (x - Mean[c]) / Std[c], computed from a training set or given.
/// <see cref="ToString"/> and <see cref="Parse"/> give a stable text form for model metadata.
/// </summary>
internal sealed class ChannelNormalization
{
    private readonly float[] _mean;
    private readonly float[] _std;

    /// <exception cref="ArgumentException">Lengths differ or are zero, a mean is not finite, or a
    /// standard deviation is not finite and positive.</exception>
    public ChannelNormalization(IReadOnlyList<float> mean, IReadOnlyList<float> std)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(std);
        if (mean.Count == 0 || mean.Count != std.Count)
            throw new ArgumentException($"need one mean and one standard deviation per channel, got {mean.Count} and {std.Count}");
        for (var c = 0; c < mean.Count; c++)
        {
            if (!float.IsFinite(mean[c])) throw new ArgumentException($"mean of channel {c} is {mean[c]}", nameof(mean));
            if (!float.IsFinite(std[c]) || std[c] <= 0) throw new ArgumentException($"standard deviation of channel {c} is {std[c]}; it must be positive", nameof(std));
        }
        _mean = mean.ToArray();
        _std = std.ToArray();
    }

    public IReadOnlyList<float> Mean => _mean;
    public IReadOnlyList<float> Std => _std;
    public int Channels => _mean.Length;

    /// <summary>Mean 0, standard deviation 1: leaves data unchanged.</summary>
    public static ChannelNormalization Identity(int channels) =>
        new(Enumerable.Repeat(0f, channels).ToArray(), Enumerable.Repeat(1f, channels).ToArray());

    /// <summary>Mean and population standard deviation of each channel over every sample and
    /// pixel of <paramref name="data"/> (accumulated in double). A constant channel gets
    /// standard deviation 1, so it is only shifted.</summary>
    public static ChannelNormalization Compute(Dataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        int channels = data.Channels, plane = data.Height * data.Width;
        var sum = new double[channels];
        var sumSq = new double[channels];
        var images = data.Images;
        for (var n = 0; n < data.Count; n++)
            for (var c = 0; c < channels; c++)
            {
                var span = images.AsSpan((n * channels + c) * plane, plane);
                double s = 0, q = 0;
                foreach (var v in span) { s += v; q += (double)v * v; }
                sum[c] += s;
                sumSq[c] += q;
            }
        var mean = new float[channels];
        var std = new float[channels];
        double count = (double)data.Count * plane;
        for (var c = 0; c < channels; c++)
        {
            var m = sum[c] / count;
            var variance = Math.Max(0, sumSq[c] / count - m * m);
            mean[c] = (float)m;
            std[c] = variance > 1e-12 ? (float)Math.Sqrt(variance) : 1f;
        }
        return new ChannelNormalization(mean, std);
    }

    /// <summary>Normalises whole samples in place: <paramref name="samples"/> holds k samples of
    /// Channels planes of <paramref name="planeSize"/> (H*W) floats each.</summary>
    public void Apply(Span<float> samples, int planeSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(planeSize);
        var sampleSize = Channels * planeSize;
        if (samples.Length % sampleSize != 0)
            throw new ArgumentException($"{samples.Length} values are not whole samples of {Channels}x{planeSize}", nameof(samples));
        for (var offset = 0; offset < samples.Length; offset += sampleSize)
            for (var c = 0; c < Channels; c++)
            {
                var plane = samples.Slice(offset + c * planeSize, planeSize);
                float m = _mean[c], s = _std[c];
                for (var i = 0; i < plane.Length; i++) plane[i] = (plane[i] - m) / s;
            }
    }

    internal void CheckChannels(int channels, string source)
    {
        if (channels != Channels)
            throw new DataFormatException($"{source}: images have {channels} channels but the normalisation has {Channels} ({this})");
    }

    /// <summary>"mean=0.2860406,std=0.35302424" (channels separated by '/' for more than one
    /// channel: "mean=0.49/0.48/0.45,std=0.25/0.24/0.26"); round-trips through <see cref="Parse"/>.</summary>
    public override string ToString() =>
        "mean=" + string.Join('/', _mean.Select(v => v.ToString("R", CultureInfo.InvariantCulture))) +
        ",std=" + string.Join('/', _std.Select(v => v.ToString("R", CultureInfo.InvariantCulture)));

    /// <summary>Reads the form <see cref="ToString"/> writes.</summary>
    /// <exception cref="FormatException">The text is not in that form.</exception>
    public static ChannelNormalization Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length != 2 || !parts[0].StartsWith("mean=", StringComparison.Ordinal) || !parts[1].StartsWith("std=", StringComparison.Ordinal))
            throw new FormatException($"'{text}' is not a normalisation (expected mean=M1/M2/...,std=S1/S2/...)");
        try { return new ChannelNormalization(Floats(parts[0][5..]), Floats(parts[1][4..])); }
        catch (ArgumentException e) { throw new FormatException($"'{text}' is not a valid normalisation: {e.Message}", e); }

        float[] Floats(string s) => s.Split('/').Select(v =>
            float.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var f) ? f
                : throw new FormatException($"'{text}' is not a normalisation: '{v}' is not a number")).ToArray();
    }
}
