using Google.Protobuf;
using OnnxPrune.Onnx.Proto;

namespace OnnxPrune.Tests.Onnx;

/// <summary>Hand-made ModelProtos for format tests.</summary>
internal static class ProtoBuilders
{
    public static ValueInfoProto FloatInfo(string name, params long[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims) shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1, Shape = shape } } };
    }

    public static TensorProto FloatTensor(string name, long[] dims, float[] values)
    {
        var t = new TensorProto { Name = name, DataType = 1 };
        t.Dims.AddRange(dims);
        t.RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
        return t;
    }

    /// <summary>y = Relu(x + b) with x: float[2,3], b an initializer.</summary>
    public static ModelProto AddRelu(float[]? bias = null)
    {
        var g = new GraphProto { Name = "add_relu" };
        g.Input.Add(FloatInfo("x", 2, 3));
        g.Initializer.Add(FloatTensor("b", [3], bias ?? [1f, -2f, 3f]));
        g.Node.Add(new NodeProto { OpType = "Add", Name = "add", Input = { "x", "b" }, Output = { "s" } });
        g.Node.Add(new NodeProto { OpType = "Relu", Name = "relu", Input = { "s" }, Output = { "y" } });
        g.Output.Add(FloatInfo("y", 2, 3));
        var m = new ModelProto { IrVersion = 8, ProducerName = "tests", Graph = g };
        m.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
        return m;
    }

    /// <summary>Appends an unknown varint field (a number no ONNX message uses) to a message's bytes.</summary>
    public static T WithUnknownField<T>(T message, MessageParser<T> parser, int fieldNumber, ulong value) where T : IMessage<T>
    {
        using var buffer = new MemoryStream();
        message.WriteTo(buffer);
        var extra = new CodedOutputStream(buffer);
        extra.WriteTag(fieldNumber, WireFormat.WireType.Varint);
        extra.WriteUInt64(value);
        extra.Flush();
        return parser.ParseFrom(buffer.ToArray());
    }
}
