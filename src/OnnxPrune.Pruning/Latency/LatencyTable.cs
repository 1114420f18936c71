using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using OnnxPrune.Runtime;

namespace OnnxPrune.Pruning.Latency;

/// <summary>
/// Milliseconds of isolated layers by (signature, in, out), measured on demand by
/// <see cref="LayerProbe"/> and cached on disk, one file per <see cref="LatencyTableIdentity"/>.
/// Several runs may share the folder at once: a miss first re-reads the file (another run may have
/// measured the entry), every write re-reads and merges before replacing the file through a
/// temporary file and a rename (readers never see half a file, and no writer drops another's
/// entries, short of two renames racing, which loses entries that are then measured again). A file
/// that cannot be read or parsed, or that belongs to another identity, is ignored: its entries are
/// measured again and the file rewritten. A failed write leaves the entries in memory only.
/// Not thread-safe; one table per pruning run.
/// </summary>
internal sealed class LatencyTable
{
    private const int FormatVersion = 1;
    private readonly Dictionary<string, double> _entries = new(StringComparer.Ordinal);
    private readonly Func<LayerSignature, int, int, double> _measure;

    /// <param name="folder">Cache folder (created on the first write); see <see cref="LatencyTableIdentity.DefaultFolder"/>.</param>
    /// <param name="measure">Stands in for <see cref="LayerProbe.Measure"/> (tests count calls with it).</param>
    /// <param name="identity">Stands in for <see cref="LatencyTableIdentity.Describe"/> (tests fake another machine).</param>
    public LatencyTable(string folder, SessionSettings settings, int batch,
        Func<LayerSignature, int, int, double>? measure = null, string? identity = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batch);
        Folder = folder;
        Settings = settings;
        Batch = batch;
        Identity = identity ?? LatencyTableIdentity.Describe(settings, batch);
        FilePath = Path.Combine(folder, LatencyTableIdentity.FileName(Identity));
        _measure = measure ?? ((s, cin, cout) => LayerProbe.Measure(s, cin, cout, settings));
        MergeFromDisk();
    }

    public string Folder { get; }
    public SessionSettings Settings { get; }
    public int Batch { get; }
    public string Identity { get; }
    public string FilePath { get; }

    /// <summary>Lookups answered by measuring.</summary>
    public int Measured { get; private set; }
    /// <summary>Lookups answered from memory or the cache file.</summary>
    public int Cached { get; private set; }
    /// <summary>Time spent measuring (probes only, not file work).</summary>
    public TimeSpan MeasureTime { get; private set; }
    /// <summary>Why the last write failed, or null.</summary>
    public string? LastWriteError { get; private set; }

    public int Count => _entries.Count;

    /// <summary>Median milliseconds of the layer alone at widths (<paramref name="cin"/>, <paramref name="cout"/>).</summary>
    public double Milliseconds(LayerSignature signature, int cin, int cout)
    {
        var key = EntryKey(signature, cin, cout);
        if (_entries.TryGetValue(key, out var ms) || (MergeFromDisk() && _entries.TryGetValue(key, out ms)))
        {
            Cached++;
            return ms;
        }
        var clock = Stopwatch.StartNew();
        ms = _measure(signature, cin, cout);
        MeasureTime += clock.Elapsed;
        if (!double.IsFinite(ms) || ms <= 0) throw new InvalidOperationException($"the probe of '{signature.Key}' ({cin} -> {cout}) measured {ms} ms");
        Measured++;
        _entries[key] = ms;
        Write();
        return ms;
    }

    /// <summary>Whether the table holds the entry already (memory only; never measures).</summary>
    public bool Contains(LayerSignature signature, int cin, int cout) => _entries.ContainsKey(EntryKey(signature, cin, cout));

    private static string EntryKey(LayerSignature s, int cin, int cout) =>
        s.Key + " | " + cin.ToString(CultureInfo.InvariantCulture) + " -> " + cout.ToString(CultureInfo.InvariantCulture);

    /// <summary>Adds the file's entries that memory lacks; false when the file added nothing.</summary>
    private bool MergeFromDisk()
    {
        int before = _entries.Count;
        foreach (var (key, ms) in ReadFile()) _entries.TryAdd(key, ms);
        return _entries.Count > before;
    }

    /// <summary>The file's valid entries; none when it is missing, unreadable, malformed or another identity's.</summary>
    private List<(string Key, double Ms)> ReadFile()
    {
        var entries = new List<(string, double)>();
        try
        {
            if (!File.Exists(FilePath)) return entries;
            using var doc = JsonDocument.Parse(File.ReadAllBytes(FilePath));
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("format", out var format) || format.ValueKind != JsonValueKind.Number || format.GetInt32() != FormatVersion
                || !root.TryGetProperty("identity", out var identity) || identity.ValueKind != JsonValueKind.String || identity.GetString() != Identity
                || !root.TryGetProperty("entries", out var list) || list.ValueKind != JsonValueKind.Object)
                return entries;
            foreach (var entry in list.EnumerateObject())
                if (entry.Value.ValueKind == JsonValueKind.Number && entry.Value.TryGetDouble(out var ms) && double.IsFinite(ms) && ms > 0)
                    entries.Add((entry.Name, ms));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or FormatException or InvalidOperationException)
        {
            entries.Clear();
        }
        return entries;
    }

    /// <summary>Merges the file's current entries and replaces it atomically.</summary>
    private void Write()
    {
        MergeFromDisk();
        string? temp = null;
        try
        {
            Directory.CreateDirectory(Folder);
            temp = Path.Combine(Folder, $".{Path.GetFileName(FilePath)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
            using (var stream = File.Create(temp))
            using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
            {
                json.WriteStartObject();
                json.WriteNumber("format", FormatVersion);
                json.WriteString("identity", Identity);
                json.WriteStartObject("entries");
                foreach (var (key, ms) in _entries.OrderBy(e => e.Key, StringComparer.Ordinal)) json.WriteNumber(key, ms);
                json.WriteEndObject();
                json.WriteEndObject();
            }
            File.Move(temp, FilePath, overwrite: true);
            temp = null;
            LastWriteError = null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LastWriteError = $"could not write the latency cache {FilePath}: {e.Message}";
        }
        finally
        {
            if (temp is not null) try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
