using OnnxPrune.Pruning.Channels;

namespace OnnxPrune.Pruning.Criteria;

/// <summary>
/// Filter Pruning via Geometric Median (He et al., CVPR 2019): within each producer layer, a
/// filter's score is the sum of the Euclidean distances from it to every other filter of that
/// layer (filters flattened). The filter nearest the layer's geometric median scores lowest: the
/// others can stand in for it. Only the weight tensor counts (input 1 of Conv, ConvTranspose,
/// Gemm, MatMul), not the bias. A group sums its producers' scores. Cost: n^2 * k per layer of n
/// filters of k weights each; layers whose channels are all pinned are skipped.
/// </summary>
internal sealed class FpgmCriterion : IChannelCriterion
{
    public string Name => "fpgm";

    public IReadOnlyDictionary<int, double> Score(ChannelAnalysis analysis)
    {
        var wanted = analysis.Groups.Where(g => g.IsPrunable).SelectMany(g => g.Units).ToHashSet();
        var scores = new Dictionary<int, double>();
        foreach (var b in analysis.Bindings.Where(b => b.Role == ParamRole.Producer && b.InputIndex == 1))
        {
            if (!b.IndexUnits.Any(u => u >= 0 && wanted.Contains(analysis.Root(u)))) continue;
            var tensor = analysis.Context.ConstantOf(b.Node.Inputs[b.InputIndex])!;
            var distances = DistanceSums(TensorSlicing.Filters(tensor, b.Axis, out int length), length);
            for (int i = 0; i < distances.Length; i++)
            {
                if (b.IndexUnits[i] < 0) continue;
                var root = analysis.Root(b.IndexUnits[i]);
                scores[root] = scores.GetValueOrDefault(root) + distances[i];
            }
        }
        return scores;
    }

    /// <summary>Per filter, the sum of its Euclidean distances to the others; <paramref name="filters"/>
    /// holds the filters one after another, <paramref name="length"/> values each.</summary>
    internal static double[] DistanceSums(float[] filters, int length)
    {
        int n = length == 0 ? 0 : filters.Length / length;
        var sums = new double[n];
        var span = filters.AsSpan();
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++)
            {
                double d = System.Numerics.Tensors.TensorPrimitives.Distance<float>(span.Slice(i * length, length), span.Slice(j * length, length));
                sums[i] += d;
                sums[j] += d;
            }
        return sums;
    }
}
