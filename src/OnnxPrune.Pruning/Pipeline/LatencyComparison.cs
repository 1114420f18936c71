using OnnxPrune.Runtime;
using OnnxPrune.Runtime.Data;

namespace OnnxPrune.Pruning.Pipeline;

/// <summary>Median latencies of two models measured side by side by ONNX Runtime.</summary>
public sealed record LatencyPair(double BeforeMs, double AfterMs, int Rounds, int Threads, int Batch, string Provider = "CPUExecutionProvider")
{
    /// <summary>before / after: above 1 means the pruned model is faster.</summary>
    public double Speedup => BeforeMs / AfterMs;
}

/// <summary>
/// Measures two models in alternating rounds (A, B, A, B, ...) on the same inputs, so that a
/// noisy machine slows both alike, and reports the medians.
/// </summary>
public static class LatencyComparison
{
    public static LatencyPair Measure(byte[] before, byte[] after, SessionSettings settings, int batch, IReadOnlyDictionary<string, long[]> inputShapes,
        int rounds = 15, int runsPerRound = 5, int warmup = 5)
    {
        using var a = InferenceSession.FromBytes(before, settings);
        using var b = InferenceSession.FromBytes(after, settings);
        var inputs = RandomInputs.Create(a.Inputs, batch, seed: 0, inputShapes);
        LatencyBenchmark.Measure(a, inputs, warmup, 1);
        LatencyBenchmark.Measure(b, inputs, warmup, 1);
        var ta = new List<double>();
        var tb = new List<double>();
        for (int r = 0; r < rounds; r++)
        {
            ta.AddRange(LatencyBenchmark.Measure(a, inputs, 0, runsPerRound));
            tb.AddRange(LatencyBenchmark.Measure(b, inputs, 0, runsPerRound));
        }
        return new LatencyPair(Median(ta), Median(tb), rounds, settings.EffectiveIntraOpThreads, batch, ExecutionProviders.OrtName(settings.Provider));
    }

    /// <summary>The median latency of one model: <paramref name="runs"/> timed runs after warm-up.</summary>
    public static double MeasureOne(byte[] model, SessionSettings settings, int batch, IReadOnlyDictionary<string, long[]> inputShapes, int runs = 75, int warmup = 5)
    {
        using var session = InferenceSession.FromBytes(model, settings);
        var inputs = RandomInputs.Create(session.Inputs, batch, seed: 0, inputShapes);
        return Median(LatencyBenchmark.Measure(session, inputs, warmup, runs));
    }

    public static double Median(IReadOnlyCollection<double> values)
    {
        var s = values.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }
}
