using Ort = Microsoft.ML.OnnxRuntime;

namespace OnnxPrune.Runtime;

/// <summary>Turns <see cref="SessionSettings"/> into the managed API's SessionOptions.</summary>
internal static class SessionOptionsFactory
{
    /// <param name="profilePrefix">The prefix actually given to ORT, or null without profiling.</param>
    /// <exception cref="ExecutionProviderUnavailableException">The provider cannot run here.</exception>
    public static Ort.SessionOptions Create(OrtRuntime runtime, SessionSettings settings, out string? profilePrefix)
    {
        Validate(settings);
        var options = new Ort.SessionOptions();
        try
        {
            options.IntraOpNumThreads = settings.EffectiveIntraOpThreads;
            options.InterOpNumThreads = settings.InterOpThreads;
            options.ExecutionMode = settings.ParallelExecution ? Ort.ExecutionMode.ORT_PARALLEL : Ort.ExecutionMode.ORT_SEQUENTIAL;
            options.GraphOptimizationLevel = (Ort.GraphOptimizationLevel)(int)settings.Optimization;
            options.LogSeverityLevel = (Ort.OrtLoggingLevel)(int)settings.LogSeverity;
            if (settings.DisablePrepacking) options.AddSessionConfigEntry("session.disable_prepacking", "1");

            profilePrefix = null;
            if (settings.EnableProfiling)
            {
                profilePrefix = settings.ProfileFilePrefix
                    ?? Path.Combine(Path.GetTempPath(), $"onnxprune-profile-{Guid.NewGuid():N}");
                // The prefix first: the managed API hands ORT the prefix it holds when profiling is enabled.
                options.ProfileOutputPathPrefix = profilePrefix;
                options.EnableProfiling = true;
            }

            ExecutionProviders.Append(runtime, options, settings.Provider, settings.CudaDeviceId);
            return options;
        }
        catch
        {
            options.Dispose();
            throw;
        }
    }

    private static void Validate(SessionSettings settings)
    {
        if (settings.IntraOpThreads < 0)
            throw new ArgumentOutOfRangeException(nameof(settings), $"IntraOpThreads must be >= 0 (0 = one per processor), got {settings.IntraOpThreads}");
        if (settings.InterOpThreads < 0)
            throw new ArgumentOutOfRangeException(nameof(settings), $"InterOpThreads must be >= 0 (0 = ORT default), got {settings.InterOpThreads}");
        if (!Enum.IsDefined(settings.Optimization))
            throw new ArgumentOutOfRangeException(nameof(settings), $"unknown graph optimization level {(int)settings.Optimization}");
        if (!Enum.IsDefined(settings.Provider))
            throw new ArgumentOutOfRangeException(nameof(settings), $"unknown execution provider {(int)settings.Provider}");
        if (settings.CudaDeviceId < 0)
            throw new ArgumentOutOfRangeException(nameof(settings), $"CudaDeviceId must be >= 0, got {settings.CudaDeviceId}");
    }
}
