namespace OnnxPrune.Runtime;

/// <summary>A call into ONNX Runtime returned a failed status. <see cref="Exception.Message"/> is
/// ORT's own message prefixed by the code's name, so logs say what kind of failure it was.</summary>
public sealed class OrtException : Exception
{
    public OrtException(OrtErrorCode errorCode, string ortMessage)
        : base($"ONNX Runtime error {Describe(errorCode)}: {ortMessage.TrimEnd()}")
    {
        ErrorCode = errorCode;
        OrtMessage = ortMessage;
    }

    public OrtErrorCode ErrorCode { get; }

    /// <summary>The message exactly as ONNX Runtime wrote it.</summary>
    public string OrtMessage { get; }

    private static string Describe(OrtErrorCode code) =>
        Enum.IsDefined(code) ? code.ToString() : $"code {(int)code}";
}
