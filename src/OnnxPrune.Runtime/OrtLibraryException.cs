namespace OnnxPrune.Runtime;

/// <summary>The ONNX Runtime native library could not be found, loaded, or is too old.</summary>
public class OrtLibraryException : Exception
{
    public OrtLibraryException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>No libonnxruntime.so.1 at the configured or default location.</summary>
public sealed class OrtLibraryNotFoundException : OrtLibraryException
{
    public OrtLibraryNotFoundException(string message) : base(message) { }
}
