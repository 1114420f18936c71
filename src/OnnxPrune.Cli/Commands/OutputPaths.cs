namespace OnnxPrune.Cli.Commands;

/// <summary>Guards for the files a command writes.</summary>
internal static class OutputPaths
{
    /// <summary>Refuses to write over the input (also through a symlink or a different spelling of the path).</summary>
    public static void CheckNotInput(string input, string output)
    {
        var a = Resolve(input);
        var b = Resolve(output);
        if (string.Equals(a, b, StringComparison.Ordinal))
            throw new UsageException($"the output '{output}' is the input model; choose another output path (OnnxPrune never overwrites its input)");
        var dir = Path.GetDirectoryName(Path.GetFullPath(output))!;
        if (!Directory.Exists(dir))
            throw new UsageException($"cannot write '{output}': folder '{dir}' does not exist");
    }

    /// <summary>The path with every symlink along it followed, so that two spellings of one file compare equal.</summary>
    private static string Resolve(string path) => OnnxPrune.Onnx.ExternalDataLocation.RealPath(Path.GetFullPath(path));
}
