using System.Collections.ObjectModel;
using OnnxPrune.IR;


namespace OnnxPrune.Runtime;

/// <summary>
/// A dense tensor held in a managed array (float[], long[], bool[], Half[], ...), the form in
/// which tensors cross into and out of ONNX Runtime. Inputs are not copied: ORT reads the array
/// in place while <see cref="InferenceSession.Run"/> runs, so changing the array afterwards
/// changes the next run's input. Outputs are fresh arrays the caller owns.
/// </summary>
internal sealed class TensorData
{
    private TensorData(DataType elementType, Array data, long[] dims)
    {
        ElementType = elementType;
        Data = data;
        Dims = Array.AsReadOnly(dims);
    }

    public DataType ElementType { get; }

    /// <summary>Shape; empty for a scalar.</summary>
    public ReadOnlyCollection<long> Dims { get; }

    public long ElementCount => Data.LongLength;

    /// <summary>The elements, row-major, as an array of the .NET type matching
    /// <see cref="ElementType"/> (Half for float16).</summary>
    public Array Data { get; }

    /// <summary>Wraps <paramref name="data"/> (not copied) as a tensor of shape <paramref name="dims"/>.</summary>
    /// <exception cref="NotSupportedException">T has no ONNX element type here.</exception>
    /// <exception cref="ArgumentException">The shape does not hold exactly data.Length elements.</exception>
    public static TensorData Create<T>(T[] data, params long[] dims) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(dims);
        // The array's runtime type decides, not T: the CLR lets an sbyte[] travel as byte[]
        // (likewise ushort/short, uint/int, ulong/long), and ORT must be told what the bytes are.
        var elementType = data.GetType().GetElementType()!;
        var type = ElementTypes.ForClrType(elementType)
            ?? throw new NotSupportedException($"{elementType.Name} has no ONNX element type in OnnxPrune.Runtime");
        long expected = 1;
        foreach (var d in dims)
        {
            if (d < 0) throw new ArgumentException($"dims must be non-negative, got [{string.Join(",", dims)}]", nameof(dims));
            expected = checked(expected * d);
        }
        if (expected != data.LongLength)
            throw new ArgumentException(
                $"shape [{string.Join(",", dims)}] holds {expected} elements but the array has {data.LongLength}", nameof(data));
        return new TensorData(type, data, (long[])dims.Clone());
    }

    /// <summary>A rank-0 tensor.</summary>
    public static TensorData Scalar<T>(T value) where T : unmanaged => Create(new[] { value });

    /// <summary>The elements as <typeparamref name="T"/>[] (the same array, not a copy).</summary>
    /// <exception cref="InvalidOperationException">T does not match <see cref="ElementType"/>.</exception>
    public T[] As<T>() where T : unmanaged =>
        // An exact type test, because `Data as T[]` would also accept uint[] as int[] and so on.
        Data.GetType() == typeof(T[])
            ? (T[])Data
            : throw new InvalidOperationException(
                $"tensor holds {DataTypes.Name(ElementType)} ({Data.GetType().GetElementType()!.Name}[]), not {typeof(T).Name}[]");

    /// <summary>For outputs: takes ownership of an array the binding just filled.</summary>
    internal static TensorData Wrap(DataType elementType, Array data, long[] dims) => new(elementType, data, dims);

    public override string ToString() => $"{DataTypes.Name(ElementType)}[{string.Join(",", Dims)}]";
}
