// TEMPORARY until the latency branch merges: signatures only, deleted at the merge.
namespace OnnxPrune.Pruning.Latency;
public sealed class LatencyTable(string folder, Runtime.SessionSettings settings, int batch) { }
public sealed class LatencyModel : Policy.ILatencyPredictor
{
    public static LatencyModel Build(Channels.ChannelAnalysis analysis, Cost.ModelCost baseline, LatencyTable table, double ms) => throw new NotSupportedException();
    public double Predict(IReadOnlyCollection<int> removedRoots) => throw new NotSupportedException();
}
