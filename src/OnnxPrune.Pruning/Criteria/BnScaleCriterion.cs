using OnnxPrune.Pruning.Channels;
using OnnxPrune.Pruning.Pipeline;

namespace OnnxPrune.Pruning.Criteria;

/// <summary>
/// Network Slimming (Liu et al., ICCV 2017): a channel's score is |gamma|, the scale of the
/// BatchNormalization that normalises it (input 1 of BatchNormalization, bound per channel). A
/// group sums |gamma| over every BatchNormalization its channels pass through (coupled producers
/// each have their own). Every prunable group needs one: a model whose BatchNorms were folded into
/// its convolutions (the usual export) has no scale to read, and a group without one cannot be
/// ranked against the others, so both are a <see cref="PruneInputException"/>
/// (<see cref="PruneInputProblem.NoBatchNormalization"/>).
/// </summary>
internal sealed class BnScaleCriterion : IChannelCriterion
{
    public const string Alternatives = "choose l1, l2 or fpgm";

    public string Name => "bn-scale";

    public IReadOnlyDictionary<int, double> Score(ChannelAnalysis analysis)
    {
        var scores = new Dictionary<int, double>();
        foreach (var b in analysis.Bindings.Where(b => b.Role == ParamRole.PerChannel && b.InputIndex == 1 && b.Node.OpType == "BatchNormalization"))
        {
            var gamma = analysis.Context.ConstantOf(b.Node.Inputs[b.InputIndex])!;
            var magnitudes = TensorSlicing.Norms(gamma, b.Axis, 1);
            for (int i = 0; i < magnitudes.Length; i++)
            {
                if (b.IndexUnits[i] < 0) continue;
                var root = analysis.Root(b.IndexUnits[i]);
                scores[root] = scores.GetValueOrDefault(root) + magnitudes[i];
            }
        }
        var prunable = analysis.Groups.Where(g => g.IsPrunable).ToList();
        var without = prunable.Where(g => !g.Units.Any(scores.ContainsKey)).ToList();
        if (without.Count > 0 && without.Count == prunable.Count)
            throw new PruneInputException(PruneInputProblem.NoBatchNormalization,
                "bn-scale needs BatchNormalization layers; this model has none after its prunable layers (an export folds them into its convolutions): " + Alternatives);
        if (without.Count > 0)
            throw new PruneInputException(PruneInputProblem.NoBatchNormalization,
                $"bn-scale needs a BatchNormalization after every prunable layer; {without.Count} of {prunable.Count} prunable group(s) have none " +
                $"({string.Join(", ", without.Take(3).Select(g => g.Name))}{(without.Count > 3 ? ", ..." : "")}): " + Alternatives);
        return scores;
    }
}
