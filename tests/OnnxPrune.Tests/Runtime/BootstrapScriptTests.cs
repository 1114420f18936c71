namespace OnnxPrune.Tests.Runtime;

/// <summary>tools/bootstrap-ort.sh without the network: every case here ends before npm runs,
/// or runs a fake npm that records that it was called.</summary>
public class BootstrapScriptTests : IDisposable
{
    private const string TarballSha256 = "6e3390d6b783e7be946fad629292799da28d0b42f84856e50d2c1b0383291e75";

    private readonly string temp = Directory.CreateTempSubdirectory("onnxprune-bootstrap-").FullName;
    private readonly string npmCalled;
    private readonly Dictionary<string, string?> environment;

    public BootstrapScriptTests()
    {
        // A fake npm first on PATH: records the call and fails, as an offline registry would.
        var bin = Directory.CreateDirectory(Path.Combine(temp, "bin")).FullName;
        npmCalled = Path.Combine(temp, "npm-called");
        var npm = Path.Combine(bin, "npm");
        File.WriteAllText(npm, $"#!/bin/sh\ntouch '{npmCalled}'\necho 'fake npm: offline' >&2\nexit 1\n");
        File.SetUnixFileMode(npm, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        environment = new()
        {
            ["ONNXPRUNE_ORT_LIBRARY"] = null,
            ["ONNXPRUNE_ORT_TARBALL"] = null,
            ["ONNXPRUNE_CACHE"] = Path.Combine(temp, "cache"),
            ["PATH"] = bin + ":" + Environment.GetEnvironmentVariable("PATH"),
        };
    }

    public void Dispose() => Directory.Delete(temp, recursive: true);

    private string CachedLibrary => Path.Combine(temp, "cache", "ort-1.30.0", "libonnxruntime.so.1");

    [Fact]
    public void Explicit_library_is_printed_as_is()
    {
        var library = Path.Combine(temp, "my-ort.so");
        File.WriteAllText(library, "");
        environment["ONNXPRUNE_ORT_LIBRARY"] = library;
        var (exit, stdout, _) = OrtTestLibrary.RunBootstrap(environment);
        exit.Should().Be(0);
        stdout.Should().Be(library + "\n");
        File.Exists(npmCalled).Should().BeFalse();
    }

    [Fact]
    public void Explicit_library_that_does_not_exist_fails()
    {
        environment["ONNXPRUNE_ORT_LIBRARY"] = Path.Combine(temp, "nope.so");
        var (exit, stdout, stderr) = OrtTestLibrary.RunBootstrap(environment);
        exit.Should().Be(1);
        stdout.Should().BeEmpty();
        stderr.Should().Contain("nope.so").And.Contain("not a file");
    }

    [Fact]
    public void Verified_cache_is_used_without_npm()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(CachedLibrary)!);
        File.WriteAllText(CachedLibrary, "cached");
        File.WriteAllText(CachedLibrary + ".verified-sha256", TarballSha256 + "\n");
        var (exit, stdout, _) = OrtTestLibrary.RunBootstrap(environment);
        exit.Should().Be(0);
        stdout.Should().Be(CachedLibrary + "\n");
        File.Exists(npmCalled).Should().BeFalse();
    }

    [Fact]
    public void A_library_without_its_marker_is_not_trusted()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(CachedLibrary)!);
        File.WriteAllText(CachedLibrary, "half-written?");
        var (exit, stdout, stderr) = OrtTestLibrary.RunBootstrap(environment);
        File.Exists(npmCalled).Should().BeTrue("an unverified library must be fetched again");
        exit.Should().Be(1);
        stdout.Should().BeEmpty();
        stderr.Should().Contain("npm pack onnxruntime-node@1.30.0 failed");
    }

    [Fact]
    public void A_tarball_with_the_wrong_hash_installs_nothing()
    {
        var tarball = Path.Combine(temp, "onnxruntime-node-1.30.0.tgz");
        File.WriteAllText(tarball, "tampered");
        environment["ONNXPRUNE_ORT_TARBALL"] = tarball;
        var (exit, stdout, stderr) = OrtTestLibrary.RunBootstrap(environment);
        exit.Should().Be(1);
        stdout.Should().BeEmpty();
        stderr.Should().Contain("SHA-256 mismatch").And.Contain(TarballSha256);
        File.Exists(CachedLibrary).Should().BeFalse();
        Directory.GetFileSystemEntries(Path.GetDirectoryName(CachedLibrary)!).Should().BeEmpty("the work directory is cleaned up");
    }
}
