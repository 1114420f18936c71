using OnnxPrune.Autodiff;
using OnnxPrune.IR;
using OnnxPrune.Pruning.Channels;
using OnnxPrune.Runtime;
using OnnxPrune.Runtime.Lowering;
using OnnxPrune.Training;

namespace OnnxPrune.Pruning.Criteria;

/// <summary>
/// First-order Taylor saliency of a channel group (Molchanov et al., CVPR 2019, on groups as in
/// METHODS.md): |θ_sᵀ g|, where θ_s is every parameter the group's removal zeroes (the producing
/// filters and biases, per-channel parameters such as BatchNorm's scale and shift, the consumers'
/// input slices) and g the gradient of the loss over the calibration images, computed by ONNX
/// Runtime on the gradient graph OnnxPrune builds. -θ_sᵀ g is the first-order change of the loss
/// when the group goes; the score is its size.
/// <para>The loss is softmax cross-entropy against the labels; without labels, against the
/// original model's own top-1 predictions. (Against its soft outputs, the KL divergence of the
/// unpruned model to itself has zero gradient, which would make every first-order score 0.)
/// BatchNorm uses its running statistics: the model as it is deployed.</para>
/// </summary>
public sealed class TaylorCriterion(CalibrationSet data, SessionSettings session, int batchSize = 128) : IChannelCriterion
{
    public string Name => "taylor";

    /// <summary>The loss the scores were taken on, for the report and `onnxprune methods`.</summary>
    public string Loss => data.HasLabels
        ? "softmax cross-entropy against the calibration labels"
        : "softmax cross-entropy against the original model's top-1 predictions (no labels given)";

    public IReadOnlyDictionary<int, double> Score(ChannelAnalysis analysis)
    {
        var bindings = analysis.Bindings.Where(b => b.Role is ParamRole.Producer or ParamRole.Consumer or ParamRole.PerChannel
            && analysis.Context.ConstantOf(b.Node.Inputs[b.InputIndex]) is { DataType: DataType.Float }).ToList();
        var parameters = bindings.Select(b => b.Node.Inputs[b.InputIndex]!.Name).Distinct(StringComparer.Ordinal).ToList();
        var gradients = MeanGradients(analysis.Context.Model, parameters);

        var sums = new Dictionary<int, double>();
        foreach (var b in bindings)
        {
            var dots = TensorSlicing.Dots(analysis.Context.ConstantOf(b.Node.Inputs[b.InputIndex])!, gradients[b.Node.Inputs[b.InputIndex]!.Name], b.Axis);
            for (int i = 0; i < dots.Length; i++)
            {
                if (b.IndexUnits[i] < 0) continue;
                var root = analysis.Root(b.IndexUnits[i]);
                sums[root] = sums.GetValueOrDefault(root) + dots[i];
            }
        }
        var scores = new Dictionary<int, double>();
        foreach (var g in analysis.Groups)
            foreach (var u in g.Units) scores[u] = Math.Abs(sums.GetValueOrDefault(u));
        return scores;
    }

    /// <summary>The loss gradient of each parameter averaged over all calibration images (each
    /// batch weighted by its size), one training-graph run per batch.</summary>
    internal IReadOnlyDictionary<string, float[]> MeanGradients(Model model, IReadOnlyList<string> parameters)
    {
        var signature = ClassifierSignature.Of(model);
        signature.CheckData(data.Images);
        var images = data.Images;
        var labels = data.HasLabels ? images.Labels : Predictions(model, signature);
        var total = new Dictionary<string, float[]>(StringComparer.Ordinal);
        var sessions = new Dictionary<int, GradientSession>();
        try
        {
            for (int start = 0; start < images.Count; start += batchSize)
            {
                int n = Math.Min(batchSize, images.Count - start);
                if (!sessions.TryGetValue(n, out var gradientSession)) sessions[n] = gradientSession = Session(model, signature, parameters, n);
                var feeds = new Dictionary<string, TensorData>
                {
                    [signature.InputName] = TensorData.Create(images.Images.AsSpan(start * images.SampleSize, n * images.SampleSize).ToArray(), signature.BatchDims(n, images)),
                    ["labels"] = TensorData.Create(labels.AsSpan(start, n).ToArray(), n),
                };
                var result = gradientSession.Evaluate(feeds);
                float weight = (float)n / images.Count; // the graph's loss is the batch mean
                foreach (var name in parameters)
                {
                    var g = result.Gradients[name].As<float>();
                    var sum = total.TryGetValue(name, out var s) ? s : total[name] = new float[g.Length];
                    System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(g, weight, sum, sum);
                }
            }
        }
        finally
        {
            foreach (var s in sessions.Values) s.Dispose();
        }
        return total;
    }

    /// <summary>A gradient session for batches of <paramref name="batch"/> images: the batch is
    /// fixed in the graph so its convolutions can run on ORT's blocked kernels (CPU).</summary>
    private GradientSession Session(Model model, ClassifierSignature signature, IReadOnlyList<string> parameters, int batch)
    {
        var copy = model.Clone();
        var input = copy.Graph.Inputs.First(i => i.Name == signature.InputName);
        if (input.Shape is { Rank: > 0 } shape) input.Shape = new Shape([Dim.Known(batch), .. shape.Dims.Skip(1)]);
        bool cpu = session.Provider == ExecutionProvider.Cpu;
        var graph = GradientBuilder.Build(copy, new GradientOptions
        {
            Trainable = parameters,
            WeightsAsInputs = false,
            BatchNorm = BatchNormMode.RunningStatistics,
            Loss = new SoftmaxCrossEntropyLoss(signature.LogitsName, "labels"),
            KeepModelOutputs = false,
            BlockedConvolutions = cpu,
            ChannelBlock = cpu ? NchwcSupport.BlockSize() : 0,
        });
        return new GradientSession(graph, session);
    }

    /// <summary>The original model's top-1 class for every calibration image.</summary>
    private long[] Predictions(Model model, ClassifierSignature signature)
    {
        using var inference = InferenceSession.FromModel(model, session);
        var images = data.Images;
        var labels = new long[images.Count];
        for (int start = 0; start < images.Count; start += batchSize)
        {
            int n = Math.Min(batchSize, images.Count - start);
            var batch = TensorData.Create(images.Images.AsSpan(start * images.SampleSize, n * images.SampleSize).ToArray(), signature.BatchDims(n, images));
            var output = inference.Run(new Dictionary<string, TensorData> { [signature.InputName] = batch }, [signature.OutputName])[signature.OutputName];
            var scores = output.As<float>();
            int classes = (int)output.Dims[^1];
            for (int i = 0; i < n; i++)
                labels[start + i] = System.Numerics.Tensors.TensorPrimitives.IndexOfMax(scores.AsSpan(i * classes, classes));
        }
        return labels;
    }
}
