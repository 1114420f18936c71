using OnnxPrune.Pruning.Pipeline;
using OnnxPrune.Runtime.Data;

namespace OnnxPrune.Api.Engine;

/// <summary>
/// The libraries report what went wrong without knowing the command line; this is where their
/// errors are worded with the options that fix them.
/// </summary>
internal static class LibraryErrors
{
    /// <param name="target">The option that gave the target (--target-flops, --target-params, --ratio).</param>
    public static UsageException Word(PruneInputException e, string target) => new(e.Problem switch
    {
        PruneInputProblem.DynamicInputShapes => $"{e.Message} with --input-shape NAME=D0xD1x...",
        PruneInputProblem.WidthMultipleTooLarge => $"--round-to: {e.Message}",
        PruneInputProblem.BadTarget => $"{target}: {e.Message}",
        PruneInputProblem.NeedsData => $"{e.Message} with --data",
        PruneInputProblem.NoBatchNormalization => $"--criterion {e.Message}",
        _ => e.Message,
    });

    public static UsageException Word(InvalidInputException e) => new(e.DynamicAxis is not null && e.InputName is { } name
        ? $"{e.Message}: --input-shape {name}=D0xD1x... (or --inputs with an .npz file where the command takes one)"
        : e.Message);
}
