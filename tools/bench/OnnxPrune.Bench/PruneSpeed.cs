using System.Diagnostics;
using OnnxPrune.Onnx;
using OnnxPrune.Pruning.Pipeline;

namespace OnnxPrune.Bench;

/// <summary>
/// Issue 3's speed target: analysis + pruning + save of resnet50 under 1 second. Each round loads
/// the model fresh (timed apart: loading is not part of the target), then times
/// DataFreePruner.Run (cleanup passes, shape inference, channel analysis, scoring, planning,
/// removal) and the atomic save, as `onnxprune MODEL -o OUT --target-flops 50% --skip-latency` does.
/// </summary>
internal static class PruneSpeed
{
    public static int Run(string model, int rounds, string resultsFile)
    {
        var output = Path.Combine(Path.GetTempPath(), $"prune-speed-{Environment.ProcessId}.onnx");
        var options = new DataFreePruneOptions { Target = new TargetSpec.Flops("50%") };
        var load = new List<double>();
        var prune = new List<double>();
        var save = new List<double>();
        for (int i = 0; i < rounds + 2; i++)
        {
            var clock = Stopwatch.StartNew();
            var m = OnnxModelFile.Load(model);
            var t0 = clock.Elapsed.TotalMilliseconds;
            DataFreePruner.Run(m, options);
            var t1 = clock.Elapsed.TotalMilliseconds;
            OnnxModelFile.Save(m, output);
            var t2 = clock.Elapsed.TotalMilliseconds;
            if (i < 2) continue; // JIT warm-up
            load.Add(t0);
            prune.Add(t1 - t0);
            save.Add(t2 - t1);
        }
        File.Delete(output);
        var total = prune.Zip(save, (a, b) => a + b).ToList();
        var report = $"""
            ## analysis + pruning + save, {Path.GetFileName(model)} to --target-flops 50% ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC)

            command: `tools/bench/prune-speed.sh {rounds}`; {rounds} rounds after 2 warm-up rounds; {Environment.ProcessorCount} cores; .NET {Environment.Version}

            | step | median ms | min ms | max ms |
            |---|---|---|---|
            | load (not part of the target) | {Statistics.Median(load):0} | {load.Min():0} | {load.Max():0} |
            | analysis + pruning | {Statistics.Median(prune):0} | {prune.Min():0} | {prune.Max():0} |
            | save | {Statistics.Median(save):0} | {save.Min():0} | {save.Max():0} |
            | **analysis + pruning + save** | **{Statistics.Median(total):0}** | {total.Min():0} | {total.Max():0} |

            target: under 1000 ms: {(Statistics.Median(total) < 1000 ? "met" : "NOT met")}

            """;
        Console.Write(report);
        File.AppendAllText(resultsFile, report + "\n");
        return Statistics.Median(total) < 1000 ? 0 : 1;
    }

}
