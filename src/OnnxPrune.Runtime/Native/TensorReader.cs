using OnnxPrune.IR;

namespace OnnxPrune.Runtime.Native;

/// <summary>Copies a tensor OrtValue that ORT produced into a managed <see cref="TensorData"/>.</summary>
internal static unsafe class TensorReader
{
    /// <param name="name">Output name, for error messages.</param>
    public static TensorData Copy(OrtApi api, ValueHandle value, string name)
    {
        using var lease = value.Lease();
        int kind;
        api.Check(api.GetValueType(lease.Pointer, &kind));
        if (kind != (int)OnnxValueKind.Tensor)
            throw new NotSupportedException(
                $"output '{name}' is a {(OnnxValueKind)kind}, but OnnxPrune.Runtime only returns tensors");

        nint rawShape;
        api.Check(api.GetTensorTypeAndShape(lease.Pointer, &rawShape));
        DataType elementType;
        long[] dims;
        using (var shape = new TensorTypeAndShapeInfoHandle(api).Owning(rawShape))
            (elementType, dims) = TypeInfoReader.ReadShape(api, rawShape);

        if (!ElementTypes.IsSupported(elementType))
            throw new NotSupportedException($"output '{name}': {ElementTypes.Unsupported(elementType)}");

        long count = 1;
        foreach (var d in dims) count = checked(count * d);
        if (count > Array.MaxLength)
            throw new NotSupportedException($"output '{name}' has {count} elements, more than a .NET array holds");

        void* data = null;
        if (count > 0) api.Check(api.GetTensorMutableData(lease.Pointer, &data));
        return TensorData.Wrap(elementType, ElementTypes.CopyToArray(elementType, data, (int)count), dims);
    }
}
