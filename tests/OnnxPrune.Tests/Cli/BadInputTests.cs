using System.Text;
using System.Text.RegularExpressions;
using Google.Protobuf;
using OnnxPrune.Onnx.Proto;
using ElemType = OnnxPrune.Onnx.Proto.TensorProto.Types.DataType;

namespace OnnxPrune.Tests.Cli;

/// <summary>
/// The acceptance criterion for bad input: every malformed, truncated, damaged or hostile model
/// given to inspect, convert and profile ends with exit code 2 and one "error:" line that names the
/// problem; never a stack trace or "internal error"; convert writes nothing (no output, no temp
/// file); the input files are not touched.
/// </summary>
[Collection(CliCollection.Name)]
[Trait("Category", "Slow")]
public class BadInputTests
{
    /// <summary>Folders of one case: in/ holds the model (and its data), out/ receives convert's
    /// output, outside/ is a sibling folder that external data must never reach.</summary>
    internal sealed class CaseFolder(string root)
    {
        public string Root { get; } = root;
        public string In { get; } = Directory.CreateDirectory(Path.Combine(root, "in")).FullName;
        public string Out { get; } = Directory.CreateDirectory(Path.Combine(root, "out")).FullName;
        public string Outside { get; } = Directory.CreateDirectory(Path.Combine(root, "outside")).FullName;
        public string Model => Path.Combine(In, "model.onnx");
        public string ConvertOutput => Path.Combine(Out, "converted.onnx");
    }

    /// <summary>A bad input: how to make it, and regexes the "error:" line must all match.</summary>
    internal sealed record BadCase(string Name, Action<CaseFolder> Make, params string[] Patterns);

    private const string NotOnnx = "not (a valid |an )ONNX model";
    private const string FileName = @"model\.onnx";

    private static readonly string[] Commands = ["inspect", "convert", "profile"];

    private static string[] Args(string command, CaseFolder f) => command switch
    {
        "inspect" => ["inspect", f.Model],
        "convert" => ["convert", f.Model, f.ConvertOutput],
        "profile" => ["profile", f.Model, "--runs", "1", "--warmup", "0"],
        _ => throw new ArgumentException(command),
    };

    // ---------------------------------------------------------------- the cases

