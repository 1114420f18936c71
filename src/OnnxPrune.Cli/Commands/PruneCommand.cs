using System.CommandLine;
using OnnxPrune.Runtime;
using System.Diagnostics;
using OnnxPrune.Cli.Output;
using OnnxPrune.Onnx;
using OnnxPrune.Pruning.Pipeline;
using OnnxPrune.Pruning.Policy;
using OnnxPrune.Pruning.Reports;

namespace OnnxPrune.Cli.Commands;

/// <summary>
/// `onnxprune MODEL -o OUT (--target-flops 50% | --target-params 40% | --ratio 0.3)`: one pruning to one
/// target. Also reachable as `onnxprune prune ...`. After pruning, both models are timed side by side; if
/// the pruned one is slower, the widths are rounded more coarsely and the model is pruned again, because
/// fewer MACs at awkward widths can run slower on CPU kernels. Latency, size and accuracy objectives,
/// several targets at once, rounds and fine-tuning go to the main job (<see cref="MainJob"/>).
/// </summary>
internal static class PruneCommand
{
    private sealed record Options(
        Argument<string> Model, Option<string> Output, Option<string?> Flops, Option<string?> Params, Option<double?> Ratio,
        Option<string> Criterion, Option<string> Allocation, Option<int?> RoundTo, Option<double> MaxRatio, Option<int> Seed,
        Option<string?> Report, Option<string[]> InputShape, Option<int> Threads, Option<string> Device, Option<bool> SkipLatency, Option<bool> Json,
        Option<string?> Data, Option<int> CalibrationImages, Option<bool> NoLabels, Option<string?> Preprocess, Option<string> Recover, Option<int> Steps,
        MainJobOptions Job, PolicyOptions Policies);

    public static Command CreateSubcommand()
    {
        var command = new Command("prune", "Remove channels until the model meets every objective given: measured latency, MACs, parameters, file size, accuracy budget (same as 'onnxprune MODEL ...')");
        Attach(command);
        return command;
    }

