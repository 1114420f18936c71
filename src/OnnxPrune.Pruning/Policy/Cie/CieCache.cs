using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace OnnxPrune.Pruning.Policy.Cie;

/// <summary>
/// The sensitivity grid on disk: one small JSON file per cell under a folder named by the key (model bytes, data,
/// grid settings), so shards on other machines sharing the folder never write the same file, a second run with
/// another target reads everything, and Ctrl-C loses at most the cells in flight. Files are written to a temporary
/// name and renamed (atomic on one file system); each carries its key, cell and a checksum, and anything that does
/// not match is recomputed rather than trusted.
/// </summary>
internal sealed class CieCache(string? root, string key)
{
    private readonly string? _folder = root is null ? null : Path.Combine(root, "cie", key[..32]);

    private sealed record Entry(string Key, string Cell, double Value, string Check);

    public double? Read(string cell)
    {
        if (_folder is null) return null;
        var path = PathOf(cell);
        try
        {
            if (!File.Exists(path)) return null;
            var e = JsonSerializer.Deserialize<Entry>(File.ReadAllText(path));
            if (e is null || e.Key != key || e.Cell != cell || e.Check != Check(e.Key, e.Cell, e.Value) || !double.IsFinite(e.Value)) return null;
            return e.Value;
        }
        catch (Exception x) when (x is IOException or JsonException or UnauthorizedAccessException) { return null; }
    }

    public void Write(string cell, double value)
    {
        if (_folder is null) return;
        Directory.CreateDirectory(_folder);
        var path = PathOf(cell);
        OnnxPrune.Onnx.AtomicFile.WriteAllText(path, JsonSerializer.Serialize(new Entry(key, cell, value, Check(key, cell, value))));
    }

    internal string PathOf(string cell) => Path.Combine(_folder!, cell + ".json");

    private static string Check(string key, string cell, double value) =>
        Hash(Encoding.UTF8.GetBytes($"{key}|{cell}|{value.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}"));

    public static string Hash(params byte[][] parts)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var p in parts) { sha.AppendData(BitConverter.GetBytes(p.Length)); sha.AppendData(p); }
        return Convert.ToHexString(sha.GetHashAndReset()).ToLowerInvariant();
    }
}
