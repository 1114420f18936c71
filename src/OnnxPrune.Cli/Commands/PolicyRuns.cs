using System.Diagnostics;
using OnnxPrune.Cli.Output;
using OnnxPrune.Onnx;
using OnnxPrune.Pruning.Loop;
using OnnxPrune.Pruning.Pipeline;
using OnnxPrune.Pruning.Policy.Cie;
using OnnxPrune.Pruning.Policy.Pqi;
using OnnxPrune.Pruning.Reports;
using OnnxPrune.Runtime;

namespace OnnxPrune.Cli.Commands;

/// <summary>
/// The two policy runs that are not one pruning: `--allocation pqi` (prune, fine-tune, score again until the target
/// holds, <see cref="PqiPruner"/>) and `--allocation cie --shard I/N` (a share of the sensitivity grid into the cache).
/// </summary>
internal static class PolicyRuns
{
    public sealed record Inputs(string Input, string Output, string? Report, byte[] Original, IR.Model Probe, DataFreePruneOptions Prune, SessionSettings Timing,
        string? Data, string? Preprocess, bool Json, bool SkipLatency, int Seed, int FinetuneEpochs, double FinetuneLr);

    public static int Pqi(System.CommandLine.ParseResult parse, Inputs x)
    {
        bool labelled = x.Prune.Calibration is { HasLabels: true } && x.Data is not null;
        if (x.FinetuneEpochs > 0 && !labelled) throw new UsageException("--finetune-epochs with --allocation pqi fine-tunes after each iteration: give labelled --data");
        var clock = Stopwatch.StartNew();
        using var progress = new Progress("pqi", 1);
        var trainer = labelled ? Trainer(x) : null;
        PqiRun run;
        try
        {
            run = PqiPruner.Run(x.Original, Path.GetDirectoryName(Path.GetFullPath(x.Input)), $"'{x.Input}'", x.Prune with { Progress = progress.Report },
                trainer, x.FinetuneEpochs, line => Console.Error.WriteLine(line));
        }
        catch (PruneInputException e) { throw LibraryErrors.Word(e, "the target"); }
        catch (Training.TrainingInputException e) { throw new UsageException($"--data: {e.Message}"); }
        OnnxModelFile.Save(OnnxModelFile.FromBytes(run.Bytes), x.Output);
        var latency = x.SkipLatency ? null : LatencyComparison.Measure(x.Original, run.Bytes, x.Timing, 1, x.Prune.InputShapes);
        var accuracy = run.Trajectory.LastOrDefault(t => t.Kept)?.Accuracy is { } a ? $"accuracy: top-1 on the test split after the last kept iteration {a:0.00}%" : null;
        var report = PruneReport.From(x.Input, x.Output, x.Prune, run.Result, latency, [$"pqi: {run.StopReason}"], clock.Elapsed, accuracy) with
        {
            Pqi = PqiReport.From(x.Prune.Pqi, run),
        };
        report = FinalMeasurement.Complete(report, parse, x.Prune, (x.Input, x.Original, x.Probe), x.Output, run.Bytes, x.Timing, 1, !x.SkipLatency);
        if (x.Report is not null) OnnxPrune.Onnx.AtomicFile.WriteAllText(x.Report, System.Text.Json.JsonSerializer.Serialize(report, Json.Options));
        Output.Report.ReportHtmlOption.WriteIfAsked(parse, x.Input, x.Report, report, x.Timing);
        if (x.Json) Json.Write(Console.Out, report);
        else
        {
            PruneReportPrinter.Print(report, Console.Out);
            Console.Out.WriteLine("PQ Index trajectory: iteration, index, params kept, MACs kept, top-1");
            foreach (var t in run.Trajectory)
                Console.Out.WriteLine($"  {t.Iteration,3}  {t.Index:0.0000}  {t.ParamsAfter,12:N0}  {t.MacsAfter,14:N0}  {(t.Accuracy is { } acc ? $"{acc:0.00}%" : "-")}{(t.Kept ? "" : "  (undone)")}");
        }
        if (!run.Result.TargetMet)
        {
            Console.Error.WriteLine($"error: target not reached: {run.Result.Shortfall}. The closest model was written to {x.Output}.");
            return ExitCodes.TargetNotReached;
        }
        return ExitCodes.Ok;
    }

    /// <summary>What a `--shard I/N --json` run prints (schemas/cie-shard.schema.json).</summary>
    private sealed record ShardJson(int Shard, int Shards, int Computed, int Cached, int Cells, double Seconds, string? Cache);

    /// <summary>`--shard I/N`: computes this shard's cells into the cache and says how many; no model is written.</summary>
    public static int Shard(string input, byte[] original, DataFreePruneOptions options, bool json)
    {
        using var progress = new Progress($"CIE grid, shard {options.Cie.Shard!.Index}/{options.Cie.Shard.Count}", 1);
        GridOutcome grid;
        try { grid = SensitivityGrid.ComputeFor(original, Path.GetDirectoryName(Path.GetFullPath(input)), options with { Progress = progress.Report }); }
        catch (PruneInputException e) { throw LibraryErrors.Word(e, "--allocation cie"); }
        if (json)
            Json.Write(Console.Out, new ShardJson(options.Cie.Shard.Index, options.Cie.Shard.Count, grid.Computed, grid.Cached, grid.Cells, grid.Time.TotalSeconds, options.Cie.CacheDirectory));
        else
            Console.Out.WriteLine($"shard {options.Cie.Shard.Index}/{options.Cie.Shard.Count}: computed {grid.Computed} cell(s), {grid.Cached} already cached, of {grid.Cells} in the grid, " +
                                  $"in {grid.Time.TotalSeconds:0.0} s; cache {options.Cie.CacheDirectory}");
        return options.Cie.Cancel.IsCancellationRequested ? ExitCodes.TargetNotReached : ExitCodes.Ok;
    }

    /// <summary>Fine-tuning and test-split evaluation from --data, as the main job builds them (no distillation).</summary>
    private static FineTuneRounds Trainer(Inputs x)
    {
        var signature = Training.ClassifierSignature.Of(x.Probe);
        var (data, normalization, _) = FinetuneCommand.LoadForModel(new TrainingCli.DataRequest(x.Data!, null, x.Seed), signature.ClassCount, x.Preprocess, null, x.Probe, allowNhwc: false);
        return new FineTuneRounds(data.Train, data.Test, normalization!, x.FinetuneLr, x.Seed, null,
            new SessionSettings { IntraOpThreads = x.Timing.IntraOpThreads, Provider = x.Timing.Provider }, Console.Error);
    }
}