    /// <summary>Adds the prune argument and options to <paramref name="command"/> and makes it run pruning.</summary>
    public static void Attach(Command command, bool modelOptional = false)
    {
        var o = new Options(
            new Argument<string>("MODEL") { Description = "The .onnx model to prune", Arity = modelOptional ? ArgumentArity.ZeroOrOne : ArgumentArity.ExactlyOne },
            new Option<string>("--output", "-o") { Description = "Where to write the pruned model (never the input)" },
            new Option<string?>("--target-flops") { Description = "MACs to keep: a percentage of the original (50%), a fraction (0.5) or a count (1.2G)" },
            new Option<string?>("--target-params") { Description = "Parameters to keep: a percentage (40%), a fraction or a count (2M)" },
            new Option<double?>("--ratio") { Description = "Fraction of the prunable channels to remove (0.3)" }.Within(v => v is > 0 and < 1, "between 0 and 1 (exclusive)"),
            new Option<string>("--criterion") { Description = $"Channel ranking: {string.Join(", ", Pruning.Criteria.Criteria.Names)} (see 'onnxprune methods'); default {Pruning.Criteria.Criteria.Default}, with --data {Pruning.Criteria.Criteria.DefaultWithData}", DefaultValueFactory = _ => Pruning.Criteria.Criteria.Default }
                .OneOf(Pruning.Criteria.Criteria.Names.ToArray()),
            new Option<string>("--allocation") { Description = $"How the target is spread over the groups: {string.Join(", ", Allocations.Names)} (see 'onnxprune methods')", DefaultValueFactory = _ => Allocations.Default }
                .OneOf(Allocations.Names.ToArray()),
            new Option<int?>("--round-to") { Description = $"Keep channel counts multiples of N (default: multiples of {GroupConstraints.DefaultRoundTo}, and of {GroupConstraints.DefaultSmallStep} below {GroupConstraints.DefaultRoundTo}, measured on ONNX Runtime's CPU kernels: tools/bench/results/width-latency.md)" }.AtLeast(1),
            new Option<double>("--max-ratio") { Description = "At most this fraction of any group's channels is removed", DefaultValueFactory = _ => 0.9 }
                .Within(v => v is > 0 and < 1, "between 0 and 1 (exclusive)"),
            new Option<int>("--seed") { Description = "Seed for the random criterion and the latency inputs", DefaultValueFactory = _ => 0 },
            new Option<string?>("--report") { Description = "Write a JSON report (schemas/prune-report.schema.json) to this file" },
            InputShapes.Option(),
            new Option<int>("--threads") { Description = "ONNX Runtime threads for the latency check", DefaultValueFactory = _ => 2 }.AtLeast(1),
            DeviceOptions.Device(),
            new Option<bool>("--skip-latency") { Description = "Do not time the models before and after" },
            CommonOptions.Json(),
            new Option<string?>("--data") { Description = "Calibration images for data-driven criteria: fashion-mnist, a folder of MNIST-format IDX files, an .npz file (its training images), or a folder of images (one sub-folder per class, or flat: no labels needed)" },
            new Option<int>("--calibration-images") { Description = "How many calibration images (seeded sample, class-balanced)", DefaultValueFactory = _ => 1024 }.AtLeast(1),
            new Option<bool>("--no-labels") { Description = "Ignore the data's labels: score against the original model's own predictions" },
            TrainingCli.PreprocessOption(),
            new Option<string>("--recover") { Description = $"Repair after removal on the calibration images: refit (least-squares refit of the layers that read removed channels, then BatchNorm statistics re-estimated), bn (BatchNorm statistics only) or none; auto is {Pruning.Recovery.RecoveryModes.DefaultWithData} with --data, none without", DefaultValueFactory = _ => "auto" }
                .OneOf(["auto", .. Pruning.Recovery.RecoveryModes.Names]),
            new Option<int>("--steps") { Description = "Prune in N steps, each removing an equal share, scoring the channels again (and recovering) between steps", DefaultValueFactory = _ => 1 }.AtLeast(1),
            MainJobOptions.Create(), PolicyOptions.Create());
        command.Arguments.Add(o.Model);
        foreach (var option in new Option[] { o.Output, o.Flops, o.Params, o.Ratio, o.Criterion, o.Allocation, o.RoundTo, o.MaxRatio, o.Seed, o.Report, o.InputShape, o.Threads, o.Device, o.SkipLatency, o.Json, o.Data, o.CalibrationImages, o.NoLabels, o.Preprocess, o.Recover, o.Steps }.Concat(o.Job.All).Concat(o.Policies.All))
            command.Options.Add(option);
        command.Options.Add(Output.Report.ReportHtmlOption.Create());
        command.Options.Add(RecipeExpansion.Option()); // expanded before parsing (CliApp.Run), so Run never reads it
        command.SetAction(parse => Run(parse, o));
    }

