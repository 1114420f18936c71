namespace OnnxPrune.Runtime;

/// <summary>The session asked for an execution provider the loaded ONNX Runtime build lacks or
/// cannot initialize (for example CUDA on the CPU-only build).</summary>
internal sealed class ExecutionProviderUnavailableException : Exception
{
    public ExecutionProviderUnavailableException(ExecutionProvider provider, string message, Exception? inner = null)
        : base(message, inner) => Provider = provider;

    public ExecutionProvider Provider { get; }
}
