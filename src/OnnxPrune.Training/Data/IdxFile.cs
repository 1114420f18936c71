using System.Buffers.Binary;
using System.IO.Compression;
using System.Runtime.InteropServices;
using OnnxPrune.IR;
using OnnxPrune.Runtime;

namespace OnnxPrune.Training.Data;

/// <summary>
/// Reads and writes IDX files, the format of MNIST and Fashion-MNIST: a 4-byte magic
/// (0, 0, element type, rank), one big-endian uint32 per dimension, then the elements row-major
/// and big-endian. Element types: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32,
/// 0x0E float64. A file that starts with the gzip magic (1f 8b) is decompressed first, whatever
/// its name. Every failure is a <see cref="DataFormatException"/> naming the file.
/// </summary>
internal static class IdxFile
{
    /// <summary>IDX element-type codes (the magic's third byte).</summary>
    public const byte UInt8 = 0x08, Int8 = 0x09, Int16 = 0x0B, Int32 = 0x0C, Float32 = 0x0D, Float64 = 0x0E;

    /// <summary>Reads an IDX file, gzipped or not, into a tensor of byte, sbyte, short, int,
    /// float or double elements (host byte order).</summary>
    /// <exception cref="DataFormatException">The file is missing, unreadable, not IDX, truncated
    /// or longer than its dimensions say.</exception>
    public static TensorData Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Parse(ReadAll(path), $"'{path}'");
    }

    /// <summary>Parses IDX bytes (gzipped or not); <paramref name="label"/> names the source in
    /// error messages.</summary>
    public static TensorData Parse(byte[] bytes, string label)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        if (bytes.Length >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b) bytes = Gunzip(bytes, label);
        if (bytes.Length < 4)
            throw new DataFormatException($"{label} is truncated: {bytes.Length} bytes, shorter than the 4-byte IDX magic");
        var magic = BinaryPrimitives.ReadUInt32BigEndian(bytes);
        var code = bytes[2];
        int rank = bytes[3];
        var size = ElementSize(code);
        if (bytes[0] != 0 || bytes[1] != 0 || size == 0 || rank == 0)
            throw new DataFormatException(
                $"{label} is not an IDX file: bad magic 0x{magic:X8} (expected 0x0000TTDD: TT the element type 08/09/0B/0C/0D/0E, DD the number of dimensions, e.g. 0x00000803 for MNIST images, 0x00000801 for labels)");
        var headerLength = 4 + 4 * rank;
        if (bytes.Length < headerLength)
            throw new DataFormatException($"{label} is truncated: magic 0x{magic:X8} declares {rank} dimensions ({headerLength} header bytes) but the file holds {bytes.Length} bytes");
        var dims = new long[rank];
        long count = 1;
        try
        {
            for (var i = 0; i < rank; i++)
            {
                dims[i] = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(4 + 4 * i));
                count = checked(count * dims[i]);
            }
            _ = checked(count * size);
        }
        catch (OverflowException) { throw new DataFormatException($"{label} declares dimensions [{string.Join(",", dims)}] too large to hold (corrupt header)"); }
        var expected = count * size;
        var actual = (long)bytes.Length - headerLength;
        var shape = $"[{string.Join(",", dims)}] of {TypeName(code)}";
        if (actual < expected)
            throw new DataFormatException($"{label} is truncated: its header declares {shape} ({expected} bytes of data) but only {actual} bytes follow");
        if (actual > expected)
            throw new DataFormatException($"{label} has a size mismatch: its header declares {shape} ({expected} bytes of data) but {actual} bytes follow");
        if (count > Array.MaxLength)
            throw new DataFormatException($"{label} declares {shape}, more elements than an array can hold");

        var raw = bytes.AsSpan(headerLength);
        var n = (int)count;
        return code switch
        {
            UInt8 => TensorData.Create(raw.ToArray(), dims),
            Int8 => TensorData.Create(MemoryMarshal.Cast<byte, sbyte>(raw).ToArray(), dims),
            Int16 => TensorData.Create(Swap(MemoryMarshal.Cast<byte, short>(raw).ToArray()), dims),
            Int32 => TensorData.Create(Swap(MemoryMarshal.Cast<byte, int>(raw).ToArray()), dims),
            Float32 => TensorData.Create(SwapFloat(raw, n), dims),
            _ => TensorData.Create(SwapDouble(raw, n), dims),
        };
    }

    /// <summary>Writes <paramref name="tensor"/> (uint8, int8, int16, int32, float or double,
    /// rank 1 to 255) as an IDX file, gzipped when <paramref name="gzip"/>. The file is written
    /// to a temporary name and then moved into place.</summary>
    /// <exception cref="ArgumentException">The element type or rank has no IDX form.</exception>
    public static void Write(string path, TensorData tensor, bool gzip = false)
    {
        ArgumentNullException.ThrowIfNull(path);
        var bytes = Serialize(tensor);
        var temp = path + ".tmp-" + Environment.ProcessId + "-" + Guid.NewGuid().ToString("N")[..8];
        try
        {
            using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
            {
                if (gzip)
                {
                    using var z = new GZipStream(file, CompressionLevel.Fastest, leaveOpen: true);
                    z.Write(bytes);
                }
                else file.Write(bytes);
            }
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    /// <summary>The IDX bytes (not gzipped) of <paramref name="tensor"/>.</summary>
    public static byte[] Serialize(TensorData tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        byte code = tensor.ElementType switch
        {
            DataType.UInt8 => UInt8, DataType.Int8 => Int8, DataType.Int16 => Int16, DataType.Int32 => Int32,
            DataType.Float => Float32, DataType.Double => Float64,
            _ => throw new ArgumentException($"IDX has no element type for {DataTypes.Name(tensor.ElementType)} (use uint8, int8, int16, int32, float or double)", nameof(tensor)),
        };
        if (tensor.Dims.Count is 0 or > 255) throw new ArgumentException($"IDX needs rank 1 to 255, got {tensor.Dims.Count}", nameof(tensor));
        var size = ElementSize(code);
        var header = 4 + 4 * tensor.Dims.Count;
        var result = new byte[checked(header + tensor.ElementCount * size)];
        result[2] = code;
        result[3] = (byte)tensor.Dims.Count;
        for (var i = 0; i < tensor.Dims.Count; i++)
        {
            if (tensor.Dims[i] > uint.MaxValue) throw new ArgumentException($"dimension {tensor.Dims[i]} exceeds IDX's uint32", nameof(tensor));
            BinaryPrimitives.WriteUInt32BigEndian(result.AsSpan(4 + 4 * i), (uint)tensor.Dims[i]);
        }
        var data = result.AsSpan(header);
        switch (code)
        {
            case UInt8: tensor.As<byte>().CopyTo(data); break;
            case Int8: MemoryMarshal.AsBytes(tensor.As<sbyte>().AsSpan()).CopyTo(data); break;
            case Int16: BinaryPrimitives.ReverseEndianness(tensor.As<short>(), MemoryMarshal.Cast<byte, short>(data)); break;
            case Int32: BinaryPrimitives.ReverseEndianness(tensor.As<int>(), MemoryMarshal.Cast<byte, int>(data)); break;
            case Float32: BinaryPrimitives.ReverseEndianness(MemoryMarshal.Cast<float, int>(tensor.As<float>()), MemoryMarshal.Cast<byte, int>(data)); break;
            default: BinaryPrimitives.ReverseEndianness(MemoryMarshal.Cast<double, long>(tensor.As<double>()), MemoryMarshal.Cast<byte, long>(data)); break;
        }
        return result;
    }

    private static int ElementSize(byte code) => code switch
    {
        UInt8 or Int8 => 1, Int16 => 2, Int32 or Float32 => 4, Float64 => 8, _ => 0,
    };

    private static string TypeName(byte code) => code switch
    {
        UInt8 => "uint8", Int8 => "int8", Int16 => "int16", Int32 => "int32", Float32 => "float32", _ => "float64",
    };

    private static byte[] ReadAll(string path)
    {
        try { return File.ReadAllBytes(path); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new DataFormatException($"'{path}' does not exist", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataFormatException($"'{path}' cannot be read: {e.Message}", e);
        }
    }

    private static byte[] Gunzip(byte[] bytes, string label)
    {
        try
        {
            using var input = new MemoryStream(bytes, writable: false);
            using var z = new GZipStream(input, CompressionMode.Decompress);
            using var output = new MemoryStream();
            z.CopyTo(output);
            return output.ToArray();
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            throw new DataFormatException($"{label} is gzipped but cannot be decompressed (truncated or corrupt): {e.Message}", e);
        }
    }

    private static T[] Swap<T>(T[] values) where T : unmanaged
    {
        if (typeof(T) == typeof(short)) BinaryPrimitives.ReverseEndianness((short[])(object)values, (short[])(object)values);
        else BinaryPrimitives.ReverseEndianness((int[])(object)values, (int[])(object)values);
        return values;
    }

    private static float[] SwapFloat(ReadOnlySpan<byte> raw, int n)
    {
        var result = new float[n];
        BinaryPrimitives.ReverseEndianness(MemoryMarshal.Cast<byte, int>(raw), MemoryMarshal.Cast<float, int>(result.AsSpan()));
        return result;
    }

    private static double[] SwapDouble(ReadOnlySpan<byte> raw, int n)
    {
        var result = new double[n];
        BinaryPrimitives.ReverseEndianness(MemoryMarshal.Cast<byte, long>(raw), MemoryMarshal.Cast<double, long>(result.AsSpan()));
        return result;
    }
}
