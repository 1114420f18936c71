using OnnxPrune.IR;
using Ort = Microsoft.ML.OnnxRuntime;

namespace OnnxPrune.Runtime;

/// <summary>Copies a tensor OrtValue that ORT produced into a managed <see cref="TensorData"/>.</summary>
internal static class TensorReader
{
    /// <param name="name">Output name, for error messages.</param>
    public static TensorData Copy(Ort.OrtValue value, string name)
    {
        if (!value.IsTensor)
            throw new NotSupportedException(
                $"output '{name}' is a {(OnnxValueKind)(int)value.OnnxType}, but OnnxPrune.Runtime only returns tensors");

        var info = value.GetTensorTypeAndShape();
        var elementType = (DataType)(int)info.ElementDataType;
        var clr = ElementTypes.ClrType(elementType)
            ?? throw new NotSupportedException($"output '{name}': {ElementTypes.Unsupported(elementType)}");
        var dims = info.Shape;
        long count = 1;
        foreach (var d in dims) count = checked(count * d);
        if (count > Array.MaxLength)
            throw new NotSupportedException($"output '{name}' has {count} elements, more than a .NET array holds");

        var array = Array.CreateInstance(clr, (int)count);
        if (count > 0) value.GetTensorMutableRawData().CopyTo(BufferBytes.Of(array));
        return TensorData.Wrap(elementType, array, dims);
    }
}
