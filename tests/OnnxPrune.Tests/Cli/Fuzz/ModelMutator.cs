using Google.Protobuf;
using OnnxPrune.Onnx.Proto;

namespace OnnxPrune.Tests.Cli.Fuzz;

/// <summary>One mutated model: the kind of damage, what exactly was done (to replay it by eye),
/// the .onnx bytes and, for external-data cases, the data file's bytes (null: no data file).</summary>
internal sealed record MutatedModel(string Kind, string Detail, byte[] Model, byte[]? ExternalData);

/// <summary>
/// Damages a valid serialized model the way files get damaged (byte level: truncation, bit flips,
/// inserted and deleted bytes) and the way hostile or buggy exporters write them (structure level,
/// on the protobuf: wrong data types, negative and huge dims, huge repeated counts and attribute
/// values, node cycles, dangling and duplicate names, missing tensor bytes, external data that
/// points at missing files or past the end). Every choice comes from the given Random, so a case
/// is replayed from its seed alone.
/// </summary>
internal static class ModelMutator
{
    /// <summary>The external data file a mutated model refers to (written next to it).</summary>
    public const string DataFileName = "model.onnx.data";

    public static readonly string[] Kinds =
    [
        "truncate", "bit-flip", "byte-insert", "byte-delete",
        "wrong-data-type", "wrong-elem-type", "negative-dim", "huge-dim", "huge-input-dim", "huge-repeated-count",
        "huge-attribute", "wrong-attribute-type", "node-cycle", "dangling-input", "duplicate-output", "missing-tensor-bytes",
        "bad-opset", "unknown-op", "no-outputs",
        "external-valid", "external-missing-file", "external-offset-past-end", "external-bad-length", "external-escape", "external-truncated-file",
    ];

    public static MutatedModel Mutate(byte[] original, Random rng)
    {
        var kind = Kinds[rng.Next(Kinds.Length)];
        return kind switch
        {
            "truncate" => Bytes(kind, original, b => { int cut = rng.Next(1, b.Length); return ($"cut at byte {cut} of {b.Length}", b[..cut]); }),
            "bit-flip" => Bytes(kind, original, b => BitFlips(b, rng)),
            "byte-insert" => Bytes(kind, original, b => Insert(b, rng)),
            "byte-delete" => Bytes(kind, original, b => Delete(b, rng)),
            _ when kind.StartsWith("external-", StringComparison.Ordinal) => External(kind, original, rng),
            _ => Structure(kind, original, rng),
        };
    }

    private static MutatedModel Bytes(string kind, byte[] original, Func<byte[], (string, byte[])> mutate)
    {
        var (detail, bytes) = mutate((byte[])original.Clone());
        return new(kind, detail, bytes, null);
    }

    private static (string, byte[]) BitFlips(byte[] b, Random rng)
    {
        int flips = 1 + rng.Next(8);
        var at = new List<string>();
        for (int i = 0; i < flips; i++)
        {
            int pos = rng.Next(b.Length), bit = rng.Next(8);
            b[pos] ^= (byte)(1 << bit);
            at.Add($"{pos}.{bit}");
        }
        return ($"flipped bits {string.Join(", ", at)}", b);
    }

    private static (string, byte[]) Insert(byte[] b, Random rng)
    {
        int pos = rng.Next(b.Length + 1), count = 1 + rng.Next(16);
        var extra = new byte[count];
        rng.NextBytes(extra);
        return ($"inserted {count} bytes at {pos}", [.. b[..pos], .. extra, .. b[pos..]]);
    }

    private static (string, byte[]) Delete(byte[] b, Random rng)
    {
        int pos = rng.Next(b.Length), count = Math.Min(1 + rng.Next(16), b.Length - pos);
        return ($"deleted {count} bytes at {pos}", [.. b[..pos], .. b[(pos + count)..]]);
    }

    // ------------------------------------------------------------------ structure level

    private static readonly long[] HugeValues = [1L << 31, 1L << 40, long.MaxValue, int.MaxValue, 1L << 62, 65536L * 65536];

