namespace OnnxPrune.Runtime;

/// <summary>
/// ORT's profiler over a few runs of a model, in a session of its own. Profiling adds work around every kernel, so
/// what it gives is where the time goes (per node, per op type), never the model's latency: time that with
/// <see cref="LatencyBenchmark"/> in a session without profiling. `onnxprune profile` and the report's per-layer
/// latency both come from here.
/// </summary>
internal static class ProfiledRuns
{
    /// <param name="open">Builds the session from the settings it is given (<paramref name="settings"/> with profiling on).</param>
    /// <param name="inputs">The inputs to run, made for the session (its input names and shapes).</param>
    /// <param name="runs">Runs recorded; the first one's allocations are in the figures too.</param>
    public static ProfileSummary Run(Func<SessionSettings, InferenceSession> open, SessionSettings settings,
        Func<InferenceSession, IReadOnlyDictionary<string, TensorData>> inputs, int runs)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(runs);
        // A null prefix gives a unique file in the temp folder (concurrent runs never share one); the summary deletes it.
        using var session = open(settings with { EnableProfiling = true, ProfileFilePrefix = null });
        var feed = inputs(session);
        for (int i = 0; i < runs; i++) session.Run(feed);
        return session.EndProfilingSummary();
    }

    /// <summary>Runs the profile covers: its "model_run" events, or <paramref name="runs"/> where ORT recorded none.</summary>
    public static int RunsIn(ProfileSummary summary, int runs) => Math.Max(1, summary.RunCount > 0 ? summary.RunCount : runs);

    /// <summary>Kernel milliseconds per run of each node of <paramref name="summary"/>, by node name: the median call
    /// times the calls per run, so that the first run's allocations or one run slowed by another process do not count.</summary>
    public static IReadOnlyDictionary<string, double> MillisecondsPerRun(ProfileSummary summary, int runs)
    {
        int n = RunsIn(summary, runs);
        return summary.ExecutionOrder.ToDictionary(node => node, node =>
        {
            var calls = summary.CallsOf(node).Order().ToArray();
            double median = calls.Length % 2 == 1 ? calls[calls.Length / 2] : (calls[calls.Length / 2 - 1] + calls[calls.Length / 2]) / 2.0;
            return Math.Round(median * calls.Length / n / 1000.0, 4); // ORT records whole microseconds
        }, StringComparer.Ordinal);
    }
}
