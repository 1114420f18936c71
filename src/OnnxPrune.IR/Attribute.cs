using System.Text;

namespace OnnxPrune.IR;

/// <summary>Attribute kinds, numbered as ONNX's AttributeProto.AttributeType.</summary>
public enum AttributeKind
{
    Undefined = 0, Float = 1, Int = 2, String = 3, Tensor = 4, Graph = 5, Floats = 6, Ints = 7,
    Strings = 8, Tensors = 9, Graphs = 10, SparseTensor = 11, SparseTensors = 12, TypeProto = 13, TypeProtos = 14,
}

/// <summary>
/// A named, immutable node attribute. Kinds the IR does not model (sparse tensors, type protos,
/// references to function attributes) are carried as an opaque <see cref="Origin"/> that the
/// serializer writes back as it read it.
/// </summary>
public sealed class Attribute
{
    private Attribute(string name, AttributeKind kind, object? value, object? origin = null)
    {
        Name = name;
        Kind = kind;
        Payload = value;
        Origin = origin;
    }

    public string Name { get; }
    public AttributeKind Kind { get; }

    /// <summary>The value: float, long, byte[], Tensor, Graph, float[], long[], byte[][], Tensor[],
    /// Graph[], or null for opaque kinds.</summary>
    public object? Payload { get; }

    /// <summary>Opaque record from the serializer that read this attribute; the IR never reads it.
    /// The serializer reuses it so fields the IR does not model survive a round trip.</summary>
    public object? Origin { get; }

    public static Attribute Float(string name, float v) => new(name, AttributeKind.Float, v);
    public static Attribute Int(string name, long v) => new(name, AttributeKind.Int, v);
    public static Attribute String(string name, string v) => new(name, AttributeKind.String, Encoding.UTF8.GetBytes(v));
    public static Attribute Bytes(string name, byte[] v) => new(name, AttributeKind.String, v);
    public static Attribute FromTensor(string name, Tensor v) => new(name, AttributeKind.Tensor, v);
    public static Attribute FromGraph(string name, Graph v) => new(name, AttributeKind.Graph, v);
    public static Attribute Floats(string name, float[] v) => new(name, AttributeKind.Floats, v);
    public static Attribute Ints(string name, long[] v) => new(name, AttributeKind.Ints, v);
    public static Attribute Strings(string name, byte[][] v) => new(name, AttributeKind.Strings, v);
    public static Attribute FromTensors(string name, Tensor[] v) => new(name, AttributeKind.Tensors, v);
    public static Attribute FromGraphs(string name, Graph[] v) => new(name, AttributeKind.Graphs, v);

    /// <summary>An attribute the IR carries without understanding it.</summary>
    public static Attribute Opaque(string name, AttributeKind kind, object origin) => new(name, kind, null, origin);

    /// <summary>Same name, kind and serializer record, another payload (a copied subgraph).</summary>
    internal Attribute WithPayload(object? payload) => new(Name, Kind, payload, Origin);

    /// <summary>Same value, remembering the serializer's record of it.</summary>
    public Attribute WithOrigin(object origin) => new(Name, Kind, Payload, origin);

    public float AsFloat() => Kind == AttributeKind.Float ? (float)Payload! : throw WrongKind(AttributeKind.Float);
    public long AsInt() => Kind == AttributeKind.Int ? (long)Payload! : throw WrongKind(AttributeKind.Int);
    public string AsString() => Kind == AttributeKind.String ? Encoding.UTF8.GetString((byte[])Payload!) : throw WrongKind(AttributeKind.String);
    public Tensor AsTensor() => Kind == AttributeKind.Tensor ? (Tensor)Payload! : throw WrongKind(AttributeKind.Tensor);
    public Graph AsGraph() => Kind == AttributeKind.Graph ? (Graph)Payload! : throw WrongKind(AttributeKind.Graph);
    public float[] AsFloats() => Kind == AttributeKind.Floats ? (float[])Payload! : throw WrongKind(AttributeKind.Floats);
    public long[] AsInts() => Kind == AttributeKind.Ints ? (long[])Payload! : throw WrongKind(AttributeKind.Ints);

    /// <summary>Every subgraph this attribute holds (one for Graph, many for Graphs).</summary>
    public IEnumerable<Graph> Subgraphs() => Payload switch
    {
        Graph g => new[] { g },
        Graph[] gs => gs,
        _ => Array.Empty<Graph>(),
    };

    private InvalidOperationException WrongKind(AttributeKind wanted) =>
        new($"attribute '{Name}' is {Kind}, not {wanted}");

    public override string ToString() => Payload switch
    {
        long[] ints => $"{Name}=[{string.Join(",", ints)}]",
        float[] fs => $"{Name}=[{string.Join(",", fs)}]",
        byte[] s => $"{Name}=\"{Encoding.UTF8.GetString(s)}\"",
        null => $"{Name}=<{Kind}>",
        _ => $"{Name}={Payload}",
    };
}
