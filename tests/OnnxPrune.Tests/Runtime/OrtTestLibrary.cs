using System.Runtime.CompilerServices;
using OnnxPrune.Runtime;

namespace OnnxPrune.Tests.Runtime;

/// <summary>The real ONNX Runtime the tests run on (the native package the test project
/// references), and the checkout the tests belong to.</summary>
internal static class OrtTestLibrary
{
    public static OrtRuntime Runtime => OrtRuntime.Shared;

    /// <summary>The checkout these tests belong to.</summary>
    public static string RepositoryRoot => FindRepositoryRoot();

    /// <summary>Above the test binaries normally; above this source file when the tests were
    /// built elsewhere.</summary>
    private static string FindRepositoryRoot([CallerFilePath] string sourceFile = "")
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Path.GetDirectoryName(sourceFile) ?? "" })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "OnnxPrune.sln"))) return dir.FullName;
            }
        }
        throw new InvalidOperationException($"no OnnxPrune.sln above {AppContext.BaseDirectory} or {sourceFile}");
    }
}
