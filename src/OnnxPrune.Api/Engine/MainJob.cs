using System.CommandLine;
using System.Diagnostics;
using OnnxPrune.Onnx;
using OnnxPrune.Pruning.Latency;
using OnnxPrune.Pruning.Loop;
using OnnxPrune.Pruning.Pipeline;
using OnnxPrune.Pruning.Policy;
using OnnxPrune.Pruning.Reports;
using OnnxPrune.Runtime;

namespace OnnxPrune.Api.Engine;

/// <summary>
/// The main job: every objective given (--target-latency, --target-flops, --target-params, --max-size,
/// --max-accuracy-drop) met in rounds of prune, recover, fine-tune and evaluate, latency confirmed by
/// measurement (<see cref="ObjectivePruner"/>). Exit 0 when every objective holds, 3 when one does not (the best
/// model is still written and the message says what stopped it), 2 for bad input.
/// </summary>
internal static class MainJob
{
    public static JobOutcome Run(ParseResult parse, MainJobOptions j, ModelInput model, string outputName, DataFreePruneOptions prune, SessionSettings timing,
        JobData data, bool skipLatency, bool allocationGiven, JobHooks hooks)
    {
        var latency = parse.GetValue(j.Latency);
        long? maxSize = parse.GetValue(j.MaxSize) is { } size ? MainJobOptions.ParseSize(size) : null;
        var drop = parse.GetValue(j.MaxAccuracyDrop);
        if (drop is not null && data.Path is null) throw new UsageException("--max-accuracy-drop measures accuracy on --data: give labelled data (fashion-mnist, an IDX folder, an .npz file or an image folder with class sub-folders)");
        if (latency is not null && skipLatency) throw new UsageException("--target-latency is measured: it cannot be combined with --skip-latency");
        if (latency is not null)
        {
            try { ObjectivePruner.ParseLatency(latency); } // bad text: exit 2 before any work
            catch (PruneInputException e) { throw LibraryErrors.Word(e, "--target-latency"); }
        }
        bool labelled = data.Path is not null && prune.Calibration is { HasLabels: true };
        bool mainObjective = latency is not null || maxSize is not null || drop is not null;
        int finetune = parse.GetValue(j.FinetuneEpochs);
        int final = parse.GetValue(j.FinalEpochs) ?? (labelled && mainObjective ? 1 : 0);
        if ((finetune > 0 || final > 0 || drop is not null) && !labelled)
            throw new UsageException("fine-tuning and --max-accuracy-drop need labelled --data (fashion-mnist, an IDX folder, an .npz file or an image folder with class sub-folders); " +
                                     "without labels give --final-epochs 0");
        bool distill = !parse.GetValue(j.NoDistill);
        if (parse.GetValue(j.Distill) && parse.GetValue(j.NoDistill)) throw new UsageException("give --distill or --no-distill, not both");
        bool onlyAccuracy = drop is not null && latency is null && maxSize is null && !prune.Target.Parts.Any();
        int rounds = parse.GetValue(j.Rounds) ?? (onlyAccuracy ? 8 : 1);
        var original = prune;
        if (latency is not null && !allocationGiven) prune = prune with { Allocation = Allocation.Latency };
        if (parse.GetValue(j.NoBranchRemoval)) prune = prune with { RemoveBranches = false };

        int batch = parse.GetValue(j.Batch);
        var cache = parse.GetValue(j.LatencyCache) ?? LatencyTableIdentity.DefaultFolder();
        LatencyTable? table = latency is null && prune.Allocation != Allocation.Latency ? null : new LatencyTable(cache, timing, batch);
        // Without a latency target the latency allocation still prices removals by the latency they save (a MACs or
        // parameter target then buys the most speed): the predictions' scale does not matter, so no measured original.
        if (latency is null && table is not null) prune = prune with { LatencyPredictor = (analysis, baseline) => LatencyModel.Build(analysis, baseline, table, 1) };
        var options = new ObjectiveOptions
        {
            Prune = hooks.Follow(prune, "pruning"),
            Latency = latency, MaxSizeBytes = maxSize, MaxAccuracyDrop = drop,
            Rounds = rounds, FinetuneEpochs = finetune, FinalEpochs = final,
            Timing = timing, Batch = batch,
            LatencyModel = table is null ? null : (analysis, baseline, ms) => LatencyModel.Build(analysis, baseline, table, ms),
            CheckpointDirectory = parse.GetValue(j.Resume),
            MeasureLatency = !skipLatency,
            Progress = hooks.Stage("pruning"),
        };

        var clock = Stopwatch.StartNew();
        FineTuneRounds? trainer = null;
        ObjectiveResult result;
        try
        {
            if (final > 0 || finetune > 0 || drop is not null)
                trainer = FineTuneRoundsFor(model, data, parse.GetValue(j.FinetuneLr), distill, timing, hooks);
            result = ObjectivePruner.Run(model.Bytes, model.Directory, model.Label, options, trainer, hooks.Cancel);
        }
        catch (PruneInputException e) { throw LibraryErrors.Word(e, latency is not null ? "--target-latency" : "the target"); }
        catch (Autodiff.GradientException e) { throw new UsageException($"--criterion {prune.Criterion} needs the model's gradients, which cannot be built: {e.Message}"); }
        catch (Training.TrainingInputException e) { throw new UsageException($"--data: {e.Message}"); }

        var objectives = Objectives(original.Target, latency, parse.GetValue(j.MaxSize), drop);
        var accuracyNote = trainer is null ? null
            : $"accuracy: top-1 on the {trainer.TestCount} test images {result.AccuracyBefore:0.00}% -> {result.AccuracyAfter:0.00}%";
        var report = PruneReport.From(model.Name, outputName, prune with { Target = new TargetSpec.All([.. original.Target.Parts, .. LatencySpec(latency, result)]) },
            result.Pruning with { TargetMet = result.TargetMet, Shortfall = result.Shortfall }, result.Latency, result.Notes, clock.Elapsed, accuracyNote) with
        {
            Job = new JobReport(objectives, result.LatencyGoalMs, result.Rounds, result.AccuracyBefore, result.AccuracyAfter,
                result.EpochsUsed, distill && result.EpochsUsed > 0, result.Cancelled, options.CheckpointDirectory),
        };
        return new JobOutcome(JobKind.MainJob, OnnxModelFile.FromBytes(result.Bytes), ExternalDataMode.Auto, report, timing, result.TargetMet && !result.Cancelled,
            result.TargetMet ? null : $"not every objective was met: {result.Shortfall}")
        { Cancelled = result.Cancelled, CheckpointDirectory = options.CheckpointDirectory, Prune = prune, Batch = batch, SkipLatency = skipLatency };
    }

