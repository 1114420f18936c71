using System.Runtime.InteropServices;
using Google.Protobuf;
using OnnxPrune.IR;
using OnnxPrune.Onnx.Proto;

namespace OnnxPrune.Onnx;

/// <summary>
/// A lazy view of a TensorProto as read from a file: nothing is decoded or copied until
/// <see cref="GetRawBytes"/> is called, and raw_data is handed out without a copy. External data
/// is read from disk on first use. The serializer writes an unchanged tensor's proto back as is.
/// </summary>
internal sealed class ProtoTensor : Tensor
{
    private readonly string? _externalPath;
    private readonly long _externalOffset;
    private ReadOnlyMemory<byte>? _decoded;

    private ProtoTensor(TensorProto proto, DataType type, long[] dims, string? externalPath, long externalOffset)
        : base(type, dims)
    {
        Proto = proto;
        _externalPath = externalPath;
        _externalOffset = externalOffset;
    }

    /// <summary>1 TiB: beyond this a tensor's dims are corrupt, not a model.</summary>
    private const long MaxTensorBytes = 1L << 40;

    /// <summary>The proto as read (never modified).</summary>
    public TensorProto Proto { get; }

    public bool IsExternal => _externalPath is not null;

    /// <summary>The resolved file the data is read from, for external tensors.</summary>
    public string? ExternalPath => _externalPath;

    /// <summary>Checks the tensor's header against its data size (cheap: no decoding) and wraps it.</summary>
    /// <param name="modelDirectory">Folder that external locations are resolved against; null
    /// when the model came from bytes and external data is not allowed.</param>
    public static ProtoTensor Create(TensorProto proto, string? modelDirectory, string context)
    {
        string Where() => $"{context} '{proto.Name}'";
        var type = (DataType)proto.DataType;
        if (!DataTypes.IsKnown(type))
            throw new OnnxFormatException($"{Where()} has data type {proto.DataType}, which is not an ONNX tensor type");
        var dims = proto.Dims.ToArray();
        long count = 1;
        foreach (var d in dims)
        {
            if (d < 0) throw new OnnxFormatException($"{Where()} has a negative dimension {d} (dims [{string.Join(",", dims)}])");
            try { count = checked(count * d); }
            catch (OverflowException) { throw new OnnxFormatException($"{Where()} has dims [{string.Join(",", dims)}], whose product overflows"); }
        }
        long byteCount;
        try { byteCount = type == DataType.String ? 0 : checked(DataTypes.IsFourBit(type) ? (count + 1) / 2 : count * DataTypes.ElementSize(type)); }
        catch (OverflowException) { throw new OnnxFormatException($"{Where()} has dims [{string.Join(",", dims)}], whose size in bytes overflows"); }
        if (byteCount > MaxTensorBytes)
            throw new OnnxFormatException($"{Where()} has dims [{string.Join(",", dims)}] ({byteCount:N0} bytes), larger than any model OnnxPrune handles; the dims are wrong");
        if (proto.Segment is not null)
            throw new OnnxFormatException($"{Where()} is a segment of a larger tensor; segmented tensors are not supported");

        string? externalPath = null;
        long offset = 0;
        if (proto.DataLocation == TensorProto.Types.DataLocation.External)
        {
            if (modelDirectory is null)
                throw new OnnxFormatException($"{Where()} keeps its data in an external file, but the model was given as bytes without a folder; load it from its file instead");
            string? location = null;
            long? length = null;
            foreach (var entry in proto.ExternalData)
            {
                switch (entry.Key)
                {
                    case "location": location = entry.Value; break;
                    case "offset": offset = ParseLong(entry.Value, "offset"); break;
                    case "length": length = ParseLong(entry.Value, "length"); break;
                }
            }
            externalPath = ExternalDataLocation.Resolve(modelDirectory, location ?? "", proto.Name);
            var fileLength = new FileInfo(externalPath).Length;
            var needed = byteCount;
            if (type == DataType.String) throw new OnnxFormatException($"{Where()} is a string tensor in external data, which ONNX does not allow");
            if (length is { } l && l != needed)
                throw new OnnxFormatException($"{Where()} declares external length {l} bytes, but {DataTypes.Name(type)}[{string.Join(",", dims)}] needs {needed}");
            if (offset < 0 || needed > fileLength || offset > fileLength - needed)
                throw new OnnxFormatException($"{Where()} reads bytes {offset}..{offset + needed} of '{externalPath}', which has only {fileLength} bytes");
        }
        else
        {
            long have = HeldElementCount(proto, type, out var inRaw);
            long expected = inRaw ? DataTypes.RawByteCount(type, count) : DataTypes.IsFourBit(type) ? (count + 1) / 2 : count;
            if (have != expected)
                throw new OnnxFormatException(
                    $"{Where()} is {DataTypes.Name(type)}[{string.Join(",", dims)}] ({expected} {(inRaw ? "bytes" : "elements")}) but holds {have} {(inRaw ? "bytes" : "elements")}: " +
                    "the data type, the dims or the data are wrong");
        }
        return new ProtoTensor(proto, type, dims, externalPath, offset);

        long ParseLong(string s, string key) => long.TryParse(s, out var v)
            ? v
            : throw new OnnxFormatException($"{Where()} has external data {key} '{s}', which is not a number");
    }

