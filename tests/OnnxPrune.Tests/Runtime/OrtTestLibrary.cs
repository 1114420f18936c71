using System.Diagnostics;
using System.Runtime.CompilerServices;
using OnnxPrune.Runtime;

namespace OnnxPrune.Tests.Runtime;

/// <summary>
/// Gives tests the real ONNX Runtime: if neither ONNXPRUNE_ORT_LIBRARY nor the bootstrap cache
/// has a library, runs tools/bootstrap-ort.sh once (a ~113 MB npm download) and points
/// ONNXPRUNE_ORT_LIBRARY at the path it prints, before anything touches OrtRuntime.Shared.
/// </summary>
internal static class OrtTestLibrary
{
    private static readonly Lazy<OrtRuntime> LazyRuntime = new(Initialize, LazyThreadSafetyMode.ExecutionAndPublication);

    public static OrtRuntime Runtime => LazyRuntime.Value;

    public static string BootstrapScript => Path.Combine(RepositoryRoot, "tools", "bootstrap-ort.sh");

    /// <summary>The checkout these tests belong to.</summary>
    public static string RepositoryRoot => FindRepositoryRoot();

    private static OrtRuntime Initialize()
    {
        var configured = Environment.GetEnvironmentVariable(OrtLibraryLocator.LibraryVariable);
        if (string.IsNullOrEmpty(configured) && !File.Exists(OrtLibraryLocator.DefaultCachedLibraryPath()))
        {
            var (exitCode, stdout, stderr) = RunBootstrap(new Dictionary<string, string?>());
            if (exitCode != 0)
                throw new InvalidOperationException($"tools/bootstrap-ort.sh failed ({exitCode}): {stderr}");
            Environment.SetEnvironmentVariable(OrtLibraryLocator.LibraryVariable, stdout.Trim());
        }
        return OrtRuntime.Shared;
    }

    /// <summary>Runs the bootstrap script with extra (or, for null values, removed) variables.</summary>
    public static (int ExitCode, string Stdout, string Stderr) RunBootstrap(IReadOnlyDictionary<string, string?> environment)
    {
        var start = new ProcessStartInfo("bash", [BootstrapScript])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (key, value) in environment)
        {
            if (value is null) start.Environment.Remove(key);
            else start.Environment[key] = value;
        }
        using var process = Process.Start(start)!;
        var stderrTask = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout, stderrTask.Result);
    }

    /// <summary>Above the test binaries normally; above this source file when the tests were
    /// built elsewhere.</summary>
    private static string FindRepositoryRoot([CallerFilePath] string sourceFile = "")
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Path.GetDirectoryName(sourceFile) ?? "" })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "tools", "bootstrap-ort.sh"))) return dir.FullName;
            }
        }
        throw new InvalidOperationException($"no tools/bootstrap-ort.sh above {AppContext.BaseDirectory} or {sourceFile}");
    }
}
