using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace OnnxPrune.Runtime.Native;

/// <summary>
/// A native <c>const char* names[]</c> (UTF-8, NUL-terminated) in one unmanaged block, for the
/// name arrays of OrtApi::Run. Native rather than pinned managed memory so it can outlive a
/// single call (the latency benchmark reuses one across runs).
/// </summary>
internal sealed unsafe class NativeStringArray : IDisposable
{
    private void* block;

    public NativeStringArray(IReadOnlyList<string> items)
    {
        Count = items.Count;
        var pointerBytes = (nuint)(Count * sizeof(byte*));
        nuint textBytes = 0;
        foreach (var item in items) textBytes += (nuint)Encoding.UTF8.GetByteCount(item) + 1;
        block = NativeMemory.Alloc(pointerBytes + textBytes);

        var pointers = (byte**)block;
        var text = new Span<byte>((byte*)block + pointerBytes, checked((int)textBytes));
        for (var i = 0; i < Count; i++)
        {
            var length = Encoding.UTF8.GetBytes(items[i], text);
            text[length] = 0;
            pointers[i] = (byte*)Unsafe.AsPointer(ref text[0]);
            text = text[(length + 1)..];
        }
    }

    public int Count { get; }

    public byte** Pointers => block != null ? (byte**)block : throw new ObjectDisposedException(nameof(NativeStringArray));

    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    ~NativeStringArray() => Free();

    private void Free()
    {
        if (block == null) return;
        NativeMemory.Free(block);
        block = null;
    }
}