    /// <summary>How much data the proto holds: bytes when in raw_data, otherwise entries of the
    /// typed field ONNX prescribes for the type.</summary>
    private static long HeldElementCount(TensorProto p, DataType type, out bool inRaw)
    {
        inRaw = p.HasRawData;
        if (inRaw) return p.RawData.Length;
        return type switch
        {
            DataType.Float => p.FloatData.Count,
            DataType.Complex64 => p.FloatData.Count / 2,
            DataType.Double => p.DoubleData.Count,
            DataType.Complex128 => p.DoubleData.Count / 2,
            DataType.Int64 => p.Int64Data.Count,
            DataType.UInt32 or DataType.UInt64 => p.Uint64Data.Count,
            DataType.String => p.StringData.Count,
            _ => p.Int32Data.Count,
        };
    }

    public override long ByteCount => DataType == DataType.String
        ? Proto.StringData.Sum(s => (long)s.Length)
        : DataTypes.RawByteCount(DataType, ElementCount);

    public override IReadOnlyList<byte[]> GetStrings() => DataType == DataType.String
        ? Proto.StringData.Select(s => s.ToByteArray()).ToList()
        : base.GetStrings();

    public override ReadOnlyMemory<byte> GetRawBytes()
    {
        if (DataType == DataType.String) throw new InvalidOperationException("string tensors have no raw layout");
        if (Proto.HasRawData && _externalPath is null) return Proto.RawData.Memory;
        // A large external tensor is read again at each use rather than kept: a model past 2 GB
        // would otherwise hold every weight it ever read (its whole size) beside the pruned copy.
        // The reads come from the page cache, which is not the process's memory.
        if (_externalPath is not null && ByteCount > MaxCachedExternalBytes)
        {
            // The last large read is usually garbage by now (a criterion or a slice is done with it),
            // but the GC lets such arrays pile up for a while: measured on a 3.2 GB model, RSS grew
            // by a gigabyte per tensor during removal. Return them before taking another.
            GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            return ReadExternal();
        }
        return _decoded ??= _externalPath is not null ? ReadExternal() : DecodeTyped();
    }

    /// <summary>External tensors up to this size are kept in memory once read.</summary>
    public const long MaxCachedExternalBytes = 64L << 20;

    private byte[] ReadExternal()
    {
        var size = checked((int)DataTypes.RawByteCount(DataType, ElementCount));
        var buffer = new byte[size];
        using var stream = new FileStream(_externalPath!, FileMode.Open, FileAccess.Read, FileShare.Read);
        stream.Seek(_externalOffset, SeekOrigin.Begin);
        stream.ReadExactly(buffer);
        return buffer;
    }

    /// <summary>Converts ONNX's typed fields (float_data, int32_data, ...) to raw layout.</summary>
    private byte[] DecodeTyped()
    {
        var p = Proto;
        var n = checked((int)ElementCount);
        switch (DataType)
        {
            case DataType.Float:
            case DataType.Complex64:
                return MemoryMarshal.AsBytes(p.FloatData.ToArray().AsSpan()).ToArray();
            case DataType.Double:
            case DataType.Complex128:
                return MemoryMarshal.AsBytes(p.DoubleData.ToArray().AsSpan()).ToArray();
            case DataType.Int64:
                return MemoryMarshal.AsBytes(p.Int64Data.ToArray().AsSpan()).ToArray();
            case DataType.UInt64:
                return MemoryMarshal.AsBytes(p.Uint64Data.ToArray().AsSpan()).ToArray();
            case DataType.UInt32:
                return MemoryMarshal.AsBytes(p.Uint64Data.Select(v => (uint)v).ToArray().AsSpan()).ToArray();
            case DataType.Int32:
                return MemoryMarshal.AsBytes(p.Int32Data.ToArray().AsSpan()).ToArray();
        }
        if (DataTypes.IsFourBit(DataType))
        {
            // int32_data holds one byte (two nibbles) per entry.
            return p.Int32Data.Take((n + 1) / 2).Select(v => (byte)v).ToArray();
        }
        // Narrow types (int8, uint8, bool, int16, uint16, float16, bfloat16, float8) are one
        // int32_data entry per element holding the element's bit pattern.
        int size = DataTypes.ElementSize(DataType);
        var result = new byte[n * size];
        for (int i = 0; i < n; i++)
        {
            var v = p.Int32Data[i];
            if (size == 1) result[i] = (byte)v;
            else { result[2 * i] = (byte)v; result[2 * i + 1] = (byte)(v >> 8); }
        }
        return result;
    }

    /// <summary>The same proto, named <paramref name="name"/> (a copy when the name differs).</summary>
    public TensorProto ProtoNamed(string name)
    {
        if (Proto.Name == name) return Proto;
        var copy = Proto.Clone();
        copy.Name = name;
        return copy;
    }
}
