using Ort = Microsoft.ML.OnnxRuntime;

namespace OnnxPrune.Runtime;

/// <summary>
/// Adds the requested execution provider to session options, or explains why it cannot run
/// here. The checks come first so a user learns what is missing (the GPU package, a device, the
/// CUDA libraries) instead of reading ORT's failure from deep inside provider loading.
/// </summary>
internal static class ExecutionProviders
{
    public const string Cpu = "CPUExecutionProvider";
    public const string Cuda = "CUDAExecutionProvider";
    public const string TensorRT = "TensorrtExecutionProvider";

    /// <summary>ORT's name of a provider.</summary>
    public static string OrtName(ExecutionProvider provider) => provider switch
    {
        ExecutionProvider.Cuda => Cuda,
        ExecutionProvider.TensorRT => TensorRT,
        _ => Cpu,
    };

    /// <summary>Why <paramref name="provider"/> cannot run in this process, or null when nothing
    /// is known to stand in its way (ORT may still fail to start it; see <see cref="Append"/>).</summary>
    public static string? FindProblem(OrtRuntime runtime, ExecutionProvider provider)
    {
        if (provider == ExecutionProvider.Cpu) return null;
        var name = OrtName(provider);
        var providers = runtime.GetAvailableProviders();
        if (!providers.Contains(name))
            return $"the loaded ONNX Runtime {runtime.VersionString} was built without it and offers only {string.Join(", ", providers)} " +
                   "(this is the CPU package, Microsoft.ML.OnnxRuntime; build with -p:OnnxRuntimeFlavour=gpu for Microsoft.ML.OnnxRuntime.Gpu)";
        if (!NvidiaDevicePresent())
            return "no NVIDIA GPU is visible to this process (no /proc/driver/nvidia/version and no /dev/nvidia0: the driver is not loaded, " +
                   "or the container was started without the GPU)";
        return null;
    }

    /// <summary>The kernel driver's files: present on a Linux machine with an NVIDIA GPU and its
    /// driver, and inside a container given the GPU.</summary>
    private static bool NvidiaDevicePresent() =>
        !OperatingSystem.IsLinux() || File.Exists("/proc/driver/nvidia/version") || File.Exists("/dev/nvidia0");

    /// <exception cref="ExecutionProviderUnavailableException">The provider cannot run here.</exception>
    internal static void Append(OrtRuntime runtime, Ort.SessionOptions options, ExecutionProvider provider, int deviceId)
    {
        if (provider == ExecutionProvider.Cpu) return;
        var problem = FindProblem(runtime, provider);
        if (problem is not null)
            throw new ExecutionProviderUnavailableException(provider,
                $"the {Word(provider)} execution provider was requested, but {problem}. Use the CPU execution provider, or run on a machine with an " +
                "NVIDIA GPU and the GPU build.");
        try
        {
            // TensorRT takes the subgraphs it supports; CUDA (then the CPU) runs the rest.
            if (provider == ExecutionProvider.TensorRT) options.AppendExecutionProvider_Tensorrt(deviceId);
            options.AppendExecutionProvider_CUDA(deviceId);
        }
        catch (Exception e) when (e is Ort.OnnxRuntimeException or EntryPointNotFoundException)
        {
            throw Unavailable(runtime, provider, deviceId, e);
        }
    }

    /// <summary>Whether an ORT failure is the GPU provider's (its libraries, the device), not the model's.</summary>
    internal static bool IsProviderFailure(string message) =>
        new[] { "CUDA", "cuda", "cudnn", "cuDNN", "cublas", "TensorRT", "Tensorrt", "nvinfer", "providers_shared" }
            .Any(word => message.Contains(word, StringComparison.Ordinal));

    internal static ExecutionProviderUnavailableException Unavailable(OrtRuntime runtime, ExecutionProvider provider, int deviceId, Exception e)
    {
        var reason = e is Ort.OnnxRuntimeException ort ? OrtException.From(ort).OrtMessage.Trim() : e.Message;
        return new ExecutionProviderUnavailableException(provider,
            $"ONNX Runtime {runtime.VersionString} could not start the {Word(provider)} execution provider on device {deviceId}: " +
            $"{reason}. It needs the NVIDIA driver and the CUDA 12 and cuDNN 9 libraries" +
            (provider == ExecutionProvider.TensorRT ? " and TensorRT 10" : "") +
            " on the library path (LD_LIBRARY_PATH), at the versions this ONNX Runtime release was built for.", e);
    }

    private static string Word(ExecutionProvider provider) => provider == ExecutionProvider.TensorRT ? "TensorRT" : "CUDA";
}
