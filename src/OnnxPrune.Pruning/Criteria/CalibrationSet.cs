using OnnxPrune.Runtime;
using OnnxPrune.Training;
using OnnxPrune.Training.Data;

namespace OnnxPrune.Pruning.Criteria;

/// <summary>
/// Images for the data-driven criteria, normalised as the model's input takes them, with their
/// labels when they are known. Without labels the criteria use the original model's own
/// predictions as targets (<see cref="HasLabels"/> false).
/// </summary>
public sealed record CalibrationSet(Dataset Images, bool HasLabels)
{
    /// <summary>The images in batches of at most <paramref name="batchSize"/>, as the model's input
    /// takes them: the first image's index, the image count, and the tensor.</summary>
    public IEnumerable<(int Start, int Count, TensorData Batch)> Batches(ClassifierSignature signature, int batchSize)
    {
        for (int start = 0; start < Images.Count; start += batchSize)
        {
            int n = Math.Min(batchSize, Images.Count - start);
            var pixels = Images.Images.AsSpan(start * Images.SampleSize, n * Images.SampleSize).ToArray();
            yield return (start, n, TensorData.Create(pixels, signature.BatchDims(n, Images)));
        }
    }

    /// <summary>
    /// <paramref name="count"/> images of <paramref name="data"/> (all when it has no more),
    /// chosen with <c>new Random(seed)</c>; with labels, class-balanced: the classes take turns,
    /// each giving its next image in a seeded order, so every class is represented equally as
    /// far as its images allow.
    /// </summary>
    public static CalibrationSet Sample(Dataset data, ChannelNormalization normalization, int count, int seed, bool hasLabels)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        var order = Shuffling.Permutation(data.Count, new Random(seed));
        int[] chosen;
        if (!hasLabels || count >= data.Count) chosen = order.Take(Math.Min(count, data.Count)).ToArray();
        else
        {
            var queues = order.GroupBy(i => data.Labels[i]).OrderBy(g => g.Key).Select(g => new Queue<int>(g)).ToList();
            var picked = new List<int>(count);
            while (picked.Count < count)
                foreach (var queue in queues)
                    if (picked.Count < count && queue.TryDequeue(out var i)) picked.Add(i);
            chosen = picked.ToArray();
        }
        Array.Sort(chosen);
        var sample = data.Subset(chosen, $"{data.Source} ({chosen.Length} calibration images, seed {seed})");
        return new CalibrationSet(sample.Normalized(normalization), hasLabels);
    }
}
