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

    public static int Pqi(Terminal terminal, Inputs x)
    {
        bool labelled = x.Prune.Calibration is { HasLabels: true } && x.Data is not null;
        if (x.FinetuneEpochs > 0 && !labelled) throw new UsageException("--finetune-epochs with --allocation pqi fine-tunes after each iteration: give labelled --data");
        var clock = Stopwatch.StartNew();
        using var progress = new Progress(terminal, "pqi");
        var trainer = labelled ? Trainer(x, progress) : null;
        PqiRun run;
        try
        {
            run = PqiPruner.Run(x.Original, Path.GetDirectoryName(Path.GetFullPath(x.Input)), $"'{x.Input}'", progress.Follow(x.Prune),
                trainer, x.FinetuneEpochs, progress.Line);
        }
        catch (PruneInputException e) { throw LibraryErrors.Word(e, "the target"); }
        catch (Training.TrainingInputException e) { throw new UsageException($"--data: {e.Message}"); }
        progress.Dispose(); // the bar leaves the terminal before the summary is printed
        OnnxModelFile.Save(OnnxModelFile.FromBytes(run.Bytes), x.Output);
        var latency = x.SkipLatency ? null : LatencyComparison.Measure(x.Original, run.Bytes, x.Timing, 1, x.Prune.InputShapes);
        var accuracy = run.Trajectory.LastOrDefault(t => t.Kept)?.Accuracy is { } a ? $"accuracy: top-1 on the test split after the last kept iteration {a:0.00}%" : null;
        var report = PruneReport.From(x.Input, x.Output, x.Prune, run.Result, latency, [$"pqi: {run.StopReason}"], clock.Elapsed, accuracy) with
        {
            Pqi = PqiReport.From(x.Prune.Pqi, run),
        };
        if (x.Report is not null) OnnxPrune.Onnx.AtomicFile.WriteAllText(x.Report, System.Text.Json.JsonSerializer.Serialize(report, Json.Options));
        if (x.Json) Json.Write(Console.Out, report);
        else
        {
            PruneReportPrinter.Print(report, terminal);
            terminal.Line("PQ Index trajectory:");
            var trajectory = new Table("iteration", "index", "params kept", "MACs kept", "top-1", "note");
            foreach (var t in run.Trajectory)
                trajectory.Add(t.Iteration, t.Index.ToString("0.0000"), t.ParamsAfter.ToString("N0"), t.MacsAfter.ToString("N0"), t.Accuracy is { } acc ? $"{acc:0.00}%" : "-", t.Kept ? "" : "undone");
            terminal.Write(trajectory);
        }
        if (!run.Result.TargetMet)
        {
            Console.Error.WriteLine($"error: target not reached: {run.Result.Shortfall}. The closest model was written to {x.Output}.");
            return ExitCodes.TargetNotReached;
        }
        return ExitCodes.Ok;
    }

    /// <summary>`--shard I/N`: computes this shard's cells into the cache and says how many; no model is written.</summary>
    public static int Shard(Terminal terminal, string input, byte[] original, DataFreePruneOptions options)
    {
        using var progress = new Progress(terminal, $"CIE grid, shard {options.Cie.Shard!.Index}/{options.Cie.Shard.Count}");
        GridOutcome grid;
        try { grid = SensitivityGrid.ComputeFor(original, Path.GetDirectoryName(Path.GetFullPath(input)), progress.Follow(options)); }
        catch (PruneInputException e) { throw LibraryErrors.Word(e, "--allocation cie"); }
        progress.Dispose();
        terminal.Result($"shard {options.Cie.Shard.Index}/{options.Cie.Shard.Count}: computed {grid.Computed} cell(s), {grid.Cached} already cached, of {grid.Cells} in the grid, " +
                              $"in {grid.Time.TotalSeconds:0.0} s; cache {options.Cie.CacheDirectory}");
        return options.Cie.Cancel.IsCancellationRequested ? ExitCodes.TargetNotReached : ExitCodes.Ok;
    }

    /// <summary>Fine-tuning and test-split evaluation from --data, as the main job builds them (no distillation).</summary>
    private static FineTuneRounds Trainer(Inputs x, Progress progress)
    {
        var signature = Training.ClassifierSignature.Of(x.Probe);
        var (data, normalization, _) = FinetuneCommand.LoadForModel(new TrainingCli.DataRequest(x.Data!, null, x.Seed), signature.ClassCount, x.Preprocess, null, x.Probe, allowNhwc: false, new ProgressLineWriter(progress));
        return new FineTuneRounds(data.Train, data.Test, normalization!, x.FinetuneLr, x.Seed, null,
            new SessionSettings { IntraOpThreads = x.Timing.IntraOpThreads, Provider = x.Timing.Provider }, new ProgressLineWriter(progress), (label, p) => progress.Report(p, label));
    }
}
