namespace OnnxPrune.Training.Data;

/// <summary>
/// Data that cannot be used: a file that is missing, unreadable, truncated or not in the format
/// it claims, arrays whose shapes do not fit together, labels outside the class range. The
/// message names the file (and the array or sample) and says what is wrong; the command line
/// reports it and exits with code 2.
/// </summary>
internal sealed class DataFormatException : Exception
{
    public DataFormatException(string message) : base(message) { }

    public DataFormatException(string message, Exception inner) : base(message, inner) { }
}
