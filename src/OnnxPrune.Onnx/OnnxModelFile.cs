using Google.Protobuf;
using OnnxPrune.IR;
using OnnxPrune.Onnx.Proto;

namespace OnnxPrune.Onnx;

/// <summary>When initializers go into a separate data file.</summary>
internal enum ExternalDataMode
{
    /// <summary>Inline, unless the model would exceed protobuf's 2 GB message limit.</summary>
    Auto,
    /// <summary>Every initializer of at least <see cref="SaveOptions.ExternalThresholdBytes"/> bytes goes to the data file.</summary>
    Always,
    /// <summary>Everything inline; saving a model over the limit fails.</summary>
    Never,
}

internal sealed record SaveOptions
{
    public ExternalDataMode ExternalData { get; init; } = ExternalDataMode.Auto;

    /// <summary>Tensors smaller than this stay inline even when others go to the data file.</summary>
    public long ExternalThresholdBytes { get; init; } = 1024;

    /// <summary>Total initializer bytes above which Auto switches to external data. protobuf
    /// cannot encode a message of 2 GiB or more; the margin leaves room for the graph itself.</summary>
    public long InlineLimitBytes { get; init; } = (2L << 30) - (64L << 20);
}

/// <summary>
/// Loads and saves .onnx files. Loading validates what later stages rely on (names resolve, tensor
/// sizes match their dims, external data stays inside the model's folder) and reports problems as
/// <see cref="OnnxFormatException"/>. Saving is atomic: the file appears complete or not at all.
/// </summary>
internal static class OnnxModelFile
{
    public static Model Load(string path)
    {
        byte[] bytes;
        try
        {
            if (Directory.Exists(path)) throw new OnnxFormatException($"'{path}' is a folder, not an ONNX model file");
            bytes = File.ReadAllBytes(path);
        }
        catch (FileNotFoundException) { throw new OnnxFormatException($"model file '{path}' does not exist"); }
        catch (DirectoryNotFoundException) { throw new OnnxFormatException($"model file '{path}' does not exist"); }
        catch (UnauthorizedAccessException) { throw new OnnxFormatException($"model file '{path}' cannot be read (permission denied)"); }
        catch (IOException e) when (e is not FileNotFoundException) { throw new OnnxFormatException($"model file '{path}' cannot be read: {e.Message}"); }
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        return FromBytes(bytes, directory, $"'{path}'");
    }

    /// <param name="modelDirectory">Folder for external data; null forbids external data.</param>
    public static Model FromBytes(byte[] bytes, string? modelDirectory = null, string label = "the model")
    {
        if (bytes.Length == 0) throw new OnnxFormatException($"{label} is empty, not an ONNX model");
        ModelProto proto;
        try
        {
            proto = ModelProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new OnnxFormatException($"{label} is not a valid ONNX model (the protobuf data is damaged or this is another kind of file): {e.Message}");
        }
        return new ProtoReader(modelDirectory, label).Read(proto);
    }

    /// <summary>An independent deep copy of <paramref name="model"/> (through its .onnx bytes, so
    /// everything the writer keeps survives), to rewrite without touching the original.</summary>
    public static Model Copy(Model model, string label = "the model copy") => FromBytes(ToBytes(model), label: label);

    /// <summary>The model as .onnx bytes with all data inline.</summary>
    public static byte[] ToBytes(Model model)
    {
        var proto = new ProtoWriter(InlineTensor).Write(model);
        var size = proto.CalculateSize();
        if (size < 0) throw new InvalidOperationException("the model exceeds protobuf's 2 GB limit; save it to a file with external data instead");
        return proto.ToByteArray();
    }

