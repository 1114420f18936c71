using Google.Protobuf;
using OnnxPrune.IR;
using OnnxPrune.Onnx.Proto;

namespace OnnxPrune.Onnx;

/// <summary>Writes IR tensors as TensorProtos, inline (raw_data) or as external data.</summary>
internal static class TensorWriter
{
    /// <summary>The tensor with its data in the proto. A tensor read from a file with inline data
    /// is returned as that same proto.</summary>
    public static TensorProto Inline(string name, Tensor t)
    {
        if (t is ProtoTensor { IsExternal: false } p) return p.ProtoNamed(name);
        var proto = Header(name, t);
        if (t.DataType == DataType.String) proto.StringData.AddRange(t.GetStrings().Select(ByteString.CopyFrom));
        else proto.RawData = UnsafeByteOperations.UnsafeWrap(t.GetRawBytes());
        return proto;
    }

    /// <summary>A proto that points at <paramref name="length"/> bytes at <paramref name="offset"/>
    /// of <paramref name="location"/> (relative to the model's folder).</summary>
    public static TensorProto External(string name, Tensor t, string location, long offset, long length)
    {
        var proto = Header(name, t);
        proto.DataLocation = TensorProto.Types.DataLocation.External;
        proto.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
        proto.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString() });
        proto.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = length.ToString() });
        return proto;
    }

    private static TensorProto Header(string name, Tensor t)
    {
        var proto = t is ProtoTensor p ? CopyHeader(p.Proto) : new TensorProto();
        proto.Name = name;
        proto.DataType = (int)t.DataType;
        proto.Dims.Clear();
        proto.Dims.AddRange(t.Dims);
        return proto;
    }

    /// <summary>Doc string and metadata of a tensor read from a file, without its data.</summary>
    private static TensorProto CopyHeader(TensorProto src)
    {
        var copy = new TensorProto();
        if (src.HasDocString) copy.DocString = src.DocString;
        copy.MetadataProps.AddRange(src.MetadataProps);
        return copy;
    }
}
