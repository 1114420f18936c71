using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;
using OnnxPrune.IR;
using OnnxPrune.Runtime;

namespace OnnxPrune.Training.Data;

/// <summary>
/// Reads NumPy's .npy arrays and .npz archives (zip files of .npy, compressed or not) into
/// <see cref="TensorData"/>. Supports little-endian bool, int8/16/32/64, uint8/16/32/64,
/// float16/32/64 in C order; anything else is refused with a message naming the array.
/// </summary>
internal static partial class NpyFile
{
    /// <summary>Arrays of an .npz file by name (without the .npy suffix), in archive order.</summary>
    public static IReadOnlyList<KeyValuePair<string, TensorData>> ReadNpz(string path)
    {
        using var zip = OpenZip(path);
        var result = new List<KeyValuePair<string, TensorData>>();
        foreach (var entry in zip.Entries)
        {
            if (!entry.FullName.EndsWith(".npy", StringComparison.Ordinal)) continue;
            var name = entry.FullName[..^4];
            using var buffer = new MemoryStream();
            try
            {
                using var stream = entry.Open();
                stream.CopyTo(buffer);
            }
            catch (InvalidDataException e) { throw new NpyFormatException($"'{path}' array '{name}' cannot be decompressed: {e.Message}"); }
            result.Add(new(name, Parse(buffer.ToArray(), $"'{path}' array '{name}'")));
        }
        if (result.Count == 0) throw new NpyFormatException($"'{path}' holds no .npy arrays");
        return result;
    }

    public static TensorData ReadNpy(string path) => Parse(ReadAll(path), $"'{path}'");

    private static ZipArchive OpenZip(string path)
    {
        try { return ZipFile.OpenRead(path); }
        catch (FileNotFoundException) { throw new NpyFormatException($"'{path}' does not exist"); }
        catch (DirectoryNotFoundException) { throw new NpyFormatException($"'{path}' does not exist"); }
        catch (InvalidDataException) { throw new NpyFormatException($"'{path}' is not an .npz file (not a zip archive); save it with numpy.savez"); }
    }

    private static byte[] ReadAll(string path)
    {
        try { return File.ReadAllBytes(path); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new NpyFormatException($"'{path}' does not exist");
        }
    }

    [GeneratedRegex(@"'descr'\s*:\s*'([^']*)'")] private static partial Regex DescrPattern();
    [GeneratedRegex(@"'fortran_order'\s*:\s*(True|False)")] private static partial Regex OrderPattern();
    [GeneratedRegex(@"'shape'\s*:\s*\(([^)]*)\)")] private static partial Regex ShapePattern();

    /// <summary>Parses one .npy image (header "\x93NUMPY", version, header length, dict, data).</summary>
    public static TensorData Parse(byte[] bytes, string label)
    {
        try { return ParseUnchecked(bytes, label); }
        catch (OverflowException) { throw new NpyFormatException($"{label} declares sizes too large to hold (corrupt header)"); }
    }

    private static TensorData ParseUnchecked(byte[] bytes, string label)
    {
        if (bytes.Length < 10 || bytes[0] != 0x93 || Encoding.ASCII.GetString(bytes, 1, 5) != "NUMPY")
            throw new NpyFormatException($"{label} is not a .npy array (no NUMPY magic)");
        int major = bytes[6];
        int headerLength, headerStart;
        if (major == 1) { headerLength = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8)); headerStart = 10; }
        else if (major is 2 or 3 && bytes.Length >= 12) { headerLength = checked((int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8))); headerStart = 12; }
        else throw new NpyFormatException($"{label} has .npy version {major}, which is not supported");
        if ((long)headerStart + headerLength > bytes.Length) throw new NpyFormatException($"{label} is truncated (header)");
        var header = Encoding.Latin1.GetString(bytes, headerStart, headerLength);

        var descr = DescrPattern().Match(header);
        var order = OrderPattern().Match(header);
        var shape = ShapePattern().Match(header);
        if (!descr.Success || !order.Success || !shape.Success) throw new NpyFormatException($"{label} has a malformed .npy header: {header.Trim()}");
        if (order.Groups[1].Value == "True") throw new NpyFormatException($"{label} is in Fortran order; save it with numpy.ascontiguousarray");
        var dims = shape.Groups[1].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => long.TryParse(s, out var d) && d >= 0 ? d : throw new NpyFormatException($"{label} has a bad dimension '{s}'")).ToArray();
        long count = 1;
        foreach (var d in dims) count = checked(count * d);

        var (type, size) = ParseDescr(descr.Groups[1].Value, label);
        var dataStart = headerStart + headerLength;
        if (bytes.Length - dataStart != checked(count * size))
            throw new NpyFormatException($"{label} declares shape ({string.Join(",", dims)}) of {descr.Groups[1].Value} ({count * size} bytes) but holds {bytes.Length - dataStart} bytes");
        var raw = bytes.AsSpan(dataStart);
        return type switch
        {
            DataType.Float => TensorData.Create(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(raw).ToArray(), dims),
            DataType.Double => TensorData.Create(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, double>(raw).ToArray(), dims),
            DataType.Float16 => TensorData.Create(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, Half>(raw).ToArray(), dims),
            DataType.Int64 => TensorData.Create(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(raw).ToArray(), dims),
            DataType.Int32 => TensorData.Create(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, int>(raw).ToArray(), dims),
            DataType.Int16 => TensorData.Create(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, short>(raw).ToArray(), dims),
            DataType.Int8 => TensorData.Create(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, sbyte>(raw).ToArray(), dims),
            DataType.UInt64 => TensorData.Create(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(raw).ToArray(), dims),
            DataType.UInt32 => TensorData.Create(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, uint>(raw).ToArray(), dims),
            DataType.UInt16 => TensorData.Create(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(raw).ToArray(), dims),
            DataType.UInt8 => TensorData.Create(raw.ToArray(), dims),
            DataType.Bool => TensorData.Create(raw.ToArray().Select(b => b != 0).ToArray(), dims),
            _ => throw new NpyFormatException($"{label}: unsupported dtype"),
        };
    }

    private static (DataType Type, int Size) ParseDescr(string descr, string label)
    {
        if (descr.Length < 2) throw new NpyFormatException($"{label} has dtype '{descr}', which is not supported");
        var endian = descr[0];
        var code = descr[1..];
        if (endian == '>' && code is not ("i1" or "u1" or "b1"))
            throw new NpyFormatException($"{label} is big-endian ('{descr}'); convert it with array.astype(array.dtype.newbyteorder('<'))");
        return code switch
        {
            "f4" => (DataType.Float, 4), "f8" => (DataType.Double, 8), "f2" => (DataType.Float16, 2),
            "i8" => (DataType.Int64, 8), "i4" => (DataType.Int32, 4), "i2" => (DataType.Int16, 2), "i1" => (DataType.Int8, 1),
            "u8" => (DataType.UInt64, 8), "u4" => (DataType.UInt32, 4), "u2" => (DataType.UInt16, 2), "u1" => (DataType.UInt8, 1),
            "b1" => (DataType.Bool, 1),
            _ => throw new NpyFormatException($"{label} has dtype '{descr}', which is not supported (use float32/64, float16, int8-64, uint8-64 or bool)"),
        };
    }
}

/// <summary>A .npy/.npz file that cannot be read; the message names the file and the array.</summary>
internal sealed class NpyFormatException(string message) : Exception(message);
