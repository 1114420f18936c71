using System.Text;
using OnnxPrune.IR;

namespace OnnxPrune.Tests.Runtime;

/// <summary>
/// Writes small ONNX models straight to protobuf bytes, so runtime tests do not depend on the
/// serializer under test elsewhere. Dims are given as long (fixed), string (dim_param) or null
/// (unknown).
/// </summary>
internal sealed class TinyModel
{
    private readonly List<byte[]> nodes = [];
    private readonly List<byte[]> inputs = [];
    private readonly List<byte[]> outputs = [];
    private readonly List<byte[]> initializers = [];

    public static byte[] Identity(DataType type, params object?[] dims) =>
        new TinyModel().Input("x", type, dims).Output("y", type, dims).Node("Identity", ["x"], ["y"]).Build();

    public static byte[] Cast(DataType from, DataType to, params object?[] dims) =>
        new TinyModel().Input("x", from, dims).Output("y", to, dims)
            .Node("Cast", ["x"], ["y"], ("to", (long)to)).Build();

    public TinyModel Input(string name, DataType type, params object?[] dims)
    {
        inputs.Add(ValueInfo(name, type, dims));
        return this;
    }

    public TinyModel Output(string name, DataType type, params object?[] dims)
    {
        outputs.Add(ValueInfo(name, type, dims));
        return this;
    }

    /// <param name="attributes">int (long) or ints (long[]) attributes.</param>
    public TinyModel Node(string opType, string[] nodeInputs, string[] nodeOutputs, params (string Name, object Value)[] attributes)
    {
        var node = new Writer();
        foreach (var i in nodeInputs) node.String(1, i);
        foreach (var o in nodeOutputs) node.String(2, o);
        node.String(3, $"{opType.ToLowerInvariant()}_{nodes.Count}");
        node.String(4, opType);
        foreach (var (name, value) in attributes)
        {
            var attribute = new Writer().String(1, name);
            switch (value)
            {
                case long i: attribute.Varint(3, (ulong)i).Varint(20, 2); break;
                case long[] ints: foreach (var i in ints) attribute.Varint(8, (ulong)i); attribute.Varint(20, 7); break;
                default: throw new ArgumentException($"attribute type {value.GetType()}");
            }
            node.Message(5, attribute);
        }
        nodes.Add(node.ToArray());
        return this;
    }

    public TinyModel Initializer(string name, float[] values, params long[] dims)
    {
        var tensor = new Writer();
        foreach (var d in dims) tensor.Varint(1, (ulong)d);
        tensor.Varint(2, (ulong)DataType.Float);
        tensor.String(8, name);
        tensor.Bytes(9, values.SelectMany(BitConverter.GetBytes).ToArray());
        initializers.Add(tensor.ToArray());
        return this;
    }

    public byte[] Build(int opset = 13)
    {
        var graph = new Writer();
        foreach (var n in nodes) graph.Bytes(1, n);
        graph.String(2, "tiny");
        foreach (var i in initializers) graph.Bytes(5, i);
        foreach (var i in inputs) graph.Bytes(11, i);
        foreach (var o in outputs) graph.Bytes(12, o);
        return new Writer()
            .Varint(1, 8) // ir_version
            .String(2, "onnxprune-tests")
            .Message(7, graph)
            .Message(8, new Writer().String(1, "").Varint(2, (ulong)opset))
            .ToArray();
    }

    private static byte[] ValueInfo(string name, DataType type, object?[] dims)
    {
        var shape = new Writer();
        foreach (var d in dims)
        {
            var dim = new Writer();
            if (d is long or int) dim.Varint(1, (ulong)Convert.ToInt64(d));
            else if (d is string s) dim.String(2, s);
            shape.Message(1, dim);
        }
        var tensorType = new Writer().Varint(1, (ulong)type).Message(2, shape);
        return new Writer().String(1, name).Message(2, new Writer().Message(1, tensorType)).ToArray();
    }

    /// <summary>The few protobuf wire forms a ModelProto needs.</summary>
    private sealed class Writer
    {
        private readonly MemoryStream stream = new();

        public Writer Varint(int field, ulong value)
        {
            Tag(field, 0);
            Raw(value);
            return this;
        }

        public Writer Bytes(int field, byte[] value)
        {
            Tag(field, 2);
            Raw((ulong)value.Length);
            stream.Write(value);
            return this;
        }

        public Writer String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

        public Writer Message(int field, Writer message) => Bytes(field, message.ToArray());

        public byte[] ToArray() => stream.ToArray();

        private void Tag(int field, int wireType) => Raw((ulong)(field << 3 | wireType));

        private void Raw(ulong value)
        {
            while (value >= 0x80)
            {
                stream.WriteByte((byte)(value | 0x80));
                value >>= 7;
            }
            stream.WriteByte((byte)value);
        }
    }
}
