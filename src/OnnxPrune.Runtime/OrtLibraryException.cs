namespace OnnxPrune.Runtime;

/// <summary>The ONNX Runtime native library could not be loaded: the application references no
/// native package (Microsoft.ML.OnnxRuntime or Microsoft.ML.OnnxRuntime.Gpu), or the library
/// found does not fit this managed API.</summary>
internal sealed class OrtLibraryException : Exception
{
    public OrtLibraryException(string message, Exception? inner = null) : base(message, inner) { }
}
