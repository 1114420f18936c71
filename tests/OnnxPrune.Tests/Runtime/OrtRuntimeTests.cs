using OnnxPrune.Runtime;

namespace OnnxPrune.Tests.Runtime;

public class OrtRuntimeTests
{
    private static OrtRuntime Runtime => OrtTestLibrary.Runtime;

    [Fact]
    public void Loads_the_bundled_version_and_reports_it()
    {
        Runtime.VersionString.Should().StartWith("1.");
        Version.Parse(Runtime.VersionString).Should().BeGreaterThanOrEqualTo(new Version(1, 30));
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
        var expected = OrtTestLibrary.Runtime; // makes sure the library is there first
        var seen = new OrtRuntime[8];
        Parallel.For(0, seen.Length, i => seen[i] = OrtRuntime.Shared);
        seen.Should().OnlyContain(r => ReferenceEquals(r, expected));
    }

    [Fact]
    public void Unsupported_api_version_names_the_library_version()
    {
        var act = () => OrtRuntime.Create(Runtime.LibraryPath, apiVersion: 9999);
        act.Should().Throw<OrtLibraryException>()
            .Which.Message.Should().Contain("version 1.30").And.Contain("C API version 9999").And.Contain(Runtime.LibraryPath);
        // The failed probe must not have disturbed the working runtime.
        Runtime.GetAvailableProviders().Should().Contain("CPUExecutionProvider");
    }

    [Fact]
    public void A_library_that_is_not_onnx_runtime_is_rejected()
    {
        var libm = new[] { "/lib/x86_64-linux-gnu/libm.so.6", "/usr/lib/x86_64-linux-gnu/libm.so.6" }.First(File.Exists);
        var act = () => OrtRuntime.Create(libm);
        act.Should().Throw<OrtLibraryException>().WithMessage("*does not export OrtGetApiBase*");
    }

    [Fact]
    public void A_file_that_is_not_a_library_gives_a_load_error()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "not an ELF file");
            var act = () => OrtRuntime.Create(path);
            act.Should().Throw<OrtLibraryException>()
                .Which.Message.Should().Contain("Could not load").And.Contain(path).And.Contain(OrtLibraryLocator.LibraryVariable);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
