using OnnxPrune.Runtime;

namespace OnnxPrune.Tests.Runtime;

public class OrtRuntimeTests
{
    private static OrtRuntime Runtime => OrtTestLibrary.Runtime;

    [Fact]
    public void Loads_the_onnx_runtime_of_the_official_package_and_reports_its_version()
    {
        Runtime.VersionString.Should().Be("1.32.0");
        Runtime.LibraryPath.Should().NotBeNull().And.EndWith("libonnxruntime.so");
        File.Exists(Runtime.LibraryPath).Should().BeTrue();
    }

    [Fact]
    public void Lists_the_cpu_provider_last()
    {
        var providers = Runtime.GetAvailableProviders();
        providers.Should().NotBeEmpty();
        providers[^1].Should().Be("CPUExecutionProvider");
    }

    [Fact]
    public void Shared_returns_one_instance_to_every_thread()
    {
        var expected = OrtTestLibrary.Runtime;
        var seen = new OrtRuntime[8];
        Parallel.For(0, seen.Length, i => seen[i] = OrtRuntime.Shared);
        seen.Should().OnlyContain(r => ReferenceEquals(r, expected));
    }

    [Fact]
    public void Shares_the_process_env_with_other_users_of_the_managed_api()
    {
        // A host toolchain that uses Microsoft.ML.OnnxRuntime directly sees the same env, so the
        // process holds one ONNX Runtime.
        _ = Runtime;
        Microsoft.ML.OnnxRuntime.OrtEnv.IsCreated.Should().BeTrue();
        Microsoft.ML.OnnxRuntime.OrtEnv.Instance().GetVersionString().Should().Be(Runtime.VersionString);
        var loaded = File.ReadLines("/proc/self/maps").Select(l => l.IndexOf('/') is var i and >= 0 ? l[i..].Trim() : "")
            .Where(p => Path.GetFileName(p).StartsWith("libonnxruntime.so", StringComparison.Ordinal)).Distinct().ToList();
        loaded.Should().ContainSingle();
    }
}
