using Ort = Microsoft.ML.OnnxRuntime;

namespace OnnxPrune.Runtime;

/// <summary>
/// The process's ONNX Runtime, as the official managed API (Microsoft.ML.OnnxRuntime.Managed)
/// loads it: one <c>OrtEnv</c> per process, shared with any other user of that API in the same
/// process (a host toolchain that created it first keeps its settings). Sessions take a runtime;
/// most callers pass <see cref="Shared"/>. Thread-safe.
/// </summary>
internal sealed class OrtRuntime
{
    private static readonly object SharedGate = new();
    private static OrtRuntime? shared;

    private OrtRuntime(Ort.OrtEnv env) => Env = env;

    internal Ort.OrtEnv Env { get; }

    /// <summary>
    /// The process-wide runtime, created on first use. A failed attempt is not cached.
    /// </summary>
    /// <exception cref="OrtLibraryException">The native library is missing or does not fit.</exception>
    public static OrtRuntime Shared
    {
        get
        {
            var existing = Volatile.Read(ref shared);
            if (existing is not null) return existing;
            lock (SharedGate)
            {
                shared ??= Create();
                return shared;
            }
        }
    }

    /// <summary>ORT's version string, e.g. "1.32.0".</summary>
    public string VersionString => Env.GetVersionString();

    /// <summary>Full path of the native libonnxruntime this process loaded, read from the
    /// process's memory map (Linux); null where that is not available.</summary>
    public string? LibraryPath => NativeLibraryPath.Find();

    /// <summary>Execution providers compiled into the loaded library, in ORT's priority order
    /// (e.g. "CUDAExecutionProvider", "CPUExecutionProvider"). Listed is not usable: CUDA also
    /// needs a device and the CUDA/cuDNN libraries (<see cref="ExecutionProviders"/>).</summary>
    public IReadOnlyList<string> GetAvailableProviders() => Env.GetAvailableProviders();

    private static OrtRuntime Create()
    {
        try
        {
            // A host that created the env first keeps it, with its own settings.
            if (Ort.OrtEnv.IsCreated) return new OrtRuntime(Ort.OrtEnv.Instance());
            // Warning level: errors and warnings reach stderr, ORT's chatty info messages do not.
            var options = new Ort.EnvironmentCreationOptions
            {
                logId = "onnxprune",
                logLevel = Ort.OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING,
            };
            return new OrtRuntime(Ort.OrtEnv.CreateInstanceWithOptions(ref options));
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or TypeInitializationException or BadImageFormatException)
        {
            throw new OrtLibraryException(
                "the ONNX Runtime native library could not be loaded: " + (e.InnerException ?? e).Message + ". " +
                "An application using OnnxPrune.Runtime must reference one native package, Microsoft.ML.OnnxRuntime " +
                "(CPU) or Microsoft.ML.OnnxRuntime.Gpu (CUDA, TensorRT), at the version of Microsoft.ML.OnnxRuntime.Managed it uses.", e);
        }
    }
}
