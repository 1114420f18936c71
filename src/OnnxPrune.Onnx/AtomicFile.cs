namespace OnnxPrune.Onnx;

/// <summary>
/// Writes a file so that a reader (or a run stopped half-way) sees the old content or the new, never a part: the
/// bytes go to a temporary file beside the target (same folder, so the rename stays on one file system), then a
/// rename replaces the target. The temporary name is unique per process, thread and call, so concurrent writers
/// of one cache folder never share one.
/// </summary>
internal static class AtomicFile
{
    public static void WriteAllBytes(string path, byte[] bytes) => Write(path, temp => File.WriteAllBytes(temp, bytes));

    public static void WriteAllText(string path, string text) => Write(path, temp => File.WriteAllText(temp, text));

    /// <summary>Runs <paramref name="write"/> on a temporary path, then renames it over <paramref name="path"/>; the temporary file is removed on failure.</summary>
    public static void Write(string path, Action<string> write)
    {
        var full = Path.GetFullPath(path);
        var temp = $"{full}.{Environment.ProcessId}.{Environment.CurrentManagedThreadId}.{Guid.NewGuid():N}.tmp";
        try
        {
            write(temp);
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }
}
