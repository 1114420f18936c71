using OnnxPrune.Runtime;
using OnnxPrune.Runtime.Data;

namespace OnnxPrune.Pruning.Pipeline;

/// <summary>Median latencies of two models measured side by side by ONNX Runtime (<see cref="BeforeMs"/> and
/// <see cref="AfterMs"/> are the medians, the p50), with the 90th percentiles when the runs were kept.</summary>
internal sealed record LatencyPair(double BeforeMs, double AfterMs, int Rounds, int Threads, int Batch, string Provider = "CPUExecutionProvider")
{
    /// <summary>90th percentile (nearest rank) of the original's runs; null where only medians were recorded.</summary>
    public double? BeforeP90Ms { get; init; }

    /// <summary>90th percentile (nearest rank) of the pruned model's runs.</summary>
    public double? AfterP90Ms { get; init; }

    /// <summary>before / after: above 1 means the pruned model is faster.</summary>
    public double Speedup => BeforeMs / AfterMs;
}

/// <summary>
/// Measures two models in alternating blocks (A, B, A, B, ...) on the same inputs, so that a noisy
/// machine slows both alike, and reports the medians. Only one session exists at a time: ONNX Runtime's
/// intra-op threads spin after a run, and a second live session's spinning threads were measured to
/// inflate the other model's latency unevenly (ResNet-56 at 2 threads: 0.92 ms beside its pruned copy
/// against 0.55 ms alone), which made the ratio of the two wrong.
/// </summary>
internal static class LatencyComparison
{
    public static LatencyPair Measure(byte[] before, byte[] after, SessionSettings settings, int batch, IReadOnlyDictionary<string, long[]> inputShapes,
        int rounds = 5, int runsPerRound = 15, int warmup = 5, Action<string>? progress = null)
    {
        var ta = new List<double>();
        var tb = new List<double>();
        // A count in the status ("3/10") is what a progress bar moves on.
        progress?.Invoke($"measuring latency, original and pruned alternated: 0/{2 * rounds} blocks");
        for (int r = 0; r < rounds; r++)
        {
            ta.AddRange(Block(before, settings, batch, inputShapes, runsPerRound, warmup));
            progress?.Invoke($"measuring latency, original and pruned alternated: {2 * r + 1}/{2 * rounds} blocks");
            tb.AddRange(Block(after, settings, batch, inputShapes, runsPerRound, warmup));
            progress?.Invoke($"measuring latency, original and pruned alternated: {2 * r + 2}/{2 * rounds} blocks");
        }
        return new LatencyPair(Median(ta), Median(tb), rounds, settings.EffectiveIntraOpThreads, batch, ExecutionProviders.OrtName(settings.Provider))
        {
            BeforeP90Ms = Percentile(ta.Order().ToArray(), 0.9), AfterP90Ms = Percentile(tb.Order().ToArray(), 0.9),
        };
    }

    /// <summary>One block: a fresh session, warm-up, <paramref name="runs"/> timed runs, the session released before the other model's block.</summary>
    private static double[] Block(byte[] model, SessionSettings settings, int batch, IReadOnlyDictionary<string, long[]> inputShapes, int runs, int warmup)
    {
        using var session = InferenceSession.FromBytes(model, settings);
        var inputs = RandomInputs.Create(session.Inputs, batch, seed: 0, inputShapes);
        return LatencyBenchmark.Measure(session, inputs, warmup, runs);
    }

    /// <summary>The median latency of one model: <paramref name="runs"/> timed runs after warm-up.</summary>
    public static double MeasureOne(byte[] model, SessionSettings settings, int batch, IReadOnlyDictionary<string, long[]> inputShapes, int runs = 75, int warmup = 5) =>
        Median(Block(model, settings, batch, inputShapes, runs, warmup));

    /// <summary>Nearest-rank percentile <paramref name="q"/> (0..1) of values sorted ascending.</summary>
    public static double Percentile(double[] sorted, double q)
    {
        var rank = (int)Math.Ceiling(q * sorted.Length) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Length - 1)];
    }

    public static double Median(IReadOnlyCollection<double> values)
    {
        var s = values.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }
}
