using OnnxPrune.Runtime;

namespace OnnxPrune.Tests.Runtime;

public class OrtLibraryLocatorTests : IDisposable
{
    private readonly string temp = Directory.CreateTempSubdirectory("onnxprune-locator-").FullName;

    public void Dispose() => Directory.Delete(temp, recursive: true);

    private static Func<string, string?> Env(params (string Key, string Value)[] values) =>
        key => values.FirstOrDefault(v => v.Key == key).Value;

    [Fact]
    public void Explicit_variable_wins_over_the_cache()
    {
        var library = Path.Combine(temp, "custom.so");
        File.WriteAllText(library, "");
        var cacheLibrary = Path.Combine(temp, "cache", "ort-1.30.0", "libonnxruntime.so.1");
        Directory.CreateDirectory(Path.GetDirectoryName(cacheLibrary)!);
        File.WriteAllText(cacheLibrary, "");

        OrtLibraryLocator.Resolve(Env(("ONNXPRUNE_ORT_LIBRARY", library), ("ONNXPRUNE_CACHE", Path.Combine(temp, "cache"))))
            .Should().Be(library);
    }

    [Fact]
    public void Explicit_variable_pointing_nowhere_is_an_error_not_a_fallback()
    {
        var missing = Path.Combine(temp, "missing.so");
        var act = () => OrtLibraryLocator.Resolve(Env(("ONNXPRUNE_ORT_LIBRARY", missing)));
        act.Should().Throw<OrtLibraryNotFoundException>()
            .Which.Message.Should().Contain("ONNXPRUNE_ORT_LIBRARY").And.Contain(missing);
    }

    [Fact]
    public void Empty_cache_tells_the_user_how_to_get_the_library()
    {
        var act = () => OrtLibraryLocator.Resolve(Env(("ONNXPRUNE_CACHE", temp)));
        act.Should().Throw<OrtLibraryNotFoundException>()
            .Which.Message.Should().Contain("tools/bootstrap-ort.sh")
            .And.Contain("ONNXPRUNE_ORT_LIBRARY")
            .And.Contain(Path.Combine(temp, "ort-1.30.0", "libonnxruntime.so.1"));
    }

    [Fact]
    public void Finds_the_library_in_the_cache()
    {
        var cached = Path.Combine(temp, "ort-1.30.0", "libonnxruntime.so.1");
        Directory.CreateDirectory(Path.GetDirectoryName(cached)!);
        File.WriteAllText(cached, "");
        OrtLibraryLocator.Resolve(Env(("ONNXPRUNE_CACHE", temp))).Should().Be(cached);
    }

    [Theory]
    [InlineData("/c", "/x", "/h", "/c/ort-1.30.0/libonnxruntime.so.1")]
    [InlineData(null, "/x", "/h", "/x/onnxprune/ort-1.30.0/libonnxruntime.so.1")]
    [InlineData(null, null, "/h", "/h/.cache/onnxprune/ort-1.30.0/libonnxruntime.so.1")]
    public void Cache_location_follows_the_bootstrap_script(string? cache, string? xdg, string home, string expected)
    {
        string? Lookup(string key) => key switch
        {
            "ONNXPRUNE_CACHE" => cache,
            "XDG_CACHE_HOME" => xdg,
            "HOME" => home,
            _ => null,
        };
        OrtLibraryLocator.DefaultCachedLibraryPath(Lookup).Should().Be(expected);
    }
}
