using OnnxPrune.IR;

namespace OnnxPrune.Runtime.Data;

/// <summary>
/// Seeded random inputs for a session: standard normal floats, small non-negative integers and
/// random booleans, so the same seed feeds two models the same numbers. Dynamic dims: the first
/// (batch) takes <c>batch</c>; any other dynamic dim is an error, because guessing a spatial size
/// would silently measure the wrong thing.
/// </summary>
internal static class RandomInputs
{
    /// <summary>Largest input we will allocate (elements); beyond it the model's dims are absurd.</summary>
    public const long MaxElements = 1L << 28;

    /// <param name="shapes">Shapes chosen by the user for inputs with dynamic dims, by input name.</param>
    public static Dictionary<string, TensorData> Create(IReadOnlyList<TensorInfo> inputs, long batch, int seed,
        IReadOnlyDictionary<string, long[]>? shapes = null)
    {
        var random = new Random(seed);
        var result = new Dictionary<string, TensorData>(StringComparer.Ordinal);
        if (shapes is not null)
            foreach (var name in shapes.Keys)
                if (inputs.All(i => i.Name != name))
                    throw new InvalidInputException($"an input shape is given for '{name}', but the model's inputs are: {string.Join(", ", inputs.Select(i => i.Name))}");
        foreach (var input in inputs)
        {
            var dims = shapes is not null && shapes.TryGetValue(input.Name, out var given) ? CheckGiven(input, given) : ConcreteDims(input, batch);
            result[input.Name] = Fill(input, dims, random);
        }
        return result;
    }

    private static long[] CheckGiven(TensorInfo input, long[] given)
    {
        if (given.Length != input.Dims.Count)
            throw new InvalidInputException($"the shape given for input '{input.Name}' has {given.Length} dims, but the model's input has {input.Dims.Count}: {input}");
        for (int i = 0; i < given.Length; i++)
            if (input.Dims[i] >= 0 && input.Dims[i] != given[i])
                throw new InvalidInputException($"the shape given for input '{input.Name}' has {given[i]} at axis {i}, but the model fixes it to {input.Dims[i]}");
        return CheckSize(input, given);
    }

    public static long[] ConcreteDims(TensorInfo input, long batch)
    {
        var dims = input.Dims.ToArray();
        for (int i = 0; i < dims.Length; i++)
        {
            if (dims[i] >= 0) continue;
            if (i == 0) { dims[i] = batch; continue; }
            var name = input.SymbolicDims.Count > i && !string.IsNullOrEmpty(input.SymbolicDims[i]) ? $" ('{input.SymbolicDims[i]}')" : "";
            throw new InvalidInputException($"input '{input.Name}' has a dynamic size at axis {i}{name}; give its size, or the inputs themselves", input.Name, i);
        }
        return CheckSize(input, dims);
    }

    private static long[] CheckSize(TensorInfo input, long[] dims)
    {
        long count = 1;
        foreach (var d in dims)
        {
            count = d == 0 ? 0 : count > MaxElements / Math.Max(d, 1) ? MaxElements + 1 : count * d;
        }
        if (count > MaxElements)
            throw new InvalidInputException($"input '{input.Name}' has shape [{string.Join(",", dims)}], more than {MaxElements} elements; the model's dims are wrong or the batch is too large");
        return dims;
    }

    private static TensorData Fill(TensorInfo input, long[] dims, Random random)
    {
        long n = 1;
        foreach (var d in dims) n *= d;
        var count = checked((int)n);
        switch (input.ElementType)
        {
            case DataType.Float: { var a = new float[count]; for (int i = 0; i < count; i++) a[i] = (float)Normal(random); return TensorData.Create(a, dims); }
            case DataType.Double: { var a = new double[count]; for (int i = 0; i < count; i++) a[i] = Normal(random); return TensorData.Create(a, dims); }
            case DataType.Float16: { var a = new Half[count]; for (int i = 0; i < count; i++) a[i] = (Half)Normal(random); return TensorData.Create(a, dims); }
            case DataType.Int64: { var a = new long[count]; for (int i = 0; i < count; i++) a[i] = random.Next(0, 10); return TensorData.Create(a, dims); }
            case DataType.Int32: { var a = new int[count]; for (int i = 0; i < count; i++) a[i] = random.Next(0, 10); return TensorData.Create(a, dims); }
            case DataType.UInt8: { var a = new byte[count]; random.NextBytes(a); return TensorData.Create(a, dims); }
            case DataType.Int8: { var a = new sbyte[count]; for (int i = 0; i < count; i++) a[i] = (sbyte)random.Next(-128, 128); return TensorData.Create(a, dims); }
            case DataType.Bool: { var a = new bool[count]; for (int i = 0; i < count; i++) a[i] = random.Next(2) == 1; return TensorData.Create(a, dims); }
            default:
                throw new InvalidInputException($"input '{input.Name}' is {DataTypes.Name(input.ElementType)}; random inputs of that type are not supported, give them in an .npz file");
        }
    }

    /// <summary>A standard normal sample by Box-Muller: deterministic for a seed on every platform.
    /// Also used for seeded weight initialisation.</summary>
    public static double Normal(Random random)
    {
        var u1 = 1.0 - random.NextDouble();
        var u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }
}

/// <summary>Inputs cannot be made or matched for a model; the message says which and why.</summary>
internal sealed class InvalidInputException(string message, string? inputName = null, int? dynamicAxis = null) : Exception(message)
{
    /// <summary>The input whose shape is the problem.</summary>
    public string? InputName { get; } = inputName;

    /// <summary>Set when the problem is an axis the model leaves open: the caller must size it.</summary>
    public int? DynamicAxis { get; } = dynamicAxis;
}
