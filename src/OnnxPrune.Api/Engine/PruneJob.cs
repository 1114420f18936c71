using System.CommandLine;
using System.Diagnostics;
using OnnxPrune.Onnx;
using OnnxPrune.Pruning.Pipeline;
using OnnxPrune.Pruning.Policy;
using OnnxPrune.Pruning.Reports;
using OnnxPrune.Runtime;

namespace OnnxPrune.Api.Engine;

/// <summary>The model a job prunes: its bytes, the folder its external data is relative to, and how messages and the
/// report name it (the command line: the path; the library: the caller's name for it). The bytes are read when the
/// job first needs them, after the options are checked, so that a bad option is reported before a missing file.</summary>
internal sealed class ModelInput(Func<byte[]> load, string? directory, string name)
{
    private readonly Lazy<byte[]> _bytes = new(load);

    /// <summary>An .onnx file, read when the job needs it; <paramref name="beforeReading"/> runs first (the command
    /// line checks there that its outputs do not overwrite the file).</summary>
    public static ModelInput FromFile(string path, Action? beforeReading = null) => new(() =>
    {
        beforeReading?.Invoke();
        if (!File.Exists(path)) throw new UsageException(System.IO.Directory.Exists(path) ? $"'{path}' is a folder; give the path of an .onnx file" : $"model file '{path}' does not exist");
        return File.ReadAllBytes(path);
    }, Path.GetDirectoryName(Path.GetFullPath(path)), path);

    public byte[] Bytes => _bytes.Value;
    public string? Directory => directory;
    public string Name => name;

    /// <summary>How library messages quote the model.</summary>
    public string Label => $"'{Name}'";
}

/// <summary>What a job reports while it runs and what stops it: progress, notes (the command's stderr) and cancellation.</summary>
internal sealed record JobHooks(IProgress<PruneProgress>? Progress, TextWriter Log, CancellationToken Cancel)
{
    /// <summary>The library's progress callback for one stage of the job.</summary>
    public Action<string> Stage(string stage) => status => Progress?.Report(new PruneProgress(stage, status));

    /// <summary>Options whose library work reports to <paramref name="stage"/>: the step's messages and each calibration batch.</summary>
    public DataFreePruneOptions Follow(DataFreePruneOptions options, string stage) =>
        options with { Progress = Stage(stage), Calibration = options.Calibration is { } c ? c with { Progress = Stage(stage) } : null };

    /// <summary>Training's batches as counted progress: all epochs of a fine-tune span one stage.</summary>
    public Action<string, Training.TrainingProgress> Training(string stage) => (label, p) => Progress?.Report(
        new PruneProgress(stage, $"{label}, epoch {p.Epoch} of {p.Epochs}, loss {p.Loss:0.0000}, acc {p.Accuracy * 100:0.0}%, {p.ImagesPerSecond:0} img/s")
        { Done = (long)(p.Epoch - 1) * p.BatchesPerEpoch + p.Batch, Total = (long)p.Epochs * p.BatchesPerEpoch });
}

/// <summary>What kind of run a job was: the printing and exit code of the command line depend on it.</summary>
internal enum JobKind { Single, MainJob, Pqi, Shard }

/// <summary>
/// The outcome of a prune job: the model (null for a CIE shard run, which only fills the cache), its report, and
/// whether every target held. <see cref="Failure"/> says why not, without naming where the model was written.
/// </summary>
internal sealed record JobOutcome(JobKind Kind, IR.Model? Model, ExternalDataMode ExternalData, PruneReport? Report, SessionSettings Timing, bool TargetMet, string? Failure)
{
    /// <summary>The main job stopped early (cancelled) and kept its last accepted round.</summary>
    public bool Cancelled { get; init; }

    /// <summary>The main job's --resume folder, if given.</summary>
    public string? CheckpointDirectory { get; init; }

    /// <summary>The PQ Index iterations of an --allocation pqi run.</summary>
    public Pruning.Policy.Pqi.PqiRun? Pqi { get; init; }

    /// <summary>The input model as the job loaded it (null for a --shard run): the report's file sizes read its external data.</summary>
    public IR.Model? Original { get; init; }

    /// <summary>What a --shard run computed.</summary>
    public ShardSummary? Shard { get; init; }

    /// <summary>The pruning settings the job ran with (the command line's report adds its seed, limits and input shapes).</summary>
    public DataFreePruneOptions? Prune { get; init; }

    /// <summary>The batch size latency was measured at.</summary>
    public int Batch { get; init; } = 1;

    /// <summary>--skip-latency was given: nothing more is timed after the job.</summary>
    public bool SkipLatency { get; init; }
}

