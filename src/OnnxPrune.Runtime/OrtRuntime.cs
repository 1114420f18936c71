using OnnxPrune.Runtime.Native;

namespace OnnxPrune.Runtime;

/// <summary>
/// The loaded ONNX Runtime library and the process's one <c>OrtEnv</c> (ORT keeps a single env
/// per process, so this binding does too). Sessions take a runtime; most callers pass
/// <see cref="Shared"/>. Lives for the whole process: ORT does not support unloading.
/// Thread-safe.
/// </summary>
public sealed unsafe class OrtRuntime
{
    private static readonly object SharedGate = new();
    private static OrtRuntime? shared;

    private OrtRuntime(OrtLibrary library, EnvHandle env, MemoryInfoHandle cpuMemory, nint allocator)
    {
        Library = library;
        Env = env;
        CpuMemoryInfo = cpuMemory;
        DefaultAllocator = allocator;
    }

    /// <summary>
    /// The process-wide runtime, created on first use from <see cref="OrtLibraryLocator.Resolve()"/>
    /// (so set <c>ONNXPRUNE_ORT_LIBRARY</c> before the first call to choose another build).
    /// A failed attempt is not cached: after running tools/bootstrap-ort.sh, the next call works.
    /// </summary>
    /// <exception cref="OrtLibraryException">The library is missing, unloadable or too old.</exception>
    public static OrtRuntime Shared
    {
        get
        {
            var existing = Volatile.Read(ref shared);
            if (existing is not null) return existing;
            lock (SharedGate)
            {
                shared ??= Create(OrtLibraryLocator.Resolve());
                return shared;
            }
        }
    }

    /// <summary>Full path of the loaded libonnxruntime.</summary>
    public string LibraryPath => Library.Path;

    /// <summary>ORT's version string, e.g. "1.30.0".</summary>
    public string VersionString => Library.VersionString;

    internal OrtLibrary Library { get; }
    internal OrtApi Api => Library.Api;
    internal EnvHandle Env { get; }

    /// <summary>Describes ordinary CPU memory; shared by every tensor wrapped over managed arrays.</summary>
    internal MemoryInfoHandle CpuMemoryInfo { get; }

    /// <summary>ORT's default CPU allocator, which owns strings ORT hands back (names, paths).
    /// It is a process-lifetime singleton inside ORT and must never be released.</summary>
    internal nint DefaultAllocator { get; }

    /// <summary>Execution providers compiled into the loaded library, in ORT's priority order
    /// (e.g. "CUDAExecutionProvider", "CPUExecutionProvider").</summary>
    public IReadOnlyList<string> GetAvailableProviders()
    {
        byte** names = null;
        int count = 0;
        Api.Check(Api.GetAvailableProviders(&names, &count));
        try
        {
            var result = new string[count];
            for (var i = 0; i < count; i++) result[i] = Utf8.Read(names[i]) ?? "";
            return result;
        }
        finally
        {
            Api.Check(Api.ReleaseAvailableProviders(names, count));
        }
    }

    /// <summary>Loads <paramref name="libraryPath"/> and creates the env. Internal because ORT
    /// allows one env per process; tests use it to probe failure modes.</summary>
    internal static OrtRuntime Create(string libraryPath, uint apiVersion = OrtLibrary.ApiVersion)
    {
        var library = OrtLibrary.Open(libraryPath, apiVersion);
        var api = library.Api;

        // Warning level: errors and warnings reach stderr, ORT's chatty info messages do not.
        nint rawEnv;
        fixed (byte* logId = Utf8.Terminated("onnxprune"))
            api.Check(api.CreateEnv((int)OrtLoggingLevel.Warning, logId, &rawEnv));
        var env = new EnvHandle(api).Owning(rawEnv);
        try
        {
            const int OrtDeviceAllocator = 0, OrtMemTypeDefault = 0;
            nint rawMemory;
            api.Check(api.CreateCpuMemoryInfo(OrtDeviceAllocator, OrtMemTypeDefault, &rawMemory));
            var memory = new MemoryInfoHandle(api).Owning(rawMemory);
            try
            {
                nint allocator;
                api.Check(api.GetAllocatorWithDefaultOptions(&allocator));
                return new OrtRuntime(library, env, memory, allocator);
            }
            catch
            {
                memory.Dispose();
                throw;
            }
        }
        catch
        {
            env.Dispose();
            throw;
        }
    }
}
