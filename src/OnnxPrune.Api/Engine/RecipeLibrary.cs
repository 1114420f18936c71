namespace OnnxPrune.Api.Engine;

/// <summary>
/// Where recipes are found. OnnxPrune.Api.csproj copies passes/*.json next to the application (the tool, or a
/// toolchain referencing the package), so a name works
/// wherever the tool runs; the repository's passes/ is read too (found by walking up to
/// OnnxPrune.sln from the working directory and from the tool), so a recipe edited in a checkout
/// is picked up before a rebuild. The tool's own copy wins a tie: it is what was shipped.
/// </summary>
internal static class RecipeLibrary
{
    public static IReadOnlyList<string> Folders()
    {
        var folders = new List<string> { Path.Combine(AppContext.BaseDirectory, "passes") };
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
            if (RepositoryRoot(start) is { } root) folders.Add(Path.Combine(root, "passes"));
        return folders.Select(Path.GetFullPath).Distinct().Where(Directory.Exists).ToList();
    }

    /// <summary>Every recipe name (file name without .json) with the file it comes from, by name.</summary>
    public static IReadOnlyList<(string Name, string Path)> Shipped()
    {
        var byName = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var folder in Folders())
            foreach (var file in Directory.EnumerateFiles(folder, "*.json").Order(StringComparer.Ordinal))
                byName.TryAdd(Path.GetFileNameWithoutExtension(file), file);
        return byName.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => (p.Key, p.Value)).ToList();
    }

    /// <summary>The file `--recipe NAME|PATH` means: a path when it looks like one or exists, else a shipped name.</summary>
    public static string Resolve(string nameOrPath)
    {
        bool looksLikePath = nameOrPath.EndsWith(".json", StringComparison.OrdinalIgnoreCase) || nameOrPath.Contains('/') || nameOrPath.Contains(Path.DirectorySeparatorChar);
        if (File.Exists(nameOrPath)) return nameOrPath;
        if (looksLikePath)
            throw new UsageException(Directory.Exists(nameOrPath) ? $"--recipe: '{nameOrPath}' is a folder; give a recipe name or the path of a .json file" : $"--recipe: recipe file '{nameOrPath}' does not exist");
        var shipped = Shipped();
        foreach (var (name, path) in shipped)
            if (name == nameOrPath) return path;
        var known = shipped.Count == 0 ? "no recipes were found next to the tool" : "the recipes are " + string.Join(", ", shipped.Select(s => s.Name));
        throw new UsageException($"--recipe: unknown recipe '{nameOrPath}'; {known} (see 'onnxprune recipes'), or give the path of a .json file");
    }

    private static string? RepositoryRoot(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "OnnxPrune.sln"))) return dir.FullName;
        return null;
    }
}