    private static IEnumerable<BadCase> AllCases()
    {
        // Truncated copies of real models: inside a field (the protobuf is damaged) ...
        foreach (var (model, fraction) in new[] { (CachedModels.BlazeFaceFront, 0.5), (CachedModels.PpOcrClassifier, 0.33), (CachedModels.ResNet18, 0.5) })
        {
            yield return new($"cut at {fraction:0.00} of its length: {Path.GetFileNameWithoutExtension(model)}", f =>
            {
                var bytes = File.ReadAllBytes(CachedModels.PathOf(model));
                File.WriteAllBytes(f.Model, bytes[..Math.Max(1, (int)(bytes.Length * fraction))]);
            }, NotOnnx, FileName);
        }
        foreach (var cut in new[] { 1, 7, 64, 1000, -1, -100 })
        {
            yield return new($"cut at byte {cut}: {Path.GetFileNameWithoutExtension(CachedModels.BlazeFaceFront)}", f =>
            {
                var bytes = File.ReadAllBytes(CachedModels.PathOf(CachedModels.BlazeFaceFront));
                File.WriteAllBytes(f.Model, bytes[..(cut > 0 ? cut : bytes.Length + cut)]);
            }, NotOnnx, FileName);
        }
        // ... and exactly at the end of a top-level field, so the rest still parses with fields
        // missing. Cutting before the graph leaves no graph; cutting after it leaves no opset_import.
        foreach (var model in new[] { CachedModels.BlazeFaceFront, CachedModels.PpOcrClassifier })
        {
            var bytes = File.ReadAllBytes(CachedModels.PathOf(model));
            var proto = ModelProto.Parser.ParseFrom(bytes);
            var graphEnd = GraphFieldEnd(bytes);
            foreach (var end in ProtoModels.TopLevelFieldEnds(bytes).Where(e => e < bytes.Length))
            {
                var missing = end < graphEnd ? "graph" : "opset";
                yield return new($"no {missing}: {Path.GetFileNameWithoutExtension(model)} cut at byte {end}",
                    f => File.WriteAllBytes(f.Model, File.ReadAllBytes(CachedModels.PathOf(model))[..end]),
                    missing, FileName);
            }
        }

        // Not ONNX at all.
        yield return new("empty file", f => File.WriteAllBytes(f.Model, []), NotOnnx, FileName);
        yield return new("a text file", f => File.WriteAllText(f.Model,
            "This is a README, not a model.\nIt has several lines of text\n\tand a tab.\n"), NotOnnx, FileName);
        yield return new("random bytes", f =>
        {
            var bytes = new byte[4096];
            new Random(4242).NextBytes(bytes);
            File.WriteAllBytes(f.Model, bytes);
        }, NotOnnx, FileName);
        yield return new("a PNG image", f => File.WriteAllBytes(f.Model, PngHeader()), NotOnnx, FileName);
        yield return new("a JSON document", f => File.WriteAllText(f.Model, "{\"graph\": {\"node\": []}, \"ir_version\": 8}\n"), NotOnnx, FileName);
        yield return new("a zip archive (an .npz renamed)", f =>
        {
            var npz = Path.Combine(f.Root, "a.npz");
            Npy.WriteNpz(npz, compressed: true, ("x", Npy.Array(new float[] { 1, 2, 3 }, 3)));
            File.Move(npz, f.Model);
        }, NotOnnx, FileName);

        // Hand-broken models built from a small valid one.
        yield return Small("a cycle between two nodes", m => m.NodeNamed("relu").Input[0] = "y", "cycle", "relu|conv2");
        yield return Small("a node that reads its own output", m => m.NodeNamed("relu").Input[0] = "r", "relu", "own output|cycle");
        yield return Small("a missing initializer", m => m.Graph.Initializer.Remove(m.Initializer("W2")), "'W2'", "conv2");
        yield return Small("a node input nobody defines", m => m.NodeNamed("conv1").Input[0] = "x_typo", "x_typo");
        yield return Small("a graph output nobody computes", m => m.Graph.Output.Add(ProtoModels.ValueInfo("ghost_output", ElemType.Float, 1)), "ghost_output");
        yield return Small("a graph input without a type", m => m.Graph.Input[0].Type = null, @"\bx\b");
        yield return Small("two nodes defining the same value", m => m.NodeNamed("conv2").Output[0] = "c1", "'c1'");
        yield return Small("an initializer with too few raw bytes", m => Cut(m.Initializer("W1"), 3), "W1");
        yield return Small("an initializer with too many raw bytes", m =>
            m.Initializer("W1").RawData = ByteString.CopyFrom(m.Initializer("W1").RawData.Concat(new byte[4]).ToArray()), "W1");
        yield return Small("an initializer with too few float_data entries", m =>
        {
            var b = m.Initializer("B1");
            b.ClearRawData();
            b.FloatData.Add(new[] { 1f, 2f, 3f }); // dims [4]
        }, "B1");
        yield return Small("float raw data declared as double", m => m.Initializer("W1").DataType = (int)ElemType.Double, "W1");
        yield return Small("an int64 weight fed to Conv", m =>
        {
            var w = m.Initializer("W2");
            w.DataType = (int)ElemType.Int64;
            w.RawData = ByteString.CopyFrom(new byte[8 * 8]); // [2,4,1,1] int64: right size, wrong type for Conv
        }, "W2");
        yield return Small("an unknown data type", m => m.Initializer("W1").DataType = 999, "W1");
        yield return Small("a negative initializer dim", m => { var w = m.Initializer("W2"); w.Dims.Clear(); w.Dims.Add(new long[] { 2, -4, 1, 1 }); }, "W2");
        yield return Small("initializer dims [1e12,1e12] with tiny data", m => { var w = m.Initializer("W2"); w.Dims.Clear(); w.Dims.Add(new long[] { 1_000_000_000_000, 1_000_000_000_000 }); }, "W2");
        yield return Small("initializer dims [1e9,1e9] with tiny data", m => { var w = m.Initializer("W2"); w.Dims.Clear(); w.Dims.Add(new long[] { 1_000_000_000, 1_000_000_000 }); }, "W2");
        yield return Small("initializer dims [3e9,1e9]: the byte count overflows", m => { var w = m.Initializer("W2"); w.Dims.Clear(); w.Dims.Add(new long[] { 3_000_000_000, 1_000_000_000 }); }, "W2");
        yield return Small("graph input dims 1e15", m =>
        {
            var dims = m.Graph.Input[0].Type.TensorType.Shape.Dim;
            dims[2].DimValue = 1_000_000_000_000_000;
            dims[3].DimValue = 1_000_000_000_000_000;
        }, @"\bx\b|conv1");
        yield return Small("no ir_version", m => m.ClearIrVersion(), "IR version|ir_version");
        yield return Small("no opset_import", m => m.OpsetImport.Clear(), "opset");
        yield return Small("a Constant node whose tensor is too short", m =>
        {
            var t = ProtoModels.RawTensor("bad_constant_tensor", ElemType.Float, new byte[6], 4);
            m.Graph.Node.Insert(0, new NodeProto { Name = "k", OpType = "Constant", Output = { "k_out" }, Attribute = { new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = t } } });
        }, "bad_constant_tensor");
        yield return Small("an If whose branch reads an undefined name", m =>
        {
            var cond = ProtoModels.RawTensor("cond", ElemType.Bool, [1]);
            m.Graph.Initializer.Add(cond);
            GraphProto Branch(string name, string reads)
            {
                var g = new GraphProto { Name = name };
                g.Node.Add(ProtoModels.Node(name + "_id", "Identity", [reads], [name + "_out"]));
                g.Output.Add(ProtoModels.ValueInfo(name + "_out", ElemType.Float, 1, 2, 8, 8));
                return g;
            }
            m.NodeNamed("conv2").Output[0] = "y0";
            m.Graph.Node.Add(new NodeProto
            {
                Name = "branch", OpType = "If", Input = { "cond" }, Output = { "y" },
                Attribute =
                {
                    new AttributeProto { Name = "then_branch", Type = AttributeProto.Types.AttributeType.Graph, G = Branch("then", "nowhere_in_subgraph") },
                    new AttributeProto { Name = "else_branch", Type = AttributeProto.Types.AttributeType.Graph, G = Branch("else", "y0") },
                },
            });
        }, "nowhere_in_subgraph");

