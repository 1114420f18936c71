using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace OnnxPrune.IR;

/// <summary>
/// Constant tensor data (an initializer or an attribute value). Immutable: a pass that changes
/// weights makes a new tensor. Subclasses decide where the bytes live; the serializer's own
/// subclass is a lazy view of the file's bytes that decodes nothing until asked.
/// </summary>
public abstract class Tensor
{
    protected Tensor(DataType dataType, long[] dims)
    {
        DataType = dataType;
        Dims = dims;
    }

    public DataType DataType { get; }

    /// <summary>The dims; callers must not modify the array.</summary>
    public long[] Dims { get; }

    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (var d in Dims) n *= d;
            return n;
        }
    }

    public Shape Shape => new(Dims);

    /// <summary>The data in ONNX raw layout (little-endian, packed). Strings have none: see
    /// <see cref="GetStrings"/>. May decode or read from disk on first call.</summary>
    public abstract ReadOnlyMemory<byte> GetRawBytes();

    /// <summary>String tensors only: each element's bytes.</summary>
    public virtual IReadOnlyList<byte[]> GetStrings() =>
        throw new InvalidOperationException($"a {DataTypes.Name(DataType)} tensor holds no strings");

    /// <summary>Size of the data in bytes without decoding it (0 for strings).</summary>
    public virtual long ByteCount => DataTypes.RawByteCount(DataType, ElementCount);

    public ReadOnlySpan<T> AsSpan<T>() where T : unmanaged => MemoryMarshal.Cast<byte, T>(GetRawBytes().Span);

    public float[] ToFloatArray()
    {
        if (DataType == DataType.Float) return AsSpan<float>().ToArray();
        return ToDoubleArray().Select(d => (float)d).ToArray();
    }

    /// <summary>Values widened to double, for any numeric or bool type.</summary>
    public double[] ToDoubleArray()
    {
        var raw = GetRawBytes().Span;
        var n = checked((int)ElementCount);
        var result = new double[n];
        for (int i = 0; i < n; i++) result[i] = ReadAsDouble(raw, i);
        return result;
    }

    /// <summary>Values as int64, for integer, bool and (truncated) floating types.</summary>
    public long[] ToInt64Array()
    {
        var raw = GetRawBytes().Span;
        var n = checked((int)ElementCount);
        var result = new long[n];
        for (int i = 0; i < n; i++)
        {
            // 64-bit integers are read directly (double would lose precision); every other type fits in a double exactly.
            result[i] = DataType switch
            {
                DataType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(raw[(i * 8)..]),
                DataType.UInt64 => (long)BinaryPrimitives.ReadUInt64LittleEndian(raw[(i * 8)..]),
                _ => (long)ReadAsDouble(raw, i),
            };
        }
        return result;
    }

    private double ReadAsDouble(ReadOnlySpan<byte> raw, int i) => DataType switch
    {
        DataType.Float => BinaryPrimitives.ReadSingleLittleEndian(raw[(i * 4)..]),
        DataType.Double => BinaryPrimitives.ReadDoubleLittleEndian(raw[(i * 8)..]),
        DataType.Float16 => (double)BinaryPrimitives.ReadHalfLittleEndian(raw[(i * 2)..]),
        DataType.BFloat16 => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(raw[(i * 2)..]) << 16),
        DataType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(raw[(i * 8)..]),
        DataType.UInt64 => BinaryPrimitives.ReadUInt64LittleEndian(raw[(i * 8)..]),
        DataType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(raw[(i * 4)..]),
        DataType.UInt32 => BinaryPrimitives.ReadUInt32LittleEndian(raw[(i * 4)..]),
        DataType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(raw[(i * 2)..]),
        DataType.UInt16 => BinaryPrimitives.ReadUInt16LittleEndian(raw[(i * 2)..]),
        DataType.Int8 => (sbyte)raw[i],
        DataType.UInt8 or DataType.Bool => raw[i],
        _ => throw new NotSupportedException($"cannot read {DataTypes.Name(DataType)} elements as numbers"),
    };

    public override string ToString() => $"{DataTypes.Name(DataType)}[{string.Join(",", Dims)}]";
}

/// <summary>A tensor whose bytes are held in memory in raw layout.</summary>
public sealed class DenseTensor : Tensor
{
    private readonly ReadOnlyMemory<byte> _raw;

