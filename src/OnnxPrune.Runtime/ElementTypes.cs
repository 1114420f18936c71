using OnnxPrune.IR;

namespace OnnxPrune.Runtime;

/// <summary>
/// The element types that cross the managed/native boundary, and the .NET array element type
/// each one travels in. ONNX's TensorProto numbering is shared by the IR's <see cref="DataType"/>
/// and ORT's TensorElementType, so the enum value is passed to ORT as is.
/// </summary>
internal static class ElementTypes
{
    /// <summary>The ONNX type for a .NET element type, or null when unsupported.</summary>
    public static DataType? ForClrType(Type type) =>
        type == typeof(float) ? DataType.Float
        : type == typeof(double) ? DataType.Double
        : type == typeof(long) ? DataType.Int64
        : type == typeof(int) ? DataType.Int32
        : type == typeof(bool) ? DataType.Bool
        : type == typeof(byte) ? DataType.UInt8
        : type == typeof(sbyte) ? DataType.Int8
        : type == typeof(short) ? DataType.Int16
        : type == typeof(ushort) ? DataType.UInt16
        : type == typeof(uint) ? DataType.UInt32
        : type == typeof(ulong) ? DataType.UInt64
        : type == typeof(Half) ? DataType.Float16
        : null;

    public static bool IsSupported(DataType type) => ClrType(type) is not null;

    /// <summary>The .NET element type for an ONNX type, or null when unsupported
    /// (strings, bfloat16, complex, 8- and 4-bit floats, 4-bit ints).</summary>
    public static Type? ClrType(DataType type) => type switch
    {
        DataType.Float => typeof(float),
        DataType.Double => typeof(double),
        DataType.Int64 => typeof(long),
        DataType.Int32 => typeof(int),
        DataType.Bool => typeof(bool),
        DataType.UInt8 => typeof(byte),
        DataType.Int8 => typeof(sbyte),
        DataType.Int16 => typeof(short),
        DataType.UInt16 => typeof(ushort),
        DataType.UInt32 => typeof(uint),
        DataType.UInt64 => typeof(ulong),
        DataType.Float16 => typeof(Half),
        _ => null,
    };

    public static string Unsupported(DataType type) =>
        type == DataType.String
            ? "string tensors are not supported by OnnxPrune.Runtime"
            : $"element type {DataTypes.Name(type)} is not supported by OnnxPrune.Runtime (supported: " +
              "float, double, float16, int8/16/32/64, uint8/16/32/64, bool)";
}
