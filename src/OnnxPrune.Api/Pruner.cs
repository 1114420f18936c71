using System.CommandLine;
using OnnxPrune.Api.Engine;

namespace OnnxPrune.Api;

/// <summary>
/// Prunes ONNX models: the library form of <c>onnxprune MODEL -o OUT ...</c>. It runs the command's own code (options,
/// checks, recipes, the single-target prune, the main job, the PQI and CIE policies) and returns the model and the
/// report instead of writing files and printing.
/// </summary>
/// <example>
/// <code>
/// var result = Pruner.Run(ModelSource.FromFile("model.onnx"), new PruneOptions { TargetFlops = "50%" });
/// File.WriteAllBytes("small.onnx", result.ModelBytes);
/// </code>
/// </example>
public static class Pruner
{
    /// <summary>OnnxPrune's version: what <c>onnxprune --version</c> prints and reports record.</summary>
    public static string Version => Onnx.ToolVersion.Current;

    /// <summary>Prunes <paramref name="model"/> as <paramref name="options"/> say.</summary>
    /// <param name="model">The model to prune.</param>
    /// <param name="options">Targets and settings; the command line's options.</param>
    /// <param name="progress">Receives what the run is doing; reported on the calling thread of the run.</param>
    /// <param name="cancellationToken">Stops the run: the main job then returns its last accepted round
    /// (<see cref="PruneResult.Cancelled"/>); a CIE grid stops between cells; a run that has not started throws
    /// <see cref="OperationCanceledException"/>.</param>
    /// <param name="log">Receives the notes the command prints on stderr (data loaded, normalisation chosen, a recipe's
    /// settings, fine-tuning epochs); discarded when null.</param>
    /// <returns>The pruned model and its report.</returns>
    /// <exception cref="UsageException">An option, recipe, data set or the model is not usable; the message names it
    /// and says how to fix it.</exception>
    /// <exception cref="Onnx.OnnxFormatException">The model is not a valid ONNX file.</exception>
    /// <exception cref="Pruning.Pipeline.PruneInputException">The model cannot be pruned (nothing prunable, ONNX Runtime
    /// rejects the result).</exception>
    /// <exception cref="TrainingFailedException">Fine-tuning diverged after its rollbacks.</exception>
    public static PruneResult Run(ModelSource model, PruneOptions options, IProgress<PruneProgress>? progress = null,
        CancellationToken cancellationToken = default, TextWriter? log = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        log ??= TextWriter.Null;
        var set = PruneOptionSet.Create();
        var command = new RootCommand("prune");
        set.AddTo(command);
        var args = RecipeExpansion.Expand(command, options.ToArguments(), out var note);
        if (note is not null) log.WriteLine(note);
        var parse = command.Parse(args);
        if (parse.Errors.Count > 0) throw new UsageException(string.Join("; ", parse.Errors.Select(e => e.Message)));
        if (parse.GetValue(set.Policies.Shard) is not null)
            throw new UsageException("--shard computes a share of the CIE grid into its cache and gives no model: run it with the onnxprune command");
        var outcome = PruneJob.Run(parse, set, model.Input, "", new JobHooks(progress, log, cancellationToken));
        return new PruneResult(outcome.Model!, outcome.ExternalData, outcome.Report!, outcome.TargetMet, outcome.Failure, outcome.Cancelled);
    }

    /// <summary>Runs <see cref="Run"/> on the thread pool.</summary>
    /// <inheritdoc cref="Run" path="/param"/>
    /// <returns>The pruned model and its report.</returns>
    public static Task<PruneResult> RunAsync(ModelSource model, PruneOptions options, IProgress<PruneProgress>? progress = null,
        CancellationToken cancellationToken = default, TextWriter? log = null) =>
        Task.Run(() => Run(model, options, progress, cancellationToken, log), cancellationToken);
}
