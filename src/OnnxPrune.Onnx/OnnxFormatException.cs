namespace OnnxPrune.Onnx;

/// <summary>
/// The input is not a valid ONNX model (or refers to data it may not read). The message names
/// the file and, where known, the node, value or tensor, and says what is wrong; it is meant for
/// the user, so callers print it as is.
/// </summary>
internal sealed class OnnxFormatException : Exception
{
    public OnnxFormatException(string message, Exception? inner = null) : base(message, inner) { }
}
