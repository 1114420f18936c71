using OnnxPrune.Runtime;
using OnnxPrune.Training;
using OnnxPrune.Training.Data;

namespace OnnxPrune.Pruning.Criteria;

/// <summary>
/// Images for the data-driven criteria, normalised as the model's input takes them, with their
/// labels when they are known. Without labels the criteria use the original model's own
/// predictions as targets (<see cref="HasLabels"/> false).
/// </summary>
internal sealed record CalibrationSet(Dataset Images, bool HasLabels)
{
    /// <summary>Told "calibration: k/n images" as each batch of <see cref="Batches"/> is done, so that a
    /// caller can show how far a pass over the images (scoring, refit, BatchNorm statistics) has got.</summary>
    public Action<string>? Progress { get; init; }

    /// <summary>The images in batches of at most <paramref name="batchSize"/>, as the model's input
    /// takes them: the first image's index, the image count, and the tensor.</summary>
    public IEnumerable<(int Start, int Count, TensorData Batch)> Batches(ClassifierSignature signature, int batchSize)
    {
        for (int start = 0; start < Images.Count; start += batchSize)
        {
            int n = Math.Min(batchSize, Images.Count - start);
            var pixels = Images.Images.AsSpan(start * Images.SampleSize, n * Images.SampleSize).ToArray();
            yield return (start, n, TensorData.Create(pixels, signature.BatchDims(n, Images)));
            Progress?.Invoke($"calibration: {start + n}/{Images.Count} images");
        }
    }

    /// <summary>
    /// <paramref name="count"/> images of <paramref name="data"/> (all when it has no more),
    /// chosen by <see cref="Choose"/>, normalised with <paramref name="normalization"/> (null: the
    /// images already are, as an image folder's preprocessing leaves them).
    /// </summary>
    public static CalibrationSet Sample(Dataset data, ChannelNormalization? normalization, int count, int seed, bool hasLabels)
    {
        ArgumentNullException.ThrowIfNull(data);
        var chosen = Choose(hasLabels ? data.Labels : null, data.Count, count, seed);
        var sample = data.Subset(chosen, $"{data.Source} ({chosen.Length} calibration images, seed {seed})");
        return new CalibrationSet(normalization is null ? sample : sample.Normalized(normalization), hasLabels);
    }

    /// <summary>
    /// Which <paramref name="count"/> of <paramref name="total"/> items to take (all when there are no
    /// more), in ascending order, chosen with <c>new Random(seed)</c>; with <paramref name="labels"/>,
    /// class-balanced: the classes take turns, each giving its next item in a seeded order, so every
    /// class is represented equally as far as its items allow. Works on labels alone, so that an image
    /// folder decodes only the images chosen.
    /// </summary>
    public static int[] Choose(IReadOnlyList<long>? labels, int total, int count, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        var order = Shuffling.Permutation(total, new Random(seed));
        int[] chosen;
        if (labels is null || count >= total) chosen = order.Take(Math.Min(count, total)).ToArray();
        else
        {
            var queues = order.GroupBy(i => labels[i]).OrderBy(g => g.Key).Select(g => new Queue<int>(g)).ToList();
            var picked = new List<int>(count);
            while (picked.Count < count)
                foreach (var queue in queues)
                    if (picked.Count < count && queue.TryDequeue(out var i)) picked.Add(i);
            chosen = picked.ToArray();
        }
        Array.Sort(chosen);
        return chosen;
    }
}
