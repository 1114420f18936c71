using OnnxPrune.IR;

namespace OnnxPrune.Pruning.Channels;

/// <summary>Slicing and zeroing of tensors along one axis, on raw bytes (any element type).</summary>
internal static class TensorSlicing
{
    /// <summary>The entries of <paramref name="t"/> whose index along <paramref name="axis"/> is kept.</summary>
    public static Tensor Take(Tensor t, int axis, bool[] keep)
    {
        if (keep.Length != t.Dims[axis])
            throw new InvalidOperationException($"keep mask of {keep.Length} for axis {axis} of {t}");
        if (keep.All(k => k)) return t;
        var (outer, inner) = Strides(t, axis);
        int size = DataTypes.ElementSize(t.DataType);
        long block = inner * size;
        int kept = keep.Count(k => k);
        var src = t.GetRawBytes().Span;
        var result = new byte[outer * kept * block];
        long o = 0;
        for (long a = 0; a < outer; a++)
            for (int i = 0; i < keep.Length; i++)
            {
                if (!keep[i]) continue;
                src.Slice((int)((a * keep.Length + i) * block), (int)block).CopyTo(result.AsSpan((int)o, (int)block));
                o += block;
            }
        var dims = t.Dims.ToArray();
        dims[axis] = kept;
        return new DenseTensor(t.DataType, dims, result);
    }

    /// <summary>A copy of <paramref name="t"/> with the entries at the zeroed indices along
    /// <paramref name="axis"/> set to zero (bytes cleared: 0.0 for floats).</summary>
    public static Tensor Zero(Tensor t, int axis, bool[] zero)
    {
        if (!zero.Any(z => z)) return t;
        var (outer, inner) = Strides(t, axis);
        int size = DataTypes.ElementSize(t.DataType);
        long block = inner * size;
        var bytes = t.GetRawBytes().ToArray();
        for (long a = 0; a < outer; a++)
            for (int i = 0; i < zero.Length; i++)
                if (zero[i]) Array.Clear(bytes, (int)((a * zero.Length + i) * block), (int)block);
        return new DenseTensor(t.DataType, t.Dims.ToArray(), bytes);
    }

    /// <summary>Per-index sums of |x| (p = 1) or x^2 (p = 2) along <paramref name="axis"/>.</summary>
    public static double[] Norms(Tensor t, int axis, int p)
    {
        var (outer, inner) = Strides(t, axis);
        var n = (int)t.Dims[axis];
        var result = new double[n];
        if (t.DataType == DataType.Float)
        {
            // Weights are float32 almost always: read them in place, no widened copy.
            var values = t.AsSpan<float>();
            for (long a = 0; a < outer; a++)
                for (int i = 0; i < n; i++)
                {
                    var slice = values.Slice((int)((a * n + i) * inner), (int)inner);
                    result[i] += p == 1 ? System.Numerics.Tensors.TensorPrimitives.SumOfMagnitudes(slice) : System.Numerics.Tensors.TensorPrimitives.SumOfSquares(slice);
                }
            return result;
        }
        var all = t.ToDoubleArray();
        for (long a = 0; a < outer; a++)
            for (int i = 0; i < n; i++)
            {
                long start = (a * n + i) * inner;
                double s = 0;
                for (long k = 0; k < inner; k++) s += p == 1 ? Math.Abs(all[start + k]) : all[start + k] * all[start + k];
                result[i] += s;
            }
        return result;
    }

    /// <summary>Per-index sums of t * g (elementwise, g in t's layout) along <paramref name="axis"/>:
    /// the first-order change of a loss with gradient g when that slice of t goes to zero is
    /// minus this.</summary>
    public static double[] Dots(Tensor t, ReadOnlySpan<float> g, int axis)
    {
        if (g.Length != t.ElementCount) throw new ArgumentException($"gradient has {g.Length} elements, the tensor {t.ElementCount}");
        var (outer, inner) = Strides(t, axis);
        var n = (int)t.Dims[axis];
        var result = new double[n];
        ReadOnlySpan<float> values = t.DataType == DataType.Float ? t.AsSpan<float>() : Array.ConvertAll(t.ToDoubleArray(), v => (float)v);
        for (long a = 0; a < outer; a++)
            for (int i = 0; i < n; i++)
            {
                int start = (int)((a * n + i) * inner);
                result[i] += System.Numerics.Tensors.TensorPrimitives.Dot(values.Slice(start, (int)inner), g.Slice(start, (int)inner));
            }
        return result;
    }

    /// <summary>The slices of <paramref name="t"/> along <paramref name="axis"/> as float rows, one
    /// after another (<paramref name="length"/> values each, in row-major order within the slice).</summary>
    public static float[] Filters(Tensor t, int axis, out int length)
    {
        var (outer, inner) = Strides(t, axis);
        var n = (int)t.Dims[axis];
        length = (int)(outer * inner);
        var values = t.ToFloatArray();
        if (outer == 1) return values;
        var rows = new float[values.Length];
        for (int i = 0; i < n; i++)
            for (long a = 0; a < outer; a++)
                Array.Copy(values, (a * n + i) * inner, rows, i * (long)length + a * inner, inner);
        return rows;
    }

    /// <summary>Per-index counts of non-zero entries along <paramref name="axis"/>.</summary>
    public static long[] NonZeros(Tensor t, int axis)
    {
        var (outer, inner) = Strides(t, axis);
        var n = (int)t.Dims[axis];
        var values = t.ToFloatArray();
        var result = new long[n];
        for (long a = 0; a < outer; a++)
            for (int i = 0; i < n; i++)
            {
                long start = (a * n + i) * inner;
                for (long k = 0; k < inner; k++) if (values[start + k] != 0) result[i]++;
            }
        return result;
    }

    private static (long Outer, long Inner) Strides(Tensor t, int axis)
    {
        long outer = 1, inner = 1;
        for (int d = 0; d < axis; d++) outer *= t.Dims[d];
        for (int d = axis + 1; d < t.Dims.Length; d++) inner *= t.Dims[d];
        return (outer, inner);
    }
}
