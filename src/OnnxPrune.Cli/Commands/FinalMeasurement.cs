using System.CommandLine;
using OnnxPrune.Onnx;
using OnnxPrune.Pruning.Pipeline;
using OnnxPrune.Pruning.Reports;
using OnnxPrune.Runtime;

namespace OnnxPrune.Cli.Commands;

/// <summary>
/// What every prune path adds to its report once the pruned model is written: the command and machine, both models'
/// size on disk and, unless --skip-latency, each layer's kernel time before and after from ORT's profiler. Profiling
/// costs two more sessions and a few runs of each model, so it is taken here, once, on the final model, never for a
/// round or an attempt.
/// </summary>
internal static class FinalMeasurement
{
    /// <param name="original">The input model (its bytes and loaded form, for its external data files).</param>
    /// <param name="pruned">The written model's bytes; null where none were kept (latency not measured).</param>
    public static PruneReport Complete(PruneReport report, ParseResult parse, DataFreePruneOptions prune, (string Path, byte[] Bytes, IR.Model Model) original,
        string output, byte[]? pruned, SessionSettings timing, int batch, bool measureLatency)
    {
        var run = Output.Report.RunContext.From(parse, timing);
        report = report with
        {
            Settings = new SettingsReport(run.Command, prune.Seed, prune.Constraints.MaxRatio, run.Provider, run.Threads, run.Cpu, run.Cores, run.OrtVersion),
            Before = report.Before with { FileBytes = OnnxModelFile.SizeOnDisk(original.Model, original.Path) },
            After = report.After with { FileBytes = OnnxModelFile.SizeOnDisk(OnnxModelFile.Load(output), output) },
        };
        if (!measureLatency || pruned is null) return report;
        return report with { LayerLatency = LayerLatencyComparison.Measure(original.Bytes, pruned, timing, batch, prune.InputShapes) };
    }
}
