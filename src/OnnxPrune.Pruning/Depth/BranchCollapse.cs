using OnnxPrune.IR;
using OnnxPrune.IR.Passes;
using OnnxPrune.Pruning.Channels;
using OnnxPrune.Pruning.Criteria;
using OnnxPrune.Runtime;
using OnnxPrune.Training;

namespace OnnxPrune.Pruning.Depth;

/// <summary>
/// Replaces residual branches by constants. The constant is the branch's output averaged over the calibration
/// images, position by position (over the batch axis only): of all inputs the Add could get that do not depend
/// on the image, the one closest to the branch's outputs in squared error, the least-squares refit of a layer
/// left with no inputs. Position by position rather than per channel, so it needs no channel axis and keeps
/// what zero padding does at the borders; it takes the value's size without the batch, which is why only
/// models whose inputs have static sizes (but the batch) qualify.
/// </summary>
internal static class BranchCollapse
{
    /// <summary>Whether the inputs' recorded sizes are fixed except the first (batch) axis: a constant of the
    /// branch's output size then fits every input the model accepts.</summary>
    public static bool SizesAreStatic(IEnumerable<Shape?> recordedInputShapes) =>
        recordedInputShapes.All(s => s is not null && s.Dims.Skip(1).All(d => d.Value is not null));

    /// <summary>Each branch output's mean over the batch axis on <paramref name="data"/>, run on <paramref name="model"/>
    /// (the model before removal), by output value name.</summary>
    public static Dictionary<string, Tensor> Means(Model model, IEnumerable<ResidualBranch> branches, CalibrationSet data, SessionSettings session, int batchSize = 64)
    {
        var names = branches.Select(b => b.Output.Name).Distinct(StringComparer.Ordinal).ToList();
        var signature = ClassifierSignature.Of(model);
        signature.CheckData(data.Images);
        using var inference = InferenceSession.FromModel(Recovery.ModelTaps.Truncated(model, names), session);
        var sums = new Dictionary<string, double[]>(StringComparer.Ordinal);
        var dims = new Dictionary<string, long[]>(StringComparer.Ordinal);
        long images = 0;
        foreach (var (_, n, batch) in data.Batches(signature, (int)(signature.FixedBatch ?? batchSize)))
        {
            var outputs = inference.Run(new Dictionary<string, TensorData> { [signature.InputName] = batch }, names);
            foreach (var name in names)
            {
                var t = outputs[name];
                var values = t.As<float>();
                long rows = t.Dims[0];
                int perImage = (int)(values.Length / Math.Max(1, rows));
                var d = t.Dims.ToArray();
                d[0] = 1;
                if (dims.TryGetValue(name, out var seen) && !seen.SequenceEqual(d))
                    throw new InvalidOperationException($"branch output '{name}' changed size between batches ([{string.Join(",", seen)}] then [{string.Join(",", d)}])");
                dims[name] = d;
                var sum = sums.TryGetValue(name, out var s) ? s : sums[name] = new double[perImage];
                for (long r = 0; r < rows; r++)
                    for (int i = 0; i < perImage; i++) sum[i] += values[r * perImage + i];
            }
            images += n;
        }
        return names.ToDictionary(name => name, name => (Tensor)DenseTensor.FromFloats(dims[name], sums[name].Select(v => (float)(v / images)).ToArray()), StringComparer.Ordinal);
    }

    /// <summary>
    /// Feeds each branch's Add its constant instead of the branch, removes the nodes nothing reads any more and folds
    /// the chains of constant shifts and clamps that consecutive removed blocks leave (<see cref="ShiftClampChains"/>).
    /// <paramref name="keep"/> says, for a branch output whose channels were also pruned (it is part of the
    /// residual stream), which positions of which axis stay, so the mean computed before removal is sliced to fit.
    /// </summary>
    public static void Apply(Model model, IReadOnlyDictionary<string, Tensor> means, Func<string, (int Axis, bool[] Keep)?> keep)
    {
        var byOutput = model.Graph.Nodes.SelectMany(n => n.Outputs).ToDictionary(o => o.Name, StringComparer.Ordinal);
        foreach (var (name, mean) in means)
        {
            var value = byOutput[name];
            var constant = keep(name) is { } k ? TensorSlicing.Take(mean, k.Axis, k.Keep) : mean;
            var replacement = model.Graph.AddInitializer(name + "_collapsed", constant);
            foreach (var use in value.UsesSnapshot()) use.Node.SetInput(use.InputIndex, replacement);
        }
        new EliminateDeadCode().Run(model);
        // Consecutive removed blocks leave x + c, Relu, + c', Relu, ...: two small ops each, folded to two in all.
        ShiftClampChains.Run(model);
    }
}
