using System.Xml.Linq;
using OnnxPrune.Tests.Api;
using OnnxPrune.Tests.Cli;
using OnnxPrune.Tests.Runtime;

namespace OnnxPrune.Tests.Packaging;

/// <summary>
/// `dotnet pack` of a copy of the sources into a temporary feed, once for the package tests. The version carries a
/// prerelease suffix unique to this run, so that NuGet's global packages folder (shared with every other restore here,
/// which keeps restore quick and offline through the machine's mirror) can never hand back a copy packed by an earlier
/// run; this run's copies are removed from that folder afterwards.
/// </summary>
public sealed class PackedRelease : IDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromMinutes(15);

    /// <summary>The library packages and the dotnet tool `dotnet pack` must produce.</summary>
    public static readonly string[] LibraryIds =
        ["OnnxPrune.IR", "OnnxPrune.Onnx", "OnnxPrune.Runtime", "OnnxPrune.Autodiff", "OnnxPrune.Training", "OnnxPrune.Pruning", "OnnxPrune.Api"];

    public const string ToolId = "OnnxPrune.Tool";

    private readonly TempFolder _root = TestData.NewTempFolder();

    public PackedRelease()
    {
        Version = $"{ToolVersionFile.VersionPrefix}-test.{Guid.NewGuid():N}"[..(ToolVersionFile.VersionPrefix.Length + 18)];
        Feed = Directory.CreateDirectory(Path.Combine(_root.Path, "feed")).FullName;
        var sources = Path.Combine(_root.Path, "sources");
        CopySources(OrtTestLibrary.RepositoryRoot, sources);
        var r = Dotnet(sources, "new", "sln", "--name", "pack", "--format", "sln");
        r.ExitCode.Should().Be(0, $"{r}");
        foreach (var project in Directory.GetFiles(Path.Combine(sources, "src"), "*.csproj", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            r = Dotnet(sources, "sln", "pack.sln", "add", project);
            r.ExitCode.Should().Be(0, $"{r}");
        }
        PackOutput = Dotnet(sources, "pack", "pack.sln", "-c", "Release", "-o", Feed, $"-p:VersionSuffix={Version[(ToolVersionFile.VersionPrefix.Length + 1)..]}");
        PackOutput.ExitCode.Should().Be(0, $"dotnet pack must succeed\n{PackOutput}");
    }

    /// <summary>The version every package of this run has (0.1.0-test.0123456789abcd).</summary>
    public string Version { get; }

    /// <summary>The folder the packages were packed into: a NuGet source for install and restore.</summary>
    public string Feed { get; }

    internal CliResult PackOutput { get; }

    public string Package(string id, string extension = "nupkg") => Path.Combine(Feed, $"{id}.{Version}.{extension}");

    public string NewFolder(string name) => Directory.CreateDirectory(Path.Combine(_root.Path, name)).FullName;

    /// <summary>The ONNX Runtime version Directory.Build.props names (the application picks the native package).</summary>
    public static string OnnxRuntimeVersion =>
        XDocument.Load(Path.Combine(OrtTestLibrary.RepositoryRoot, "Directory.Build.props")).Descendants("OnnxRuntimeVersion").Single().Value.Trim();

    internal static CliResult Dotnet(string workingDirectory, params string[] args) =>
        CliRunner.RunProcess("dotnet", args, workingDirectory, Timeout, new Dictionary<string, string?> { ["MSBUILDDISABLENODEREUSE"] = "1" });

    /// <summary>What a fresh clone has that packing reads: the sources, recipes, schemas, the shared props and README.</summary>
    private static void CopySources(string from, string to)
    {
        foreach (var folder in new[] { "src", "passes", "schemas" })
            CopyFolder(Path.Combine(from, folder), Path.Combine(to, folder));
        foreach (var file in new[] { "Directory.Build.props", "README.md" })
            File.Copy(Path.Combine(from, file), Path.Combine(to, file));
    }

    private static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        foreach (var dir in Directory.GetDirectories(from))
            if (Path.GetFileName(dir) is not ("bin" or "obj")) CopyFolder(dir, Path.Combine(to, Path.GetFileName(dir)));
    }

    public void Dispose()
    {
        // This run's packages, extracted into the global packages folder by the sample's restore: nobody else uses
        // the unique version, so they only take space.
        var global = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } g
            ? g : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        foreach (var id in LibraryIds.Append(ToolId))
        {
            var ids = Path.Combine(global, id.ToLowerInvariant());
            var folder = Path.Combine(ids, Version.ToLowerInvariant());
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
            if (Directory.Exists(ids) && !Directory.EnumerateFileSystemEntries(ids).Any()) Directory.Delete(ids);
        }
        _root.Dispose();
    }
}
