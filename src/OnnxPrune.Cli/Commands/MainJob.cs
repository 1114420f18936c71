using System.CommandLine;
using System.Diagnostics;
using OnnxPrune.Cli.Output;
using OnnxPrune.Onnx;
using OnnxPrune.Pruning.Latency;
using OnnxPrune.Pruning.Loop;
using OnnxPrune.Pruning.Pipeline;
using OnnxPrune.Pruning.Policy;
using OnnxPrune.Pruning.Reports;
using OnnxPrune.Runtime;

namespace OnnxPrune.Cli.Commands;

/// <summary>
/// The main job: every objective given (--target-latency, --target-flops, --target-params, --max-size,
/// --max-accuracy-drop) met in rounds of prune, recover, fine-tune and evaluate, latency confirmed by
/// measurement (<see cref="ObjectivePruner"/>). Exit 0 when every objective holds, 3 when one does not (the best
/// model is still written and the message says what stopped it), 2 for bad input.
/// </summary>
internal static class MainJob
{
    public sealed record Inputs(string Input, string Output, string? Report, byte[] Original, IR.Model Probe, DataFreePruneOptions Prune, SessionSettings Timing,
        string? Data, string? Preprocess, bool Json, bool SkipLatency, int Seed, bool AllocationGiven);

    public static int Run(ParseResult parse, MainJobOptions j, Inputs x)
    {
        var latency = parse.GetValue(j.Latency);
        long? maxSize = parse.GetValue(j.MaxSize) is { } size ? MainJobOptions.ParseSize(size) : null;
        var drop = parse.GetValue(j.MaxAccuracyDrop);
        if (drop is not null && x.Data is null) throw new UsageException("--max-accuracy-drop measures accuracy on --data: give labelled data (fashion-mnist, an IDX folder, an .npz file or an image folder with class sub-folders)");
        if (latency is not null && x.SkipLatency) throw new UsageException("--target-latency is measured: it cannot be combined with --skip-latency");
        if (latency is not null)
        {
            try { ObjectivePruner.ParseLatency(latency); } // bad text: exit 2 before any work
            catch (PruneInputException e) { throw LibraryErrors.Word(e, "--target-latency"); }
        }
        bool labelled = x.Data is not null && x.Prune.Calibration is { HasLabels: true };
        bool mainObjective = latency is not null || maxSize is not null || drop is not null;
        int finetune = parse.GetValue(j.FinetuneEpochs);
        int final = parse.GetValue(j.FinalEpochs) ?? (labelled && mainObjective ? 1 : 0);
        if ((finetune > 0 || final > 0 || drop is not null) && !labelled)
            throw new UsageException("fine-tuning and --max-accuracy-drop need labelled --data (fashion-mnist, an IDX folder, an .npz file or an image folder with class sub-folders); " +
                                     "without labels give --final-epochs 0");
        bool distill = !parse.GetValue(j.NoDistill);
        if (parse.GetValue(j.Distill) && parse.GetValue(j.NoDistill)) throw new UsageException("give --distill or --no-distill, not both");
        bool onlyAccuracy = drop is not null && latency is null && maxSize is null && !x.Prune.Target.Parts.Any();
        int rounds = parse.GetValue(j.Rounds) ?? (onlyAccuracy ? 8 : 1);
        var prune = x.Prune;
        if (latency is not null && !x.AllocationGiven) prune = prune with { Allocation = Allocation.Latency };
        if (prune.Allocation == Allocation.Latency && latency is null)
            throw new UsageException("--allocation latency spends a latency budget: give --target-latency");

        var timing = x.Timing;
        int batch = parse.GetValue(j.Batch);
        var cache = parse.GetValue(j.LatencyCache) ?? LatencyTableIdentity.DefaultFolder();
        LatencyTable? table = latency is null ? null : new LatencyTable(cache, timing, batch);
        var terminal = CommonOptions.Terminal(parse);
        using var progress = new Progress(terminal, "pruning");
        var options = new ObjectiveOptions
        {
            Prune = progress.Follow(prune),
            Latency = latency, MaxSizeBytes = maxSize, MaxAccuracyDrop = drop,
            Rounds = rounds, FinetuneEpochs = finetune, FinalEpochs = final,
            Timing = timing, Batch = batch,
            LatencyModel = table is null ? null : (analysis, baseline, ms) => LatencyModel.Build(analysis, baseline, table, ms),
            CheckpointDirectory = parse.GetValue(j.Resume),
            MeasureLatency = !x.SkipLatency,
            Progress = progress.Report,
        };

        using var cancel = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
            terminal.Notice("Ctrl-C: finishing the current step, then writing the last accepted round's model");
        };
        Console.CancelKeyPress += onCancel;
        var clock = Stopwatch.StartNew();
        FineTuneRounds? trainer = null;
        ObjectiveResult result;
        try
        {
            if (final > 0 || finetune > 0 || drop is not null)
                trainer = FineTuneRoundsFor(x, parse.GetValue(j.FinetuneLr), distill, timing, progress);
            result = ObjectivePruner.Run(x.Original, Path.GetDirectoryName(Path.GetFullPath(x.Input)), $"'{x.Input}'", options, trainer, cancel.Token);
        }
        catch (PruneInputException e) { throw LibraryErrors.Word(e, latency is not null ? "--target-latency" : "the target"); }
        catch (Autodiff.GradientException e) { throw new UsageException($"--criterion {prune.Criterion} needs the model's gradients, which cannot be built: {e.Message}"); }
        catch (Training.TrainingInputException e) { throw new UsageException($"--data: {e.Message}"); }
        finally { Console.CancelKeyPress -= onCancel; }
        progress.Dispose(); // the bar leaves the terminal before the summary is printed