    /// <summary>Writes <paramref name="model"/> to <paramref name="path"/> atomically (a temporary
    /// file in the same folder, then a rename). External data goes to "NAME.data" beside it.</summary>
    public static void Save(Model model, string path, SaveOptions? options = null)
    {
        options ??= new SaveOptions();
        var fullPath = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(fullPath)!;
        if (!Directory.Exists(directory)) throw new OnnxFormatException($"cannot write '{path}': folder '{directory}' does not exist");
        if (Directory.Exists(fullPath)) throw new OnnxFormatException($"cannot write '{path}': it is a folder");

        long total = InitializerBytes(model.Graph);
        bool external = options.ExternalData switch
        {
            ExternalDataMode.Always => true,
            ExternalDataMode.Never => false,
            _ => total > options.InlineLimitBytes,
        };
        if (!external && total > options.InlineLimitBytes)
            throw new OnnxFormatException($"the model's tensors take {total} bytes, more than one protobuf message can hold; save with external data");

        var dataName = Path.GetFileName(fullPath) + ".data";
        if (external)
        {
            var dataPath = Path.Combine(directory, dataName);
            if (Directory.Exists(dataPath)) throw new OnnxFormatException($"cannot write external data to '{dataPath}': it is a folder");
            // Replacing a data file the model still reads from would break the model being saved (and its source).
            var real = ExternalDataLocation.RealPath(dataPath);
            if (ExternalFiles(model.Graph).Any(f => ExternalDataLocation.RealPath(f) == real))
                throw new OnnxFormatException($"cannot write external data to '{dataPath}': the model reads its own tensors from that file; choose another output name");
        }
        var tempModel = TempPath(directory, Path.GetFileName(fullPath));
        string? tempData = null;
        try
        {
            ModelProto proto;
            if (external)
            {
                tempData = TempPath(directory, dataName);
                using var data = new FileStream(tempData, FileMode.CreateNew, FileAccess.Write);
                proto = new ProtoWriter((name, t) => ExternalOrInline(name, t, data, dataName, options.ExternalThresholdBytes)).Write(model);
            }
            else proto = new ProtoWriter(InlineTensor).Write(model);

            using (var stream = new FileStream(tempModel, FileMode.CreateNew, FileAccess.Write))
            {
                proto.WriteTo(stream);
                stream.Flush(flushToDisk: true);
            }
            if (tempData is not null) File.Move(tempData, Path.Combine(directory, dataName), overwrite: true);
            File.Move(tempModel, fullPath, overwrite: true);
        }
        finally
        {
            if (File.Exists(tempModel)) File.Delete(tempModel);
            if (tempData is not null && File.Exists(tempData)) File.Delete(tempData);
        }
    }

    private static TensorProto InlineTensor(string name, Tensor t) => TensorWriter.Inline(name, t);

    private static TensorProto ExternalOrInline(string name, Tensor t, FileStream data, string location, long threshold)
    {
        if (t.DataType == DataType.String || t.ByteCount < threshold) return TensorWriter.Inline(name, t);
        // Align each tensor to 64 bytes so a reader can map it directly.
        var offset = (data.Position + 63) / 64 * 64;
        if (offset > data.Position) data.Write(new byte[offset - data.Position]);
        var bytes = t.GetRawBytes();
        data.Write(bytes.Span);
        return TensorWriter.External(name, t, location, offset, bytes.Length);
    }

    /// <summary>Whether any tensor of <paramref name="model"/> is read from an external data file
    /// (a model written that way is written back that way: its data beside it).</summary>
    public static bool HasExternalData(Model model) => ExternalFiles(model.Graph).Any();

    /// <summary>Bytes on disk of a model written to or loaded from <paramref name="path"/>: the .onnx file and each
    /// external data file its tensors are read from (<paramref name="model"/> is that file's model).</summary>
    public static long SizeOnDisk(Model model, string path) =>
        new FileInfo(path).Length + ExternalFiles(model.Graph).Distinct(StringComparer.Ordinal).Where(File.Exists).Sum(f => new FileInfo(f).Length);

    /// <summary>Bytes of all initializers (subgraphs included), without reading them.</summary>
    public static long InitializerBytes(Model model) => InitializerBytes(model.Graph);

    private static IEnumerable<string> ExternalFiles(Graph graph) =>
        graph.InitializersInOrder().Select(v => v.ConstValue).OfType<ProtoTensor>().Where(t => t.ExternalPath is not null).Select(t => t.ExternalPath!)
            .Concat(graph.Nodes.SelectMany(n => n.Attributes).SelectMany(a => a.Subgraphs()).SelectMany(ExternalFiles));

    private static long InitializerBytes(Graph graph) =>
        graph.InitializersInOrder().Sum(v => v.ConstValue!.ByteCount) +
        graph.Nodes.SelectMany(n => n.Attributes).SelectMany(a => a.Subgraphs()).Sum(InitializerBytes);

    private static string TempPath(string directory, string name) =>
        Path.Combine(directory, $".{name}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
}

/// <summary>Reads a single serialized TensorProto (.pb), as ONNX's test data stores inputs and outputs.</summary>
internal static class OnnxTensorFile
{
    public static Tensor Load(string path)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException) { throw new OnnxFormatException($"tensor file '{path}' does not exist"); }
        TensorProto proto;
        try { proto = TensorProto.Parser.ParseFrom(bytes); }
        catch (InvalidProtocolBufferException e) { throw new OnnxFormatException($"'{path}' is not a serialized ONNX tensor: {e.Message}"); }
        return ProtoTensor.Create(proto, Path.GetDirectoryName(Path.GetFullPath(path)), $"tensor file '{path}', tensor");
    }
}
