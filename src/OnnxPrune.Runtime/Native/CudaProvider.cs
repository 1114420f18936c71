using System.Globalization;

namespace OnnxPrune.Runtime.Native;

/// <summary>Adds the CUDA execution provider to session options, or explains why it cannot.</summary>
internal static unsafe class CudaProvider
{
    public const string ProviderName = "CUDAExecutionProvider";

    // ORT loads the CUDA provider from these files in the directory of libonnxruntime itself.
    private static readonly string[] ProviderLibraries =
        ["libonnxruntime_providers_shared.so", "libonnxruntime_providers_cuda.so"];

    /// <exception cref="ExecutionProviderUnavailableException">The library cannot run CUDA.</exception>
    public static void Append(OrtRuntime runtime, SessionOptionsHandle options, int deviceId)
    {
        // Checked up front so the user gets a message that says what to do, instead of ORT's
        // failure from deep inside provider loading. GetAvailableProviders alone is not enough:
        // it lists providers compiled in, and the bundled npm build lists CUDA without shipping
        // the provider library.
        var problem = FindProblem(runtime);
        if (problem is not null)
            throw new ExecutionProviderUnavailableException(ExecutionProvider.Cuda,
                $"The CUDA execution provider was requested, but the ONNX Runtime library '{runtime.LibraryPath}' " +
                $"(version {runtime.VersionString}) cannot run it: {problem}. {HowToFix}");

        var api = runtime.Api;
        nint raw;
        api.Check(api.CreateCUDAProviderOptions(&raw));
        // ORT copies the provider options when appending, so they are released right after.
        using var cudaOptions = new CudaProviderOptionsHandle(api).Owning(raw);
        try
        {
            fixed (byte* key = Utf8.Terminated("device_id"))
            fixed (byte* value = Utf8.Terminated(deviceId.ToString(CultureInfo.InvariantCulture)))
            {
                var keys = stackalloc byte*[1] { key };
                var values = stackalloc byte*[1] { value };
                api.Check(api.UpdateCUDAProviderOptions(raw, keys, values, 1));
            }
            using var lease = options.Lease();
            api.Check(api.SessionOptionsAppendExecutionProvider_CUDA_V2(lease.Pointer, raw));
        }
        catch (OrtException e)
        {
            throw new ExecutionProviderUnavailableException(ExecutionProvider.Cuda,
                $"The ONNX Runtime library '{runtime.LibraryPath}' could not enable the CUDA execution provider " +
                $"on device {deviceId}: {e.OrtMessage.Trim()}. Check that the NVIDIA driver, CUDA and cuDNN versions " +
                $"match this ONNX Runtime build. {HowToFix}", e);
        }
    }

    private const string HowToFix =
        "Set " + OrtLibraryLocator.LibraryVariable + " to the libonnxruntime.so.1 of a CUDA build of ONNX Runtime " +
        OrtLibraryLocator.BundledVersion + " or newer (for example lib/ of the onnxruntime-linux-x64-gpu release " +
        "archive, which holds libonnxruntime_providers_cuda.so and libonnxruntime_providers_shared.so beside it), " +
        "or use the CPU execution provider.";

    private static string? FindProblem(OrtRuntime runtime)
    {
        var providers = runtime.GetAvailableProviders();
        if (!providers.Contains(ProviderName))
            return $"it was built without CUDA and offers only {string.Join(", ", providers)}";
        var directory = Path.GetDirectoryName(runtime.LibraryPath) ?? ".";
        var missing = ProviderLibraries.Where(f => !File.Exists(Path.Combine(directory, f))).ToList();
        return missing.Count == 0
            ? null
            : $"{string.Join(" and ", missing)} {(missing.Count == 1 ? "is" : "are")} not in {directory} " +
              "(the bundled CPU build from onnxruntime-node lists CUDA but ships no CUDA provider)";
    }
}
