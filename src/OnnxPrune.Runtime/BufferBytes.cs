using System.Runtime.InteropServices;

namespace OnnxPrune.Runtime;

/// <summary>The bytes of a managed array of unmanaged elements, whatever its element type.</summary>
internal static class BufferBytes
{
    public static Span<byte> Of(Array array) =>
        MemoryMarshal.CreateSpan(ref MemoryMarshal.GetArrayDataReference(array),
            checked((int)((long)array.Length * ElementSize(array))));

    private static int ElementSize(Array array) => array.GetType().GetElementType() is { } t && t == typeof(bool)
        ? 1
        : Marshal.SizeOf(array.GetType().GetElementType()!);
}