    private static IEnumerable<TargetSpec> LatencySpec(string? latency, ObjectiveResult result) =>
        latency is null || result.LatencyGoalMs is not { } ms ? [] : [new TargetSpec.Latency(ms, latency)];

    private static List<string> Objectives(TargetSpec fixedTargets, string? latency, string? size, double? drop)
    {
        var list = fixedTargets.Parts.Select(t => t.Describe()).ToList();
        if (latency is not null) list.Add($"latency {latency}");
        if (size is not null) list.Add($"size {size}");
        if (drop is not null) list.Add($"accuracy drop {drop}");
        return list;
    }

    private static FineTuneRounds FineTuneRoundsFor(ModelInput model, JobData data, double lr, bool distill, SessionSettings timing, JobHooks hooks)
    {
        var signature = Training.ClassifierSignature.Of(data.Probe);
        var request = new TrainingData.DataRequest(data.Path!, null, data.Seed);
        var (loaded, normalization, _) = TrainingData.LoadForModel(request, signature.ClassCount, data.Preprocess, null, data.Probe, allowNhwc: false, hooks.Log);
        return new FineTuneRounds(loaded.Train, loaded.Test, normalization!, lr, data.Seed,
            distill ? OnnxModelFile.FromBytes(model.Bytes, model.Directory) : null,
            new SessionSettings { IntraOpThreads = timing.IntraOpThreads, Provider = timing.Provider }, hooks.Log, hooks.Training("fine-tuning"));
    }
}
