using OnnxPrune.IR;
using OnnxPrune.Pruning.Criteria;
using OnnxPrune.Runtime;
using OnnxPrune.Training;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Pruning.Recovery;

/// <summary>
/// BatchNorm re-estimation (METHODS.md §6): every BatchNormalization's running mean and variance
/// recomputed on the calibration images as a cumulative average of training-mode batch statistics,
/// as PyTorch does with momentum None. A copy of the model normalises with each batch's own
/// statistics (so every layer sees its inputs as they are after the earlier layers' statistics
/// changed: graph order in one pass) and outputs them. The variance is the unbiased one, as the
/// running variance of PyTorch's BatchNorm. The training graph's lowering (Autodiff) is not used
/// because it also builds gradients; this needs the forward pass only.
/// </summary>
internal sealed class BatchNormReestimation(CalibrationSet data, SessionSettings session, int batchSize = 64)
{
    /// <summary>Re-estimates the statistics of every inference-mode BatchNormalization of
    /// <paramref name="model"/> in place; returns how many.</summary>
    public int Run(Model model)
    {
        if (!model.Graph.Nodes.Any(n => n.OpType == "BatchNormalization")) return 0;
        // Shape inference records what it finds on the values: run it on the copy that gets rewritten.
        var probe = model.Clone();
        var shapes = new IR.ShapeInference.ShapeInferencer().Run(probe);
        var probeNorms = probe.Graph.Nodes.Where(n => IsReestimable(n, shapes)).ToList();
        if (probeNorms.Count == 0) return 0;
        var taps = ToBatchStatistics(probe, probeNorms, shapes);
        var byOutput = model.Graph.Nodes.Where(n => n.OpType == "BatchNormalization").ToDictionary(n => n.Outputs[0].Name, StringComparer.Ordinal);
        var norms = probeNorms.Select(n => byOutput[taps[probeNorms.IndexOf(n)].Output]).ToList();
        var signature = ClassifierSignature.Of(model);
        signature.CheckData(data.Images);
        using var inference = InferenceSession.FromModel(probe, session);
        var names = taps.SelectMany(t => new[] { t.Mean, t.Variance }).ToList();
        var meanSums = new double[norms.Count][];
        var varianceSums = new double[norms.Count][];
        double weight = 0;
        foreach (var (_, n, batch) in data.Batches(signature, (int)(signature.FixedBatch ?? batchSize)))
        {
            var outputs = inference.Run(new Dictionary<string, TensorData> { [signature.InputName] = batch }, names);
            for (int i = 0; i < norms.Count; i++)
            {
                var mean = outputs[taps[i].Mean].As<float>();
                var variance = outputs[taps[i].Variance].As<float>();
                meanSums[i] ??= new double[mean.Length];
                varianceSums[i] ??= new double[mean.Length];
                double count = taps[i].CountPerImage * n;
                double unbiased = count > 1 ? count / (count - 1) : 1;
                for (int c = 0; c < mean.Length; c++)
                {
                    meanSums[i][c] += n * (double)mean[c];
                    varianceSums[i][c] += n * variance[c] * unbiased;
                }
            }
            weight += n;
        }
        for (int i = 0; i < norms.Count; i++)
        {
            var node = norms[i];
            var dims = StatisticDims(node);
            node.SetInput(3, model.Graph.AddInitializer(node.Input(3)!.Name + "_recal", DenseTensor.FromFloats(dims, meanSums[i].Select(v => (float)(v / weight)).ToArray())));
            node.SetInput(4, model.Graph.AddInitializer(node.Input(4)!.Name + "_recal", DenseTensor.FromFloats(dims, varianceSums[i].Select(v => (float)(v / weight)).ToArray())));
        }
        new IR.Passes.EliminateDeadCode().Run(model);
        return norms.Count;
    }

    private static long[] StatisticDims(Node node) => node.Input(3)!.ConstValue?.Dims ?? [];