    private static MutatedModel Structure(string kind, byte[] original, Random rng)
    {
        var m = ModelProto.Parser.ParseFrom(original);
        var g = m.Graph;
        var inits = g.Initializer;
        var nodes = g.Node;
        string detail;
        switch (kind)
        {
            case "wrong-data-type":
            {
                var t = inits[rng.Next(inits.Count)];
                int type = rng.Next(-2, 30);
                detail = $"initializer '{t.Name}' data type {t.DataType} -> {type}";
                t.DataType = type;
                break;
            }
            case "wrong-elem-type":
            {
                var v = rng.Next(2) == 0 ? g.Input[0] : g.Output[rng.Next(g.Output.Count)];
                int type = rng.Next(-2, 30);
                detail = $"value '{v.Name}' elem type -> {type}";
                v.Type.TensorType.ElemType = type;
                break;
            }
            case "negative-dim":
            {
                long d = -1 - rng.Next(1000);
                if (rng.Next(2) == 0)
                {
                    var t = inits.Where(x => x.Dims.Count > 0).ElementAt(rng.Next(inits.Count(x => x.Dims.Count > 0)));
                    int i = rng.Next(t.Dims.Count);
                    detail = $"initializer '{t.Name}' dim {i} -> {d}";
                    t.Dims[i] = d;
                }
                else
                {
                    var dims = g.Input[0].Type.TensorType.Shape.Dim;
                    int i = rng.Next(dims.Count);
                    detail = $"input dim {i} -> {d}";
                    dims[i] = new TensorShapeProto.Types.Dimension { DimValue = d };
                }
                break;
            }
            case "huge-dim":
            {
                var t = inits.Where(x => x.Dims.Count > 0).ElementAt(rng.Next(inits.Count(x => x.Dims.Count > 0)));
                int i = rng.Next(t.Dims.Count);
                long d = HugeValues[rng.Next(HugeValues.Length)];
                detail = $"initializer '{t.Name}' dim {i} -> {d}";
                t.Dims[i] = d;
                break;
            }
            case "huge-input-dim":
            {
                // Dims that make any input tensor too big to allocate: a runner must refuse, not try.
                var dims = g.Input[0].Type.TensorType.Shape.Dim;
                int i = rng.Next(dims.Count);
                long d = HugeValues[rng.Next(HugeValues.Length)] / (rng.Next(2) == 0 ? 1 : 1 << 16);
                detail = $"input dim {i} -> {d}";
                dims[i] = new TensorShapeProto.Types.Dimension { DimValue = d };
                break;
            }
            case "huge-repeated-count":
            {
                int count = 20000 + rng.Next(80000);
                switch (rng.Next(3))
                {
                    case 0:
                    {
                        var reading = nodes.Where(x => x.Input.Count > 0).ToList();
                        var n = reading[rng.Next(reading.Count)];
                        detail = $"node '{n.Name}' ({n.OpType}) given {count} copies of its first input";
                        for (int i = 0; i < count; i++) n.Input.Add(n.Input[0]);
                        break;
                    }
                    case 1:
                    {
                        var t = inits[rng.Next(inits.Count)];
                        detail = $"initializer '{t.Name}' given {count} dims of 1";
                        for (int i = 0; i < count; i++) t.Dims.Add(1);
                        break;
                    }
                    default:
                    {
                        var n = nodes[rng.Next(nodes.Count)];
                        detail = $"node '{n.Name}' ({n.OpType}) given {count} outputs";
                        for (int i = 0; i < count; i++) n.Output.Add($"{n.Name}_extra_{i}");
                        break;
                    }
                }
                break;
            }
            case "huge-attribute":
            {
                if (PickAttribute(nodes, rng) is not var (n, a)) goto case "unknown-op";
                long v = rng.Next(2) == 0 ? HugeValues[rng.Next(HugeValues.Length)] : -HugeValues[rng.Next(HugeValues.Length)];
                detail = $"node '{n.Name}' ({n.OpType}) attribute '{a.Name}' -> {v}";
                if (a.Ints.Count > 0) a.Ints[rng.Next(a.Ints.Count)] = v;
                else { a.I = v; a.F = v; }
                break;
            }
            case "wrong-attribute-type":
            {
                if (PickAttribute(nodes, rng) is not var (n, a)) goto case "unknown-op";
                var type = (AttributeProto.Types.AttributeType)rng.Next(0, 15);
                detail = $"node '{n.Name}' ({n.OpType}) attribute '{a.Name}' type {a.Type} -> {type}";
                a.Type = type;
                break;
            }
            case "node-cycle":
            {
                // A node reads a value produced later (by itself or a following node).
                int i = rng.Next(nodes.Count);
                int j = i + rng.Next(nodes.Count - i);
                var n = nodes[i];
                int k = rng.Next(Math.Max(1, n.Input.Count));
                var later = nodes[j].Output[0];
                detail = $"node '{n.Name}' input {k} -> '{later}' (output of node {j}, at or after node {i})";
                if (n.Input.Count == 0) n.Input.Add(later); else n.Input[k] = later;
                break;
            }
            case "dangling-input":
            {
                var n = nodes[rng.Next(nodes.Count)];
                int k = rng.Next(Math.Max(1, n.Input.Count));
                detail = $"node '{n.Name}' input {k} -> 'no_such_value'";
                if (n.Input.Count == 0) n.Input.Add("no_such_value"); else n.Input[k] = "no_such_value";
                if (rng.Next(4) == 0) { g.Output[0].Name = "no_such_output"; detail += ", graph output -> 'no_such_output'"; }
                break;
            }
            case "duplicate-output":
            {
                var n = nodes[rng.Next(nodes.Count)];
                var names = g.Input.Select(v => v.Name).Concat(inits.Select(t => t.Name)).Concat(nodes.SelectMany(x => x.Output)).ToList();
                var name = names[rng.Next(names.Count)];
                detail = $"node '{n.Name}' output 0 '{n.Output[0]}' -> '{name}'";
                n.Output[0] = name;
                break;
            }
            case "missing-tensor-bytes":
            {
                var t = inits.Where(x => x.RawData.Length > 0).ElementAt(rng.Next(inits.Count(x => x.RawData.Length > 0)));
                int keep = rng.Next(t.RawData.Length);
                detail = $"initializer '{t.Name}' raw data cut to {keep} of {t.RawData.Length} bytes";
                t.RawData = ByteString.CopyFrom(t.RawData.Span[..keep]);
                break;
            }
            case "bad-opset":
            {
                long v = new long[] { 0, -1, 1, 6, 99999, long.MaxValue }[rng.Next(6)];
                detail = $"default opset -> {v}";
                m.OpsetImport[0].Version = v;
                break;
            }
            case "unknown-op":
            {
                var n = nodes[rng.Next(nodes.Count)];
                var op = new[] { "", "NoSuchOp", "Conv2D", "conv" }[rng.Next(4)];
                detail = $"node '{n.Name}' op {n.OpType} -> '{op}'";
                n.OpType = op;
                break;
            }
            case "no-outputs":
            {
                detail = "graph outputs removed";
                g.Output.Clear();
                break;
            }
            default: throw new ArgumentException(kind);
        }
        return new(kind, detail, m.ToByteArray(), null);
    }

