using System.Diagnostics;
using System.Globalization;
using OnnxPrune.IR;
using OnnxPrune.Onnx;
using OnnxPrune.Pruning.Channels;
using OnnxPrune.Pruning.Cost;
using OnnxPrune.Pruning.Latency;
using OnnxPrune.Pruning.Pipeline;
using OnnxPrune.Runtime;
using OnnxPrune.Runtime.Data;

namespace OnnxPrune.Bench;

/// <summary>
/// Issue 15's acceptance for the latency model: per model, the latency model (per-layer table
/// measured on this machine, calibrated on the measured original) predicts the latency of the model
/// data-free l1/global pruning gives at each MACs target, and the pruned model is measured side by
/// side with the original. Both calibrations are scored; the table starts empty (a temporary cache
/// folder) so the probe count and time are those of a first run.
/// </summary>
internal static class LatencyModelBench
{
    private static readonly string[] Targets = ["70%", "50%"];

    public static int Run(string output, IReadOnlyList<string> modelPaths, bool partial)
    {
        var settings = new SessionSettings { IntraOpThreads = 2 };
        const int batch = 1;
        var cache = Path.Combine(Path.GetTempPath(), $"onnxprune-latency-bench-{Environment.ProcessId}");
        var rows = new List<string>();
        var errors = new Dictionary<LatencyCalibration, List<double>> { [LatencyCalibration.Scale] = [], [LatencyCalibration.Offset] = [] };
        var aloneErrors = new List<double>();
        try
        {
            foreach (var path in modelPaths)
            {
                var name = Path.GetFileNameWithoutExtension(path);
                Console.Error.WriteLine($"{name} ...");
                var bytes = File.ReadAllBytes(path);
                var dir = Path.GetDirectoryName(Path.GetFullPath(path));
                var shapes = name == "ppocr-mobile-v2-cls" ? new Dictionary<string, long[]> { ["x"] = [1, 3, 48, 192] } : new Dictionary<string, long[]>();

                // The analysis the planner would have: the prepared model, inputs bound.
                var prepared = OnnxModelFile.FromBytes(bytes, dir);
                PreparePasses.Run(prepared);
                foreach (var input in prepared.Graph.Inputs)
                    if (shapes.TryGetValue(input.Name, out var dims)) input.Shape = new Shape(dims);
                var analysis = ChannelAnalysis.Run(prepared);
                var baseline = CostModel.Measure(prepared.Graph);

                var original = MeasureAlone(bytes, settings, batch, shapes);
                var table = new LatencyTable(cache, settings, batch);
                var alone = LatencyModel.Build(analysis, baseline, table, original);
                foreach (var target in Targets)
                {
                    var result = DataFreePruner.Run(OnnxModelFile.FromBytes(bytes, dir),
                        new DataFreePruneOptions { Target = new TargetSpec.Flops(target), InputShapes = shapes });
                    var pair = LatencyComparison.Measure(bytes, OnnxModelFile.ToBytes(result.Model), settings, batch, shapes);
                    // Calibrated on the original measured side by side with the pruned model, so that load
                    // which comes and goes on a shared machine between measurements does not count as model error.
                    var predicted = errors.Keys.ToDictionary(c => c,
                        c => LatencyModel.Build(analysis, baseline, table, pair.BeforeMs, c).Predict(result.RemovedUnits));
                    double Error(double ms) => 100 * (ms - pair.AfterMs) / pair.AfterMs;
                    foreach (var c in errors.Keys) errors[c].Add(Math.Abs(Error(predicted[c])));
                    var predictedAlone = alone.Predict(result.RemovedUnits);
                    aloneErrors.Add(Math.Abs(Error(predictedAlone)));
                    if (Environment.GetEnvironmentVariable("LATENCY_BENCH_LAYERS") == "1")
                        foreach (var l in alone.Layers(result.RemovedUnits))
                            Console.Error.WriteLine($"  {l.Node} {l.InBefore}->{l.OutBefore} {l.MsBefore:0.0000} ms | {l.InAfter}->{l.OutAfter} {l.MsAfter:0.0000} ms | {l.Signature}");
                    rows.Add(string.Create(CultureInfo.InvariantCulture,
                        $"| {name} | {target} | {100.0 * result.MacsAfter / result.MacsBefore:0.0}% | {pair.BeforeMs:0.000} | {pair.AfterMs:0.000} | " +
                        $"{predicted[LatencyCalibration.Scale]:0.000} | {Error(predicted[LatencyCalibration.Scale]):+0.0;-0.0}% | " +
                        $"{predicted[LatencyCalibration.Offset]:0.000} | {Error(predicted[LatencyCalibration.Offset]):+0.0;-0.0}% | " +
                        $"{original:0.000} | {predictedAlone:0.000} | {Error(predictedAlone):+0.0;-0.0}% | " +
                        $"{alone.LayerCount}/{alone.LayerCount + alone.Unmodelled.Count} | {table.Measured} | {table.MeasureTime.TotalSeconds:0.0} | {alone.LayerSumOriginalMs:0.000} |"));
                    Console.Error.WriteLine(rows[^1]);
                }
            }
        }
        finally
        {
            try { Directory.Delete(cache, recursive: true); } catch (IOException) { }
        }
        string Summary(List<double> e) => e.Count == 0 ? "-" : string.Create(CultureInfo.InvariantCulture, $"{LatencyComparison.Median(e):0.0}%");
        var text = $"""
            # Latency model: predicted against measured latency of the pruned model{(partial ? " (PARTIAL: a few models only)" : "")}

            Regenerate: `tools/bench/latency-model.sh [MODEL...]` (this file is rewritten; {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores,
            {LatencyTableIdentity.CpuModel()}, ONNX Runtime {OrtRuntime.Shared.VersionString} CPU, 2 intra-op threads, batch 1).

            Each model is pruned data-free (criterion l1, allocation global, default width rule) to keep 70% and 50% of its MACs.
            The table starts empty at the start of the run (a temporary cache folder) and is shared by the models of the run, as the
            on-disk cache would be; "probes" and "table s" are what this model's table measured so far (its second row adds to its
            first; entries an earlier model measured are read from the cache, not measured). "original" and "pruned" are measured side by side (median of 5 alternating blocks x 15 runs, one session at a time
            ) and the scale/offset predictions are calibrated on that "original", so load that comes and goes on a shared machine
            between measurements is not counted as model error. "alone" is the original measured on its own once per model (median of
            75 runs), as the planner will; "pred. alone" is the scale prediction calibrated on it (model error plus drift).
            Error = (predicted - measured pruned) / measured pruned. "layer sum" is the isolated probes' sum for the original.
            Calibrations: scale = original x sum(pruned) / sum(original); offset = original - sum(original) + sum(pruned).

            | model | MACs target | MACs kept | ms original | ms pruned | predicted (scale) | error | predicted (offset) | error | ms alone | pred. alone | error | layers modelled | probes | table s | ms layer sum |
            |---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
            {string.Join("\n", rows)}

            Median absolute error: scale {Summary(errors[LatencyCalibration.Scale])}, offset {Summary(errors[LatencyCalibration.Offset])};
            scale calibrated on the original alone {Summary(aloneErrors)} (target: 10% or less).

            """;
        // The hand-written findings below the marker survive a rerun.
        const string Marker = "<!-- findings: kept when the benchmark rewrites this file -->";
        if (File.Exists(output) && File.ReadAllText(output) is var old && old.IndexOf(Marker, StringComparison.Ordinal) is var at and >= 0)
            text += "\n" + old[at..];
        File.WriteAllText(output, text);
        Console.Write(text);
        return 0;
    }

    /// <summary>The original alone, as the planner measures it before it has a candidate: median of 75 runs after 10 warm-up runs.</summary>
    private static double MeasureAlone(byte[] bytes, SessionSettings settings, int batch, IReadOnlyDictionary<string, long[]> shapes)
    {
        using var session = InferenceSession.FromBytes(bytes, settings);
        var inputs = RandomInputs.Create(session.Inputs, batch, seed: 0, shapes);
        return LatencyComparison.Median(LatencyBenchmark.Measure(session, inputs, 10, 75));
    }
}
