using System.Diagnostics;
using OnnxPrune.Onnx;
using OnnxPrune.Pruning.Loop;
using OnnxPrune.Pruning.Pipeline;
using OnnxPrune.Pruning.Policy.Cie;
using OnnxPrune.Pruning.Policy.Pqi;
using OnnxPrune.Pruning.Reports;
using OnnxPrune.Runtime;

namespace OnnxPrune.Api.Engine;

/// <summary>
/// The two policy runs that are not one pruning: `--allocation pqi` (prune, fine-tune, score again until the target
/// holds, <see cref="PqiPruner"/>) and `--allocation cie --shard I/N` (a share of the sensitivity grid into the cache).
/// </summary>
internal static class PolicyRuns
{
    public static JobOutcome Pqi(ModelInput model, string outputName, DataFreePruneOptions prune, SessionSettings timing, JobData data, bool skipLatency,
        int finetuneEpochs, double finetuneLr, JobHooks hooks)
    {
        bool labelled = prune.Calibration is { HasLabels: true } && data.Path is not null;
        if (finetuneEpochs > 0 && !labelled) throw new UsageException("--finetune-epochs with --allocation pqi fine-tunes after each iteration: give labelled --data");
        hooks.Cancel.ThrowIfCancellationRequested();
        var clock = Stopwatch.StartNew();
        var trainer = labelled ? Trainer(data, finetuneLr, timing, hooks) : null;
        PqiRun run;
        try
        {
            run = PqiPruner.Run(model.Bytes, model.Directory, model.Label, hooks.Follow(prune, "pqi"),
                trainer, finetuneEpochs, line => hooks.Log.WriteLine(line));
        }
        catch (PruneInputException e) { throw LibraryErrors.Word(e, "the target"); }
        catch (Training.TrainingInputException e) { throw new UsageException($"--data: {e.Message}"); }
        var latency = skipLatency ? null : LatencyComparison.Measure(model.Bytes, run.Bytes, timing, 1, prune.InputShapes, progress: hooks.Stage("pqi"));
        var accuracy = run.Trajectory.LastOrDefault(t => t.Kept)?.Accuracy is { } a ? $"accuracy: top-1 on the test split after the last kept iteration {a:0.00}%" : null;
        var report = PruneReport.From(model.Name, outputName, prune, run.Result, latency, [$"pqi: {run.StopReason}"], clock.Elapsed, accuracy) with
        {
            Pqi = PqiReport.From(prune.Pqi, run),
        };
        return new JobOutcome(JobKind.Pqi, OnnxModelFile.FromBytes(run.Bytes), ExternalDataMode.Auto, report, timing, run.Result.TargetMet,
            run.Result.TargetMet ? null : $"target not reached: {run.Result.Shortfall}") { Pqi = run, Prune = prune, SkipLatency = skipLatency };
    }

    /// <summary>`--shard I/N`: computes this shard's cells into the cache and says how many; no model comes out.</summary>
    public static JobOutcome Shard(ModelInput model, DataFreePruneOptions options, SessionSettings timing, JobHooks hooks)
    {
        GridOutcome grid;
        try { grid = SensitivityGrid.ComputeFor(model.Bytes, model.Directory, hooks.Follow(options, $"CIE grid, shard {options.Cie.Shard!.Index}/{options.Cie.Shard.Count}")); }
        catch (PruneInputException e) { throw LibraryErrors.Word(e, "--allocation cie"); }
        var summary = new ShardSummary(options.Cie.Shard.Index, options.Cie.Shard.Count, grid.Computed, grid.Cached, grid.Cells, grid.Time.TotalSeconds, options.Cie.CacheDirectory);
        bool stopped = options.Cie.Cancel.IsCancellationRequested;
        return new JobOutcome(JobKind.Shard, null, ExternalDataMode.Auto, null, timing, !stopped, stopped ? "stopped before every cell of the shard was computed" : null)
        { Shard = summary, Cancelled = stopped };
    }

    /// <summary>Fine-tuning and test-split evaluation from --data, as the main job builds them (no distillation).</summary>
    private static FineTuneRounds Trainer(JobData data, double lr, SessionSettings timing, JobHooks hooks)
    {
        var signature = Training.ClassifierSignature.Of(data.Probe);
        var (loaded, normalization, _) = TrainingData.LoadForModel(new TrainingData.DataRequest(data.Path!, null, data.Seed), signature.ClassCount, data.Preprocess, null, data.Probe, allowNhwc: false, hooks.Log);
        return new FineTuneRounds(loaded.Train, loaded.Test, normalization!, lr, data.Seed, null,
            new SessionSettings { IntraOpThreads = timing.IntraOpThreads, Provider = timing.Provider }, hooks.Log, hooks.Training("pqi fine-tuning"));
    }
}
