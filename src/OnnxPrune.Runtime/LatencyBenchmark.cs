using System.Diagnostics;

namespace OnnxPrune.Runtime;

/// <summary>Wall-clock latency of a session on fixed inputs.</summary>
internal static class LatencyBenchmark
{
    /// <summary>
    /// Runs <paramref name="warmupRuns"/> untimed and then <paramref name="timedRuns"/> timed runs.
    /// Inputs are wrapped once and reused, and outputs are released without copying, so the
    /// times are ORT's Run call alone, as a deployment that keeps outputs on the native side sees it.
    /// </summary>
    /// <returns>Milliseconds of each timed run, in order (statistics are the caller's choice).</returns>
    public static double[] Measure(InferenceSession session, IReadOnlyDictionary<string, TensorData> inputs,
        int warmupRuns, int timedRuns, IReadOnlyList<string>? outputNames = null)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentOutOfRangeException.ThrowIfNegative(warmupRuns);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(timedRuns);

        var names = session.ResolveOutputs(outputNames);
        using var binding = InputBinding.Create(session.Inputs, inputs);

        for (var i = 0; i < warmupRuns; i++) session.RunCore(binding, names, default).Dispose();

        var milliseconds = new double[timedRuns];
        for (var i = 0; i < timedRuns; i++)
        {
            var start = Stopwatch.GetTimestamp();
            var outputs = session.RunCore(binding, names, default);
            milliseconds[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            outputs.Dispose();
        }
        return milliseconds;
    }
}
