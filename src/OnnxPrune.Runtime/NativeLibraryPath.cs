namespace OnnxPrune.Runtime;

/// <summary>Where the loaded libonnxruntime lives, for `onnxprune devices` and error messages
/// (which package's library a process picked up is the first question when two are around).</summary>
internal static class NativeLibraryPath
{
    public static string? Find()
    {
        const string maps = "/proc/self/maps";
        if (!File.Exists(maps)) return null;
        foreach (var line in File.ReadLines(maps))
        {
            var slash = line.IndexOf('/');
            if (slash < 0) continue;
            var path = line[slash..].Trim();
            if (Path.GetFileName(path).StartsWith("libonnxruntime.so", StringComparison.Ordinal)) return path;
        }
        return null;
    }
}
