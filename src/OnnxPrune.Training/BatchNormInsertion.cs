using OnnxPrune.IR;
using OnnxPrune.IR.Passes;
using OnnxPrune.Runtime;
using OnnxPrune.Training.Data;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Training;

/// <summary>A model with BatchNormalization inserted, and the names of the inserted nodes.</summary>
/// <param name="Model">A copy of the given model.</param>
/// <param name="NodeNames">Names of the inserted BatchNormalization nodes (what <see cref="BatchNormInsertion.FoldBack"/> folds).</param>
internal sealed record InsertedBatchNorms(Model Model, IReadOnlySet<string> NodeNames);

/// <summary>
/// Fine-tuning a model whose exporter folded BatchNorm into its convolutions (METHODS.md §7): a
/// deep residual net without normalisation diverges at ordinary learning rates, so before training
/// a BatchNormalization is inserted after each Conv and Gemm that has none, with its running mean
/// μ and variance σ² measured on calibration images and γ = sqrt(σ² + ε), β = μ: in inference mode
/// it computes γ(x − μ)/sqrt(σ² + ε) + β = x, so the model's function is unchanged. The trainer
/// then trains it on batch statistics like any BatchNorm, and <see cref="FoldBack"/> folds the
/// inserted ones (only those) into their layers on export.
/// <para>Not normalised: the classifier head, i.e. a layer from whose output a graph output is
/// reached without passing another Conv, ConvTranspose, Gemm or MatMul (normalising the logits
/// over the batch would change what the loss trains, and the head is not where depth makes
/// training unstable); a layer whose output is a graph output; a layer some BatchNormalization
/// already reads; a layer the BN could not be folded back into (<see cref="FoldBatchNormalization.CanFoldInto"/>:
/// weights computed at run time, a bias broadcast over channels).</para>
/// <para>The calibration images are a seeded sample of <see cref="MaxImages"/> images of the
/// given data set (all of them when fewer), so the inserted statistics, and with them a resumed
/// run's parameters, are the same every time.</para>
/// </summary>
internal static class BatchNormInsertion
{
    /// <summary>Calibration images measured at most; a few hundred estimate a channel's moments within a few percent.</summary>
    public const int MaxImages = 256;

    /// <summary>ε of the inserted nodes (PyTorch's and ONNX's default).</summary>
    public const float Epsilon = 1e-5f;

    private const string Suffix = "/inserted_bn";

    /// <summary>The Conv and Gemm nodes that would get a BatchNormalization, in graph order.</summary>
    public static IReadOnlyList<Node> Candidates(Model model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var graph = model.Graph;
        var heads = Heads(graph);
        return graph.Nodes.Where(n => n.IsOnnxDomain && n.OpType is "Conv" or "Gemm" && FoldBatchNormalization.CanFoldInto(n) && !heads.Contains(n)
                                      && n.Outputs[0] is { IsGraphOutput: false, Uses.Count: > 0 } o
                                      && !o.Uses.Any(u => u.Node.OpType == "BatchNormalization" && u.InputIndex == 0)).ToList();
    }

    /// <summary>Layers that compute the graph outputs with no other layer after them.</summary>
    private static HashSet<Node> Heads(Graph graph)
    {
        var heads = new HashSet<Node>(ReferenceEqualityComparer.Instance);
        var seen = new HashSet<Node>(ReferenceEqualityComparer.Instance);
        var work = new Stack<Value>(graph.Outputs);
        while (work.Count > 0)
        {
            if (work.Pop().Producer is not { } node || !seen.Add(node)) continue;
            if (node.IsOnnxDomain && node.OpType is "Conv" or "ConvTranspose" or "Gemm" or "MatMul") heads.Add(node);
            else foreach (var input in node.Inputs) if (input is not null) work.Push(input);
        }
        return heads;
    }

    /// <summary>
    /// A copy of <paramref name="model"/> with a BatchNormalization after every
    /// <see cref="Candidates">candidate</see>, initialised from the moments of its input on
    /// <paramref name="calibration"/> (normalised with <paramref name="normalization"/>, run by ONNX Runtime).
    /// Each inserted node's output takes the layer output's name (the layer's output is renamed), so
    /// <see cref="FoldBack"/> restores the names too.
    /// </summary>
    /// <param name="seed">Chooses the calibration sample.</param>
    /// <exception cref="TrainingInputException">The images do not fit the model.</exception>
    public static InsertedBatchNorms Insert(Model model, Dataset calibration, ChannelNormalization? normalization, SessionSettings session, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(calibration);
        var copy = model.Clone();
        var layers = Candidates(copy);
        var names = new HashSet<string>(StringComparer.Ordinal);
        if (layers.Count == 0) return new InsertedBatchNorms(copy, names);
        var sample = calibration.Count > MaxImages ? calibration.SplitHoldout(MaxImages, seed).Validation : calibration;
        var moments = ChannelStatistics.Measure(copy, layers.Select(l => l.Outputs[0].Name).ToList(), sample, normalization, session);

        var graph = copy.Graph;
        var nodeNames = graph.Nodes.Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var layer in layers)
        {
            var output = layer.Outputs[0];
            var (mean, variance) = moments[output.Name];
            var stem = (layer.Name.Length > 0 ? layer.Name : output.Name) + Suffix;
            var gamma = variance.Select(v => (float)Math.Sqrt(v + Epsilon)).ToArray();
            long[] dims = [mean.Length];
            var meanValues = mean.Select(m => (float)m).ToArray();
            var inputs = new Value?[]
            {
                null,
                graph.AddInitializer(stem + ".weight", DenseTensor.FromFloats(dims, gamma)),
                graph.AddInitializer(stem + ".bias", DenseTensor.FromFloats(dims, meanValues)),
                graph.AddInitializer(stem + ".running_mean", DenseTensor.FromFloats(dims, meanValues)),
                graph.AddInitializer(stem + ".running_var", DenseTensor.FromFloats(dims, variance.Select(v => (float)v).ToArray())),
            };
            var name = stem;
            for (int i = 2; !nodeNames.Add(name); i++) name = stem + i;
            names.Add(name);
            var outputName = output.Name;
            output.Name = graph.UniqueName(outputName + Suffix + "_input");
            var bn = graph.InsertNodeAfter(layer, new Node("", "BatchNormalization", inputs, [outputName], [Attribute.Float("epsilon", Epsilon)], name));
            var normalized = bn.Outputs[0];
            normalized.ElementType = output.ElementType;
            normalized.Shape = output.Shape;
            // Readers of the layer now read the normalised value; then the BN reads the layer.
            output.ReplaceAllUsesWith(normalized);
            bn.SetInput(0, output);
        }
        return new InsertedBatchNorms(copy, names);
    }

    /// <summary>Folds the BatchNormalization nodes named in <paramref name="nodeNames"/> into their
    /// layers (in place): what the trainer does on export after training with inserted ones.</summary>
    /// <returns>true when anything was folded.</returns>
    public static bool FoldBack(Model model, IReadOnlySet<string> nodeNames)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(nodeNames);
        return nodeNames.Count > 0 && new PassManager([new FoldBatchNormalization(nodeNames)]).Run(model);
    }
}
