namespace OnnxPrune.Onnx;

/// <summary>
/// Resolves the location of a tensor stored outside the model file. The location must be a
/// relative path that stays inside the model's folder after every symlink is followed: an
/// absolute path, a ".." component, or a link that leads out is refused. (The onnx package's
/// CVE-2022-25882 and CVE-2024-27318 came from resolving such locations naively.)
/// </summary>
internal static class ExternalDataLocation
{
    public static string Resolve(string modelDirectory, string location, string tensorName)
    {
        string Refuse(string why) => throw new OnnxFormatException(
            $"tensor '{tensorName}' stores its data at external location '{location}', which is refused: {why}. " +
            "External data must be a relative path inside the model's folder; move the data file next to the model and fix the location.");

        if (string.IsNullOrEmpty(location)) Refuse("the location is empty");
        if (location.Contains('\0')) Refuse("the location contains a NUL character");
        if (Path.IsPathRooted(location) || location.StartsWith('~')) Refuse("it is an absolute path");
        var parts = location.Split('/', '\\');
        if (parts.Any(p => p == "..")) Refuse("it contains '..'");

        var root = RealPath(Path.GetFullPath(modelDirectory));
        var candidate = RealPath(Path.GetFullPath(Path.Combine(root, location)));
        var prefix = root.EndsWith(Path.DirectorySeparatorChar) ? root : root + Path.DirectorySeparatorChar;
        if (!candidate.StartsWith(prefix, StringComparison.Ordinal))
            Refuse($"it resolves to '{candidate}', outside the model's folder '{root}'");
        if (!File.Exists(candidate))
            throw new OnnxFormatException($"tensor '{tensorName}' stores its data in '{location}', but '{candidate}' does not exist. Copy the data file next to the model.");
        return candidate;
    }

    /// <summary>The path with every symlink along it followed (like realpath(3)); components that
    /// do not exist are kept as they are.</summary>
    public static string RealPath(string fullPath)
    {
        var root = Path.GetPathRoot(fullPath)!;
        var current = root;
        var rest = fullPath[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
        int hops = 0;
        var queue = new Queue<string>(rest);
        while (queue.Count > 0)
        {
            var part = queue.Dequeue();
            if (part == ".") continue;
            if (part == "..") { current = Path.GetDirectoryName(current) ?? root; continue; }
            var next = Path.Combine(current, part);
            FileSystemInfo info = Directory.Exists(next) ? new DirectoryInfo(next) : new FileInfo(next);
            if (info.Exists && info.LinkTarget is { } target)
            {
                if (++hops > 40) throw new OnnxFormatException($"too many symbolic links while resolving '{fullPath}'");
                var resolved = Path.IsPathRooted(target) ? target : Path.Combine(current, target);
                // Restart from the link's target, then continue with the remaining parts.
                var remaining = queue.ToArray();
                var full = Path.GetFullPath(resolved);
                current = Path.GetPathRoot(full)!;
                queue = new Queue<string>(full[current.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries).Concat(remaining));
                continue;
            }
            current = next;
        }
        return current;
    }
}