    private static int Run(ParseResult parse, Options o)
    {
        var input = parse.GetValue(o.Model) ?? throw new UsageException("give a model to prune: onnxprune MODEL.onnx -o OUT.onnx --target-flops 50% (or run 'onnxprune --help')");
        var output = parse.GetValue(o.Output) ?? throw new UsageException("give the output path with -o OUT.onnx");
        var targets = new[] { parse.GetValue(o.Flops) is { } f ? new TargetSpec.Flops(f) : null, parse.GetValue(o.Params) is { } p ? new TargetSpec.Params(p) : null,
            parse.GetValue(o.Ratio) is { } r ? new TargetSpec.Ratio(r) : (TargetSpec?)null }.Where(t => t is not null).ToList();
        bool mainJob = o.Job.Requested(parse) || targets.Count > 1;
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
        OutputPaths.CheckNotInput(input, output);
        var reportPath = parse.GetValue(o.Report);
        if (reportPath is not null) OutputPaths.CheckNotInput(input, reportPath);

        var originalBytes = ReadModelBytes(input);
        var probe = OnnxModelFile.FromBytes(originalBytes, Path.GetDirectoryName(Path.GetFullPath(input)), $"'{input}'");
        var shapes = InputShapes.Parse(parse.GetValue(o.InputShape), probe);
        if (dataPath is null && parse.GetValue(o.Preprocess) is not null) throw new UsageException("--preprocess says how --data's images become inputs: give --data too");
        var calibration = dataPath is null ? null : CalibrationData.Load(dataPath, parse.GetValue(o.Preprocess), probe, parse.GetValue(o.CalibrationImages) + o.Policies.ExtraImages(parse, allocation), parse.GetValue(o.Seed), !parse.GetValue(o.NoLabels), CommonOptions.Notes(parse));
        var options = new DataFreePruneOptions
        {
            Calibration = calibration, Recover = recover,
            Session = new SessionSettings { Provider = session.Provider },
            Target = targets.Count == 1 ? targets[0]! : new TargetSpec.All(targets!), Criterion = criterion, Allocation = allocation, Seed = parse.GetValue(o.Seed),
            Constraints = new GroupConstraints { RoundTo = roundTo, SmallStep = smallStep, MaxRatio = maxRatio }, InputShapes = shapes,
        };
        options = o.Policies.Apply(parse, options, session.IntraOpThreads);
        if (options.Cie.Shard is not null) return PolicyRuns.Shard(CommonOptions.Terminal(parse), input, originalBytes, options);
        if (allocation == Allocation.Pqi)
            return PolicyRuns.Pqi(CommonOptions.Terminal(parse), new PolicyRuns.Inputs(input, output, reportPath, originalBytes, probe, PolicyOptions.PqiTargets(parse, o.Job, options), session, dataPath, parse.GetValue(o.Preprocess),
                parse.GetValue(o.Json), parse.GetValue(o.SkipLatency), parse.GetValue(o.Seed), parse.GetValue(o.Job.FinetuneEpochs), parse.GetValue(o.Job.FinetuneLr)));

        if (mainJob)
            return MainJob.Run(parse, o.Job, new MainJob.Inputs(input, output, reportPath, originalBytes, probe, options, session, dataPath, parse.GetValue(o.Preprocess),
                parse.GetValue(o.Json), parse.GetValue(o.SkipLatency), parse.GetValue(o.Seed), parse.GetResult(o.Allocation) is { Implicit: false }));
        if (options.Allocation == Allocation.Latency) throw new UsageException("--allocation latency spends a latency budget: give --target-latency");
        var clock = Stopwatch.StartNew();
        var terminal = CommonOptions.Terminal(parse);
        var (result, _, latency, notes) = PruneCheckingLatency(terminal, input, originalBytes, options, session, !parse.GetValue(o.SkipLatency), parse.GetValue(o.Steps));
        // A model that keeps its tensors in a data file gets its output written the same way (the data
        // beside the output); others switch to external data only past protobuf's 2 GB.
        OnnxModelFile.Save(result.Model, output, new SaveOptions { ExternalData = OnnxModelFile.HasExternalData(probe) ? ExternalDataMode.Always : ExternalDataMode.Auto });
        var report = PruneReport.From(input, output, options, result, latency, notes, clock.Elapsed);
        if (reportPath is not null) AtomicFile.WriteAllText(reportPath, System.Text.Json.JsonSerializer.Serialize(report, Json.Options));
        Output.Report.ReportHtmlOption.WriteIfAsked(parse, input, reportPath, report, session);
        if (parse.GetValue(o.Json)) Json.Write(Console.Out, report);
        else PruneReportPrinter.Print(report, terminal);
        if (!result.TargetMet)
        {
            Console.Error.WriteLine($"error: target not reached: {result.Shortfall}. What stops it: {Describe(result)}. The closest model was written to {output}.");
            return ExitCodes.TargetNotReached;
        }
        return ExitCodes.Ok;
    }

    private static GuardedPruneResult PruneCheckingLatency(Terminal terminal, string input, byte[] original, DataFreePruneOptions options, SessionSettings session, bool check, int steps)
    {
        using var progress = new Progress(terminal, check ? "pruning and timing" : "pruning");
        try { return SteppedPruner.Run(original, Path.GetDirectoryName(Path.GetFullPath(input)), $"'{input}'", progress.Follow(options), session, check, steps); }
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

    private static byte[] ReadModelBytes(string path)
    {
        if (!File.Exists(path)) throw new UsageException(Directory.Exists(path) ? $"'{path}' is a folder; give the path of an .onnx file" : $"model file '{path}' does not exist");
        return File.ReadAllBytes(path);
    }
}
