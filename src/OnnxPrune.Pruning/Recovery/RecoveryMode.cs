namespace OnnxPrune.Pruning.Recovery;

/// <summary>What repairs a pruned model on calibration data before it is written (METHODS.md §6).</summary>
internal enum RecoveryMode
{
    /// <summary>Nothing: the pruned model is written as the removal left it.</summary>
    None,
    /// <summary>BatchNormalization statistics re-estimated on the calibration images.</summary>
    BatchNorm,
    /// <summary>The layers that read removed channels refit by least squares to the original's
    /// outputs, then BatchNormalization statistics re-estimated where the model keeps them.</summary>
    Refit,
}

internal static class RecoveryModes
{
    public static readonly IReadOnlyList<string> Names = ["refit", "bn", "none"];

    /// <summary>The mode with calibration data when none is asked for.</summary>
    public const string DefaultWithData = "refit";

    public static RecoveryMode Parse(string name) => name.ToLowerInvariant() switch
    {
        "none" => RecoveryMode.None,
        "bn" => RecoveryMode.BatchNorm,
        "refit" => RecoveryMode.Refit,
        _ => throw new ArgumentException($"unknown recovery '{name}': choose {string.Join(", ", Names)}", nameof(name)),
    };

    public static string NameOf(RecoveryMode mode) => mode switch
    {
        RecoveryMode.None => "none",
        RecoveryMode.BatchNorm => "bn",
        _ => "refit",
    };
}
