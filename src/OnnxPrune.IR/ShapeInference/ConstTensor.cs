namespace OnnxPrune.IR.ShapeInference;

/// <summary>
/// A small tensor whose values shape inference knows at compile time. Integer and bool elements
/// are held as int64 (<see cref="Ints"/>), floating elements as double (<see cref="Reals"/>),
/// already rounded to the precision of <see cref="Type"/>. Immutable by convention: rules make
/// new instances and never write into the arrays of an existing one.
/// </summary>
internal sealed class ConstTensor
{
    private ConstTensor(DataType type, long[] dims, long[]? ints, double[]? reals)
    {
        Type = type;
        Dims = dims;
        Ints = ints;
        Reals = reals;
    }

    public DataType Type { get; }
    public long[] Dims { get; }

    /// <summary>The elements of an integer or bool tensor; null for floating tensors.</summary>
    public long[]? Ints { get; }

    /// <summary>The elements of a floating tensor; null for integer and bool tensors.</summary>
    public double[]? Reals { get; }

    public int Count => Ints?.Length ?? Reals!.Length;
    public int Rank => Dims.Length;
    public bool IsIntegral => Ints is not null;
    public Shape Shape => new(Dims);

    /// <summary>Element <paramref name="i"/> as double, whatever the type.</summary>
    public double Real(int i) => Ints is not null ? Ints[i] : Reals![i];

    /// <summary>Element <paramref name="i"/> as int64 (floating values truncated toward zero).</summary>
    public long Int(int i) => Ints is not null ? Ints[i] : TruncateToInt64(Reals![i]);

    /// <summary>True for the element types this class can hold.</summary>
    public static bool Supports(DataType t) => IsIntegralType(t) || IsRealType(t);

    public static bool IsIntegralType(DataType t) => t is DataType.Int64 or DataType.Int32 or DataType.Int16
        or DataType.Int8 or DataType.UInt64 or DataType.UInt32 or DataType.UInt16 or DataType.UInt8 or DataType.Bool;

    /// <summary>Floating types held as constants. BFloat16 is left out: runtimes disagree on how
    /// to round into it (truncation or nearest-even), so a computed value could be wrong.</summary>
    public static bool IsRealType(DataType t) => t is DataType.Float or DataType.Double or DataType.Float16;

    /// <summary>An integer (or bool) tensor; each value is wrapped to the range of <paramref name="type"/>.</summary>
    public static ConstTensor FromInts(DataType type, long[] dims, long[] values)
    {
        if (!IsIntegralType(type)) throw new ArgumentException($"{DataTypes.Name(type)} is not an integer type");
        CheckCount(dims, values.Length);
        var v = new long[values.Length];
        for (int i = 0; i < v.Length; i++) v[i] = WrapInt(type, values[i]);
        return new ConstTensor(type, dims, v, null);
    }

    /// <summary>A floating tensor; each value is rounded to the precision of <paramref name="type"/>.</summary>
    public static ConstTensor FromReals(DataType type, long[] dims, double[] values)
    {
        if (!IsRealType(type)) throw new ArgumentException($"{DataTypes.Name(type)} is not a floating type");
        CheckCount(dims, values.Length);
        var v = new double[values.Length];
        for (int i = 0; i < v.Length; i++) v[i] = RoundReal(type, values[i]);
        return new ConstTensor(type, dims, null, v);
    }

    /// <summary>A tensor of <paramref name="type"/> from values given as doubles (integers are
    /// truncated toward zero, as a C cast does).</summary>
    public static ConstTensor FromDoubles(DataType type, long[] dims, double[] values)
    {
        if (IsRealType(type)) return FromReals(type, dims, values);
        var ints = new long[values.Length];
        for (int i = 0; i < ints.Length; i++)
            ints[i] = type == DataType.Bool ? (values[i] != 0 ? 1 : 0) : TruncateToInt64(values[i]);
        return FromInts(type, dims, ints);
    }

    public static ConstTensor Int64s(long[] dims, long[] values) => FromInts(DataType.Int64, dims, values);
    public static ConstTensor Int64Vector(long[] values) => Int64s(new long[] { values.Length }, values);
    public static ConstTensor Int64Scalar(long value) => Int64s(Array.Empty<long>(), new[] { value });

