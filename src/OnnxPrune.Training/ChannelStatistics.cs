using OnnxPrune.IR;
using OnnxPrune.Runtime;
using OnnxPrune.Training.Data;

namespace OnnxPrune.Training;

/// <summary>Per-channel mean and (biased, as BatchNormalization's batch statistics) variance of one value.</summary>
internal sealed record ChannelMoments(double[] Mean, double[] Variance);

/// <summary>
/// Measures per-channel moments of intermediate values of a classifier on images: the values are
/// exposed as extra outputs of a copy of the model and ONNX Runtime runs it in batches. A channel is
/// axis 1; the moments are over the batch and every other axis, as BatchNormalization computes them.
/// Batches are combined with Chan et al.'s pairwise update of (count, mean, M2), in double, so a
/// large mean does not swallow a small variance as E[x²] − E[x]² would.
/// </summary>
internal static class ChannelStatistics
{
    /// <param name="model">Not modified.</param>
    /// <param name="valueNames">Names of node outputs of rank ≥ 2 (float32).</param>
    /// <param name="images">Run in order; with a fixed-batch model only whole batches are used.</param>
    /// <param name="batchSize">Images per run; null: by image size (<see cref="DefaultBatch"/>).</param>
    /// <exception cref="TrainingInputException">The images do not fit the model, or are fewer than its fixed batch.</exception>
    public static IReadOnlyDictionary<string, ChannelMoments> Measure(Model model, IReadOnlyList<string> valueNames, Dataset images,
        ChannelNormalization? normalization, SessionSettings session, int? batchSize = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(images);
        var signature = ClassifierSignature.Of(model);
        signature.CheckData(images);
        var copy = model.Clone();
        var outputs = copy.Graph.Nodes.SelectMany(n => n.Outputs).Where(o => o.Name.Length > 0).ToDictionary(o => o.Name, StringComparer.Ordinal);
        foreach (var name in valueNames)
        {
            var value = outputs.TryGetValue(name, out var v) ? v : throw new ArgumentException($"'{name}' is not a node output of the model");
            if (!value.IsGraphOutput) copy.Graph.AddOutput(value);
        }
        int batch = signature.FixedBatch is { } fixedBatch ? (int)fixedBatch : batchSize ?? DefaultBatch(images);
        int usable = signature.FixedBatch is null ? images.Count : images.Count / batch * batch;
        if (usable == 0) throw new TrainingInputException($"{images.Source} has {images.Count} images, fewer than the model's fixed batch of {batch}");

        var accumulators = valueNames.ToDictionary(n => n, _ => new Accumulator(), StringComparer.Ordinal);
        using var inference = InferenceSession.FromModel(copy, session);
        var batches = new BatchIterator(images.Take(usable), BatchOptions.Evaluation(batch, normalization));
        var buffer = batches.NewImageBuffer();
        var labels = batches.NewLabelBuffer();
        var fetch = valueNames.ToArray();
        batches.StartEpoch(0);
        int n;
        while ((n = batches.Next(buffer, labels)) > 0)
        {
            var feed = TensorData.Create(buffer.AsSpan(0, n * images.SampleSize).ToArray(), signature.BatchDims(n, images));
            var results = inference.Run(new Dictionary<string, TensorData> { [signature.InputName] = feed }, fetch);
            foreach (var name in fetch)
            {
                var t = results[name];
                if (t.ElementType != DataType.Float || t.Dims.Count < 2)
                    throw new ArgumentException($"'{name}' is {t}; channel statistics need float32 values of rank 2 or more");
                accumulators[name].Add(t.As<float>(), t.Dims);
            }
        }
        return accumulators.ToDictionary(p => p.Key, p => p.Value.Result(), StringComparer.Ordinal);
    }

    /// <summary>Every tapped layer output of a batch is fetched at once, so the batch shrinks with the
    /// image: 64 images of 28x28, 6 of 3x224x224 (about a million input values, which keeps the
    /// fetched activations of an ImageNet ResNet to tens of megabytes).</summary>
    private static int DefaultBatch(Dataset images) => Math.Clamp(1_000_000 / Math.Max(1, images.SampleSize), 1, 64);

    /// <summary>Running (count, mean, M2) per channel.</summary>
    private sealed class Accumulator
    {
        private double[] _mean = [], _m2 = [];
        private long _count;

        public void Add(ReadOnlySpan<float> data, IReadOnlyList<long> dims)
        {
            int channels = (int)dims[1];
            long inner = 1;
            for (int i = 2; i < dims.Count; i++) inner *= dims[i];
            long outer = dims[0], count = outer * inner;
            if (_mean.Length == 0) { _mean = new double[channels]; _m2 = new double[channels]; }
            for (int c = 0; c < channels; c++)
            {
                double sum = 0;
                for (long b = 0; b < outer; b++)
                    foreach (var x in data.Slice((int)((b * channels + c) * inner), (int)inner)) sum += x;
                double mean = sum / count, m2 = 0;
                for (long b = 0; b < outer; b++)
                    foreach (var x in data.Slice((int)((b * channels + c) * inner), (int)inner)) m2 += (x - mean) * (x - mean);
                long total = _count + count;
                double delta = mean - _mean[c];
                _mean[c] += delta * count / total;
                _m2[c] += m2 + delta * delta * _count * count / total;
            }
            _count += count;
        }

        public ChannelMoments Result() => new(_mean, _m2.Select(m => m / Math.Max(1, _count)).ToArray());
    }
}
