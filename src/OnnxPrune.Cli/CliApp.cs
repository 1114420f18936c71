using System.CommandLine;
using OnnxPrune.Cli.Commands;
using OnnxPrune.Onnx;

namespace OnnxPrune.Cli;

/// <summary>Builds the command tree and maps failures to exit codes and one-line messages.</summary>
public static class CliApp
{
    public static RootCommand BuildRoot()
    {
        var root = new RootCommand("OnnxPrune: structured pruning of ONNX models, measured with ONNX Runtime");
        root.Options.Add(CommonOptions.Quiet());
        PruneCommand.Attach(root, modelOptional: true);
        root.Subcommands.Add(PruneCommand.CreateSubcommand());
        root.Subcommands.Add(InspectCommand.Create());
        root.Subcommands.Add(ConvertCommand.Create());
        root.Subcommands.Add(ProfileCommand.Create());
        root.Subcommands.Add(VerifyCommand.Create());
        root.Subcommands.Add(TrainCommand.Create());
        root.Subcommands.Add(FinetuneCommand.Create());
        root.Subcommands.Add(EvaluateCommand.Create());
        root.Subcommands.Add(DevicesCommand.Create());
        root.Subcommands.Add(MethodsCommand.Create());
        root.Subcommands.Add(RecipesCommand.Create());
        return root;
    }

    public static int Run(string[] args)
    {
        var root = BuildRoot();
        try
        {
            args = RecipeExpansion.Expand(root, args, out var note);
            // stderr, so that --json output stays one document; a note, so not with --quiet (parsed below, so looked for here)
            if (note is not null && !args.Any(a => a is "--quiet" or "-q")) Console.Error.WriteLine(note);
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return ExitCodes.BadInput;
        }
        var parse = root.Parse(args);
        HideRootArgumentsUnder(parse, root);
        if (parse.Errors.Count > 0)
        {
            // `onnxprune MODEL ...` makes any first word a model path; a typo of a command should not read as one.
            if (args.Length > 0 && !args[0].StartsWith('-') && !File.Exists(args[0]) && !args[0].EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) &&
                root.Subcommands.All(c => c.Name != args[0]))
            {
                Console.Error.WriteLine($"error: '{args[0]}' is neither a command ({string.Join(", ", root.Subcommands.Select(c => c.Name))}) nor a model file");
                return ExitCodes.BadInput;
            }
            foreach (var e in parse.Errors) Console.Error.WriteLine($"error: {e.Message}");
            Console.Error.WriteLine("Run 'onnxprune --help' (or 'onnxprune COMMAND --help') for usage.");
            return ExitCodes.BadInput;
        }
        try
        {
            return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (TrainingFailedException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return ExitCodes.TrainingFailed;
        }
        catch (Exception e) when (UserMessage(e) is { } message)
        {
            Console.Error.WriteLine($"error: {message}");
            return ExitCodes.BadInput;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"internal error (a bug in OnnxPrune; please report it with the command you ran): {e.GetType().Name}: {e.Message}");
            if (Environment.GetEnvironmentVariable("ONNXPRUNE_DEBUG") == "1") Console.Error.WriteLine(e);
            return ExitCodes.InternalError;
        }
    }

    /// <summary>
    /// The root carries prune's MODEL so that `onnxprune MODEL -o OUT` works, and System.CommandLine's help lists a
    /// parent's arguments in every subcommand's usage and argument list ("onnxprune [&lt;MODEL&gt;] inspect &lt;MODEL&gt;",
    /// "The .onnx model to prune" under inspect). Hiding only changes help, never parsing, so once the parse shows a
    /// subcommand was chosen the root's arguments are hidden: each command's help then shows its own arguments only.
    /// </summary>
    internal static void HideRootArgumentsUnder(ParseResult parse, RootCommand root)
    {
        if (parse.CommandResult.Command == root) return;
        foreach (var argument in root.Arguments) argument.Hidden = true;
    }

    /// <summary>The message to show for failures caused by the user's input; null for bugs.</summary>
    private static string? UserMessage(Exception e) => e switch
    {
        UsageException or OnnxFormatException or Pruning.Cost.CostOverflowException or Pruning.Pipeline.PruneInputException => e.Message,
        IR.GraphVerificationException => e.Message,
        Runtime.OrtException ort => $"ONNX Runtime rejected the model: {ort.Message}",
        Runtime.OrtLibraryException => e.Message,
        Runtime.ExecutionProviderUnavailableException => e.Message,
        _ => null,
    };
}
