using System.CommandLine;
using OnnxPrune.Cli.Output;
using OnnxPrune.Onnx;

namespace OnnxPrune.Cli.Commands;

/// <summary>
/// `onnxprune MODEL -o OUT (--target-flops 50% | --target-params 40% | --ratio 0.3)`: one pruning to one
/// target. Also reachable as `onnxprune prune ...`. After pruning, both models are timed side by side; if
/// the pruned one is slower, the widths are rounded more coarsely and the model is pruned again, because
/// fewer MACs at awkward widths can run slower on CPU kernels. Latency, size and accuracy objectives,
/// several targets at once, rounds and fine-tuning go to the main job. The run itself is the library's
/// (<see cref="PruneJob"/>, shared with <see cref="Pruner"/>); this command reads the model, writes the files and prints.
/// </summary>
internal static class PruneCommand
{
    private sealed record Options(Argument<string> Model, Option<string> Output, Option<string?> Report, Option<bool> Json, PruneOptionSet Prune);

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
            new Option<string?>("--report") { Description = "Write a JSON report (schemas/report.schema.json) to this file" },
            CommonOptions.Json(),
            PruneOptionSet.Create());
        command.Arguments.Add(o.Model);
        command.Options.Add(o.Output);
        o.Prune.AddTo(command);
        command.Options.Add(o.Report);
        command.Options.Add(o.Json);
        command.Options.Add(Output.Report.ReportHtmlOption.Create());
        command.SetAction(parse => Run(parse, o));
    }

    private static int Run(ParseResult parse, Options o)
    {
        var input = parse.GetValue(o.Model) ?? throw new UsageException("give a model to prune: onnxprune MODEL.onnx -o OUT.onnx --target-flops 50% (or run 'onnxprune --help')");
        var output = parse.GetValue(o.Output) ?? throw new UsageException("give the output path with -o OUT.onnx");
        var reportPath = parse.GetValue(o.Report);
        var model = ModelInput.FromFile(input, () =>
        {
            OutputPaths.CheckNotInput(input, output);
            if (reportPath is not null) OutputPaths.CheckNotInput(input, reportPath);
        });

        var terminal = CommonOptions.Terminal(parse);
        using var cancel = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
            terminal.Notice("Ctrl-C: finishing the current step, then writing what was finished (the main job: the last accepted round's model; a CIE grid: the cells done are in the cache)");
        };
        Console.CancelKeyPress += onCancel;
        JobOutcome outcome;
        using (var progress = new ProgressStages(terminal))
        {
            try { outcome = PruneJob.Run(parse, o.Prune, model, output, new JobHooks(progress, CommonOptions.Notes(parse), cancel.Token)); }
            finally { Console.CancelKeyPress -= onCancel; }
        }
        if (outcome.Kind == JobKind.Shard)
        {
            if (parse.GetValue(o.Json)) Json.Write(Console.Out, outcome.Shard!);
            else terminal.Result(outcome.Shard!.ToString());
            return outcome.Cancelled ? ExitCodes.TargetNotReached : ExitCodes.Ok;
        }
        OnnxModelFile.Save(outcome.Model!, output, new SaveOptions { ExternalData = outcome.ExternalData });
        // Ctrl-C asked to stop: the per-layer profile is not worth the wait then.
        bool profile = !outcome.SkipLatency && !outcome.Cancelled;
        var report = FinalMeasurement.Complete(outcome.Report!, parse, outcome.Prune!, (input, model.Bytes, outcome.Original!), output,
            profile ? OnnxModelFile.ToBytes(outcome.Model!) : null, outcome.Timing, outcome.Batch, profile);
        if (reportPath is not null) AtomicFile.WriteAllText(reportPath, System.Text.Json.JsonSerializer.Serialize(report, Json.Options));
        Output.Report.ReportHtmlOption.WriteIfAsked(parse, input, reportPath, report, outcome.Timing);
        if (parse.GetValue(o.Json)) Json.Write(Console.Out, report);
        else
        {
            PruneReportPrinter.Print(report, terminal);
            if (outcome.Pqi is { } run)
            {
                terminal.Line("PQ Index trajectory:");
                var trajectory = new Table("iteration", "index", "params kept", "MACs kept", "top-1", "note");
                foreach (var t in run.Trajectory)
                    trajectory.Add(t.Iteration, t.Index.ToString("0.0000"), t.ParamsAfter.ToString("N0"), t.MacsAfter.ToString("N0"), t.Accuracy is { } acc ? $"{acc:0.00}%" : "-", t.Kept ? "" : "undone");
                terminal.Write(trajectory);
            }
        }
        if (outcome.Cancelled)
        {
            Console.Error.WriteLine($"stopped: the last accepted round's model is in {output}" + (reportPath is null ? "" : $" and the report in {reportPath}") +
                                    (outcome.CheckpointDirectory is { } dir ? $"; rerun with --resume {dir} to continue" : ""));
            return ExitCodes.TargetNotReached;
        }
        if (!outcome.TargetMet)
        {
            var written = outcome.Kind == JobKind.MainJob ? "The best model reached was written" : "The closest model was written";
            Console.Error.WriteLine($"error: {outcome.Failure}. {written} to {output}.");
            return ExitCodes.TargetNotReached;
        }
        return ExitCodes.Ok;
    }
}
