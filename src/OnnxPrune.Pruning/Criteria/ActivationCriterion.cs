using OnnxPrune.IR;
using OnnxPrune.Pruning.Channels;
using OnnxPrune.Runtime;
using OnnxPrune.Training;

namespace OnnxPrune.Pruning.Criteria;

/// <summary>
/// Activation attention (Zhao, Jain, Zhao, AISTATS 2023; METHODS.md §1): the score of channel j
/// of a layer is mean over (h, w) of ((1/B) Σ_b |A[b, j, h, w]|)^p, p = 1, with A the layer's
/// activation after its per-channel tail (BatchNorm, activation function) and, where the layer
/// feeds a residual Add, after the Add, as the authors take it. A group sums the scores of its
/// producers' activations (a value shared by coupled producers counts once). The activations are
/// extra outputs of the model, run by ONNX Runtime batch by batch over the calibration images and
/// reduced as they stream: only per-channel sums are kept, never the activations themselves. Batches of
/// 32 images: every tapped activation of a batch is an output at once, so the batch bounds the memory
/// (tools/bench/results/calibration-memory.md).
/// </summary>
internal sealed class ActivationCriterion(CalibrationSet data, SessionSettings session, int batchSize = 32, double p = 1) : IChannelCriterion
{
    /// <summary>Ops that map a channel to itself, through which "after the layer" continues.</summary>
    private static readonly HashSet<string> Tail = ["BatchNormalization", "Relu", "LeakyRelu", "PRelu", "Clip", "HardSwish", "Sigmoid", "Tanh", "Elu", "Selu", "Mish", "Gelu", "Add"];

    public string Name => "activation";

    public IReadOnlyDictionary<int, double> Score(ChannelAnalysis analysis)
    {
        var model = analysis.Context.Model;
        var taps = new List<(Value Value, Carrier Carrier)>();
        foreach (var group in analysis.Groups)
            foreach (var producer in group.Producers)
                if (ActivationOf(producer.Outputs[0], analysis) is { } tap && !taps.Any(t => ReferenceEquals(t.Value, tap.Value))) taps.Add(tap);

        var sums = Accumulate(model, taps);
        var scores = analysis.Groups.SelectMany(g => g.Units).ToDictionary(u => u, _ => 0.0);
        for (int t = 0; t < taps.Count; t++)
        {
            var (value, carrier) = taps[t];
            for (int j = 0; j < carrier.Units.Length; j++)
                if (carrier.Units[j] >= 0) scores[analysis.Root(carrier.Units[j])] += sums[t][j];
        }
        return scores;
    }

    /// <summary>The activation after <paramref name="output"/>'s per-channel tail: followed while
    /// its only reader is such an op and the channels stay on axis 1 of a 4-D value.</summary>
    private static (Value Value, Carrier Carrier)? ActivationOf(Value output, ChannelAnalysis analysis)
    {
        var v = output;
        while (v.Uses.Count == 1 && !v.IsGraphOutput && v.Uses[0].Node is { IsOnnxDomain: true } next && Tail.Contains(next.OpType)
               && next.Outputs.Count >= 1 && analysis.Context.CarrierOf(next.Outputs[0]) is { Axis: 1 })
            v = next.Outputs[0];
        return analysis.Context.CarrierOf(v) is { Axis: 1 } carrier && analysis.Context.RankOf(v) == 4 ? (v, carrier) : null;
    }

    /// <summary>Per tap and channel: mean over (h, w) of ((1/N) Σ_images |A|)^p.</summary>
    private double[][] Accumulate(Model model, List<(Value Value, Carrier Carrier)> taps)
    {
        var signature = ClassifierSignature.Of(model);
        signature.CheckData(data.Images);
        var names = taps.Select(t => t.Value.Name).ToList();
        using var inference = InferenceSession.FromModel(Recovery.ModelTaps.WithOutputs(model, names), session);
        var images = data.Images;
        var planeSums = new double[taps.Count][]; // Σ_images |A| per (channel, position)
        foreach (var (_, n, batch) in data.Batches(signature, batchSize))
        {
            var outputs = inference.Run(new Dictionary<string, TensorData> { [signature.InputName] = batch }, names);
            for (int t = 0; t < taps.Count; t++)
            {
                var a = outputs[names[t]];
                var values = a.As<float>();
                int plane = (int)(a.Dims[1] * a.Dims[2] * a.Dims[3]);
                planeSums[t] ??= new double[plane];
                for (int b = 0; b < n; b++)
                    for (int k = 0; k < plane; k++) planeSums[t][k] += Math.Abs(values[b * plane + k]);
            }
        }
        var result = new double[taps.Count][];
        for (int t = 0; t < taps.Count; t++)
        {
            int channels = taps[t].Carrier.Units.Length, spatial = planeSums[t].Length / channels;
            result[t] = new double[channels];
            for (int j = 0; j < channels; j++)
            {
                double s = 0;
                for (int k = 0; k < spatial; k++) s += Math.Pow(planeSums[t][j * spatial + k] / images.Count, p);
                result[t][j] = s / spatial;
            }
        }
        return result;
    }
}