        // External data that is not where it may be read, or not there at all.
        yield return External("external data at an absolute path (/etc/passwd)", f => "/etc/passwd", "W2", "/etc/passwd");
        yield return External("external data at ~/ (the home folder)", f => "~/w2.bin", "W2", "~/w2.bin");
        yield return External("external data at ../x.bin", f =>
        {
            File.WriteAllBytes(Path.Combine(f.Root, "x.bin"), W2Bytes);
            return "../x.bin";
        }, "W2", @"\.\./x\.bin");
        yield return External("external data at sub/../../x.bin", f =>
        {
            Directory.CreateDirectory(Path.Combine(f.In, "sub"));
            File.WriteAllBytes(Path.Combine(f.Root, "x.bin"), W2Bytes);
            return "sub/../../x.bin";
        }, "W2");
        yield return External("external data through a symlink to a file outside the folder", f =>
        {
            var target = Path.Combine(f.Outside, "w2.bin");
            File.WriteAllBytes(target, W2Bytes);
            File.CreateSymbolicLink(Path.Combine(f.In, "w2.bin"), target);
            return "w2.bin";
        }, "W2", "outside");
        yield return External("external data through a relative symlink to a file outside the folder", f =>
        {
            File.WriteAllBytes(Path.Combine(f.Outside, "w2.bin"), W2Bytes);
            File.CreateSymbolicLink(Path.Combine(f.In, "w2.bin"), "../outside/w2.bin");
            return "w2.bin";
        }, "W2", "outside");
        yield return External("external data through a dangling symlink", f =>
        {
            File.CreateSymbolicLink(Path.Combine(f.In, "w2.bin"), Path.Combine(f.Outside, "not-there.bin"));
            return "w2.bin";
        }, "W2");
        yield return External("external data in a symlinked folder that leads outside", f =>
        {
            File.WriteAllBytes(Path.Combine(f.Outside, "w2.bin"), W2Bytes);
            Directory.CreateSymbolicLink(Path.Combine(f.In, "data"), f.Outside);
            return "data/w2.bin";
        }, "W2", "outside");
        yield return External("external data in a file that does not exist", f => "missing-w2.bin", "W2", "missing-w2\\.bin");
        yield return External("external data that is a folder", f =>
        {
            Directory.CreateDirectory(Path.Combine(f.In, "w2.bin"));
            return "w2.bin";
        }, "W2");
        yield return External("external data past the end of its file", f =>
        {
            File.WriteAllBytes(Path.Combine(f.In, "w2.bin"), W2Bytes);
            return "w2.bin";
        }, offset: 16, length: null, patterns: ["W2"]);
        yield return External("external data with a length that does not match the dims", f =>
        {
            File.WriteAllBytes(Path.Combine(f.In, "w2.bin"), W2Bytes.Concat(new byte[64]).ToArray());
            return "w2.bin";
        }, offset: 0, length: 64, patterns: ["W2"]);
        yield return External("external data with a negative offset", f =>
        {
            File.WriteAllBytes(Path.Combine(f.In, "w2.bin"), W2Bytes);
            return "w2.bin";
        }, offset: -4, length: null, patterns: ["W2"]);
        yield return new("external W2 dims [3e9,1e9]: byte count overflows", f =>
        {
            var m = ProtoModels.ConvReluConv();
            File.WriteAllBytes(Path.Combine(f.In, "w2.bin"), W2Bytes);
            var i = m.Graph.Initializer.IndexOf(m.Initializer("W2"));
            m.Graph.Initializer[i] = ProtoModels.ExternalTensor("W2", ElemType.Float, "w2.bin", null, null, 3_000_000_000, 1_000_000_000);
            m.Save(f.Model);
        }, "W2");