    /// <summary>A BatchNormalization in inference mode on float data with constant parameters
    /// and a known rank (2 or more).</summary>
    private static bool IsReestimable(Node node, IR.ShapeInference.ShapeInferenceResult shapes) =>
        node is { IsOnnxDomain: true, OpType: "BatchNormalization" } && node.Inputs.Count == 5 &&
        node.Attributes.GetInt("training_mode", 0) == 0 && node.Outputs.Count == 1 &&
        node.Inputs.Skip(1).All(v => v is { Producer: null, ConstValue: { DataType: DataType.Float } }) &&
        shapes.GetShape(node.Input(0)!) is { Rank: >= 2 } && shapes.GetElementType(node.Input(0)!) == DataType.Float;

    private sealed record Tap(string Output, string Mean, string Variance, long CountPerImage);

    /// <summary>
    /// Rewrites <paramref name="copy"/> so that each chosen BatchNormalization y = γ (x − μ)/√(σ² + ε) + β is computed from the
    /// batch: μ = mean(x), σ² = mean((x − μ)²) over every axis but 1, both also graph outputs.
    /// </summary>
    private static List<Tap> ToBatchStatistics(Model copy, List<Node> norms, IR.ShapeInference.ShapeInferenceResult shapes)
    {
        var graph = copy.Graph;
        bool axesAsInput = copy.DefaultOpset >= 18;
        var taps = new List<Tap>();
        foreach (var norm in norms)
        {
            var x = norm.Input(0)!;
            var shape = shapes.GetShape(x)!;
            var output = norm.Outputs[0].Name;
            int rank = shape.Rank;
            long[] axes = [0, .. Enumerable.Range(2, rank - 2).Select(a => (long)a)];
            long countPerImage = 1;
            // Only for the unbiased correction n/(n-1); a spatial size left open skips it (it is ~1 for any real image).
            for (int a = 2; a < rank; a++) countPerImage *= shape.Dims[a].Value ?? 1;
            long[] perChannel = [1, -1, .. Enumerable.Repeat(1L, rank - 2)];
            string Name(string hint) => graph.UniqueName(norm.Outputs[0].Name + "_" + hint);
            Value Emit(string op, Value?[] inputs, string hint, params Attribute[] attributes)
            {
                var node = new Node("", op, inputs, [Name(hint)], attributes, Name(hint + "_node"));
                graph.InsertNodeBefore(norm, node);
                return node.Outputs[0];
            }
            Value ReduceMean(Value v, string hint) => axesAsInput
                ? Emit("ReduceMean", [v, graph.AddInitializer(Name("axes"), DenseTensor.FromInt64s([axes.Length], axes))], hint, Attribute.Int("keepdims", 1))
                : Emit("ReduceMean", [v], hint, Attribute.Ints("axes", axes), Attribute.Int("keepdims", 1));
            Value Shaped(Value parameter, string hint) =>
                Emit("Reshape", [parameter, graph.AddInitializer(Name(hint + "_shape"), DenseTensor.FromInt64s([perChannel.Length], perChannel))], hint);

            var mean = ReduceMean(x, "batch_mean");
            var centred = Emit("Sub", [x, mean], "centred");
            var variance = ReduceMean(Emit("Mul", [centred, centred], "squared"), "batch_var");
            float epsilon = norm.Attributes.GetFloat("epsilon", 1e-5f);
            var eps = graph.AddInitializer(Name("eps"), DenseTensor.FromFloats([], [epsilon]));
            var normalised = Emit("Div", [centred, Emit("Sqrt", [Emit("Add", [variance, eps], "var_eps")], "std")], "normalised");
            var scaled = Emit("Mul", [normalised, Shaped(norm.Input(1)!, "scale")], "scaled");
            var y = norm.Outputs[0];
            var shifted = Emit("Add", [scaled, Shaped(norm.Input(2)!, "bias")], "shifted");
            shifted.ElementType = DataType.Float;
            y.ReplaceAllUsesWith(shifted);
            graph.RemoveNode(norm);
            mean.ElementType = variance.ElementType = DataType.Float;
            graph.AddOutput(mean);
            graph.AddOutput(variance);
            taps.Add(new Tap(output, mean.Name, variance.Name, countPerImage));
        }
        return taps;
    }
}
