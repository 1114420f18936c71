namespace OnnxPrune.Api;

/// <summary>
/// The options or files given cannot be used: a missing or malformed model, an unknown option or recipe key, a value
/// out of range, data that does not fit the model. The message says what is wrong and how to fix it, naming the
/// option by its command-line name (<c>--target-flops</c>), which is also its key in <see cref="PruneOptions.Settings"/>
/// and in recipes. The command line exits with code 2 on it.
/// </summary>
public sealed class UsageException : Exception
{
    /// <summary>A problem described by <paramref name="message"/>.</summary>
    public UsageException(string message) : base(message) { }
}

/// <summary>
/// Fine-tuning ran but gave no usable model: it diverged even after its rollbacks. The command line exits with code 4
/// on it.
/// </summary>
public sealed class TrainingFailedException : Exception
{
    /// <summary>A failure described by <paramref name="message"/>.</summary>
    public TrainingFailedException(string message) : base(message) { }
}
