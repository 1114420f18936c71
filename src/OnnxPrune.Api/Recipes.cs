using OnnxPrune.Api.Engine;

namespace OnnxPrune.Api;

/// <summary>One recipe <see cref="PruneOptions.Recipe"/> can name.</summary>
/// <param name="Name">The name to give.</param>
/// <param name="Description">Who it is for, in one line.</param>
/// <param name="Options">The options it stands for, as a command line (<c>--target-flops 50% --criterion l1</c>).</param>
/// <param name="Path">The recipe file.</param>
public sealed record RecipeInfo(string Name, string Description, string Options, string Path);

/// <summary>The pruning recipes shipped with OnnxPrune (passes/*.json, copied beside the application).</summary>
public static class Recipes
{
    /// <summary>Every recipe found, by name.</summary>
    public static IReadOnlyList<RecipeInfo> List() =>
        RecipeLibrary.Shipped().Select(s => RecipeFile.Load(s.Path)).Select(r => new RecipeInfo(r.Name, r.Description, r.CommandLine, r.Path)).ToList();
}
