using OnnxPrune.Runtime;
using OnnxPrune.Runtime.Data;

namespace OnnxPrune.Pruning.Pipeline;

/// <summary>One node's kernel time per run in the original and in the pruned model (null: the node is not in that model,
/// e.g. ORT fused it away, or it ran no kernel).</summary>
public sealed record LayerLatency(string Node, string OpType, double? BeforeMs, double? AfterMs);

/// <summary>Per-node kernel times of both models from ORT's profiler: <paramref name="Runs"/> profiled runs of each, at
/// batch <paramref name="Batch"/>, with ORT's graph optimizations up to <paramref name="Optimization"/>, in ORT's execution
/// order of the original (nodes only the pruned model has come last). Profiling adds overhead to every kernel: these are
/// for comparing layers, the model latency is measured without it.</summary>
public sealed record LayerLatencyReport(int Runs, int Batch, int Threads, string Provider, string Optimization, IReadOnlyList<LayerLatency> Layers);

/// <summary>
/// The report's "latency per layer, before and after": each model profiled in a session of its own
/// (<see cref="ProfiledRuns"/>, as `onnxprune profile` does), nodes matched by name. Pruning keeps node names, but ORT's
/// full optimization level does not: its NCHWc layout pass renames the convolutions it converts (after their output
/// value, "..._nchwc") and converts a layer or not depending on its width, so the original's "x.out_nchwc" was the pruned
/// model's "x.conv" (ResNet-20 at 50% MACs). Up to the extended level every fusion keeps the Conv's name (BatchNorm folded
/// into it, FusedConv with its activation), so the profile runs there and each layer finds itself on both sides. It
/// costs two sessions and a few runs each, so it belongs to the final measurement only.
/// </summary>
internal static class LayerLatencyComparison
{
    public const int DefaultRuns = 10;

    /// <summary>The optimization level of the per-layer profile (see the class comment).</summary>
    public const GraphOptimizationLevel Level = GraphOptimizationLevel.Extended;

    public static LayerLatencyReport Measure(byte[] before, byte[] after, SessionSettings settings, int batch, IReadOnlyDictionary<string, long[]> inputShapes,
        int runs = DefaultRuns)
    {
        settings = settings with { Optimization = Level };
        var (orderA, a) = Profile(before, settings, batch, inputShapes, runs);
        var (orderB, b) = Profile(after, settings, batch, inputShapes, runs);
        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, op) in orderA.Concat(orderB)) types.TryAdd(name, op);
        var layers = orderA.Select(n => n.Name).Concat(orderB.Select(n => n.Name).Where(n => !a.ContainsKey(n)))
            .Select(n => new LayerLatency(n, types[n], a.TryGetValue(n, out var x) ? x : null, b.TryGetValue(n, out var y) ? y : null)).ToList();
        return new LayerLatencyReport(runs, batch, settings.EffectiveIntraOpThreads, ExecutionProviders.OrtName(settings.Provider), Level.ToString().ToLowerInvariant(), layers);
    }

    private static (List<(string Name, string Op)> Order, IReadOnlyDictionary<string, double> Ms) Profile(byte[] model, SessionSettings settings, int batch,
        IReadOnlyDictionary<string, long[]> inputShapes, int runs)
    {
        var summary = ProfiledRuns.Run(s => InferenceSession.FromBytes(model, s), settings, session => RandomInputs.Create(session.Inputs, batch, seed: 0, inputShapes), runs);
        var op = summary.Nodes.GroupBy(n => n.NodeName, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First().OpType, StringComparer.Ordinal);
        return (summary.ExecutionOrder.Select(n => (n, op[n])).ToList(), ProfiledRuns.MillisecondsPerRun(summary, runs));
    }
}
