using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Google.Protobuf;
using OnnxPrune.Onnx.Proto;
using ElemType = OnnxPrune.Onnx.Proto.TensorProto.Types.DataType;

namespace OnnxPrune.Tests.Cli;

/// <summary>The real exported models that tools/prepare-test-data.sh caches.</summary>
internal static class CachedModels
{
    public const string ResNet18 = "resnet18.onnx";
    public const string MobileNetV2 = "mobilenet_v2.onnx";
    public const string BlazeFaceFront = "blazeface-front-128.onnx";
    public const string BlazeFaceBack = "blazeface-back-256.onnx";
    public const string PpOcrClassifier = "ppocr-mobile-v2-cls.onnx";

    public static string Folder
    {
        get
        {
            var root = Environment.GetEnvironmentVariable("ONNXPRUNE_CACHE");
            if (string.IsNullOrEmpty(root))
            {
                var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
                if (string.IsNullOrEmpty(xdg)) xdg = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
                root = Path.Combine(xdg, "onnxprune");
            }
            return Path.Combine(root, "models");
        }
    }

    public static string PathOf(string name)
    {
        var path = Path.Combine(Folder, name);
        if (!File.Exists(path))
            throw new InvalidOperationException($"{path} is missing: run tools/test.sh (it runs tools/prepare-test-data.sh, which exports and caches the real models)");
        return path;
    }

    public static ModelProto Proto(string name) => ModelProto.Parser.ParseFrom(File.ReadAllBytes(PathOf(name)));
}

/// <summary>Small models built with the protobuf classes, and edits of them.</summary>
internal static class ProtoModels
{
    /// <summary>x[1,3,8,8] -> Conv(W1[4,3,3,3], B1[4], pads 1) -> c1 -> Relu -> r -> Conv(W2[2,4,1,1]) -> y[1,2,8,8].</summary>
    public static ModelProto ConvReluConv()
    {
        var random = new Random(7);
        var g = new GraphProto { Name = "conv_relu_conv" };
        g.Input.Add(ValueInfo("x", ElemType.Float, 1, 3, 8, 8));
        g.Output.Add(ValueInfo("y", ElemType.Float, 1, 2, 8, 8));
        g.Initializer.Add(FloatTensor("W1", random, 4, 3, 3, 3));
        g.Initializer.Add(FloatTensor("B1", random, 4));
        g.Initializer.Add(FloatTensor("W2", random, 2, 4, 1, 1));
        g.Node.Add(Node("conv1", "Conv", ["x", "W1", "B1"], ["c1"], Ints("pads", 1, 1, 1, 1)));
        g.Node.Add(Node("relu", "Relu", ["c1"], ["r"]));
        g.Node.Add(Node("conv2", "Conv", ["r", "W2"], ["y"]));
        return Model(g);
    }

    /// <summary>y = op(inputs..., constants...): for verify tests whose differences are known exactly.</summary>
    public static ModelProto Elementwise(string op, string[] inputs, long[] dims, params (string Name, float Value)[] constants)
    {
        var g = new GraphProto { Name = "elementwise" };
        foreach (var i in inputs) g.Input.Add(ValueInfo(i, ElemType.Float, dims));
        g.Output.Add(ValueInfo("y", ElemType.Float, dims));
        foreach (var (name, value) in constants)
        {
            var t = new TensorProto { Name = name, DataType = (int)ElemType.Float };
            t.FloatData.Add(value);
            g.Initializer.Add(t); // a scalar
        }
        g.Node.Add(Node("op", op, inputs.Concat(constants.Select(c => c.Name)).ToArray(), ["y"]));
        return Model(g);
    }

    public static ModelProto Model(GraphProto graph, long opset = 13)
    {
        var m = new ModelProto { IrVersion = 8, ProducerName = "onnxprune-cli-tests", Graph = graph };
        m.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        return m;
    }

    public static ValueInfoProto ValueInfo(string name, ElemType type, params long[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims) shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }

    public static TensorProto FloatTensor(string name, Random random, params long[] dims)
    {
        var count = dims.Aggregate(1L, (a, b) => a * b);
        var values = Enumerable.Range(0, (int)count).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        return RawTensor(name, ElemType.Float, MemoryMarshal.AsBytes(values.AsSpan()).ToArray(), dims);
    }

