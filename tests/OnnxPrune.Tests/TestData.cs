namespace OnnxPrune.Tests;

/// <summary>Where the test suite finds the data sets installed by tools/test.sh.</summary>
internal static class TestData
{
    public const string OnnxTestDataRoot = "/usr/share/libonnx-testdata/data";

    /// <summary>Every model.onnx of ONNX's operator test suite (Debian's libonnx-testdata).</summary>
    public static IReadOnlyList<string> OnnxTestModels()
    {
        if (!Directory.Exists(OnnxTestDataRoot))
            throw new InvalidOperationException($"{OnnxTestDataRoot} is missing: run tools/test.sh, which installs Debian's libonnx-testdata");
        return Directory.EnumerateFiles(OnnxTestDataRoot, "model.onnx", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>A fresh empty folder under the system temp folder, deleted with the returned scope.</summary>
    public static TempFolder NewTempFolder() => new();
}

internal sealed class TempFolder : IDisposable
{
    public TempFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "onnxprune-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }
    public string File(string name) => System.IO.Path.Combine(Path, name);
    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}
