namespace OnnxPrune.Runtime;

/// <summary>
/// Decides which libonnxruntime.so.1 to load, with the same rules as tools/bootstrap-ort.sh:
/// <c>$ONNXPRUNE_ORT_LIBRARY</c> if set, else the bootstrap's cache
/// (<c>${ONNXPRUNE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/onnxprune}/ort-1.30.0/</c>).
/// It never downloads: fetching 113 MB is a step the user (or a test fixture) takes on purpose.
/// </summary>
public static class OrtLibraryLocator
{
    public const string LibraryVariable = "ONNXPRUNE_ORT_LIBRARY";
    public const string CacheVariable = "ONNXPRUNE_CACHE";
    public const string BundledVersion = "1.30.0";
    public const string LibraryFileName = "libonnxruntime.so.1";

    /// <summary>Path of the library to load.</summary>
    /// <exception cref="OrtLibraryNotFoundException">No file where the rules point.</exception>
    public static string Resolve() => Resolve(Environment.GetEnvironmentVariable);

    /// <summary>Where tools/bootstrap-ort.sh caches the bundled CPU build.</summary>
    public static string DefaultCachedLibraryPath() => DefaultCachedLibraryPath(Environment.GetEnvironmentVariable);

    /// <param name="getVariable">Environment lookup, injectable so tests need not mutate the
    /// process environment.</param>
    internal static string Resolve(Func<string, string?> getVariable)
    {
        var explicitPath = getVariable(LibraryVariable);
        if (!string.IsNullOrEmpty(explicitPath))
        {
            if (File.Exists(explicitPath)) return Path.GetFullPath(explicitPath);
            throw new OrtLibraryNotFoundException(
                $"{LibraryVariable} is set to '{explicitPath}', but no file exists there. Point it at a " +
                $"{LibraryFileName} (ONNX Runtime {BundledVersion} or newer), or unset it and run " +
                "tools/bootstrap-ort.sh to download the bundled CPU build.");
        }

        var cached = DefaultCachedLibraryPath(getVariable);
        if (File.Exists(cached)) return cached;
        throw new OrtLibraryNotFoundException(
            $"ONNX Runtime native library not found: expected {cached}. Run tools/bootstrap-ort.sh " +
            $"once to download ONNX Runtime {BundledVersion} (CPU) into that cache, or set {LibraryVariable} " +
            $"to the path of a {LibraryFileName} (for example a build with the CUDA execution provider).");
    }

    internal static string DefaultCachedLibraryPath(Func<string, string?> getVariable)
    {
        var root = getVariable(CacheVariable);
        if (string.IsNullOrEmpty(root))
        {
            var xdg = getVariable("XDG_CACHE_HOME");
            if (string.IsNullOrEmpty(xdg))
            {
                var home = getVariable("HOME");
                if (string.IsNullOrEmpty(home)) home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
                xdg = Path.Combine(home, ".cache");
            }
            root = Path.Combine(xdg, "onnxprune");
        }
        return Path.Combine(root, $"ort-{BundledVersion}", LibraryFileName);
    }
}