    /// <summary>A random attribute of a random node that has any; null when none has.</summary>
    private static (NodeProto Node, AttributeProto Attribute)? PickAttribute(IList<NodeProto> nodes, Random rng)
    {
        var withAttr = nodes.Where(n => n.Attribute.Count > 0).ToList();
        if (withAttr.Count == 0) return null;
        var n = withAttr[rng.Next(withAttr.Count)];
        return (n, n.Attribute[rng.Next(n.Attribute.Count)]);
    }

    // ------------------------------------------------------------------ external data

    /// <summary>The model with every initializer of 64 bytes or more moved to
    /// <see cref="DataFileName"/> (valid), then one thing about it broken.</summary>
    private static MutatedModel External(string kind, byte[] original, Random rng)
    {
        var m = ModelProto.Parser.ParseFrom(original);
        var data = new MemoryStream();
        var moved = new List<TensorProto>();
        foreach (var t in m.Graph.Initializer.Where(t => t.RawData.Length >= 64))
        {
            var offset = data.Length;
            data.Write(t.RawData.Span);
            t.RawData = ByteString.Empty;
            t.ClearRawData();
            t.DataLocation = TensorProto.Types.DataLocation.External;
            t.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = DataFileName });
            t.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString() });
            t.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = (data.Length - offset).ToString() });
            moved.Add(t);
        }
        var bytes = data.ToArray();
        if (moved.Count == 0) return new("external-valid", "no initializer of 64 bytes or more", original, null);
        var victim = moved[rng.Next(moved.Count)];
        string Entry(string key) => victim.ExternalData.First(e => e.Key == key).Value;
        void Set(string key, string value) => victim.ExternalData.First(e => e.Key == key).Value = value;
        string detail;
        switch (kind)
        {
            case "external-valid":
                detail = $"{moved.Count} initializers in {DataFileName}";
                break;
            case "external-missing-file":
                detail = $"'{victim.Name}' location -> 'missing.data'";
                Set("location", "missing.data");
                break;
            case "external-offset-past-end":
            {
                var offset = new[] { bytes.Length + 1L, bytes.Length * 2L, long.MaxValue - 8, -64, 1L << 40 }[rng.Next(5)];
                detail = $"'{victim.Name}' offset {Entry("offset")} -> {offset} (file has {bytes.Length} bytes)";
                Set("offset", offset.ToString());
                break;
            }
            case "external-bad-length":
            {
                var length = new[] { "0", "-1", "1", "99999999999", "abc", (bytes.Length + 4L).ToString() }[rng.Next(6)];
                detail = $"'{victim.Name}' length {Entry("length")} -> {length}";
                Set("length", length);
                break;
            }
            case "external-escape":
            {
                var location = new[] { "../outside/secret.bin", "/etc/passwd", "", "sub/../../x", "~/x" }[rng.Next(5)];
                detail = $"'{victim.Name}' location -> '{location}'";
                Set("location", location);
                break;
            }
            case "external-truncated-file":
            {
                int keep = rng.Next(bytes.Length);
                detail = $"{DataFileName} cut to {keep} of {bytes.Length} bytes";
                bytes = bytes[..keep];
                break;
            }
            default: throw new ArgumentException(kind);
        }
        return new(kind, detail, m.ToByteArray(), bytes);
    }
}
