using Ort = Microsoft.ML.OnnxRuntime;

namespace OnnxPrune.Runtime;

/// <summary>A call into ONNX Runtime returned a failed status. <see cref="Exception.Message"/> is
/// ORT's own message prefixed by the code's name, so logs say what kind of failure it was.</summary>
internal sealed class OrtException : Exception
{
    public OrtException(OrtErrorCode errorCode, string ortMessage, Exception? inner = null)
        : base($"ONNX Runtime error {Describe(errorCode)}: {ortMessage.TrimEnd()}", inner)
    {
        ErrorCode = errorCode;
        OrtMessage = ortMessage;
    }

    public OrtErrorCode ErrorCode { get; }

    /// <summary>The message exactly as ONNX Runtime wrote it.</summary>
    public string OrtMessage { get; }

    /// <summary>The managed API's exception in ours. It keeps ORT's status code only in its
    /// message, as a "[ErrorCode:Name] " prefix, which our message says in words instead.</summary>
    internal static OrtException From(Ort.OnnxRuntimeException e)
    {
        const string prefix = "[ErrorCode:";
        var message = e.Message;
        var code = OrtErrorCode.Fail;
        var end = message.IndexOf("] ", StringComparison.Ordinal);
        if (message.StartsWith(prefix, StringComparison.Ordinal) && end > 0)
        {
            code = Enum.TryParse<OrtErrorCode>(message[prefix.Length..end], out var parsed) ? parsed : OrtErrorCode.Fail;
            message = message[(end + 2)..];
        }
        return new OrtException(code, message, e);
    }

    private static string Describe(OrtErrorCode code) =>
        Enum.IsDefined(code) ? code.ToString() : $"code {(int)code}";
}
