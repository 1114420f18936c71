using System.Runtime.InteropServices;

namespace OnnxPrune.Runtime.Native;

/// <summary>A loaded ONNX Runtime library: its API table and version string.</summary>
internal sealed unsafe class OrtLibrary
{
    /// <summary>ORT_API_VERSION of the headers this binding was written against (ORT 1.30).</summary>
    public const uint ApiVersion = 30;

    private OrtLibrary(string path, OrtApi api, string versionString)
    {
        Path = path;
        Api = api;
        VersionString = versionString;
    }

    public string Path { get; }
    public OrtApi Api { get; }
    public string VersionString { get; }

    /// <summary>Loads the library and asks it for API <paramref name="apiVersion"/>.</summary>
    /// <exception cref="OrtLibraryException">Cannot be loaded, is not ONNX Runtime, or too old.</exception>
    public static OrtLibrary Open(string path, uint apiVersion = ApiVersion)
    {
        nint module;
        try
        {
            module = NativeLibrary.Load(path);
        }
        catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
        {
            throw new OrtLibraryException(
                $"Could not load the ONNX Runtime library '{path}': {e.Message}. Check that it is a " +
                $"{RuntimeInformation.ProcessArchitecture} Linux build and that its dependencies are installed, " +
                $"or set {OrtLibraryLocator.LibraryVariable} to another one.", e);
        }

        // The library stays loaded for the life of the process on success: sessions and the
        // env live in it, and unloading ORT is not supported.
        var ok = false;
        try
        {
            if (!NativeLibrary.TryGetExport(module, "OrtGetApiBase", out var getApiBaseExport))
                throw new OrtLibraryException(
                    $"'{path}' does not export OrtGetApiBase, so it is not an ONNX Runtime library.");
            var getApiBase = (delegate* unmanaged[Cdecl]<OrtApiBase*>)getApiBaseExport;
            var apiBase = getApiBase();
            var version = Utf8.Read(apiBase->GetVersionString()) ?? "unknown";
            var table = apiBase->GetApi(apiVersion);
            if (table == 0)
                throw new OrtLibraryException(
                    $"The ONNX Runtime library '{path}' is version {version} and does not provide C API " +
                    $"version {apiVersion}; OnnxPrune needs ONNX Runtime {OrtLibraryLocator.BundledVersion} or newer. " +
                    $"Run tools/bootstrap-ort.sh, or set {OrtLibraryLocator.LibraryVariable} to a newer build.");
            ok = true;
            return new OrtLibrary(path, new OrtApi(table), version);
        }
        finally
        {
            if (!ok) NativeLibrary.Free(module);
        }
    }

    /// <summary>Layout of the C struct <c>OrtApiBase</c>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct OrtApiBase
    {
        public delegate* unmanaged[Cdecl]<uint, nint> GetApi;
        public delegate* unmanaged[Cdecl]<byte*> GetVersionString;
    }
}