    /// <summary>Decodes an IR tensor, or null when its type is not supported or it has more than
    /// <paramref name="maxElements"/> elements. Never throws on malformed data: returns null.</summary>
    public static ConstTensor? FromTensor(Tensor tensor, int maxElements)
    {
        if (!Supports(tensor.DataType)) return null;
        foreach (var d in tensor.Dims) if (d < 0) return null;
        long count = 1;
        foreach (var d in tensor.Dims)
        {
            count *= d;
            if (count > maxElements) return null;
        }
        try
        {
            if (tensor.GetRawBytes().Length < DataTypes.RawByteCount(tensor.DataType, count)) return null;
            var dims = (long[])tensor.Dims.Clone();
            return IsIntegralType(tensor.DataType)
                ? FromInts(tensor.DataType, dims, tensor.ToInt64Array())
                : FromReals(tensor.DataType, dims, tensor.ToDoubleArray());
        }
        catch (Exception e) when (e is InvalidOperationException or NotSupportedException or ArgumentException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>The values as an IR tensor.</summary>
    public DenseTensor ToTensor()
    {
        var dims = (long[])Dims.Clone();
        if (Ints is null) return DenseTensor.FromDoubles(Type, dims, Reals);
        if (Type == DataType.Int64) return DenseTensor.FromInt64s(dims, Ints);
        if (Type == DataType.UInt64)
        {
            var bytes = new byte[Ints.Length * 8];
            for (int i = 0; i < Ints.Length; i++)
                System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(i * 8), Ints[i]);
            return new DenseTensor(Type, dims, bytes);
        }
        // Every other integer type fits a double exactly.
        return DenseTensor.FromDoubles(Type, dims, Ints.Select(v => (double)v).ToArray());
    }

    /// <summary>Same values with other dims (same element count).</summary>
    public ConstTensor Reshaped(long[] dims)
    {
        CheckCount(dims, Count);
        return new ConstTensor(Type, dims, Ints, Reals);
    }

    /// <summary>The values converted to <paramref name="type"/> as ONNX's Cast does.</summary>
    public ConstTensor CastTo(DataType type)
    {
        if (IsIntegralType(type))
        {
            var v = new long[Count];
            for (int i = 0; i < v.Length; i++)
            {
                if (type == DataType.Bool) v[i] = Real(i) != 0 ? 1 : 0;
                else v[i] = Ints is not null ? Ints[i] : TruncateToInt64(Reals![i]);
            }
            return FromInts(type, Dims, v);
        }
        var r = new double[Count];
        for (int i = 0; i < r.Length; i++) r[i] = Real(i);
        return FromReals(type, Dims, r);
    }

    public static long WrapInt(DataType type, long v) => type switch
    {
        DataType.Int32 => (int)v,
        DataType.Int16 => (short)v,
        DataType.Int8 => (sbyte)v,
        DataType.UInt32 => (uint)v,
        DataType.UInt16 => (ushort)v,
        DataType.UInt8 => (byte)v,
        DataType.Bool => v != 0 ? 1 : 0,
        _ => v,
    };

    public static double RoundReal(DataType type, double v) => type switch
    {
        DataType.Float => (float)v,
        DataType.Float16 => (double)(Half)v,
        _ => v,
    };

    /// <summary>Truncation toward zero that saturates instead of overflowing.</summary>
    public static long TruncateToInt64(double v)
    {
        if (double.IsNaN(v)) return 0;
        if (v >= 9.2233720368547758E18) return long.MaxValue;
        if (v <= -9.2233720368547758E18) return long.MinValue;
        return (long)v;
    }

    private static void CheckCount(long[] dims, int count)
    {
        long n = 1;
        foreach (var d in dims) n *= d;
        if (n != count) throw new ArgumentException($"dims [{string.Join(",", dims)}] hold {n} elements, not {count}");
    }

    public override string ToString()
    {
        var items = Ints is not null ? Ints.Take(8).Select(v => v.ToString()) : Reals!.Take(8).Select(v => v.ToString("R"));
        return $"{DataTypes.Name(Type)}[{string.Join(",", Dims)}]{{{string.Join(",", items)}{(Count > 8 ? ",..." : "")}}}";
    }
}
