using OnnxPrune.IR;
using OnnxPrune.Pruning.Channels;
using OnnxPrune.Pruning.Criteria;
using OnnxPrune.Pruning.Recovery;
using OnnxPrune.Runtime;
using OnnxPrune.Training.Data;

namespace OnnxPrune.Tests.Pruning.Recovery;

internal static class RecoveryTestSupport
{
    public static readonly SessionSettings OneThread = new() { IntraOpThreads = 1 };

    /// <summary>Removes channels <paramref name="channels"/> of the group <paramref name="producerWeight"/> produces,
    /// keeping a copy of the model before; returns the layers a refit works on.</summary>
    public static (Model Original, IReadOnlyList<RefitLayer> Layers) RemoveChannels(Model model, string producerWeight, params int[] channels)
    {
        var original = model.Clone();
        var analysis = ChannelAnalysis.Run(model);
        var group = analysis.Groups.Single(g => g.Producers.Any(p => p.Inputs[1]!.Name == producerWeight));
        var removed = channels.Select(c => group.Units[c]).ToList();
        var layers = RefitLayer.Capture(analysis, new RewriteContext(model, analysis.Context.Units, removed), downstream: true);
        analysis.Remove(removed);
        return (original, layers);
    }

    /// <summary><paramref name="count"/> seeded normal images [C, H, W] (no meaningful labels).</summary>
    public static CalibrationSet RandomImages(int count, int channels, int height, int width, int seed)
    {
        var random = new Random(seed);
        var pixels = new float[count * channels * height * width];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));
        return new CalibrationSet(new Dataset(pixels, new long[count], channels, height, width, 1), HasLabels: false);
    }

    /// <summary>The largest |a − b| over the first outputs of the two models on the same input, relative to max |a|.</summary>
    public static double RelativeDifference(Model a, Model b, string inputName, TensorData input)
    {
        using var sa = InferenceSession.FromModel(a, OneThread);
        using var sb = InferenceSession.FromModel(b, OneThread);
        var ya = sa.Run(new Dictionary<string, TensorData> { [inputName] = input }).Values.First().As<float>();
        var yb = sb.Run(new Dictionary<string, TensorData> { [inputName] = input }).Values.First().As<float>();
        double scale = ya.Max(v => Math.Abs(v)), diff = 0;
        for (int i = 0; i < ya.Length; i++) diff = Math.Max(diff, Math.Abs(ya[i] - yb[i]));
        return diff / scale;
    }
}
