using System.Runtime.InteropServices;
using OnnxPrune.IR;
using OnnxPrune.Runtime.Native;

namespace OnnxPrune.Runtime.Data;

/// <summary>Between the IR's constant tensors and the arrays that cross into ONNX Runtime.</summary>
public static class TensorConversion
{
    /// <summary>A copy of <paramref name="tensor"/>'s data as a managed array of the matching type.</summary>
    /// <exception cref="NotSupportedException">Strings and types the binding does not carry.</exception>
    public static unsafe TensorData ToTensorData(Tensor tensor)
    {
        var clr = ElementTypes.ClrType(tensor.DataType)
            ?? throw new NotSupportedException($"{DataTypes.Name(tensor.DataType)} tensors cannot be passed to ONNX Runtime here");
        var raw = tensor.GetRawBytes().Span;
        var count = checked((int)tensor.ElementCount);
        var array = Array.CreateInstance(clr, count);
        if (tensor.DataType == DataType.Bool)
        {
            var b = (bool[])array;
            for (int i = 0; i < count; i++) b[i] = raw[i] != 0;
        }
        else if (count > 0)
        {
            // Same little-endian layout on both sides: one block copy into the pinned array.
            var handle = GCHandle.Alloc(array, GCHandleType.Pinned);
            try { raw.CopyTo(new Span<byte>((void*)handle.AddrOfPinnedObject(), raw.Length)); }
            finally { handle.Free(); }
        }
        return TensorData.Wrap(tensor.DataType, array, tensor.Dims.ToArray());
    }

    /// <summary>The elements widened to double (bool as 0/1), for comparisons.</summary>
    public static double[] ToDoubles(TensorData t) => t.Data switch
    {
        float[] f => Array.ConvertAll(f, v => (double)v),
        double[] d => d,
        Half[] h => Array.ConvertAll(h, v => (double)v),
        long[] l => Array.ConvertAll(l, v => (double)v),
        int[] i => Array.ConvertAll(i, v => (double)v),
        bool[] b => Array.ConvertAll(b, v => v ? 1.0 : 0.0),
        byte[] u => Array.ConvertAll(u, v => (double)v),
        sbyte[] s => Array.ConvertAll(s, v => (double)v),
        short[] s16 => Array.ConvertAll(s16, v => (double)v),
        ushort[] u16 => Array.ConvertAll(u16, v => (double)v),
        uint[] u32 => Array.ConvertAll(u32, v => (double)v),
        ulong[] u64 => Array.ConvertAll(u64, v => (double)v),
        _ => throw new NotSupportedException($"cannot read {DataTypes.Name(t.ElementType)} elements as numbers"),
    };
}
