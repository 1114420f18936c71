namespace OnnxPrune.IR;

/// <summary>Element types of tensors, numbered as ONNX's TensorProto.DataType so that a number
/// read from a file maps to the same member without a table.</summary>
public enum DataType
{
    Undefined = 0, Float = 1, UInt8 = 2, Int8 = 3, UInt16 = 4, Int16 = 5, Int32 = 6, Int64 = 7,
    String = 8, Bool = 9, Float16 = 10, Double = 11, UInt32 = 12, UInt64 = 13, Complex64 = 14,
    Complex128 = 15, BFloat16 = 16, Float8E4M3FN = 17, Float8E4M3FNUZ = 18, Float8E5M2 = 19,
    Float8E5M2FNUZ = 20, UInt4 = 21, Int4 = 22, Float4E2M1 = 23,
}

public static class DataTypes
{
    /// <summary>Bytes per element in ONNX's raw (little-endian) layout; 0 for strings and for
    /// 4-bit types, which pack two elements per byte (see <see cref="RawByteCount"/>).</summary>
    public static int ElementSize(DataType t) => t switch
    {
        DataType.Float or DataType.Int32 or DataType.UInt32 => 4,
        DataType.Double or DataType.Int64 or DataType.UInt64 or DataType.Complex64 => 8,
        DataType.Complex128 => 16,
        DataType.UInt8 or DataType.Int8 or DataType.Bool or DataType.Float8E4M3FN or DataType.Float8E4M3FNUZ
            or DataType.Float8E5M2 or DataType.Float8E5M2FNUZ => 1,
        DataType.UInt16 or DataType.Int16 or DataType.Float16 or DataType.BFloat16 => 2,
        _ => 0,
    };

    public static bool IsFourBit(DataType t) => t is DataType.UInt4 or DataType.Int4 or DataType.Float4E2M1;

    /// <summary>Bytes that <paramref name="count"/> elements occupy in raw form.</summary>
    public static long RawByteCount(DataType t, long count) =>
        IsFourBit(t) ? (count + 1) / 2 : count * ElementSize(t);

    public static bool IsFloatingPoint(DataType t) => t is DataType.Float or DataType.Double or DataType.Float16
        or DataType.BFloat16;

    public static bool IsKnown(DataType t) => Enum.IsDefined(t) && t != DataType.Undefined;

    /// <summary>Lower-case name as ONNX documentation spells it (float, int64, ...).</summary>
    public static string Name(DataType t) => t switch
    {
        DataType.Float => "float", DataType.Double => "double", DataType.Float16 => "float16",
        DataType.BFloat16 => "bfloat16", DataType.Int64 => "int64", DataType.Int32 => "int32",
        DataType.Int16 => "int16", DataType.Int8 => "int8", DataType.UInt8 => "uint8",
        DataType.UInt16 => "uint16", DataType.UInt32 => "uint32", DataType.UInt64 => "uint64",
        DataType.Bool => "bool", DataType.String => "string",
        _ => Enum.IsDefined(t) ? t.ToString().ToLowerInvariant() : $"type{(int)t}",
    };
}
