using System.Runtime.InteropServices;
using System.Text;

namespace OnnxPrune.Runtime.Native;

/// <summary>UTF-8 C strings in both directions (ORTCHAR_T is char on Linux, so paths are UTF-8 too).</summary>
internal static unsafe class Utf8
{
    /// <summary>Reads a NUL-terminated string ORT owns; null stays null.</summary>
    public static string? Read(byte* text) =>
        text == null ? null : Marshal.PtrToStringUTF8((nint)text);

    /// <summary>NUL-terminated bytes for a string argument, to be pinned with <c>fixed</c>.</summary>
    public static byte[] Terminated(string text)
    {
        if (text.Contains('\0'))
            throw new ArgumentException($"string contains a NUL character and cannot be passed to ONNX Runtime: \"{text.Replace("\0", "\\0")}\"");
        var bytes = new byte[Encoding.UTF8.GetByteCount(text) + 1];
        Encoding.UTF8.GetBytes(text, bytes);
        return bytes;
    }
}
