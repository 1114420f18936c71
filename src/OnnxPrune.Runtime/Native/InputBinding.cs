using System.Runtime.InteropServices;
using OnnxPrune.IR;

namespace OnnxPrune.Runtime.Native;

/// <summary>
/// Run inputs as ORT sees them: each managed array pinned and wrapped, without copying, in an
/// OrtValue (CreateTensorWithDataAsOrtValue), plus the native name array. The pins last until
/// Dispose, which must come after every Run that uses the binding has returned.
/// </summary>
internal sealed unsafe class InputBinding : IDisposable
{
    private readonly List<GCHandle> pins = [];
    private readonly List<ValueHandle> values = [];
    private nint* rawValues;
    private NativeStringArray? names;

    private InputBinding(int count)
    {
        Count = count;
        rawValues = (nint*)NativeMemory.AllocZeroed((nuint)Math.Max(count, 1), (nuint)sizeof(nint));
    }

    public int Count { get; }
    public byte** Names => names!.Pointers;
    public nint* Values => rawValues != null ? rawValues : throw new ObjectDisposedException(nameof(InputBinding));

    /// <exception cref="ArgumentException">A name the session does not have as an input.</exception>
    public static InputBinding Create(OrtRuntime runtime, IReadOnlyList<TensorInfo> sessionInputs,
        IReadOnlyDictionary<string, TensorData> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var binding = new InputBinding(inputs.Count);
        try
        {
            var orderedNames = new List<string>(inputs.Count);
            foreach (var (name, tensor) in inputs)
            {
                ArgumentNullException.ThrowIfNull(tensor, $"inputs[\"{name}\"]");
                if (!sessionInputs.Any(i => i.Name == name))
                    throw new ArgumentException(
                        $"the model has no input named '{name}'; its inputs are: {string.Join(", ", sessionInputs)}",
                        nameof(inputs));
                binding.Add(runtime, tensor);
                orderedNames.Add(name);
            }
            binding.names = new NativeStringArray(orderedNames);
            return binding;
        }
        catch
        {
            binding.Dispose();
            throw;
        }
    }

    private void Add(OrtRuntime runtime, TensorData tensor)
    {
        var api = runtime.Api;
        var pin = GCHandle.Alloc(tensor.Data, GCHandleType.Pinned);
        pins.Add(pin);
        var data = (void*)Marshal.UnsafeAddrOfPinnedArrayElement(tensor.Data, 0);
        var byteCount = (nuint)(tensor.ElementCount * DataTypes.ElementSize(tensor.ElementType));
        var dims = tensor.Dims.ToArray();

        nint raw;
        using (var memory = runtime.CpuMemoryInfo.Lease())
        fixed (long* shape = dims)
        {
            api.Check(api.CreateTensorWithDataAsOrtValue(memory.Pointer, data, byteCount, shape,
                (nuint)dims.Length, (int)tensor.ElementType, &raw));
        }
        rawValues[values.Count] = raw;
        values.Add(new ValueHandle(api).Owning(raw));
    }

    public void Dispose()
    {
        // Values first: they point into the pinned arrays (without owning them).
        foreach (var value in values) value.Dispose();
        values.Clear();
        foreach (var pin in pins) pin.Free();
        pins.Clear();
        NativeMemory.Free(rawValues);
        rawValues = null;
        names?.Dispose();
        names = null;
    }
}