        // A real model, modified.
        yield return Real("blazeface with a node reading an undefined name", CachedModels.BlazeFaceFront, m =>
        {
            m.Graph.Node[10].Input[0] = "no_such_tensor";
            return "no_such_tensor";
        });
        yield return Real("blazeface with its largest initializer one byte short", CachedModels.BlazeFaceFront, m =>
        {
            var t = m.Graph.Initializer.Where(t => t.HasRawData).MaxBy(t => t.RawData.Length)!;
            Cut(t, 1);
            return Regex.Escape(t.Name);
        });
        yield return Real("ppocr classifier with a Constant weight one float short", CachedModels.PpOcrClassifier, m =>
        {
            var node = m.Graph.Node.First(n => n.OpType == "Constant" && n.Attribute.Any(a => a.T is { HasRawData: true, RawData.Length: > 64 }));
            var t = node.Attribute.First(a => a.T is not null).T;
            Cut(t, 4);
            return Regex.Escape(node.Name);
        });
    }

    private static byte[] W2Bytes => ProtoModels.ConvReluConv().Initializer("W2").RawData.ToByteArray();

    private static BadCase Small(string name, Action<ModelProto> edit, params string[] patterns) => new(name, f =>
    {
        var m = ProtoModels.ConvReluConv();
        edit(m);
        m.Save(f.Model);
    }, patterns);

    /// <summary>W2 moved to external data at the location <paramref name="location"/> returns.</summary>
    private static BadCase External(string name, Func<CaseFolder, string> location, params string[] patterns) =>
        External(name, location, offset: null, length: null, patterns);

    private static BadCase External(string name, Func<CaseFolder, string> location, long? offset, long? length, string[] patterns) => new(name, f =>
    {
        var m = ProtoModels.ConvReluConv();
        var i = m.Graph.Initializer.IndexOf(m.Initializer("W2"));
        m.Graph.Initializer[i] = ProtoModels.ExternalTensor("W2", ElemType.Float, location(f), offset, length, 2, 4, 1, 1);
        m.Save(f.Model);
    }, patterns);

    /// <summary>A cached real model, edited; the edit returns the pattern the message must match.</summary>
    private static BadCase Real(string name, string model, Func<ModelProto, string> edit) => new(name, f =>
    {
        var m = CachedModels.Proto(model);
        edit(m);
        m.Save(f.Model);
    }, edit(CachedModels.Proto(model)));

    private static void Cut(TensorProto t, int bytes) => t.RawData = ByteString.CopyFrom(t.RawData.Span[..^bytes]);

    private static int GraphFieldEnd(byte[] bytes)
    {
        // The graph is field 7 of ModelProto; find where it ends.
        int i = 0;
        foreach (var end in ProtoModels.TopLevelFieldEnds(bytes))
        {
            if (bytes[i] == (7 << 3 | 2)) return end;
            i = end;
        }
        throw new InvalidDataException("no graph field");
    }

    private static byte[] PngHeader()
    {
        var png = new List<byte> { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A };
        png.AddRange([0, 0, 0, 13, (byte)'I', (byte)'H', (byte)'D', (byte)'R', 0, 0, 0, 16, 0, 0, 0, 16, 8, 6, 0, 0, 0, 0x1f, 0xf3, 0xff, 0x61]);
        png.AddRange([0, 0, 0, 0, (byte)'I', (byte)'E', (byte)'N', (byte)'D', 0xae, 0x42, 0x60, 0x82]);
        return png.ToArray();
    }

    private static readonly Lazy<Dictionary<string, BadCase>> Cases = new(() => AllCases().ToDictionary(c => c.Name));

    public static TheoryData<string, string> BadModels()
    {
        var data = new TheoryData<string, string>();
        foreach (var c in Cases.Value.Keys)
            foreach (var command in Commands) data.Add(c, command);
        return data;
    }

    // ---------------------------------------------------------------- the tests

    [Theory]
    [MemberData(nameof(BadModels))]
    public void Bad_model_exits_2_with_a_clear_message_and_writes_nothing(string caseName, string command)
    {
        var badCase = Cases.Value[caseName];
        using var temp = TestData.NewTempFolder();
        var f = new CaseFolder(temp.Path);
        badCase.Make(f);
        var patterns = badCase.Patterns;
        var inBefore = FolderState.Snapshot(f.In);
        var outsideBefore = FolderState.Snapshot(f.Outside);

        var r = CliRunner.Run(Args(command, f));

        r.ShouldFailWithBadInput(patterns);
        FolderState.Snapshot(f.In).Should().Equal(inBefore, "the input files must not change");
        FolderState.Snapshot(f.Outside).Should().Equal(outsideBefore);
        Directory.EnumerateFileSystemEntries(f.Out).Should().BeEmpty($"nothing may be written when the input is bad (no output, no temp file)\n{r}");
    }

    /// <summary>Seeded single-bit flips of real models. A flipped weight bit still gives a valid
    /// model, so success is allowed; a crash, a hang, a stack trace or another exit code is not.</summary>
    public static TheoryData<string, int, int, string> BitFlips()
    {
        var data = new TheoryData<string, int, int, string>();
        foreach (var (model, seed) in new[] { (CachedModels.BlazeFaceFront, 1001), (CachedModels.PpOcrClassifier, 2002) })
        {
            var length = (int)new FileInfo(CachedModels.PathOf(model)).Length;
            var random = new Random(seed);
            var flips = new List<(int Offset, int Bit)>();
            // Anywhere (mostly weights), in the first 4 KB (node definitions) and in the last 512 bytes
            // (graph inputs and outputs, opset imports).
            for (int i = 0; i < 3; i++) flips.Add((random.Next(length), random.Next(8)));
            for (int i = 0; i < 4; i++) flips.Add((random.Next(Math.Min(4096, length)), random.Next(8)));
            for (int i = 0; i < 2; i++) flips.Add((length - 1 - random.Next(512), random.Next(8)));
            foreach (var (offset, bit) in flips)
                foreach (var command in Commands) data.Add(model, offset, bit, command);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(BitFlips))]
    public void Bit_flipped_model_succeeds_or_exits_2_cleanly(string model, int offset, int bit, string command)
    {
        using var temp = TestData.NewTempFolder();
        var f = new CaseFolder(temp.Path);
        var bytes = File.ReadAllBytes(CachedModels.PathOf(model));
        bytes[offset] ^= (byte)(1 << bit);
        File.WriteAllBytes(f.Model, bytes);
        var before = FolderState.Snapshot(f.In);

        var r = CliRunner.Run(Args(command, f));

        r.ShouldBeClean();
        r.ExitCode.Should().BeOneOf([0, 2], $"a damaged model either still works or is bad input\n{r}");
        FolderState.Snapshot(f.In).Should().Equal(before, "the input must not change");
        var written = Directory.EnumerateFileSystemEntries(f.Out).Select(Path.GetFileName).ToList();
        if (r.ExitCode == 2)
        {
            r.ErrorLines.Should().NotBeEmpty($"{r}");
            written.Should().BeEmpty($"{r}");
        }
        else if (command == "convert")
        {
            written.Should().Equal(["converted.onnx"], "convert writes the output and leaves no temp file");
            // The model that loaded is kept: nodes, initializers, inputs and outputs. (value_info
            // entries that a flip renamed to a name no value has may be dropped.)
            var saved = ModelProto.Parser.ParseFrom(File.ReadAllBytes(f.ConvertOutput)).Graph;
            var original = ModelProto.Parser.ParseFrom(bytes).Graph;
            saved.Node.Equals(original.Node).Should().BeTrue("convert keeps the graph's nodes");
            saved.Initializer.Equals(original.Initializer).Should().BeTrue("convert keeps the graph's initializers");
            saved.Input.Equals(original.Input).Should().BeTrue("convert keeps the graph's inputs");
            saved.Output.Equals(original.Output).Should().BeTrue("convert keeps the graph's outputs");
        }
    }
}
