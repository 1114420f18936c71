namespace OnnxPrune.Runtime.Native;

/// <summary>Turns <see cref="SessionSettings"/> into a native OrtSessionOptions.</summary>
internal static unsafe class SessionOptionsFactory
{
    /// <param name="profilePrefix">The prefix actually given to ORT, or null without profiling.</param>
    public static SessionOptionsHandle Create(OrtRuntime runtime, SessionSettings settings, out string? profilePrefix)
    {
        Validate(settings);
        var api = runtime.Api;
        nint raw;
        api.Check(api.CreateSessionOptions(&raw));
        var options = new SessionOptionsHandle(api).Owning(raw);
        try
        {
            api.Check(api.SetIntraOpNumThreads(raw, settings.EffectiveIntraOpThreads));
            api.Check(api.SetInterOpNumThreads(raw, settings.InterOpThreads));
            api.Check(api.SetSessionExecutionMode(raw, settings.ParallelExecution ? 1 : 0));
            api.Check(api.SetSessionGraphOptimizationLevel(raw, (int)settings.Optimization));
            api.Check(api.SetSessionLogSeverityLevel(raw, (int)settings.LogSeverity));

            profilePrefix = null;
            if (settings.EnableProfiling)
            {
                profilePrefix = settings.ProfileFilePrefix
                    ?? Path.Combine(Path.GetTempPath(), $"onnxprune-profile-{Guid.NewGuid():N}");
                fixed (byte* prefix = Utf8.Terminated(profilePrefix))
                    api.Check(api.EnableProfiling(raw, prefix));
            }

            if (settings.Provider == ExecutionProvider.Cuda) CudaProvider.Append(runtime, options, settings.CudaDeviceId);
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
            throw new ArgumentOutOfRangeException(nameof(settings), $"IntraOpThreads must be >= 0 (0 = ORT default), got {settings.IntraOpThreads}");
        if (settings.InterOpThreads < 0)
            throw new ArgumentOutOfRangeException(nameof(settings), $"InterOpThreads must be >= 0 (0 = ORT default), got {settings.InterOpThreads}");
        if (!Enum.IsDefined(settings.Optimization))
            throw new ArgumentOutOfRangeException(nameof(settings), $"unknown graph optimization level {(int)settings.Optimization}");
        if (settings.CudaDeviceId < 0)
            throw new ArgumentOutOfRangeException(nameof(settings), $"CudaDeviceId must be >= 0, got {settings.CudaDeviceId}");
    }
}
