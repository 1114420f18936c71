using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using OnnxPrune.IR;
using OnnxPrune.Training.Data;

namespace OnnxPrune.Training;

/// <summary>A named float32 array of a checkpoint.</summary>
internal sealed record NamedArray(string Name, long[] Dims, float[] Values);

/// <summary>
/// Everything needed to continue a training run exactly where it stopped: the weights, the
/// BatchNorm running statistics, the optimizer's momentum buffers, the number of finished epochs
/// and steps, the seed and the settings that shape the run, plus free-form metadata (architecture,
/// data set, command). Because epoch e's batches depend only on (seed, e), a resumed run gives the
/// same weights as an uninterrupted one.
/// <para>
/// The file is an .npz archive (readable with numpy.load): "checkpoint.json" (format, version,
/// counters, settings, names of the arrays) and one float32 .npy per array: param_NNN.npy,
/// velocity_NNN.npy, running_NNN.npy. It is written to a temporary file and moved into place, so a
/// crash never leaves a half-written checkpoint.
/// </para>
/// </summary>
internal sealed class Checkpoint
{
    public const string FormatName = "onnxprune-checkpoint";
    public const int FormatVersion = 1;
    private const string InfoEntry = "checkpoint.json";

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public int CompletedEpochs { get; init; }
    public long Step { get; init; }
    public int Seed { get; init; }

    /// <summary>Epochs the run was asked for when it was saved.</summary>
    public int Epochs { get; init; }

    public int BatchSize { get; init; }
    public SgdOptions Sgd { get; init; } = new();

    /// <summary>The schedule in <see cref="LearningRateSchedule.Parse"/> form.</summary>
    public string Schedule { get; init; } = "cosine";

    public int CropPadding { get; init; }
    public bool HorizontalFlip { get; init; }
    public double BatchNormMomentum { get; init; } = 0.1;

    /// <summary><see cref="ChannelNormalization.ToString"/>, or null.</summary>
    public string? Normalization { get; init; }

    /// <summary>Free-form strings saved with the run (the CLI keeps arch, data, command).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();

    public IReadOnlyList<EpochResult> History { get; init; } = [];
    public IReadOnlyList<NamedArray> Parameters { get; init; } = [];

    /// <summary>Momentum buffers, one per parameter, same names (empty without momentum).</summary>
    public IReadOnlyList<NamedArray> Velocities { get; init; } = [];

    /// <summary>BatchNorm running means and variances, by initializer name.</summary>
    public IReadOnlyList<NamedArray> RunningStatistics { get; init; } = [];

    /// <summary>The run's settings with the checkpoint's seed, batch size, optimizer, schedule,
    /// augmentation, normalization and BatchNorm momentum; epochs, sessions, evaluation and the
    /// checkpoint path stay as in <paramref name="options"/>.</summary>
    public TrainerOptions ApplyTo(TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options with
        {
            Seed = Seed,
            BatchSize = BatchSize,
            Sgd = Sgd,
            Schedule = LearningRateSchedule.Parse(Schedule),
            Augmentation = new Augmentation(CropPadding, HorizontalFlip),
            Normalization = Normalization is null ? null : ChannelNormalization.Parse(Normalization),
            BatchNormMomentum = BatchNormMomentum,
        };
    }

    /// <summary>Writes the checkpoint atomically (temporary file in the same folder, then a move).</summary>
    /// <exception cref="IOException">The folder does not exist or cannot be written.</exception>
    public void Save(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"cannot write checkpoint '{path}': folder '{directory}' does not exist");
        var temp = Path.Combine(directory, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
            {
                using (var zip = new ZipArchive(file, ZipArchiveMode.Create, leaveOpen: true))
                {
                    var info = new Info(FormatName, FormatVersion, CompletedEpochs, Step, Seed, Epochs, BatchSize,
                        Sgd.LearningRate, Sgd.Momentum, Sgd.Nesterov, Sgd.WeightDecay, Sgd.DecayNormAndBias, Schedule,
                        CropPadding, HorizontalFlip, BatchNormMomentum, Normalization, new Dictionary<string, string>(Metadata),
                        History.ToList(), Describe(Parameters), Describe(Velocities), Describe(RunningStatistics));
                    WriteEntry(zip, InfoEntry, JsonSerializer.SerializeToUtf8Bytes(info, JsonOptions));
                    WriteArrays(zip, "param", Parameters);
                    WriteArrays(zip, "velocity", Velocities);
                    WriteArrays(zip, "running", RunningStatistics);
                }
                file.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    /// <exception cref="TrainingInputException">The file is missing, not a checkpoint, of another
    /// version, or damaged; the message names the file.</exception>
    public static Checkpoint Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Directory.Exists(path)) throw new TrainingInputException($"checkpoint '{path}' is a folder; give the checkpoint file");
        if (!File.Exists(path)) throw new TrainingInputException($"checkpoint '{path}' does not exist");
        try
        {
            using var zip = ZipFile.OpenRead(path);
            var entry = zip.GetEntry(InfoEntry) ?? throw new TrainingInputException($"'{path}' is not an OnnxPrune checkpoint (no {InfoEntry})");
            var info = JsonSerializer.Deserialize<Info>(ReadEntry(entry), JsonOptions)
                ?? throw new TrainingInputException($"'{path}' is not an OnnxPrune checkpoint (empty {InfoEntry})");
            if (info.Format != FormatName) throw new TrainingInputException($"'{path}' is not an OnnxPrune checkpoint (format '{info.Format}')");
            if (info.Version != FormatVersion) throw new TrainingInputException($"checkpoint '{path}' has format version {info.Version}; this OnnxPrune reads version {FormatVersion}");
            return new Checkpoint
            {
                CompletedEpochs = info.CompletedEpochs,
                Step = info.Step,
                Seed = info.Seed,
                Epochs = info.Epochs,
                BatchSize = info.BatchSize,
                Sgd = new SgdOptions(info.LearningRate, info.Momentum, info.Nesterov, info.WeightDecay, info.DecayNormAndBias),
                Schedule = info.Schedule,
                CropPadding = info.CropPadding,
                HorizontalFlip = info.HorizontalFlip,
                BatchNormMomentum = info.BatchNormMomentum,
                Normalization = info.Normalization,
                Metadata = info.Metadata ?? new Dictionary<string, string>(),
                History = info.History ?? [],
                Parameters = ReadArrays(zip, path, "param", info.Parameters),
                Velocities = ReadArrays(zip, path, "velocity", info.Velocities),
                RunningStatistics = ReadArrays(zip, path, "running", info.RunningStatistics),
            };
        }
        catch (InvalidDataException e) { throw new TrainingInputException($"'{path}' is not an OnnxPrune checkpoint (not a zip archive): {e.Message}", e); }
        catch (JsonException e) { throw new TrainingInputException($"checkpoint '{path}' is damaged: {e.Message}", e); }
        catch (NpyFormatException e) { throw new TrainingInputException($"checkpoint '{path}' is damaged: {e.Message}", e); }
        catch (IOException e) { throw new TrainingInputException($"checkpoint '{path}' cannot be read: {e.Message}", e); }
    }

