namespace OnnxPrune.Tests.Runtime;

/// <summary>Models from ONNX's own operator test suite (Debian package libonnx-testdata).</summary>
internal static class NodeTestModels
{
    public const string Root = "/usr/share/libonnx-testdata/data/node";

    public static string Path(string testName)
    {
        var path = System.IO.Path.Combine(Root, testName, "model.onnx");
        if (!File.Exists(path))
            throw new FileNotFoundException($"{path} is missing; install the Debian package libonnx-testdata", path);
        return path;
    }
}
