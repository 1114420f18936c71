namespace OnnxPrune.Cli;

/// <summary>The command's exit codes, as documented in README.md.</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    /// <summary>The command ran but its check failed (verify: outputs differ beyond the tolerance).</summary>
    public const int CheckFailed = 1;
    /// <summary>Bad input: a malformed model, a missing file, a wrong option.</summary>
    public const int BadInput = 2;
    /// <summary>A pruning target could not be reached; the closest model was written.</summary>
    public const int TargetNotReached = 3;
    /// <summary>Training did not give a usable model: it diverged even after its rollbacks, or
    /// fine-tuning collapsed the accuracy (that model is still written, and the message says so).</summary>
    public const int TrainingFailed = 4;
    /// <summary>A bug in OnnxPrune.</summary>
    public const int InternalError = 70;
}