    private sealed record ArrayInfo(string Name, long[] Dims);

    private sealed record Info(string Format, int Version, int CompletedEpochs, long Step, int Seed, int Epochs, int BatchSize,
        double LearningRate, double Momentum, bool Nesterov, double WeightDecay, bool DecayNormAndBias, string Schedule,
        int CropPadding, bool HorizontalFlip, double BatchNormMomentum, string? Normalization, Dictionary<string, string>? Metadata,
        List<EpochResult>? History, List<ArrayInfo> Parameters, List<ArrayInfo> Velocities, List<ArrayInfo> RunningStatistics);

    private static List<ArrayInfo> Describe(IReadOnlyList<NamedArray> arrays) => arrays.Select(a => new ArrayInfo(a.Name, a.Dims)).ToList();

    private static void WriteArrays(ZipArchive zip, string prefix, IReadOnlyList<NamedArray> arrays)
    {
        for (var i = 0; i < arrays.Count; i++) WriteEntry(zip, EntryName(prefix, i), Npy(arrays[i]));
    }

    private static string EntryName(string prefix, int i) => $"{prefix}_{i.ToString("D3", CultureInfo.InvariantCulture)}.npy";

    private static IReadOnlyList<NamedArray> ReadArrays(ZipArchive zip, string path, string prefix, List<ArrayInfo>? infos)
    {
        var result = new List<NamedArray>();
        if (infos is null) return result;
        for (var i = 0; i < infos.Count; i++)
        {
            var name = EntryName(prefix, i);
            var entry = zip.GetEntry(name) ?? throw new TrainingInputException($"checkpoint '{path}' is damaged: array {name} ('{infos[i].Name}') is missing");
            var tensor = NpyFile.Parse(ReadEntry(entry), $"checkpoint '{path}' array {name}");
            if (tensor.ElementType != DataType.Float || !tensor.Dims.SequenceEqual(infos[i].Dims))
                throw new TrainingInputException($"checkpoint '{path}' is damaged: array {name} ('{infos[i].Name}') is {tensor}, expected float[{string.Join(",", infos[i].Dims)}]");
            result.Add(new NamedArray(infos[i].Name, infos[i].Dims, tensor.As<float>()));
        }
        return result;
    }

    private static void WriteEntry(ZipArchive zip, string name, byte[] bytes)
    {
        var entry = zip.CreateEntry(name, CompressionLevel.NoCompression);
        entry.LastWriteTime = new DateTimeOffset(1980, 1, 1, 0, 0, 0, TimeSpan.Zero); // byte-identical files for identical states
        using var stream = entry.Open();
        stream.Write(bytes);
    }

    private static byte[] ReadEntry(ZipArchiveEntry entry)
    {
        using var stream = entry.Open();
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }

    /// <summary>A little-endian float32 .npy (version 1.0) of <paramref name="array"/>.</summary>
    internal static byte[] Npy(NamedArray array)
    {
        var shape = array.Dims.Length switch
        {
            0 => "()",
            1 => $"({array.Dims[0]},)",
            _ => "(" + string.Join(", ", array.Dims) + ")",
        };
        var header = $"{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}";
        var padded = (10 + header.Length + 1 + 63) / 64 * 64 - 10;
        header = header.PadRight(padded - 1) + "\n";
        var bytes = new byte[10 + header.Length + array.Values.Length * 4];
        bytes[0] = 0x93;
        Encoding.ASCII.GetBytes("NUMPY", bytes.AsSpan(1));
        bytes[6] = 1;
        bytes[7] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8), (ushort)header.Length);
        Encoding.ASCII.GetBytes(header, bytes.AsSpan(10));
        var data = MemoryMarshal.AsBytes(array.Values.AsSpan());
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("checkpoints are written on little-endian machines");
        data.CopyTo(bytes.AsSpan(10 + header.Length));
        return bytes;
    }
}