        WriteModel(result.Bytes, x.Output);
        var objectives = Objectives(x.Prune.Target, latency, parse.GetValue(j.MaxSize), drop);
        var accuracyNote = trainer is null ? null
            : $"accuracy: top-1 on the {trainer.TestCount} test images {result.AccuracyBefore:0.00}% -> {result.AccuracyAfter:0.00}%";
        var report = PruneReport.From(x.Input, x.Output, prune with { Target = new TargetSpec.All([.. x.Prune.Target.Parts, .. LatencySpec(latency, result)]) },
            result.Pruning with { TargetMet = result.TargetMet, Shortfall = result.Shortfall }, result.Latency, result.Notes, clock.Elapsed, accuracyNote) with
        {
            Job = new JobReport(objectives, result.LatencyGoalMs, result.Rounds, result.AccuracyBefore, result.AccuracyAfter,
                result.EpochsUsed, distill && result.EpochsUsed > 0, result.Cancelled, options.CheckpointDirectory),
        };
        if (x.Report is not null) OnnxPrune.Onnx.AtomicFile.WriteAllText(x.Report, System.Text.Json.JsonSerializer.Serialize(report, Json.Options));
        Output.Report.ReportHtmlOption.WriteIfAsked(parse, x.Input, x.Report, report, x.Timing);
        if (x.Json) Json.Write(Console.Out, report);
        else PruneReportPrinter.Print(report, terminal);
        if (result.Cancelled)
        {
            Console.Error.WriteLine($"stopped: the last accepted round's model is in {x.Output}" + (x.Report is null ? "" : $" and the report in {x.Report}") +
                                    (options.CheckpointDirectory is { } dir ? $"; rerun with --resume {dir} to continue" : ""));
            return ExitCodes.TargetNotReached;
        }
        if (!result.TargetMet)
        {
            Console.Error.WriteLine($"error: not every objective was met: {result.Shortfall}. The best model reached was written to {x.Output}.");
            return ExitCodes.TargetNotReached;
        }
        return ExitCodes.Ok;
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

    private static FineTuneRounds FineTuneRoundsFor(Inputs x, double lr, bool distill, SessionSettings timing, Progress progress)
    {
        var signature = Training.ClassifierSignature.Of(x.Probe);
        var request = new TrainingCli.DataRequest(x.Data!, null, x.Seed);
        var (data, normalization, _) = FinetuneCommand.LoadForModel(request, signature.ClassCount, x.Preprocess, null, x.Probe, allowNhwc: false, new ProgressLineWriter(progress));
        return new FineTuneRounds(data.Train, data.Test, normalization!, lr, x.Seed,
            distill ? OnnxModelFile.FromBytes(x.Original, Path.GetDirectoryName(Path.GetFullPath(x.Input))) : null,
            new SessionSettings { IntraOpThreads = timing.IntraOpThreads, Provider = timing.Provider }, new ProgressLineWriter(progress), (label, p) => progress.Report(p, label));
    }

    private static void WriteModel(byte[] bytes, string output) => OnnxModelFile.Save(OnnxModelFile.FromBytes(bytes), output);
}