/// <summary>What a `--shard I/N` run computed into the CIE cache (its `--json` output: schemas/cie-shard.schema.json).</summary>
internal sealed record ShardSummary(int Shard, int Shards, int Computed, int Cached, int Cells, double Seconds, string? Cache)
{
    public override string ToString() =>
        $"shard {Shard}/{Shards}: computed {Computed} cell(s), {Cached} already cached, of {Cells} in the grid, in {Seconds:0.0} s; cache {Cache}";
}

/// <summary>
/// One run of the prune command's options on one model: the single-target prune, the main job (<see cref="MainJob"/>),
/// --allocation pqi and --shard (<see cref="PolicyRuns"/>). The command line and the library (<see cref="Pruner"/>) both
/// parse their options with <see cref="PruneOptionSet"/> and run this, so they share every check and default; what
/// they do with the outcome (files, terminal, objects) is theirs. Bad input is a <see cref="UsageException"/> naming
/// the option.
/// </summary>
internal static class PruneJob
{
    /// <summary>Runs the job; the libraries' input errors become <see cref="UsageException"/> and a diverged fine-tuning
    /// <see cref="TrainingFailedException"/> (<see cref="TrainingData.Guard{T}"/>).</summary>
    public static JobOutcome Run(ParseResult parse, PruneOptionSet o, ModelInput model, string outputName, JobHooks hooks) =>
        TrainingData.Guard(() => Unguarded(parse, o, model, outputName, hooks));

    private static JobOutcome Unguarded(ParseResult parse, PruneOptionSet o, ModelInput model, string outputName, JobHooks hooks)
    {
        var targets = new[] { parse.GetValue(o.Flops) is { } f ? new TargetSpec.Flops(f) : null, parse.GetValue(o.Params) is { } p ? new TargetSpec.Params(p) : null,
            parse.GetValue(o.Ratio) is { } r ? new TargetSpec.Ratio(r) : (TargetSpec?)null }.Where(t => t is not null).ToList();
        // The latency allocation needs the main job's per-layer latency tables, with or without a latency target.
        bool mainJob = o.Job.Requested(parse) || targets.Count > 1
                       || string.Equals(parse.GetValue(o.Allocation), Allocations.NameOf(Allocation.Latency), StringComparison.OrdinalIgnoreCase);
        if (!mainJob && targets.Count != 1)
            throw new UsageException("give a target: --target-latency 50% (or 5ms), --target-flops 50%, --target-params 40%, --max-size 5MB, --max-accuracy-drop 0.5 (with --data) or --ratio 0.3");
        if (mainJob && targets.OfType<TargetSpec.Ratio>().Any()) throw new UsageException("--ratio is a single-shot target: use --target-flops or --target-params with the other objectives");
        if (mainJob && parse.GetValue(o.Steps) > 1) throw new UsageException("--steps is for a single target; the main job prunes in --rounds");
        var dataPath = parse.GetValue(o.Data);
        bool criterionGiven = parse.GetResult(o.Criterion) is { Implicit: false };
        var criterion = (criterionGiven || dataPath is null ? parse.GetValue(o.Criterion)! : Pruning.Criteria.Criteria.DefaultWithData).ToLowerInvariant();
        if (Pruning.Criteria.Criteria.DataDriven.Contains(criterion) && dataPath is null)
            throw new UsageException($"--criterion {criterion} scores channels on calibration images: give them with --data (fashion-mnist, an IDX folder, an .npz file or an image folder)");
        var recoverName = parse.GetValue(o.Recover)!.ToLowerInvariant();
        if (recoverName is "refit" or "bn" && dataPath is null)
            throw new UsageException($"--recover {recoverName} repairs the pruned model on calibration images: give them with --data (fashion-mnist, an IDX folder, an .npz file or an image folder)");
        var recover = Pruning.Recovery.RecoveryModes.Parse(recoverName != "auto" ? recoverName : dataPath is null ? "none" : Pruning.Recovery.RecoveryModes.DefaultWithData);
        var allocation = Allocations.Parse(parse.GetValue(o.Allocation)!);
        var roundToGiven = parse.GetValue(o.RoundTo);
        var roundTo = roundToGiven ?? GroupConstraints.DefaultRoundTo;
        var smallStep = roundToGiven is null ? GroupConstraints.DefaultSmallStep : roundTo;
        var maxRatio = parse.GetValue(o.MaxRatio);
        var session = new SessionSettings
        {
            IntraOpThreads = parse.GetValue(o.Threads),
            Provider = DeviceOptions.Provider(parse.GetValue(o.Device)!),
        };

        var probe = OnnxModelFile.FromBytes(model.Bytes, model.Directory, model.Label);
        var shapes = InputShapes.Parse(parse.GetValue(o.InputShape), probe);
        if (dataPath is null && parse.GetValue(o.Preprocess) is not null) throw new UsageException("--preprocess says how --data's images become inputs: give --data too");
        var calibration = dataPath is null ? null : CalibrationData.Load(dataPath, parse.GetValue(o.Preprocess), probe,
            parse.GetValue(o.CalibrationImages) + o.Policies.ExtraImages(parse, allocation), parse.GetValue(o.Seed), !parse.GetValue(o.NoLabels), hooks.Log);
        var options = new DataFreePruneOptions
        {
            Calibration = calibration, Recover = recover,
            Session = new SessionSettings { Provider = session.Provider },
            Target = targets.Count == 1 ? targets[0]! : new TargetSpec.All(targets!), Criterion = criterion, Allocation = allocation, Seed = parse.GetValue(o.Seed),
            Constraints = new GroupConstraints { RoundTo = roundTo, SmallStep = smallStep, MaxRatio = maxRatio }, InputShapes = shapes,
        };
        options = o.Policies.Apply(parse, options, session.IntraOpThreads, hooks.Cancel);
        bool skipLatency = parse.GetValue(o.SkipLatency);
        var data = new JobData(dataPath, parse.GetValue(o.Preprocess), parse.GetValue(o.Seed), probe);
        if (options.Cie.Shard is not null) return PolicyRuns.Shard(model, options, session, hooks);
        if (allocation == Allocation.Pqi)
            return PolicyRuns.Pqi(model, outputName, PolicyOptions.PqiTargets(parse, o.Job, options), session, data, skipLatency,
                parse.GetValue(o.Job.FinetuneEpochs), parse.GetValue(o.Job.FinetuneLr), hooks) with { Original = probe };
        if (mainJob)
            return MainJob.Run(parse, o.Job, model, outputName, options, session, data, skipLatency, parse.GetResult(o.Allocation) is { Implicit: false }, hooks) with { Original = probe };
        hooks.Cancel.ThrowIfCancellationRequested();
        var clock = Stopwatch.StartNew();
        bool check = !skipLatency;
        var progress = hooks.Stage(check ? "pruning and timing" : "pruning");
        // The single-target pipeline reports no steps of its own: say that it started, so a caller sees the stage.
        progress($"toward {options.Target.Describe()}");
        var (result, _, latency, notes) = PruneCheckingLatency(model, hooks.Follow(options, check ? "pruning and timing" : "pruning"), session, check, parse.GetValue(o.Steps));
        var report = PruneReport.From(model.Name, outputName, options, result, latency, notes, clock.Elapsed);
        // A model that keeps its tensors in a data file gets its output written the same way (the data beside the
        // output); others switch to external data only past protobuf's 2 GB.
        var external = OnnxModelFile.HasExternalData(probe) ? ExternalDataMode.Always : ExternalDataMode.Auto;
        return new JobOutcome(JobKind.Single, result.Model, external, report, session, result.TargetMet,
            result.TargetMet ? null : $"target not reached: {result.Shortfall}. What stops it: {Describe(result)}") { Prune = options, SkipLatency = skipLatency, Original = probe };
    }

