namespace OnnxPrune.Runtime;

/// <summary>ORT's <c>OrtLoggingLevel</c>: messages below the chosen level are dropped.</summary>
internal enum OrtLoggingLevel
{
    Verbose = 0,
    Info = 1,
    Warning = 2,
    Error = 3,
    Fatal = 4,
}