    public DenseTensor(DataType dataType, long[] dims, ReadOnlyMemory<byte> raw) : base(dataType, dims)
    {
        if (dataType == DataType.String) throw new ArgumentException("use StringTensor for strings");
        var expected = DataTypes.RawByteCount(dataType, ElementCount);
        if (raw.Length != expected)
            throw new ArgumentException($"{DataTypes.Name(dataType)}[{string.Join(",", dims)}] needs {expected} bytes, got {raw.Length}");
        _raw = raw;
    }

    public override ReadOnlyMemory<byte> GetRawBytes() => _raw;

    public static DenseTensor FromFloats(long[] dims, ReadOnlySpan<float> values) =>
        new(DataType.Float, dims, MemoryMarshal.AsBytes(values).ToArray());

    public static DenseTensor FromDoubles(long[] dims, ReadOnlySpan<double> values) =>
        new(DataType.Double, dims, MemoryMarshal.AsBytes(values).ToArray());

    public static DenseTensor FromInt64s(long[] dims, ReadOnlySpan<long> values) =>
        new(DataType.Int64, dims, MemoryMarshal.AsBytes(values).ToArray());

    public static DenseTensor FromInt32s(long[] dims, ReadOnlySpan<int> values) =>
        new(DataType.Int32, dims, MemoryMarshal.AsBytes(values).ToArray());

    /// <summary>A tensor of <paramref name="dataType"/> holding <paramref name="values"/>
    /// converted from double (for constant folding across types).</summary>
    public static DenseTensor FromDoubles(DataType dataType, long[] dims, ReadOnlySpan<double> values)
    {
        int size = DataTypes.ElementSize(dataType);
        var bytes = new byte[values.Length * size];
        var span = bytes.AsSpan();
        for (int i = 0; i < values.Length; i++)
        {
            var v = values[i];
            var dst = span[(i * size)..];
            switch (dataType)
            {
                case DataType.Float: BinaryPrimitives.WriteSingleLittleEndian(dst, (float)v); break;
                case DataType.Double: BinaryPrimitives.WriteDoubleLittleEndian(dst, v); break;
                case DataType.Float16: BinaryPrimitives.WriteHalfLittleEndian(dst, (Half)v); break;
                case DataType.Int64: BinaryPrimitives.WriteInt64LittleEndian(dst, (long)v); break;
                case DataType.UInt64: BinaryPrimitives.WriteUInt64LittleEndian(dst, (ulong)v); break;
                case DataType.Int32: BinaryPrimitives.WriteInt32LittleEndian(dst, (int)v); break;
                case DataType.UInt32: BinaryPrimitives.WriteUInt32LittleEndian(dst, (uint)v); break;
                case DataType.Int16: BinaryPrimitives.WriteInt16LittleEndian(dst, (short)v); break;
                case DataType.UInt16: BinaryPrimitives.WriteUInt16LittleEndian(dst, (ushort)v); break;
                case DataType.Int8: dst[0] = (byte)(sbyte)v; break;
                case DataType.UInt8: dst[0] = (byte)v; break;
                case DataType.Bool: dst[0] = v != 0 ? (byte)1 : (byte)0; break;
                default: throw new NotSupportedException($"cannot build a {DataTypes.Name(dataType)} tensor from numbers");
            }
        }
        return new DenseTensor(dataType, dims, bytes);
    }

    /// <summary>Int64 values written into a tensor of an integer type (int64 or int32), as shape
    /// arithmetic needs.</summary>
    public static DenseTensor FromInt64s(DataType dataType, long[] dims, ReadOnlySpan<long> values)
    {
        if (dataType == DataType.Int64) return FromInt64s(dims, values);
        var asDouble = new double[values.Length];
        for (int i = 0; i < values.Length; i++) asDouble[i] = values[i];
        return FromDoubles(dataType, dims, asDouble);
    }
}

/// <summary>A tensor of strings.</summary>
public sealed class StringTensor : Tensor
{
    private readonly IReadOnlyList<byte[]> _values;

    public StringTensor(long[] dims, IReadOnlyList<byte[]> values) : base(DataType.String, dims) => _values = values;

    public override ReadOnlyMemory<byte> GetRawBytes() =>
        throw new InvalidOperationException("string tensors have no raw layout");

    public override IReadOnlyList<byte[]> GetStrings() => _values;
    public override long ByteCount => _values.Sum(v => (long)v.Length);
}