    private static GuardedPruneResult PruneCheckingLatency(ModelInput model, DataFreePruneOptions options, SessionSettings session, bool check, int steps)
    {
        try { return SteppedPruner.Run(model.Bytes, model.Directory, model.Label, options, session, check, steps); }
        catch (PruneInputException e) { throw LibraryErrors.Word(e, TargetOption(options.Target)); }
        catch (Autodiff.GradientException e) { throw new UsageException($"--criterion {options.Criterion} needs the model's gradients, which cannot be built: {e.Message}"); }
        catch (Training.TrainingInputException e) { throw new UsageException($"--data: {e.Message}"); }
        catch (OnnxPrune.Runtime.Data.InvalidInputException e) { throw new UsageException(LibraryErrors.Word(e).Message + " (or pass --skip-latency)"); }
    }

    private static string TargetOption(TargetSpec target) => target switch
    {
        TargetSpec.Flops => "--target-flops",
        TargetSpec.Params => "--target-params",
        _ => "--ratio",
    };

    private static string Describe(DataFreePruneResult r)
    {
        var reasons = r.Groups.Where(g => g.PinnedBy.Count > 0).SelectMany(g => g.PinnedBy).GroupBy(s => s).OrderByDescending(g => g.Count()).Take(3).Select(g => g.Key).ToList();
        var prunable = r.Groups.Count(g => g.Prunable > 1);
        return $"{r.GroupsAtLimit} of {prunable} prunable group(s) are at the narrowest width --max-ratio and --round-to {r.RoundTo} allow" +
               (reasons.Count > 0 ? "; channels of the other groups are pinned by barriers: " + string.Join("; ", reasons) : "");
    }
}

/// <summary>--data and how the main job and --allocation pqi load it for fine-tuning and evaluation.</summary>
internal sealed record JobData(string? Path, string? Preprocess, int Seed, IR.Model Probe);
