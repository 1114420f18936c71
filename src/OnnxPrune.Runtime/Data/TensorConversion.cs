using OnnxPrune.IR;

namespace OnnxPrune.Runtime.Data;

/// <summary>Between the IR's constant tensors and the arrays that cross into ONNX Runtime.</summary>
internal static class TensorConversion
{
    /// <summary>A copy of <paramref name="tensor"/>'s data as a managed array of the matching type.</summary>
    /// <exception cref="NotSupportedException">Strings and types the binding does not carry.</exception>
    public static TensorData ToTensorData(Tensor tensor)
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
            // Same little-endian layout on both sides: one block copy.
            raw.CopyTo(BufferBytes.Of(array));
        }
        return TensorData.Wrap(tensor.DataType, array, tensor.Dims.ToArray());
    }

    /// <summary>The elements widened to double (bool as 0/1), for comparisons.</summary>
    public static double[] ToDoubles(TensorData t) => t.ElementType switch
    {
        // Switch on the element type, not the array's runtime type: the CLR lets an sbyte[] pass
        // as byte[] (and ushort[]/short[], uint[]/int[], ulong[]/long[]), which would misread signs.
        DataType.Float => Array.ConvertAll((float[])t.Data, v => (double)v),
        DataType.Double => (double[])t.Data,
        DataType.Float16 => Array.ConvertAll((Half[])t.Data, v => (double)v),
        DataType.Int64 => Array.ConvertAll((long[])t.Data, v => (double)v),
        DataType.Int32 => Array.ConvertAll((int[])t.Data, v => (double)v),
        DataType.Int16 => Array.ConvertAll((short[])t.Data, v => (double)v),
        DataType.Int8 => Array.ConvertAll((sbyte[])t.Data, v => (double)v),
        DataType.UInt64 => Array.ConvertAll((ulong[])t.Data, v => (double)v),
        DataType.UInt32 => Array.ConvertAll((uint[])t.Data, v => (double)v),
        DataType.UInt16 => Array.ConvertAll((ushort[])t.Data, v => (double)v),
        DataType.UInt8 => Array.ConvertAll((byte[])t.Data, v => (double)v),
        DataType.Bool => Array.ConvertAll((bool[])t.Data, v => v ? 1.0 : 0.0),
        _ => throw new NotSupportedException($"cannot read {DataTypes.Name(t.ElementType)} elements as numbers"),
    };
}
