using System.Runtime.InteropServices;
using OnnxPrune.IR;
using Ort = Microsoft.ML.OnnxRuntime;

namespace OnnxPrune.Runtime;

/// <summary>
/// Run inputs as ORT sees them: each managed array pinned and wrapped, without copying, in an
/// OrtValue over its memory. The managed API's own zero-copy wrapper is generic over the element
/// type and knows no System.Half, and a TensorData only knows its element type at run time, so
/// the pin is taken here and the OrtValue made from the address. The pins last until Dispose,
/// which must come after every Run that uses the binding has returned.
/// </summary>
internal sealed class InputBinding : IDisposable
{
    private readonly List<GCHandle> pins = [];
    private readonly List<Ort.OrtValue> values = [];
    private readonly List<string> names = [];

    public IReadOnlyList<string> Names => names;
    public IReadOnlyList<Ort.OrtValue> Values => values;

    /// <exception cref="ArgumentException">A name the session does not have as an input.</exception>
    public static InputBinding Create(IReadOnlyList<TensorInfo> sessionInputs, IReadOnlyDictionary<string, TensorData> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var binding = new InputBinding();
        try
        {
            foreach (var (name, tensor) in inputs)
            {
                ArgumentNullException.ThrowIfNull(tensor, $"inputs[\"{name}\"]");
                if (!sessionInputs.Any(i => i.Name == name))
                    throw new ArgumentException(
                        $"the model has no input named '{name}'; its inputs are: {string.Join(", ", sessionInputs)}",
                        nameof(inputs));
                binding.Add(name, tensor);
            }
            return binding;
        }
        catch
        {
            binding.Dispose();
            throw;
        }
    }

    private void Add(string name, TensorData tensor)
    {
        var pin = GCHandle.Alloc(tensor.Data, GCHandleType.Pinned);
        pins.Add(pin);
        NativeHandles.Pinned();
        var byteCount = tensor.ElementCount * DataTypes.ElementSize(tensor.ElementType);
        var value = Ort.OrtValue.CreateTensorValueWithData(Ort.OrtMemoryInfo.DefaultInstance,
            (Ort.Tensors.TensorElementType)(int)tensor.ElementType, tensor.Dims.ToArray(), pin.AddrOfPinnedObject(), byteCount);
        values.Add(value);
        NativeHandles.ValueCreated();
        names.Add(name);
    }

    public void Dispose()
    {
        // Values first: they point into the pinned arrays (without owning them).
        foreach (var value in values)
        {
            value.Dispose();
            NativeHandles.ValueReleased();
        }
        values.Clear();
        foreach (var pin in pins)
        {
            pin.Free();
            NativeHandles.Unpinned();
        }
        pins.Clear();
    }
}
