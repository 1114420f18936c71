using OnnxPrune.IR;
using OnnxPrune.Onnx.Proto;

namespace OnnxPrune.Onnx;

/// <summary>Between ONNX's TypeProto and the IR's (element type, shape) pair.</summary>
internal static class TypeConversion
{
    /// <summary>Element type and shape of a tensor type; (Undefined, null) for other types or none.</summary>
    public static (DataType Type, Shape? Shape) FromProto(TypeProto? type)
    {
        if (type is null || type.ValueCase != TypeProto.ValueOneofCase.TensorType) return (DataType.Undefined, null);
        var t = type.TensorType;
        var elem = t.HasElemType ? (DataType)t.ElemType : DataType.Undefined;
        if (t.Shape is null) return (elem, null);
        var dims = t.Shape.Dim.Select(d => d.ValueCase switch
        {
            TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue => Dim.Known(d.DimValue),
            TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam => Dim.Symbolic(d.DimParam),
            _ => Dim.Unknown,
        });
        return (elem, new Shape(dims));
    }

    /// <summary>The type to write for a value: the recorded one when the IR's view agrees with
    /// it (so denotations and other details survive), otherwise one built from the IR.</summary>
    public static TypeProto? ToProto(Value value, TypeProto? recorded)
    {
        var (recType, recShape) = FromProto(recorded);
        if (recorded is not null && recType == value.ElementType && Equals(recShape, value.Shape)) return recorded;
        if (value.ElementType == DataType.Undefined && value.Shape is null) return recorded;

        var tensor = new TypeProto.Types.Tensor();
        var elem = value.ElementType != DataType.Undefined ? value.ElementType : recType;
        if (elem != DataType.Undefined) tensor.ElemType = (int)elem;
        var shape = value.Shape ?? recShape;
        if (shape is not null)
        {
            var recordedDims = recorded?.TensorType?.Shape?.Dim;
            var sp = new TensorShapeProto();
            for (int i = 0; i < shape.Rank; i++)
            {
                var d = new TensorShapeProto.Types.Dimension();
                if (shape[i].Value is { } v) d.DimValue = v;
                else if (shape[i].Symbol is { } s) d.DimParam = s;
                if (recordedDims is not null && recordedDims.Count == shape.Rank && recordedDims[i].HasDenotation)
                    d.Denotation = recordedDims[i].Denotation;
                sp.Dim.Add(d);
            }
            tensor.Shape = sp;
        }
        var result = new TypeProto { TensorType = tensor };
        if (recorded?.HasDenotation == true) result.Denotation = recorded.Denotation;
        return result;
    }
}
