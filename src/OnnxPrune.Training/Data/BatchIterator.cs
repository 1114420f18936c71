namespace OnnxPrune.Training.Data;

/// <summary>How a <see cref="BatchIterator"/> walks a data set.</summary>
internal sealed record BatchOptions
{
    public int BatchSize { get; init; } = 128;

    /// <summary>Visit the samples in a new seeded order each epoch (else in data set order).</summary>
    public bool Shuffle { get; init; }

    /// <summary>Seeds the shuffling and the augmentation; epoch e's order and augmentation are a
    /// function of (Seed, e) alone, so a resumed run sees the same batches.</summary>
    public int Seed { get; init; }

    /// <summary>Drop the last batch when it would be smaller than <see cref="BatchSize"/>
    /// (training); else return it with its real size (evaluation).</summary>
    public bool DropLast { get; init; }

    /// <summary>Applied to each sample before normalisation (padding is zero in the raw pixel scale).</summary>
    public Augmentation Augmentation { get; init; } = Augmentation.None;

    /// <summary>Applied to each sample after augmentation; null for none.</summary>
    public ChannelNormalization? Normalization { get; init; }

    /// <summary>Shuffled, last partial batch dropped.</summary>
    public static BatchOptions Training(int batchSize, int seed, Augmentation? augmentation = null, ChannelNormalization? normalization = null) =>
        new() { BatchSize = batchSize, Shuffle = true, Seed = seed, DropLast = true, Augmentation = augmentation ?? Augmentation.None, Normalization = normalization };

    /// <summary>In order, last partial batch kept, no augmentation.</summary>
    public static BatchOptions Evaluation(int batchSize, ChannelNormalization? normalization = null) =>
        new() { BatchSize = batchSize, Normalization = normalization };
}

/// <summary>
/// Fills caller-owned batch buffers from a <see cref="Dataset"/> without allocating per batch:
/// <code>
/// var batches = new BatchIterator(train, BatchOptions.Training(128, seed, Augmentation.Standard(), norm));
/// var x = batches.NewImageBuffer(); var y = batches.NewLabelBuffer();
/// for (var epoch = 0; epoch &lt; epochs; epoch++)
/// {
///     batches.StartEpoch(epoch);
///     int n;
///     while ((n = batches.Next(x, y)) &gt; 0) { /* x[..n*SampleSize], y[..n] */ }
/// }
/// </code>
/// Each sample is copied (augmented when asked, then normalised when asked) into place; the
/// data set is never changed. Not thread-safe.
/// </summary>
internal sealed class BatchIterator
{
    private readonly int[] _order;
    private Random? _augmentRandom;
    private int _position;

    /// <exception cref="ArgumentOutOfRangeException">The batch size is not positive or the crop padding is negative.</exception>
    /// <exception cref="DataFormatException">The normalisation's channel count differs from the data's.</exception>
    public BatchIterator(Dataset data, BatchOptions options)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.BatchSize, "options.BatchSize");
        ArgumentNullException.ThrowIfNull(options.Augmentation, "options.Augmentation");
        ArgumentOutOfRangeException.ThrowIfNegative(options.Augmentation.CropPadding, "options.Augmentation.CropPadding");
        options.Normalization?.CheckChannels(data.Channels, data.Source);
        Data = data;
        Options = options;
        _order = new int[data.Count];
        SamplesPerEpoch = options.DropLast ? data.Count / options.BatchSize * options.BatchSize : data.Count;
        BatchesPerEpoch = (SamplesPerEpoch + options.BatchSize - 1) / options.BatchSize;
        Epoch = -1;
    }

    public Dataset Data { get; }
    public BatchOptions Options { get; }
    public int BatchSize => Options.BatchSize;

    /// <summary>Floats per sample (C*H*W).</summary>
    public int SampleSize => Data.SampleSize;

    /// <summary>Batches in one epoch (the partial last one included unless dropped).</summary>
    public int BatchesPerEpoch { get; }

    /// <summary>Samples visited in one epoch: all of them, or a multiple of the batch size when
    /// the last partial batch is dropped.</summary>
    public int SamplesPerEpoch { get; }

    /// <summary>The current epoch, -1 before the first <see cref="StartEpoch"/>.</summary>
    public int Epoch { get; private set; }

    /// <summary>How many samples the next <see cref="Next"/> returns: <see cref="BatchSize"/>,
    /// less for a kept partial last batch, 0 when the epoch is done (or not started).</summary>
    public int NextBatchSize => Epoch < 0 ? 0 : Math.Min(BatchSize, SamplesPerEpoch - _position);

    /// <summary>The current epoch's visiting order (indices into <see cref="Data"/>).</summary>
    public ReadOnlySpan<int> Order => _order;

    /// <summary>A buffer for <paramref name="batchSize"/> (default <see cref="BatchSize"/>) images.</summary>
    public float[] NewImageBuffer(int? batchSize = null) => new float[(long)(batchSize ?? BatchSize) * SampleSize];

    /// <summary>A buffer for <paramref name="batchSize"/> (default <see cref="BatchSize"/>) labels.</summary>
    public long[] NewLabelBuffer(int? batchSize = null) => new long[batchSize ?? BatchSize];

    /// <summary>Starts epoch <paramref name="epoch"/> from its first batch; its order and
    /// augmentation draws depend only on (Seed, epoch).</summary>
    public void StartEpoch(int epoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        for (var i = 0; i < _order.Length; i++) _order[i] = i;
        if (Options.Shuffle) Shuffling.Shuffle(_order.AsSpan(), new Random(Shuffling.DeriveSeed(Options.Seed, epoch, 0)));
        _augmentRandom = Options.Augmentation.IsNone ? null : new Random(Shuffling.DeriveSeed(Options.Seed, epoch, 1));
        _position = 0;
        Epoch = epoch;
    }

    /// <summary>
    /// Fills the next batch: samples into <paramref name="images"/> ([n, C, H, W] at the start),
    /// labels into <paramref name="labels"/>, and returns n, or 0 when the epoch is done. Starts
    /// epoch 0 when no epoch was started. Values past the n samples are set to zero, so a full-size
    /// buffer may take a partial last batch; only the first n samples are data.
    /// </summary>
    /// <exception cref="ArgumentException">A buffer is too small for the batch.</exception>
    public int Next(Span<float> images, Span<long> labels)
    {
        if (Epoch < 0) StartEpoch(0);
        var n = NextBatchSize;
        if (n == 0) return 0;
        var sampleSize = SampleSize;
        if (images.Length < (long)n * sampleSize)
            throw new ArgumentException($"image buffer holds {images.Length} floats; this batch of {n} needs {(long)n * sampleSize}", nameof(images));
        if (labels.Length < n)
            throw new ArgumentException($"label buffer holds {labels.Length} labels; this batch needs {n}", nameof(labels));
        var source = Data.Images;
        var sourceLabels = Data.Labels;
        var augmentation = Options.Augmentation;
        var normalization = Options.Normalization;
        int c = Data.Channels, h = Data.Height, w = Data.Width;
        for (var i = 0; i < n; i++)
        {
            var k = _order[_position + i];
            var from = source.AsSpan(k * sampleSize, sampleSize);
            var to = images.Slice(i * sampleSize, sampleSize);
            if (_augmentRandom is not null) augmentation.Apply(from, to, c, h, w, _augmentRandom);
            else from.CopyTo(to);
            normalization?.Apply(to, h * w);
            labels[i] = sourceLabels[k];
        }
        images[(n * sampleSize)..].Clear();
        labels[n..].Clear();
        _position += n;
        return n;
    }
}
