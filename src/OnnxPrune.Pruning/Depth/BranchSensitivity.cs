using OnnxPrune.IR;
using OnnxPrune.Pruning.Criteria;
using OnnxPrune.Pruning.Policy.Cie;
using OnnxPrune.Runtime;
using OnnxPrune.Training;

namespace OnnxPrune.Pruning.Depth;

/// <summary>
/// How much each residual branch matters, measured: the mean KL divergence of the model's class distribution
/// with that branch alone replaced by its mean output, from the model's own, on calibration images. Channel
/// scores cannot say this: summed over a layer they grow with its width, so a block of 16 channels would look
/// four times cheaper to remove than one of 64 that costs the same time, whatever either contributes.
/// </summary>
internal static class BranchSensitivity
{
    /// <summary>Images each branch is evaluated on (the first ones of the calibration set).</summary>
    public const int Images = 256;

    /// <summary>Per group id, the KL divergence removing its branch alone causes.</summary>
    public static Dictionary<int, double> Measure(Model model, IReadOnlyDictionary<int, ResidualBranch> branches, IReadOnlyDictionary<string, Tensor> means,
        CalibrationSet data, SessionSettings session)
    {
        var sample = data.Images.Count > Images ? data with { Images = data.Images.Subset(Enumerable.Range(0, Images).ToArray()) } : data;
        var signature = ClassifierSignature.Of(model);
        var reference = SensitivityGrid.Outputs(model, signature, sample, session, CancellationToken.None);
        // Several groups can lead to one branch (a bottleneck's two inner layers): each branch is measured once.
        var byOutput = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var name in branches.Values.Select(b => b.Output.Name).Distinct(StringComparer.Ordinal))
        {
            var copy = model.Clone();
            BranchCollapse.Apply(copy, new Dictionary<string, Tensor>(StringComparer.Ordinal) { [name] = means[name] }, _ => null);
            var outputs = SensitivityGrid.Outputs(copy, signature, sample, session, CancellationToken.None);
            byOutput[name] = SensitivityGrid.MeanKl(reference, outputs, sample.Images.Count, signature.OutputIsProbabilities);
        }
        return branches.ToDictionary(b => b.Key, b => byOutput[b.Value.Output.Name]);
    }
}