    public static TensorProto RawTensor(string name, ElemType type, byte[] raw, params long[] dims)
    {
        var t = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(raw) };
        t.Dims.Add(dims);
        return t;
    }

    public static TensorProto ExternalTensor(string name, ElemType type, string location, long? offset, long? length, params long[] dims)
    {
        var t = new TensorProto { Name = name, DataType = (int)type, DataLocation = TensorProto.Types.DataLocation.External };
        t.Dims.Add(dims);
        t.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
        if (offset is { } o) t.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = o.ToString() });
        if (length is { } l) t.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = l.ToString() });
        return t;
    }

    public static NodeProto Node(string name, string op, string[] inputs, string[] outputs, params AttributeProto[] attributes)
    {
        var n = new NodeProto { Name = name, OpType = op };
        n.Input.Add(inputs);
        n.Output.Add(outputs);
        n.Attribute.Add(attributes);
        return n;
    }

    public static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.Add(values);
        return a;
    }

    public static TensorProto Initializer(this ModelProto m, string name) => m.Graph.Initializer.Single(t => t.Name == name);

    public static NodeProto NodeNamed(this ModelProto m, string name) => m.Graph.Node.Single(n => n.Name == name);

    public static void Save(this ModelProto m, string path) => File.WriteAllBytes(path, m.ToByteArray());

    /// <summary>Byte offsets where the top-level fields of a serialized message end (protobuf wire
    /// format): cutting a file there leaves a file that still parses, with fields missing.</summary>
    public static List<int> TopLevelFieldEnds(byte[] bytes)
    {
        var ends = new List<int>();
        int i = 0;
        while (i < bytes.Length)
        {
            var key = ReadVarint(bytes, ref i);
            switch (key & 7)
            {
                case 0: ReadVarint(bytes, ref i); break;
                case 1: i += 8; break;
                case 2: { var length = checked((int)ReadVarint(bytes, ref i)); i += length; break; }
                case 5: i += 4; break;
                default: throw new InvalidDataException($"wire type {key & 7} at {i}");
            }
            ends.Add(i);
        }
        return ends;
    }

    private static ulong ReadVarint(byte[] b, ref int i)
    {
        ulong r = 0;
        for (int shift = 0; ; shift += 7)
        {
            var c = b[i++];
            r |= (ulong)(c & 0x7f) << shift;
            if (c < 0x80) return r;
        }
    }
}

/// <summary>NumPy .npy/.npz files written byte by byte (the format is documented in numpy's NEP 1).</summary>
internal static class Npy
{
    public static byte[] Array(float[] data, params long[] shape) => Bytes("<f4", MemoryMarshal.AsBytes(data.AsSpan()).ToArray(), shape);

    public static byte[] Array(double[] data, params long[] shape) => Bytes("<f8", MemoryMarshal.AsBytes(data.AsSpan()).ToArray(), shape);

    public static byte[] Bytes(string descr, byte[] data, params long[] shape)
    {
        var shapeText = shape.Length == 1 ? $"({shape[0]},)" : "(" + string.Join(", ", shape) + ")";
        var header = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shapeText}, }}";
        // magic (6) + version (2) + header length (2) + header + '\n', padded to a multiple of 64.
        var total = 10 + header.Length + 1;
        header += new string(' ', (64 - total % 64) % 64) + "\n";
        var result = new List<byte>();
        result.AddRange([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0]);
        result.AddRange(BitConverter.GetBytes((ushort)header.Length));
        result.AddRange(Encoding.ASCII.GetBytes(header));
        result.AddRange(data);
        return result.ToArray();
    }

    public static void WriteNpz(string path, bool compressed, params (string Name, byte[] Npy)[] arrays)
    {
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        foreach (var (name, npy) in arrays)
        {
            var entry = zip.CreateEntry(name + ".npy", compressed ? CompressionLevel.Optimal : CompressionLevel.NoCompression);
            using var s = entry.Open();
            s.Write(npy);
        }
    }
}

/// <summary>Snapshots of folders, to prove a command wrote or changed nothing.</summary>
internal static class FolderState
{
    /// <summary>Relative path -> SHA-256 of every file under <paramref name="folder"/> (links not followed).</summary>
    public static SortedDictionary<string, string> Snapshot(string folder)
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var f in Directory.EnumerateFileSystemEntries(folder, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
        {
            var info = new FileInfo(f);
            var rel = Path.GetRelativePath(folder, f);
            if (info.LinkTarget is { } target) result[rel] = "link -> " + target;
            else if (Directory.Exists(f)) result[rel] = "folder";
            else result[rel] = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f)));
        }
        return result;
    }
}
