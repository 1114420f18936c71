using OnnxPrune.IR;

namespace OnnxPrune.Runtime.Native;

/// <summary>Reads element type and shape out of ORT's type-info objects.</summary>
internal static unsafe class TypeInfoReader
{
    /// <summary>Metadata of a session input/output from its (owned) OrtTypeInfo.</summary>
    public static TensorInfo Describe(OrtApi api, string name, TypeInfoHandle typeInfo)
    {
        using var lease = typeInfo.Lease();
        int kind;
        api.Check(api.GetOnnxTypeFromTypeInfo(lease.Pointer, &kind));
        if (kind != (int)OnnxValueKind.Tensor)
            return new TensorInfo(name, (OnnxValueKind)kind, DataType.Undefined, [], []);

        // The tensor info belongs to the type info: it must not be released separately.
        nint tensorInfo;
        api.Check(api.CastTypeInfoToTensorInfo(lease.Pointer, &tensorInfo));
        var (elementType, dims) = ReadShape(api, tensorInfo);
        var symbols = new byte*[dims.Length];
        var symbolic = new string?[dims.Length];
        fixed (byte** symbolPointers = symbols)
        {
            if (dims.Length > 0) api.Check(api.GetSymbolicDimensions(tensorInfo, symbolPointers, (nuint)dims.Length));
        }
        for (var i = 0; i < dims.Length; i++)
        {
            var symbol = Utf8.Read(symbols[i]);
            symbolic[i] = string.IsNullOrEmpty(symbol) ? null : symbol;
        }
        return new TensorInfo(name, OnnxValueKind.Tensor, elementType, dims, symbolic);
    }

    /// <summary>Element type and dims of an OrtTensorTypeAndShapeInfo (-1 for open axes).</summary>
    public static (DataType ElementType, long[] Dims) ReadShape(OrtApi api, nint shapeInfo)
    {
        int elementType;
        api.Check(api.GetTensorElementType(shapeInfo, &elementType));
        nuint rank;
        api.Check(api.GetDimensionsCount(shapeInfo, &rank));
        var dims = new long[(int)rank];
        fixed (long* dimPointer = dims)
        {
            if (rank > 0) api.Check(api.GetDimensions(shapeInfo, dimPointer, rank));
        }
        return ((DataType)elementType, dims);
    }
}
