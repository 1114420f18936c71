namespace OnnxPrune.Runtime;

/// <summary>ONNX Runtime's <c>OrtErrorCode</c>, same numbering as the C header (codes after
/// <see cref="EpFail"/> were added in later ORT releases and may come from newer libraries).</summary>
internal enum OrtErrorCode
{
    Ok = 0,
    Fail = 1,
    InvalidArgument = 2,
    NoSuchFile = 3,
    NoModel = 4,
    EngineError = 5,
    RuntimeException = 6,
    InvalidProtobuf = 7,
    /// <summary>Despite the name: the session is in the wrong state for the call.</summary>
    ModelLoaded = 8,
    NotImplemented = 9,
    InvalidGraph = 10,
    EpFail = 11,
    ModelLoadCanceled = 12,
    ModelRequiresCompilation = 13,
    NotFound = 14,
    DeviceReset = 15,
}
