using OnnxPrune.Pruning.Channels;

namespace OnnxPrune.Pruning.Criteria;

/// <summary>Scores every unit of an analysis; a higher score means more important. Scores of a
/// unit aggregate over all its members (all producers of a coupled group).</summary>
internal interface IChannelCriterion
{
    string Name { get; }

    /// <returns>Score per root unit id.</returns>
    IReadOnlyDictionary<int, double> Score(ChannelAnalysis analysis);
}

/// <summary>
/// Filter norm (Li et al., "Pruning Filters for Efficient ConvNets"): the L1 norm, or the L2 norm,
/// of everything that computes the channel: the producing filters and biases of every producer in
/// the group. Consumer slices are not counted (they measure how much the next layer listens, a
/// different signal).
/// </summary>
internal sealed class NormCriterion(int p) : IChannelCriterion
{
    public string Name => p == 1 ? "l1" : "l2";

    public IReadOnlyDictionary<int, double> Score(ChannelAnalysis analysis)
    {
        var scores = new Dictionary<int, double>();
        foreach (var b in analysis.Bindings.Where(b => b.Role == ParamRole.Producer))
        {
            var tensor = analysis.Context.ConstantOf(b.Node.Inputs[b.InputIndex])!;
            var norms = TensorSlicing.Norms(tensor, b.Axis, p);
            for (int i = 0; i < norms.Length; i++)
            {
                if (b.IndexUnits[i] < 0) continue;
                var root = analysis.Root(b.IndexUnits[i]);
                scores[root] = scores.GetValueOrDefault(root) + norms[i];
            }
        }
        if (p == 2) foreach (var k in scores.Keys.ToList()) scores[k] = Math.Sqrt(scores[k]);
        return scores;
    }
}

/// <summary>Uniformly random scores from a seed: the baseline every criterion must beat.</summary>
internal sealed class RandomCriterion(int seed) : IChannelCriterion
{
    public string Name => "random";

    public IReadOnlyDictionary<int, double> Score(ChannelAnalysis analysis)
    {
        var random = new Random(seed);
        var scores = new Dictionary<int, double>();
        foreach (var g in analysis.Groups)
            foreach (var u in g.Units) scores[u] = random.NextDouble();
        return scores;
    }
}
